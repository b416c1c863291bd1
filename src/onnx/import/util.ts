import { UnsupportedError } from "../../errors.js";
import { sizeOfShape } from "../../graph/ir.js";
import { stridesOf } from "../../runtime/tensor.js";
import type { OnnxTensor } from "../model.js";
import type { ConstSym } from "./importer.js";

export function constOf(t: OnnxTensor): ConstSym {
  if (t.floats) return { kind: "const", dims: [...t.dims], f: t.floats };
  if (t.ints) return { kind: "const", dims: [...t.dims], i: t.ints, dataType: t.dataType };
  throw new UnsupportedError(t.unsupported ?? `tensor '${t.name}' has data type ${t.dataType}; simdcnn reads float, double and integer tensors`);
}

export function floatsOf(s: ConstSym, at: { bad(m: string): never }): Float32Array {
  if (s.f) return s.f;
  if (s.i) return Float32Array.from(s.i);
  return at.bad("a constant without data");
}

export function transposeConst(s: ConstSym, perm: number[]): Float32Array | number[] {
  const dims = perm.map((p) => s.dims[p]);
  const xs = stridesOf(s.dims);
  const out = gatherStrided(s.f ?? s.i!, dims, perm.map((p) => xs[p]), 0);
  return s.f ? Float32Array.from(out) : out;
}

/** out[i] = src[offset + sum(index_k * strides_k)] over dims, in row-major order. */
export function gatherStrided(src: ArrayLike<number>, dims: number[], strides: number[], offset: number): number[] {
  const out: number[] = [];
  const r = dims.length;
  if (r === 0) return [src[offset]];
  const idx = new Array<number>(r).fill(0);
  const total = sizeOfShape(dims);
  for (let n = 0; n < total; n++) {
    let o = offset;
    for (let i = 0; i < r; i++) o += idx[i] * strides[i];
    out.push(src[o]);
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

export function normAxis(a: number, r: number, at: { bad(m: string): never }): number {
  const x = a < 0 ? a + r : a;
  if (!Number.isInteger(x) || x < 0 || x >= Math.max(r, 1)) at.bad(`axis ${a} is out of range for rank ${r}`);
  return x;
}

export function broadcastDims(a: number[], b: number[], at: { bad(m: string): never }): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) at.bad(`shapes [${a.join(", ")}] and [${b.join(", ")}] do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** Whether b, broadcast to dims, varies only along the stored last axis (channels for NHWC). */
export function repeatsOverLast(b: number[], dims: number[], nhwc: boolean): boolean {
  const r = dims.length;
  const bd = [...new Array<number>(r - b.length).fill(1), ...b];
  const axis = nhwc ? 1 : r - 1;
  return bd.every((d, i) => (i === axis ? d === dims[i] : d === 1));
}

export function foldBinary(a: ConstSym, b: ConstSym, dims: number[], op: "Add" | "Sub" | "Mul" | "Div"): ConstSym {
  const r = dims.length;
  const av = a.f ?? a.i!;
  const bv = b.f ?? b.i!;
  const index = (s: ConstSym) => {
    const sd = [...new Array<number>(r - s.dims.length).fill(1), ...s.dims];
    return stridesOf(sd).map((st, i) => (sd[i] === 1 ? 0 : st));
  };
  const x = gatherStrided(av, dims, index(a), 0);
  const y = gatherStrided(bv, dims, index(b), 0);
  const isInt = !a.f && !b.f;
  const f = (p: number, q: number) => (op === "Add" ? p + q : op === "Sub" ? p - q : op === "Mul" ? p * q : isInt ? Math.trunc(p / q) : p / q);
  const out = x.map((p, i) => f(p, y[i]));
  // Float folds round each result to float32, as the kernels would.
  return isInt ? { kind: "const", dims, i: out } : { kind: "const", dims, f: Float32Array.from(out, (v) => Math.fround(v)) };
}
