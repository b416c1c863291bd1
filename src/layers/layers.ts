import { ArgumentError, ShapeError } from "../errors.js";
import { type Activation, activationCode } from "../ops/activation.js";
import { type Padding, pair, resolvePadding, windowOut } from "../ops/options.js";
import { type ResizeOptions, axisSize, resizeSpec } from "../ops/resize.js";
import { DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/model.js";

/**
 * The layers API builds an in-memory ONNX graph (NCHW inside ONNX's semantics, with the
 * transposes at the edges that the importer turns into no-copy aliases) and hands it to the same
 * importer as a loaded model: one set of passes, fusions and kernels for both ways in.
 * Activations are NHWC at the model's edges; convolution weights OHWI, dense weights [in, out].
 */

interface Source {
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: SymbolicTensor[];
}

/** A tensor of a network being built: its NHWC shape without the batch dimension. */
export class SymbolicTensor {
  /** @internal */
  constructor(
    readonly shape: readonly number[],
    /** @internal */ readonly id: string,
    /** @internal The layer application that produced it; none for an input. */ readonly source?: Source,
  ) {}
}

export interface Layer {
  /** @internal */
  readonly kind: string;
  /** Connects the layer to one input (or two or more, for add and concat). */
  apply(input: SymbolicTensor | SymbolicTensor[]): SymbolicTensor;
}

// Unique across every network built in this process, so that networks can be combined.
let serial = 0;

/** @internal The nodes and initializers of one layer application. */
export class NetBuilder {
  nodes: OnnxNode[] = [];
  initializers = new Map<string, OnnxTensor>();

  tensorId(): string {
    return `t${serial++}`;
  }

  constant(name: string, dims: number[], data: Float32Array | number[]): string {
    const t: OnnxTensor =
      data instanceof Float32Array ? { name, dims, dataType: DataType.FLOAT, floats: data } : { name, dims, dataType: DataType.INT64, ints: data };
    this.initializers.set(name, t);
    return name;
  }

  node(opType: string, inputs: string[], attrs: Record<string, OnnxAttribute> = {}, name = opType): string {
    const out = this.tensorId();
    // Node names must be unique in an ONNX graph (onnxruntime refuses duplicates); the output id is.
    this.nodes.push({ name: `${name}/${opType}/${out}`, opType, domain: "", inputs, outputs: [out], attributes: new Map(Object.entries(attrs)) });
    return out;
  }
}

/** What a layer's build returns: the output's shape and the ONNX tensor holding it. */
interface Built {
  shape: number[];
  id: string;
}

const ints = (value: number[]): OnnxAttribute => ({ type: "ints", value });
const int = (value: number): OnnxAttribute => ({ type: "int", value });
const float = (value: number): OnnxAttribute => ({ type: "float", value });

// Inside the ONNX graph 4-d tensors are NCHW: ids of those tensors carry this marker so that
// layers know which order they hold.
function toNchw(net: NetBuilder, t: SymbolicTensor): string {
  return t.shape.length === 3 ? net.node("Transpose", [t.id], { perm: ints([0, 3, 1, 2]) }, "to_nchw") : t.id;
}

function fromNchw(net: NetBuilder, id: string, shape: number[]): Built {
  return { shape, id: net.node("Transpose", [id], { perm: ints([0, 2, 3, 1]) }, "to_nhwc") };
}

function weights(data: Float32Array | undefined, dims: number[], what: string): Float32Array {
  if (!(data instanceof Float32Array)) throw new ArgumentError(`${what}: weights must be a Float32Array`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new ShapeError(`${what}: expected ${n} weights for [${dims.join(", ")}], got ${data.length}`);
  return data;
}

// Activations the graph's opset 13 lacks are written as the patterns the importer fuses back into
// one (src/onnx/import/activation.ts: fuseGated, fuseGelu).
function applyActivation(net: NetBuilder, id: string, act: Activation | undefined, name: string): string {
  if (act === undefined || act === "none") return id;
  activationCode(act, name);
  const scalar = (what: string, v: number) => net.constant(`${name}/${what}`, [], Float32Array.of(v));
  if (act === "relu") return net.node("Relu", [id], {}, name);
  if (act === "sigmoid") return net.node("Sigmoid", [id], {}, name);
  if (act === "tanh") return net.node("Tanh", [id], {}, name);
  if (act === "relu6" || (typeof act === "object" && "clip" in act)) {
    const [lo, hi] = act === "relu6" ? [0, 6] : act.clip;
    return net.node("Clip", [id, net.constant(`${name}/min`, [], Float32Array.of(lo)), net.constant(`${name}/max`, [], Float32Array.of(hi))], {}, name);
  }
  if (typeof act === "object" && "leakyRelu" in act) return net.node("LeakyRelu", [id], { alpha: float(act.leakyRelu) }, name);
  if (typeof act === "object" && "elu" in act) return net.node("Elu", [id], { alpha: float(act.elu) }, name);
  if (typeof act === "object" && "celu" in act) return net.node("Celu", [id], { alpha: float(act.celu) }, name);
  if (typeof act === "object" && "selu" in act) return net.node("Selu", [id], { alpha: float(act.selu[0]), gamma: float(act.selu[1]) }, name);
  if (typeof act === "object" && "hardSigmoid" in act) {
    return net.node("HardSigmoid", [id], { alpha: float(act.hardSigmoid[0]), beta: float(act.hardSigmoid[1]) }, name);
  }
  if (act === "softplus") return net.node("Softplus", [id], {}, name);
  if (act === "softsign") return net.node("Softsign", [id], {}, name);
  if (act === "silu") return net.node("Mul", [id, net.node("Sigmoid", [id], {}, name)], {}, name);
  if (act === "hardSwish") return net.node("Mul", [id, net.node("HardSigmoid", [id], { alpha: float(1 / 6), beta: float(0.5) }, name)], {}, name);
  if (act === "mish") return net.node("Mul", [id, net.node("Tanh", [net.node("Softplus", [id], {}, name)], {}, name)], {}, name);
  if (act === "gelu") {
    const erf = net.node("Erf", [net.node("Div", [id, scalar("sqrt2", Math.SQRT2)], {}, name)], {}, name);
    const xp = net.node("Mul", [id, net.node("Add", [erf, scalar("one", 1)], {}, name)], {}, name);
    return net.node("Mul", [xp, scalar("half", 0.5)], {}, name);
  }
  throw new ArgumentError(`${name}: activation ${JSON.stringify(act)} has no form in the layers' ONNX graph (opset 13); 'gelu' is the erf form`);
}

abstract class BaseLayer implements Layer {
  abstract readonly kind: string;
  protected abstract build(net: NetBuilder, inputs: SymbolicTensor[], name: string): Built;
  protected arity = 1;

  apply(input: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    const inputs = Array.isArray(input) ? input : [input];
    if (inputs.length === 0 || !inputs.every((t) => t instanceof SymbolicTensor)) {
      throw new ArgumentError(`${this.kind}: apply expects the output of layers.input() or of another layer`);
    }
    if (this.arity === 1 && inputs.length !== 1) throw new ArgumentError(`${this.kind}: takes one input, got ${inputs.length}`);
    if (this.arity === 2 && inputs.length < 2) throw new ArgumentError(`${this.kind}: takes two or more inputs`);
    const net = new NetBuilder();
    const { shape, id } = this.build(net, inputs, `${this.kind}_${serial++}`);
    return new SymbolicTensor(shape, id, { nodes: net.nodes, initializers: net.initializers, inputs });
  }
}

function spatial(t: SymbolicTensor, what: string): [number, number, number] {
  if (t.shape.length !== 3) throw new ShapeError(`${what}: expects an [H, W, C] input, got [${t.shape.join(", ")}]`);
  return [t.shape[0], t.shape[1], t.shape[2]];
}

export interface Conv2dLayerOptions {
  filters: number;
  kernel: number | [number, number];
  /** OHWI: [filters, kH, kW, C / groups] */
  weights: Float32Array;
  bias?: Float32Array;
  strides?: number | [number, number];
  dilations?: number | [number, number];
  padding?: Padding;
  groups?: number;
  activation?: Activation;
}

class Conv2dLayer extends BaseLayer {
  readonly kind = "conv2d";
  constructor(private readonly o: Conv2dLayerOptions) {
    super();
  }

  protected build(net: NetBuilder, inputs: SymbolicTensor[], name: string): Built {
    return this.buildWith(net, inputs, name);
  }

  buildWith(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    const [h, w, c] = spatial(x, name);
    const o = this.o;
    const k = pair(o.kernel, 1, `${name} kernel`);
    const s = pair(o.strides, 1, `${name} strides`);
    const d = pair(o.dilations, 1, `${name} dilations`);
    const groups = o.groups ?? 1;
    if (!Number.isSafeInteger(o.filters) || o.filters <= 0) throw new ArgumentError(`${name}: filters must be a positive integer`);
    if (!Number.isSafeInteger(groups) || groups <= 0 || c % groups !== 0 || o.filters % groups !== 0) {
      throw new ShapeError(`${name}: groups ${groups} must divide the ${c} input channels and the ${o.filters} filters`);
    }
    const cin = c / groups;
    const wts = weights(o.weights, [o.filters, k[0], k[1], cin], name);
    const pads = resolvePadding(o.padding, h, w, k, s, d, name);
    const oh = windowOut(h, k[0], s[0], d[0], pads[0], pads[2], name, "vertical");
    const ow = windowOut(w, k[1], s[1], d[1], pads[1], pads[3], name, "horizontal");
    // OHWI -> OIHW for the ONNX graph; the importer packs it back.
    const oihw = new Float32Array(wts.length);
    for (let f = 0; f < o.filters; f++)
      for (let i = 0; i < k[0]; i++)
        for (let j = 0; j < k[1]; j++)
          for (let q = 0; q < cin; q++) oihw[((f * cin + q) * k[0] + i) * k[1] + j] = wts[((f * k[0] + i) * k[1] + j) * cin + q];
    const inputs = [toNchw(net, x), net.constant(`${name}/weights`, [o.filters, cin, k[0], k[1]], oihw)];
    if (o.bias !== undefined) inputs.push(net.constant(`${name}/bias`, [o.filters], weights(o.bias, [o.filters], `${name} bias`)));
    const y = net.node("Conv", inputs, { kernel_shape: ints(k), strides: ints(s), dilations: ints(d), pads: ints(pads), group: int(groups) }, name);
    return fromNchw(net, applyActivation(net, y, o.activation, name), [oh, ow, o.filters]);
  }
}

export interface Conv2dTransposeLayerOptions {
  filters: number;
  kernel: number | [number, number];
  /** [C, kH, kW, filters / groups] (ONNX ConvTranspose's weights with the filter axis last) */
  weights: Float32Array;
  bias?: Float32Array;
  strides?: number | [number, number];
  dilations?: number | [number, number];
  /** Cropped from the full output; 'same': the output is the input times the strides. */
  padding?: "valid" | "same" | [number, number, number, number];
  /** Rows and columns added at the bottom and right. */
  outputPadding?: number | [number, number];
  groups?: number;
  activation?: Activation;
}

class Conv2dTransposeLayer extends BaseLayer {
  readonly kind = "conv2dTranspose";
  constructor(private readonly o: Conv2dTransposeLayerOptions) {
    super();
  }

  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    const [h, w, c] = spatial(x, name);
    const o = this.o;
    const k = pair(o.kernel, 1, `${name} kernel`);
    const s = pair(o.strides, 1, `${name} strides`);
    const d = pair(o.dilations, 1, `${name} dilations`);
    const op = o.outputPadding === undefined ? [0, 0] : typeof o.outputPadding === "number" ? [o.outputPadding, o.outputPadding] : [...o.outputPadding];
    if (op.length !== 2 || !op.every((v) => Number.isSafeInteger(v) && v >= 0)) throw new ArgumentError(`${name}: outputPadding must be non-negative integers`);
    const groups = o.groups ?? 1;
    if (!Number.isSafeInteger(o.filters) || o.filters <= 0) throw new ArgumentError(`${name}: filters must be a positive integer`);
    if (!Number.isSafeInteger(groups) || groups <= 0 || c % groups !== 0 || o.filters % groups !== 0) {
      throw new ShapeError(`${name}: groups ${groups} must divide the ${c} input channels and the ${o.filters} filters`);
    }
    const fg = o.filters / groups;
    const wts = weights(o.weights, [c, k[0], k[1], fg], name);
    const full = [0, 1].map((i) => s[i] * ([h, w][i] - 1) + op[i] + (k[i] - 1) * d[i] + 1);
    // Explicit pads for the graph; 'same' crops the smaller half of the excess first, and an
    // excess below 0 (a stride beyond the kernel) is output padding.
    let pads: number[];
    const extra = [0, 0];
    const padding = o.padding ?? "valid";
    if (padding === "same") {
      const excess = [0, 1].map((i) => full[i] - [h, w][i] * s[i]);
      const head = excess.map((e) => Math.floor(Math.max(e, 0) / 2));
      pads = [head[0], head[1], Math.max(excess[0] - head[0], 0), Math.max(excess[1] - head[1], 0)];
      for (const i of [0, 1]) extra[i] = Math.max(-excess[i], 0);
    } else if (padding === "valid") {
      pads = [0, 0, 0, 0];
    } else {
      if (!Array.isArray(padding) || padding.length !== 4 || !padding.every((v) => Number.isSafeInteger(v) && v >= 0)) {
        throw new ArgumentError(`${name}: padding must be 'valid', 'same' or [top, left, bottom, right] of non-negative integers`);
      }
      pads = [...padding];
    }
    const oh = full[0] + extra[0] - pads[0] - pads[2];
    const ow = full[1] + extra[1] - pads[1] - pads[3];
    if (oh < 1 || ow < 1) throw new ShapeError(`${name}: the padding [${pads.join(", ")}] crops the whole output [${full.join(", ")}]`);
    // [C, kH, kW, F/g] -> [C, F/g, kH, kW] for the ONNX graph; the importer packs it back.
    const ckk = new Float32Array(wts.length);
    for (let i = 0; i < c; i++)
      for (let y = 0; y < k[0]; y++)
        for (let z = 0; z < k[1]; z++)
          for (let f = 0; f < fg; f++) ckk[((i * fg + f) * k[0] + y) * k[1] + z] = wts[((i * k[0] + y) * k[1] + z) * fg + f];
    const inputs = [toNchw(net, x), net.constant(`${name}/weights`, [c, fg, k[0], k[1]], ckk)];
    if (o.bias !== undefined) inputs.push(net.constant(`${name}/bias`, [o.filters], weights(o.bias, [o.filters], `${name} bias`)));
    const attrs = { kernel_shape: ints(k), strides: ints(s), dilations: ints(d), pads: ints(pads), output_padding: ints([op[0] + extra[0], op[1] + extra[1]]), group: int(groups) };
    const y = net.node("ConvTranspose", inputs, attrs, name);
    return fromNchw(net, applyActivation(net, y, o.activation, name), [oh, ow, o.filters]);
  }
}

export interface DepthwiseConv2dLayerOptions {
  kernel: number | [number, number];
  /** [C, kH, kW, 1] */
  weights: Float32Array;
  bias?: Float32Array;
  strides?: number | [number, number];
  dilations?: number | [number, number];
  padding?: Padding;
  activation?: Activation;
}

class PoolLayer extends BaseLayer {
  constructor(
    readonly kind: string,
    private readonly o: { kernel: number | [number, number]; strides?: number | [number, number]; padding?: Padding; countIncludePad?: boolean },
  ) {
    super();
  }

  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    const [h, w, c] = spatial(x, name);
    const k = pair(this.o.kernel, 1, `${name} kernel`);
    const s = pair(this.o.strides ?? this.o.kernel, 1, `${name} strides`);
    const pads = resolvePadding(this.o.padding, h, w, k, s, [1, 1], name);
    const oh = windowOut(h, k[0], s[0], 1, pads[0], pads[2], name, "vertical");
    const ow = windowOut(w, k[1], s[1], 1, pads[1], pads[3], name, "horizontal");
    const attrs: Record<string, OnnxAttribute> = { kernel_shape: ints(k), strides: ints(s), pads: ints(pads) };
    if (this.kind === "avgPool2d") attrs.count_include_pad = int(this.o.countIncludePad ? 1 : 0);
    const y = net.node(this.kind === "maxPool2d" ? "MaxPool" : "AveragePool", [toNchw(net, x)], attrs, name);
    return fromNchw(net, y, [oh, ow, c]);
  }
}

class GlobalAvgPoolLayer extends BaseLayer {
  readonly kind = "globalAvgPool2d";
  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    const [, , c] = spatial(x, name);
    const y = net.node("GlobalAveragePool", [toNchw(net, x)], {}, name);
    return { shape: [c], id: net.node("Flatten", [y], { axis: int(1) }, name) };
  }
}

class FlattenLayer extends BaseLayer {
  readonly kind = "flatten";
  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    // NHWC order, as the weights of a following dense layer expect.
    const size = x.shape.reduce((a, b) => a * b, 1);
    return { shape: [size], id: net.node("Flatten", [x.id], { axis: int(1) }, name) };
  }
}

export interface DenseLayerOptions {
  units: number;
  /** [in, units] */
  weights: Float32Array;
  bias?: Float32Array;
  activation?: Activation;
}

class DenseLayer extends BaseLayer {
  readonly kind = "dense";
  constructor(private readonly o: DenseLayerOptions) {
    super();
  }

  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    if (x.shape.length !== 1) throw new ShapeError(`${name}: expects a flat [features] input (use flatten first), got [${x.shape.join(", ")}]`);
    const o = this.o;
    if (!Number.isSafeInteger(o.units) || o.units <= 0) throw new ArgumentError(`${name}: units must be a positive integer`);
    const inputs = [x.id, net.constant(`${name}/weights`, [x.shape[0], o.units], weights(o.weights, [x.shape[0], o.units], name))];
    if (o.bias !== undefined) inputs.push(net.constant(`${name}/bias`, [o.units], weights(o.bias, [o.units], `${name} bias`)));
    const y = net.node("Gemm", inputs, {}, name);
    return { shape: [o.units], id: applyActivation(net, y, o.activation, name) };
  }
}

export interface BatchNormLayerOptions {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon?: number;
}

class BatchNormLayer extends BaseLayer {
  readonly kind = "batchNorm";
  constructor(private readonly o: BatchNormLayerOptions) {
    super();
  }

  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    const c = x.shape[x.shape.length - 1];
    const p = (k: keyof BatchNormLayerOptions) => net.constant(`${name}/${k}`, [c], weights(this.o[k] as Float32Array, [c], `${name} ${k}`));
    const eps = this.o.epsilon ?? 1e-3;
    if (!Number.isFinite(eps) || eps < 0) throw new ArgumentError(`${name}: epsilon must be a non-negative number`);
    const attrs = { epsilon: float(eps) };
    if (x.shape.length === 3) {
      const y = net.node("BatchNormalization", [toNchw(net, x), p("gamma"), p("beta"), p("mean"), p("variance")], attrs, name);
      return fromNchw(net, y, [...x.shape]);
    }
    if (x.shape.length !== 1) throw new ShapeError(`${name}: expects [H, W, C] or [features], got [${x.shape.join(", ")}]`);
    return { shape: [...x.shape], id: net.node("BatchNormalization", [x.id, p("gamma"), p("beta"), p("mean"), p("variance")], attrs, name) };
  }
}

class ActivationLayer extends BaseLayer {
  constructor(
    readonly kind: string,
    private readonly act: Activation | "softmax" | "dropout",
  ) {
    super();
  }

  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    if (this.act === "dropout") return { shape: [...x.shape], id: net.node("Dropout", [x.id], {}, name) };
    if (this.act === "softmax") return { shape: [...x.shape], id: net.node("Softmax", [x.id], { axis: int(-1) }, name) };
    return { shape: [...x.shape], id: applyActivation(net, x.id, this.act, name) };
  }
}

class MergeLayer extends BaseLayer {
  protected override arity = 2;
  constructor(readonly kind: "add" | "concat") {
    super();
  }

  protected build(net: NetBuilder, xs: SymbolicTensor[], name: string): Built {
    const r = xs[0].shape.length;
    if (this.kind === "add") {
      for (const t of xs) {
        if (t.shape.join() !== xs[0].shape.join()) throw new ShapeError(`${name}: shapes [${xs.map((q) => q.shape.join(", ")).join("] and [")}] differ`);
      }
      let id = xs[0].id;
      for (const t of xs.slice(1)) id = net.node("Add", [id, t.id], {}, name);
      return { shape: [...xs[0].shape], id };
    }
    for (const t of xs) {
      if (t.shape.length !== r || t.shape.some((d, i) => i !== r - 1 && d !== xs[0].shape[i])) {
        throw new ShapeError(`${name}: shapes [${xs.map((q) => q.shape.join(", ")).join("] and [")}] differ outside the channel axis`);
      }
    }
    const shape = [...xs[0].shape];
    shape[r - 1] = xs.reduce((a, t) => a + t.shape[r - 1], 0);
    // Channel concatenation: in NCHW inside the ONNX graph, on the last axis otherwise.
    if (r === 3) return fromNchw(net, net.node("Concat", xs.map((t) => toNchw(net, t)), { axis: int(1) }, name), shape);
    return { shape, id: net.node("Concat", xs.map((t) => t.id), { axis: int(-1) }, name) };
  }
}

class ResizeLayer extends BaseLayer {
  readonly kind = "resize";
  constructor(private readonly o: ResizeOptions) {
    super();
  }

  protected build(net: NetBuilder, [x]: SymbolicTensor[], name: string): Built {
    const [h, w, c] = spatial(x, name);
    const spec = resizeSpec(this.o);
    if (spec.size && spec.scales) throw new ArgumentError(`${name}: give the size or the scales, not both`);
    // The graph is ONNX opset 13, which has neither of these.
    if (spec.nearest === "simple" || spec.coordinate === "tf_half_pixel_for_nn") {
      throw new ArgumentError(`${name}: ${spec.nearest === "simple" ? "nearestMode 'simple'" : "tf_half_pixel_for_nn"} is only read from older ONNX models`);
    }
    const oh = axisSize(h, spec.size?.[0], spec.scales?.[0], name).out;
    const ow = axisSize(w, spec.size?.[1], spec.scales?.[1], name).out;
    const attrs: Record<string, OnnxAttribute> = {
      mode: { type: "string", value: spec.mode },
      coordinate_transformation_mode: { type: "string", value: spec.coordinate },
      nearest_mode: { type: "string", value: spec.nearest },
      cubic_coeff_a: float(spec.cubicA),
      exclude_outside: int(spec.excludeOutside ? 1 : 0),
      extrapolation_value: float(spec.fill),
    };
    const [t, l, b, r] = spec.roi;
    const roi = spec.coordinate === "tf_crop_and_resize" ? net.constant(`${name}/roi`, [8], Float32Array.of(0, 0, t, l, 1, 1, b, r)) : "";
    const xid = toNchw(net, x);
    let inputs: string[];
    if (spec.scales) {
      inputs = [xid, roi, net.constant(`${name}/scales`, [4], Float32Array.of(1, 1, spec.scales[0], spec.scales[1]))];
    } else {
      // Sizes name every axis, and the batch is bound only at run: its N and C come from the
      // input's Shape, which the importer folds.
      const nc = net.node("Slice", [net.node("Shape", [xid], {}, name), net.constant(`${name}/from`, [1], [0]), net.constant(`${name}/to`, [1], [2])], {}, name);
      const sizes = net.node("Concat", [nc, net.constant(`${name}/hw`, [2], [oh, ow])], { axis: int(0) }, name);
      inputs = [xid, roi, "", sizes];
    }
    return fromNchw(net, net.node("Resize", inputs, attrs, name), [oh, ow, c]);
  }
}

/** Layer constructors. */
export const layers = {
  /** The network's input: its NHWC shape without the batch dimension ([H, W, C] or [features]). */
  input(shape: number[], name = "input"): SymbolicTensor {
    if (!Array.isArray(shape) || (shape.length !== 3 && shape.length !== 1) || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new ShapeError(`input: expected [H, W, C] or [features] of positive integers, got ${JSON.stringify(shape)}`);
    }
    return new SymbolicTensor([...shape], name);
  },
  conv2d: (o: Conv2dLayerOptions): Layer => new Conv2dLayer(o),
  depthwiseConv2d: (o: DepthwiseConv2dLayerOptions): Layer => new DepthwiseLayer(o),
  conv2dTranspose: (o: Conv2dTransposeLayerOptions): Layer => new Conv2dTransposeLayer(o),
  maxPool2d: (o: { kernel: number | [number, number]; strides?: number | [number, number]; padding?: Padding }): Layer => new PoolLayer("maxPool2d", o),
  avgPool2d: (o: { kernel: number | [number, number]; strides?: number | [number, number]; padding?: Padding; countIncludePad?: boolean }): Layer =>
    new PoolLayer("avgPool2d", o),
  globalAvgPool2d: (): Layer => new GlobalAvgPoolLayer(),
  flatten: (): Layer => new FlattenLayer(),
  dense: (o: DenseLayerOptions): Layer => new DenseLayer(o),
  batchNorm: (o: BatchNormLayerOptions): Layer => new BatchNormLayer(o),
  relu: (): Layer => new ActivationLayer("relu", "relu"),
  relu6: (): Layer => new ActivationLayer("relu6", "relu6"),
  leakyRelu: (alpha = 0.2): Layer => new ActivationLayer("leakyRelu", { leakyRelu: alpha }),
  sigmoid: (): Layer => new ActivationLayer("sigmoid", "sigmoid"),
  tanh: (): Layer => new ActivationLayer("tanh", "tanh"),
  softmax: (): Layer => new ActivationLayer("softmax", "softmax"),
  dropout: (): Layer => new ActivationLayer("dropout", "dropout"),
  add: (): Layer => new MergeLayer("add"),
  concat: (): Layer => new MergeLayer("concat"),
  /** Resizes [H, W, C] over H and W as ONNX Resize does (engine.resize's options). */
  resize: (o: ResizeOptions): Layer => new ResizeLayer(o),
};

class DepthwiseLayer extends BaseLayer {
  readonly kind = "depthwiseConv2d";
  constructor(private readonly o: DepthwiseConv2dLayerOptions) {
    super();
  }

  protected build(net: NetBuilder, inputs: SymbolicTensor[], name: string): Built {
    const c = spatial(inputs[0], name)[2];
    return new Conv2dLayer({ ...this.o, filters: c, groups: c }).buildWith(net, inputs, name);
  }
}

/** An ONNX graph of the network from `inputs` to `outputs` (NHWC at both ends, batch symbolic). */
export function networkGraph(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): OnnxModel {
  if (inputs.length === 0 || outputs.length === 0) throw new ArgumentError("a network needs at least one input and one output");
  if (![...inputs, ...outputs].every((t) => t instanceof SymbolicTensor)) {
    throw new ArgumentError("inputs and outputs must be SymbolicTensors from layers.input() and layer.apply()");
  }
  const inputIds = new Set<string>();
  for (const t of inputs) {
    if (t.source) throw new ArgumentError(`'${t.id}' is a layer's output, not a layers.input()`);
    if (inputIds.has(t.id)) throw new ArgumentError(`two inputs are named '${t.id}'`);
    inputIds.add(t.id);
  }
  // Depth-first from the outputs: every layer application once, after those it reads.
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, OnnxTensor>();
  const done = new Set<Source>();
  const visit = (t: SymbolicTensor) => {
    if (!t.source) {
      if (!inputIds.has(t.id)) throw new ArgumentError(`the outputs depend on input '${t.id}', which is not among the network's inputs`);
      return;
    }
    if (done.has(t.source)) return;
    done.add(t.source);
    for (const i of t.source.inputs) visit(i);
    nodes.push(...t.source.nodes);
    for (const [k, v] of t.source.initializers) initializers.set(k, v);
  };
  for (const t of outputs) visit(t);
  const outName = (i: number) => (outputs.length === 1 ? "output" : `output_${i}`);
  const outNodes: OnnxNode[] = outputs.map((t, i) => ({
    name: `${outName(i)}/Identity`, opType: "Identity", domain: "", inputs: [t.id], outputs: [outName(i)], attributes: new Map(),
  }));
  return {
    irVersion: 8,
    opsets: new Map([["", 13]]),
    producer: "simdcnn layers",
    metadata: {},
    graph: {
      name: "network",
      nodes: [...nodes, ...outNodes],
      initializers,
      inputs: inputs.map((t) => ({ name: t.id, elemType: DataType.FLOAT, shape: ["N", ...t.shape] })),
      outputs: outputs.map((t, i) => ({ name: outName(i), elemType: DataType.FLOAT, shape: ["N", ...t.shape] })),
    },
  };
}
