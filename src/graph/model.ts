import { ArgumentError, DisposedError, ShapeError, UnsupportedError } from "../errors.js";
import { type Runtime, describe as describeValue } from "../runtime/runtime.js";
import { type HalfArray, floatsToHalfArray, floatsToHalfBits, halfArrayToFloats, isHalfArray } from "../runtime/float16.js";
import { copyOut } from "../runtime/heap.js";
import { Tensor } from "../runtime/tensor.js";
import { Compiled, type MemoryReport } from "./compile.js";
import { checkKeys } from "../ops/options.js";
import { type ExecGraph, type Step, gemmDims, isInt, rootOf, sizeOfShape } from "./ir.js";
import { NCHW_TO_NHWC, NHWC_TO_NCHW } from "./layout.js";

export interface ModelIO {
  name: string;
  /** Declared dimensions: numbers, or names for dimensions bound at run time. */
  shape: (number | string)[];
  /**
   * Element type: float32 or float16 activations (float16 fed and returned as a HalfArray, computed
   * in float32), or integers (a shape or indices fed at run time, indices or masks out).
   */
  dtype: "float32" | "float16" | "int64" | "int32" | "bool";
}

export type InputData = Float32Array | HalfArray | Tensor | Int32Array | BigInt64Array;

/**
 * What run() returns per output: float32 values; for an output the model declares float16, a
 * HalfArray; for integer and bool outputs (int64 included), int32.
 */
export type OutputData = Float32Array | HalfArray | Int32Array;

type Output = ExecGraph["outputs"][number];

/** An output's values as float32: float16 ones widened (exactly), integer ones converted (exact below 2^24). */
export function outputFloats(data: OutputData): Float32Array {
  return data instanceof Float32Array ? data : data instanceof Int32Array ? Float32Array.from(data) : halfArrayToFloats(data);
}

/**
 * Builds the executable graph for concrete input shapes. `constants` holds the data of inputs
 * that the graph needs as constants (integer inputs, or weights fed as inputs); a binder that
 * meets another such input throws NeedsInput naming it.
 */
export type Binder = (
  shapes: Map<string, number[]>,
  constants: Map<string, { dims: number[]; data: Float32Array | number[] }>,
  /** The tensors the graph returns, by name: the declared outputs, or those a run asked for. */
  outputs: readonly string[],
) => ExecGraph;

/** A node of the source graph, by names only: what explanations walk to find layers and scores. */
export interface GraphNode {
  op: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
}

/** What a run may return: the declared outputs by default, or any named tensor of the graph. */
export interface RunOptions<T> {
  into?: Record<string, T>;
  /** Names of the tensors to return (declared outputs, intermediate values, inputs); default: the declared outputs. */
  outputs?: readonly string[];
}

interface Binding {
  shapes: Map<string, number[]>;
  compiled: Compiled;
}

/**
 * Plans kept at once, one per set of input shapes (and values bound by value) and requested
 * outputs. Callers alternating between two input shapes, or between the declared outputs and an
 * explanation's intermediate values, then reuse plans and packed weights instead of re-planning
 * at every run; beyond this many the least recently used plan is freed.
 */
const MAX_BINDINGS = 4;

/** Thrown by a binder for an input whose values (not just its shape) the graph needs. */
export class NeedsInput extends Error {
  constructor(readonly input: string) {
    super(`input '${input}' is needed by value`);
  }
}

/**
 * A network ready to run. It plans its memory once per set of input shapes: the first run (or
 * load) with given shapes builds and packs everything; later runs with the same shapes only copy
 * the inputs in, run the steps and copy the outputs out.
 */
export class Model {
  /** Plans by input shapes and output set, least recently used first; `bound` is the last one run. */
  private readonly bindings = new Map<string, Binding>();
  private bound: Binding | undefined;
  /** Rows of each data-dependent output in the last run. */
  private readonly rows = new Map<string, number>();
  private disposed = false;
  private planned = 0;
  /** Inputs bound by value: integer inputs, and float inputs the graph needs as constants. */
  private readonly byValue = new Set<string>();

  constructor(
    private readonly rt: Runtime,
    readonly inputs: readonly ModelIO[],
    readonly outputs: readonly ModelIO[],
    private readonly binder: Binder,
    /** Key-value metadata the model carries (ONNX metadata_props). */
    readonly metadata: Readonly<Record<string, string>> = {},
    /** The source graph's nodes in execution order (empty when the model has no such graph). */
    readonly nodes: readonly GraphNode[] = [],
  ) {
    for (const i of inputs) if (i.dtype === "int64" || i.dtype === "int32") this.byValue.add(i.name);
    // Bind to the declared shapes now so that problems surface at load; a model that needs some
    // input's values to be planned is bound at its first run instead.
    if (this.byValue.size === 0) {
      const shapes = new Map(inputs.map((i) => [i.name, i.shape.map((d) => (typeof d === "number" ? d : 1))]));
      try {
        this.bind(shapes, new Map(), this.outputs.map((o) => o.name));
      } catch (e) {
        if (!(e instanceof NeedsInput)) throw e;
        this.byValue.add(e.input);
      }
    }
  }

  private live(): void {
    if (this.disposed) throw new DisposedError("the model was used after dispose()");
  }

  private bind(shapes: Map<string, number[]>, values: Map<string, { dims: number[]; data: Float32Array | number[] }>, outputs: readonly string[]): Compiled {
    const key =
      outputs.join("\u0000") + "\u0001" +
      [...shapes].map(([n, s]) => `${n}:${s.join("x")}`).join(";") + [...values].map(([n, v]) => `|${n}=${v.data.join(",")}`).join("");
    const old = this.bindings.get(key);
    if (old) {
      this.bindings.delete(key);
      this.bindings.set(key, old);
      this.bound = old;
      return old.compiled;
    }
    const compiled = new Compiled(this.rt, this.binder(shapes, values, outputs));
    this.planned++;
    const bound = { shapes, compiled };
    this.bindings.set(key, bound);
    if (this.bindings.size > MAX_BINDINGS) {
      const [oldest, b] = this.bindings.entries().next().value!;
      b.compiled.dispose();
      this.bindings.delete(oldest);
    }
    this.bound = bound;
    return compiled;
  }

  /** Every tensor name a run may ask for: inputs, the nodes' outputs, initializers read by nodes. */
  get tensorNames(): string[] {
    const names = new Set([...this.inputs.map((i) => i.name), ...this.nodes.flatMap((n) => [...n.inputs, ...n.outputs]), ...this.outputs.map((o) => o.name)]);
    names.delete("");
    return [...names];
  }

  /** The names a run returns, checked: the declared outputs, or `outputs` when given. */
  private requested(outputs: readonly string[] | undefined, what: string): readonly string[] {
    if (outputs === undefined) return this.outputs.map((o) => o.name);
    if (!Array.isArray(outputs) || outputs.length === 0 || outputs.some((n) => typeof n !== "string")) {
      throw new ArgumentError(`${what}: outputs must be a non-empty array of tensor names, got ${describeValue(outputs)}`);
    }
    const known = new Set(this.tensorNames);
    for (const name of outputs) {
      if (known.has(name)) continue;
      const near = nearest(name, [...known]);
      throw new ArgumentError(`${what}: outputs names '${name}', which is no tensor of the graph${near.length ? `; close names: ${near.map((n) => `'${n}'`).join(", ")}` : ""}`);
    }
    return [...new Set(outputs)];
  }

  /**
   * Runs the model. Inputs are keyed by name, in the model's declared layout; a Float32Array
   * whose declared shape has one symbolic dimension gets that dimension from its length; a
   * Tensor is copied inside the engine's memory, never through JS. A float16 input takes a
   * HalfArray (or float32 values). Returns every output keyed by name: a fresh copy, or for an
   * output named in `into`, that array with the output written into it (then a run allocates
   * nothing once the model is planned for the input shapes). A declared float16 output is
   * rounded to float16 (to nearest, ties to even) and returned as a HalfArray. Integer and bool
   * outputs come as Int32Array (int64 ones too: the engine computes them in int32); an output
   * whose size depends on the data (NonMaxSuppression's) holds the rows this run found, and
   * `outputShapes` gives its shape.
   */
  run(inputs: Record<string, InputData>, options?: RunOptions<OutputData>): Record<string, OutputData> {
    const { into, outputs } = this.runOptions(options, "run");
    const half = new Set(this.outputs.filter((o) => o.dtype === "float16").map((o) => o.name));
    const compiled = this.execute(inputs, outputs, (o) => {
      const given: unknown = into?.[o.name];
      if (given === undefined) return;
      const size = sizeOfShape(o.value.shape);
      const [ok, kind, unit] = half.has(o.name)
        ? [isHalfArray(given), "a Float16Array or a Uint16Array (float16 bits)", "values"]
        : isInt(o.value)
          ? [given instanceof Int32Array, "an Int32Array", "integers"]
          : [given instanceof Float32Array, "a Float32Array", "floats"];
      if (!ok) throw new ArgumentError(`run: into '${o.name}' must be ${kind}, got ${describeValue(given)}`);
      if (o.count) throw new ArgumentError(`run: into cannot take '${o.name}', whose size depends on the data; leave it out of into`);
      const length = (given as OutputData).length;
      if (length !== size) throw new ShapeError(`run: into '${o.name}' holds ${length} ${unit}, the output has ${size}`);
    });
    const out: Record<string, OutputData> = {};
    const heap = this.rt.heap;
    for (const o of compiled.graph.outputs) {
      const target = into?.[o.name];
      if (half.has(o.name)) {
        const values = this.outputValues(compiled, o, heap.f32);
        // A Uint16Array target takes the bits; a Float16Array, the values.
        if (target) target.set(target instanceof Uint16Array ? floatsToHalfBits(values) : floatsToHalfArray(values));
        out[o.name] = target ?? floatsToHalfArray(values);
        continue;
      }
      const view = isInt(o.value) ? heap.i32 : heap.f32;
      const values = this.outputValues(compiled, o, view);
      if (target) target.set(values);
      // A view of the heap is copied out; a counted output's trimmed rows are a copy already.
      out[o.name] = target ?? (values.buffer === view.buffer ? copyOut(values) : values);
    }
    return out;
  }

  /**
   * An output's elements in the run just made, a view of the heap: all of them, or its real rows;
   * with a count of the last axis (NonZero's columns, each row at the bound's stride), a copy of
   * each row's real elements.
   */
  private outputValues<T extends Float32Array | Int32Array>(compiled: Compiled, o: Output, view: T): T {
    const at = compiled.ptr(o.value) / 4;
    const size = this.outputSize(compiled, o);
    if (!o.count?.lastAxis) return view.subarray(at, at + size) as T;
    const shape = o.value.shape;
    const stride = shape[shape.length - 1];
    const rows = this.rows.get(o.name)!;
    const out = new (view.constructor as new (n: number) => T)(size);
    for (let r = 0; r < size / Math.max(rows, 1); r++) out.set(view.subarray(at + r * stride, at + r * stride + rows), r * rows);
    return out;
  }

  /** Elements of an output in the run just made: all of them, or its real rows. */
  private outputSize(compiled: Compiled, o: Output): number {
    const size = sizeOfShape(o.value.shape);
    if (!o.count) return size;
    const rows = this.rt.heap.i32[compiled.ptr(o.count.value) / 4 + o.count.offset];
    this.rows.set(o.name, rows);
    const shape = o.value.shape;
    return rows * (size / shape[o.count.lastAxis ? shape.length - 1 : 0]);
  }

  /**
   * Runs the model and leaves the outputs in the engine's memory, for another model or op to
   * read without a copy through JS: each output is written into the Tensor given for it in
   * `into` (then a run allocates nothing once the model is planned), or into a new Tensor that
   * the caller disposes.
   */
  runToTensors(inputs: Record<string, InputData>, options?: RunOptions<Tensor>): Record<string, Tensor> {
    const { into, outputs } = this.runOptions(options, "runToTensors");
    const compiled = this.execute(inputs, outputs, ({ name, value, count }) => {
      if (isInt(value) || count) {
        throw new UnsupportedError(`runToTensors: output '${name}' is ${count ? "of a size that depends on the data" : "an integer tensor"}; Tensors are float32 of a planned shape: use run() for it`);
      }
      const shape = value.shape;
      const given = into?.[name];
      if (given === undefined) return;
      this.rt.check(given, `runToTensors: into '${name}'`);
      if (given.shape.join() !== shape.join()) {
        throw new ShapeError(`runToTensors: into '${name}' is [${given.shape.join(", ")}], the output is [${shape.join(", ")}]`);
      }
    });
    const out: Record<string, Tensor> = {};
    for (const { name, value } of compiled.graph.outputs) {
      const at = compiled.ptr(value) / 4;
      const t = into?.[name] ?? this.rt.empty(value.shape);
      this.rt.heap.f32.copyWithin(t.ptr / 4, at, at + t.size);
      out[name] = t;
    }
    return out;
  }

  /** A run's options: the requested outputs, and `into` with its names checked against them. */
  private runOptions<T>(options: RunOptions<T> | undefined, what: string): { into: Record<string, T> | undefined; outputs: readonly string[] } {
    checkKeys(options, ["into", "outputs"], what);
    const outputs = this.requested(options?.outputs, what);
    const into = options?.into;
    if (into === undefined) return { into, outputs };
    if (typeof into !== "object" || into === null) throw new ArgumentError(`${what}: into must be an object of outputs by name, got ${describeValue(into)}`);
    for (const name of Object.keys(into)) {
      if (!outputs.includes(name)) {
        throw new ArgumentError(`${what}: into names '${name}', which is not an output of this run; its outputs are ${outputs.map((o) => `'${o}'`).join(", ")}`);
      }
    }
    return { into, outputs };
  }

  /**
   * Binds the inputs' shapes (planning once per set of shapes), lets `checkOutput` refuse an
   * output target before anything is written, copies the inputs in and runs every step.
   */
  private execute(inputs: Record<string, InputData>, outputs: readonly string[], checkOutput: (output: Output) => void): Compiled {
    this.live();
    if (typeof inputs !== "object" || inputs === null) throw new ArgumentError("run: expected an object of named inputs");
    for (const k of Object.keys(inputs)) {
      if (!this.inputs.some((i) => i.name === k)) {
        throw new ArgumentError(`run: unknown input '${k}'; the model's inputs are ${this.inputs.map((i) => `'${i.name}'`).join(", ")}`);
      }
    }
    const shapes = new Map<string, number[]>();
    for (const io of this.inputs) shapes.set(io.name, this.shapeOf(io, inputs[io.name]));
    let compiled: Compiled;
    for (;;) {
      const values = new Map<string, { dims: number[]; data: Float32Array | number[] }>();
      for (const io of this.inputs) {
        if (this.byValue.has(io.name)) values.set(io.name, { dims: shapes.get(io.name)!, data: valuesOf(inputs[io.name]!, io.dtype) });
      }
      try {
        compiled = this.bind(shapes, values, outputs);
        break;
      } catch (e) {
        if (!(e instanceof NeedsInput) || this.byValue.has(e.input)) throw e;
        this.byValue.add(e.input);
      }
    }
    for (const o of compiled.graph.outputs) checkOutput(o);
    const f32 = this.rt.heap.f32;
    for (const { name, value } of compiled.graph.inputs) {
      const given = inputs[name];
      const at = compiled.ptr(value) / 4;
      if (given instanceof Tensor) f32.copyWithin(at, given.ptr / 4, given.ptr / 4 + given.size);
      else if (given instanceof Float32Array) f32.set(given, at);
      else if (isHalfArray(given)) f32.set(halfArrayToFloats(given), at);
      else f32.set(Float32Array.from(given as ArrayLike<number | bigint>, Number), at);
    }
    compiled.execute();
    return compiled;
  }

  private shapeOf(io: ModelIO, given: InputData | undefined): number[] {
    const what = `run: input '${io.name}'`;
    if (given === undefined || given === null) throw new ArgumentError(`${what} is missing`);
    if (given instanceof Tensor) {
      this.rt.check(given, what);
      const s = [...given.shape];
      if (s.length !== io.shape.length || io.shape.some((d, i) => typeof d === "number" && d !== s[i])) {
        throw new ShapeError(`${what}: expected shape [${io.shape.join(", ")}], got [${s.join(", ")}]`);
      }
      return s;
    }
    const typed =
      io.dtype === "float32" ? given instanceof Float32Array
      : io.dtype === "float16" ? given instanceof Float32Array || isHalfArray(given)
      : given instanceof Int32Array || given instanceof BigInt64Array;
    if (!typed) {
      const expected = { float32: "a Float32Array or a Tensor", float16: "a Float16Array, a Uint16Array of float16 bits, a Float32Array or a Tensor", int64: "an Int32Array or a BigInt64Array", int32: "an Int32Array or a BigInt64Array", bool: "an Int32Array" }[io.dtype];
      throw new ArgumentError(`${what} is ${io.dtype}: expected ${expected}, got ${describeValue(given)}`);
    }
    const known = io.shape.reduce<number>((a, d) => a * (typeof d === "number" ? d : 1), 1);
    const free = io.shape.filter((d) => typeof d !== "number").length;
    if (free === 0) {
      if (given.length !== known) throw new ShapeError(`${what}: shape [${io.shape.join(", ")}] holds ${known} values, got ${given.length}`);
      return io.shape as number[];
    }
    if (free > 1) {
      throw new ShapeError(`${what}: shape [${io.shape.join(", ")}] has ${free} symbolic dimensions; pass a Tensor to give them`);
    }
    if (given.length === 0 || given.length % known !== 0) {
      throw new ShapeError(`${what}: ${given.length} values do not fill shape [${io.shape.join(", ")}] (a multiple of ${known} is needed)`);
    }
    return io.shape.map((d) => (typeof d === "number" ? d : given.length / known));
  }

  /** Plans built so far, each a shape inference, weight packing and memory plan: what the cache of bindings saves. */
  get plans(): number {
    return this.planned;
  }

  /** Output shapes of the current binding (the last run's, or the declared ones with symbolic dimensions as 1). */
  get outputShapes(): Record<string, number[]> {
    this.live();
    const out: Record<string, number[]> = {};
    for (const { name, value, count } of this.bound!.compiled.graph.outputs) {
      const rows = count ? this.rows.get(name) : undefined;
      if (rows === undefined) out[name] = [...value.shape];
      else out[name] = count!.lastAxis ? [...value.shape.slice(0, -1), rows] : [rows, ...value.shape.slice(1)];
    }
    return out;
  }

  /** Bytes of the current binding: packed weights, planned activations, scratch, and the naive sum. */
  get memory(): MemoryReport {
    this.live();
    return this.bound!.compiled.memory;
  }

  /** Floating-point operations of one run of the current binding (a multiply-add counts 2). */
  get flops(): number {
    this.live();
    return this.bound!.compiled.graph.steps.reduce((a, s) => a + flops(s), 0);
  }

  /** Trained parameters (weights and biases after folding). */
  get parameters(): number {
    this.live();
    return this.bound!.compiled.graph.steps.reduce((a, s) => a + params(s), 0);
  }

  /** A table of the steps of the current binding with parameters, FLOPs and memory. */
  summary(): string {
    this.live();
    const { compiled, shapes } = this.bound!;
    const rows = compiled.graph.steps.map((s) => [describe(s), `[${s.y.shape.join(", ")}]`, String(params(s)), String(flops(s)), moved(s)]);
    const header = ["step", "output (stored)", "params", "FLOPs", "moved"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
    const m = compiled.memory;
    const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
    const copies = compiled.graph.steps.filter((s) => s.op === "copy");
    const copyBytes = copies.reduce((a, s) => a + movedBytes(s), 0);
    return [
      `inputs: ${[...shapes].map(([n, s]) => `${n} [${s.join(", ")}]`).join(", ")}`,
      line(header),
      ...rows.map(line),
      `parameters: ${this.parameters}, FLOPs: ${this.flops}`,
      `copies: ${copies.length} (${copies.filter((s) => s.op === "copy" && s.perm !== undefined).length} transposes), moving ${kib(copyBytes)} a run`,
      `memory: weights ${kib(m.weights)}, activations ${kib(m.activations)} planned (${kib(m.naiveActivations)} without reuse), scratch ${kib(m.scratch)}`,
    ].join("\n");
  }

  dispose(): void {
    if (this.disposed) return;
    for (const b of this.bindings.values()) b.compiled.dispose();
    this.bindings.clear();
    this.bound = undefined;
    this.disposed = true;
  }
}

/** Up to five known names nearest to `name`: containing it or contained in it first, then by edit distance. */
function nearest(name: string, known: readonly string[]): string[] {
  const lower = name.toLowerCase();
  const scored = known.map((k) => {
    const kl = k.toLowerCase();
    return { k, d: kl.includes(lower) || lower.includes(kl) ? -1 : editDistance(lower, kl) };
  });
  return scored.filter((s) => s.d <= Math.max(2, name.length / 3)).sort((a, b) => a.d - b.d || a.k.localeCompare(b.k)).slice(0, 5).map((s) => s.k);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

function valuesOf(given: InputData, dtype: ModelIO["dtype"]): Float32Array | number[] {
  const data = given instanceof Tensor ? given.toArray() : given;
  if (dtype === "float16" && isHalfArray(data)) return halfArrayToFloats(data);
  if (dtype === "float32" || dtype === "float16") return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number | bigint>, Number);
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

function describe(s: Step): string {
  switch (s.op) {
    case "conv": {
      const [co, kh, kw, ci] = s.wShape;
      const act = typeof s.act === "string" ? s.act : JSON.stringify(s.act);
      return `conv ${kh}x${kw} ${ci * s.groups}->${co}${s.groups > 1 ? ` g${s.groups}` : ""}${act !== "none" ? ` +${act}` : ""}${s.residual ? " +residual" : ""}${s.nchw ? " nchw" : ""}`;
    }
    case "deconv": {
      const [ci, kh, kw, co] = s.wShape;
      const act = typeof s.act === "string" ? s.act : JSON.stringify(s.act);
      return `deconv ${kh}x${kw}/${s.strides.join("x")} ${ci}->${co * s.groups}${s.groups > 1 ? ` g${s.groups}` : ""}${act !== "none" ? ` +${act}` : ""}`;
    }
    case "gemm": {
      const { k, n } = gemmDims(s);
      return `gemm ${k}->${n}${s.act !== "none" ? ` +${typeof s.act === "string" ? s.act : JSON.stringify(s.act)}` : ""}${s.c && rootOf(s.c).storage !== "const" ? " +residual" : ""}`;
    }
    case "qconv": {
      const [co, kh, kw, ci] = s.wShape;
      return `qconv ${kh}x${kw} ${s.depthwise ? co : ci}->${co}${s.depthwise ? ` g${co}` : ""} int8${s.input.dynamic ? " dynamic" : ""}`;
    }
    case "qpool":
      return `${s.window ? "" : "global "}${s.max ? "max" : "avg"}pool${s.window ? ` ${s.window.kernel.join("x")}` : ""} int8`;
    case "pool":
      return `${s.max ? "max" : "avg"}pool ${s.window.kernel.join("x")}${s.nchw ? " nchw" : ""}`;
    case "globalPool":
      return `global ${s.max ? "max" : "avg"}pool`;
    case "copy":
      return s.perm ? `transpose ${permName(s.perm)}` : "copy";
    case "resize":
      return `resize ${s.spec.mode}`;
    case "reduce":
      return `reduce ${s.kind}`;
    case "norm":
      return `${s.perElement ? "layernorm" : s.groups === s.dims[2] ? "instancenorm" : `groupnorm g${s.groups}`}${s.act !== "none" ? ` +${typeof s.act === "string" ? s.act : JSON.stringify(s.act)}` : ""}`;
    case "lpNorm":
      return `lp${s.p} norm`;
    default:
      return s.op;
  }
}

function permName(perm: readonly number[]): string {
  const p = perm.join();
  if (p === NCHW_TO_NHWC.join()) return "NCHW->NHWC";
  if (p === NHWC_TO_NCHW.join()) return "NHWC->NCHW";
  return `[${p}]`;
}

/** Bytes a data-movement step reads and writes (a fill writes its whole output once more). */
function movedBytes(s: Step): number {
  if (s.op === "copy") return s.copies.reduce((a, c) => a + 8 * sizeOfShape(c.sizes), 0) + (s.fill !== undefined ? 4 * sizeOfShape(s.y.shape) : 0);
  if (s.op === "pad") return 4 * (sizeOfShape(s.x.shape) + sizeOfShape(s.y.shape));
  return 0;
}

/** The summary's "moved" column: the cost of copies, empty for steps that compute. */
function moved(s: Step): string {
  const b = movedBytes(s);
  return b === 0 ? "" : `${(b / 1024).toFixed(1)} KiB`;
}

function params(s: Step): number {
  if (s.op === "conv" || s.op === "deconv" || s.op === "qconv") return s.w.length + (s.bias?.length ?? 0);
  if (s.op === "gemm") return s.b.length + (s.bias?.length ?? 0) + (s.c && rootOf(s.c).storage === "const" ? sizeOfShape(s.c.shape) : 0);
  if (s.op === "norm") return s.scale.length + s.bias.length;
  return 0;
}

function flops(s: Step): number {
  if (s.op === "conv" || s.op === "qconv") {
    const [, kh, kw, ci] = s.wShape;
    return 2 * sizeOfShape(s.y.shape) * kh * kw * ci;
  }
  // Every input pixel meets every tap, including the products the padding crops away.
  if (s.op === "deconv") return 2 * sizeOfShape(s.x.shape) * s.wShape[1] * s.wShape[2] * s.wShape[3];
  if (s.op === "gemm") return 2 * sizeOfShape(s.y.shape) * gemmDims(s).k;
  if (s.op === "matmul") return 2 * s.batch * s.m * s.k * s.n;
  if (s.op === "copy" || s.op === "pad") return 0;
  if (s.op === "pool") return sizeOfShape(s.y.shape) * s.window.kernel[0] * s.window.kernel[1];
  return sizeOfShape(s.op === "globalPool" ? s.x.shape : s.y.shape);
}
