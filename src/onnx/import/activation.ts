import { rootOf } from "../../graph/ir.js";
import type { Activation } from "../../ops/activation.js";
import type { MathFn } from "../../ops/elementwise.js";
import type { Importer, Sym } from "./importer.js";

export function activation(im: Importer, act: Activation): void {
  const x = im.required(0);
  if (x.kind === "value") {
    const p = im.soleProducer(im.node.inputs[0], x.v);
    if ((p?.op === "conv" || p?.op === "deconv" || p?.op === "gemm") && p.act === "none") {
      p.act = act;
      return im.setOutput(x);
    }
  }
  emitUnary(im, x, act);
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

/** Elementwise math (Exp, Log, Sqrt, ...): one unary step, never fused into a producer. */
export function math(im: Importer, fn: MathFn): void {
  emitUnary(im, im.required(0), fn);
}

function emitUnary(im: Importer, x: Sym, fn: Activation | MathFn): void {
  const v = x.kind === "value" ? x.v : im.constValue(x);
  const y = im.value([...v.shape]);
  im.emit({ op: "unary", x: v, y, fn });
  im.setOutput({ kind: "value", v: y, layout: x.kind === "value" ? x.layout : "plain", dims: x.dims });
}

/** ONNX Gelu (opset 20): approximate "none" (erf) or "tanh". */
export function gelu(im: Importer): void {
  const approximate = im.string("approximate", "none");
  if (approximate !== "none" && approximate !== "tanh") im.bad(`approximate must be 'none' or 'tanh', got '${approximate}'`);
  activation(im, approximate === "tanh" ? "geluTanh" : "gelu");
}

/**
 * Mul(x, Sigmoid(x)), SiLU/swish as exporters write it, becomes one silu of x: fused into x's
 * producer when nothing else reads x, else one unary step (the Sigmoid's step is then unread and
 * dropped). True when the node was that pattern.
 */
export function fuseSilu(im: Importer, a: Sym, b: Sym): boolean {
  if (!im.opts.optimize) return false;
  const [na, nb] = im.node.inputs;
  for (const [x, xName, sName] of [[a, na, nb], [b, nb, na]] as const) {
    if (x.kind !== "value" || im.uses.get(sName) !== 1) continue;
    const sig = im.model.graph.nodes.find((n) => n.outputs[0] === sName);
    if (sig?.opType !== "Sigmoid" || sig.inputs[0] !== xName) continue;
    const readers = im.consumers.get(xName) ?? [];
    const onlyHere = im.uses.get(xName) === 2 && readers.length === 2 && readers.includes(sig) && readers.includes(im.node) &&
      !im.model.graph.outputs.some((o) => o.name === xName);
    const at = im.producer.get(x.v);
    const p = at === undefined ? undefined : im.steps[at];
    if (onlyHere && rootOf(x.v) === x.v && (p?.op === "conv" || p?.op === "deconv" || p?.op === "gemm") && p.act === "none") {
      p.act = "silu";
      im.setOutput(x);
    } else {
      emitUnary(im, x, "silu");
    }
    return true;
  }
  return false;
}
