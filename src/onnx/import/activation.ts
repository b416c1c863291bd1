import { rootOf } from "../../graph/ir.js";
import type { Activation } from "../../ops/activation.js";
import type { MathFn } from "../../ops/elementwise.js";
import type { OnnxNode } from "../model.js";
import type { Importer, Sym, ValueSym } from "./importer.js";

export function activation(im: Importer, act: Activation): void {
  const x = im.required(0);
  if (x.kind === "value") {
    const p = im.soleProducer(im.node.inputs[0], x.v);
    if ((p?.op === "conv" || p?.op === "deconv" || p?.op === "gemm" || p?.op === "norm") && p.act === "none") {
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
 * x times a function of x, as exporters write the activations older opsets lack: Mul(x,
 * Sigmoid(x)) is SiLU/swish, Mul(x, HardSigmoid(x)) with alpha 1/6 and beta 1/2 HardSwish,
 * Mul(x, Tanh(Softplus(x))) Mish; each becomes one activation of x. True when the node was one.
 */
export function fuseGated(im: Importer, a: Sym, b: Sym): boolean {
  if (!im.opts.optimize) return false;
  const [na, nb] = im.node.inputs;
  for (const [x, xName, gName] of [[a, na, nb], [b, nb, na]] as const) {
    if (x.kind !== "value") continue;
    const g = chainNode(im, gName, "Sigmoid", "HardSigmoid", "Tanh");
    if (!g) continue;
    if (g.opType === "Sigmoid" && g.inputs[0] === xName) {
      replaceChain(im, x, xName, [g, im.node], "silu");
      return true;
    }
    const attr = (k: string) => { const v = g.attributes.get(k); return v?.type === "float" ? v.value : undefined; };
    if (g.opType === "HardSigmoid" && g.inputs[0] === xName && Math.abs((attr("alpha") ?? 0.2) - 1 / 6) < 1e-7 && (attr("beta") ?? 0.5) === 0.5) {
      replaceChain(im, x, xName, [g, im.node], "hardSwish");
      return true;
    }
    const sp = g.opType === "Tanh" ? chainNode(im, g.inputs[0], "Softplus") : undefined;
    if (sp && sp.inputs[0] === xName) {
      replaceChain(im, x, xName, [sp, g, im.node], "mish");
      return true;
    }
  }
  return false;
}

/**
 * GELU as exporters before opset 20 write it, x * (1 + Erf(x / sqrt 2)) * 0.5 (PyTorch:
 * Div, Erf, Add 1, Mul by x, Mul by 0.5; or the 0.5 applied to x first), becomes one gelu of x
 * at its last Mul. True when the node was that pattern.
 */
export function fuseGelu(im: Importer, a: Sym, b: Sym): boolean {
  if (!im.opts.optimize) return false;
  const [na, nb] = im.node.inputs;
  for (const [other, mName, oName] of [[b, na, nb], [a, nb, na]] as const) {
    const m = chainNode(im, mName, "Mul");
    if (!m) continue;
    // Either Mul(Mul(x, 1 + erf), 0.5), or Mul(Mul(x, 0.5), 1 + erf).
    const found = isConst(other, 0.5)
      ? m.inputs.map((_, i) => [m.inputs[i], m.inputs[1 - i], undefined] as const)
      : m.inputs.map((_, i) => [m.inputs[i], oName, isConst(im.syms.get(m.inputs[1 - i]), 0.5) ? m : undefined] as const).filter(([, , h]) => h);
    for (const [xName, addName] of found) {
      const add = chainNode(im, addName, "Add");
      const erfName = add && add.inputs.find((i) => !isConst(im.syms.get(i), 1));
      if (!add || !erfName || !add.inputs.some((i) => isConst(im.syms.get(i), 1))) continue;
      const erf = chainNode(im, erfName, "Erf");
      const scale = erf && chainNode(im, erf.inputs[0], "Div", "Mul");
      if (!erf || !scale || scale.inputs[0] !== xName) continue;
      const k = im.syms.get(scale.inputs[1]);
      if (!(scale.opType === "Div" ? isConst(k, Math.SQRT2, 1e-6) : isConst(k, Math.SQRT1_2, 1e-6))) continue;
      const x = im.syms.get(xName);
      if (x?.kind !== "value") continue;
      replaceChain(im, x, xName, [scale, erf, add, m, im.node], "gelu");
      return true;
    }
  }
  return false;
}

/** The node writing `name` when it is an `ops` node read by nothing but one node (its output feeds the chain only). */
function chainNode(im: Importer, name: string, ...ops: string[]): OnnxNode | undefined {
  if (im.uses.get(name) !== 1 || im.model.graph.outputs.some((o) => o.name === name)) return undefined;
  const n = im.model.graph.nodes.find((g) => g.outputs[0] === name);
  return n && ops.includes(n.opType) ? n : undefined;
}

function isConst(s: Sym | undefined, v: number, tol = 0): boolean {
  if (s?.kind !== "const" || s.dims.reduce((p, d) => p * d, 1) !== 1) return false;
  const got = (s.f ?? s.i!)[0];
  return Math.abs(got - v) <= tol;
}

/**
 * The current node's output becomes act(x): fused into x's producing conv/deconv/gemm when the
 * chain's nodes are all that read x, else one unary step. The chain's own steps are then unread
 * and dropped with the graph's dead steps.
 */
function replaceChain(im: Importer, x: ValueSym, xName: string, chain: OnnxNode[], act: Activation): void {
  const readers = im.consumers.get(xName) ?? [];
  const onlyChain = readers.every((r) => chain.includes(r)) && im.uses.get(xName) === readers.length &&
    !im.model.graph.outputs.some((o) => o.name === xName);
  const at = im.producer.get(x.v);
  const p = at === undefined ? undefined : im.steps[at];
  if (onlyChain && rootOf(x.v) === x.v && (p?.op === "conv" || p?.op === "deconv" || p?.op === "gemm") && p.act === "none") {
    p.act = act;
    im.setOutput(x);
  } else {
    emitUnary(im, x, act);
  }
}
