// Comparisons, boolean logic and Where: bools are int32 0/1 values of the graph. Constant operands
// fold at load; otherwise operands are brought to the plain layout, broadcasts materialised by
// copies except a scalar or a vector over the last axis, which the kernels repeat.
import { type Value, isInt, sizeOfShape } from "../../graph/ir.js";
import type { CompareOp, LogicOp } from "../../ops/compare.js";
import { stridesOf } from "../../runtime/tensor.js";
import type { ConstSym, Importer, Sym } from "./importer.js";
import { broadcastDims, gatherStrided, repeatsOverLast } from "./util.js";

const COMPARE: Record<CompareOp, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b, gt: (a, b) => a > b, ge: (a, b) => a >= b, lt: (a, b) => a < b, le: (a, b) => a <= b,
};
const LOGIC: Record<LogicOp, (a: number, b: number) => number> = { and: (a, b) => a & b, or: (a, b) => a | b, xor: (a, b) => a ^ b };

/** A constant's elements broadcast to dims, in row-major order. */
function spread(s: ConstSym, dims: number[]): number[] {
  const r = dims.length;
  const sd = [...new Array<number>(r - s.dims.length).fill(1), ...s.dims];
  return gatherStrided(s.f ?? s.i!, dims, stridesOf(sd).map((st, i) => (sd[i] === 1 ? 0 : st)), 0);
}

/** s as a value of shape dims, or, as `second`, also a scalar or a vector over the last axis. */
function operand(im: Importer, s: Sym, dims: number[], second: boolean): Value {
  if (s.dims.join() === dims.join()) return im.plain(s);
  if (second && (sizeOfShape(s.dims) === 1 || repeatsOverLast(s.dims, dims, false))) {
    const v = im.plain(s);
    return sizeOfShape(s.dims) === 1 ? v : im.alias(v, [dims[dims.length - 1]]);
  }
  return im.broadcast(s, dims, false);
}

function bools(im: Importer, dims: number[]): Value {
  return im.value(dims.length ? dims : [1], "arena", undefined, undefined, "i32");
}

export function compare(im: Importer, fn: CompareOp): void {
  const a = im.required(0);
  const b = im.required(1);
  const dims = broadcastDims(a.dims, b.dims, im);
  if (a.kind === "const" && b.kind === "const") {
    const x = spread(a, dims);
    const z = spread(b, dims);
    return im.setOutput({ kind: "const", dims, i: x.map((p, k) => (COMPARE[fn](p, z[k]) ? 1 : 0)) });
  }
  const av = operand(im, a, dims, false);
  const bv = operand(im, b, dims, true);
  if (isInt(av) !== isInt(bv)) im.bad("its inputs must have the same type");
  const y = bools(im, dims);
  im.emit({ op: "compare", a: av, b: bv, y, fn });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
}

export function logic(im: Importer, fn: LogicOp): void {
  const a = im.required(0);
  const b = im.required(1);
  const dims = broadcastDims(a.dims, b.dims, im);
  if (a.kind === "const" && b.kind === "const") {
    const x = spread(a, dims);
    const z = spread(b, dims);
    return im.setOutput({ kind: "const", dims, i: x.map((p, k) => LOGIC[fn](p, z[k])) });
  }
  const y = bools(im, dims);
  im.emit({ op: "logic", a: operand(im, a, dims, false), b: operand(im, b, dims, true), y, fn });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
}

/** Not x, as x Xor 1. */
export function not(im: Importer): void {
  const x = im.required(0);
  if (x.kind === "const") return im.setOutput({ kind: "const", dims: x.dims, i: (x.i ?? [...x.f!]).map((v) => (v ? 0 : 1)) });
  const one = im.value([1], "const", undefined, undefined, "i32");
  one.ints = Int32Array.of(1);
  const y = bools(im, x.dims);
  im.emit({ op: "logic", a: im.plain(x), b: one, y, fn: "xor" });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
}

export function where(im: Importer): void {
  const c = im.required(0);
  const a = im.required(1);
  const b = im.required(2);
  const dims = broadcastDims(broadcastDims(c.dims, a.dims, im), b.dims, im);
  if (c.kind === "const" && a.kind === "const" && b.kind === "const") {
    const cc = spread(c, dims);
    const x = spread(a, dims);
    const z = spread(b, dims);
    const out = cc.map((v, k) => (v ? x[k] : z[k]));
    return im.setOutput(a.f ? { kind: "const", dims, f: Float32Array.from(out) } : { kind: "const", dims, i: out });
  }
  const cv = operand(im, c, dims, false);
  const av = operand(im, a, dims, false);
  const bv = operand(im, b, dims, false);
  if (!isInt(cv)) im.bad("the condition must be bool");
  if (isInt(av) !== isInt(bv)) im.bad("X and Y must have the same type");
  const y = im.value(dims.length ? dims : [1], "arena", undefined, undefined, isInt(av) ? "i32" : "f32");
  im.emit({ op: "where", c: cv, a: av, b: bv, y });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
}
