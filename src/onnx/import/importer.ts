import { ModelFormatError, ShapeError, SimdcnnError, UnsupportedError } from "../../errors.js";
import type { DType, ExecGraph, RowCount, Step, Value } from "../../graph/ir.js";
import { isInt, rootOf, sizeOfShape, stepInputs } from "../../graph/ir.js";
import { NCHW_TO_NHWC, NHWC_TO_NCHW, copyPlan, nhwcShape, permuteStep } from "../../graph/layout.js";
import { stridesOf } from "../../runtime/tensor.js";
import { UNSUPPORTED_OP, problemsError, realInputs, defaultOpset } from "../check.js";
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor } from "../model.js";
import { isSupportedOp } from "../ops.js";
import { HANDLERS } from "./handlers.js";
import type { IntWeights, QuantSym } from "./quant.js";
import { carryCount, checkIntSteps, intsOf } from "./dtype.js";
import { constOf, floatsOf, transposeConst } from "./util.js";

/** Ops that read their first input, when 4-d, as NHWC. */
const NHWC_READERS = new Set([
  "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "InstanceNormalization", "GroupNormalization",
]);
/** Ops whose output keeps the layout of their input. */
const LAYOUT_NEUTRAL = new Set([
  "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Add", "Sub", "Mul", "Div", "PRelu", "Identity", "Dropout",
  "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "Gelu", "Erf", "Log", "Pow", "Sqrt", "Reciprocal",
  "Neg", "Abs", "Floor", "Ceil", "Round", "Sign", "Min", "Max", "Mean", "Sum",
]);
/** How far feedsNhwc follows layout-neutral ops. */
const MAX_NEUTRAL_CHAIN = 8;

/** A tensor of the ONNX graph while importing: a constant folded here, or a value of the graph. */
export type Sym =
  | { kind: "const"; dims: number[]; f?: Float32Array; i?: number[]; dataType?: number }
  | {
      kind: "value";
      v: Value;
      layout: "nhwc" | "plain";
      dims: number[];
      /** Set when only the first `count` entries of the first (or last) axis are real (src/onnx/import/dtype.ts). */
      count?: RowCount;
    };

export type ConstSym = Extract<Sym, { kind: "const" }>;
export type ValueSym = Extract<Sym, { kind: "value" }>;

/**
 * Thrown (and caught by the loader, never by users) when an op needs as a constant a graph input
 * that the model feeds at run time: conv weights or a Reshape shape given as inputs, as ONNX's
 * own node tests do. The loader then binds that input by value.
 */
export class NeedsConstant extends Error {
  constructor(readonly input: string) {
    super(`input '${input}' is needed as a constant`);
  }
}

export interface ImportOptions {
  /** Fold BatchNormalization and fuse activations and residual adds into the kernels (default true). */
  optimize: boolean;
}

/**
 * Builds the executable graph for concrete input shapes (NCHW as the model declares them): shape
 * inference, constant folding (Shape/Gather/Concat/... chains disappear), layout (NHWC inside,
 * the model's layout at its inputs and outputs), and with `optimize` the fusions.
 */
export function importGraph(
  model: OnnxModel, order: OnnxNode[], inputShapes: Map<string, number[]>, constants: Map<string, OnnxTensor>, opts: ImportOptions,
): ExecGraph {
  return new Importer(model, defaultOpset(model), opts).run(order, inputShapes, constants);
}

export class Importer {
  syms = new Map<string, Sym>();
  steps: Step[] = [];
  producer = new Map<Value, number>();
  /** The nodes reading each ONNX tensor, and the nodes already imported. */
  consumers = new Map<string, OnnxNode[]>();
  done = new Set<OnnxNode>();
  uses = new Map<string, number>();
  converted = new WeakMap<Sym, Map<string, Value>>();
  /** Outputs of Transpose nodes' copies: the input they permute, and how. */
  transposed = new WeakMap<Value, { x: ValueSym; perm: number[] }>();
  nextId = 0;
  node!: OnnxNode;
  /** The pending tensors of dynamic-quantization chains (src/onnx/import/quant.ts), by name. */
  quant = new Map<string, QuantSym>();
  /** DequantizeLinear outputs of 8-bit constants: the integers, for Conv/MatMul to fuse. */
  intWeights = new Map<string, IntWeights>();

  constructor(
    readonly model: OnnxModel,
    readonly opset: number,
    readonly opts: ImportOptions,
  ) {}

  run(order: OnnxNode[], inputShapes: Map<string, number[]>, constants: Map<string, OnnxTensor>): ExecGraph {
    const g = this.model.graph;
    for (const n of g.nodes) for (const i of n.inputs) if (i) this.uses.set(i, (this.uses.get(i) ?? 0) + 1);
    for (const o of g.outputs) this.uses.set(o.name, (this.uses.get(o.name) ?? 0) + 1);
    // A problem does not stop the import: it is noted, the tensors it leaves undefined are
    // poisoned, nodes reading those are skipped, and one error at the end lists every problem.
    const problems: string[] = [];
    const poisoned = new Set<string>();
    for (const [name, t] of g.initializers) {
      if (t.unsupported !== undefined) {
        if (this.uses.has(name)) problems.push(t.unsupported);
        poisoned.add(name);
      } else {
        this.syms.set(name, constOf(t));
      }
    }
    const inputs: ExecGraph["inputs"] = [];
    for (const info of realInputs(this.model)) {
      const bound = constants.get(info.name);
      if (bound) {
        this.syms.set(info.name, constOf(bound));
        continue;
      }
      const dims = inputShapes.get(info.name)!;
      const v = this.value(dims, "input", info.name);
      inputs.push({ name: info.name, value: v });
      this.syms.set(info.name, { kind: "value", v, layout: "plain", dims });
    }
    for (const n of order) {
      for (const i of n.inputs) if (i) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
    for (const n of order) {
      this.node = n;
      if (n.inputs.some((i) => i !== "" && poisoned.has(i))) {
        for (const o of n.outputs) poisoned.add(o);
        continue;
      }
      try {
        this.importNode(n);
      } catch (e) {
        // Other errors are reported alone, unless problems are already known (then they join the list).
        if (!(e instanceof UnsupportedError) && !(problems.length > 0 && e instanceof SimdcnnError)) throw e;
        problems.push(...(e instanceof UnsupportedError ? e.problems : [e.message]));
        for (const o of n.outputs) poisoned.add(o);
        continue;
      }
      this.done.add(n);
    }
    if (problems.length > 0) throw problemsError(this.opset, problems);
    const outputs = g.outputs.map((o) => {
      const s = this.sym(o.name);
      let v = this.plain(s);
      // Outputs are read from the arena after the run; an input or a constant is copied there.
      if (rootOf(v).storage !== "arena") v = this.copyOut(v);
      return s.kind === "value" && s.count ? { name: o.name, value: v, count: s.count } : { name: o.name, value: v };
    });
    const read = [...outputs.map((o) => o.value), ...outputs.flatMap((o) => (o.count ? [o.count.value] : []))];
    return { steps: liveSteps(this.steps, read), inputs, outputs };
  }

  fail(message: string): never {
    const n = this.node;
    throw new UnsupportedError(`${n.domain ? `${n.domain}.` : ""}${n.opType} node '${n.name || n.outputs[0]}' (opset ${this.opset}): ${message}`);
  }

  bad(message: string): never {
    const n = this.node;
    throw new ModelFormatError(`${n.opType} node '${n.name || n.outputs[0]}': ${message}`);
  }

  value(shape: number[], storage: Value["storage"] = "arena", name?: string, data?: Float32Array, dtype?: DType): Value {
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || d <= 0) throw new ShapeError(`tensor '${name ?? "?"}' gets shape [${shape.join(", ")}]; every dimension must be a positive integer`);
    }
    // Byte offsets are wasm32: no tensor may pass 2^29 floats (2 GiB).
    if (sizeOfShape(shape) > 2 ** 29) throw new ShapeError(`tensor '${name ?? "?"}' gets shape [${shape.join(", ")}], more than 2^29 elements`);
    return dtype === "i32" ? { id: this.nextId++, shape, storage, name, data, dtype } : { id: this.nextId++, shape, storage, name, data };
  }

  alias(of: Value, shape: number[]): Value {
    return isInt(of) ? { id: this.nextId++, shape, storage: of.storage, aliasOf: of, dtype: "i32" } : { id: this.nextId++, shape, storage: of.storage, aliasOf: of };
  }

  emit(s: Step): void {
    checkIntSteps(this, s);
    this.producer.set(s.y, this.steps.length);
    this.steps.push(s);
  }

  sym(name: string): Sym {
    const q = this.quant.get(name);
    if (q?.kind === "fakeQuantized") {
      // A QDQ pair read by an op without an 8-bit kernel: the pair runs once, as its definition.
      const s = q.materialize();
      this.quant.delete(name);
      this.syms.set(name, s);
      return s;
    }
    if (q) {
      this.fail(`'${name}' is an 8-bit tensor, which simdcnn runs only inside DynamicQuantizeLinear -> ConvInteger/MatMulInteger -> Cast -> Mul by the scales, or QuantizeLinear -> DequantizeLinear pairs`);
    }
    const s = this.syms.get(name);
    if (!s) throw new ModelFormatError(`tensor '${name}' is read before it is defined`);
    return s;
  }

  /** Whether a node or the graph's outputs read the tensor `name` (an optional output left unread is no problem). */
  isRead(name: string | undefined): boolean {
    return !!name && (this.uses.get(name) ?? 0) > 0;
  }

  input(i: number): Sym | undefined {
    const name = this.node.inputs[i];
    return name ? this.sym(name) : undefined;
  }

  required(i: number): Sym {
    const s = this.input(i);
    if (!s) this.bad(`input ${i} is required`);
    return s;
  }

  constInput(i: number, what: string): ConstSym | undefined {
    const s = this.input(i);
    if (s === undefined) return undefined;
    return this.asConst(s, i, what);
  }

  asConst(s: Sym, i: number, what: string): ConstSym {
    if (s.kind === "const") return s;
    const name = this.node.inputs[i];
    if (s.v.storage === "input" && !s.v.aliasOf && s.v.name === name) throw new NeedsConstant(name);
    this.fail(`${what} (input ${i}) must be a constant or computable at load time`);
  }

  quantInput(i: number): QuantSym | undefined {
    const name = this.node.inputs[i];
    return name ? this.quant.get(name) : undefined;
  }

  setQuant(i: number, q: QuantSym): void {
    const name = this.node.outputs[i];
    if (name) this.quant.set(name, q);
  }

  setOutput(s: Sym, i = 0): void {
    const name = this.node.outputs[i];
    if (!name) return;
    // The first ONNX name a value gets stays on it (the summary and errors can name it).
    if (s.kind === "value") s.v.name ??= name;
    this.syms.set(name, s);
  }

  attr(name: string): OnnxAttribute | undefined {
    return this.node.attributes.get(name);
  }

  int(name: string, def: number): number {
    const a = this.attr(name);
    if (a === undefined) return def;
    if (a.type !== "int") this.bad(`attribute ${name} must be an int`);
    return a.value;
  }

  float(name: string, def: number): number {
    const a = this.attr(name);
    if (a === undefined) return def;
    if (a.type !== "float") this.bad(`attribute ${name} must be a float`);
    return a.value;
  }

  ints(name: string): number[] | undefined {
    const a = this.attr(name);
    if (a === undefined) return undefined;
    if (a.type !== "ints") this.bad(`attribute ${name} must be a list of ints`);
    return a.value;
  }

  string(name: string, def: string): string {
    const a = this.attr(name);
    if (a === undefined) return def;
    if (a.type !== "string") this.bad(`attribute ${name} must be a string`);
    return a.value;
  }

  /** The value of a sym in the model's (plain, row-major) layout. */
  plain(s: Sym): Value {
    if (s.kind === "const") return this.constValue(s);
    if (s.layout === "plain") return s.v;
    return this.convert(s, "plain", () => {
      const [, c, h, w] = s.dims;
      if (c === 1 || h * w === 1) return this.alias(s.v, s.dims);
      const y = this.value([...s.dims]);
      this.emit(permuteStep(s.v, y, NHWC_TO_NCHW));
      return y;
    });
  }

  /** The value of a 4-d sym stored NHWC. */
  nhwc(s: Sym): Value {
    if (s.dims.length !== 4) this.fail(`expected a 4-d tensor (N, C, H, W), got [${s.dims.join(", ")}]`);
    if (s.kind === "value" && s.layout === "nhwc") return s.v;
    if (s.kind === "const") return this.value(nhwcShape(s.dims), "const", undefined, Float32Array.from(transposeConst(s, NCHW_TO_NHWC)));
    return this.convert(s, "nhwc", () => {
      const [, c, h, w] = s.dims;
      if (c === 1 || h * w === 1) return this.alias(s.v, nhwcShape(s.dims));
      const y = this.value(nhwcShape(s.dims));
      this.emit(permuteStep(s.v, y, NCHW_TO_NHWC));
      return y;
    });
  }

  /** Whether the NHWC copy of a plain value exists already (a step made it, or will reuse it). */
  hasNhwc(s: ValueSym): boolean {
    return this.converted.get(s)?.has("nhwc") ?? false;
  }

  convert(s: ValueSym, to: string, make: () => Value): Value {
    let m = this.converted.get(s);
    if (!m) this.converted.set(s, (m = new Map()));
    let v = m.get(to);
    if (!v) m.set(to, (v = make()));
    return v;
  }

  constValue(s: ConstSym): Value {
    return this.convert(s as unknown as ValueSym, "const", () => {
      const dims = s.dims.length ? [...s.dims] : [1];
      if (s.f || !s.i) return this.value(dims, "const", undefined, floatsOf(s, this));
      const v = this.value(dims, "const", undefined, undefined, "i32");
      v.ints = intsOf(s, this);
      return v;
    });
  }

  copyOut(v: Value): Value {
    const y = this.value([...v.shape]);
    this.emit({ op: "copy", x: v, y, copies: [copyPlan([sizeOfShape(v.shape)], [1], [1])] });
    return y;
  }

  /** The step that wrote `v`, when the ONNX tensor `name` has no other reader and is no output. */
  /**
   * The step that wrote `v` (through any reshape or layout alias), when nothing but the current
   * node reads those bytes: every ONNX tensor sharing them is read only by this node or by
   * alias-making nodes already imported, and none is a graph output. Only then may a fusion
   * change what the step writes.
   */
  soleProducer(name: string, v: Value): Step | undefined {
    if (!this.opts.optimize) return undefined;
    const root = rootOf(v);
    const at = this.producer.get(root);
    if (at === undefined || this.uses.get(name) !== 1) return undefined;
    const shares = (n: string) => {
      const s = this.syms.get(n);
      return s?.kind === "value" && rootOf(s.v) === root;
    };
    for (const [n] of this.syms) {
      if (!shares(n)) continue;
      if (this.model.graph.outputs.some((o) => o.name === n)) return undefined;
      for (const c of this.consumers.get(n) ?? []) {
        if (c === this.node) continue;
        if (this.done.has(c) && c.outputs.every((o) => !o || shares(o))) continue;
        return undefined;
      }
    }
    return this.steps[at];
  }

  /**
   * Whether everything that reads the ONNX tensor `name` reads it as NHWC, directly or through
   * ops that keep their input's layout, and it is no graph output.
   */
  feedsNhwc(name: string, depth = 0): boolean {
    if (depth > MAX_NEUTRAL_CHAIN || this.model.graph.outputs.some((o) => o.name === name)) return false;
    const readers = this.consumers.get(name) ?? [];
    return readers.length > 0 && readers.every((n) =>
      (NHWC_READERS.has(n.opType) && n.inputs[0] === name) ||
      (LAYOUT_NEUTRAL.has(n.opType) && !!n.outputs[0] && this.feedsNhwc(n.outputs[0], depth + 1)));
  }

  importNode(n: OnnxNode): void {
    if (!isSupportedOp(n.opType, n.domain)) this.fail(UNSUPPORTED_OP);
    HANDLERS[n.opType](this, n);
    carryCount(this, n);
  }


  /** s broadcast to dims (stored NHWC when nhwc), materialised by a copy with zero strides. */
  broadcast(s: Sym, dims: number[], nhwc: boolean): Value {
    const r = dims.length;
    const sd = [...new Array<number>(r - s.dims.length).fill(1), ...s.dims];
    const src = this.plain(s);
    const ss = stridesOf(sd).map((st, i) => (sd[i] === 1 ? 0 : st));
    const perm = nhwc ? NCHW_TO_NHWC : [...Array(r).keys()];
    const sizes = perm.map((p) => dims[p]);
    const y = this.value(sizes);
    if (r > 6) this.fail(`rank ${r} > 6`);
    this.emit({ op: "copy", x: src, y, copies: [copyPlan(sizes, perm.map((p) => ss[p]), stridesOf(sizes))] });
    return y;
  }

}

/** The steps whose results reach an output: a copy that a later transpose made redundant goes. */
function liveSteps(steps: Step[], outputs: Value[]): Step[] {
  const read = new Set(outputs.map(rootOf));
  const kept: Step[] = [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i];
    if (!read.has(rootOf(s.y))) continue;
    kept.push(s);
    for (const v of stepInputs(s)) read.add(rootOf(v));
  }
  return kept.reverse();
}
