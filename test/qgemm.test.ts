// The 8-bit kernels against exact integer references computed here from the definitions (not
// from the kernels' packing): qgemm_q8_4x8 over GEMM and convolution grids with remainders in M, N
// and K (odd K exercises the half pair) and every output kind (the q16 ones quantize the f32
// output for the next 8-bit op, dividing by its scale as QuantizeLinear does), with int8 and uint8 activations
// and weights (the activations given as the kernel reads them, minus their zero point as i16),
// quantize_f32_q8 and quantize_f32_q8_i16 (ties, NaN, infinities, saturation) and minmax_f32, in
// both builds, with guard bytes around every output.
// Integer results must be exact; the f32 and requantized outputs are single IEEE operations on the
// exact accumulator, so the reference emulates them with Math.fround and must match to the bit.
import { describe, expect, it } from "vitest";
import { QOUT } from "../src/runtime/kernels.js";
import { BACKENDS, SIZES, roundRobin } from "./grid.js";
import {
  OUT_KINDS, type QCase, type QData, type Window, convAccumulators, elemOf, expectBothBuilds, expectedStore, kernelHeap, makeQData, outDims, readOut,
  roundEven, setYs,
} from "./qgrid.js";
import { Rng } from "./reference.js";

const MR = 4, NR = 8;

interface Case extends Window, QCase {
  id: number;
  ci: number; co: number;
}

function grid(): Case[] {
  const rng = new Rng(0x18);
  const cases: Case[] = [];
  for (let i = 0; i < 120; i++) {
    const gemm = i % 2 === 0;
    const k = roundRobin(SIZES, i, 7, 3);
    const c: Case = {
      id: i,
      batch: gemm ? 1 : roundRobin([1, 2], i, 1),
      h: gemm ? roundRobin(SIZES, i, 3) : roundRobin([1, 3, 5, 8], i, 1),
      w: gemm ? 1 : roundRobin([1, 2, 6, 9, 11], i, 1),
      ci: k, co: roundRobin(SIZES, i, 5, 1),
      kh: gemm ? 1 : roundRobin([1, 3, 2, 3], i, 1), kw: gemm ? 1 : roundRobin([3, 1, 3, 5, 2], i, 1),
      s: gemm ? 1 : roundRobin([1, 2, 1], i, 1), d: gemm ? 1 : roundRobin([1, 1, 2], i, 1, 1),
      pt: gemm ? 0 : roundRobin([0, 1, 2], i, 1), pl: gemm ? 0 : roundRobin([1, 0, 2], i, 1),
      pb: gemm ? 0 : roundRobin([0, 1], i, 1), pr: gemm ? 0 : roundRobin([1, 0], i, 1),
      aSigned: rng.bool(), wSigned: rng.bool(), out: roundRobin(OUT_KINDS, i, 1, Math.floor(i / 8)),
      fbias: rng.bool(), perChannel: rng.bool(),
    };
    if (outDims(c).every((d) => d > 0)) cases.push(c);
  }
  // Larger: several panels and tiles with remainders, K past one pair per kernel row, and a 3x3
  // convolution over 16+ channels like the benchmark's.
  const big = { batch: 1, w: 1, kh: 1, kw: 1, s: 1, d: 1, pt: 0, pl: 0, pb: 0, pr: 0, fbias: true, perChannel: true };
  cases.push({ ...big, id: 200, h: 37, ci: 301, co: 45, aSigned: false, wSigned: true, out: "u8" });
  cases.push({ ...big, id: 201, h: 65, ci: 128, co: 70, aSigned: true, wSigned: true, out: "f32" });
  cases.push({ ...big, id: 202, h: 9, ci: 1000, co: 17, aSigned: false, wSigned: false, out: "i32" });
  cases.push({ ...big, id: 203, h: 13, w: 11, ci: 19, co: 24, kh: 3, kw: 3, pt: 1, pl: 1, pb: 1, pr: 1, aSigned: false, wSigned: true, out: "i8" });
  cases.push({ ...big, id: 204, h: 13, w: 11, ci: 16, co: 35, kh: 3, kw: 3, pt: 1, pl: 1, pb: 1, pr: 1, aSigned: false, wSigned: true, out: "q16u8" });
  cases.push({ ...big, id: 205, h: 45, ci: 77, co: 20, aSigned: true, wSigned: true, out: "q16i8" });
  return cases;
}

const CASES = grid();

function makeData(c: Case): QData {
  return makeQData(0x1800 + c.id, c, c.batch * c.h * c.w * c.ci, c.co * c.ci * c.kh * c.kw, c.co);
}

/** Exact accumulators by the definition, the weights [Cout, Cin, kh, kw]. */
function reference(c: Case, d: QData): number[] {
  return convAccumulators(c, d, c.ci, c.co, 1, (j, tap, k) => (j * c.ci + k) * c.kh * c.kw + tap);
}

async function run(backend: (typeof BACKENDS)[number], c: Case, d: QData): Promise<{ got: number[]; guardsOk: boolean }> {
  const { heap, k, put, guarded } = await kernelHeap(backend);
  const [oh, ow] = outDims(c);
  const ks = c.kh * c.kw;
  const m = c.batch * oh * ow;
  const tiles = Math.ceil(m / MR);
  const a = put(Int16Array.from(d.a, (v) => v - d.za));
  const wsrc = put(d.w);
  const wzp = put(c.wSigned ? Int8Array.from(d.zw) : Uint8Array.from(d.zw));
  const scale = put(d.scale);
  const fbias = put(d.fbias);
  const zero = heap.alloc(Math.max(c.ci * 2, 16));
  heap.u8.fill(0, zero, zero + c.ci * 2);
  const panelBytes = ks * Math.ceil(c.ci / 2) * 32;
  const packed = heap.alloc(Math.ceil(c.co / NR) * panelBytes);
  k.pack_qgemm_q8_8(c.ci, ks, c.co, wsrc, 1, ks, c.ci * ks, wzp, packed, c.wSigned ? 1 : 0);
  const ind = heap.alloc(tiles * MR * ks * 4);
  k.conv2d_indirection(c.batch, c.h, c.w, c.ci, oh, ow, c.kh, c.kw, c.s, c.s, c.d, c.d, c.pt, c.pl, MR, ind);
  const { y, guardsOk } = guarded(m * c.co * elemOf(c.out));
  // Tap runs where the kernel takes them (an even K), as the op passes them.
  let runs = 0;
  if (c.ci % 2 === 0) {
    runs = heap.alloc(tiles * ks + 16);
    k.conv2d_tap_runs(tiles, ks, MR, c.ci * 4, ind, runs);
  }
  k.qgemm_q8_4x8(m, c.co, c.ci, ks, a, ind, runs, zero, packed, scale, c.fbias ? fbias : 0, y, c.co, QOUT[c.out], d.zy, d.ys);
  return { got: readOut(heap.memory.buffer, y, m * c.co, c.out), guardsOk: guardsOk() };
}

function label(c: Case): string {
  return `#${c.id} N${c.batch} ${c.h}x${c.w}x${c.ci} -> ${c.co} k${c.kh}x${c.kw} s${c.s} d${c.d} pad ${c.pt},${c.pl},${c.pb},${c.pr} `
    + `a ${c.aSigned ? "i8" : "u8"} w ${c.wSigned ? "i8" : "u8"} out ${c.out}${c.fbias ? " fbias" : ""}${c.perChannel ? " per-channel" : ""}`;
}

describe("qgemm_q8_4x8 against exact integer references", () => {
  it("covers every size 1..17 in M, N and K, and every output kind", () => {
    for (const s of SIZES) {
      expect(CASES.some((c) => c.ci === s)).toBe(true);
      expect(CASES.some((c) => c.co === s)).toBe(true);
    }
    for (const o of OUT_KINDS) expect(CASES.some((c) => c.out === o)).toBe(true);
  });

  it.each(CASES.map((c) => [label(c), c] as const))("%s", async (_, c) => {
    const d = makeData(c);
    const acc = reference(c, d);
    setYs(d, acc, c.co);
    await expectBothBuilds(expectedStore(c, d, acc, c.co), (b) => run(b, c, d));
  });
});

describe.each(BACKENDS)("%s build: quantize_f32_q8, quantize_f32_q8_i16 and minmax_f32", (backend) => {
  const special = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 127.5, 128.5, 255.5, -128.5, 1e30, -1e30, Infinity, -Infinity, NaN, -0, 0];
  it.each([
    [0.5, 128, false, false], [1, 0, false, true], [0.0173, 3, false, false], [0.0173, 3, false, true], [1, 0, true, false],
    [0.25, -7, true, true], [3.1e-3, 127, true, false], [0.5, 255, false, true],
  ] as const)("scale %f zero point %i signed %s centred i16 %s", async (scale, zp, signed, centred) => {
    const rng = new Rng(0x51);
    // Values at exact ties of x / scale for the power-of-two scales, random ones for the others.
    const xs = Float32Array.from([...special.map((v) => v * scale), ...special, ...Array.from({ length: 61 }, () => rng.uniform(-300, 300) * scale)]);
    const { heap, k, guarded } = await kernelHeap(backend);
    const x = heap.alloc(xs.length * 4);
    heap.f32.set(xs, x / 4);
    const { y, guardsOk } = guarded(xs.length * (centred ? 2 : 1));
    (centred ? k.quantize_f32_q8_i16 : k.quantize_f32_q8)(xs.length, x, y, scale, zp, signed ? 1 : 0);
    const [lo, hi] = signed ? [-128, 127] : [0, 255];
    const want = Array.from(xs, (v) => {
      const q = Math.fround(v / Math.fround(scale));
      const r = Number.isNaN(q) ? zp : Math.min(hi, Math.max(lo, roundEven(Math.min(1e9, Math.max(-1e9, q))) + zp));
      return centred ? r - zp : r;
    });
    expect(readOut(heap.memory.buffer, y, xs.length, centred ? "q16i8" : signed ? "i8" : "u8")).toEqual(want);
    expect(guardsOk()).toBe(true);
  });

  it.each([[0.5, 128, false], [0.0173, 3, false], [0.25, -7, true], [3.1e-3, 127, true]] as const)(
    "fake_quantize_f32 scale %f zero point %i signed %s", async (scale, zp, signed) => {
      const rng = new Rng(0x53);
      const xs = Float32Array.from([...special.map((v) => v * scale), ...special, ...Array.from({ length: 23 }, () => rng.uniform(-300, 300) * scale)]);
      const { heap, k, guarded } = await kernelHeap(backend);
      const x = heap.alloc(xs.length * 4);
      heap.f32.set(xs, x / 4);
      const { y, guardsOk } = guarded(xs.length * 4);
      k.fake_quantize_f32(xs.length, x, y, scale, zp, signed ? 1 : 0);
      const [lo, hi] = signed ? [-128, 127] : [0, 255];
      const s = Math.fround(scale);
      // DequantizeLinear(QuantizeLinear(x)): (q - zp) * scale in float32, +0 for q = zp.
      const want = Array.from(xs, (v) => {
        const q = Math.fround(v / s);
        const r = Number.isNaN(q) ? zp : Math.min(hi, Math.max(lo, roundEven(Math.min(1e9, Math.max(-1e9, q))) + zp));
        return Math.fround((r - zp) * s) + 0;
      });
      const got = readOut(heap.memory.buffer, y, xs.length, "f32");
      expect(got.map((v) => Object.is(v, -0) ? "-0" : v)).toEqual(want);
      expect(guardsOk()).toBe(true);
    },
  );

  it.each([1, 2, 3, 4, 5, 7, 8, 9, 17, 100])("minmax of %i values", async (n) => {
    const rng = new Rng(0x52 + n);
    const xs = rng.f32(n, -5, 3);
    const { heap, k } = await kernelHeap(backend);
    const x = heap.alloc(n * 4);
    heap.f32.set(xs, x / 4);
    const y = heap.alloc(16);
    heap.f32.fill(7, y / 4, y / 4 + 4);
    k.minmax_f32(n, x, y);
    expect(Array.from(heap.f32.subarray(y / 4, y / 4 + 3))).toEqual([Math.min(...xs), Math.max(...xs), 7]);
  });

  it.each([[1, 0], [5, 0], [9, 4], [9, 8], [17, 13], [100, 50]])("minmax of %i values with a NaN at %i: both NaN", async (n, at) => {
    const xs = new Rng(0x53 + n).f32(n, -5, 3);
    xs[at] = NaN;
    const { heap, k } = await kernelHeap(backend);
    const x = heap.alloc(n * 4);
    heap.f32.set(xs, x / 4);
    const y = heap.alloc(16);
    k.minmax_f32(n, x, y);
    expect(Array.from(heap.f32.subarray(y / 4, y / 4 + 2))).toEqual([NaN, NaN]);
  });

  it.each([4, 9, 17])("minmax of %i zeros of both signs: a zero each", async (n) => {
    const xs = Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? -0 : 0));
    const { heap, k } = await kernelHeap(backend);
    const x = heap.alloc(n * 4);
    heap.f32.set(xs, x / 4);
    const y = heap.alloc(16);
    k.minmax_f32(n, x, y);
    expect([heap.f32[y / 4] === 0, heap.f32[y / 4 + 1] === 0]).toEqual([true, true]);
  });
});
