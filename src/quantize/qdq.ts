// A float ONNX graph -> the same graph in the standard QDQ format, as onnxruntime's static
// quantizer writes it and any QDQ-aware runtime fuses into integer kernels:
// - Conv, MatMul and Gemm with constant weights read int8 weights (per output channel, symmetric)
//   through a DequantizeLinear, and their bias as int32 at the accumulator's scale;
// - their float inputs and outputs pass through QuantizeLinear -> DequantizeLinear pairs whose
//   scale and zero point come from the calibrated range of the tensor;
// - a ReLU (or a Clip from 0, ReLU6) that is its producer's only reader is folded into that
//   producer's output quantization (the range starts at 0 and saturation at the zero point is the
//   ReLU; the calibrated maximum lies inside the clip's), as onnxruntime does;
// - Add and average pools get pairs on their inputs and output too;
// - ops that only move values (max pools, reshapes) keep their input's parameters, so that their
//   quantized output equals their input's exactly and no rounding is added.
// BatchNormalization after a convolution is folded into it first (fold.ts). Graph outputs keep
// their float values.
import { ArgumentError, UnsupportedError } from "../errors.js";
import { checkGraph, defaultOpset } from "../onnx/check.js";
import { DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/model.js";
import { foldBatchNorms } from "./fold.js";
import { type ActivationParams, type ActivationType, activationParams, quantizeBias, quantizeWeights } from "./params.js";

/** Ops whose output holds exactly values of their input, in another place or shape. */
const PASS_THROUGH = new Set(["MaxPool", "GlobalMaxPool", "Flatten", "Reshape"]);

/** Ops without weights whose activations are quantized, the output with its own range, as onnxruntime's quantizer does. */
const ACTIVATION_OPS = new Set(["Add", "AveragePool", "GlobalAveragePool"]);

/** The first opset whose DequantizeLinear takes per-axis scales. */
const MIN_QDQ_OPSET = 13;

/** A node whose constant float weights are quantized: where they are, and the channel axis. */
interface Weighted {
  weight: string;
  axis: number;
  bias?: string;
}

/** What quantizing a model involves, found before any calibration runs. */
export interface QuantizationPlan {
  /** The float model quantized: the given one with BatchNormalization folded into convolutions. */
  model: OnnxModel;
  /** Tensors whose range must be calibrated, in graph order; each is also a tensor of the given model, with the same values. */
  ranges: string[];
  /** Each quantized activation -> the tensor whose range gives its parameters. */
  sources: Map<string, string>;
  weighted: Map<OnnxNode, Weighted>;
  /** ReLU (and Clip from 0) nodes folded away -> the output their producer writes instead of its own. */
  folded: Map<OnnxNode, string>;
  order: OnnxNode[];
}

function floatInit(model: OnnxModel, name: string | undefined): OnnxTensor | undefined {
  const t = name ? model.graph.initializers.get(name) : undefined;
  return t?.dataType === DataType.FLOAT && t.floats ? t : undefined;
}

function attr(n: OnnxNode, name: string, dflt: number): number {
  const a = n.attributes.get(name);
  return a?.type === "int" || a?.type === "float" ? a.value : dflt;
}

function weightedOf(model: OnnxModel, n: OnnxNode): Weighted | undefined {
  const w = floatInit(model, n.inputs[1]);
  if (!w || n.domain !== "" || model.graph.initializers.has(n.inputs[0])) return undefined;
  const cout = (axis: number) => w.dims[axis];
  const bias = (i: number, axis: number) => {
    const b = floatInit(model, n.inputs[i]);
    return b && b.dims.length === 1 && b.dims[0] === cout(axis) ? { bias: b.name } : {};
  };
  if (n.opType === "Conv" && w.dims.length >= 3) return { weight: w.name, axis: 0, ...bias(2, 0) };
  if (n.opType === "MatMul" && w.dims.length === 2) return { weight: w.name, axis: 1 };
  if (n.opType === "Gemm" && w.dims.length === 2 && attr(n, "alpha", 1) === 1 && attr(n, "beta", 1) === 1 && attr(n, "transA", 0) === 0) {
    const axis = attr(n, "transB", 0) === 1 ? 0 : 1;
    return { weight: w.name, axis, ...bias(2, axis) };
  }
  return undefined;
}

/**
 * A ReLU, or a Clip from 0 (ReLU6 and the like) with a constant bound: calibrated on the clip's
 * output, the quantization saturates at 0 and at a maximum inside the clip's, so dropping the
 * clip changes no quantized value, as for the ReLU.
 */
function foldable(model: OnnxModel, n: OnnxNode): boolean {
  if (n.domain !== "" || (n.opType !== "Relu" && n.opType !== "Clip")) return false;
  if (n.opType === "Relu") return true;
  const bound = (i: number, name: string): number | null | undefined => {
    if (n.inputs[i]) {
      const t = floatInit(model, n.inputs[i]);
      return t && t.floats!.length === 1 ? t.floats![0] : null;
    }
    const a = n.attributes.get(name);
    return a?.type === "float" ? a.value : undefined;
  };
  const lo = bound(1, "min");
  const hi = bound(2, "max");
  return lo === 0 && hi !== null && (hi === undefined || hi > 0);
}

/** Which nodes are quantized and which tensors need a calibrated range. */
export function planQuantization(given: OnnxModel): QuantizationPlan {
  const opset = defaultOpset(given);
  if (opset < MIN_QDQ_OPSET) {
    throw new UnsupportedError(`quantization writes per-channel DequantizeLinear, which needs opset ${MIN_QDQ_OPSET} or later; the model has opset ${opset}: export it again with opset ${MIN_QDQ_OPSET} or later`);
  }
  const model = foldBatchNorms(given);
  const order = checkGraph(model);
  const outputs = new Set(model.graph.outputs.map((o) => o.name));
  const readers = new Map<string, OnnxNode[]>();
  for (const n of order) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const weighted = new Map<OnnxNode, Weighted>();
  const folded = new Map<OnnxNode, string>();
  const sources = new Map<string, string>();
  // A pair goes only where a node reads the tensor: a graph output keeps its float value (its
  // readers, if any, read the pair), and a pair nothing reads would be dead.
  const add = (t: string, source = t) => {
    if (!sources.has(t) && readers.has(t)) sources.set(t, source);
  };
  const output = (n: OnnxNode) => {
    const y = n.outputs[0];
    const only = readers.get(y) ?? [];
    const relu = only[0];
    if (only.length === 1 && foldable(model, relu) && !outputs.has(y) && !outputs.has(relu.outputs[0]) && readers.has(relu.outputs[0])) {
      folded.set(relu, relu.outputs[0]);
      add(relu.outputs[0]);
    } else {
      add(y);
    }
  };
  for (const n of order) {
    const w = weightedOf(model, n);
    const inits = n.inputs.filter((i) => model.graph.initializers.has(i));
    if (w) {
      weighted.set(n, w);
      add(n.inputs[0]);
      output(n);
    } else if (ACTIVATION_OPS.has(n.opType) && n.domain === "" && inits.length === 0) {
      n.inputs.forEach((i) => add(i));
      output(n);
    } else if (PASS_THROUGH.has(n.opType) && n.domain === "" && sources.has(n.inputs[0])) {
      add(n.outputs[0], sources.get(n.inputs[0]));
    }
  }
  if (weighted.size === 0) throw new UnsupportedError("the model has no Conv, MatMul or Gemm with constant float weights, so there is nothing to quantize");
  return { model, ranges: [...new Set(sources.values())], sources, weighted, folded, order };
}

/** A calibrated range. */
export interface Range {
  min: number;
  max: number;
}

/**
 * The QDQ model of `plan`, with each activation's parameters from `ranges` (one for every name
 * in plan.ranges).
 */
export function writeQdq(plan: QuantizationPlan, ranges: ReadonlyMap<string, Range>, type: ActivationType): OnnxModel {
  const model = plan.model;
  const params = new Map<string, ActivationParams>();
  for (const [t, source] of plan.sources) {
    const r = ranges.get(source);
    if (!r || !Number.isFinite(r.min) || !Number.isFinite(r.max)) throw new ArgumentError(`no finite calibrated range for tensor '${source}'; every tensor of the plan needs one`);
    params.set(t, activationParams(r.min, r.max, type));
  }
  const g = model.graph;
  const taken = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name), ...g.nodes.flatMap((n) => [...n.inputs, ...n.outputs, n.name])]);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const inits = new Map<string, OnnxTensor>();
  const nodes: OnnxNode[] = [];
  const constant = (name: string, dataType: number, dims: number[], values: number[] | Float32Array): string => {
    const n = fresh(name);
    inits.set(n, values instanceof Float32Array ? { name: n, dims, dataType, floats: values } : { name: n, dims, dataType, ints: values });
    return n;
  };
  const node = (opType: string, inputs: string[], output: string, attributes: [string, OnnxAttribute][] = []): string => {
    const out = fresh(output);
    nodes.push({ name: fresh(`${output}_node`), opType, domain: "", inputs, outputs: [out], attributes: new Map(attributes) });
    return out;
  };
  const zeroType = type === "uint8" ? DataType.UINT8 : DataType.INT8;
  const dequantized = new Map<string, string>();
  const qdq = (t: string) => {
    const p = params.get(t);
    if (!p) return;
    const scale = constant(`${t}_scale`, DataType.FLOAT, [], Float32Array.of(p.scale));
    const zero = constant(`${t}_zero_point`, zeroType, [], [p.zeroPoint]);
    const q = node("QuantizeLinear", [t, scale, zero], `${t}_quantized`);
    dequantized.set(t, node("DequantizeLinear", [q, scale, zero], `${t}_dequantized`));
  };
  const weights = new Map<string, { name: string; scales: number[] }>();
  const intWeights = (w: string, axis: number) => {
    const done = weights.get(w);
    if (done) return done;
    const t = g.initializers.get(w)!;
    const q = quantizeWeights(t.floats!, t.dims, axis);
    const values = constant(`${w}_int8`, DataType.INT8, t.dims, q.values);
    const scale = constant(`${w}_scale`, DataType.FLOAT, [q.scales.length], Float32Array.from(q.scales));
    const zero = constant(`${w}_zero_point`, DataType.INT8, [q.scales.length], new Array<number>(q.scales.length).fill(0));
    const made = { name: node("DequantizeLinear", [values, scale, zero], `${w}_dequantized`, [["axis", { type: "int", value: axis }]]), scales: q.scales };
    weights.set(w, made);
    return made;
  };
  const intBias = (b: string, inputScale: number, weightScales: number[]): string => {
    const q = quantizeBias(g.initializers.get(b)!.floats!, inputScale, weightScales);
    if (!q) return b;
    const values = constant(`${b}_int32`, DataType.INT32, [q.values.length], q.values);
    const scale = constant(`${b}_scale`, DataType.FLOAT, [q.scales.length], Float32Array.from(q.scales));
    return node("DequantizeLinear", [values, scale], `${b}_dequantized`, [["axis", { type: "int", value: 0 }]]);
  };

  const renamed = new Map([...plan.folded].map(([relu, out]) => [relu.inputs[0], out]));
  for (const i of g.inputs) qdq(i.name);
  for (const n of plan.order) {
    if (plan.folded.has(n)) continue;
    const inputs = n.inputs.map((i) => dequantized.get(i) ?? i);
    let outputs = n.outputs;
    const w = plan.weighted.get(n);
    if (w) {
      const iw = intWeights(w.weight, w.axis);
      inputs[1] = iw.name;
      const xp = params.get(n.inputs[0])!;
      if (w.bias) inputs[2] = intBias(w.bias, xp.scale, iw.scales);
    }
    const relu = renamed.get(n.outputs[0]);
    if (relu) outputs = [relu, ...n.outputs.slice(1)];
    nodes.push({ ...n, inputs, outputs });
    for (const o of outputs) qdq(o);
  }
  const used = new Set(nodes.flatMap((n) => n.inputs));
  for (const [name, t] of g.initializers) if (used.has(name)) inits.set(name, t);
  return { ...model, graph: { ...g, nodes, initializers: inits, inputs: g.inputs.filter((i) => !g.initializers.has(i.name) || used.has(i.name)) } };
}
