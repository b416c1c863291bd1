// Max and average pooling over NCHW planes (maxpool2d_f32_nchw, avgpool2d_f32_nchw, through
// Pool2d with layout "nchw") against the float64 reference over a generated grid with remainders in
// every dimension, in both builds: bit identity between the builds and with the NHWC kernels on
// the same data, and nothing written outside the output (guard tensors around input and output);
// two threads (split by planes) give one thread's bits.
// Max pooling must be exact; average pooling within the rounding of a float32 sum of the window's
// taps and one division (the bound of test/pool.test.ts). The reference is the NHWC one applied to
// the planes as one-channel images, which is what NCHW pooling is.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, type Tensor, init } from "../src/node.js";
import { Pool2d, type PoolWindow } from "../src/ops/pool.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { BACKENDS, TINY, U, compare, compareBits, compareExact, engines, roundRobin, type BackendName } from "./grid.js";
import { type Range, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten } from "./memory.js";
import { type Pad4, type PoolParams, Rng, avgPoolRef, maxPoolRef, outSize, prod } from "./reference.js";

// Widths around the 4-pixel vectors and the interior's edges; strides 1 and 2 have loads of
// their own, 3 the lane loads.
const WIDTHS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 33];
const HEIGHTS = [1, 2, 3, 5, 6, 9, 11];
const KSIZES = [1, 2, 3, 4];
const STEPS = [1, 2, 3];
const COUNT = 240;

interface Case {
  id: number;
  /** NCHW */
  shape: [number, number, number, number];
  win: PoolWindow;
  pads: Pad4;
  negative: boolean;
}

function makeGrid(): Case[] {
  const rng = new Rng(0x71a7e);
  const cases: Case[] = [];
  for (let i = 0; cases.length < COUNT; i++) {
    const kernel: [number, number] = [roundRobin(KSIZES, i, 1), roundRobin(KSIZES, Math.floor(i / 4), 1, 2)];
    const strides: [number, number] = [roundRobin(STEPS, Math.floor(i / 3), 1), roundRobin(STEPS, i, 1, 1)];
    const dilations: [number, number] = rng.bool(0.7) ? [1, 1] : [rng.int(1, 2), rng.int(1, 2)];
    const pads: Pad4 = rng.bool(0.3) ? [0, 0, 0, 0] : [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)];
    const shape: [number, number, number, number] = [roundRobin([1, 2], i, 1), roundRobin([1, 2, 3, 5], i, 1, 1), roundRobin(HEIGHTS, i, 3), roundRobin(WIDTHS, i, 5, 3)];
    const oh = outSize(shape[2], kernel[0], strides[0], dilations[0], pads[0], pads[2]);
    const ow = outSize(shape[3], kernel[1], strides[1], dilations[1], pads[1], pads[3]);
    if (oh <= 0 || ow <= 0) continue;
    const max = i % 2 === 0;
    const countIncludePad = rng.bool();
    cases.push({ id: i, shape, pads, negative: rng.bool(0.3), win: { max, kernel, strides, dilations, padding: pads, countIncludePad, ceil: false } });
  }
  return cases;
}

const CASES = makeGrid();

function label(c: Case): string {
  const w = c.win;
  return `#${c.id} ${w.max ? "max" : "avg"} x[${c.shape}] k${w.kernel} s${w.strides} d${w.dilations} p${c.pads}${w.max ? "" : ` includePad ${w.countIncludePad}`}${c.negative ? " all-negative" : ""}`;
}

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;

/** NCHW data as NHWC (perm 0, 2, 3, 1), or back. */
function permute(data: Float32Array, [n, a, b, c]: readonly number[], perm: readonly number[]): Float32Array {
  const dims = [n, a, b, c];
  const out = new Float32Array(data.length);
  const strides = [a * b * c, b * c, c, 1];
  const ys = perm.map((p) => dims[p]);
  let k = 0;
  for (let i0 = 0; i0 < ys[0]; i0++)
    for (let i1 = 0; i1 < ys[1]; i1++)
      for (let i2 = 0; i2 < ys[2]; i2++)
        for (let i3 = 0; i3 < ys[3]; i3++) {
          const idx = [i0, i1, i2, i3];
          out[k++] = data[perm.reduce((acc, p, j) => acc + idx[j] * strides[p], 0)];
        }
  return out;
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("pooling over NCHW planes: the grid", () => {
  it("has vectors and remainders at every stride, and windows wholly in the padding", () => {
    for (const s of STEPS) {
      for (const w of [1, 8, 33]) expect(CASES.some((c) => c.win.strides[1] === s && c.shape[3] === w), `stride ${s} width ${w}`).toBe(true);
    }
    for (const k of KSIZES) expect(CASES.some((c) => c.win.kernel[1] === k && c.win.kernel[0] === k)).toBe(true);
    expect(CASES.some((c) => c.win.dilations[1] === 2 && c.win.strides[1] === 2)).toBe(true);
    const p = (c: Case): PoolParams => ({ n: c.shape[0] * c.shape[1], h: c.shape[2], w: c.shape[3], c: 1, kernel: c.win.kernel, strides: c.win.strides, dilations: c.win.dilations, padding: c.pads });
    expect(CASES.some((c) => maxPoolRef(new Float32Array(prod(c.shape)), p(c)).taps.includes(0))).toBe(true);
  });
});

describe.each(BACKENDS)("%s: pooling over NCHW planes against the float64 reference", (backend) => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const e = E[backend];
    const rt = rtOf(e);
    const before = e.memoryBytes;
    const [n, ch, h, w] = c.shape;
    const rng = new Rng(9100 + c.id);
    const data = c.negative ? rng.f32(prod(c.shape), -3, -0.5) : rng.f32(prod(c.shape), -2, 2);
    for (let i = 0; i < data.length; i += 7) data[i] = data[Math.floor(i / 2)];
    const params: PoolParams = {
      n: n * ch, h, w, c: 1, kernel: c.win.kernel, strides: c.win.strides, dilations: c.win.dilations, padding: c.pads, countIncludePad: c.win.countIncludePad,
    };
    const ref = c.win.max ? maxPoolRef(data, params) : avgPoolRef(data, params);
    const op = new Pool2d(rt, c.win, "nchw");
    const outShape = op.bind([c.shape]);
    expect(outShape).toEqual([n, ch, ref.shape[1], ref.shape[2]]);
    const guards: Tensor[] = [];
    const guard = () => guards.push(e.tensor(sentinelData(8), [8]));
    guard();
    const x = e.tensor(data, c.shape);
    guard();
    const y = e.tensor(sentinelData(prod(outShape)), outShape);
    guard();
    const snap = snapshot(e);
    op.exec([ptrOf(x)], ptrOf(y));
    expect(strayWrites(e, snap, [rangeOf(y, "output")], [rangeOf(x, "input"), ...guards.map((g, i): Range => rangeOf(g, `guard ${i}`))])).toBe("");
    expect(unwritten(e, y)).toEqual([]);
    const got = y.toArray();
    if (c.win.max) {
      expect(compareExact(got, ref.value, "max")).toBe("");
    } else {
      const bound = (i: number) => (ref.divisor[i] === 0 ? 0 : (ref.taps[i] * U * ref.mag[i]) / ref.divisor[i] + U * Math.abs(ref.value[i]) + TINY);
      expect(compare(got, ref.value, bound, "avg")).toBe("");
    }
    // The NHWC kernel on the same data gives the same bits.
    const xh = e.tensor(permute(data, c.shape, [0, 2, 3, 1]), [n, h, w, ch]);
    const opts = { kernel: c.win.kernel, strides: c.win.strides, dilations: c.win.dilations, padding: c.pads };
    const yh = c.win.max ? e.maxPool2d(xh, opts) : e.avgPool2d(xh, { ...opts, countIncludePad: c.win.countIncludePad });
    expect(compareBits(got, permute(yh.toArray(), yh.shape, [0, 3, 1, 2]), "nchw vs nhwc")).toBe("");
    results[backend].set(c.id, got);
    op.dispose();
    for (const t of [x, y, xh, yh, ...guards]) t.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});

const results: Record<BackendName, Map<number, Float32Array>> = { simd: new Map(), scalar: new Map() };

describe("pooling over NCHW planes: both builds", () => {
  it("give the same bits on every case", () => {
    expect(results.simd.size).toBe(CASES.length);
    for (const c of CASES) expect(compareBits(results.simd.get(c.id)!, results.scalar.get(c.id)!, label(c))).toBe("");
  });
});

describe("pooling over NCHW planes on two threads", () => {
  it("splits by planes and gives one thread's bits", async () => {
    // Work above PARALLEL_MIN_ELEMENTS (outputs x taps), so the planes are split.
    const shape: [number, number, number, number] = [2, 16, 96, 97];
    const data = new Rng(77).f32(prod(shape), -2, 2);
    const got: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const e = await init({ backend: "simd", threads });
      expect(rtOf(e).threads).toBe(threads);
      for (const max of [true, false]) {
        const win: PoolWindow = { max, kernel: [2, 2], strides: [2, 2], dilations: [1, 1], padding: [0, 1, 0, 1], countIncludePad: false, ceil: false };
        const op = new Pool2d(rtOf(e), win, "nchw");
        const out = op.bind([shape]);
        const x = e.tensor(data, shape);
        const y = e.tensor(new Float32Array(prod(out)), out);
        op.exec([ptrOf(x)], ptrOf(y));
        got.push(y.toArray());
        op.dispose();
        x.dispose();
        y.dispose();
      }
      e.dispose();
    }
    expect(compareBits(got[0], got[2], "max, 1 vs 2 threads")).toBe("");
    expect(compareBits(got[1], got[3], "avg, 1 vs 2 threads")).toBe("");
  });
});
