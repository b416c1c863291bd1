// engine.reduce against float64 references: every kind over x read as [outer, n, inner] with
// remainders in every dimension (n and inner around the SIMD build's 4 lanes and 16-column
// blocks), both builds identical to the bit, guard bytes, errors.
//
// Bounds (u = 2^-24, S = sum |x_k| of an output's terms, as the kernel maps them):
// - sum, l1: the kernel adds n terms in a tree of depth at most n/4 + 2 + n % 4 <= n + 2, each
//   addition rounding once: |err| <= (n + 2) u S;
// - mean: the same sum divided by n once: (n + 3) u S / n;
// - sumSquare: each square rounds once more, terms are positive: (n + 3) u S (S = sum x^2);
//   l2 = sqrt of it: relative (n + 3) u / 2 + u;
// - prod: n roundings of a product: (n + 2) u |ref| (inputs kept away from underflow);
// - max, min: exact (they select);
// - logSumExp: s = sum exp(x - m) has relative error TRANSCENDENTAL_RTOL (each exp) + (n + 2) u,
//   which is an absolute error in log s; log itself is within 4 ulp of log s; adding m rounds
//   once: |err| <= RTOL + (n + 2) u + 4 u |log s| + u |ref|.
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine } from "../src/index.js";
import { BACKENDS, TRANSCENDENTAL_RTOL, U, compare, compareBits, compareExact, engines, type BackendName } from "./grid.js";
import { allocBytes, fillSentinel, ptrOf, rangeOf, snapshot, strayWrites } from "./memory.js";
import { Rng, prod } from "./reference.js";

type Kind = "sum" | "mean" | "max" | "min" | "prod" | "l1" | "l2" | "sumSquare" | "logSumExp";
const KINDS: Kind[] = ["sum", "mean", "max", "min", "prod", "l1", "l2", "sumSquare", "logSumExp"];

/** The float64 reduction of x [outer, n, inner] over n, and each output's bound. */
export function reduceRef(x: Float32Array, outer: number, n: number, inner: number, kind: Kind): { ref: Float64Array; tol: Float64Array } {
  const ref = new Float64Array(outer * inner);
  const tol = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const v: number[] = [];
      for (let k = 0; k < n; k++) v.push(x[(o * n + k) * inner + i]);
      const abs = v.reduce((a, b) => a + Math.abs(b), 0);
      const sq = v.reduce((a, b) => a + b * b, 0);
      let r: number;
      let t: number;
      if (kind === "sum") [r, t] = [v.reduce((a, b) => a + b, 0), (n + 2) * U * abs];
      else if (kind === "mean") [r, t] = [v.reduce((a, b) => a + b, 0) / n, ((n + 3) * U * abs) / n];
      else if (kind === "max") [r, t] = [Math.max(...v), 0];
      else if (kind === "min") [r, t] = [Math.min(...v), 0];
      else if (kind === "prod") {
        r = v.reduce((a, b) => a * b, 1);
        t = (n + 2) * U * Math.abs(r);
      } else if (kind === "l1") [r, t] = [abs, (n + 2) * U * abs];
      else if (kind === "sumSquare") [r, t] = [sq, (n + 3) * U * sq];
      else if (kind === "l2") {
        r = Math.sqrt(sq);
        t = (((n + 3) * U) / 2 + U) * r;
      } else {
        const m = Math.max(...v);
        const ls = Math.log(v.reduce((a, b) => a + Math.exp(b - m), 0));
        r = ls + m;
        t = TRANSCENDENTAL_RTOL + (n + 2) * U + 4 * U * Math.abs(ls) + U * Math.abs(r);
      }
      ref[o * inner + i] = r;
      tol[o * inner + i] = t;
    }
  }
  return { ref, tol };
}

/** Inputs each kind is defined well on: products away from underflow and overflow. */
function inputFor(rng: Rng, size: number, kind: Kind): Float32Array {
  if (kind === "prod") return Float32Array.from({ length: size }, () => rng.uniform(0.6, 1.6) * (rng.bool() ? 1 : -1));
  if (kind === "logSumExp") return rng.f32(size, -30, 30);
  return rng.f32(size, -4, 4);
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const NS = [1, 2, 3, 4, 5, 7, 8, 13, 17, 33];
const INNERS = [1, 2, 3, 4, 5, 7, 16, 17, 21, 35];

describe("reduce: both builds against float64 over [outer, n, inner]", () => {
  it.each(KINDS)("%s", (kind) => {
    const rng = new Rng(KINDS.indexOf(kind) + 1);
    for (const outer of [1, 3]) {
      for (const n of NS) {
        for (const inner of INNERS) {
          const shape = [outer, n, inner];
          const data = inputFor(rng, prod(shape), kind);
          const { ref, tol } = reduceRef(data, outer, n, inner, kind);
          const got: Partial<Record<BackendName, Float32Array>> = {};
          for (const b of BACKENDS) {
            const x = E[b].tensor(data, shape);
            const y = E[b].reduce(x, kind, { axes: [1], keepDims: inner % 2 === 0 });
            expect([...y.shape]).toEqual(inner % 2 === 0 ? [outer, 1, inner] : [outer, inner]);
            got[b] = y.toArray();
            const label = `${b} ${kind} [${shape}]`;
            expect(kind === "max" || kind === "min" ? compareExact(got[b]!, ref, label) : compare(got[b]!, ref, (i) => tol[i], label)).toBe("");
            x.dispose();
            y.dispose();
          }
          expect(compareBits(got.simd!, got.scalar!, `simd vs scalar ${kind} [${shape}]`)).toBe("");
        }
      }
    }
  });

  it("reduces every axis by default, a run of axes in any order, and negative axes", () => {
    const rng = new Rng(40);
    const shape = [2, 3, 5, 6];
    const data = rng.f32(prod(shape), -2, 2);
    for (const b of BACKENDS) {
      const e = E[b];
      const x = e.tensor(data, shape);
      const all = e.reduce(x, "sum", { keepDims: false });
      expect([...all.shape]).toEqual([1]);
      const r = reduceRef(data, 1, prod(shape), 1, "sum");
      expect(compare(all.toArray(), r.ref, () => r.tol[0], "all")).toBe("");
      const mid = e.reduce(x, "max", { axes: [-2, 1] });
      expect([...mid.shape]).toEqual([2, 1, 1, 6]);
      expect(compareExact(mid.toArray(), reduceRef(data, 2, 15, 6, "max").ref, "axes 1, 2")).toBe("");
      for (const t of [x, all, mid]) t.dispose();
    }
  });

  it("propagates NaN through max and min, and gives logSumExp of infinities as +inf, -inf", () => {
    for (const b of BACKENDS) {
      const e = E[b];
      // Rows of 9 (lanes and tail) and a column layout (inner 5).
      const rows = [
        [1, 2, NaN, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 5, 6, 7, 8, NaN],
        [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
        [0, 1, Infinity, 3, 4, 5, 6, 7, 8],
      ];
      const x = e.tensor(Float32Array.from(rows.flat()), [4, 9]);
      const mx = e.reduce(x, "max", { axes: [1] }).toArray();
      const mn = e.reduce(x, "min", { axes: [1] }).toArray();
      const lse = e.reduce(x, "logSumExp", { axes: [1] }).toArray();
      expect([...mx]).toEqual([NaN, NaN, -Infinity, Infinity]);
      expect([...mn]).toEqual([NaN, NaN, -Infinity, 0]);
      expect([...lse.slice(2)]).toEqual([-Infinity, Infinity]);
      // The same over columns (the strided path): a column of -inf, one with +inf.
      const t = e.tensor(Float32Array.from({ length: 9 * 5 }, (_, i) => (i % 5 === 0 ? -Infinity : i % 5 === 1 && i > 20 ? Infinity : i / 7)), [9, 5]);
      const cols = e.reduce(t, "logSumExp", { axes: [0] }).toArray();
      expect([cols[0], cols[1]]).toEqual([-Infinity, Infinity]);
      expect(cols.slice(2).every(Number.isFinite)).toBe(true);
      x.dispose();
      t.dispose();
    }
  });

  it("writes only its output", () => {
    for (const b of BACKENDS) {
      const e = E[b];
      for (const [shape, axes] of [[[3, 37, 1], [1]], [[2, 5, 37], [1]], [[4, 29], [1]]] as [number[], number[]][]) {
        const x = e.tensor(new Rng(3).f32(prod(shape)), shape);
        const end = ptrOf(x) + allocBytes(x);
        fillSentinel(e, end, end + 4096);
        const before = snapshot(e);
        const y = e.reduce(x, "logSumExp", { axes });
        expect(strayWrites(e, before, [rangeOf(y, "output")], [rangeOf(x, "input")])).toBe("");
        x.dispose();
        y.dispose();
      }
    }
  });

  it("rejects bad options with what was expected", () => {
    const e = E.simd;
    const x = e.tensor(new Float32Array(24), [2, 3, 4]);
    expect(() => e.reduce(x, "median" as never)).toThrow(/kind must be one of sum, mean/);
    expect(() => e.reduce(x, "sum", { axes: [0, 2] })).toThrow(ArgumentError);
    expect(() => e.reduce(x, "sum", { axes: [0, 2] })).toThrow(/adjacent/);
    expect(() => e.reduce(x, "sum", { axes: [3] })).toThrow(/out of range for rank 3/);
    expect(() => e.reduce(x, "sum", { axes: [1, 1] })).toThrow(/given twice/);
    expect(() => e.reduce(x, "sum", { keepDims: 0 as never })).toThrow(/keepDims must be true or false/);
    expect(() => e.reduce(x, "sum", { axis: 1 } as never)).toThrow(/unknown option 'axis'/);
    x.dispose();
  });
});
