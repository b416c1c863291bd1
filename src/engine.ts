import { ArgumentError } from "./errors.js";
import { Conv2d, type Conv2dOptions } from "./ops/conv2d.js";
import { ConvTranspose2d, type ConvTranspose2dOptions } from "./ops/deconv2d.js";
import { type BinaryOp, type UnaryFn, binary, clip, leakyRelu, unary } from "./ops/elementwise.js";
import { Gemm, type GemmOptions } from "./ops/gemm.js";
import { Transpose } from "./ops/transpose.js";
import { type AvgPool2dOptions, type MaxPool2dOptions, avgPool2d, globalPool, maxPool2d } from "./ops/pool.js";
import { softmax } from "./ops/softmax.js";
import { type ResizeOptions, resize } from "./ops/resize.js";
import { type ArgMaxOptions, argmax } from "./ops/argmax.js";
import { type GroupNormOptions, type LayerNormOptions, groupNorm, layerNorm, lpNorm } from "./ops/normalization.js";
import { type ReduceKind, type ReduceOptions, reduce } from "./ops/reduce.js";
import { checkKeys } from "./ops/options.js";
import type { Model } from "./graph/model.js";
import { type Layer, SymbolicTensor, networkGraph } from "./layers/layers.js";
import { type LoadOnnxOptions, loadOnnx, loadOnnxFile, modelFromOnnx } from "./onnx/load.js";
import { coreCount, fileReader } from "./runtime/platform.js";
import { Heap } from "./runtime/heap.js";
import { type Backend, type WasmSource, instantiate } from "./runtime/load.js";
import { Runtime, show } from "./runtime/runtime.js";
import { ThreadPool } from "./runtime/threads.js";
import { type Tensor, sizeOfShape } from "./runtime/tensor.js";

export interface InitOptions {
  /** 'auto' (the default) picks SIMD when this WebAssembly engine supports it. */
  backend?: "auto" | Backend;
  /**
   * A kernel module to use instead of the embedded one: its bytes, a URL, or a compiled
   * WebAssembly.Module (build/simdcnn.simd.wasm or build/simdcnn.scalar.wasm of this version).
   */
  wasm?: WasmSource;
  /**
   * Threads to run kernels on ('auto': the cores the platform reports). Needs shared memory: in
   * browsers a cross-origin-isolated page, and a worker (a page's main thread cannot block).
   * When fewer run than asked, `engine.threadsNote` says why. Default 1.
   */
  threads?: number | "auto";
  /** The most memory the engine may use, in bytes (default and maximum: wasm32's 4 GiB). */
  maxMemoryBytes?: number;
}

/** One WebAssembly instance, its memory, and the ops that run in it. */
export class Engine {
  /** @internal */
  constructor(
    private readonly rt: Runtime,
    /** Why fewer threads run than were asked for; empty when all run. */
    readonly threadsNote = "",
  ) {}

  /** Threads kernels run on (1: the calling thread only). */
  get threads(): number {
    return this.rt.threads;
  }

  /** Ends the worker threads; tensors and models stay usable on the calling thread. */
  dispose(): void {
    this.rt.pool?.dispose();
    (this.rt as { pool?: unknown }).pool = undefined;
  }

  /** Which build runs: 'simd' or 'scalar'. */
  get backend(): Backend {
    return this.rt.backend;
  }

  /** Bytes held by live tensors, prepared ops and their plans. */
  get memoryBytes(): number {
    return this.rt.heap.bytesInUse;
  }

  /** A tensor holding a copy of `data`. Activations are NHWC. */
  tensor(data: Float32Array, shape: readonly number[]): Tensor {
    return this.rt.fromArray(data, shape);
  }

  /** Packs w [Cout, kH, kW, Cin/groups] (OHWI) once; `op.run(x, out?)` runs it on x [N, H, W, Cin]. */
  prepareConv2d(w: Tensor, opts?: Conv2dOptions): Conv2d {
    return new Conv2d(this.rt, w, opts);
  }

  conv2d(x: Tensor, w: Tensor, opts?: Conv2dOptions): Tensor {
    const op = this.prepareConv2d(w, opts);
    try {
      return op.run(x);
    } finally {
      op.dispose();
    }
  }

  /**
   * Packs w [Cin, kH, kW, Cout/groups] (ONNX ConvTranspose's weights with the output-channel axis
   * last) once; `op.run(x, out?)` runs the transposed convolution on x [N, H, W, Cin].
   */
  prepareConv2dTranspose(w: Tensor, opts?: ConvTranspose2dOptions): ConvTranspose2d {
    return new ConvTranspose2d(this.rt, w, opts);
  }

  conv2dTranspose(x: Tensor, w: Tensor, opts?: ConvTranspose2dOptions): Tensor {
    const op = this.prepareConv2dTranspose(w, opts);
    try {
      return op.run(x);
    } finally {
      op.dispose();
    }
  }

  /** Packs b [K, N] ([N, K] with transB) once; `op.run(a, out?)` runs it on a [M, K]. */
  prepareGemm(b: Tensor, opts?: GemmOptions): Gemm {
    return new Gemm(this.rt, b, opts);
  }

  gemm(a: Tensor, b: Tensor, opts?: GemmOptions): Tensor {
    const op = this.prepareGemm(b, opts);
    try {
      return op.run(a);
    } finally {
      op.dispose();
    }
  }

  maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
    return maxPool2d(this.rt, x, opts);
  }

  avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
    return avgPool2d(this.rt, x, opts);
  }

  globalAvgPool(x: Tensor): Tensor {
    return globalPool(this.rt, x, false);
  }

  globalMaxPool(x: Tensor): Tensor {
    return globalPool(this.rt, x, true);
  }

  relu(x: Tensor): Tensor {
    return unary(this.rt, x, "relu");
  }

  sigmoid(x: Tensor): Tensor {
    return unary(this.rt, x, "sigmoid");
  }

  tanh(x: Tensor): Tensor {
    return unary(this.rt, x, "tanh");
  }

  exp(x: Tensor): Tensor {
    return unary(this.rt, x, "exp");
  }

  /** fn(x) elementwise: any activation (as conv2d's `activation` takes) or elementwise math. */
  unary(x: Tensor, fn: UnaryFn): Tensor {
    return unary(this.rt, x, fn);
  }

  clip(x: Tensor, min: number, max: number): Tensor {
    return clip(this.rt, x, min, max);
  }

  leakyRelu(x: Tensor, alpha = 0.01): Tensor {
    return leakyRelu(this.rt, x, alpha);
  }

  add(a: Tensor, b: Tensor | number): Tensor {
    return this.binary(a, b, "add");
  }

  sub(a: Tensor, b: Tensor | number): Tensor {
    return this.binary(a, b, "sub");
  }

  mul(a: Tensor, b: Tensor | number): Tensor {
    return this.binary(a, b, "mul");
  }

  div(a: Tensor, b: Tensor | number): Tensor {
    return this.binary(a, b, "div");
  }

  /** Elementwise minimum; NaN where either is NaN. */
  min(a: Tensor, b: Tensor | number): Tensor {
    return this.binary(a, b, "min");
  }

  /** Elementwise maximum; NaN where either is NaN. */
  max(a: Tensor, b: Tensor | number): Tensor {
    return this.binary(a, b, "max");
  }

  /** a^b elementwise as exp(b log|a|) (see `unary` with { pow } for a constant exponent). */
  pow(a: Tensor, b: Tensor | number): Tensor {
    return this.binary(a, b, "pow");
  }

  private binary(a: Tensor, b: Tensor | number, op: BinaryOp): Tensor {
    return binary(this.rt, a, b, op);
  }

  /** Softmax over the last axis. */
  softmax(x: Tensor): Tensor {
    return softmax(this.rt, x);
  }

  /** log(softmax(x)) over the last axis, computed as (x - max) - log(sum of exp(x - max)). */
  logSoftmax(x: Tensor): Tensor {
    return softmax(this.rt, x, true);
  }

  /** Resizes NHWC images over height and width as ONNX Resize does (nearest, linear, cubic). */
  resize(x: Tensor, opts: ResizeOptions): Tensor {
    return resize(this.rt, x, opts);
  }

  /** Index of the maximum over the last axis (the channels), as float32. */
  argmax(x: Tensor, opts?: ArgMaxOptions): Tensor {
    return argmax(this.rt, x, opts);
  }

  /** Reduces adjacent axes (default all): sum, mean, max, min, prod, l1, l2, sumSquare, logSumExp. */
  reduce(x: Tensor, kind: ReduceKind, opts?: ReduceOptions): Tensor {
    return reduce(this.rt, x, kind, opts);
  }

  /** Instance (default) or group normalization of channels-last [N, ..., C] over its middle axes. */
  groupNorm(x: Tensor, opts: GroupNormOptions): Tensor {
    return groupNorm(this.rt, x, opts);
  }

  /** Layer normalization over the axes from `axis` (default -1) on. */
  layerNorm(x: Tensor, opts: LayerNormOptions): Tensor {
    return layerNorm(this.rt, x, opts);
  }

  /** x divided by its L1 or L2 norm along `axis` (default -1); 0 where the norm is 0. */
  lpNorm(x: Tensor, opts?: { axis?: number; p?: 1 | 2 }): Tensor {
    return lpNorm(this.rt, x, opts);
  }

  /**
   * Loads an ONNX model from its bytes (or, in Node, a file path). Unsupported operators or
   * attributes are reported here, all at once, not at the first run.
   */
  async loadOnnx(source: Uint8Array | ArrayBuffer | string, options?: LoadOnnxOptions): Promise<Model> {
    checkKeys(options, ["optimize", "externalData"], "loadOnnx");
    const external: unknown = options?.externalData;
    if (external !== undefined && (typeof external !== "object" || external === null)) {
      throw new ArgumentError("loadOnnx: externalData must be an object of file bytes by location, such as { 'model.onnx.data': bytes }");
    }
    if (typeof source === "string") {
      const read = fileReader();
      if (!read) throw new ArgumentError("loadOnnx: a path can be read only in Node; pass the model's bytes (and options.externalData)");
      return loadOnnxFile(this.rt, source, read, options);
    }
    let bytes: Uint8Array;
    if (source instanceof ArrayBuffer) {
      bytes = new Uint8Array(source);
    } else if (source instanceof Uint8Array) {
      bytes = source;
    } else {
      throw new ArgumentError("loadOnnx: expected the model's bytes (Uint8Array or ArrayBuffer) or a file path");
    }
    return loadOnnx(this.rt, bytes, options);
  }

  /**
   * A network of layers applied one after the other: `[layers.input([H, W, C]), layers.conv2d(…), …]`.
   * Its input is named 'input' (or the name given to layers.input) and its output 'output'; both
   * are NHWC with the batch dimension first, bound at run time.
   */
  sequential(stack: [SymbolicTensor, ...Layer[]], options?: LoadOnnxOptions): Model {
    if (!Array.isArray(stack) || !(stack[0] instanceof SymbolicTensor)) {
      throw new ArgumentError("sequential: expected [layers.input(shape), ...layers]");
    }
    let t = stack[0];
    for (const layer of stack.slice(1) as Layer[]) {
      if (typeof (layer as Layer)?.apply !== "function") throw new ArgumentError("sequential: every item after the input must be a layer");
      t = layer.apply(t);
    }
    return this.graph({ inputs: [stack[0]], outputs: [t] }, options);
  }

  /** A network that branches: `layers.input()` tensors in, the tensors layers produced out. */
  graph(spec: { inputs: SymbolicTensor[]; outputs: SymbolicTensor[] }, options?: LoadOnnxOptions): Model {
    checkKeys(options, ["optimize"], "graph");
    return modelFromOnnx(this.rt, networkGraph(spec.inputs, spec.outputs), options);
  }
}

/** Loads and instantiates a build, creates its memory, and warms the kernels up. */
export async function init(options: InitOptions = {}): Promise<Engine> {
  checkKeys(options, ["backend", "wasm", "threads", "maxMemoryBytes"], "init");
  const asked = options.backend ?? "auto";
  if (asked !== "auto" && asked !== "simd" && asked !== "scalar") {
    throw new ArgumentError(`init: backend must be 'auto', 'simd' or 'scalar', got ${show(asked)}`);
  }
  const max = options.maxMemoryBytes;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1 << 20)) {
    throw new ArgumentError(`init: maxMemoryBytes must be an integer of at least 1 MiB (1048576), got ${show(max)}`);
  }
  const wanted = threadCount(options.threads);
  const blocked = wanted > 1 ? whyNoThreads(asked, options.wasm) : "";
  const threaded = wanted > 1 && blocked === "";
  const heap = new Heap(16, { shared: threaded, maxBytes: max });
  const { kernels, backend, module } = await instantiate(asked === "auto" ? undefined : asked, heap.memory, options.wasm, threaded);
  let pool: ThreadPool | undefined;
  let note = blocked;
  if (threaded) {
    try {
      pool = await ThreadPool.create(wanted, module, heap, kernels);
    } catch (e) {
      note = `worker threads could not start (${(e as Error).message}); running on one thread`;
    }
  }
  const rt = new Runtime(kernels, heap, backend, pool);
  const engine = new Engine(rt, note);
  warmUp(engine, rt);
  return engine;
}

function threadCount(t: number | "auto" | undefined): number {
  if (t === undefined) return 1;
  if (t === "auto") return coreCount();
  if (!Number.isSafeInteger(t) || t < 1 || t > 256) throw new ArgumentError(`init: threads must be 'auto' or an integer from 1 to 256, got ${show(t)}`);
  return t;
}

/** Why threads cannot run here, or "" when they can. */
function whyNoThreads(backend: string, wasm: unknown): string {
  const g = globalThis as { crossOriginIsolated?: boolean; document?: unknown; WorkerGlobalScope?: unknown };
  if (backend === "scalar") return "threads run the SIMD build; the scalar build runs on one thread";
  if (wasm !== undefined) return "threads need the embedded kernel module; a module given with init({ wasm }) runs on one thread";
  if (typeof SharedArrayBuffer === "undefined" || g.crossOriginIsolated === false) {
    return "shared memory is not available (in a browser the page must be cross-origin isolated: COOP same-origin and COEP require-corp); running on one thread";
  }
  if (g.document !== undefined && g.WorkerGlobalScope === undefined) {
    return "a page's main thread cannot wait for workers; run simdcnn in a Web Worker to use threads; running on one thread";
  }
  return "";
}

// V8 first runs wasm in its baseline tier (about 3x slower) and compiles a function with TurboFan
// in the background once it has run enough; a call already running stays in the baseline tier.
// Sixteen small calls of each hot kernel (about 10 ms) were the fewest that moved the caller's
// first real depthwise and pooling calls off the baseline tier here; three were not enough.
function warmUp(engine: Engine, rt: Runtime): void {
  const x = engine.tensor(new Float32Array(2 * 9 * 9 * 8).fill(0.5), [2, 9, 9, 8]);
  const w = engine.tensor(new Float32Array(8 * 3 * 3 * 8).fill(0.1), [8, 3, 3, 8]);
  const dw = engine.tensor(new Float32Array(8 * 3 * 3).fill(0.1), [8, 3, 3, 1]);
  const conv = engine.prepareConv2d(w, { padding: "same", activation: "relu" });
  const depthwise = engine.prepareConv2d(dw, { padding: "same", groups: 8 });
  // The layout conversions at a model's edges: 8 channels and 3 (their interleaving path).
  const layouts = [[2, 9, 9, 8], [2, 8, 9, 9], [1, 9, 9, 3], [1, 3, 9, 9]].map((s, i) => ({
    op: new Transpose(rt, s, i % 2 === 0 ? [0, 3, 1, 2] : [0, 2, 3, 1]),
    x: engine.tensor(new Float32Array(sizeOfShape(s)), s),
  }));
  for (let i = 0; i < 16; i++) {
    for (const { op, x: xl } of layouts) op.run(xl).dispose();
    for (const t of [
      conv.run(x), depthwise.run(x), engine.maxPool2d(x, { kernel: 2 }), engine.avgPool2d(x, { kernel: 2 }),
      engine.globalAvgPool(x), engine.relu(x), engine.add(x, x), engine.softmax(x),
    ]) t.dispose();
  }
  for (const t of [x, w, dw, ...layouts.map((l) => l.x)]) t.dispose();
  conv.dispose();
  depthwise.dispose();
}
