import { isInt, rootOf, sizeOfShape } from "../../graph/ir.js";
import type { Step, Value } from "../../graph/ir.js";
import type { Importer, Sym, ValueSym } from "./importer.js";
import { floatsOf } from "./util.js";

/**
 * Mul or Add of a conv or GEMM output by a per-channel constant, as Keras models exported by
 * tf2onnx write a Dense layer's bias (MatMul then Add) and a BatchNormalization (Mul then Add),
 * folded into the producing step: Mul scales its weights and bias, Add shifts its bias. The
 * step must have no activation or residual yet (the constant applies after neither) and nothing
 * else may read its output. True when the node was folded.
 */
export function fuseChannelAffine(im: Importer, a: Sym, b: Sym, dims: number[], op: "Mul" | "Add"): boolean {
  for (const [x, k, name] of [[a, b, im.node.inputs[0]], [b, a, im.node.inputs[1]]] as const) {
    if (x.kind !== "value" || k.kind !== "const" || x.dims.join() !== dims.join()) continue;
    const p = im.soleProducer(name, x.v);
    if (!p || (p.op !== "conv" && p.op !== "gemm") || p.act !== "none") continue;
    if (p.op === "conv" ? p.residual : p.c) continue;
    const n = p.op === "conv" ? p.wShape[0] : p.transB ? p.bShape[0] : p.bShape[1];
    const f = perChannel(x, k, n, im);
    if (!f) continue;
    // Copies: the arrays may be a model initializer's, read by other nodes too.
    const bias = p.bias ? Float32Array.from(p.bias) : new Float32Array(n);
    if (op === "Add") {
      for (let o = 0; o < n; o++) bias[o] = bias[o] + f[o];
    } else {
      scaleColumns(p, f, n);
      for (let o = 0; o < n; o++) bias[o] = bias[o] * f[o];
    }
    p.bias = bias;
    im.setOutput(x);
    return true;
  }
  return false;
}

/**
 * The constant as one float per channel, when it varies along nothing but the axis x stores
 * innermost (NHWC's channels; a plain tensor's last axis) and that axis is the producer's n
 * channels, which conv and GEMM both store innermost.
 */
function perChannel(x: ValueSym, k: Extract<Sym, { kind: "const" }>, n: number, im: Importer): Float32Array | undefined {
  const r = x.dims.length;
  const axis = x.layout === "nhwc" ? 1 : r - 1;
  if ((x.layout === "nhwc" && r !== 4) || x.dims[axis] !== n) return undefined;
  const kd = [...new Array<number>(r - k.dims.length).fill(1), ...k.dims];
  if (!kd.every((d, i) => d === 1 || (i === axis && d === n))) return undefined;
  const f = floatsOf(k, im);
  return sizeOfShape(k.dims) === 1 ? new Float32Array(n).fill(f[0]) : Float32Array.from(f);
}

/** Output channel o of the conv or GEMM's weights times s[o]. */
function scaleColumns(p: Extract<Parameters<Importer["emit"]>[0], { op: "conv" | "gemm" }>, s: Float32Array, n: number): void {
  if (p.op === "conv" || p.transB) {
    // OHWI, and B transposed as [N, K]: a row per output channel.
    const per = p.op === "conv" ? p.w.length / n : p.bShape[1];
    const w = Float32Array.from(p.op === "conv" ? p.w : p.b);
    for (let o = 0; o < n; o++) for (let j = 0; j < per; j++) w[o * per + j] = w[o * per + j] * s[o];
    if (p.op === "conv") p.w = w;
    else p.b = w;
    return;
  }
  const b = Float32Array.from(p.b);
  for (let i = 0; i < p.bShape[0]; i++) for (let o = 0; o < n; o++) b[i * n + o] = b[i * n + o] * s[o];
  p.b = b;
}

/**
 * Add of a per-channel constant t to the output of a Mul by a per-channel constant s that
 * nothing else reads (a BatchNormalization as Mul/Add after an activation, where it cannot
 * fold): the Mul step becomes one affine step computing x * s + t. True when the node was fused.
 */
export function fuseAffineShift(im: Importer, a: Sym, b: Sym, dims: number[]): boolean {
  for (const [x, k, name] of [[a, b, im.node.inputs[0]], [b, a, im.node.inputs[1]]] as const) {
    if (x.kind !== "value" || k.kind !== "const" || x.dims.join() !== dims.join()) continue;
    const p = im.soleProducer(name, x.v);
    if (p?.op !== "binary" || p.fn !== "mul" || isInt(p.y) || p.y.shape.length !== 4) continue;
    const c = p.y.shape[3];
    if (c < 2 || p.a.shape.join() !== p.y.shape.join() || p.b.shape.join() !== `${c}` || !p.b.data) continue;
    const t = perChannel(x, k, c, im);
    if (!t) continue;
    im.steps[im.producer.get(rootOf(p.y))!] = channelAffine(p.a, p.y, p.b.data, t);
    im.setOutput(x);
    return true;
  }
  return false;
}

/**
 * y = x * s + t per channel of an NHWC x in one pass: a depthwise 1x1 conv, whose kernel starts
 * each output at the bias and adds the one product, so it rounds as the Mul then the Add do.
 */
export function channelAffine(x: Value, y: Value, s: Float32Array, t: Float32Array): Step {
  const c = s.length;
  return {
    op: "conv", x, y, w: Float32Array.from(s), wShape: [c, 1, 1, 1], bias: Float32Array.from(t), groups: c, act: "none",
    window: { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] },
  };
}
