import type { Activation } from "../../ops/activation.js";
import type { Importer } from "./importer.js";

export function activation(im: Importer, act: Activation): void {
  const x = im.required(0);
  if (x.kind === "value") {
    const p = im.soleProducer(im.node.inputs[0], x.v);
    if ((p?.op === "conv" || p?.op === "deconv" || p?.op === "gemm" || p?.op === "norm") && p.act === "none") {
      p.act = act;
      return im.setOutput(x);
    }
  }
  const v = x.kind === "value" ? x.v : im.constValue(x);
  const y = im.value([...v.shape]);
  im.emit({ op: "unary", x: v, y, fn: act });
  im.setOutput({ kind: "value", v: y, layout: x.kind === "value" ? x.layout : "plain", dims: x.dims });
}

export function clip(im: Importer): void {
  let lo = -Infinity;
  let hi = Infinity;
  if (im.opset < 11) {
    lo = im.float("min", -Infinity);
    hi = im.float("max", Infinity);
  } else {
    const a = im.constInput(1, "min");
    const b = im.constInput(2, "max");
    if (a) lo = (a.f ?? a.i!)[0];
    if (b) hi = (b.f ?? b.i!)[0];
  }
  if (Number.isNaN(lo) || Number.isNaN(hi)) im.bad("min and max must not be NaN");
  activation(im, lo === 0 && hi === 6 ? "relu6" : lo === 0 && hi === Infinity ? "relu" : { clip: [lo, hi] });
}

export function exp(im: Importer): void {
  const x = im.required(0);
  const v = x.kind === "value" ? x.v : im.constValue(x);
  const y = im.value([...v.shape]);
  im.emit({ op: "unary", x: v, y, fn: "exp" });
  im.setOutput({ kind: "value", v: y, layout: x.kind === "value" ? x.layout : "plain", dims: x.dims });
}
