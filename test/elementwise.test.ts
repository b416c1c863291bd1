// Unary ops (relu, sigmoid, tanh, exp, clip, leakyRelu), binary ops with broadcasting and softmax
// against the float64 reference, in both builds, and bit identity between the builds. Lengths
// cover 1..17 (every remainder mod 4 for the 4-lane SIMD body and its scalar tail) and larger.
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine, Tensor } from "../src/index.js";
import { BACKENDS, SIZES, TINY, TRANSCENDENTAL_RTOL, U, compare, compareBits, compareExact, engines, shapeKeepingOnBoth, type BackendName } from "./grid.js";
import { type BinaryName, Rng, binaryRef, clipRef, leakyReluRef, prod, softmaxRef, unaryRef } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const SHAPES: number[][] = [
  ...SIZES.map((n) => [n]),
  [31], [64], [1000], [4099],
  [2, 3], [3, 5, 7], [2, 4, 4, 8], [1, 7, 9, 13], [3, 17, 1, 2], [2, 1, 1, 1],
];

const both = (data: Float32Array, shape: number[], f: (e: Engine, x: Tensor) => Tensor) => shapeKeepingOnBoth(E, data, shape, f);

const UNARY_RANGES = {
  relu: [[-2, 2]],
  sigmoid: [[-30, 30], [-100, 100]],
  tanh: [[-6, 6], [-0.5, 0.5], [-0.31, 0.31]],
  exp: [[-100, 88.5], [-2, 2]],
} as const;

describe.each(Object.keys(UNARY_RANGES) as (keyof typeof UNARY_RANGES)[])("%s: both builds against the float64 reference, bit-identical", (op) => {
  const cases = SHAPES.flatMap((shape) => UNARY_RANGES[op].map((range) => [`[${shape.join(",")}] in [${range.join(", ")}]`, shape, range] as const));
  it.each(cases)("%s", (_name, shape, [lo, hi]) => {
    const data = new Rng(prod(shape) * 31 + lo * 7).f32(prod(shape), lo, hi);
    const ref = unaryRef(data, op);
    const got = both(data, shape, (e, x) => e[op](x));
    for (const b of BACKENDS) {
      if (op === "relu") expect(compareExact(got[b], ref, b)).toBe("");
      else expect(compare(got[b], ref, (i) => TRANSCENDENTAL_RTOL * Math.abs(ref[i]) + TINY, b)).toBe("");
    }
    expect(compareBits(got.simd, got.scalar)).toBe("");
  });
});

describe("exp, sigmoid, tanh at special values, in every SIMD lane and in the scalar tail", () => {
  const SPECIAL = [
    0, -0, Infinity, -Infinity, NaN, 88.7, 88.72, 88.8, 89, 1000, -87, -88, -100, -103.9, -104, -110, -1000,
    1e-30, -1e-30, 1e-45, -1e-45, 0.3, 0.29999998, 0.30000001, -0.3, -0.29999998, 9, 10, 20, -20, 1e-3, -1e-3, 0.5, -0.5,
  ];
  it.each(["exp", "sigmoid", "tanh"] as const)("%s", (op) => {
    // Rotate the values through the positions of a 4k+3 array: every value hits all four lanes
    // of the SIMD body and the scalar tail.
    const len = SPECIAL.length + 3;
    for (let shift = 0; shift < 5; shift++) {
      const data = new Float32Array(len);
      for (let i = 0; i < len; i++) data[i] = SPECIAL[(i + shift) % SPECIAL.length];
      const ref = unaryRef(data, op);
      const got = both(data, [len], (e, x) => e[op](x));
      for (const b of BACKENDS) {
        expect(compare(got[b], ref, (i) => TRANSCENDENTAL_RTOL * Math.abs(ref[i]) + TINY, `${b} shift ${shift}`)).toBe("");
      }
      expect(compareBits(got.simd, got.scalar)).toBe("");
    }
  });
});

describe("clip and leakyRelu", () => {
  const CLIPS: [number, number][] = [[-0.5, 0.5], [0, 6], [-Infinity, 0.3], [0.2, Infinity], [0.1, 0.1], [-1e-3, 1e3], [-Infinity, Infinity]];
  const cases = SHAPES.flatMap((shape, i) => [[`[${shape.join(",")}]`, shape, CLIPS[i % CLIPS.length]] as const]);
  it.each(cases)("clip %s", (_name, shape, [lo, hi]) => {
    const data = new Rng(prod(shape) + 3).f32(prod(shape), -2, 2);
    const ref = clipRef(data, lo, hi);
    const got = both(data, shape, (e, x) => e.clip(x, lo, hi));
    // clip only selects among x and the float32-rounded bounds: exact.
    for (const b of BACKENDS) expect(compareExact(got[b], ref, `${b} clip [${lo}, ${hi}]`)).toBe("");
    expect(compareBits(got.simd, got.scalar)).toBe("");
  });

  const ALPHAS = [undefined, 0.01, 0.2, -0.5, 1.5, 0];
  const lcases = SHAPES.flatMap((shape, i) => [[`[${shape.join(",")}] alpha ${ALPHAS[i % ALPHAS.length]}`, shape, ALPHAS[i % ALPHAS.length]] as const]);
  it.each(lcases)("leakyRelu %s", (_name, shape, alpha) => {
    const data = new Rng(prod(shape) + 5).f32(prod(shape), -2, 2);
    const ref = leakyReluRef(data, alpha ?? 0.01); // the documented default alpha is 0.01
    const got = both(data, shape, (e, x) => (alpha === undefined ? e.leakyRelu(x) : e.leakyRelu(x, alpha)));
    // One float32 multiply by alpha rounded to float32: within 2 u of the float64 product.
    for (const b of BACKENDS) expect(compare(got[b], ref, (i) => 2 * U * Math.abs(ref[i]), `${b} leakyRelu`)).toBe("");
    expect(compareBits(got.simd, got.scalar)).toBe("");
  });
});

describe("binary ops with broadcasting: exact, both builds, bit-identical", () => {
  const OPS: BinaryName[] = ["add", "sub", "mul", "div"];
  const FORMS = ["same", "channel", "scalar", "scalar-nd"] as const;
  const cases = SHAPES.flatMap((shape, i) =>
    FORMS.map((form, j) => {
      const op = OPS[(i + j) % OPS.length];
      const bShape = form === "same" ? shape : form === "channel" ? [shape[shape.length - 1]] : form === "scalar" ? [1] : [1, 1, 1];
      return [`${op} a[${shape.join(",")}] b[${bShape.join(",")}]`, op, shape, bShape] as const;
    }),
  );
  it.each(cases)("%s", (_name, op, aShape, bShape) => {
    const rng = new Rng(prod(aShape) * 13 + prod(bShape));
    const a = rng.f32(prod(aShape), -3, 3);
    // b away from zero, with either sign; a few exact zeros for div (a/0 = +-Infinity, 0/0 = NaN).
    const b = new Float32Array(prod(bShape));
    for (let i = 0; i < b.length; i++) b[i] = (rng.bool() ? 1 : -1) * rng.uniform(0.25, 4);
    if (op === "div" && b.length > 4) b[3] = 0;
    if (op === "div" && a.length > 6) a[5] = 0;
    const ref = binaryRef(a, aShape, b, bShape, op);
    const out = {} as Record<BackendName, Float32Array>;
    for (const be of BACKENDS) {
      const e = E[be];
      const before = e.memoryBytes;
      const at = e.tensor(a, aShape);
      const bt = e.tensor(b, bShape);
      const y = e[op](at, bt);
      expect([...y.shape]).toEqual(aShape);
      out[be] = y.toArray();
      // A float32 +, -, *, / is the exact result rounded once: equal to fround(float64 result).
      expect(compareExact(out[be], ref, `${be} ${op}`)).toBe("");
      expect(at.toArray()).toEqual(a);
      expect(bt.toArray()).toEqual(b);
      for (const t of [at, bt, y]) t.dispose();
      expect(e.memoryBytes).toBe(before);
    }
    expect(compareBits(out.simd, out.scalar)).toBe("");
  });

  it("a tensor may be combined with itself", () => {
    for (const be of BACKENDS) {
      const e = E[be];
      const data = new Rng(1).f32(13, 0.5, 2);
      const x = e.tensor(data, [13]);
      for (const op of ["add", "sub", "mul", "div"] as const) {
        const y = e[op](x, x);
        expect(compareExact(y.toArray(), binaryRef(data, [13], data, [13], op), `${be} ${op}`)).toBe("");
        y.dispose();
      }
      x.dispose();
    }
  });
});

describe("binary ops with a number operand: exact, both builds, bit-identical", () => {
  // The number is rounded to float32 first, like any element of a tensor (0.1, 1/3 and 1e-40
  // change under that rounding, 1e39 becomes Infinity); then each element is one float32 op.
  const NUMBERS = [2, -0.5, 0.1, 1 / 3, 0, -0, 1e-40, 1e39, -Infinity, 3e38];
  const OPS: BinaryName[] = ["add", "sub", "mul", "div"];
  const cases = SHAPES.flatMap((shape, i) =>
    OPS.map((op, j) => {
      const n = NUMBERS[(i + j) % NUMBERS.length];
      return [`${op} a[${shape.join(",")}] ${n}`, op, shape, n] as const;
    }),
  );
  it.each(cases)("%s", (_name, op, shape, n) => {
    const a = new Rng(prod(shape) * 11 + 7).f32(prod(shape), -3, 3);
    if (a.length > 2) a[1] = 0;
    const ref = binaryRef(a, shape, [Math.fround(n)], [1], op);
    const got = both(a, shape, (e, x) => e[op](x, n));
    for (const b of BACKENDS) expect(compareExact(got[b], ref, `${b} ${op} ${n}`)).toBe("");
    expect(compareBits(got.simd, got.scalar)).toBe("");
  });
});

describe("softmax over the last axis: both builds against the float64 reference, bit-identical", () => {
  const COLS = [...SIZES, 31, 64, 100, 1000, 1023];
  const RANGES: [number, number][] = [[-5, 5], [-50, 50], [995, 1005], [-1, 1]];
  const cases: [string, number[], [number, number]][] = [];
  COLS.forEach((cols, i) => {
    const rows = (i % 5) + 1;
    const range = RANGES[i % RANGES.length];
    cases.push([`[${rows},${cols}] in [${range}]`, [rows, cols], range]);
  });
  cases.push(["[2,3,7] in [-5,5]", [2, 3, 7], [-5, 5]], ["[2,1,1,9] in [-50,50]", [2, 1, 1, 9], [-50, 50]], ["[3,4,4,10] in [-5,5]", [3, 4, 4, 10], [-5, 5]]);

  it.each(cases)("%s", (_name, shape, [lo, hi]) => {
    const data = new Rng(prod(shape) * 17 + lo).f32(prod(shape), lo, hi);
    const cols = shape[shape.length - 1];
    const ref = softmaxRef(data, shape);
    // Each term: exp within TRANSCENDENTAL_RTOL, of an argument x - max rounded to float32 (relative
    // error <= u * |x - max| <= u * (hi - lo) in the exponential); the sum adds <= cols * u; one
    // division. So y is within 2 * (RTOL + u * (hi - lo)) + (cols + 2) * u relative.
    const rtol = 2 * (TRANSCENDENTAL_RTOL + U * (hi - lo)) + (cols + 2) * U;
    const got = both(data, shape, (e, x) => e.softmax(x));
    for (const b of BACKENDS) expect(compare(got[b], ref, (i) => rtol * ref[i] + TINY, b)).toBe("");
    expect(compareBits(got.simd, got.scalar)).toBe("");
  });
});
