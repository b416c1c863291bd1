// engine.resize against a float64 reference written from the ONNX Resize specification's
// formulas (coordinate transformations, nearest rounding, linear and cubic coefficients, edge
// clamping, exclude_outside, tf_crop_and_resize's extrapolation), over a grid of up and down
// scales, sizes, every mode, channels 1..17 and 32, batch 1 and 2; both builds bit-identical;
// threads give the same bits; guard bytes around input and output untouched; errors.
//
// Tolerances. Nearest only selects, so it is exact; but the engine computes each input
// coordinate in float32 as onnxruntime does, the reference in float64, and where the two lie
// within EPS of a rounding boundary (or of the input's edge, for tf_crop_and_resize) either
// neighbour is accepted. Linear and cubic: the engine rounds each weight to float32 (u each) and
// takes taps^2 products and sums in float32 ((taps^2 + taps) u of mag = sum |weight * x|), and its
// float32 coordinate differs from the float64 one by at most COORD_ULPS ulps of the axis length,
// which moves a weight by that much and the result by at most SLOPE times it times max |x|.
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine, type ResizeOptions, ShapeError, type Tensor, init, layers } from "../src/node.js";
import { Resize, resizeSpec } from "../src/ops/resize.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { BACKENDS, SIZES, U, compare, compareBits, engines, roundRobin, type BackendName } from "./grid.js";
import { type Range, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten } from "./memory.js";
import { Rng, prod } from "./reference.js";

const CHANNELS = [...SIZES, 32];
const COORDS = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn"] as const;
const ROUNDINGS = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple"] as const;
const SCALES = [2, 0.5, 3, 1.5, 0.75, 1.7, 0.6, 2.5, 1, 1.25, 0.34];
const EPS = 1e-5;
const COORD_ULPS = 16;
/** Largest |d weight / d coordinate|: 1 for linear, below 3 for cubic with |a| <= 0.75. */
const SLOPE = 3;

type Mode = "nearest" | "linear" | "cubic";

interface Case {
  id: number;
  shape: [number, number, number, number];
  opts: ResizeOptions;
}

function makeGrid(count: number): Case[] {
  const rng = new Rng(0x5e12e);
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const mode = roundRobin(["nearest", "linear", "nearest", "linear", "cubic"] as const, i, 1);
    const coordinate = roundRobin(COORDS, i, 3, Math.floor(i / 35));
    const shape: [number, number, number, number] = [roundRobin([1, 2], i, 1, Math.floor(i / 2)), roundRobin(SIZES, i, 5, 2), roundRobin(SIZES, i, 7, 9), roundRobin(CHANNELS, i, 11, 3)];
    const opts: ResizeOptions = { mode, coordinateTransformationMode: coordinate };
    if (mode === "nearest") opts.nearestMode = roundRobin(ROUNDINGS, i, 1, Math.floor(i / 5));
    if (i % 3 === 0) opts.size = [rng.int(1, 24), rng.int(1, 24)];
    else opts.scales = [rng.pick(SCALES), rng.pick(SCALES)];
    if (opts.scales) {
      // Every scaled axis keeps at least one pixel.
      opts.scales = opts.scales.map((s, k) => (Math.floor(Math.fround(s) * shape[1 + k]) < 1 ? 1 : s)) as [number, number];
    }
    if (mode === "cubic") {
      opts.cubicCoeffA = rng.pick([-0.75, -0.5]);
      opts.excludeOutside = rng.bool();
    }
    if (coordinate === "tf_crop_and_resize") {
      const a = rng.uniform(-0.3, 0.6);
      const b = rng.uniform(-0.3, 0.6);
      opts.roi = rng.bool(0.3) ? [0, 0, 1, 1] : [a, b, a + rng.uniform(0.1, 0.9), b + rng.uniform(-0.2, 0.9)];
      opts.extrapolationValue = rng.pick([0, -7.5, 100]);
    }
    cases.push({ id: i, shape, opts });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// The reference: the specification's formulas, in float64.

function coordinate(mode: string, x: number, scale: number, lenOut: number, lenIn: number, start: number, end: number): number {
  switch (mode) {
    case "half_pixel":
      return (x + 0.5) / scale - 0.5;
    case "half_pixel_symmetric": {
      const adjustment = lenOut / (scale * lenIn);
      const offset = (lenIn / 2) * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case "pytorch_half_pixel":
      return lenOut > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case "align_corners":
      return lenOut === 1 ? 0 : (x * (lenIn - 1)) / (lenOut - 1);
    case "asymmetric":
      return x / scale;
    case "tf_half_pixel_for_nn":
      return (x + 0.5) / scale;
    case "tf_crop_and_resize":
      return lenOut > 1 ? start * (lenIn - 1) + (x * (end - start) * (lenIn - 1)) / (lenOut - 1) : 0.5 * (start + end) * (lenIn - 1);
  }
  throw new Error(mode);
}

function round(mode: string, x: number, scale: number): number {
  switch (mode) {
    case "round_prefer_floor":
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case "round_prefer_ceil":
      return x - Math.floor(x) === 0.5 ? Math.ceil(x) : Math.round(x);
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    // Resize before opset 11 and Upsample, as onnxruntime reads them: down scales round up.
    case "simple":
      return scale < 1 ? Math.ceil(x) : Math.floor(x);
  }
  throw new Error(mode);
}

function cubicCoeffs(r: number, a: number): number[] {
  const far = (t: number) => ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  const near = (t: number) => ((a + 2) * t - (a + 3)) * t * t + 1;
  return [far(r + 1), near(r), near(1 - r), far(2 - r)];
}

/** Per output index of one axis: candidate tap sets (several only for nearest near a boundary), or fill. */
interface AxisRef {
  fill: boolean;
  /** Either fill or the taps: the float64 coordinate lies within EPS of the input's edge. */
  maybeFill: boolean;
  taps: { idx: number[]; w: number[] }[];
}

function axisRef(o: ResizeOptions, lenIn: number, lenOut: number, scale: number, start: number, end: number): AxisRef[] {
  const mode = o.mode ?? "nearest";
  const coord = o.coordinateTransformationMode ?? "half_pixel";
  const clamp = (i: number) => Math.min(Math.max(i, 0), lenIn - 1);
  const out: AxisRef[] = [];
  for (let k = 0; k < lenOut; k++) {
    const x = coordinate(coord, k, scale, lenOut, lenIn, start, end);
    const eps = EPS * (Math.abs(x) + 1);
    const outside = (v: number) => coord === "tf_crop_and_resize" && (v < 0 || v > lenIn - 1);
    const fill = outside(x);
    const maybeFill = outside(x - eps) !== outside(x + eps);
    const taps: AxisRef["taps"] = [];
    if (mode === "nearest") {
      for (const v of new Set([x - eps, x, x + eps].map((v) => clamp(round(o.nearestMode ?? "round_prefer_floor", v, scale))))) taps.push({ idx: [v], w: [1] });
    } else if (mode === "linear") {
      const i0 = Math.floor(x);
      const r = x - i0;
      taps.push({ idx: [clamp(i0), clamp(i0 + 1)], w: [1 - r, r] });
    } else {
      const i0 = Math.floor(x);
      const w = cubicCoeffs(x - i0, o.cubicCoeffA ?? -0.75);
      const idx = [i0 - 1, i0, i0 + 1, i0 + 2];
      if (o.excludeOutside) {
        idx.forEach((v, j) => {
          if (v < 0 || v >= lenIn) w[j] = 0;
        });
        const s = w[0] + w[1] + w[2] + w[3];
        for (let j = 0; j < 4; j++) w[j] /= s;
      }
      taps.push({ idx: idx.map(clamp), w });
    }
    out.push({ fill, maybeFill, taps });
  }
  return out;
}

interface Ref {
  shape: number[];
  /** Linear/cubic: the value and sum |w x|; nearest: the acceptable values. */
  value: Float64Array;
  mag: Float64Array;
  accept: number[][];
  /** max |x| over the input, for the coordinate term of the bound */
  maxAbs: number;
  /** Elements that may be the fill value or the blend (coordinate at the input's edge). */
  either: boolean[];
}

function resizeRef(data: Float32Array, shape: readonly number[], o: ResizeOptions): Ref {
  const [n, h, w, c] = shape;
  const oh = o.size ? o.size[0] : Math.floor(h * Math.fround(o.scales![0]));
  const ow = o.size ? o.size[1] : Math.floor(w * Math.fround(o.scales![1]));
  const sh = o.size ? oh / h : Math.fround(o.scales![0]);
  const sw = o.size ? ow / w : Math.fround(o.scales![1]);
  const roi = (o.roi ?? [0, 0, 1, 1]).map(Math.fround);
  const fill = Math.fround(o.extrapolationValue ?? 0);
  const rows = axisRef(o, h, oh, sh, roi[0], roi[2]);
  const cols = axisRef(o, w, ow, sw, roi[1], roi[3]);
  const size = n * oh * ow * c;
  const value = new Float64Array(size);
  const mag = new Float64Array(size);
  const accept: number[][] = [];
  const either: boolean[] = [];
  let maxAbs = 0;
  for (const v of data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const at = (b: number, y: number, x: number, ch: number) => data[((b * h + y) * w + x) * c + ch];
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        for (let ch = 0; ch < c; ch++, i++) {
          const r = rows[y];
          const q = cols[x];
          const isFill = r.fill || q.fill;
          either[i] = r.maybeFill || q.maybeFill;
          const acc = new Set<number>();
          if (isFill || either[i]) acc.add(fill);
          if (isFill) {
            value[i] = fill;
          } else {
            for (const rt of r.taps) for (const ct of q.taps) if (rt.idx.length === 1) acc.add(at(b, rt.idx[0], ct.idx[0], ch));
            let v = 0;
            let m = 0;
            const rt = r.taps[0];
            const ct = q.taps[0];
            for (let a = 0; a < rt.idx.length; a++) {
              for (let d = 0; d < ct.idx.length; d++) {
                const t = rt.w[a] * ct.w[d] * at(b, rt.idx[a], ct.idx[d], ch);
                v += t;
                m += Math.abs(t);
              }
            }
            value[i] = v;
            mag[i] = m;
          }
          accept.push([...acc]);
        }
      }
    }
  }
  return { shape: [n, oh, ow, c], value, mag, accept, maxAbs, either };
}

function check(got: Float32Array, ref: Ref, o: ResizeOptions, label: string): string {
  if ((o.mode ?? "nearest") === "nearest") {
    const bad: string[] = [];
    for (let i = 0; i < got.length && bad.length < 4; i++) {
      if (!ref.accept[i].some((v) => Object.is(v, got[i]))) bad.push(`[${i}] got ${got[i]}, expected one of ${ref.accept[i].join(", ")}`);
    }
    return bad.length ? `${label}: ${bad.join("; ")}` : "";
  }
  const taps = o.mode === "linear" ? 2 : 4;
  const [, oh, ow] = ref.shape;
  const len = Math.max(ref.shape[1], ref.shape[2], oh, ow) + 1;
  const coordErr = COORD_ULPS * U * len * SLOPE * 2 * ref.maxAbs;
  return compare(got, ref.value, (i) => (ref.either[i] ? Infinity : (taps * taps + taps + 2) * U * ref.mag[i] + coordErr), label);
}

function label(c: Case): string {
  return `#${c.id} x[${c.shape}] ${JSON.stringify(c.opts)}`;
}

const CASES = makeGrid(260);

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("resize grid coverage", () => {
  it("covers every mode, coordinate transformation and rounding, sizes 1..17, channels 1..17 and 32, up and down, sizes and scales", () => {
    for (const m of ["nearest", "linear", "cubic"]) {
      for (const t of COORDS) expect(CASES.some((c) => c.opts.mode === m && c.opts.coordinateTransformationMode === t), `${m} ${t}`).toBe(true);
    }
    for (const r of ROUNDINGS) expect(CASES.some((c) => c.opts.nearestMode === r)).toBe(true);
    for (const s of SIZES) expect(CASES.some((c) => c.shape[1] === s) && CASES.some((c) => c.shape[2] === s)).toBe(true);
    for (const ch of CHANNELS) expect(CASES.some((c) => c.shape[3] === ch)).toBe(true);
    const ratio = (c: Case, k: 0 | 1) => (c.opts.size ? c.opts.size[k] / c.shape[1 + k] : c.opts.scales![k]);
    expect(CASES.some((c) => ratio(c, 0) > 1 && ratio(c, 1) < 1)).toBe(true);
    expect(CASES.some((c) => ratio(c, 0) < 1 && ratio(c, 1) > 1)).toBe(true);
    expect(CASES.some((c) => c.opts.scales && !Number.isInteger(c.opts.scales[0]))).toBe(true);
    expect(CASES.some((c) => c.shape[0] === 2)).toBe(true);
    expect(CASES.some((c) => c.opts.excludeOutside === true) && CASES.some((c) => c.opts.excludeOutside === false)).toBe(true);
  });
});

describe("resize: both builds against the float64 reference, bit-identical", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const rng = new Rng(0x3e5 + c.id);
    const data = rng.f32(prod(c.shape), -2, 2);
    const ref = resizeRef(data, c.shape, c.opts);
    const got: Partial<Record<BackendName, Float32Array>> = {};
    for (const b of BACKENDS) {
      const e = E[b];
      const before = e.memoryBytes;
      const x = e.tensor(data, c.shape);
      const y = e.resize(x, c.opts);
      expect([...y.shape]).toEqual(ref.shape);
      got[b] = y.toArray();
      expect(check(got[b]!, ref, c.opts, b)).toBe("");
      x.dispose();
      y.dispose();
      expect(e.memoryBytes).toBe(before);
    }
    expect(compareBits(got.simd!, got.scalar!)).toBe("");
  });
});

function runtimeOf(e: Engine): Runtime {
  return (e as unknown as { rt: Runtime }).rt;
}

describe.each(BACKENDS)("%s: resize writes its whole output and nothing else", (backend) => {
  const cases = CASES.filter((c) => c.id % 9 === 0);
  it.each(cases.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const e = E[backend];
    const rt = runtimeOf(e);
    const before = e.memoryBytes;
    const op = new Resize(rt, resizeSpec(c.opts));
    const outShape = op.bind([c.shape]);
    const guards: Tensor[] = [];
    const guard = () => {
      const g = e.tensor(sentinelData(8), [8]);
      guards.push(g);
      return g;
    };
    guard();
    const x = e.tensor(new Rng(c.id).f32(prod(c.shape)), c.shape);
    guard();
    const y = e.tensor(sentinelData(prod(outShape)), outShape);
    guard();
    const known: Range[] = [rangeOf(x, "input"), ...guards.map((g, i) => rangeOf(g, `guard ${i}`))];
    // The blends' rows are the op's own scratch, written at every run.
    const plan = (op as unknown as { plan: { scratch: number; perThread: number } }).plan;
    const scratch: Range = { start: plan.scratch, end: plan.scratch + plan.perThread * rt.threads, what: "scratch" };
    const snap = snapshot(e);
    op.exec([ptrOf(x)], ptrOf(y));
    expect(strayWrites(e, snap, [rangeOf(y, "output"), scratch], known)).toBe("");
    expect(unwritten(e, y)).toEqual([]);
    op.dispose();
    for (const t of [x, y, ...guards]) t.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});

describe("resize on two threads gives the bits of one", () => {
  it("nearest, linear and cubic on images large enough to split", async () => {
    const e2 = await init({ threads: 2 });
    try {
      expect(e2.threads, e2.threadsNote).toBe(2);
      const shape = [2, 40, 37, 17];
      const data = new Rng(77).f32(prod(shape));
      for (const opts of [
        { mode: "nearest", scales: [2, 2] },
        { mode: "linear", size: [81, 70] },
        { mode: "cubic", scales: [1.5, 1.5], coordinateTransformationMode: "asymmetric" },
        { mode: "linear", size: [60, 50], coordinateTransformationMode: "tf_crop_and_resize", roi: [0.1, -0.1, 0.8, 1.1], extrapolationValue: 3 },
      ] as ResizeOptions[]) {
        const one = E.simd.tensor(data, shape);
        const two = e2.tensor(data, shape);
        const a = E.simd.resize(one, opts);
        const b = e2.resize(two, opts);
        expect(prod(b.shape) * 17).toBeGreaterThan(1 << 17);
        expect(compareBits(b.toArray(), a.toArray(), `${JSON.stringify(opts)} 2 threads vs 1`)).toBe("");
        for (const t of [one, two, a, b]) t.dispose();
      }
    } finally {
      e2.dispose();
    }
  });
});

describe("resize errors", () => {
  it("rejects bad options and shapes with typed errors, allocating nothing", () => {
    const e = E.simd;
    const x = e.tensor(new Float32Array(2 * 3 * 4 * 5), [2, 3, 4, 5]);
    const flat = e.tensor(new Float32Array(6), [2, 3]);
    const before = e.memoryBytes;
    expect(() => e.resize(x, {})).toThrow(/size or the scales/);
    expect(() => e.resize(x, { size: [0, 2] })).toThrow(ArgumentError);
    expect(() => e.resize(x, { size: [2.5, 2] })).toThrow(ArgumentError);
    expect(() => e.resize(x, { scales: [-1, 2] })).toThrow(ArgumentError);
    expect(() => e.resize(x, { scales: [0.1, 2] })).toThrow(ShapeError);
    expect(() => e.resize(x, { scales: [2, 2], mode: "bilinear" as never })).toThrow(/mode must be one of nearest, linear, cubic/);
    expect(() => e.resize(x, { scales: [2, 2], coordinateTransformationMode: "center" as never })).toThrow(ArgumentError);
    expect(() => e.resize(x, { scales: [2, 2], nearestMode: "round" as never })).toThrow(ArgumentError);
    expect(() => e.resize(x, { scales: [2, 2], roi: [0, 0, 1] as never })).toThrow(/roi/);
    expect(() => e.resize(x, { scales: [2, 2], cubicCoeffA: NaN })).toThrow(ArgumentError);
    expect(() => e.resize(x, { scales: [2, 2], excludeOutside: 1 as never })).toThrow(ArgumentError);
    expect(() => e.resize(x, { scale: [2, 2] } as never)).toThrow(/unknown option 'scale'/);
    expect(() => e.resize(flat, { scales: [2, 2] })).toThrow(ShapeError);
    expect(e.memoryBytes).toBe(before);
    flat.dispose();
    x.dispose();
  });
});

describe("layers.resize", () => {
  const cases: [string, ResizeOptions][] = [
    ["linear to a size", { mode: "linear", size: [13, 11] }],
    ["nearest by scales, asymmetric floor", { scales: [2, 3], coordinateTransformationMode: "asymmetric", nearestMode: "floor" }],
    ["cubic tf_crop_and_resize", { mode: "cubic", size: [9, 9], coordinateTransformationMode: "tf_crop_and_resize", roi: [0.1, -0.2, 0.7, 1.1], extrapolationValue: 4 }],
  ];
  it.each(cases)("%s: one resize step, no copies, the bits of engine.resize, any batch", (_n, opts) => {
    for (const b of BACKENDS) {
      const e = E[b];
      const model = e.sequential([layers.input([7, 6, 3]), layers.resize(opts)]);
      expect(model.summary().split("\n").filter((l) => /^(resize|copy|transpose)/.test(l)), model.summary()).toEqual([expect.stringMatching(/^resize/)]);
      for (const n of [1, 3]) {
        const data = new Rng(n).f32(n * 7 * 6 * 3);
        const x = e.tensor(data, [n, 7, 6, 3]);
        const want = e.resize(x, opts);
        const got = model.run({ input: data }).output;
        expect(compareBits(got, want.toArray(), `${b} batch ${n}`)).toBe("");
        x.dispose();
        want.dispose();
      }
      model.dispose();
    }
  });
  it("rejects what ONNX opset 13 cannot say, and both size and scales", () => {
    expect(() => layers.resize({ scales: [2, 2], nearestMode: "simple" }).apply(layers.input([4, 4, 1]))).toThrow(ArgumentError);
    expect(() => layers.resize({ scales: [2, 2], size: [8, 8] }).apply(layers.input([4, 4, 1]))).toThrow(/not both/);
    expect(() => layers.resize({ scales: [2, 2] }).apply(layers.input([16]))).toThrow(ShapeError);
  });
});
