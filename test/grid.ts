// Shared test machinery: one engine per build, the error bounds every comparison uses (and why),
// comparison helpers that report the worst elements, and the deterministic case generators.
import { expect } from "vitest";
import { init, type Engine, type Tensor } from "../src/index.js";
import { Rng } from "./reference.js";

export const BACKENDS = ["simd", "scalar"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** One engine per build, created once per test file. */
export async function engines(): Promise<Record<BackendName, Engine>> {
  const [simd, scalar] = await Promise.all([init({ backend: "simd" }), init({ backend: "scalar" })]);
  return { simd, scalar };
}

// ---------------------------------------------------------------------------------------------
// Tolerances.
//
// u = 2^-24 is the unit roundoff of float32. The inputs of every test are float32 values, and the
// references accumulate them in float64, so a reference is the exact result to ~1e-16 relative;
// every bound below is the float32 engine's own rounding error.
//
// Dot products (conv2d, gemm). The engine computes bias + x0*w0 + x1*w1 + ... in float32, one
// rounding per product and one per addition. The classic bound for a recursive sum of K rounded
// products is |got - exact| <= gamma(K+1) * (|bias| + sum |x_i w_i|) with gamma(n) = n*u/(1-n*u),
// whatever the order of summation. gemm folds alpha into the packed weights (one more rounding of
// each product), beta*c into the bias or a residual added at the end (one rounding each), and the
// activation adds one more; so we allow (K + 4) * u * mag, where mag is that sum of |terms| as
// the reference computes it. An error made before the activation is scaled by at most the
// activation's slope (1 for relu/clip/tanh, 1/4 for sigmoid, max(1, |alpha|) for leaky relu).
// This is far above the typical error (~sqrt(K) * u * mag) but still fails on a single missing,
// duplicated or misplaced product: one product is ~mag/K, while the bound is ~K*u*mag, and
// K^2 * u < 1 for every K here (K <= 7*7*17 = 833 in the conv grid: 833^2 * 6e-8 = 0.04).
// The larger GEMM cases (K up to 17000) use the same bound; it stays a relative error of at most
// ~1e-3 of mag there, which a wrong row or column still exceeds by orders of magnitude.
//
// exp, sigmoid and tanh are polynomial approximations in assembly/activation.ts, measured at
// <= 1.6 ulp (exp), <= 2.5 ulp (sigmoid) and <= 4.2 ulp (tanh, worst near its branch at |x| =
// 0.3) over their whole ranges. We allow TRANSCENDENTAL_RTOL = 4e-6 (~67 ulp): room for a
// different polynomial, while a wrong coefficient or range reduction gives errors of 1e-5 and
// more. Results that are subnormal or underflow to 0 in float32 get the absolute tolerance
// TINY (float32 cannot hold them to any relative accuracy).
//
// Pooling: max is exact (it only selects). Average pooling sums `count` float32 values and divides
// once: |err| <= (count + 1) * u * sum|x| / count + u * |ref|.
//
// relu, clip and the binary ops are exact: a float32 +, -, *, / is the float64 result rounded
// to float32, so those are compared with Math.fround(reference) bit for bit. leakyRelu
// multiplies by alpha rounded to float32: 2 u relative.

export const U = 2 ** -24;
export const TRANSCENDENTAL_RTOL = 4e-6;
/** Below the smallest normal float32 (1.18e-38): values float32 cannot hold to relative accuracy. */
export const TINY = 1.2e-38;

export function dotBound(k: number, mag: number, slope: number): number {
  return slope * (k + 4) * U * mag;
}

export function activationRtol(act: unknown): number {
  return act === "sigmoid" || act === "tanh" ? TRANSCENDENTAL_RTOL : 2 * U;
}

/**
 * Compares got to ref element by element, |got - ref| <= bound(i). Returns "" when every element
 * passes, else a description of the count and the worst few failures.
 */
export function compare(got: ArrayLike<number>, ref: ArrayLike<number>, bound: (i: number) => number, label = ""): string {
  if (got.length !== ref.length) return `${label}: length ${got.length}, expected ${ref.length}`;
  const bad: { i: number; got: number; ref: number; err: number; tol: number }[] = [];
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const r = ref[i];
    if (Number.isNaN(r)) {
      if (!Number.isNaN(g)) bad.push({ i, got: g, ref: r, err: Infinity, tol: 0 });
      continue;
    }
    // A reference beyond float32's range must come out as the infinity float32 rounds it to.
    const rf = Math.fround(r);
    if (!Number.isFinite(rf)) {
      if (g !== rf) bad.push({ i, got: g, ref: r, err: Infinity, tol: 0 });
      continue;
    }
    const err = Math.abs(g - r);
    const tol = bound(i);
    if (!(err <= tol)) bad.push({ i, got: g, ref: r, err, tol });
  }
  if (bad.length === 0) return "";
  bad.sort((a, b) => b.err / (b.tol || 1e-300) - a.err / (a.tol || 1e-300));
  const show = bad
    .slice(0, 4)
    .map((b) => `[${b.i}] got ${b.got} ref ${b.ref} |err| ${b.err.toExponential(2)} > tol ${b.tol.toExponential(2)}`)
    .join("; ");
  return `${label}: ${bad.length} of ${got.length} elements out of tolerance: ${show}`;
}

/** Exact comparison with Math.fround(ref) (also -0 vs +0 and NaN payload-agnostic). */
export function compareExact(got: Float32Array, ref: ArrayLike<number>, label = ""): string {
  if (got.length !== ref.length) return `${label}: length ${got.length}, expected ${ref.length}`;
  let count = 0;
  let first = "";
  for (let i = 0; i < got.length; i++) {
    const r = Math.fround(ref[i]);
    const ok = Number.isNaN(r) ? Number.isNaN(got[i]) : Object.is(got[i], r) || (got[i] === 0 && r === 0);
    if (!ok) {
      if (count < 4) first += `[${i}] got ${got[i]} expected ${r}; `;
      count++;
    }
  }
  return count === 0 ? "" : `${label}: ${count} of ${got.length} elements differ: ${first}`;
}

/** "" when a and b hold the same bits, else the first differing elements. */
export function compareBits(a: Float32Array | Int32Array, b: Float32Array | Int32Array, label = "simd vs scalar"): string {
  if (a.length !== b.length) return `${label}: length ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let count = 0;
  let first = "";
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) {
      if (count < 4) first += `[${i}] ${a[i]} (0x${ua[i].toString(16)}) vs ${b[i]} (0x${ub[i].toString(16)}); `;
      count++;
    }
  }
  return count === 0 ? "" : `${label}: ${count} of ${a.length} elements differ in their bits: ${first}`;
}

export function shapeOf(t: Tensor): number[] {
  return [...t.shape];
}

// ---------------------------------------------------------------------------------------------
// Case generators. Each walks the parameter lists with a seeded PRNG, but the dimensions the
// issue names (sizes 1..17, channel counts, strides, dilations, kernels) are assigned round-robin
// (case i takes list[(i * step + offset) % length], steps coprime to the lengths) so that every
// value of every list is guaranteed to appear, independently of the seed's luck. The test files
// also assert that coverage.

export const SIZES = Array.from({ length: 17 }, (_, i) => i + 1);
export const ACTIVATIONS = [
  "none", "relu", "relu6", "sigmoid", "tanh", { clip: [-0.25, 0.5] as [number, number] }, { leakyRelu: 0.1 }, { leakyRelu: -1.5 },
] as const;

export function roundRobin<T>(list: readonly T[], i: number, step: number, offset = 0): T {
  return list[(i * step + offset) % list.length];
}

export function newRng(seed: number): Rng {
  return new Rng(seed);
}

/** How a grid case reaches a weighted op: one eager call, a prepared op, or a prepared op writing into a caller's tensor. */
export const API_MODES = ["once", "prepared", "into"] as const;
export type ApiMode = (typeof API_MODES)[number];

interface PreparedOp {
  run(x: Tensor, out?: Tensor): Tensor;
  dispose(): void;
}

/**
 * Runs an op on x the way `mode` says and returns its output (the caller disposes it). In "into"
 * the output is a NaN-filled tensor of outShape that run must return as it is, and a second run
 * into it, on the plan the first one made, must give the same bits.
 */
export function runInMode(e: Engine, mode: ApiMode, x: Tensor, outShape: number[], once: () => Tensor, prepare: () => PreparedOp): Tensor {
  if (mode === "once") return once();
  const op = prepare();
  try {
    if (mode === "prepared") return op.run(x);
    const out = e.tensor(new Float32Array(outShape.reduce((p, q) => p * q, 1)).fill(NaN), outShape);
    const y = op.run(x, out);
    if (y !== out) throw new Error("run(x, out) returned another tensor than out");
    const first = out.toArray();
    op.run(x, out);
    const again = compareBits(out.toArray(), first, "second run into the same output");
    if (again !== "") throw new Error(again);
    return out;
  } finally {
    op.dispose();
  }
}

/**
 * Runs a shape-keeping op f on x in each build and returns the outputs; checks the output's shape,
 * that x is unchanged, and that nothing is left allocated.
 */
export function shapeKeepingOnBoth(E: Record<BackendName, Engine>, data: Float32Array, shape: number[], f: (e: Engine, x: Tensor) => Tensor): Record<BackendName, Float32Array> {
  const out = {} as Record<BackendName, Float32Array>;
  for (const b of BACKENDS) {
    const e = E[b];
    const before = e.memoryBytes;
    const x = e.tensor(data, shape);
    const y = f(e, x);
    expect([...y.shape]).toEqual(shape);
    out[b] = y.toArray();
    expect(x.toArray(), "input unchanged").toEqual(data);
    x.dispose();
    y.dispose();
    expect(e.memoryBytes).toBe(before);
  }
  return out;
}

/** NCHW [n, c, h, w] data as NHWC. */
export function nchwToNhwc(data: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) for (let j = 0; j < c; j++) for (let p = 0; p < h * w; p++) out[(b * h * w + p) * c + j] = data[(b * c + j) * h * w + p];
  return out;
}

/** NHWC [n, h, w, c] data as NCHW. */
export function nhwcToNchw(data: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) for (let j = 0; j < c; j++) out[(b * c + j) * h * w + p] = data[(b * h * w + p) * c + j];
  return out;
}
