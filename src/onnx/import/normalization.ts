import type { BinaryOp } from "../../ops/elementwise.js";
import type { ConstSym, Importer, Sym } from "./importer.js";

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
