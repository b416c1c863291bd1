import { ModelFormatError, ShapeError, UnsupportedError } from "../errors.js";
import { type Activation, activationCode } from "../ops/activation.js";
import { ACT, BIN } from "../runtime/kernels.js";
import type { CopyPlan, ExecGraph, Step, Value, Window } from "../graph/ir.js";
import { sizeOfShape } from "../graph/ir.js";
import { NCHW_TO_NHWC, NHWC_TO_NCHW, copyPlan, nhwcShape, permutePlan, stridesOf } from "../graph/layout.js";
import { DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from "./model.js";
import { MAX_OPSET, MIN_OPSET, isSupportedOp } from "./ops.js";

/** A tensor of the ONNX graph while importing: a constant folded here, or a value of the graph. */
type Sym =
  | { kind: "const"; dims: number[]; f?: Float32Array; i?: number[] }
  | { kind: "value"; v: Value; layout: "nhwc" | "plain"; dims: number[] };

type ConstSym = Extract<Sym, { kind: "const" }>;
type ValueSym = Extract<Sym, { kind: "value" }>;

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

/** Opset of the default domain, checked against what simdcnn supports. */
export function defaultOpset(model: OnnxModel): number {
  const v = model.opsets.get("");
  if (v === undefined) throw new ModelFormatError("the model imports no opset of the default ONNX domain");
  if (v < MIN_OPSET || v > MAX_OPSET) {
    throw new UnsupportedError(`the model uses opset ${v} of the default domain; simdcnn supports opsets ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  return v;
}

/**
 * Checks what can be checked without shapes: every op is supported (one error listing all that
 * are not), every name is defined, and the graph has no cycle. Returns the nodes in an order
 * where each comes after the producers of its inputs.
 */
export function checkGraph(model: OnnxModel): OnnxNode[] {
  const g = model.graph;
  const opset = defaultOpset(model);
  const unsupported = g.nodes.filter((n) => !isSupportedOp(n.opType, n.domain));
  if (unsupported.length > 0) {
    const list = unsupported.map((n) => `${n.domain ? `${n.domain}.` : ""}${n.opType} (node '${n.name || n.outputs[0]}')`);
    throw new UnsupportedError(
      `the model (opset ${opset}) uses ${unsupported.length} unsupported node(s): ${list.join(", ")}. Supported ops: see SUPPORTED_ONNX_OPS`,
    );
  }
  const produced = new Map<string, OnnxNode>();
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (o === "") continue;
      if (produced.has(o) || g.initializers.has(o)) throw new ModelFormatError(`tensor '${o}' is produced more than once`);
      produced.set(o, n);
    }
  }
  const available = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== "" && !available.has(i) && !produced.has(i)) {
        throw new ModelFormatError(`node '${n.name || n.opType}' reads '${i}', which no node, input or initializer defines`);
      }
    }
  }
  for (const o of g.outputs) {
    if (!available.has(o.name) && !produced.has(o.name)) throw new ModelFormatError(`graph output '${o.name}' is never defined`);
  }
  // Kahn's algorithm; what is left over lies on a cycle.
  const pending = new Map<OnnxNode, number>();
  const users = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    const deps = new Set(n.inputs.filter((i) => i !== "" && produced.has(i) && !available.has(i)));
    pending.set(n, deps.size);
    for (const d of deps) users.set(d, [...(users.get(d) ?? []), n]);
  }
  const order: OnnxNode[] = [];
  const ready = g.nodes.filter((n) => pending.get(n) === 0);
  while (ready.length > 0) {
    const n = ready.shift()!;
    order.push(n);
    for (const o of n.outputs) {
      for (const u of users.get(o) ?? []) {
        const left = pending.get(u)! - 1;
        pending.set(u, left);
        if (left === 0) ready.push(u);
      }
    }
  }
  if (order.length !== g.nodes.length) {
    const stuck = g.nodes.filter((n) => !order.includes(n)).map((n) => n.name || n.opType);
    throw new ModelFormatError(`the graph has a cycle through node(s) ${stuck.slice(0, 5).join(", ")}`);
  }
  return order;
}

/** The graph inputs that are not initializers (old exporters list initializers as inputs too). */
export function realInputs(model: OnnxModel) {
  return model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
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

class Importer {
  private syms = new Map<string, Sym>();
  private steps: Step[] = [];
  private producer = new Map<Value, number>();
  private uses = new Map<string, number>();
  private converted = new WeakMap<Sym, Map<string, Value>>();
  private nextId = 0;
  private node!: OnnxNode;

  constructor(
    private readonly model: OnnxModel,
    private readonly opset: number,
    private readonly opts: ImportOptions,
  ) {}

  run(order: OnnxNode[], inputShapes: Map<string, number[]>, constants: Map<string, OnnxTensor>): ExecGraph {
    const g = this.model.graph;
    for (const n of g.nodes) for (const i of n.inputs) if (i) this.uses.set(i, (this.uses.get(i) ?? 0) + 1);
    for (const o of g.outputs) this.uses.set(o.name, (this.uses.get(o.name) ?? 0) + 1);
    for (const [name, t] of g.initializers) this.syms.set(name, constOf(t));
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
      this.node = n;
      this.importNode(n);
    }
    const outputs = g.outputs.map((o) => {
      const s = this.sym(o.name);
      let v = this.plain(s);
      // An output must own its bytes when it is also an input, a constant or another output's.
      if (v.storage !== "arena" || v.aliasOf) v = this.copyOut(v);
      return { name: o.name, value: v };
    });
    return { steps: this.steps, inputs, outputs };
  }

  private fail(message: string): never {
    const n = this.node;
    throw new UnsupportedError(`${n.opType} node '${n.name || n.outputs[0]}' (opset ${this.opset}): ${message}`);
  }

  bad(message: string): never {
    const n = this.node;
    throw new ModelFormatError(`${n.opType} node '${n.name || n.outputs[0]}': ${message}`);
  }

  private value(shape: number[], storage: Value["storage"] = "arena", name?: string, data?: Float32Array): Value {
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || d <= 0) throw new ShapeError(`tensor '${name ?? "?"}' gets shape [${shape.join(", ")}]; every dimension must be a positive integer`);
    }
    return { id: this.nextId++, shape, storage, name, data };
  }

  private alias(of: Value, shape: number[]): Value {
    return { id: this.nextId++, shape, storage: of.storage, aliasOf: of };
  }

  private emit(s: Step): void {
    this.producer.set(s.y, this.steps.length);
    this.steps.push(s);
  }

  private sym(name: string): Sym {
    const s = this.syms.get(name);
    if (!s) throw new ModelFormatError(`tensor '${name}' is read before it is defined`);
    return s;
  }

  private input(i: number): Sym | undefined {
    const name = this.node.inputs[i];
    return name ? this.sym(name) : undefined;
  }

  private required(i: number): Sym {
    const s = this.input(i);
    if (!s) this.bad(`input ${i} is required`);
    return s;
  }

  private constInput(i: number, what: string): ConstSym | undefined {
    const s = this.input(i);
    if (s === undefined) return undefined;
    return this.asConst(s, i, what);
  }

  private asConst(s: Sym, i: number, what: string): ConstSym {
    if (s.kind === "const") return s;
    const name = this.node.inputs[i];
    if (s.v.storage === "input" && !s.v.aliasOf && s.v.name === name) throw new NeedsConstant(name);
    this.fail(`${what} (input ${i}) must be a constant or computable at load time`);
  }

  private setOutput(s: Sym, i = 0): void {
    const name = this.node.outputs[i];
    if (name) this.syms.set(name, s);
  }

  private attr(name: string): OnnxAttribute | undefined {
    return this.node.attributes.get(name);
  }

  private int(name: string, def: number): number {
    const a = this.attr(name);
    if (a === undefined) return def;
    if (a.type !== "int") this.bad(`attribute ${name} must be an int`);
    return a.value;
  }

  private float(name: string, def: number): number {
    const a = this.attr(name);
    if (a === undefined) return def;
    if (a.type !== "float") this.bad(`attribute ${name} must be a float`);
    return a.value;
  }

  private ints(name: string): number[] | undefined {
    const a = this.attr(name);
    if (a === undefined) return undefined;
    if (a.type !== "ints") this.bad(`attribute ${name} must be a list of ints`);
    return a.value;
  }

  private string(name: string, def: string): string {
    const a = this.attr(name);
    if (a === undefined) return def;
    if (a.type !== "string") this.bad(`attribute ${name} must be a string`);
    return a.value;
  }

  /** The value of a sym in the model's (plain, row-major) layout. */
  private plain(s: Sym): Value {
    if (s.kind === "const") return this.constValue(s);
    if (s.layout === "plain") return s.v;
    return this.convert(s, "plain", () => {
      const [n, c, h, w] = s.dims;
      if (c === 1 || h * w === 1) return this.alias(s.v, s.dims);
      const y = this.value([...s.dims]);
      this.emit({ op: "copy", x: s.v, y, copies: [permutePlan(s.v.shape, NHWC_TO_NCHW)] });
      return y;
    });
  }

  /** The value of a 4-d sym stored NHWC. */
  private nhwc(s: Sym): Value {
    if (s.dims.length !== 4) this.fail(`expected a 4-d tensor (N, C, H, W), got [${s.dims.join(", ")}]`);
    if (s.kind === "value" && s.layout === "nhwc") return s.v;
    if (s.kind === "const") return this.value(nhwcShape(s.dims), "const", undefined, Float32Array.from(transposeConst(s, NCHW_TO_NHWC)));
    return this.convert(s, "nhwc", () => {
      const [, c, h, w] = s.dims;
      if (c === 1 || h * w === 1) return this.alias(s.v, nhwcShape(s.dims));
      const y = this.value(nhwcShape(s.dims));
      this.emit({ op: "copy", x: s.v, y, copies: [permutePlan(s.dims, NCHW_TO_NHWC)] });
      return y;
    });
  }

  private convert(s: ValueSym, to: string, make: () => Value): Value {
    let m = this.converted.get(s);
    if (!m) this.converted.set(s, (m = new Map()));
    let v = m.get(to);
    if (!v) m.set(to, (v = make()));
    return v;
  }

  private constValue(s: ConstSym): Value {
    return this.convert(s as unknown as ValueSym, "const", () => this.value(s.dims.length ? [...s.dims] : [1], "const", undefined, floatsOf(s, this)));
  }

  private copyOut(v: Value): Value {
    const y = this.value([...v.shape]);
    this.emit({ op: "copy", x: v, y, copies: [copyPlan([sizeOfShape(v.shape)], [1], [1])] });
    return y;
  }

  /** The step that wrote `v`, when the ONNX tensor `name` has no other reader and is no output. */
  private soleProducer(name: string, v: Value): Step | undefined {
    if (!this.opts.optimize || this.uses.get(name) !== 1) return undefined;
    if (this.model.graph.outputs.some((o) => o.name === name)) return undefined;
    const i = this.producer.get(v);
    return i === undefined ? undefined : this.steps[i];
  }

  private importNode(n: OnnxNode): void {
    switch (n.opType) {
      case "Constant":
        return this.constant();
      case "Identity":
      case "Dropout":
        if (n.outputs[1]) this.fail("the mask output is not supported");
        if (n.opType === "Dropout" && this.int("training_mode", 0) !== 0) this.fail("training_mode must be 0");
        return this.setOutput(this.required(0));
      case "Shape":
        return this.shape();
      case "Gather":
        return this.gather();
      case "Unsqueeze":
      case "Squeeze":
        return this.squeeze(n.opType === "Unsqueeze");
      case "Reshape":
      case "Flatten":
        return this.reshape(n.opType === "Flatten");
      case "Concat":
        return this.concat();
      case "Transpose":
        return this.transpose();
      case "Slice":
        return this.slice();
      case "Pad":
        return this.pad();
      case "Conv":
        return this.conv();
      case "MaxPool":
      case "AveragePool":
        return this.pool(n.opType === "MaxPool");
      case "GlobalAveragePool":
      case "GlobalMaxPool":
        return this.globalPool(n.opType === "GlobalMaxPool");
      case "BatchNormalization":
        return this.batchNorm();
      case "Relu":
        return this.activation("relu");
      case "Sigmoid":
        return this.activation("sigmoid");
      case "Tanh":
        return this.activation("tanh");
      case "LeakyRelu":
        return this.activation({ leakyRelu: this.float("alpha", 0.01) });
      case "Clip":
        return this.clip();
      case "Exp":
        return this.exp();
      case "Add":
      case "Sub":
      case "Mul":
      case "Div":
        return this.binary(n.opType);
      case "PRelu":
        return this.prelu();
      case "Softmax":
        return this.softmax();
      case "Gemm":
        return this.gemm();
      case "MatMul":
        return this.matmul();
      default:
        this.fail("not supported");
    }
  }

  private constant(): void {
    const n = this.node;
    if (n.attributes.size !== 1) this.bad("expects exactly one value attribute");
    const [name, a] = [...n.attributes][0];
    if (name === "value" && a.type === "tensor") return this.setOutput(constOf(a.value));
    if (name === "value_float" && a.type === "float") return this.setOutput({ kind: "const", dims: [], f: Float32Array.of(a.value) });
    if (name === "value_floats" && a.type === "floats") return this.setOutput({ kind: "const", dims: [a.value.length], f: Float32Array.from(a.value) });
    if (name === "value_int" && a.type === "int") return this.setOutput({ kind: "const", dims: [], i: [a.value] });
    if (name === "value_ints" && a.type === "ints") return this.setOutput({ kind: "const", dims: [a.value.length], i: [...a.value] });
    this.fail(`attribute ${name} is not supported`);
  }

  private shape(): void {
    const dims = this.required(0).dims;
    const r = dims.length;
    let start = this.int("start", 0);
    let end = this.int("end", r);
    start = Math.min(Math.max(start < 0 ? start + r : start, 0), r);
    end = Math.min(Math.max(end < 0 ? end + r : end, 0), r);
    const out = dims.slice(start, Math.max(start, end));
    this.setOutput({ kind: "const", dims: [out.length], i: out });
  }

  private gather(): void {
    const data = this.required(0);
    const idx = this.constInput(1, "indices");
    if (!idx?.i) this.bad("indices must be integers");
    const r = data.dims.length;
    const axis = normAxis(this.int("axis", 0), r, this);
    const dimA = data.dims[axis];
    const indices = idx.i.map((v) => {
      const j = v < 0 ? v + dimA : v;
      if (j < 0 || j >= dimA) this.bad(`index ${v} is out of range for axis ${axis} of size ${dimA}`);
      return j;
    });
    const outDims = [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)];
    const outer = sizeOfShape(data.dims.slice(0, axis));
    const inner = sizeOfShape(data.dims.slice(axis + 1));
    if (data.kind === "const") {
      const src = data.f ?? data.i!;
      const out: number[] = [];
      for (let o = 0; o < outer; o++) for (const j of indices) for (let k = 0; k < inner; k++) out.push(src[(o * dimA + j) * inner + k]);
      return this.setOutput(data.f ? { kind: "const", dims: outDims, f: Float32Array.from(out) } : { kind: "const", dims: outDims, i: out });
    }
    const x = this.plain(data);
    const y = this.value(outDims.length ? outDims : [1]);
    const copies = indices.map((j, q) => copyPlan([outer, inner], [dimA * inner, 1], [indices.length * inner, 1], j * inner, q * inner));
    this.emit({ op: "copy", x, y, copies });
    this.setOutput({ kind: "value", v: y, layout: "plain", dims: outDims });
  }

  private axesFor(i: number): number[] | undefined {
    if (this.opset >= 13) {
      const a = this.constInput(i, "axes");
      return a?.i;
    }
    return this.ints("axes");
  }

  private squeeze(unsqueeze: boolean): void {
    const x = this.required(0);
    const axes = this.axesFor(1);
    let dims: number[];
    if (unsqueeze) {
      if (!axes) this.bad("axes are required");
      const r = x.dims.length + axes.length;
      const norm = axes.map((a) => normAxis(a, r, this)).sort((a, b) => a - b);
      dims = [...x.dims];
      for (const a of norm) dims.splice(a, 0, 1);
    } else {
      const r = x.dims.length;
      const norm = axes ? axes.map((a) => normAxis(a, r, this)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
      for (const a of norm) if (x.dims[a] !== 1) this.bad(`cannot squeeze axis ${a} of size ${x.dims[a]}`);
      dims = x.dims.filter((_, i) => !norm.includes(i));
    }
    this.setOutput(this.reshaped(x, dims));
  }

  /** The same elements in row-major order under new dims. */
  private reshaped(x: Sym, dims: number[]): Sym {
    if (x.kind === "const") return { ...x, dims };
    const v = this.plain(x);
    return { kind: "value", v: this.alias(v, dims.length ? dims : [1]), layout: "plain", dims };
  }

  private reshape(flatten: boolean): void {
    const x = this.required(0);
    const size = sizeOfShape(x.dims);
    let dims: number[];
    if (flatten) {
      const axis = normAxis(this.int("axis", 1), x.dims.length + 1, this);
      dims = [sizeOfShape(x.dims.slice(0, axis)), sizeOfShape(x.dims.slice(axis))];
    } else {
      const shape = this.opset < 5 ? { i: this.ints("shape") } : this.constInput(1, "shape");
      if (!shape?.i) this.bad("shape must be an int64 tensor");
      const allowZero = this.int("allowzero", 0) === 1;
      dims = shape.i.map((d, i) => (d === 0 && !allowZero ? x.dims[i] : d));
      const minus = dims.filter((d) => d === -1).length;
      if (minus > 1) this.bad("shape has more than one -1");
      if (minus === 1) {
        const known = sizeOfShape(dims.filter((d) => d !== -1));
        if (known === 0 || size % known !== 0) this.bad(`cannot reshape [${x.dims.join(", ")}] to [${shape.i.join(", ")}]`);
        dims = dims.map((d) => (d === -1 ? size / known : d));
      }
    }
    if (sizeOfShape(dims) !== size) this.bad(`cannot reshape [${x.dims.join(", ")}] (${size} elements) to [${dims.join(", ")}]`);
    this.setOutput(this.reshaped(x, dims));
  }

  private concat(): void {
    const parts = this.node.inputs.filter((i) => i !== "").map((i) => this.sym(i));
    if (parts.length === 0) this.bad("needs at least one input");
    const r = parts[0].dims.length;
    if (this.opset >= 4 && !this.attr("axis")) this.bad("the axis attribute is required");
    const axis = normAxis(this.int("axis", 1), r, this);
    for (const p of parts) {
      if (p.dims.length !== r || p.dims.some((d, i) => i !== axis && d !== parts[0].dims[i])) {
        this.bad(`inputs [${parts.map((q) => q.dims.join("x")).join("], [")}] do not agree outside axis ${axis}`);
      }
    }
    const dims = [...parts[0].dims];
    dims[axis] = parts.reduce((a, p) => a + p.dims[axis], 0);
    if (parts.every((p) => p.kind === "const")) {
      const cs = parts as ConstSym[];
      const outer = sizeOfShape(dims.slice(0, axis));
      const out: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const p of cs) {
          const chunk = p.dims[axis] * sizeOfShape(p.dims.slice(axis + 1));
          const src = p.f ?? p.i!;
          for (let k = 0; k < chunk; k++) out.push(src[o * chunk + k]);
        }
      }
      return this.setOutput(cs[0].f ? { kind: "const", dims, f: Float32Array.from(out) } : { kind: "const", dims, i: out });
    }
    // Channel concatenation of NHWC activations stays NHWC: each part fills its slice of C.
    const channels = r === 4 && axis === 1 && parts.some((p) => p.kind === "value" && p.layout === "nhwc");
    const values = parts.map((p) => (channels ? this.nhwc(p) : this.plain(p)));
    const outShape = channels ? nhwcShape(dims) : dims;
    const a = channels ? 3 : axis;
    const y = this.value(outShape);
    const outer = sizeOfShape(outShape.slice(0, a));
    const inner = sizeOfShape(outShape.slice(a + 1));
    let offset = 0;
    const copies: { x: Value; plan: CopyPlan }[] = [];
    for (const v of values) {
      const chunk = v.shape[a] * inner;
      copies.push({ x: v, plan: copyPlan([outer, chunk], [chunk, 1], [outShape[a] * inner, 1], 0, offset) });
      offset += chunk;
    }
    for (const c of copies) this.emit({ op: "copy", x: c.x, y, copies: [c.plan] });
    this.setOutput({ kind: "value", v: y, layout: channels ? "nhwc" : "plain", dims });
  }

  private transpose(): void {
    const x = this.required(0);
    const r = x.dims.length;
    const perm = this.ints("perm") ?? [...Array(r).keys()].reverse();
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) this.bad(`perm [${perm.join(", ")}] is not a permutation of ${r} axes`);
    const dims = perm.map((p) => x.dims[p]);
    if (x.kind === "const") return this.setOutput({ kind: "const", dims, ...(x.f ? { f: transposeConst(x, perm) as Float32Array } : { i: transposeConst(x, perm) as number[] }) });
    // NHWC storage read as [N, H, W, C] is exactly the transpose (0, 2, 3, 1) of the NCHW tensor.
    if (x.layout === "nhwc" && perm.join() === NCHW_TO_NHWC.join()) {
      return this.setOutput({ kind: "value", v: this.alias(x.v, dims), layout: "plain", dims });
    }
    // And a plain [N, H, W, C] tensor is the NHWC storage of its transpose (0, 3, 1, 2).
    if (x.layout === "plain" && perm.join() === NHWC_TO_NCHW.join()) {
      return this.setOutput({ kind: "value", v: this.alias(x.v, [...x.dims]), layout: "nhwc", dims });
    }
    if (r > 6) this.fail(`rank ${r} > 6`);
    const v = this.plain(x);
    const y = this.value(dims);
    this.emit({ op: "copy", x: v, y, copies: [permutePlan(x.dims, perm)] });
    this.setOutput({ kind: "value", v: y, layout: "plain", dims });
  }

  private slice(): void {
    const x = this.required(0);
    const r = x.dims.length;
    let starts: number[];
    let ends: number[];
    let axes: number[] | undefined;
    let steps: number[] | undefined;
    if (this.opset < 10) {
      starts = this.ints("starts") ?? this.bad("starts are required");
      ends = this.ints("ends") ?? this.bad("ends are required");
      axes = this.ints("axes");
    } else {
      starts = this.constInput(1, "starts")?.i ?? this.bad("starts are required");
      ends = this.constInput(2, "ends")?.i ?? this.bad("ends are required");
      axes = this.constInput(3, "axes")?.i;
      steps = this.constInput(4, "steps")?.i;
    }
    const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, r, this));
    const begin = x.dims.map(() => 0);
    const step = x.dims.map(() => 1);
    const dims = [...x.dims];
    ax.forEach((a, i) => {
      const d = x.dims[a];
      const st = steps?.[i] ?? 1;
      if (st === 0) this.bad("a step of 0");
      let s = starts[i];
      let e = ends[i];
      s = s < 0 ? s + d : s;
      e = e < 0 ? e + d : e;
      if (st > 0) {
        s = Math.min(Math.max(s, 0), d);
        e = Math.min(Math.max(e, 0), d);
        dims[a] = Math.max(0, Math.ceil((e - s) / st));
      } else {
        s = Math.min(Math.max(s, -1), d - 1);
        e = Math.min(Math.max(e, -1), d - 1);
        dims[a] = Math.max(0, Math.ceil((e - s) / st));
      }
      begin[a] = s;
      step[a] = st;
    });
    if (dims.some((d) => d === 0)) this.fail(`the slice of [${x.dims.join(", ")}] is empty`);
    const xs = stridesOf(x.dims);
    const from = xs.map((s, i) => s * step[i]);
    const offset = begin.reduce((acc, b, i) => acc + b * xs[i], 0);
    if (x.kind === "const") {
      const src = x.f ?? x.i!;
      const out = gatherStrided(src, dims, from, offset);
      return this.setOutput(x.f ? { kind: "const", dims, f: Float32Array.from(out) } : { kind: "const", dims, i: out });
    }
    if (r > 6) this.fail(`rank ${r} > 6`);
    const v = this.plain(x);
    const y = this.value(dims);
    this.emit({ op: "copy", x: v, y, copies: [copyPlan(dims, from, stridesOf(dims), offset, 0)] });
    this.setOutput({ kind: "value", v: y, layout: "plain", dims });
  }

  private pad(): void {
    const x = this.required(0);
    const mode = this.string("mode", "constant");
    if (mode !== "constant") this.fail(`mode '${mode}' is not supported (only 'constant')`);
    const r = x.dims.length;
    let pads: number[];
    let value = 0;
    if (this.opset < 11) {
      pads = this.ints(this.opset < 2 ? "paddings" : "pads") ?? this.bad("pads are required");
      value = this.float("value", 0);
    } else {
      pads = this.constInput(1, "pads")?.i ?? this.bad("pads are required");
      const cv = this.constInput(2, "constant_value");
      if (cv) value = (cv.f ?? cv.i!)[0];
      const axes = this.constInput(3, "axes")?.i;
      if (axes) {
        const full = new Array<number>(2 * r).fill(0);
        axes.forEach((a, i) => {
          const ax = normAxis(a, r, this);
          full[ax] = pads[i];
          full[ax + r] = pads[i + axes.length];
        });
        pads = full;
      }
    }
    if (pads.length !== 2 * r) this.bad(`pads has ${pads.length} values for rank ${r}`);
    if (pads.some((p) => p < 0)) this.fail("negative pads (cropping) are not supported");
    const dims = x.dims.map((d, i) => d + pads[i] + pads[i + r]);
    // Spatial padding of an NHWC activation runs the pad kernel; anything else is fill + copy.
    if (r === 4 && x.kind === "value" && x.layout === "nhwc" && pads[0] === 0 && pads[1] === 0 && pads[4] === 0 && pads[5] === 0) {
      const y = this.value(nhwcShape(dims));
      this.emit({ op: "pad", x: x.v, y, pads: [pads[2], pads[3], pads[6], pads[7]], value });
      return this.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
    }
    if (r > 6) this.fail(`rank ${r} > 6`);
    const v = this.plain(x);
    const y = this.value(dims);
    const offset = pads.slice(0, r).reduce((acc, p, i) => acc + p * stridesOf(dims)[i], 0);
    this.emit({ op: "copy", x: v, y, copies: [copyPlan(x.dims, stridesOf(x.dims), stridesOf(dims), 0, offset)], fill: value });
    this.setOutput({ kind: "value", v: y, layout: "plain", dims });
  }

  private window2d(dims: number[], kernel: number[], what: "conv" | "pool"): { window: Window; out: [number, number] } {
    const [, , h, w] = dims;
    const strides = this.ints("strides") ?? [1, 1];
    const dilations = this.ints("dilations") ?? [1, 1];
    if (strides.length !== 2 || dilations.length !== 2) this.fail("only 2-d windows are supported");
    if ([...kernel, ...strides, ...dilations].some((v) => !Number.isSafeInteger(v) || v <= 0 || v > 2 ** 24)) {
      this.bad(`kernel ${kernel}, strides ${strides} and dilations ${dilations} must be positive integers`);
    }
    const autoPad = this.string("auto_pad", "NOTSET");
    const ceil = what === "pool" && this.int("ceil_mode", 0) === 1;
    const span = (i: number) => (kernel[i] - 1) * dilations[i] + 1;
    let pads: [number, number, number, number];
    if (autoPad === "NOTSET") {
      const p = this.ints("pads") ?? [0, 0, 0, 0];
      if (p.length !== 4) this.fail("only 2-d pads are supported");
      if (p.some((v) => !Number.isSafeInteger(v) || v < 0 || v > 2 ** 24)) this.bad(`pads [${p.join(", ")}] must be non-negative integers`);
      pads = [p[0], p[1], p[2], p[3]];
    } else if (autoPad === "VALID") {
      pads = [0, 0, 0, 0];
    } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const total = (size: number, i: number) => Math.max((Math.ceil(size / strides[i]) - 1) * strides[i] + span(i) - size, 0);
      const th = total(h, 0);
      const tw = total(w, 1);
      const small = (t: number) => (autoPad === "SAME_UPPER" ? Math.floor(t / 2) : Math.ceil(t / 2));
      pads = [small(th), small(tw), th - small(th), tw - small(tw)];
    } else {
      this.bad(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    }
    const outSize = (size: number, i: number, padA: number, padB: number) => {
      const padded = size + padA + padB;
      if (span(i) > padded) this.bad(`the window (span ${span(i)}) is larger than the padded input (${padded})`);
      if (!ceil) return Math.floor((padded - span(i)) / strides[i]) + 1;
      let o = Math.ceil((padded - span(i)) / strides[i]) + 1;
      // The last window must start inside the input or its leading padding.
      if ((o - 1) * strides[i] >= size + padA) o--;
      return o;
    };
    const out: [number, number] = [outSize(h, 0, pads[0], pads[2]), outSize(w, 1, pads[1], pads[3])];
    return { window: { kernel: [kernel[0], kernel[1]], strides: [strides[0], strides[1]], dilations: [dilations[0], dilations[1]], pads }, out };
  }

  private conv(): void {
    const x = this.required(0);
    const w = this.asConst(this.required(1), 1, "the weights");
    if (!w.f) this.fail("weights must be float32");
    if (x.dims.length !== 4 || w.dims.length !== 4) this.fail(`only 2-d convolutions are supported (input [${x.dims.join(", ")}])`);
    const group = this.int("group", 1);
    const [cout, cinG, kh, kw] = w.dims;
    const kernel = this.ints("kernel_shape") ?? [kh, kw];
    if (kernel[0] !== kh || kernel[1] !== kw) this.bad(`kernel_shape [${kernel}] does not match the weights [${w.dims.join(", ")}]`);
    if (x.dims[1] !== cinG * group) this.bad(`input has ${x.dims[1]} channels; weights [${w.dims.join(", ")}] with group ${group} expect ${cinG * group}`);
    if (cout % group !== 0) this.bad(`${cout} output channels are not divisible by group ${group}`);
    const b = this.constInput(2, "bias");
    if (b && (!b.f || b.f.length !== cout)) this.bad(`bias must hold ${cout} floats`);
    const { window, out } = this.window2d(x.dims, kernel, "conv");
    const xv = this.nhwc(x);
    const dims = [x.dims[0], cout, out[0], out[1]];
    const y = this.value(nhwcShape(dims));
    this.emit({
      op: "conv", x: xv, y, w: transposeConst(w, [0, 2, 3, 1]) as Float32Array, wShape: [cout, kh, kw, cinG],
      bias: b?.f ? Float32Array.from(b.f) : undefined, window, groups: group, act: "none",
    });
    this.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
  }

  private pool(max: boolean): void {
    const x = this.required(0);
    if (this.node.outputs[1]) this.fail("the Indices output is not supported");
    if (x.dims.length !== 4) this.fail(`only 2-d pooling is supported (input [${x.dims.join(", ")}])`);
    const kernel = this.ints("kernel_shape");
    if (!kernel || kernel.length !== 2) this.fail("kernel_shape must give 2 sizes");
    if (!max && this.attr("dilations") && this.opset < 19) this.bad("dilations are an AveragePool attribute from opset 19");
    const { window, out } = this.window2d(x.dims, kernel, "pool");
    const dims = [x.dims[0], x.dims[1], out[0], out[1]];
    const y = this.value(nhwcShape(dims));
    this.emit({ op: "pool", max, x: this.nhwc(x), y, window, countIncludePad: this.int("count_include_pad", 0) === 1 });
    this.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
  }

  private globalPool(max: boolean): void {
    const x = this.required(0);
    if (x.dims.length !== 4) this.fail(`only 4-d inputs are supported (got [${x.dims.join(", ")}])`);
    const dims = [x.dims[0], x.dims[1], 1, 1];
    const y = this.value(nhwcShape(dims));
    this.emit({ op: "globalPool", max, x: this.nhwc(x), y });
    this.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
  }

  private batchNorm(): void {
    const x = this.required(0);
    if (this.int("training_mode", 0) !== 0 || this.node.outputs.slice(1).some((o) => o)) this.fail("training mode is not supported");
    if (this.int("spatial", 1) !== 1) this.fail("spatial = 0 (per-activation statistics) is not supported");
    if (this.opset < 7 && this.int("is_test", 0) !== 1) this.fail("is_test must be 1 (inference)");
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => this.constInput(i, ["", "scale", "B", "mean", "var"][i]));
    const c = x.dims[1];
    for (const t of [scale, bias, mean, variance]) if (!t?.f || t.f.length !== c) this.bad(`scale, B, mean and var must each hold ${c} floats`);
    const eps = this.float("epsilon", 1e-5);
    const s = new Float64Array(c);
    const t = new Float64Array(c);
    for (let i = 0; i < c; i++) {
      s[i] = scale!.f![i] / Math.sqrt(variance!.f![i] + eps);
      t[i] = bias!.f![i] - mean!.f![i] * s[i];
    }
    // Folded into the convolution that produced x: w' = w * s, b' = b * s + t.
    if (x.kind === "value") {
      const p = this.soleProducer(this.node.inputs[0], x.v);
      if (p?.op === "conv" && p.act === "none" && !p.residual) {
        const per = p.w.length / c;
        for (let o = 0; o < c; o++) for (let j = 0; j < per; j++) p.w[o * per + j] = p.w[o * per + j] * s[o];
        const b = p.bias ?? new Float32Array(c);
        for (let o = 0; o < c; o++) b[o] = b[o] * s[o] + t[o];
        p.bias = b;
        return this.setOutput(x);
      }
    }
    const sv = { kind: "const", dims: [c], f: Float32Array.from(s) } as ConstSym;
    const tv = { kind: "const", dims: [c], f: Float32Array.from(t) } as ConstSym;
    const scaled = this.channelOp(x, sv, BIN.mul);
    this.setOutput(this.channelOp(scaled, tv, BIN.add));
  }

  /** x op per-channel constant ([C]) for x of shape [N, C, ...]. */
  private channelOp(x: Sym, k: ConstSym, kind: number): Sym {
    const c = x.dims[1];
    if (x.dims.length === 4) {
      const xv = this.nhwc(x);
      const y = this.value([...xv.shape]);
      this.emit({ op: "binary", a: xv, b: this.constValue(k), y, kind, period: c });
      return { kind: "value", v: y, layout: "nhwc", dims: x.dims };
    }
    if (x.dims.length === 2) {
      const xv = this.plain(x);
      const y = this.value([...xv.shape]);
      this.emit({ op: "binary", a: xv, b: this.constValue(k), y, kind, period: c });
      return { kind: "value", v: y, layout: "plain", dims: x.dims };
    }
    this.fail(`per-channel ops on rank ${x.dims.length} are not supported`);
  }

  private activation(act: Activation): void {
    const x = this.required(0);
    if (x.kind === "value") {
      const p = this.soleProducer(this.node.inputs[0], x.v);
      if ((p?.op === "conv" || p?.op === "gemm") && p.act === "none") {
        p.act = act;
        return this.setOutput(x);
      }
    }
    const v = x.kind === "value" ? x.v : this.constValue(x);
    const y = this.value([...v.shape]);
    this.emit({ op: "unary", x: v, y, act: activationCode(act, this.node.opType) });
    this.setOutput({ kind: "value", v: y, layout: x.kind === "value" ? x.layout : "plain", dims: x.dims });
  }

  private clip(): void {
    let lo = -Infinity;
    let hi = Infinity;
    if (this.opset < 11) {
      lo = this.float("min", -Infinity);
      hi = this.float("max", Infinity);
    } else {
      const a = this.constInput(1, "min");
      const b = this.constInput(2, "max");
      if (a) lo = (a.f ?? a.i!)[0];
      if (b) hi = (b.f ?? b.i!)[0];
    }
    if (Number.isNaN(lo) || Number.isNaN(hi)) this.bad("min and max must not be NaN");
    this.activation(lo === 0 && hi === 6 ? "relu6" : lo === 0 && hi === Infinity ? "relu" : { clip: [lo, hi] });
  }

  private exp(): void {
    const x = this.required(0);
    const v = x.kind === "value" ? x.v : this.constValue(x);
    const y = this.value([...v.shape]);
    this.emit({ op: "unary", x: v, y, act: { kind: ACT.exp, p0: 0, p1: 0 } });
    this.setOutput({ kind: "value", v: y, layout: x.kind === "value" ? x.layout : "plain", dims: x.dims });
  }

  private binary(op: "Add" | "Sub" | "Mul" | "Div"): void {
    const a = this.required(0);
    const b = this.required(1);
    const dims = broadcastDims(a.dims, b.dims, this);
    const kind = { Add: BIN.add, Sub: BIN.sub, Mul: BIN.mul, Div: BIN.div }[op];
    if (a.kind === "const" && b.kind === "const") return this.setOutput(foldBinary(a, b, dims, op));
    if (op === "Add" && this.fuseResidual(a, b, dims)) return;
    this.elementwise(a, b, dims, kind);
  }

  /** Add(conv(x), r) becomes conv(x) with r added in its store, when nothing else reads conv(x). */
  private fuseResidual(a: Sym, b: Sym, dims: number[]): boolean {
    for (const [mine, other, name] of [[a, b, this.node.inputs[0]], [b, a, this.node.inputs[1]]] as const) {
      if (mine.kind !== "value" || other.kind !== "value") continue;
      if (mine.dims.join() !== dims.join() || other.dims.join() !== dims.join() || mine.layout !== other.layout) continue;
      const at = this.producer.get(mine.v);
      const p = this.soleProducer(name, mine.v);
      if (!p || at === undefined || (p.op !== "conv" && p.op !== "gemm") || p.act !== "none" || p.residual) continue;
      if (p.op === "conv" && !(p.groups === 1 && p.wShape[3] > 1)) continue;
      const otherAt = this.producer.get(other.v);
      if (otherAt !== undefined && otherAt > at) continue;
      p.residual = other.v;
      this.setOutput(mine);
      return true;
    }
    return false;
  }

  /** a op b with numpy broadcasting, in the layouts the kernels take. */
  private elementwise(a: Sym, b: Sym, dims: number[], kind: number): void {
    // Keep NHWC activations NHWC: the other operand is brought to the same layout.
    const nhwc = dims.length === 4 && [a, b].some((s) => s.kind === "value" && s.layout === "nhwc" && s.dims.join() === dims.join());
    const storedShape = nhwc ? nhwcShape(dims) : dims;
    const bring = (s: Sym): Value => {
      if (s.dims.join() === dims.join()) return nhwc ? this.nhwc(s) : this.plain(s);
      return this.broadcast(s, dims, nhwc);
    };
    const full = (s: Sym) => s.dims.join() === dims.join();
    let av: Value;
    let bv: Value;
    let period: number;
    if (!full(a) && !full(b)) {
      av = bring(a);
      bv = bring(b);
      period = sizeOfShape(storedShape);
    } else {
      if (!full(a)) {
        // Only b may repeat; a non-commutative op with a broadcast first operand is materialised.
        av = bring(a);
      } else {
        av = nhwc ? this.nhwc(a) : this.plain(a);
      }
      const last = storedShape[storedShape.length - 1];
      if (full(b)) {
        bv = nhwc ? this.nhwc(b) : this.plain(b);
        period = sizeOfShape(storedShape);
      } else if (sizeOfShape(b.dims) === 1) {
        bv = this.plain(b);
        period = 1;
      } else if (repeatsOverLast(b.dims, dims, nhwc)) {
        bv = this.alias1d(b, last);
        period = last;
      } else {
        bv = bring(b);
        period = sizeOfShape(storedShape);
      }
    }
    const y = this.value([...storedShape]);
    this.emit({ op: "binary", a: av, b: bv, y, kind, period });
    this.setOutput({ kind: "value", v: y, layout: nhwc ? "nhwc" : "plain", dims });
  }

  private alias1d(s: Sym, n: number): Value {
    if (s.kind === "const") return this.value([n], "const", undefined, floatsOf(s, this));
    return this.alias(this.plain(s), [n]);
  }

  /** s broadcast to dims (stored NHWC when nhwc), materialised by a copy with zero strides. */
  private broadcast(s: Sym, dims: number[], nhwc: boolean): Value {
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

  private prelu(): void {
    const x = this.required(0);
    const slope = this.required(1);
    const dims = broadcastDims(x.dims, slope.dims, this);
    if (dims.join() !== x.dims.join()) this.bad(`slope [${slope.dims.join(", ")}] must broadcast to the input [${x.dims.join(", ")}]`);
    this.elementwise(x, slope, dims, BIN.prelu);
  }

  private softmax(): void {
    const x = this.required(0);
    const r = x.dims.length;
    const axis = normAxis(this.int("axis", this.opset < 13 ? 1 : -1), r, this);
    if (this.opset < 13) {
      // Before opset 13 Softmax works on the input flattened to 2-d at `axis`.
      const v = this.plain(x);
      const cols = sizeOfShape(x.dims.slice(axis));
      const y = this.value([...v.shape]);
      this.emit({ op: "softmax", x: v, y, rows: sizeOfShape(x.dims) / cols, cols });
      return this.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
    }
    if (r === 4 && axis === 1 && x.kind === "value" && x.layout === "nhwc") {
      const y = this.value([...x.v.shape]);
      this.emit({ op: "softmax", x: x.v, y, rows: sizeOfShape(x.dims) / x.dims[1], cols: x.dims[1] });
      return this.setOutput({ kind: "value", v: y, layout: "nhwc", dims: x.dims });
    }
    const v = this.plain(x);
    if (axis === r - 1) {
      const y = this.value([...v.shape]);
      this.emit({ op: "softmax", x: v, y, rows: sizeOfShape(x.dims) / x.dims[axis], cols: x.dims[axis] });
      return this.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
    }
    if (r > 6) this.fail(`rank ${r} > 6`);
    // Move the axis last, softmax, move it back.
    const perm = [...[...Array(r).keys()].filter((i) => i !== axis), axis];
    const inv = perm.map((_, i) => perm.indexOf(i));
    const moved = perm.map((p) => x.dims[p]);
    const t = this.value(moved);
    this.emit({ op: "copy", x: v, y: t, copies: [permutePlan(x.dims, perm)] });
    const s = this.value(moved);
    this.emit({ op: "softmax", x: t, y: s, rows: sizeOfShape(moved) / x.dims[axis], cols: x.dims[axis] });
    const y = this.value([...x.dims]);
    this.emit({ op: "copy", x: s, y, copies: [permutePlan(moved, inv)] });
    this.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
  }

  private gemm(): void {
    const a = this.required(0);
    const b = this.required(1);
    const transA = this.int("transA", 0) === 1;
    const transB = this.int("transB", 0) === 1;
    const alpha = this.float("alpha", 1);
    const beta = this.float("beta", 1);
    if (a.dims.length !== 2 || b.dims.length !== 2) this.bad(`A [${a.dims.join(", ")}] and B [${b.dims.join(", ")}] must be 2-d`);
    const [m, k] = transA ? [a.dims[1], a.dims[0]] : a.dims;
    const [kb, n] = transB ? [b.dims[1], b.dims[0]] : b.dims;
    if (k !== kb) this.bad(`A gives K = ${k}, B gives K = ${kb}`);
    let av = this.plain(a);
    if (transA) {
      const t = this.value([m, k]);
      this.emit({ op: "copy", x: av, y: t, copies: [permutePlan(a.dims, [1, 0])] });
      av = t;
    }
    const c = this.input(2);
    let bias: Float32Array | undefined;
    let residual: Value | undefined;
    if (c) {
      const cd = [...new Array<number>(2 - c.dims.length).fill(1), ...c.dims];
      if (c.kind === "const" && cd[0] === 1) {
        const cv = floatsOf(c, this);
        bias = Float32Array.from({ length: n }, (_, j) => beta * cv[cd[1] === 1 ? 0 : j]);
      } else {
        broadcastDims([m, n], c.dims, this);
        const full = c.dims.join() === [m, n].join() ? this.plain(c) : this.broadcast(c, [m, n], false);
        residual = beta === 1 ? full : this.scaled(full, beta);
      }
    }
    const bc = this.asConst(b, 1, "B");
    const bf = floatsOf(bc, this);
    const packed = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) packed[i * n + j] = alpha * (transB ? bf[j * k + i] : bf[i * n + j]);
    const y = this.value([m, n]);
    this.emit({ op: "gemm", a: av, y, b: packed, k, n, bias, act: "none", residual });
    this.setOutput({ kind: "value", v: y, layout: "plain", dims: [m, n] });
  }

  private scaled(v: Value, s: number): Value {
    const y = this.value([...v.shape]);
    this.emit({ op: "binary", a: v, b: this.value([1], "const", undefined, Float32Array.of(s)), y, kind: BIN.mul, period: 1 });
    return y;
  }

  private matmul(): void {
    const a = this.required(0);
    const b = this.required(1);
    if (a.dims.length < 1 || b.dims.length < 1) this.bad("inputs must have rank >= 1");
    const ad = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
    const bd = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
    const [m, k] = ad.slice(-2);
    const [kb, n] = bd.slice(-2);
    if (k !== kb) this.bad(`A [${a.dims.join(", ")}] and B [${b.dims.join(", ")}] do not agree on K`);
    const batchA = ad.slice(0, -2);
    const batchB = bd.slice(0, -2);
    const batch = broadcastDims(batchA, batchB, this);
    let outDims = [...batch, m, n];
    if (a.dims.length === 1) outDims = [...batch, n];
    if (b.dims.length === 1) outDims = a.dims.length === 1 ? batch : [...batch, m];
    const av = this.plain(a);
    if (b.kind === "const" && bd.length === 2) {
      // A's leading dimensions fold into M: one GEMM with the weights packed once.
      const y = this.value(outDims.length ? outDims : [1]);
      this.emit({ op: "gemm", a: av, y, b: floatsOf(b, this), k, n, act: "none" });
      return this.setOutput({ kind: "value", v: y, layout: "plain", dims: outDims });
    }
    const nb = sizeOfShape(batch);
    // Batch dimensions that broadcast are materialised; one that is shared (size 1) is read with stride 0.
    const side = (v: Value, own: number[], rows: number, cols: number) => {
      if (sizeOfShape(own) === 1) return { v, stride: 0 };
      if (own.length === batch.length && own.every((d, i) => d === batch[i])) return { v, stride: rows * cols };
      const src: Sym = { kind: "value", v, layout: "plain", dims: [...own, rows, cols] };
      return { v: this.broadcast(src, [...batch, rows, cols], false), stride: rows * cols };
    };
    const A = side(av, batchA, m, k);
    const B = side(this.plain(b), batchB, k, n);
    this.dynamicMatmul(A.v, B.v, nb, m, k, n, A.stride, B.stride, outDims);
  }

  private dynamicMatmul(a: Value, b: Value, batch: number, m: number, k: number, n: number, aStride: number, bStride: number, outDims: number[]): void {
    const y = this.value(outDims.length ? outDims : [1]);
    this.emit({ op: "matmul", a, b, y, batch, m, k, n, aBatchStride: aStride, bBatchStride: bStride });
    this.setOutput({ kind: "value", v: y, layout: "plain", dims: outDims });
  }
}

function constOf(t: OnnxTensor): ConstSym {
  if (t.floats) return { kind: "const", dims: [...t.dims], f: t.floats };
  if (t.ints) return { kind: "const", dims: [...t.dims], i: t.ints };
  throw new UnsupportedError(`tensor '${t.name}' has data type ${t.dataType}; simdcnn reads float, double and integer tensors`);
}

function floatsOf(s: ConstSym, at: { bad(m: string): never }): Float32Array {
  if (s.f) return s.f;
  if (s.i) return Float32Array.from(s.i);
  return at.bad("a constant without data");
}

function transposeConst(s: ConstSym, perm: number[]): Float32Array | number[] {
  const dims = perm.map((p) => s.dims[p]);
  const xs = stridesOf(s.dims);
  const out = gatherStrided(s.f ?? s.i!, dims, perm.map((p) => xs[p]), 0);
  return s.f ? Float32Array.from(out) : out;
}

/** out[i] = src[offset + sum(index_k * strides_k)] over dims, in row-major order. */
function gatherStrided(src: ArrayLike<number>, dims: number[], strides: number[], offset: number): number[] {
  const out: number[] = [];
  const r = dims.length;
  if (r === 0) return [src[offset]];
  const idx = new Array<number>(r).fill(0);
  const total = sizeOfShape(dims);
  for (let n = 0; n < total; n++) {
    let o = offset;
    for (let i = 0; i < r; i++) o += idx[i] * strides[i];
    out.push(src[o]);
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

function normAxis(a: number, r: number, at: { bad(m: string): never }): number {
  const x = a < 0 ? a + r : a;
  if (!Number.isInteger(x) || x < 0 || x >= Math.max(r, 1)) at.bad(`axis ${a} is out of range for rank ${r}`);
  return x;
}

function broadcastDims(a: number[], b: number[], at: { bad(m: string): never }): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) at.bad(`shapes [${a.join(", ")}] and [${b.join(", ")}] do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** Whether b, broadcast to dims, varies only along the stored last axis (channels for NHWC). */
function repeatsOverLast(b: number[], dims: number[], nhwc: boolean): boolean {
  const r = dims.length;
  const bd = [...new Array<number>(r - b.length).fill(1), ...b];
  const axis = nhwc ? 1 : r - 1;
  return bd.every((d, i) => (i === axis ? d === dims[i] : d === 1));
}

function foldBinary(a: ConstSym, b: ConstSym, dims: number[], op: "Add" | "Sub" | "Mul" | "Div"): ConstSym {
  const r = dims.length;
  const av = a.f ?? a.i!;
  const bv = b.f ?? b.i!;
  const index = (s: ConstSym) => {
    const sd = [...new Array<number>(r - s.dims.length).fill(1), ...s.dims];
    return stridesOf(sd).map((st, i) => (sd[i] === 1 ? 0 : st));
  };
  const x = gatherStrided(av, dims, index(a), 0);
  const y = gatherStrided(bv, dims, index(b), 0);
  const isInt = !a.f && !b.f;
  const f = (p: number, q: number) => (op === "Add" ? p + q : op === "Sub" ? p - q : op === "Mul" ? p * q : isInt ? Math.trunc(p / q) : p / q);
  const out = x.map((p, i) => f(p, y[i]));
  // Float folds round each result to float32, as the kernels would.
  return isInt ? { kind: "const", dims, i: out } : { kind: "const", dims, f: Float32Array.from(out, (v) => Math.fround(v)) };
}
