import { rootOf, sizeOfShape } from "../../graph/ir.js";
import type { Value } from "../../graph/ir.js";
import { nhwcShape } from "../../graph/layout.js";
import type { BinaryOp } from "../../ops/elementwise.js";
import type { Importer, Sym, ValueSym } from "./importer.js";
import { fuseGated, fuseGelu, math } from "./activation.js";
import { fuseAffineShift, fuseChannelAffine } from "./fuse-keras.js";
import { broadcastDims, floatsOf, foldBinary, repeatsOverLast } from "./util.js";

export function binary(im: Importer, op: "Add" | "Sub" | "Mul" | "Div"): void {
  const a = im.required(0);
  const b = im.required(1);
  const dims = broadcastDims(a.dims, b.dims, im);
  const fn = ({ Add: "add", Sub: "sub", Mul: "mul", Div: "div" } as const)[op];
  if (a.kind === "const" && b.kind === "const") return im.setOutput(foldBinary(a, b, dims, op));
  if ((op === "Add" || op === "Mul") && fuseChannelAffine(im, a, b, dims, op)) return;
  if (op === "Add" && fuseAffineShift(im, a, b, dims)) return;
  if (op === "Add" && fuseResidual(im, a, b, dims)) return;
  if (op === "Mul" && (fuseGated(im, a, b) || fuseGelu(im, a, b))) return;
  elementwise(im, a, b, dims, fn);
}

/** Add(conv(x), r) becomes conv(x) with r added in its store, when nothing else reads conv(x). */
export function fuseResidual(im: Importer, a: Sym, b: Sym, dims: number[]): boolean {
  for (const [mine, other, name] of [[a, b, im.node.inputs[0]], [b, a, im.node.inputs[1]]] as const) {
    if (mine.kind !== "value" || other.kind !== "value") continue;
    if (mine.dims.join() !== dims.join() || other.dims.join() !== dims.join()) continue;
    const at = im.producer.get(rootOf(mine.v));
    const p = im.soleProducer(name, mine.v);
    if (!p || at === undefined || (p.op !== "conv" && p.op !== "gemm") || p.act !== "none") continue;
    if (p.op === "conv" ? p.residual : p.c) continue;
    if (p.op === "conv" && !(p.groups === 1 && p.wShape[3] > 1)) continue;
    // The residual must exist before the producer runs: the other operand in the producer's
    // layout (its conversion is usually already there, made for an earlier consumer).
    const r = mine.layout === "nhwc" ? im.nhwc(other) : im.plain(other);
    const otherAt = im.producer.get(rootOf(r));
    if (otherAt !== undefined && otherAt > at) continue;
    if (p.op === "conv") p.residual = r;
    else {
      p.c = r;
      p.beta = 1;
    }
    im.setOutput(mine);
    return true;
  }
  return false;
}

/**
 * a op b with numpy broadcasting, in the layouts the kernels take: b is then a's shape, a vector
 * over a's stored last axis, or one element (src/ops/elementwise.ts's Binary).
 */
export function elementwise(im: Importer, a: Sym, b: Sym, dims: number[], fn: BinaryOp): void {
  im.setOutput(elementwiseSym(im, a, b, dims, fn));
}

function elementwiseSym(im: Importer, a: Sym, b: Sym, dims: number[], fn: BinaryOp): ValueSym {
  // Keep NHWC activations NHWC: the other operand is brought to the same layout. A plain tensor
  // with a smaller operand (a per-channel mean, a scale) whose result only ever reaches NHWC
  // readers is converted here rather than after: the smaller operand then repeats along the
  // stored last axis instead of being broadcast to a full copy (normalisation at a model's input).
  const full = (s: Sym) => s.dims.join() === dims.join();
  const values = [a, b].filter((s): s is ValueSym => s.kind === "value" && full(s));
  const nhwc = dims.length === 4 && (
    values.some((s) => s.layout === "nhwc") ||
    (values.length === 1 && !(full(a) && full(b)) && im.feedsNhwc(im.node.outputs[0]))
  );
  const storedShape = nhwc ? nhwcShape(dims) : dims;
  const bring = (s: Sym): Value => {
    if (full(s)) return nhwc ? im.nhwc(s) : im.plain(s);
    return im.broadcast(s, dims, nhwc);
  };
  let av: Value;
  let bv: Value;
  if (!full(a) && !full(b)) {
    av = bring(a);
    bv = bring(b);
  } else {
    if (!full(a)) {
      // Only b may repeat; a non-commutative op with a broadcast first operand is materialised.
      av = bring(a);
    } else {
      av = nhwc ? im.nhwc(a) : im.plain(a);
    }
    if (full(b)) {
      bv = nhwc ? im.nhwc(b) : im.plain(b);
    } else if (sizeOfShape(b.dims) === 1) {
      bv = im.plain(b);
    } else if (repeatsOverLast(b.dims, dims, nhwc)) {
      bv = alias1d(im, b, storedShape[storedShape.length - 1]);
    } else {
      bv = bring(b);
    }
  }
  const y = im.value([...storedShape]);
  im.emit({ op: "binary", a: av, b: bv, y, fn });
  return { kind: "value", v: y, layout: nhwc ? "nhwc" : "plain", dims };
}

export function alias1d(im: Importer, s: Sym, n: number): Value {
  if (s.kind === "const") return im.value([n], "const", undefined, floatsOf(s, im));
  return im.alias(im.plain(s), [n]);
}

/** Sum, Mean, Min, Max: any number of inputs, broadcast together, combined left to right. */
export function variadic(im: Importer, op: "Sum" | "Mean" | "Min" | "Max"): void {
  const ins = im.node.inputs.map((_, i) => im.required(i));
  if (ins.length === 0) im.bad("needs at least one input");
  const fn = op === "Min" ? "min" : op === "Max" ? "max" : "add";
  let acc = ins[0];
  for (const s of ins.slice(1)) acc = elementwiseSym(im, acc, s, broadcastDims(acc.dims, s.dims, im), fn);
  // Divided by the count, not multiplied by its reciprocal: the sum's one rounding, then the mean's.
  if (op === "Mean" && ins.length > 1) acc = elementwiseSym(im, acc, { kind: "const", dims: [], f: Float32Array.of(ins.length) }, acc.dims, "div");
  im.setOutput(acc);
}

/** Pow: a constant scalar exponent is a unary step (with its fast paths), else a^b elementwise. */
export function pow(im: Importer): void {
  const a = im.required(0);
  const b = im.required(1);
  const dims = broadcastDims(a.dims, b.dims, im);
  if (b.kind === "const" && sizeOfShape(b.dims) === 1 && dims.join() === a.dims.join()) return math(im, { pow: floatsOf(b, im)[0] });
  elementwise(im, a, b, dims, "pow");
}

export function prelu(im: Importer): void {
  const x = im.required(0);
  const slope = im.required(1);
  const dims = broadcastDims(x.dims, slope.dims, im);
  if (dims.join() !== x.dims.join()) im.bad(`slope [${slope.dims.join(", ")}] must broadcast to the input [${x.dims.join(", ")}]`);
  elementwise(im, x, slope, dims, "prelu");
}
