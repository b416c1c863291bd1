// The single-input-channel convolution storing NCHW (conv2d_f32_ci1_4x8_nchw, through Conv2d with
// layout "nchw") against the float64 reference over a generated grid with remainders in every
// dimension (widths around the 4-pixel tile, channels around the 8-channel panel and its 4-channel
// halves), in both builds: bit identity between the builds and with the NHWC kernel on the same
// data (the same sums, only the store differs), nothing written outside the output and the padded
// copy (guard tensors around input and output); two threads (bands of rows inside whole planes)
// give one thread's bits. Tolerance: test/grid.ts's dot-product bound, (K + 4) u |terms| scaled
// by the activation's slope, plus the activation's own rounding.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, type Tensor, init } from "../src/node.js";
import { Conv2d } from "../src/ops/conv2d.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { ACTIVATIONS, BACKENDS, TINY, activationRtol, compare, compareBits, dotBound, engines, nhwcToNchw, roundRobin, type BackendName } from "./grid.js";
import { type Range, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten } from "./memory.js";
import { type Act, type Pad4, Rng, activationSlope, conv2dRef, outSize, prod } from "./reference.js";

const WIDTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 17, 25, 26, 33];
const HEIGHTS = [1, 2, 3, 4, 7];
const COUTS = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 22, 24, 31];
const KERNELS: [number, number][] = [[1, 1], [3, 3], [2, 3], [3, 1], [5, 5], [1, 4]];
const STEPS = [1, 2, 3];
const COUNT = 200;

interface Case {
  id: number;
  n: number;
  h: number;
  w: number;
  cout: number;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: Pad4;
  act: Act;
  bias: boolean;
}

function makeGrid(): Case[] {
  const rng = new Rng(0xc11c);
  const cases: Case[] = [];
  for (let i = 0; cases.length < COUNT; i++) {
    const kernel = roundRobin(KERNELS, i, 1);
    const strides: [number, number] = [roundRobin(STEPS, Math.floor(i / 3), 1), roundRobin(STEPS, i, 1, 1)];
    const dilations: [number, number] = rng.bool(0.75) ? [1, 1] : [rng.int(1, 2), rng.int(1, 2)];
    const pads: Pad4 = rng.bool(0.3) ? [0, 0, 0, 0] : [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)];
    const h = roundRobin(HEIGHTS, i, 1, 2);
    const w = roundRobin(WIDTHS, i, 5, 3);
    if (outSize(h, kernel[0], strides[0], dilations[0], pads[0], pads[2]) <= 0) continue;
    if (outSize(w, kernel[1], strides[1], dilations[1], pads[1], pads[3]) <= 0) continue;
    cases.push({
      id: i, n: roundRobin([1, 2], i, 1), h, w, cout: roundRobin(COUTS, i, 3, 1), kernel, strides, dilations, pads,
      act: roundRobin(ACTIVATIONS, i, 1) as Act, bias: rng.bool(0.8),
    });
  }
  return cases;
}

const CASES = makeGrid();

function label(c: Case): string {
  return `#${c.id} x[${c.n},${c.h},${c.w},1] ->${c.cout} k${c.kernel} s${c.strides} d${c.dilations} p${c.pads} act ${JSON.stringify(c.act)}${c.bias ? "" : " no bias"}`;
}

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;
const scratchOf = (op: Conv2d) => (op as unknown as { plan: { scratch: number } }).plan.scratch;

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("single-channel convolution storing NCHW: the grid", () => {
  it("has every width remainder of the 4-pixel tile at strides 1, 2 and 3, and every channel remainder of 8 and of 4", () => {
    const ow = (c: Case) => outSize(c.w, c.kernel[1], c.strides[1], c.dilations[1], c.pads[1], c.pads[3]);
    for (const s of STEPS) for (let r = 0; r < 4; r++) expect(CASES.some((c) => c.strides[1] === s && ow(c) > 4 && ow(c) % 4 === r), `stride ${s} ow % 4 = ${r}`).toBe(true);
    for (let r = 0; r < 8; r++) expect(CASES.some((c) => c.cout > 8 && c.cout % 8 === r), `cout % 8 = ${r}`).toBe(true);
    for (const a of ACTIVATIONS) expect(CASES.some((c) => JSON.stringify(c.act) === JSON.stringify(a)), `activation ${JSON.stringify(a)}`).toBe(true);
    expect(CASES.some((c) => c.n === 2 && c.dilations[1] === 2)).toBe(true);
  });
});

const results: Record<BackendName, Map<number, Float32Array>> = { simd: new Map(), scalar: new Map() };

describe.each(BACKENDS)("%s: single-channel convolution storing NCHW against the float64 reference", (backend) => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const e = E[backend];
    const rt = rtOf(e);
    const before = e.memoryBytes;
    const rng = new Rng(5100 + c.id);
    const [kh, kw] = c.kernel;
    const xData = rng.f32(c.n * c.h * c.w, -2, 2);
    const wData = rng.f32(c.cout * kh * kw, -1, 1);
    const bData = c.bias ? rng.f32(c.cout, -1, 1) : undefined;
    const ref = conv2dRef(xData, wData, bData, {
      n: c.n, h: c.h, w: c.w, cin: 1, cout: c.cout, kh, kw, strides: c.strides, dilations: c.dilations, padding: c.pads, groups: 1, activation: c.act,
    });
    const [, oh, ow] = ref.shape;
    const wt = e.tensor(wData, [c.cout, kh, kw, 1]);
    const opts = { bias: bData, strides: c.strides, dilations: c.dilations, padding: c.pads, activation: c.act };
    const op = new Conv2d(rt, wt, opts, "nchw");
    const outShape = op.bind([[c.n, c.h, c.w, 1]]);
    expect(outShape).toEqual([c.n, c.cout, oh, ow]);
    const guards: Tensor[] = [];
    const guard = () => guards.push(e.tensor(sentinelData(8), [8]));
    guard();
    const x = e.tensor(xData, [c.n, c.h, c.w, 1]);
    guard();
    const y = e.tensor(sentinelData(prod(outShape)), outShape);
    guard();
    const scratch: Range = { start: scratchOf(op), end: scratchOf(op) + rt.heap.sizeOf(scratchOf(op)), what: "padded copy" };
    const snap = snapshot(e);
    op.exec([ptrOf(x)], ptrOf(y));
    expect(strayWrites(e, snap, [rangeOf(y, "output"), scratch], [rangeOf(x, "input"), ...guards.map((g, i): Range => rangeOf(g, `guard ${i}`))])).toBe("");
    expect(unwritten(e, y)).toEqual([]);
    const got = y.toArray();
    const k = kh * kw;
    const slope = activationSlope(c.act);
    const rtol = activationRtol(c.act);
    const refNchw = nhwcToNchw(Float32Array.from(ref.value), ref.shape);
    const magNchw = nhwcToNchw(Float32Array.from(ref.mag), ref.shape);
    // The float32 copies of the reference cost one more rounding: u |value|, inside TINY + rtol.
    const bound = (i: number) => dotBound(k, magNchw[i], slope) + (rtol + 2 ** -24) * Math.abs(refNchw[i]) + TINY;
    expect(compare(got, refNchw, bound, backend)).toBe("");
    // The NHWC kernel on the same data gives the same bits.
    const nhwc = new Conv2d(rt, wt, opts);
    const yh = nhwc.run(x);
    expect(compareBits(got, nhwcToNchw(yh.toArray(), yh.shape), "nchw vs nhwc")).toBe("");
    results[backend].set(c.id, got);
    op.dispose();
    nhwc.dispose();
    for (const t of [x, y, wt, yh, ...guards]) t.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});

describe("single-channel convolution storing NCHW: both builds", () => {
  it("give the same bits on every case", () => {
    expect(results.simd.size).toBe(CASES.length);
    for (const c of CASES) expect(compareBits(results.simd.get(c.id)!, results.scalar.get(c.id)!, label(c))).toBe("");
  });
});

describe("single-channel convolution storing NCHW on two threads", () => {
  it("splits each image's rows and gives one thread's bits", async () => {
    const xShape = [2, 67, 45, 1];
    const rng = new Rng(78);
    const xData = rng.f32(prod(xShape), -2, 2);
    const wData = rng.f32(13 * 9, -1, 1);
    const bias = rng.f32(13, -1, 1);
    const got: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const e = await init({ backend: "simd", threads });
      expect(rtOf(e).threads).toBe(threads);
      const wt = e.tensor(wData, [13, 3, 3, 1]);
      const op = new Conv2d(rtOf(e), wt, { bias, padding: [1, 1, 1, 1], activation: "relu" }, "nchw");
      const out = op.bind([xShape]);
      const x = e.tensor(xData, xShape);
      const y = e.tensor(new Float32Array(prod(out)), out);
      op.exec([ptrOf(x)], ptrOf(y));
      got.push(y.toArray());
      op.dispose();
      for (const t of [wt, x, y]) t.dispose();
      e.dispose();
    }
    expect(compareBits(got[0], got[1], "1 vs 2 threads")).toBe("");
  });

  it("is refused where the input has more than one channel", () => {
    const e = E.simd;
    const wt = e.tensor(new Float32Array(8 * 9 * 2), [8, 3, 3, 2]);
    expect(() => new Conv2d(rtOf(e), wt, {}, "nchw")).toThrow(/NCHW output needs one input channel/);
    wt.dispose();
  });
});
