// The 1x1 convolution over NCHW planes (src/ops/pointwise.ts: pack_planes_f32_8 then
// igemm_f32_4x8 with the weights as A) against a float64 reference computed on the planes, over a
// generated grid with remainders in every dimension (output channels around the 4-row tile, plane
// sizes around the 8-column panel, input channels odd and even), with and without bias, residual
// and every activation, in both builds: bit identity between the builds and with the NHWC path
// (Conv2d's indirect GEMM) on the same data, nothing written outside the output and the packed
// planes (guard tensors around input, residual and output); two threads give one thread's bits.
// Tolerance: test/grid.ts's dot-product bound over Cin + 2 terms (the bias, the products, the
// residual), (K + 4) u |terms| scaled by the activation's slope, plus the activation's rounding.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, type Tensor, init } from "../src/node.js";
import { Conv2d } from "../src/ops/conv2d.js";
import { PointwiseConvNchw } from "../src/ops/pointwise.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { ACTIVATIONS, BACKENDS, TINY, activationRtol, compare, compareBits, dotBound, engines, nchwToNhwc, nhwcToNchw, roundRobin, type BackendName } from "./grid.js";
import { type Range, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten } from "./memory.js";
import { type Act, Rng, activate, activationSlope, prod } from "./reference.js";

const CINS = [2, 3, 4, 5, 7, 8, 9, 16, 17, 33];
const COUTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 17, 31];
const HEIGHTS = [1, 2, 3, 5, 7];
const WIDTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 17];
const COUNT = 120;

interface Case {
  id: number;
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  act: Act;
  bias: boolean;
  residual: boolean;
}

function makeGrid(): Case[] {
  const rng = new Rng(0x1a1);
  return Array.from({ length: COUNT }, (_, i) => ({
    id: i, n: roundRobin([1, 2], i, 1, 1), cin: roundRobin(CINS, i, 3), cout: roundRobin(COUTS, i, 1), h: roundRobin(HEIGHTS, i, 1, 2),
    w: roundRobin(WIDTHS, i, 5, 3), act: roundRobin(ACTIVATIONS, i, 1) as Act, bias: rng.bool(0.8), residual: rng.bool(0.3),
  }));
}

const CASES = makeGrid();

function label(c: Case): string {
  return `#${c.id} x[${c.n},${c.cin},${c.h},${c.w}] ->${c.cout} act ${JSON.stringify(c.act)}${c.bias ? "" : " no bias"}${c.residual ? " +residual" : ""}`;
}

/** y[b][o][p] = act(bias[o] + sum_i w[o][i] x[b][i][p] + r[b][o][p]) in float64, with the sum of |terms|. */
function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, r: Float32Array | undefined) {
  const hw = c.h * c.w;
  const value = new Float64Array(c.n * c.cout * hw);
  const mag = new Float64Array(value.length);
  for (let b = 0; b < c.n; b++)
    for (let o = 0; o < c.cout; o++)
      for (let p = 0; p < hw; p++) {
        const at = (b * c.cout + o) * hw + p;
        let s = bias ? bias[o] : 0;
        let m = Math.abs(s);
        for (let i = 0; i < c.cin; i++) {
          const t = w[o * c.cin + i] * x[(b * c.cin + i) * hw + p];
          s += t;
          m += Math.abs(t);
        }
        if (r) {
          s += r[at];
          m += Math.abs(r[at]);
        }
        value[at] = activate(s, c.act);
        mag[at] = m;
      }
  return { value, mag };
}

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;
const packedOf = (op: PointwiseConvNchw) => (op as unknown as { plan: { packed: number } }).plan.packed;

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("1x1 convolution over NCHW planes: the grid", () => {
  it("has every plane-size remainder of the 8-column panel, every channel remainder of the 4-row tile, every activation", () => {
    for (let r = 0; r < 8; r++) expect(CASES.some((c) => c.h * c.w > 8 && (c.h * c.w) % 8 === r), `hw % 8 = ${r}`).toBe(true);
    for (let r = 0; r < 4; r++) expect(CASES.some((c) => c.cout > 4 && c.cout % 4 === r), `cout % 4 = ${r}`).toBe(true);
    for (const a of ACTIVATIONS) expect(CASES.some((c) => JSON.stringify(c.act) === JSON.stringify(a)), `activation ${JSON.stringify(a)}`).toBe(true);
    expect(CASES.some((c) => c.n === 2 && c.residual && c.bias)).toBe(true);
    expect(CASES.some((c) => c.cin % 2 === 1) && CASES.some((c) => c.cin % 2 === 0)).toBe(true);
  });
});

const results: Record<BackendName, Map<number, Float32Array>> = { simd: new Map(), scalar: new Map() };

describe.each(BACKENDS)("%s: 1x1 convolution over NCHW planes against the float64 reference", (backend) => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const e = E[backend];
    const rt = rtOf(e);
    const before = e.memoryBytes;
    const rng = new Rng(7300 + c.id);
    const xShape = [c.n, c.cin, c.h, c.w];
    const yShape = [c.n, c.cout, c.h, c.w];
    const xData = rng.f32(prod(xShape), -2, 2);
    const wData = rng.f32(c.cout * c.cin, -1, 1);
    const bData = c.bias ? rng.f32(c.cout, -1, 1) : undefined;
    const rData = c.residual ? rng.f32(prod(yShape), -2, 2) : undefined;
    const ref = reference(c, xData, wData, bData, rData);
    const wt = e.tensor(wData, [c.cout, 1, 1, c.cin]);
    const op = new PointwiseConvNchw(rt, wt, { bias: bData, activation: c.act });
    const shapes = rData ? [xShape, yShape] : [xShape];
    expect(op.bind(shapes)).toEqual(yShape);
    const guards: Tensor[] = [];
    const guard = () => guards.push(e.tensor(sentinelData(8), [8]));
    guard();
    const x = e.tensor(xData, xShape);
    guard();
    const r = rData && e.tensor(rData, yShape);
    guard();
    const y = e.tensor(sentinelData(prod(yShape)), yShape);
    guard();
    const packed: Range = { start: packedOf(op), end: packedOf(op) + rt.heap.sizeOf(packedOf(op)), what: "packed planes" };
    const snap = snapshot(e);
    const inputs = r ? [ptrOf(x), ptrOf(r)] : [ptrOf(x)];
    op.exec(inputs, ptrOf(y));
    const read = [rangeOf(x, "input"), ...(r ? [rangeOf(r, "residual")] : []), ...guards.map((g, i): Range => rangeOf(g, `guard ${i}`))];
    expect(strayWrites(e, snap, [rangeOf(y, "output"), packed], read)).toBe("");
    expect(unwritten(e, y)).toEqual([]);
    const got = y.toArray();
    const slope = activationSlope(c.act);
    const rtol = activationRtol(c.act);
    // The float32 copy of the reference costs one more rounding: u |value|, inside TINY + rtol.
    const bound = (i: number) => dotBound(c.cin + 2, ref.mag[i], slope) + (rtol + 2 ** -24) * Math.abs(ref.value[i]) + TINY;
    expect(compare(got, ref.value, bound, backend)).toBe("");
    // The NHWC path (Conv2d's indirect GEMM) on the same data adds the same terms in the same order.
    const nhwc = new Conv2d(rt, wt, { bias: bData, activation: c.act });
    const nShape = [c.n, c.h, c.w, c.cout];
    nhwc.bind(rData ? [[c.n, c.h, c.w, c.cin], nShape] : [[c.n, c.h, c.w, c.cin]]);
    const xh = e.tensor(nchwToNhwc(xData, xShape), [c.n, c.h, c.w, c.cin]);
    const rh = rData && e.tensor(nchwToNhwc(rData, yShape), nShape);
    const yh = e.tensor(new Float32Array(prod(nShape)), nShape);
    nhwc.exec(rh ? [ptrOf(xh), ptrOf(rh)] : [ptrOf(xh)], ptrOf(yh));
    expect(compareBits(got, nhwcToNchw(yh.toArray(), nShape), "planes vs nhwc")).toBe("");
    results[backend].set(c.id, got);
    op.dispose();
    nhwc.dispose();
    for (const t of [x, y, wt, xh, yh, ...guards, ...(r ? [r] : []), ...(rh ? [rh] : [])]) t.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});

describe("1x1 convolution over NCHW planes: both builds", () => {
  it("give the same bits on every case", () => {
    expect(results.simd.size).toBe(CASES.length);
    for (const c of CASES) expect(compareBits(results.simd.get(c.id)!, results.scalar.get(c.id)!, label(c))).toBe("");
  });
});

describe("1x1 convolution over NCHW planes", () => {
  it("on two threads (ranges of output channels) gives one thread's bits", async () => {
    const xShape = [2, 19, 23, 21];
    const rng = new Rng(79);
    const xData = rng.f32(prod(xShape), -2, 2);
    const wData = rng.f32(37 * 19, -1, 1);
    const bias = rng.f32(37, -1, 1);
    const got: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const e = await init({ backend: "simd", threads });
      expect(rtOf(e).threads).toBe(threads);
      const wt = e.tensor(wData, [37, 1, 1, 19]);
      const op = new PointwiseConvNchw(rtOf(e), wt, { bias, activation: "relu" });
      const x = e.tensor(xData, xShape);
      got.push(op.run(x).toArray());
      op.dispose();
      for (const t of [wt, x]) t.dispose();
      e.dispose();
    }
    expect(compareBits(got[0], got[1], "1 vs 2 threads")).toBe("");
  });

  it("refuses weights that are not 1x1, and inputs of the wrong channel count", () => {
    const e = E.simd;
    const w3 = e.tensor(new Float32Array(8 * 9 * 2), [8, 3, 3, 2]);
    expect(() => new PointwiseConvNchw(rtOf(e), w3)).toThrow(/expected 1x1 weights \[Cout, 1, 1, Cin\]/);
    const w1 = e.tensor(new Float32Array(8 * 2), [8, 1, 1, 2]);
    const op = new PointwiseConvNchw(rtOf(e), w1);
    expect(() => op.bind([[1, 3, 4, 4]])).toThrow(/input has 3 channels, the weights expect 2/);
    op.dispose();
    w3.dispose();
    w1.dispose();
  });
});
