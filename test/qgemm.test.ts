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
import { Heap } from "../src/runtime/heap.js";
import { QOUT } from "../src/runtime/kernels.js";
import { instantiate } from "../src/runtime/load.js";
import { BACKENDS, SIZES, roundRobin } from "./grid.js";
import { Rng } from "./reference.js";

const MR = 4, NR = 8;
const GUARD = 64;
const OUT_KINDS = ["i32", "f32", "u8", "i8", "q16u8", "q16i8"] as const;
type OutKind = (typeof OUT_KINDS)[number];

/** Round half to even, as ONNX's QuantizeLinear and requantization specify. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Case {
  id: number;
  batch: number; h: number; w: number; ci: number; co: number;
  kh: number; kw: number; s: number; d: number; pt: number; pl: number; pb: number; pr: number;
  aSigned: boolean; wSigned: boolean; out: OutKind; fbias: boolean; perChannel: boolean;
}

function outDims(c: Case): [number, number] {
  return [
    Math.floor((c.h + c.pt + c.pb - (c.d * (c.kh - 1) + 1)) / c.s) + 1,
    Math.floor((c.w + c.pl + c.pr - (c.d * (c.kw - 1) + 1)) / c.s) + 1,
  ];
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

interface Data {
  a: Int8Array | Uint8Array; w: Int8Array | Uint8Array; za: number; zw: number[];
  scale: Float32Array; fbias: Float32Array; zy: number;
  /** The q16 outputs' scale, set from the accumulators so that most land inside the 8-bit range. */
  ys: number;
}

function makeData(c: Case): Data {
  const rng = new Rng(0x1800 + c.id);
  const ks = c.kh * c.kw;
  const bytes = (n: number, signed: boolean) => {
    const v = signed ? new Int8Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = signed ? rng.int(-128, 127) : rng.int(0, 255);
    return v;
  };
  const zpOf = (signed: boolean) => (signed ? rng.int(-128, 127) : rng.int(0, 255));
  const zw0 = zpOf(c.wSigned);
  const scale0 = rng.uniform(1e-5, 4e-3);
  return {
    a: bytes(c.batch * c.h * c.w * c.ci, c.aSigned),
    w: bytes(c.co * c.ci * ks, c.wSigned),
    za: zpOf(c.aSigned),
    zw: Array.from({ length: c.co }, () => (c.perChannel ? zpOf(c.wSigned) : zw0)),
    scale: Float32Array.from({ length: c.co }, () => (c.perChannel ? rng.uniform(1e-5, 4e-3) : scale0)),
    fbias: Float32Array.from({ length: c.co }, () => (c.fbias ? rng.uniform(-3, 3) : 0)),
    zy: zpOf(c.out === "i8" || c.out === "q16i8"),
    ys: 1,
  };
}

/** Exact accumulators by the definition: the sum over taps and channels of (a - za)(w - zw). */
function reference(c: Case, d: Data): { acc: number[]; m: number } {
  const [oh, ow] = outDims(c);
  const m = c.batch * oh * ow;
  const acc: number[] = [];
  for (let p = 0; p < m; p++) {
    const x = p % ow, y = Math.floor(p / ow) % oh, b = Math.floor(p / (ow * oh));
    for (let j = 0; j < c.co; j++) {
      let s = 0;
      for (let ky = 0; ky < c.kh; ky++) {
        for (let kx = 0; kx < c.kw; kx++) {
          const iy = y * c.s - c.pt + ky * c.d, ix = x * c.s - c.pl + kx * c.d;
          if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
          for (let k = 0; k < c.ci; k++) {
            const av = d.a[((b * c.h + iy) * c.w + ix) * c.ci + k];
            const wv = d.w[((j * c.ci + k) * c.kh + ky) * c.kw + kx];
            s += (av - d.za) * (wv - d.zw[j]);
          }
        }
      }
      acc.push(s | 0);
    }
  }
  return { acc, m };
}

function expected(c: Case, d: Data, acc: number[]): number[] {
  return acc.map((v, i) => {
    const j = i % c.co;
    if (c.out === "i32") return v;
    const f = Math.fround(Math.fround(v) * d.scale[j]);
    if (c.out === "f32") return c.fbias ? Math.fround(f + d.fbias[j]) : f;
    if (c.out === "q16u8" || c.out === "q16i8") {
      const fb = c.fbias ? Math.fround(f + d.fbias[j]) : f;
      const [qlo, qhi] = c.out === "q16u8" ? [0, 255] : [-128, 127];
      return Math.min(qhi - d.zy, Math.max(qlo - d.zy, roundEven(Math.fround(fb / d.ys)))) + 0;
    }
    const [lo, hi] = c.out === "u8" ? [0, 255] : [-128, 127];
    return Math.min(hi, Math.max(lo, roundEven(f) + d.zy));
  });
}

async function run(backend: (typeof BACKENDS)[number], c: Case, d: Data): Promise<{ got: number[]; guardsOk: boolean }> {
  const heap = new Heap(1);
  const { kernels: k } = await instantiate(backend, heap.memory);
  const [oh, ow] = outDims(c);
  const ks = c.kh * c.kw;
  const m = c.batch * oh * ow;
  const tiles = Math.ceil(m / MR);
  const put = (src: ArrayBufferView, bytes: number) => {
    const p = heap.alloc(Math.max(bytes, 16));
    heap.u8.set(new Uint8Array(src.buffer, src.byteOffset, bytes), p);
    return p;
  };
  const centred = Int16Array.from(d.a, (v) => v - d.za);
  const a = put(centred, centred.length * 2);
  const wsrc = put(d.w, d.w.length);
  const zw = c.wSigned ? Int8Array.from(d.zw) : Uint8Array.from(d.zw);
  const wzp = put(zw, zw.length);
  const scale = put(d.scale, d.scale.length * 4);
  const fbias = put(d.fbias, d.fbias.length * 4);
  const zero = heap.alloc(Math.max(c.ci * 2, 16));
  heap.u8.fill(0, zero, zero + c.ci * 2);
  const panelBytes = ks * Math.ceil(c.ci / 2) * 32;
  const packed = heap.alloc(Math.ceil(c.co / NR) * panelBytes);
  k.pack_qgemm_q8_8(c.ci, ks, c.co, wsrc, 1, ks, c.ci * ks, wzp, packed, c.wSigned ? 1 : 0);
  const ind = heap.alloc(tiles * MR * ks * 4);
  k.conv2d_indirection(c.batch, c.h, c.w, c.ci, oh, ow, c.kh, c.kw, c.s, c.s, c.d, c.d, c.pt, c.pl, MR, ind);
  const elem = c.out === "u8" || c.out === "i8" ? 1 : c.out === "q16u8" || c.out === "q16i8" ? 2 : 4;
  const outBytes = m * c.co * elem;
  const region = heap.alloc(outBytes + 2 * GUARD);
  heap.u8.fill(0xa5, region, region + outBytes + 2 * GUARD);
  const y = region + GUARD;
  // Tap runs where the kernel takes them (an even K), as the op passes them.
  let runs = 0;
  if (c.ci % 2 === 0) {
    runs = heap.alloc(tiles * ks + 16);
    k.conv2d_tap_runs(tiles, ks, MR, c.ci * 4, ind, runs);
  }
  k.qgemm_q8_4x8(m, c.co, c.ci, ks, a, ind, runs, zero, packed, scale, c.fbias ? fbias : 0, y, c.co, QOUT[c.out], d.zy, d.ys);
  const buf = heap.memory.buffer;
  const view = c.out === "i32" ? new Int32Array(buf, y, m * c.co) : c.out === "f32" ? new Float32Array(buf, y, m * c.co)
    : c.out === "u8" ? new Uint8Array(buf, y, m * c.co) : c.out === "i8" ? new Int8Array(buf, y, m * c.co) : new Int16Array(buf, y, m * c.co);
  const guards = [...new Uint8Array(buf, region, GUARD), ...new Uint8Array(buf, y + outBytes, GUARD)];
  return { got: Array.from(view), guardsOk: guards.every((g) => g === 0xa5) };
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
    const { acc } = reference(c, d);
    const top = Math.max(1e-6, ...acc.map((v, i) => Math.abs(Math.fround(Math.fround(v) * d.scale[i % c.co]))));
    d.ys = Math.fround(top / 150);
    const want = expected(c, d, acc);
    const results = await Promise.all(BACKENDS.map((b) => run(b, c, d)));
    for (const [i, r] of results.entries()) {
      expect(r.guardsOk, `${BACKENDS[i]}: guard bytes`).toBe(true);
      expect(r.got, `${BACKENDS[i]} build`).toEqual(want);
    }
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
    const heap = new Heap(1);
    const { kernels: k } = await instantiate(backend, heap.memory);
    const x = heap.alloc(xs.length * 4);
    heap.f32.set(xs, x / 4);
    const bytes = xs.length * (centred ? 2 : 1);
    const region = heap.alloc(bytes + 2 * GUARD);
    heap.u8.fill(0xa5, region, region + bytes + 2 * GUARD);
    (centred ? k.quantize_f32_q8_i16 : k.quantize_f32_q8)(xs.length, x, region + GUARD, scale, zp, signed ? 1 : 0);
    const [lo, hi] = signed ? [-128, 127] : [0, 255];
    const want = Array.from(xs, (v) => {
      const q = Math.fround(v / Math.fround(scale));
      const r = Number.isNaN(q) ? zp : Math.min(hi, Math.max(lo, roundEven(Math.min(1e9, Math.max(-1e9, q))) + zp));
      return centred ? r - zp : r;
    });
    const buf = heap.memory.buffer;
    const view = centred ? new Int16Array(buf, region + GUARD, xs.length) : signed ? new Int8Array(buf, region + GUARD, xs.length) : new Uint8Array(buf, region + GUARD, xs.length);
    expect(Array.from(view)).toEqual(want);
    const guards = [...new Uint8Array(buf, region, GUARD), ...new Uint8Array(buf, region + GUARD + bytes, GUARD)];
    expect(guards.every((g) => g === 0xa5)).toBe(true);
  });

  it.each([[0.5, 128, false], [0.0173, 3, false], [0.25, -7, true], [3.1e-3, 127, true]] as const)(
    "fake_quantize_f32 scale %f zero point %i signed %s", async (scale, zp, signed) => {
      const rng = new Rng(0x53);
      const xs = Float32Array.from([...special.map((v) => v * scale), ...special, ...Array.from({ length: 23 }, () => rng.uniform(-300, 300) * scale)]);
      const heap = new Heap(1);
      const { kernels: k } = await instantiate(backend, heap.memory);
      const x = heap.alloc(xs.length * 4);
      heap.f32.set(xs, x / 4);
      const region = heap.alloc(xs.length * 4 + 2 * GUARD);
      heap.u8.fill(0xa5, region, region + xs.length * 4 + 2 * GUARD);
      k.fake_quantize_f32(xs.length, x, region + GUARD, scale, zp, signed ? 1 : 0);
      const [lo, hi] = signed ? [-128, 127] : [0, 255];
      const s = Math.fround(scale);
      // DequantizeLinear(QuantizeLinear(x)): (q - zp) * scale in float32, +0 for q = zp.
      const want = Array.from(xs, (v) => {
        const q = Math.fround(v / s);
        const r = Number.isNaN(q) ? zp : Math.min(hi, Math.max(lo, roundEven(Math.min(1e9, Math.max(-1e9, q))) + zp));
        return Math.fround((r - zp) * s) + 0;
      });
      const buf = heap.memory.buffer;
      const got = Array.from(new Float32Array(buf, region + GUARD, xs.length));
      expect(got.map((v) => Object.is(v, -0) ? "-0" : v)).toEqual(want);
      const guards = [...new Uint8Array(buf, region, GUARD), ...new Uint8Array(buf, region + GUARD + xs.length * 4, GUARD)];
      expect(guards.every((g) => g === 0xa5)).toBe(true);
    },
  );

  it.each([1, 2, 3, 4, 5, 7, 8, 9, 17, 100])("minmax of %i values", async (n) => {
    const rng = new Rng(0x52 + n);
    const xs = rng.f32(n, -5, 3);
    const heap = new Heap(1);
    const { kernels: k } = await instantiate(backend, heap.memory);
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
    const heap = new Heap(1);
    const { kernels: k } = await instantiate(backend, heap.memory);
    const x = heap.alloc(n * 4);
    heap.f32.set(xs, x / 4);
    const y = heap.alloc(16);
    k.minmax_f32(n, x, y);
    expect(Array.from(heap.f32.subarray(y / 4, y / 4 + 2))).toEqual([NaN, NaN]);
  });

  it.each([4, 9, 17])("minmax of %i zeros of both signs: a zero each", async (n) => {
    const xs = Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? -0 : 0));
    const heap = new Heap(1);
    const { kernels: k } = await instantiate(backend, heap.memory);
    const x = heap.alloc(n * 4);
    heap.f32.set(xs, x / 4);
    const y = heap.alloc(16);
    k.minmax_f32(n, x, y);
    expect([heap.f32[y / 4] === 0, heap.f32[y / 4 + 1] === 0]).toEqual([true, true]);
  });
});
