// The activations and elementwise math of issue 17 (Elu ... Sign, Pow, Min/Max, LogSoftmax):
// both builds against float64 references (test/activation-reference.ts) over lengths 1..17 and
// larger (every remainder of the 4-lane SIMD body), special values in every lane and the tail,
// bit identity between the builds, and fused into conv/gemm stores.
//
// Tolerances, per element, in u = 2^-24 (float32's unit roundoff), measured on 200k points per
// range and derived from the operations each kernel runs (assembly/activation.ts, math.ts):
//  - exact (sqrt, reciprocal, neg, abs, floor, ceil, round, sign, pow 2 / 0.5 / -1, min, max):
//    one correctly rounded operation or none: equal to fround(reference);
//  - softplus, softsign, mish, silu, erf, log: 8 u |ref| (measured <= 5.7);
//  - elu, celu, selu: alpha (e^x - 1) cancels near 0, where exp's <= 2 u absolute error stays:
//    4 u |ref| + 4 u |alpha| (times gamma for selu; measured <= 1 u absolute);
//  - gelu: erfc(a) = e^(-a^2) R(t), a = |x|/sqrt 2 rounded, so exp's argument carries ~3 u a^2:
//    (16 + 1.6 x^2) u |ref| (measured 59 u at x = -5.8, 258 u at -12.9 against 262);
//  - geluTanh: x sigmoid(2y), 2y = 2 sqrt(2/pi)(x + 0.044715 x^3) rounded ~3 times:
//    (8 + 3 |2y|) u |ref| (measured 105 u at x = -7.8 against 146);
//  - hardSigmoid, hardSwish: alpha x + beta rounds twice and alpha = 1/6 is itself rounded, so
//    near the zero crossing the error is absolute: 2 u |ref| + 4 u (|alpha x| + |beta|), times |x|
//    for hardSwish;
//  - pow, general exponent: exp(p log|x|) carries log's error times p: (4 + 3 |p ln|x||) u |ref|
//    (measured 51 u at p = 7, x = -0.0082, against 105); pow 3 is x*x*x, 2 u.
// Results below float32's normal range get TINY absolute (float32 cannot hold them relatively).
import { beforeAll, describe, expect, it } from "vitest";
import { type Activation, ArgumentError, type Engine, type Tensor, type UnaryFn, layers } from "../src/index.js";
import { REF, logSoftmaxRef } from "./activation-reference.js";
import { BACKENDS, SIZES, TINY, U, compare, compareBits, compareExact, engines, shapeKeepingOnBoth, type BackendName } from "./grid.js";
import { Rng, conv2dRef, gemmRef, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const SHAPES: number[][] = [...SIZES.map((n) => [n]), [31], [64], [1000], [4099], [2, 3], [3, 5, 7], [1, 7, 9, 13]];

const both = (data: Float32Array, shape: number[], f: (e: Engine, x: Tensor) => Tensor) => shapeKeepingOnBoth(E, data, shape, f);

/**
 * compareBits with every NaN made one NaN first: wasm leaves the sign and payload of a NaN an
 * operation produces to the engine (V8's f32.max and f32x4.max differ in the sign), so the two
 * builds must agree on every other bit pattern and on which elements are NaN.
 */
function sameBits(a: Float32Array, b: Float32Array, label?: string): string {
  const canon = (x: Float32Array) => Float32Array.from(x, (v) => (Number.isNaN(v) ? NaN : v));
  return compareBits(canon(a), canon(b), label);
}

const SELU: [number, number] = [1.67326319217681884765625, 1.05070102214813232421875];

interface FnCase {
  name: string;
  fn: UnaryFn;
  ref: (x: number) => number;
  /** Allowed |got - ref| at x; undefined: exact. */
  tol?: (x: number, ref: number) => number;
  ranges: [number, number][];
}

/** ln|x| where finite; 0 at 0 and infinities, where pow's results are exact. */
const finiteLog = (x: number) => (Number.isFinite(Math.log(Math.abs(x))) ? Math.log(Math.abs(x)) : 0);
const rel = (k: number) => (_x: number, r: number) => k * U * Math.abs(r) + TINY;
const hardTol = (alpha: number, beta: number, swish: boolean) => (x: number, r: number) =>
  2 * U * Math.abs(r) + 4 * U * (Math.abs(alpha * x) + Math.abs(beta)) * (swish ? Math.max(1, Math.abs(x)) : 1) + TINY;

const FNS: FnCase[] = [
  { name: "elu", fn: { elu: 1 }, ref: (x) => REF.elu(x), tol: (_x, r) => 4 * U * (Math.abs(r) + 1) + TINY, ranges: [[-20, 5], [-1e-3, 1e-3]] },
  { name: "elu alpha 0.3", fn: { elu: 0.3 }, ref: (x) => REF.elu(x, Math.fround(0.3)), tol: (_x, r) => 4 * U * (Math.abs(r) + 0.3) + TINY, ranges: [[-5, 5]] },
  { name: "selu", fn: { selu: SELU }, ref: (x) => REF.selu(x, Math.fround(SELU[0]), Math.fround(SELU[1])), tol: (_x, r) => 6 * U * (Math.abs(r) + SELU[0] * SELU[1]) + TINY, ranges: [[-20, 5]] },
  { name: "celu alpha 2", fn: { celu: 2 }, ref: (x) => REF.celu(x, 2), tol: (_x, r) => 4 * U * (Math.abs(r) + 2) + TINY, ranges: [[-20, 5]] },
  { name: "hardSigmoid", fn: { hardSigmoid: [0.2, 0.5] }, ref: (x) => REF.hardSigmoid(x, Math.fround(0.2)), tol: hardTol(0.2, 0.5, false), ranges: [[-5, 5]] },
  { name: "hardSwish", fn: "hardSwish", ref: REF.hardSwish, tol: hardTol(1 / 6, 0.5, true), ranges: [[-5, 5], [-100, 100]] },
  { name: "softplus", fn: "softplus", ref: REF.softplus, tol: rel(8), ranges: [[-30, 30], [-100, 100]] },
  { name: "softsign", fn: "softsign", ref: REF.softsign, tol: rel(8), ranges: [[-50, 50]] },
  { name: "mish", fn: "mish", ref: REF.mish, tol: rel(8), ranges: [[-30, 30], [-3, 3]] },
  { name: "gelu", fn: "gelu", ref: REF.gelu, tol: (x, r) => (16 + 1.6 * x * x) * U * Math.abs(r) + TINY, ranges: [[-6, 6], [-13, -5], [-0.8, 0.8]] },
  {
    name: "geluTanh", fn: "geluTanh", ref: REF.geluTanh, ranges: [[-8, 8], [-1, 1]],
    tol: (x, r) => (8 + 3 * Math.abs(2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))) * U * Math.abs(r) + TINY,
  },
  { name: "silu", fn: "silu", ref: REF.silu, tol: rel(8), ranges: [[-30, 30]] },
  { name: "erf", fn: "erf", ref: REF.erf, tol: rel(8), ranges: [[-5, 5], [-0.6, 0.6], [-1e-3, 1e-3]] },
  { name: "log", fn: "log", ref: REF.log, tol: rel(8), ranges: [[0, 3], [0.5, 2], [1, 1e30], [0, 1e-37]] },
  { name: "sqrt", fn: "sqrt", ref: REF.sqrt, ranges: [[0, 100], [-1, 1]] },
  { name: "reciprocal", fn: "reciprocal", ref: REF.reciprocal, ranges: [[-10, 10]] },
  { name: "neg", fn: "neg", ref: REF.neg, ranges: [[-10, 10]] },
  { name: "abs", fn: "abs", ref: REF.abs, ranges: [[-10, 10]] },
  { name: "floor", fn: "floor", ref: REF.floor, ranges: [[-10, 10]] },
  { name: "ceil", fn: "ceil", ref: REF.ceil, ranges: [[-10, 10]] },
  { name: "round", fn: "round", ref: REF.round, ranges: [[-10, 10], [-3e7, 3e7]] },
  { name: "sign", fn: "sign", ref: REF.sign, ranges: [[-10, 10]] },
  { name: "pow 2", fn: { pow: 2 }, ref: (x) => x * x, ranges: [[-10, 10]] },
  { name: "pow 0.5", fn: { pow: 0.5 }, ref: Math.sqrt, ranges: [[0, 10]] },
  { name: "pow -1", fn: { pow: -1 }, ref: (x) => 1 / x, ranges: [[-10, 10]] },
  { name: "pow 3", fn: { pow: 3 }, ref: (x) => x * x * x, tol: rel(2), ranges: [[-10, 10]] },
  ...[1.7, -2.5, 7, 4, 0.3].map((p): FnCase => ({
    name: `pow ${p}`, fn: { pow: p }, ref: (x) => Math.pow(x, Math.fround(p)),
    tol: (x, r) => (4 + 3 * Math.abs(Math.fround(p) * finiteLog(x))) * U * Math.abs(r) + TINY, ranges: [[-20, 20], [0.01, 10]],
  })),
];

/** Values every function must get right, rotated through the four SIMD lanes and the scalar tail. */
const SPECIAL = [
  0, -0, Infinity, -Infinity, NaN, 1, -1, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e-30, -1e-30, 1e-45, -1e-45, 1e-40, 3e38, -3e38, 20, -20,
  88, -88, 100, -100, 0.49999997, 1.4142135, 1.4142137, 1.17549435e-38, 9, -9, 10, -10.5, 4.5, 3,
];

function check(c: FnCase, data: Float32Array, label: string): void {
  const ref = Float64Array.from(data, c.ref);
  const got = both(data, [data.length], (e, x) => e.unary(x, c.fn));
  for (const b of BACKENDS) {
    const where = `${c.name} ${b} ${label}`;
    if (c.tol) {
      const tol = c.tol;
      expect(compare(got[b], ref, (i) => tol(data[i], ref[i]), where)).toBe("");
    } else {
      expect(compareExact(got[b], ref, where)).toBe("");
    }
  }
  expect(sameBits(got.simd, got.scalar, `${c.name} ${label}: simd vs scalar`)).toBe("");
}

describe.each(FNS.map((c) => [c.name, c] as const))("%s: both builds against the float64 reference, bit-identical", (_n, c) => {
  it.each(SHAPES.flatMap((shape) => c.ranges.map((r) => [`[${shape.join(",")}] in [${r.join(", ")}]`, shape, r] as const)))("%s", (_name, shape, [lo, hi]) => {
    const data = new Rng(prod(shape) * 31 + lo * 7 + hi).f32(prod(shape), lo, hi);
    check(c, data, `[${shape}] in [${lo}, ${hi}]`);
  });

  it("special values in every lane and the tail", () => {
    const len = SPECIAL.length + 3;
    for (let shift = 0; shift < 5; shift++) {
      const data = new Float32Array(len);
      for (let i = 0; i < len; i++) data[i] = SPECIAL[(i + shift) % SPECIAL.length];
      check(c, data, `special shift ${shift}`);
    }
  });
});

describe("min, max, pow of two tensors with broadcasting", () => {
  const FORMS = ["same", "channel", "scalar"] as const;
  const cases = SHAPES.flatMap((shape, i) => (["min", "max", "pow"] as const).map((op, j) => [op, shape, FORMS[(i + j) % 3]] as const));
  it.each(cases.map((c) => [`${c[0]} [${c[1]}] ${c[2]}`, ...c] as const))("%s", (_n, op, shape, form) => {
    const rng = new Rng(prod(shape) * 7 + op.length);
    const bShape = form === "same" ? shape : form === "channel" ? [shape[shape.length - 1]] : [1];
    const a = rng.f32(prod(shape), op === "pow" ? -4 : -3, 4);
    const b = op === "pow" ? Float32Array.from({ length: prod(bShape) }, () => rng.pick([2, 3, -1, 0.5, -2.5, 1.7, 0, 5])) : rng.f32(prod(bShape), -3, 3);
    if (op !== "pow" && a.length > 3) a[2] = NaN;
    const bAt = (i: number) => (form === "same" ? b[i] : form === "channel" ? b[i % b.length] : b[0]);
    const ref = Float64Array.from(a, (v, i) => (op === "min" ? (Number.isNaN(v) ? NaN : Math.min(v, bAt(i))) : op === "max" ? (Number.isNaN(v) ? NaN : Math.max(v, bAt(i))) : Math.pow(v, bAt(i))));
    const out = {} as Record<BackendName, Float32Array>;
    for (const be of BACKENDS) {
      const e = E[be];
      const before = e.memoryBytes;
      const at = e.tensor(a, shape);
      const bt = e.tensor(b, bShape);
      const y = e[op](at, bt);
      out[be] = y.toArray();
      for (const t of [at, bt, y]) t.dispose();
      expect(e.memoryBytes).toBe(before);
      if (op === "pow") {
        expect(compare(out[be], ref, (i) => (4 + 3 * Math.abs(bAt(i) * finiteLog(a[i]))) * U * Math.abs(ref[i]) + TINY, `${be} pow`)).toBe("");
      } else {
        expect(compareExact(out[be], ref, `${be} ${op}`)).toBe("");
      }
    }
    expect(sameBits(out.simd, out.scalar)).toBe("");
  });
});

describe("logSoftmax over the last axis: both builds against the float64 reference, bit-identical", () => {
  const COLS = [...SIZES, 31, 64, 1000, 1023];
  const RANGES: [number, number][] = [[-5, 5], [-50, 50], [995, 1005], [-1, 1]];
  it.each(COLS.map((cols, i) => [`[${(i % 5) + 1},${cols}] in [${RANGES[i % 4]}]`, [(i % 5) + 1, cols], RANGES[i % 4]] as const))("%s", (_n, shape, [lo, hi]) => {
    const data = new Rng(prod(shape) * 19 + lo).f32(prod(shape), lo, hi);
    const cols = shape[1];
    const ref = logSoftmaxRef(data, cols);
    // y = (x - max) - log(sum): x - max is exact (Sterbenz, or one rounding of at most u |x - max|
    // when the signs differ); the sum of exps is within (RTOL + (hi - lo) u + cols u) relative, so
    // its log within that much absolute, plus log's own 8 u |log sum|; one more rounding of y.
    const lse = (hi - lo) * U + 67 * U + (cols + 2) * U;
    const got = both(data, shape, (e, x) => e.logSoftmax(x));
    for (const b of BACKENDS) {
      expect(compare(got[b], ref, (i) => 2 * U * Math.abs(ref[i]) + lse + 8 * U * Math.log(cols) + U * (hi - lo), b)).toBe("");
    }
    expect(sameBits(got.simd, got.scalar)).toBe("");
  });
});

describe("fused into the conv and gemm stores: the same bits as the separate op, within the reference", () => {
  const ACTS: [string, UnaryFn, (x: number) => number, number][] = [
    ["elu", { elu: 0.7 }, (x) => REF.elu(x, Math.fround(0.7)), 1],
    ["selu", { selu: SELU }, (x) => REF.selu(x, Math.fround(SELU[0]), Math.fround(SELU[1])), SELU[0] * SELU[1]],
    ["celu", { celu: 1.5 }, (x) => REF.celu(x, 1.5), 1],
    ["hardSigmoid", { hardSigmoid: [0.25, 0.4] }, (x) => REF.hardSigmoid(x, 0.25, Math.fround(0.4)), 0.25],
    ["hardSwish", "hardSwish", REF.hardSwish, 1.5],
    ["softplus", "softplus", REF.softplus, 1],
    ["softsign", "softsign", REF.softsign, 1],
    ["mish", "mish", REF.mish, 1.1],
    ["gelu", "gelu", REF.gelu, 1.13],
    ["geluTanh", "geluTanh", REF.geluTanh, 1.13],
    ["silu", "silu", REF.silu, 1.1],
  ];
  it.each(ACTS)("%s", (_name, act, ref, slope) => {
    const rng = new Rng(_name.length * 101);
    const [h, w, ci, co, k] = [7, 9, 5, 11, 3];
    const x = rng.f32(h * w * ci, -2, 2);
    const wt = rng.f32(co * k * k * ci, -1, 1);
    const bias = rng.f32(co, -0.5, 0.5);
    const r = conv2dRef(x, wt, bias, { n: 1, h, w, cin: ci, cout: co, kh: k, kw: k, strides: [1, 1], dilations: [1, 1], padding: "same", groups: 1 });
    const m = 13;
    const kk = 21;
    const n = 10;
    const a = rng.f32(m * kk, -1, 1);
    const b = rng.f32(kk * n, -1, 1);
    const g = gemmRef(a, b, undefined, undefined, { m, k: kk, n, transA: false, transB: false, alpha: 1, beta: 1 });
    const out: Record<string, Float32Array> = {};
    for (const be of BACKENDS) {
      const e = E[be];
      const before = e.memoryBytes;
      const xt = e.tensor(x, [1, h, w, ci]);
      const wten = e.tensor(wt, [co, k, k, ci]);
      const fused = e.prepareConv2d(wten, { padding: "same", bias, activation: act as never });
      const plain = e.prepareConv2d(wten, { padding: "same", bias });
      const y1 = fused.run(xt);
      const y0 = plain.run(xt);
      const y2 = e.unary(y0, act as UnaryFn);
      out[`conv ${be}`] = y1.toArray();
      expect(sameBits(y1.toArray(), y2.toArray(), `${be} conv fused vs separate`)).toBe("");
      const at = e.tensor(a, [m, kk]);
      const bten = e.tensor(b, [kk, n]);
      const gf = e.prepareGemm(bten, { activation: act as never });
      const gy = gf.run(at);
      out[`gemm ${be}`] = gy.toArray();
      const refC = Float64Array.from(r.value, ref);
      expect(compare(y1.toArray(), refC, (i) => 300 * U * Math.abs(refC[i]) + slope * (9 * ci + 8) * U * r.mag[i] + 8 * U, `${be} conv`)).toBe("");
      const refG = Float64Array.from(g.value, ref);
      expect(compare(gy.toArray(), refG, (i) => 300 * U * Math.abs(refG[i]) + slope * (kk + 8) * U * g.mag[i] + 8 * U, `${be} gemm`)).toBe("");
      for (const t of [xt, y1, y0, y2, at, gy, wten, bten]) t.dispose();
      for (const op of [fused, plain, gf]) op.dispose();
      expect(e.memoryBytes).toBe(before);
    }
    expect(sameBits(out["conv simd"], out["conv scalar"])).toBe("");
    expect(sameBits(out["gemm simd"], out["gemm scalar"])).toBe("");
  });
});

describe("the layers API writes each activation so that it fuses into the conv", () => {
  const ACTS: Activation[] = [{ elu: 0.5 }, { celu: 2 }, { selu: SELU }, { hardSigmoid: [0.3, 0.4] }, "softplus", "softsign", "silu", "hardSwish", "mish", "gelu"];
  it.each(ACTS.map((a) => [JSON.stringify(a), a] as const))("%s", (_n, act) => {
    const rng = new Rng(_n.length * 7);
    const w = rng.f32(5 * 3 * 3 * 4, -0.5, 0.5);
    const x = rng.f32(6 * 7 * 4, -2, 2);
    for (const be of BACKENDS) {
      const e = E[be];
      const model = e.sequential([layers.input([6, 7, 4]), layers.conv2d({ filters: 5, kernel: 3, weights: w, padding: "same", activation: act })]);
      const got = model.run({ input: x }).output;
      expect(model.summary().split("\n").filter((l) => /^(conv|unary|binary)/.test(l.trim())).map((l) => l.trim().split(/\s{2,}/)[0]), model.summary())
        .toEqual([`conv 3x3 4->5 +${typeof act === "string" ? act : JSON.stringify(act)}`]);
      model.dispose();
      const wt = e.tensor(w, [5, 3, 3, 4]);
      const xt = e.tensor(x, [1, 6, 7, 4]);
      const op = e.prepareConv2d(wt, { padding: "same", activation: act });
      const y = op.run(xt);
      expect(sameBits(got, y.toArray(), `${be} layers vs conv2d`)).toBe("");
      for (const t of [wt, xt, y]) t.dispose();
      op.dispose();
    }
  });

  it("geluTanh has no opset 13 form: a typed error", () => {
    expect(() => E.simd.sequential([layers.input([4, 4, 1]), layers.conv2d({ filters: 1, kernel: 1, weights: new Float32Array(1), activation: "geluTanh" })])).toThrow(ArgumentError);
  });
});

describe("argument errors", () => {
  it.each([
    [{ elu: NaN }, /elu expects a finite alpha/],
    [{ celu: 0 }, /celu divides by alpha/],
    [{ selu: [1] }, /selu expects \[alpha, gamma\]/],
    [{ hardSigmoid: [0.2, Infinity] }, /hardSigmoid expects \[alpha, beta\]/],
    [{ pow: NaN }, /pow expects a number exponent/],
    ["swish", /unknown function "swish".*erf/],
    [{ swish: 1 }, /unknown activation/],
  ])("%j", (fn, re) => {
    const e = E.simd;
    const x = e.tensor(new Float32Array(4), [4]);
    expect(() => e.unary(x, fn as UnaryFn)).toThrow(re);
    x.dispose();
  });

});
