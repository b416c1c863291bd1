// The depthwise convolution over NCHW planes (src/ops/dwconv_planes.ts, dwconv_f32_nchw_4)
// against a float64 reference computed on the planes, over a generated grid with remainders in
// every dimension: widths below, around and past the 4- and 8-pixel vectors (and below 4, where
// the kernel runs a pixel at a time), heights and channel counts odd and even, 3x3 windows at
// strides 1 and 2 (the copies that hold their weights in registers) and others, pads from none to wider than the window
// (whole rows from the zero row, left and right pads past a vector: the swizzle's clamp), strides
// 1 to 3 per axis, with and without bias, every activation, batch 1 and 2, in both builds: bit
// identity between the builds and with the NHWC path (Conv2d's depthwise kernel) on the same
// data, nothing written outside the output and the zero row (guard tensors around input and
// output); 1 to 4 threads give one thread's bits. Tolerance: test/grid.ts's dot-product bound
// over kh * kw + 1 terms (the bias and the taps), (K + 4) u |terms| scaled by the activation's
// slope, plus the activation's rounding and the float32 copy of the reference (u |value|).
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, type Tensor, init } from "../src/node.js";
import { Conv2d } from "../src/ops/conv2d.js";
import { DepthwiseConvNchw } from "../src/ops/dwconv_planes.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { ACTIVATIONS, BACKENDS, TINY, activationRtol, compare, compareBits, dotBound, engines, nchwToNhwc, nhwcToNchw, roundRobin, type BackendName } from "./grid.js";
import { type Range, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten } from "./memory.js";
import { type Act, type Pad4, Rng, activate, activationSlope, outSize, prod } from "./reference.js";

const CHANNELS = [1, 2, 3, 4, 5, 7, 9, 16];
const HEIGHTS = [1, 2, 3, 4, 5, 7, 9];
const WIDTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 19, 23, 33];
const KERNELS: [number, number][] = [[3, 3], [3, 3], [3, 3], [1, 1], [2, 3], [5, 5], [3, 1], [1, 4]];
const STRIDES: [number, number][] = [[1, 1], [1, 1], [1, 1], [2, 2], [2, 1], [1, 2], [3, 3]];
const PADS: ("same" | "valid" | Pad4)[] = ["same", "valid", [1, 1, 1, 1], [0, 2, 1, 0], [4, 6, 3, 5], [2, 0, 0, 3], [0, 9, 0, 7]];
const COUNT = 160;

interface Case {
  id: number;
  n: number;
  c: number;
  h: number;
  w: number;
  kernel: [number, number];
  strides: [number, number];
  padding: "same" | "valid" | Pad4;
  act: Act;
  bias: boolean;
}

/** [top, left, bottom, right] as the op resolves them ('same': the odd pixel at the end). */
function padsOf(c: Case): Pad4 {
  if (c.padding === "valid") return [0, 0, 0, 0];
  if (c.padding !== "same") return c.padding;
  const total = (size: number, k: number, s: number) => Math.max((Math.ceil(size / s) - 1) * s + k - size, 0);
  const th = total(c.h, c.kernel[0], c.strides[0]);
  const tw = total(c.w, c.kernel[1], c.strides[1]);
  return [th >> 1, tw >> 1, th - (th >> 1), tw - (tw >> 1)];
}

function geometry(c: Case) {
  const pads = padsOf(c);
  return { pads, oh: outSize(c.h, c.kernel[0], c.strides[0], 1, pads[0], pads[2]), ow: outSize(c.w, c.kernel[1], c.strides[1], 1, pads[1], pads[3]) };
}

function makeGrid(): Case[] {
  const rng = new Rng(0xd3c);
  const cases: Case[] = [];
  for (let i = 0; cases.length < COUNT; i++) {
    const c: Case = {
      id: cases.length, n: roundRobin([1, 1, 2], i, 1), c: roundRobin(CHANNELS, i, 3, 1), h: roundRobin(HEIGHTS, i, 1, 2), w: roundRobin(WIDTHS, i, 5, 3),
      kernel: roundRobin(KERNELS, i, 1), strides: rng.pick(STRIDES), padding: rng.pick(PADS), act: roundRobin(ACTIVATIONS, i, 1) as Act,
      bias: rng.bool(0.8),
    };
    const p = padsOf(c);
    // Windows larger than the padded input have no output.
    if (c.h + p[0] + p[2] >= c.kernel[0] && c.w + p[1] + p[3] >= c.kernel[1]) cases.push(c);
  }
  return cases;
}

const CASES = makeGrid();

function label(c: Case): string {
  return `#${c.id} x[${c.n},${c.c},${c.h},${c.w}] ${c.kernel.join("x")} s${c.strides.join("x")} pad ${JSON.stringify(c.padding)} act ${JSON.stringify(c.act)}${c.bias ? "" : " no bias"}`;
}

/** y[b][ch][oy][ox] = act(bias[ch] + sum over in-image taps of w[ch][ky][kx] x[b][ch][iy][ix]) in float64, with the sum of |terms|. */
function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array | undefined) {
  const { pads, oh, ow } = geometry(c);
  const [kh, kw] = c.kernel;
  const value = new Float64Array(c.n * c.c * oh * ow);
  const mag = new Float64Array(value.length);
  for (let b = 0; b < c.n; b++)
    for (let ch = 0; ch < c.c; ch++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let s = bias ? bias[ch] : 0;
          let m = Math.abs(s);
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * c.strides[0] - pads[0] + ky;
              const ix = ox * c.strides[1] - pads[1] + kx;
              if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
              const t = w[(ch * kh + ky) * kw + kx] * x[((b * c.c + ch) * c.h + iy) * c.w + ix];
              s += t;
              m += Math.abs(t);
            }
          const at = ((b * c.c + ch) * oh + oy) * ow + ox;
          value[at] = activate(s, c.act);
          mag[at] = m;
        }
  return { value, mag };
}

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;
const zeroOf = (op: DepthwiseConvNchw) => (op as unknown as { plan: { zero: number } }).plan.zero;

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("depthwise convolution over NCHW planes: the grid", () => {
  it("has widths around every vector remainder, 3x3 at stride 1 with and without padding, pads past a vector, every activation", () => {
    const unit = CASES.filter((c) => c.strides[1] === 1);
    for (let r = 0; r < 8; r++) expect(unit.some((c) => geometry(c).ow > 8 && geometry(c).ow % 8 === r), `ow % 8 = ${r}`).toBe(true);
    expect(unit.some((c) => geometry(c).ow < 4)).toBe(true);
    const k3 = unit.filter((c) => c.kernel.join() === "3,3");
    expect(k3.some((c) => c.padding === "valid") && k3.some((c) => c.padding === "same") && k3.some((c) => padsOf(c)[1] > 4)).toBe(true);
    expect(CASES.some((c) => c.kernel.join() !== "3,3" && padsOf(c)[1] > 4 && c.strides[1] === 1)).toBe(true);
    const k3s2 = CASES.filter((c) => c.kernel.join() === "3,3" && c.strides[1] === 2);
    for (let r = 0; r < 4; r++) expect(k3s2.some((c) => geometry(c).ow > 4 && geometry(c).ow % 4 === r), `3x3 stride 2, ow % 4 = ${r}`).toBe(true);
    expect(k3s2.some((c) => padsOf(c)[1] === 0) && k3s2.some((c) => padsOf(c)[1] > 4) && k3s2.some((c) => geometry(c).ow < 4)).toBe(true);
    expect(k3s2.some((c) => padsOf(c)[1] > 0 && padsOf(c)[3] > 0 && geometry(c).ow > 8)).toBe(true);
    expect(CASES.some((c) => padsOf(c)[0] >= c.kernel[0])).toBe(true);
    for (const s of STRIDES) expect(CASES.some((c) => c.strides.join() === s.join()), `strides ${s}`).toBe(true);
    for (const a of ACTIVATIONS) expect(CASES.some((c) => JSON.stringify(c.act) === JSON.stringify(a)), `activation ${JSON.stringify(a)}`).toBe(true);
    expect(CASES.some((c) => c.n === 2 && c.c > 4)).toBe(true);
  });
});

const results: Record<BackendName, Map<number, Float32Array>> = { simd: new Map(), scalar: new Map() };

describe.each(BACKENDS)("%s: depthwise convolution over NCHW planes against the float64 reference", (backend) => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const e = E[backend];
    const rt = rtOf(e);
    const before = e.memoryBytes;
    const rng = new Rng(8100 + c.id);
    const { oh, ow } = geometry(c);
    const [kh, kw] = c.kernel;
    const xShape = [c.n, c.c, c.h, c.w];
    const yShape = [c.n, c.c, oh, ow];
    const xData = rng.f32(prod(xShape), -2, 2);
    const wData = rng.f32(c.c * kh * kw, -1, 1);
    const bData = c.bias ? rng.f32(c.c, -1, 1) : undefined;
    const ref = reference(c, xData, wData, bData);
    const wt = e.tensor(wData, [c.c, kh, kw, 1]);
    const opts = { bias: bData, strides: c.strides, padding: c.padding, activation: c.act };
    const op = new DepthwiseConvNchw(rt, wt, opts);
    expect(op.bind([xShape])).toEqual(yShape);
    const guards: Tensor[] = [];
    const guard = () => guards.push(e.tensor(sentinelData(8), [8]));
    guard();
    const x = e.tensor(xData, xShape);
    guard();
    const y = e.tensor(sentinelData(prod(yShape)), yShape);
    guard();
    const zero: Range = { start: zeroOf(op), end: zeroOf(op) + rt.heap.sizeOf(zeroOf(op)), what: "zero row" };
    const snap = snapshot(e);
    op.exec([ptrOf(x)], ptrOf(y));
    const read = [rangeOf(x, "input"), zero, ...guards.map((g, i): Range => rangeOf(g, `guard ${i}`))];
    expect(strayWrites(e, snap, [rangeOf(y, "output")], read)).toBe("");
    expect(unwritten(e, y)).toEqual([]);
    const got = y.toArray();
    const slope = activationSlope(c.act);
    const rtol = activationRtol(c.act);
    const bound = (i: number) => dotBound(kh * kw + 1, ref.mag[i], slope) + (rtol + 2 ** -24) * Math.abs(ref.value[i]) + TINY;
    expect(compare(got, ref.value, bound, backend)).toBe("");
    // The NHWC path (Conv2d's depthwise kernel) on the same data adds the same terms in the same order.
    const nhwc = new Conv2d(rt, wt, { ...opts, groups: c.c });
    const nShape = [c.n, oh, ow, c.c];
    nhwc.bind([[c.n, c.h, c.w, c.c]]);
    const xh = e.tensor(nchwToNhwc(xData, xShape), [c.n, c.h, c.w, c.c]);
    const yh = e.tensor(new Float32Array(prod(nShape)), nShape);
    nhwc.exec([ptrOf(xh)], ptrOf(yh));
    expect(compareBits(got, nhwcToNchw(yh.toArray(), nShape), "planes vs nhwc")).toBe("");
    results[backend].set(c.id, got);
    op.dispose();
    nhwc.dispose();
    for (const t of [x, y, wt, xh, yh, ...guards]) t.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});

describe("depthwise convolution over NCHW planes: both builds", () => {
  it("give the same bits on every case", () => {
    expect(results.simd.size).toBe(CASES.length);
    for (const c of CASES) expect(compareBits(results.simd.get(c.id)!, results.scalar.get(c.id)!, label(c))).toBe("");
  });
});

describe("depthwise convolution over NCHW planes", () => {
  it("on 2 to 4 threads (ranges of channels) gives one thread's bits", async () => {
    const xShape = [2, 19, 45, 47];
    const rng = new Rng(83);
    const xData = rng.f32(prod(xShape), -2, 2);
    const wData = rng.f32(19 * 9, -1, 1);
    const bias = rng.f32(19, -1, 1);
    const got: Float32Array[] = [];
    for (const threads of [1, 2, 3, 4]) {
      const e = await init({ backend: "simd", threads });
      const rt = rtOf(e);
      expect(rt.threads).toBe(threads);
      // Enough work that every thread gets a range.
      expect(rt.ranges(19, 19 * 45 * 47 * 9)).toHaveLength(threads);
      const wt = e.tensor(wData, [19, 3, 3, 1]);
      const op = new DepthwiseConvNchw(rt, wt, { bias, padding: "same", activation: "relu6" });
      const x = e.tensor(xData, xShape);
      got.push(op.run(x).toArray());
      op.dispose();
      for (const t of [wt, x]) t.dispose();
      e.dispose();
    }
    for (let i = 1; i < got.length; i++) expect(compareBits(got[0], got[i], `1 vs ${i + 1} threads`)).toBe("");
  });

  it("refuses weights of more than one input channel, inputs of the wrong channel count, and options it does not take", () => {
    const e = E.simd;
    const rt = rtOf(e);
    const w2 = e.tensor(new Float32Array(8 * 9 * 2), [8, 3, 3, 2]);
    expect(() => new DepthwiseConvNchw(rt, w2)).toThrow(/expected weights \[C, kh, kw, 1\]/);
    const w1 = e.tensor(new Float32Array(8 * 9), [8, 3, 3, 1]);
    expect(() => new DepthwiseConvNchw(rt, w1, { dilations: 2 } as never)).toThrow(/dilations/);
    const op = new DepthwiseConvNchw(rt, w1);
    expect(() => op.bind([[1, 3, 4, 4]])).toThrow(/input has 3 channels, the weights expect 8/);
    expect(() => op.bind([[1, 8, 4]])).toThrow(/expected rank 4 \(N, C, H, W\)/);
    op.dispose();
    expect(() => op.bind([[1, 8, 4, 4]])).toThrow(/used after dispose/);
    w2.dispose();
    w1.dispose();
  });
});
