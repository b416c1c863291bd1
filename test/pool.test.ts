// maxPool2d, avgPool2d, globalAvgPool and globalMaxPool against the float64 reference over a
// generated grid, in both builds, and bit identity between the builds. Max pooling must be exact;
// average pooling within the rounding of a float32 sum and one division (see test/grid.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type AvgPool2dOptions, type Engine, type MaxPool2dOptions } from "../src/index.js";
import { BACKENDS, SIZES, U, TINY, compare, compareBits, compareExact, engines, roundRobin, type BackendName } from "./grid.js";
import { type PaddingSpec, type PoolParams, Rng, avgPoolRef, globalPoolRef, maxPoolRef, outSize, padsFor } from "./reference.js";

const KSIZES = [1, 2, 3, 4];
const STEPS = [1, 2, 3];
const CHANNELS = [...SIZES, 19, 32, 33, 35];
const COUNT = 300;

interface PoolCase extends PoolParams {
  id: number;
  /** The options exactly as passed (to cover the number / pair / default forms). */
  opts: AvgPool2dOptions;
  negative: boolean;
}

function fits(p: PoolParams): boolean {
  const pads = padsFor(p.padding, p.h, p.w, p.kernel[0], p.kernel[1], p.strides[0], p.strides[1], p.dilations[0], p.dilations[1]);
  return outSize(p.h, p.kernel[0], p.strides[0], p.dilations[0], pads[0], pads[2]) > 0
    && outSize(p.w, p.kernel[1], p.strides[1], p.dilations[1], pads[1], pads[3]) > 0;
}

function makeGrid(): { cases: PoolCase[]; noFit: PoolCase[] } {
  const rng = new Rng(0x9001);
  const cases: PoolCase[] = [];
  const noFit: PoolCase[] = [];
  for (let i = 0; i < COUNT; i++) {
    const kernel: [number, number] = [roundRobin(KSIZES, i, 1), roundRobin(KSIZES, Math.floor(i / 4), 1, 1)];
    const sForm = roundRobin(["default", "number", "pair"] as const, i, 1, Math.floor(i / 3));
    const sPair: [number, number] = [roundRobin(STEPS, i, 1, Math.floor(i / 5)), roundRobin(STEPS, Math.floor(i / 7), 1)];
    const strides: [number, number] = sForm === "default" ? kernel : sForm === "number" ? [sPair[0], sPair[0]] : sPair;
    const dForm = rng.pick(["default", "pair", "pair"] as const);
    const dilations: [number, number] = dForm === "default" ? [1, 1] : [rng.int(1, 3), rng.int(1, 3)];
    const r = rng.next();
    // Explicit pads up to 3, also larger than the kernel: whole windows can lie in the padding.
    let padding: PaddingSpec = r < 0.25 ? "valid" : r < 0.5 ? "same" : [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)];
    const include = rng.pick([undefined, false, true]);
    const c: PoolCase = {
      id: i,
      n: roundRobin([1, 2, 3], i, 1, 1),
      h: roundRobin(SIZES, i, 5, 2),
      w: roundRobin(SIZES, i, 7, 9),
      c: roundRobin(CHANNELS, i, 4),
      kernel, strides, dilations, padding,
      countIncludePad: include,
      opts: {} as AvgPool2dOptions,
      negative: rng.bool(0.4),
    };
    if (!fits(c)) {
      noFit.push({ ...c, opts: optsOf(c, sForm, dForm) });
      for (let tries = 0; !fits(c) && tries < 20; tries++) {
        c.padding = padding = tries < 10 ? [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)] : "same";
        if (tries >= 5) c.dilations = [1, 1];
      }
    }
    c.opts = optsOf(c, sForm, c.dilations[0] === 1 && c.dilations[1] === 1 && dForm === "default" ? "default" : "pair");
    cases.push(c);
  }
  return { cases, noFit };
}

function optsOf(c: PoolCase, sForm: "default" | "number" | "pair", dForm: "default" | "pair"): AvgPool2dOptions {
  const o: AvgPool2dOptions = { kernel: c.kernel[0] === c.kernel[1] && c.id % 2 === 0 ? c.kernel[0] : c.kernel };
  if (sForm === "number") o.strides = c.strides[0];
  else if (sForm === "pair") o.strides = c.strides;
  if (dForm === "pair") o.dilations = c.dilations;
  if (c.padding !== "valid" || c.id % 3 === 0) o.padding = c.padding;
  if (c.countIncludePad !== undefined) o.countIncludePad = c.countIncludePad;
  return o;
}

const { cases: CASES, noFit: NO_FIT } = makeGrid();

function label(c: PoolCase): string {
  return `#${c.id} x[${c.n},${c.h},${c.w},${c.c}] ${JSON.stringify(c.opts)}${c.negative ? " all-negative" : ""}`;
}

function maxOpts(o: AvgPool2dOptions): MaxPool2dOptions {
  const { countIncludePad: _, ...rest } = o;
  return rest;
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("pool grid coverage", () => {
  it("covers kernels 1..4 in both axes, strides 1..3 and the default, dilations, padding kinds, countIncludePad, sizes and channels", () => {
    for (const kh of KSIZES) for (const kw of KSIZES) expect(CASES.some((c) => c.kernel[0] === kh && c.kernel[1] === kw), `kernel ${kh}x${kw}`).toBe(true);
    for (const s of STEPS) expect(CASES.some((c) => c.opts.strides !== undefined && c.strides[0] === s)).toBe(true);
    expect(CASES.some((c) => c.opts.strides === undefined)).toBe(true);
    for (const d of STEPS) expect(CASES.some((c) => c.dilations[0] === d || c.dilations[1] === d)).toBe(true);
    for (const s of SIZES) {
      expect(CASES.some((c) => c.h === s)).toBe(true);
      expect(CASES.some((c) => c.w === s)).toBe(true);
    }
    for (const ch of CHANNELS) expect(CASES.some((c) => c.c === ch), `C = ${ch}`).toBe(true);
    for (const inc of [undefined, false, true]) expect(CASES.some((c) => c.countIncludePad === inc && Array.isArray(c.padding))).toBe(true);
    expect(CASES.some((c) => c.padding === "same")).toBe(true);
    // Some windows lie wholly in the padding (the zero-count / -Infinity case).
    expect(CASES.some((c) => maxPoolRef(new Float32Array(c.n * c.h * c.w * c.c), c).taps.includes(0))).toBe(true);
    expect(NO_FIT.length).toBeGreaterThan(0);
  });
});

describe("maxPool2d and avgPool2d: both builds against the float64 reference, bit-identical", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const rng = new Rng(7000 + c.id);
    const size = c.n * c.h * c.w * c.c;
    const data = c.negative ? rng.f32(size, -3, -0.5) : rng.f32(size, -2, 2);
    // Repeat some values so that ties occur.
    for (let i = 0; i < size; i += 7) data[i] = data[Math.floor(i / 2)];
    const maxRef = maxPoolRef(data, c);
    const avgRef = avgPoolRef(data, c);
    const got: Record<string, Float32Array> = {};
    for (const b of BACKENDS) {
      const e = E[b];
      const before = e.memoryBytes;
      const x = e.tensor(data, [c.n, c.h, c.w, c.c]);
      const ym = e.maxPool2d(x, maxOpts(c.opts));
      const ya = e.avgPool2d(x, c.opts);
      expect([...ym.shape]).toEqual(maxRef.shape);
      expect([...ya.shape]).toEqual(avgRef.shape);
      // Max only selects: exact. Padding never wins, even when every pixel is negative.
      expect(compareExact(ym.toArray(), maxRef.value, `${b} max`)).toBe("");
      // Average: a float32 sum of `taps` values (error <= taps * u * sum|x|), divided once.
      const bound = (i: number) =>
        avgRef.divisor[i] === 0 ? 0 : (avgRef.taps[i] * U * avgRef.mag[i]) / avgRef.divisor[i] + U * Math.abs(avgRef.value[i]) + TINY;
      expect(compare(ya.toArray(), avgRef.value, bound, `${b} avg`)).toBe("");
      got[`${b}max`] = ym.toArray();
      got[`${b}avg`] = ya.toArray();
      expect(x.toArray()).toEqual(data);
      for (const t of [x, ym, ya]) t.dispose();
      expect(e.memoryBytes).toBe(before);
    }
    expect(compareBits(got.simdmax, got.scalarmax, "max simd vs scalar")).toBe("");
    expect(compareBits(got.simdavg, got.scalaravg, "avg simd vs scalar")).toBe("");
  });
});

describe("pooling: a window larger than the padded input throws ArgumentError", () => {
  it.each(NO_FIT.slice(0, 30).map((c) => [label(c), c] as const))("%s", (_name, c) => {
    for (const b of BACKENDS) {
      const e = E[b];
      const x = e.tensor(new Float32Array(c.n * c.h * c.w * c.c).fill(1), [c.n, c.h, c.w, c.c]);
      const before = e.memoryBytes;
      expect(() => e.maxPool2d(x, maxOpts(c.opts))).toThrow(ArgumentError);
      expect(() => e.avgPool2d(x, c.opts)).toThrow(/window|padded/);
      expect(e.memoryBytes).toBe(before);
      x.dispose();
    }
  });
});

describe("global pooling: both builds against the float64 reference, bit-identical", () => {
  const cases: [string, number[]][] = [];
  for (let i = 0; i < 80; i++) {
    const shape = [roundRobin([1, 2, 3], i, 1), roundRobin(SIZES, i, 3, 1), roundRobin(SIZES, i, 5, 4), roundRobin([...CHANNELS, 40, 64, 67], i, 7, 2)];
    cases.push([`#${i} x[${shape.join(",")}]`, shape]);
  }
  it.each(cases)("%s", (_name, shape) => {
    const [n, h, w, c] = shape;
    const rng = new Rng(9000 + h * 100 + w * 7 + c);
    const data = rng.f32(n * h * w * c, -2, 2);
    const maxRef = globalPoolRef(data, shape, true);
    const avgRef = globalPoolRef(data, shape, false);
    const got: Record<string, Float32Array> = {};
    for (const b of BACKENDS) {
      const e = E[b];
      const before = e.memoryBytes;
      const x = e.tensor(data, shape);
      const ym = e.globalMaxPool(x);
      const ya = e.globalAvgPool(x);
      expect([...ym.shape]).toEqual([n, 1, 1, c]);
      expect([...ya.shape]).toEqual([n, 1, 1, c]);
      expect(compareExact(ym.toArray(), maxRef.value, `${b} globalMax`)).toBe("");
      const taps = h * w;
      expect(compare(ya.toArray(), avgRef.value, (i) => (taps * U * avgRef.mag[i]) / taps + U * Math.abs(avgRef.value[i]) + TINY, `${b} globalAvg`)).toBe("");
      got[`${b}max`] = ym.toArray();
      got[`${b}avg`] = ya.toArray();
      for (const t of [x, ym, ya]) t.dispose();
      expect(e.memoryBytes).toBe(before);
    }
    expect(compareBits(got.simdmax, got.scalarmax, "globalMax simd vs scalar")).toBe("");
    expect(compareBits(got.simdavg, got.scalaravg, "globalAvg simd vs scalar")).toBe("");
  });
});
