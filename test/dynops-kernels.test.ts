// The kernels of integer tensors and data-dependent selection (compare/logic/where/cast, gather,
// gather elements, topk, nms) through their prepared ops, on grids of sizes with remainders in
// every dimension (1..19 elements: the SIMD loops' 4-lane bodies and every tail), against exact
// references computed here in float64 / plain JS: every result is a comparison, a moved bit
// pattern, an index, or one IEEE conversion, so the tolerance is 0 (bits). Both builds must give
// the same bits; 64 guard bytes on each side of every output must stay untouched.
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { Cast, type CastKind } from "../src/ops/cast.js";
import { Compare } from "../src/ops/compare.js";
import { Gather, GatherElements, GatherND } from "../src/ops/gather.js";
import { NonMaxSuppression, type NmsOptions } from "../src/ops/nms.js";
import { ScatterND } from "../src/ops/scatter.js";
import type { PreparedOp } from "../src/ops/op.js";
import { TopK } from "../src/ops/topk.js";
import { Where } from "../src/ops/where.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { BACKENDS, type BackendName, engines } from "./grid.js";
import { SENTINEL } from "./memory.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;
const GUARD = 64;

/** Bits of a float. */
const bits = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0];
const fl = (b: number) => new Float32Array(Int32Array.of(b).buffer)[0];

/**
 * Runs op on inputs (32-bit elements given as their int32 bits) with an output of `outLen`
 * elements between guards; returns the output's bits, failing if a guard byte changed.
 */
function run(b: BackendName, make: (rt: Runtime) => PreparedOp, inputs: { bits: Int32Array; shape: number[] }[], outLen: number): Int32Array {
  const rt = rtOf(E[b]);
  const op = make(rt);
  const ptrs = inputs.map((x) => {
    const p = rt.heap.alloc(Math.max(4, x.bits.length * 4));
    rt.heap.i32.set(x.bits, p / 4);
    return p;
  });
  const base = rt.heap.alloc(outLen * 4 + 2 * GUARD);
  try {
    rt.heap.i32.fill(SENTINEL, base / 4, base / 4 + outLen + (2 * GUARD) / 4);
    op.bind(inputs.map((x) => x.shape));
    const y = base + GUARD;
    op.exec(ptrs, y);
    const i32 = rt.heap.i32;
    const guards = [...i32.subarray(base / 4, y / 4), ...i32.subarray(y / 4 + outLen, y / 4 + outLen + GUARD / 4)];
    expect(guards.every((g) => g === SENTINEL), `${b}: guard bytes written`).toBe(true);
    return i32.slice(y / 4, y / 4 + outLen);
  } finally {
    op.dispose();
    for (const p of ptrs) rt.heap.release(p);
    rt.heap.release(base);
  }
}

/** Runs on both builds, checks they agree bit for bit and with the reference bits. */
function both(make: (rt: Runtime) => PreparedOp, inputs: { bits: Int32Array; shape: number[] }[], ref: ArrayLike<number>, label: string): void {
  const got = BACKENDS.map((b) => run(b, make, inputs, ref.length));
  expect([...got[0]], `${label}: simd vs scalar`).toEqual([...got[1]]);
  expect([...got[0]], label).toEqual([...Int32Array.from(ref)]);
}

const F_POOL = [-2, -1, -0, 0, 0.5, 1, 2, Infinity, -Infinity, NaN, 3.25];
const I_POOL = [-(2 ** 31), -7, -1, 0, 1, 2, 7, 2 ** 31 - 1];

function floatsBits(rng: Rng, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => bits(rng.pick(F_POOL)));
}

/** [rows, cols] with the second operand the same size, a vector over cols, or a scalar. */
const GRID: [number, number, "full" | "row" | "scalar"][] = [];
for (let cols = 1; cols <= 19; cols++) for (const kind of ["full", "row", "scalar"] as const) GRID.push([1 + (cols % 3), cols, kind]);

describe("comparisons and logic: both builds against exact references", () => {
  const CMP = { eq: (a: number, b: number) => a === b, gt: (a: number, b: number) => a > b, ge: (a: number, b: number) => a >= b, lt: (a: number, b: number) => a < b, le: (a: number, b: number) => a <= b };
  it.each(GRID)("[%i, %i] b %s", (rows, cols, kind) => {
    const rng = new Rng(rows * 100 + cols);
    const n = rows * cols;
    const bn = kind === "full" ? n : kind === "row" ? cols : 1;
    const bShape = kind === "full" ? [rows, cols] : kind === "row" ? [cols] : [1];
    for (const [name, f] of Object.entries(CMP)) {
      const a = floatsBits(rng, n);
      const b = floatsBits(rng, bn);
      const ref = Array.from({ length: n }, (_, i) => (f(fl(a[i]), fl(b[i % bn])) ? 1 : 0));
      both((rt) => new Compare(rt, name as keyof typeof CMP, "f32"), [{ bits: a, shape: [rows, cols] }, { bits: b, shape: bShape }], ref, `f32 ${name}`);
      const ai = Int32Array.from({ length: n }, () => rng.pick(I_POOL));
      const bi = Int32Array.from({ length: bn }, () => rng.pick(I_POOL));
      const refI = Array.from({ length: n }, (_, i) => (f(ai[i], bi[i % bn]) ? 1 : 0));
      both((rt) => new Compare(rt, name as keyof typeof CMP, "i32"), [{ bits: ai, shape: [rows, cols] }, { bits: bi, shape: bShape }], refI, `i32 ${name}`);
    }
    for (const [name, f] of Object.entries({ and: (p: number, q: number) => p & q, or: (p: number, q: number) => p | q, xor: (p: number, q: number) => p ^ q })) {
      const a = Int32Array.from({ length: n }, () => (rng.bool() ? 1 : 0));
      const b = Int32Array.from({ length: bn }, () => (rng.bool() ? 1 : 0));
      both((rt) => new Compare(rt, name as "and", "bool"), [{ bits: a, shape: [rows, cols] }, { bits: b, shape: bShape }], Array.from(a, (v, i) => f(v, b[i % bn])), `logic ${name}`);
    }
  });
});

describe("where and cast: both builds against exact references", () => {
  it.each(Array.from({ length: 19 }, (_, i) => i + 1))("%i elements", (n) => {
    const rng = new Rng(300 + n);
    // Where moves bits whole: any pattern, NaN payloads included.
    const c = Int32Array.from({ length: n }, () => rng.pick([0, 1, -5, 2 ** 31 - 1]));
    const a = Int32Array.from({ length: n }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
    const b = Int32Array.from({ length: n }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
    both((rt) => new Where(rt), [{ bits: c, shape: [n] }, { bits: a, shape: [n] }, { bits: b, shape: [n] }], Array.from(c, (v, i) => (v !== 0 ? a[i] : b[i])), "where");

    const floats = [NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), -(2 ** 31) - 256, 1e10, -1e10, -0.5, 0.5, -0, 2.75, -2.75, 16777217, 2 ** 31 - 128];
    const fx = Int32Array.from({ length: n }, () => bits(rng.pick(floats)));
    const trunc = (v: number) => (Number.isNaN(v) ? 0 : v >= 2 ** 31 ? 2 ** 31 - 1 : v < -(2 ** 31) ? -(2 ** 31) : Math.trunc(v) | 0);
    const ints = [0, 1, -1, 16777217, -16777219, 2 ** 31 - 1, -(2 ** 31), 123456789];
    const ix = Int32Array.from({ length: n }, () => rng.pick(ints));
    const cases: [CastKind, Int32Array, (v: number) => number][] = [
      ["f32_i32", fx, (v) => trunc(fl(v))],
      ["f32_bool", fx, (v) => (fl(v) !== 0 ? 1 : 0)],
      // Math.fround of an int32 is round to nearest even, as f32.convert_i32_s.
      ["i32_f32", ix, (v) => bits(Math.fround(v))],
      ["i32_bool", ix, (v) => (v !== 0 ? 1 : 0)],
    ];
    for (const [kind, x, f] of cases) both((rt) => new Cast(rt, kind), [{ bits: x, shape: [n] }], Array.from(x, f), `cast ${kind}`);
  });
});

describe("gathers: both builds against exact references", () => {
  const SHAPES = [[1, 1, 1], [2, 3, 5], [3, 7, 1], [1, 9, 6], [4, 2, 3]];
  it.each(SHAPES.flatMap((s) => [0, 1, 2].map((axis) => [s, axis] as const)))("[%j] axis %i", (shape, axis) => {
    const rng = new Rng(prod(shape) * 7 + axis);
    const x = Int32Array.from({ length: prod(shape) }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
    const d = shape[axis];
    const outer = prod(shape.slice(0, axis));
    const inner = prod(shape.slice(axis + 1));
    // Indices in [-d, d) and a few outside, which read zeros.
    const pick = () => (rng.bool(0.1) ? rng.pick([d, -d - 1, 1000]) : rng.int(-d, d - 1));
    const wrap = (j: number) => (j < 0 ? j + d : j);
    const ok = (j: number) => wrap(j) >= 0 && wrap(j) < d;
    for (const count of [1, 5]) {
      const idx = Int32Array.from({ length: count }, pick);
      const ref: number[] = [];
      for (let o = 0; o < outer; o++) for (const j of idx) for (let k = 0; k < inner; k++) ref.push(ok(j) ? x[(o * d + wrap(j)) * inner + k] : 0);
      both((rt) => new Gather(rt, axis), [{ bits: x, shape }, { bits: idx, shape: [count] }], ref, `gather ${count}`);
    }
    for (const q of [1, d + 2]) {
      const ishape = shape.map((v, i) => (i === axis ? q : v));
      const idx = Int32Array.from({ length: prod(ishape) }, pick);
      const ref = Array.from(idx, (j, at) => {
        const o = Math.floor(at / (q * inner));
        const k = at % inner;
        return ok(j) ? x[(o * d + wrap(j)) * inner + k] : 0;
      });
      both((rt) => new GatherElements(rt, axis), [{ bits: x, shape }, { bits: idx, shape: ishape }], ref, `gatherElements ${q}`);
    }
  });
});

describe("gatherND: both builds against exact references", () => {
  const CASES: [number[], number[], number][] = [[[1], [1, 1], 0], [[4, 5, 3], [7, 2], 0], [[2, 3, 5], [2, 3, 3], 0], [[3, 5, 7], [3, 4, 1], 1], [[2, 3, 5, 2], [2, 3, 2], 1], [[2, 3, 5], [2, 3, 1], 2]];
  it.each(CASES)("data [%j] indices [%j] batchDims %i", (shape, ishape, b) => {
    const rng = new Rng(prod(shape) + prod(ishape) + b);
    const x = Int32Array.from({ length: prod(shape) }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
    const k = ishape[ishape.length - 1];
    const idx = Int32Array.from({ length: prod(ishape) }, (_, at) => {
      const d = shape[b + (at % k)];
      return rng.bool(0.1) ? rng.pick([d, -d - 1]) : rng.int(-d, d - 1);
    });
    const batches = prod(shape.slice(0, b));
    const count = prod(ishape.slice(b, -1));
    const slice = prod(shape.slice(b + k));
    const block = prod(shape.slice(b));
    const ref: number[] = [];
    for (let bi = 0; bi < batches; bi++) {
      for (let q = 0; q < count; q++) {
        let off = 0;
        let ok = true;
        for (let j = 0; j < k; j++) {
          const d = shape[b + j];
          const v = idx[(bi * count + q) * k + j];
          const w = v < 0 ? v + d : v;
          if (w < 0 || w >= d) ok = false;
          off += w * prod(shape.slice(b + j + 1));
        }
        for (let e = 0; e < slice; e++) ref.push(ok ? x[bi * block + off + e] : 0);
      }
    }
    both((rt) => new GatherND(rt, b), [{ bits: x, shape }, { bits: idx, shape: ishape }], ref, "gatherND");
  });
});

describe("scatterND: both builds against exact references", () => {
  const CASES: [number[], number[]][] = [[[1], [1, 1]], [[4, 5, 3], [7, 1]], [[4, 5, 3], [5, 2]], [[2, 3, 5], [2, 3, 3]], [[9], [13, 1]]];
  it.each(CASES)("data [%j] indices [%j] (repeats: the last wins; outside: skipped)", (shape, ishape) => {
    const rng = new Rng(prod(shape) * 3 + prod(ishape));
    const x = Int32Array.from({ length: prod(shape) }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
    const k = ishape[ishape.length - 1];
    const count = prod(ishape.slice(0, -1));
    const slice = prod(shape.slice(k));
    const idx = Int32Array.from({ length: prod(ishape) }, (_, at) => {
      const d = shape[at % k];
      return rng.bool(0.1) ? rng.pick([d, -d - 1]) : rng.int(-d, d - 1);
    });
    const upd = Int32Array.from({ length: count * slice }, () => rng.int(-(2 ** 31), 2 ** 31 - 1));
    const ref = [...x];
    for (let q = 0; q < count; q++) {
      let off = 0;
      let ok = true;
      for (let j = 0; j < k; j++) {
        const d = shape[j];
        const v = idx[q * k + j];
        const w = v < 0 ? v + d : v;
        if (w < 0 || w >= d) ok = false;
        off += w * prod(shape.slice(j + 1));
      }
      if (ok) for (let e = 0; e < slice; e++) ref[off + e] = upd[q * slice + e];
    }
    const ushape = [...ishape.slice(0, -1), ...shape.slice(k)];
    both((rt) => new ScatterND(rt), [{ bits: x, shape }, { bits: idx, shape: ishape }, { bits: upd, shape: ushape }], ref, "scatterND");
  });
});

describe("topk: both builds against a stable sort", () => {
  const CASES: [number[], number, number, boolean][] = [
    [[1, 1], 1, 1, true], [[3, 9, 5], 1, 4, true], [[3, 9, 5], 1, 9, false], [[2, 17], 1, 6, false], [[19, 2], 0, 19, true], [[2, 33, 3], 1, 7, true],
  ];
  it.each(CASES)("[%j] axis %i k %i largest %s", (shape, axis, k, largest) => {
    const rng = new Rng(prod(shape) + k);
    const x = Float32Array.from({ length: prod(shape) }, () => (rng.bool(0.5) ? rng.pick([-1, 0, 0.5, NaN, -0]) : rng.uniform(-2, 2)));
    const d = shape[axis];
    const outer = prod(shape.slice(0, axis));
    const inner = prod(shape.slice(axis + 1));
    // NaN is larger than every number; -0 and 0 are equal.
    const key = (v: number) => (Number.isNaN(v) ? Infinity : v);
    const rank = (p: number, q: number, line: (j: number) => number) => {
      const [a, b] = [line(p), line(q)];
      const nanA = Number.isNaN(a);
      const nanB = Number.isNaN(b);
      if (nanA || nanB) return nanA === nanB ? p - q : largest ? (nanA ? -1 : 1) : nanA ? 1 : -1;
      return (largest ? key(b) - key(a) : key(a) - key(b)) || p - q;
    };
    const ref = new Array<number>(outer * k * inner);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < inner; c++) {
        const line = (j: number) => x[(o * d + j) * inner + c];
        const order = Array.from({ length: d }, (_, j) => j).sort((p, q) => rank(p, q, line));
        for (let j = 0; j < k; j++) ref[(o * k + j) * inner + c] = order[j];
      }
    }
    const xb = new Int32Array(x.buffer);
    both((rt) => new TopK(rt, axis, k, largest), [{ bits: xb, shape }], ref, "topk");
  });
});

describe("nms: both builds against a float32 reference", () => {
  /** ONNX's rule, each operation rounded to float32 as the kernel computes it. */
  function iouAbove(a: number[], b: number[], center: boolean, thr: number): boolean {
    const f = Math.fround;
    const corners = (q: number[]) => center
      ? [f(q[1] - f(q[3] / 2)), f(q[0] - f(q[2] / 2)), f(q[1] + f(q[3] / 2)), f(q[0] + f(q[2] / 2))]
      : [Math.min(q[0], q[2]), Math.min(q[1], q[3]), Math.max(q[0], q[2]), Math.max(q[1], q[3])];
    const [y0, x0, y1, x1] = corners(a);
    const [v0, u0, v1, u1] = corners(b);
    const iw = f(Math.min(x1, u1) - Math.max(x0, u0));
    const ih = f(Math.min(y1, v1) - Math.max(y0, v0));
    if (Math.min(x1, u1) <= Math.max(x0, u0) || Math.min(y1, v1) <= Math.max(y0, v0)) return false;
    const inter = f(iw * ih);
    const a1 = f(f(x1 - x0) * f(y1 - y0));
    const a2 = f(f(u1 - u0) * f(v1 - v0));
    const union = f(f(a1 + a2) - inter);
    if (inter <= 0 || a1 <= 0 || a2 <= 0 || union <= 0) return false;
    return f(inter / union) > thr;
  }

  function reference(boxes: Float32Array, scores: Float32Array, b: number, c: number, n: number, o: NmsOptions): number[] {
    const rows: number[] = [];
    for (let bi = 0; bi < b; bi++) {
      for (let ci = 0; ci < c; ci++) {
        const s = (j: number) => scores[(bi * c + ci) * n + j];
        const cand = Array.from({ length: n }, (_, j) => j).filter((j) => o.scoreThreshold === undefined || s(j) > o.scoreThreshold);
        cand.sort((p, q) => s(q) - s(p) || p - q);
        const kept: number[] = [];
        const box = (j: number) => [...boxes.subarray((bi * n + j) * 4, (bi * n + j) * 4 + 4)];
        for (const j of cand) {
          if (kept.length >= o.maxOutputBoxesPerClass) break;
          if (kept.some((k) => iouAbove(box(k), box(j), o.centerPointBox, Math.fround(o.iouThreshold)))) continue;
          kept.push(j);
          rows.push(bi, ci, j);
        }
      }
    }
    return rows;
  }

  const CASES: [number, number, number, NmsOptions][] = [
    [1, 1, 1, { maxOutputBoxesPerClass: 1, iouThreshold: 0.5, centerPointBox: false }],
    [1, 2, 13, { maxOutputBoxesPerClass: 13, iouThreshold: 0.3, centerPointBox: false }],
    [2, 3, 9, { maxOutputBoxesPerClass: 4, iouThreshold: 0.5, scoreThreshold: 0.3, centerPointBox: true }],
    [1, 1, 40, { maxOutputBoxesPerClass: 40, iouThreshold: 0, centerPointBox: false }],
    [3, 1, 7, { maxOutputBoxesPerClass: 0, iouThreshold: 0.5, centerPointBox: false }],
  ];
  it.each(CASES)("%i batches, %i classes, %i boxes, %j", (b, c, n, o) => {
    const rng = new Rng(b * 1000 + c * 100 + n);
    const boxes = Float32Array.from({ length: b * n * 4 }, (_, i) => (o.centerPointBox && i % 4 >= 2 ? rng.uniform(0, 0.4) : rng.uniform(0, 1)));
    const scores = Float32Array.from({ length: b * c * n }, () => (rng.bool(0.3) ? 0.5 : rng.uniform(0, 1)));
    const rows = NonMaxSuppression.rowsFor([b, n, 4], [b, c, n], o.maxOutputBoxesPerClass);
    const found = reference(boxes, scores, b, c, n, o);
    const ref = [...found, ...new Array<number>(rows * 3 - found.length).fill(0), found.length / 3];
    both((rt) => new NonMaxSuppression(rt, o), [{ bits: new Int32Array(boxes.buffer), shape: [b, n, 4] }, { bits: new Int32Array(scores.buffer), shape: [b, c, n] }], ref, "nms");
  });
});
