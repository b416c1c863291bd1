import { sizeOfShape } from "../../graph/ir.js";
import { permuteStep } from "../../graph/layout.js";
import type { BinaryOp } from "../../ops/elementwise.js";
import { stridesOf } from "../../runtime/tensor.js";
import { channelAffine } from "./fuse-keras.js";
import type { ConstSym, Importer, Sym } from "./importer.js";
import { floatsOf, gatherStrided, normAxis } from "./util.js";

export function batchNorm(im: Importer): void {
  const x = im.required(0);
  if (im.int("training_mode", 0) !== 0) im.fail("training mode is not supported");
  if (im.node.outputs.slice(1).some((o) => im.isRead(o))) im.fail("a training output (running or saved mean and variance) is read; simdcnn runs inference only");
  if (im.int("spatial", 1) !== 1) im.fail("spatial = 0 (per-activation statistics) is not supported");
  if (im.opset < 7 && im.int("is_test", 0) !== 1) im.fail("is_test must be 1 (inference)");
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => im.constInput(i, ["", "scale", "B", "mean", "var"][i]));
  const c = x.dims[1];
  for (const t of [scale, bias, mean, variance]) if (!t?.f || t.f.length !== c) im.bad(`scale, B, mean and var must each hold ${c} floats`);
  const eps = im.float("epsilon", 1e-5);
  const s = new Float64Array(c);
  const t = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    s[i] = scale!.f![i] / Math.sqrt(variance!.f![i] + eps);
    t[i] = bias!.f![i] - mean!.f![i] * s[i];
  }
  // Folded into the convolution that produced x: w' = w * s, b' = b * s + t.
  if (x.kind === "value") {
    const p = im.soleProducer(im.node.inputs[0], x.v);
    if (p?.op === "conv" && p.act === "none" && !p.residual) {
      const per = p.w.length / c;
      for (let o = 0; o < c; o++) for (let j = 0; j < per; j++) p.w[o * per + j] = p.w[o * per + j] * s[o];
      const b = p.bias ?? new Float32Array(c);
      for (let o = 0; o < c; o++) b[o] = b[o] * s[o] + t[o];
      p.bias = b;
      return im.setOutput(x);
    }
    if (p?.op === "deconv" && p.act === "none") {
      // Weights [Cin, kH, kW, Cout/groups]: input channel i of group g feeds outputs g*coutG + j.
      const [cin, kh, kw, coutG] = p.wShape;
      const cinG = cin / p.groups;
      for (let i = 0; i < cin; i++) {
        const g = Math.floor(i / cinG);
        for (let tap = 0; tap < kh * kw; tap++) {
          const row = (i * kh * kw + tap) * coutG;
          for (let j = 0; j < coutG; j++) p.w[row + j] = p.w[row + j] * s[g * coutG + j];
        }
      }
      const b = p.bias ?? new Float32Array(c);
      for (let o = 0; o < c; o++) b[o] = b[o] * s[o] + t[o];
      p.bias = b;
      return im.setOutput(x);
    }
  }
  if (x.dims.length === 4 && c > 1) {
    const xv = im.nhwc(x);
    const y = im.value([...xv.shape]);
    im.emit(channelAffine(xv, y, Float32Array.from(s), Float32Array.from(t)));
    return im.setOutput({ kind: "value", v: y, layout: "nhwc", dims: x.dims });
  }
  const sv = { kind: "const", dims: [c], f: Float32Array.from(s) } as ConstSym;
  const tv = { kind: "const", dims: [c], f: Float32Array.from(t) } as ConstSym;
  const scaled = channelOp(im, x, sv, "mul");
  im.setOutput(channelOp(im, scaled, tv, "add"));
}

/** x op per-channel constant ([C]) for x of shape [N, C, ...]. */
export function channelOp(im: Importer, x: Sym, k: ConstSym, fn: BinaryOp): Sym {
  if (x.dims.length === 4) {
    const xv = im.nhwc(x);
    const y = im.value([...xv.shape]);
    im.emit({ op: "binary", a: xv, b: im.constValue(k), y, fn });
    return { kind: "value", v: y, layout: "nhwc", dims: x.dims };
  }
  if (x.dims.length === 2) {
    const xv = im.plain(x);
    const y = im.value([...xv.shape]);
    im.emit({ op: "binary", a: xv, b: im.constValue(k), y, fn });
    return { kind: "value", v: y, layout: "plain", dims: x.dims };
  }
  im.fail(`per-channel ops on rank ${x.dims.length} are not supported`);
}

export function instanceNorm(im: Importer): void {
  const x = im.required(0);
  if (x.dims.length < 3) im.bad(`the input must be [N, C, D1, ...], got [${x.dims.join(", ")}]`);
  const c = x.dims[1];
  const [scale, bias] = [1, 2].map((i) => floatsOf(im.constInput(i, ["", "scale", "B"][i]) ?? im.bad(`input ${i} is required`), im));
  if (scale.length !== c || bias.length !== c) im.bad(`scale and B must each hold ${c} floats`);
  im.setOutput(channelsLastNorm(im, x, c, scale, bias, im.float("epsilon", 1e-5)));
}

export function groupNorm(im: Importer): void {
  const x = im.required(0);
  if (x.dims.length < 3) im.bad(`the input must be [N, C, D1, ...], got [${x.dims.join(", ")}]`);
  const c = x.dims[1];
  const g = im.int("num_groups", 0);
  if (!(g >= 1) || c % g !== 0) im.bad(`num_groups ${g} must be a positive divisor of the ${c} channels`);
  let [scale, bias] = [1, 2].map((i) => floatsOf(im.constInput(i, ["", "scale", "bias"][i]) ?? im.bad(`input ${i} is required`), im));
  // Opset 18 gives a scale and bias per group, opset 21 per channel.
  const per = im.opset < 21 ? g : c;
  if (scale.length !== per || bias.length !== per) im.bad(`scale and bias must each hold ${per} floats (one per ${per === g ? "group" : "channel"})`);
  if (per === g) [scale, bias] = [scale, bias].map((t) => Float32Array.from({ length: c }, (_, i) => t[Math.floor(i / (c / g))]));
  im.setOutput(channelsLastNorm(im, x, g, scale, bias, im.float("epsilon", 1e-5)));
}

/**
 * Normalization of [N, C, D...] per batch and group of channels over D..., scale and bias per
 * channel: run channels-last, so a 4-d activation is read in its NHWC storage as it is.
 */
function channelsLastNorm(im: Importer, x: Sym, groups: number, scale: Float32Array, bias: Float32Array, epsilon: number): Sym {
  const r = x.dims.length;
  const [nb, c] = x.dims;
  const spatial = sizeOfShape(x.dims.slice(2));
  const step = (v: ReturnType<Importer["value"]>) => {
    const y = im.value([...v.shape]);
    im.emit({ op: "norm", x: v, y, dims: [nb, spatial, c], groups, perElement: false, scale, bias, epsilon, act: "none" });
    return y;
  };
  if (r === 4) return { kind: "value", v: step(im.nhwc(x)), layout: "nhwc", dims: x.dims };
  const v = im.plain(x);
  // One channel or one position: [N, C, D] and [N, D, C] are the same bytes.
  if (c === 1 || spatial === 1) return { kind: "value", v: step(v), layout: "plain", dims: x.dims };
  if (r > 6) im.fail(`rank ${r} > 6`);
  const toLast = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
  const back = toLast.map((_, i) => toLast.indexOf(i));
  const t = im.value(toLast.map((p) => x.dims[p]));
  im.emit(permuteStep(v, t, toLast));
  const n = step(t);
  const y = im.value([...x.dims]);
  im.emit(permuteStep(n, y, back));
  return { kind: "value", v: y, layout: "plain", dims: x.dims };
}

export function layerNorm(im: Importer): void {
  const x = im.required(0);
  const r = x.dims.length;
  const axis = normAxis(im.int("axis", -1), r, im);
  for (const o of im.node.outputs.slice(1)) if (o && im.uses.get(o)) im.fail("the Mean and InvStdDev outputs are not supported");
  const block = x.dims.slice(axis);
  const m = sizeOfShape(block);
  const scale = expandTo(im, im.constInput(1, "Scale") ?? im.bad("input 1 (Scale) is required"), block, 1);
  const b = im.constInput(2, "B");
  const bias = b ? expandTo(im, b, block, 0) : new Float32Array(m);
  const epsilon = im.float("epsilon", 1e-5);
  const outer = sizeOfShape(x.dims.slice(0, axis));
  if (r === 4 && axis <= 1 && x.kind === "value" && x.layout === "nhwc") {
    // The block [C, H, W] (or all of [N, C, H, W]) is contiguous in NHWC storage too, in its own
    // order: the scale and bias follow it.
    const perm = axis === 1 ? [1, 2, 0] : [0, 2, 3, 1];
    const [s, t] = [scale, bias].map((a) => Float32Array.from(gatherStrided(a, perm.map((p) => block[p]), perm.map((p) => stridesOf(block)[p]), 0)));
    const y = im.value([...x.v.shape]);
    im.emit({ op: "norm", x: x.v, y, dims: [outer, 1, m], groups: 1, perElement: true, scale: s, bias: t, epsilon, act: "none" });
    return im.setOutput({ kind: "value", v: y, layout: "nhwc", dims: x.dims });
  }
  const v = im.plain(x);
  const y = im.value([...v.shape]);
  im.emit({ op: "norm", x: v, y, dims: [outer, 1, m], groups: 1, perElement: true, scale, bias, epsilon, act: "none" });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
}

/** A constant broadcast (numpy rules, right-aligned) to dims, as floats; fill for none. */
function expandTo(im: Importer, s: ConstSym, dims: number[], fill: number): Float32Array {
  const r = dims.length;
  if (s.dims.length > r) im.bad(`[${s.dims.join(", ")}] does not broadcast to the normalized shape [${dims.join(", ")}]`);
  const sd = [...new Array<number>(r - s.dims.length).fill(1), ...s.dims];
  if (sd.some((d, i) => d !== 1 && d !== dims[i])) im.bad(`[${s.dims.join(", ")}] does not broadcast to the normalized shape [${dims.join(", ")}]`);
  const f = floatsOf(s, im);
  if (f.length === 0) return new Float32Array(sizeOfShape(dims)).fill(fill);
  const strides = stridesOf(sd).map((st, i) => (sd[i] === 1 ? 0 : st));
  return Float32Array.from(gatherStrided(f, dims, strides, 0));
}

export function lpNorm(im: Importer): void {
  const x = im.required(0);
  const r = x.dims.length;
  const axis = normAxis(im.int("axis", -1), r, im);
  const p = im.int("p", 2);
  if (p !== 1 && p !== 2) im.fail(`p = ${p}; ONNX defines p = 1 and 2`);
  if (r === 4 && axis === 1 && x.kind === "value" && x.layout === "nhwc") {
    const y = im.value([...x.v.shape]);
    im.emit({ op: "lpNorm", x: x.v, y, dims: [sizeOfShape(x.v.shape) / x.dims[1], x.dims[1], 1], p });
    return im.setOutput({ kind: "value", v: y, layout: "nhwc", dims: x.dims });
  }
  const v = im.plain(x);
  const y = im.value([...v.shape]);
  im.emit({ op: "lpNorm", x: v, y, dims: [sizeOfShape(x.dims.slice(0, axis)), x.dims[axis], sizeOfShape(x.dims.slice(axis + 1))], p });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
}
