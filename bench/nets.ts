// The whole networks the benchmarks run, each described once as data (a list of layers with seeded
// random weights) from which every engine's version is derived: the simdcnn layers network here,
// the ONNX model for onnxruntime-web in bench/peers/onnx.ts, the TensorFlow.js ops in
// bench/peers/tf.ts. One description means the engines run the same arithmetic on the same weights.
import { type Engine, type Layer, type Model, type SymbolicTensor, layers } from "../src/index.js";

export function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

export type Act = "relu" | "relu6";

export interface BatchNorm {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/**
 * One layer; `from` indexes the network's values: 0 is the input, i + 1 the output of node i.
 * A convolution carries the batch normalization and activation that follow it, in that order.
 */
export type NetNode =
  | {
      op: "conv"; from: number; cout: number; k: number; stride: number; padding: "same" | "valid"; groups: number;
      /** OHWI [cout, k, k, cin / groups] */
      weights: Float32Array; bias?: Float32Array; bn?: BatchNorm; act?: Act;
    }
  /**
   * A transposed convolution, padding 'valid' (a k x k stride-k one doubles the size exactly for
   * k = 2), without groups.
   */
  | {
      op: "deconv"; from: number; cout: number; k: number; stride: number;
      /** [cin, k, k, cout]: the layers API's, ONNX ConvTranspose's with the output channel last */
      weights: Float32Array; bias?: Float32Array; act?: Act;
    }
  /**
   * Scaled by 2 in height and width: bilinear with half-pixel centres (PyTorch's align_corners=False,
   * TensorFlow's halfPixelCenters), or nearest taking floor(output / 2) (PyTorch's and TensorFlow's default).
   */
  | { op: "resize"; from: number; mode: "bilinear" | "nearest" }
  | { op: "maxPool"; from: number; k: number }
  | { op: "globalAvgPool"; from: number }
  | { op: "flatten"; from: number }
  /** weights [in, units], inputs flattened in HWC order */
  | { op: "dense"; from: number; units: number; weights: Float32Array; bias: Float32Array; act?: Act }
  | { op: "add"; from: [number, number]; act?: Act }
  /** Over the last axis: the channels of a feature map. */
  | { op: "softmax"; from: number }
  | { op: "sigmoid"; from: number }
  /**
   * A value of another shape with the same elements in the same order: HWC order for a feature
   * map (which an NCHW ONNX graph reaches with a Transpose to NHWC first). One dimension may be
   * -1, inferred.
   */
  | { op: "reshape"; from: number; shape: number[] }
  /**
   * Feature maps joined along their channels (a U-Net's skip connections), or values that are not
   * feature maps along their first axis (a detector's anchors).
   */
  | { op: "concat"; from: number[] };

export interface NetSpec {
  name: string;
  /** NHWC input without batch. */
  input: [number, number, number];
  nodes: NetNode[];
}

export interface NetDef extends NetSpec {
  build(e: Engine): Model;
}

/** The same network without its final softmax: the logits, to cross-check engines without saturation hiding errors. */
export function logits(spec: NetSpec): NetSpec {
  const last = spec.nodes[spec.nodes.length - 1];
  return last.op === "softmax" ? { ...spec, nodes: spec.nodes.slice(0, -1) } : spec;
}

/** Whether each value is a feature map: NHWC here, NCHW in the ONNX model. */
export function featureMaps(spec: NetSpec): boolean[] {
  const out = [true];
  for (const n of spec.nodes) {
    const from = Array.isArray(n.from) ? n.from[0] : n.from;
    const follows = n.op === "add" || n.op === "softmax" || n.op === "sigmoid" || n.op === "concat";
    out.push(n.op === "conv" || n.op === "deconv" || n.op === "resize" || n.op === "maxPool" || (follows && out[from]));
  }
  return out;
}

/** Each value's shape without the batch: [H, W, C] for a feature map. */
export function shapes(spec: NetSpec): number[][] {
  const out: number[][] = [spec.input];
  const maps = featureMaps(spec);
  const win = (n: number, k: number, s: number, same: boolean) => (same ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1);
  for (const n of spec.nodes) {
    const x = out[Array.isArray(n.from) ? n.from[0] : n.from];
    switch (n.op) {
      case "conv":
        out.push([win(x[0], n.k, n.stride, n.padding === "same"), win(x[1], n.k, n.stride, n.padding === "same"), n.cout]);
        break;
      case "deconv":
        out.push([(x[0] - 1) * n.stride + n.k, (x[1] - 1) * n.stride + n.k, n.cout]);
        break;
      case "resize":
        out.push([2 * x[0], 2 * x[1], x[2]]);
        break;
      case "maxPool":
        out.push([win(x[0], n.k, n.k, false), win(x[1], n.k, n.k, false), x[2]]);
        break;
      case "globalAvgPool":
        out.push([x[2]]);
        break;
      case "flatten":
        out.push([x.reduce((a, b) => a * b, 1)]);
        break;
      case "dense":
        out.push([n.units]);
        break;
      case "reshape": {
        const known = n.shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
        const all = x.reduce((a, b) => a * b, 1);
        out.push(n.shape.map((d) => (d === -1 ? all / known : d)));
        break;
      }
      case "concat":
        out.push(maps[n.from[0]] ? [x[0], x[1], n.from.reduce((a, i) => a + out[i][2], 0)] : [n.from.reduce((a, i) => a + out[i][0], 0), ...x.slice(1)]);
        break;
      default:
        out.push(x);
    }
  }
  return out;
}

/**
 * The simdcnn layers network of a description. The layers API has no reshape: a reshaped value is
 * carried flat, which has its elements in the same order, concatenates along its first axis as a
 * flat concatenation does, and goes through elementwise ops unchanged; an op over its last axis
 * (softmax, dense) would not see it as the description does, and is refused.
 */
export function buildLayers(e: Engine, spec: NetSpec): Model {
  const input = layers.input([...spec.input]);
  const values: SymbolicTensor[] = [input];
  const shape = shapes(spec);
  const maps = featureMaps(spec);
  const act = (a: Act | undefined): Layer[] => (a === "relu" ? [layers.relu()] : a === "relu6" ? [layers.relu6()] : []);
  for (const n of spec.nodes) {
    if ((n.op === "softmax" || n.op === "dense") && !maps[n.from] && shape[n.from].length > 1) {
      throw new Error(`${spec.name}: ${n.op} over the last axis of a reshaped value, which the layers network carries flat`);
    }
    let stack: Layer[];
    switch (n.op) {
      case "conv":
        stack = [
          layers.conv2d({
            filters: n.cout, kernel: n.k, strides: n.stride, padding: n.padding, groups: n.groups, weights: n.weights, bias: n.bias,
            activation: n.bn ? undefined : n.act,
          }),
          ...(n.bn ? [layers.batchNorm(n.bn), ...act(n.act)] : []),
        ];
        break;
      case "deconv":
        stack = [layers.conv2dTranspose({ filters: n.cout, kernel: n.k, strides: n.stride, weights: n.weights, bias: n.bias, activation: n.act })];
        break;
      case "resize":
        stack = [
          layers.resize(
            n.mode === "bilinear"
              ? { scales: [2, 2], mode: "linear", coordinateTransformationMode: "half_pixel" }
              : { scales: [2, 2], mode: "nearest", coordinateTransformationMode: "asymmetric", nearestMode: "floor" },
          ),
        ];
        break;
      case "maxPool":
        stack = [layers.maxPool2d({ kernel: n.k })];
        break;
      case "globalAvgPool":
        stack = [layers.globalAvgPool2d()];
        break;
      case "flatten":
        stack = [layers.flatten()];
        break;
      case "dense":
        stack = [layers.dense({ units: n.units, weights: n.weights, bias: n.bias, activation: n.act })];
        break;
      case "add":
        values.push(act(n.act).reduce((t, l) => l.apply(t), layers.add().apply([values[n.from[0]], values[n.from[1]]])));
        continue;
      case "softmax":
        stack = [layers.softmax()];
        break;
      case "sigmoid":
        stack = [layers.sigmoid()];
        break;
      case "reshape":
        stack = [layers.flatten()];
        break;
      case "concat":
        values.push(layers.concat().apply(n.from.map((i) => values[i])));
        continue;
    }
    values.push(stack.reduce((t, l) => l.apply(t), values[n.from]));
  }
  return e.graph({ inputs: [input], outputs: [values[values.length - 1]] });
}

// Appends nodes to a description in construction order; each helper returns the new value's index.
class Net {
  readonly nodes: NetNode[] = [];
  private seed: number;
  private readonly shape: number[][];

  constructor(readonly input: [number, number, number], seed: number) {
    this.seed = seed;
    this.shape = [input];
  }

  private push(n: NetNode): number {
    this.nodes.push(n);
    this.shape.push(shapes({ name: "", input: this.input, nodes: this.nodes }).at(-1)!);
    return this.nodes.length;
  }

  private he(n: number, fanIn: number): Float32Array {
    return random(n, this.seed++, Math.sqrt(3 / fanIn));
  }

  private small(n: number, scale: number): Float32Array {
    return random(n, this.seed++, scale);
  }

  conv(from: number, cout: number, k: number, o: { stride?: number; act?: Act; depthwise?: boolean; bn?: boolean; bias?: boolean; padding?: "same" | "valid" } = {}): number {
    const cin = this.shape[from][2];
    const groups = o.depthwise ? cin : 1;
    const fanIn = k * k * (cin / groups);
    const c = o.depthwise ? cin : cout;
    return this.push({
      op: "conv", from, cout: c, k, stride: o.stride ?? 1, padding: o.padding ?? "same", groups,
      weights: this.he(c * fanIn, fanIn), bias: o.bias === false ? undefined : this.small(c, 0.05), act: o.act,
      bn: o.bn
        ? {
            gamma: this.small(c, 0.2).map((v) => 1 + v), beta: this.small(c, 0.1),
            mean: this.small(c, 0.1), variance: this.small(c, 0.2).map((v) => 1 + v), epsilon: 1e-3,
          }
        : undefined,
    });
  }

  deconv(from: number, cout: number, k: number, o: { stride?: number; act?: Act } = {}): number {
    const cin = this.shape[from][2];
    const stride = o.stride ?? k;
    // The taps that reach one output: cin k^2 / stride^2.
    const fanIn = (cin * k * k) / (stride * stride);
    return this.push({ op: "deconv", from, cout, k, stride, weights: this.he(cin * k * k * cout, fanIn), bias: this.small(cout, 0.05), act: o.act });
  }

  resize(from: number, mode: "bilinear" | "nearest"): number {
    return this.push({ op: "resize", from, mode });
  }

  maxPool(from: number, k = 2): number {
    return this.push({ op: "maxPool", from, k });
  }

  globalAvgPool(from: number): number {
    return this.push({ op: "globalAvgPool", from });
  }

  flatten(from: number): number {
    return this.push({ op: "flatten", from });
  }

  dense(from: number, units: number, act?: Act): number {
    const i = this.shape[from][0];
    return this.push({ op: "dense", from, units, weights: this.he(i * units, i), bias: this.small(units, 0.05), act });
  }

  add(a: number, b: number, act?: Act): number {
    return this.push({ op: "add", from: [a, b], act });
  }

  softmax(from: number): number {
    return this.push({ op: "softmax", from });
  }

  sigmoid(from: number): number {
    return this.push({ op: "sigmoid", from });
  }

  reshape(from: number, shape: number[]): number {
    return this.push({ op: "reshape", from, shape });
  }

  concat(from: number[]): number {
    return this.push({ op: "concat", from });
  }

  def(name: string): NetDef {
    const spec: NetSpec = { name, input: this.input, nodes: this.nodes };
    return { ...spec, build: (e) => buildLayers(e, spec) };
  }
}

export const lenet: NetDef = (() => {
  const n = new Net([28, 28, 1], 1);
  let x = n.maxPool(n.conv(0, 6, 5, { act: "relu", padding: "valid" }));
  x = n.flatten(n.maxPool(n.conv(x, 16, 5, { act: "relu", padding: "valid" })));
  n.softmax(n.dense(n.dense(n.dense(x, 120, "relu"), 84, "relu"), 10));
  return n.def("LeNet 28x28x1");
})();

export const sliceClassifier: NetDef = (() => {
  const n = new Net([256, 256, 1], 100);
  let x = 0;
  for (const c of [16, 32, 64, 128]) x = n.maxPool(n.conv(n.conv(x, c, 3, { act: "relu" }), c, 3, { act: "relu" }));
  n.softmax(n.dense(n.globalAvgPool(x), 2));
  return n.def("slice classifier 256x256x1");
})();

export const resnet: NetDef = (() => {
  const n = new Net([64, 64, 3], 200);
  let x = n.conv(0, 32, 3, { bn: true, act: "relu" });
  let c = 32;
  for (const [cout, stride] of [[32, 1], [32, 1], [64, 2], [64, 1], [128, 2], [128, 1]] as const) {
    const y = n.conv(n.conv(x, cout, 3, { stride, bn: true, act: "relu" }), cout, 3, { bn: true });
    const shortcut = stride === 1 && c === cout ? x : n.conv(x, cout, 1, { stride, bn: true });
    x = n.add(y, shortcut, "relu");
    c = cout;
  }
  n.softmax(n.dense(n.globalAvgPool(x), 10));
  return n.def("ResNet-style 64x64x3");
})();

export const mobilenet: NetDef = (() => {
  const n = new Net([112, 112, 3], 300);
  let x = n.conv(0, 32, 3, { stride: 2, bn: true, act: "relu6" });
  for (const [cout, stride] of [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2]] as const) {
    x = n.conv(n.conv(x, 0, 3, { stride, depthwise: true, bias: false, bn: true, act: "relu6" }), cout, 1, { bn: true, act: "relu6" });
  }
  n.softmax(n.dense(n.globalAvgPool(x), 10));
  return n.def("MobileNet-style 112x112x3");
})();

/**
 * ResNet-20 for CIFAR-10: 3 stages of 3 basic blocks with 16, 32 and 64 channels, the first
 * block of the second and third stages at stride 2 with a 1x1 projection shortcut; convolutions
 * without bias before their batch normalization, as PyTorch's are.
 */
export const resnet20: NetDef = (() => {
  const n = new Net([32, 32, 3], 400);
  let x = n.conv(0, 16, 3, { bias: false, bn: true, act: "relu" });
  let c = 16;
  for (const cout of [16, 32, 64]) {
    for (let block = 0; block < 3; block++) {
      const stride = block === 0 && cout !== c ? 2 : 1;
      const y = n.conv(n.conv(x, cout, 3, { stride, bias: false, bn: true, act: "relu" }), cout, 3, { bias: false, bn: true });
      const shortcut = stride === 1 && c === cout ? x : n.conv(x, cout, 1, { stride, bias: false, bn: true });
      x = n.add(y, shortcut, "relu");
      c = cout;
    }
  }
  n.softmax(n.dense(n.globalAvgPool(x), 10));
  return n.def("CIFAR ResNet-20 32x32x3");
})();

/**
 * A small single-shot face detector: a depthwise separable backbone on a 240x320 picture and
 * anchors at four scales (30x40, 15x20, 8x10, 4x5). Each scale has a score head and a box head
 * (depthwise 3x3, then 1x1 to anchors x 1 or x 4) whose output is reshaped to one row per
 * anchor and concatenated across scales, as a PyTorch detector's `permute(0, 2, 3, 1)
 * .reshape(1, -1, k)` and `torch.cat` export: the NCHW ONNX model has a Transpose before each
 * of the 8 Reshapes. The output is the sigmoid scores and the boxes, flattened and joined.
 */
export const faceDetector: NetDef = (() => {
  const n = new Net([240, 320, 3], 500);
  const separable = (x: number, cout: number, stride = 1) =>
    n.conv(n.conv(x, 0, 3, { stride, depthwise: true, bias: false, bn: true, act: "relu" }), cout, 1, { bias: false, bn: true, act: "relu" });
  let x = n.conv(0, 16, 3, { stride: 2, bias: false, bn: true, act: "relu" });
  x = separable(separable(x, 32), 32, 2);
  x = separable(separable(x, 32), 64, 2);
  const s1 = separable(separable(x, 64), 64);
  const s2 = separable(separable(s1, 128, 2), 128);
  const s3 = separable(separable(s2, 256, 2), 256);
  const s4 = n.conv(n.conv(n.conv(s3, 64, 1, { act: "relu" }), 0, 3, { stride: 2, depthwise: true, act: "relu" }), 256, 1, { act: "relu" });
  const scores: number[] = [];
  const boxes: number[] = [];
  for (const [map, anchors] of [[s1, 3], [s2, 2], [s3, 2], [s4, 3]]) {
    const head = (k: number) => n.reshape(n.conv(n.conv(map, 0, 3, { depthwise: true, act: "relu" }), anchors * k, 1), [-1, k]);
    scores.push(head(1));
    boxes.push(head(4));
  }
  n.concat([n.flatten(n.sigmoid(n.concat(scores))), n.flatten(n.concat(boxes))]);
  return n.def("face detector 240x320x3");
})();

/**
 * A segmentation U-Net on a 256x256 slice: four levels (16, 32, 64 channels and a 128-channel
 * bottom at 32x32), two 3x3 convolutions with ReLU per level, 2x2 max pooling down, and up either
 * by a 2x2 stride-2 transposed convolution that halves the channels, or by a bilinear (or nearest)
 * resize and a 1x1 convolution that halves them, as PyTorch's nn.Upsample U-Nets do; each up-step
 * joins its level's skip along the channels. A 1x1 head gives 2 classes, softmax per pixel.
 */
function unet(name: string, up: "deconv" | "bilinear" | "nearest", seed: number): NetDef {
  const n = new Net([256, 256, 1], seed);
  const block = (x: number, c: number) => n.conv(n.conv(x, c, 3, { act: "relu" }), c, 3, { act: "relu" });
  const skips: number[] = [];
  let x = 0;
  for (const c of [16, 32, 64]) {
    skips.push((x = block(x, c)));
    x = n.maxPool(x);
  }
  x = block(x, 128);
  for (const [i, c] of [64, 32, 16].entries()) {
    const y = up === "deconv" ? n.deconv(x, c, 2, { act: "relu" }) : n.conv(n.resize(x, up), c, 1, { act: "relu" });
    x = block(n.concat([y, skips[2 - i]]), c);
  }
  n.softmax(n.conv(x, 2, 1));
  return n.def(name);
}

export const unetDeconv: NetDef = unet("U-Net 256x256x1 (ConvTranspose)", "deconv", 600);
export const unetResize: NetDef = unet("U-Net 256x256x1 (bilinear Resize)", "bilinear", 700);

export const networks: NetDef[] = [lenet, sliceClassifier, resnet, mobilenet, resnet20, faceDetector, unetDeconv, unetResize];

/** The kernel workloads bench/kernels.ts and bench/peers.ts both run: real CNN shapes. */
export const KERNEL_SHAPES = {
  gemm: [256, 512, 1024],
  /** label, H, W, Cin, Cout, kernel, groups */
  conv: [
    ["conv 3x3", 256, 256, 1, 16, 3, 1],
    ["conv 3x3", 128, 128, 16, 32, 3, 1],
    ["conv 3x3", 56, 56, 64, 64, 3, 1],
    ["conv 3x3", 28, 28, 128, 128, 3, 1],
    ["conv 1x1", 56, 56, 64, 256, 1, 1],
    ["dwconv 3x3", 112, 112, 32, 32, 3, 32],
  ] as [string, number, number, number, number, number, number][],
  /** H, W, C of a 2x2 max pool */
  maxpool: [
    [256, 256, 16],
    [112, 112, 64],
  ] as [number, number, number][],
};
