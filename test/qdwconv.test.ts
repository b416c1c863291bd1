// dwconv_q16_8 against exact integer references computed here from the definition (not from the
// kernel's packing): the sum over a channel's in-image taps of (a - za)(w - zw[c]), over a grid of
// channel counts 1..17 and past (16-channel steps, 8-channel blocks and the scalar tail), odd
// H and W, kernels 1x1 to 5x5, strides 1 and 2, dilations 1 and 2, asymmetric pads, int8 and
// uint8 activations and weights, per-tensor and per-channel weight parameters and every output
// kind, in both builds, with guard bytes around every output. The i32 results must be exact; the
// other kinds are single IEEE operations on the exact accumulator (qgemm_q8_4x8's store), so the
// reference emulates them with Math.fround and must match to the bit.
import { describe, expect, it } from "vitest";
import { Heap } from "../src/runtime/heap.js";
import { QDWCONV_CB, QOUT } from "../src/runtime/kernels.js";
import { instantiate } from "../src/runtime/load.js";
import { BACKENDS, SIZES, roundRobin } from "./grid.js";
import { Rng } from "./reference.js";

const GUARD = 64;
const OUT_KINDS = ["i32", "f32", "u8", "i8", "q16u8", "q16i8"] as const;
type OutKind = (typeof OUT_KINDS)[number];

function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Case {
  id: number;
  batch: number; h: number; w: number; c: number;
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
  const rng = new Rng(0xd18);
  const cases: Case[] = [];
  const channels = [...SIZES, 24, 31, 32, 33, 40, 47];
  for (let i = 0; i < 96; i++) {
    const c: Case = {
      id: i,
      batch: roundRobin([1, 2], i, 1),
      h: roundRobin([1, 3, 5, 8, 7], i, 1), w: roundRobin([1, 2, 6, 9, 11, 4], i, 1),
      c: roundRobin(channels, i, 5, 1),
      kh: roundRobin([3, 1, 3, 5, 2], i, 1), kw: roundRobin([3, 3, 1, 5, 2, 3], i, 1),
      s: roundRobin([1, 2, 1], i, 1), d: roundRobin([1, 1, 2, 1], i, 1, 1),
      pt: roundRobin([0, 1, 2, 1], i, 1), pl: roundRobin([1, 0, 2], i, 1),
      pb: roundRobin([0, 1, 1], i, 1), pr: roundRobin([1, 0], i, 1),
      aSigned: rng.bool(), wSigned: rng.bool(), out: roundRobin(OUT_KINDS, i, 1, Math.floor(i / 6)),
      fbias: rng.bool(), perChannel: rng.bool(),
    };
    if (outDims(c).every((d) => d > 0)) cases.push(c);
  }
  // A MobileNet-sized layer: 3x3 over 32+ channels with both strides.
  const big = { batch: 1, kh: 3, kw: 3, d: 1, pt: 1, pl: 1, pb: 1, pr: 1, fbias: true, perChannel: true, aSigned: false, wSigned: true };
  cases.push({ ...big, id: 200, h: 15, w: 17, c: 72, s: 1, out: "q16u8" });
  cases.push({ ...big, id: 201, h: 16, w: 13, c: 57, s: 2, out: "f32" });
  return cases;
}

const CASES = grid();

interface Data {
  a: Int8Array | Uint8Array; w: Int8Array | Uint8Array; za: number; zw: number[];
  scale: Float32Array; fbias: Float32Array; zy: number; ys: number;
}

function makeData(c: Case): Data {
  const rng = new Rng(0xd1800 + c.id);
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
    a: bytes(c.batch * c.h * c.w * c.c, c.aSigned),
    w: bytes(c.c * ks, c.wSigned),
    za: zpOf(c.aSigned),
    zw: Array.from({ length: c.c }, () => (c.perChannel ? zpOf(c.wSigned) : zw0)),
    scale: Float32Array.from({ length: c.c }, () => (c.perChannel ? rng.uniform(1e-5, 4e-3) : scale0)),
    fbias: Float32Array.from({ length: c.c }, () => (c.fbias ? rng.uniform(-3, 3) : 0)),
    zy: zpOf(c.out === "i8" || c.out === "q16i8"),
    ys: 1,
  };
}

/** Exact accumulators by the definition; weights [C, kh, kw] as ONNX stores a depthwise filter. */
function reference(c: Case, d: Data): number[] {
  const [oh, ow] = outDims(c);
  const acc: number[] = [];
  for (let p = 0; p < c.batch * oh * ow; p++) {
    const x = p % ow, y = Math.floor(p / ow) % oh, b = Math.floor(p / (ow * oh));
    for (let j = 0; j < c.c; j++) {
      let s = 0;
      for (let ky = 0; ky < c.kh; ky++) {
        for (let kx = 0; kx < c.kw; kx++) {
          const iy = y * c.s - c.pt + ky * c.d, ix = x * c.s - c.pl + kx * c.d;
          if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
          s += (d.a[((b * c.h + iy) * c.w + ix) * c.c + j] - d.za) * (d.w[(j * c.kh + ky) * c.kw + kx] - d.zw[j]);
        }
      }
      acc.push(s);
    }
  }
  return acc;
}

function expected(c: Case, d: Data, acc: number[]): number[] {
  return acc.map((v, i) => {
    const j = i % c.c;
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
  const put = (src: ArrayBufferView, bytes: number) => {
    const p = heap.alloc(Math.max(bytes, 16));
    heap.u8.set(new Uint8Array(src.buffer, src.byteOffset, bytes), p);
    return p;
  };
  // The input ends where its allocation does, so a read past the last pixel would leave it.
  const centred = Int16Array.from(d.a, (v) => v - d.za);
  const a = put(centred, centred.length * 2);
  // The kernel's layout: per 8-channel block and pair of taps, each channel's two weights side by side.
  const blocks = Math.ceil(c.c / QDWCONV_CB);
  const pairs = Math.ceil(ks / 2);
  const packedValues = new Int16Array(blocks * pairs * QDWCONV_CB * 2);
  for (let j = 0; j < c.c; j++) {
    for (let t = 0; t < ks; t++) packedValues[((Math.floor(j / QDWCONV_CB) * pairs + (t >> 1)) * QDWCONV_CB + (j % QDWCONV_CB)) * 2 + (t & 1)] = d.w[j * ks + t] - d.zw[j];
  }
  const packed = put(packedValues, packedValues.length * 2);
  const scale = put(d.scale, d.scale.length * 4);
  const fbias = put(d.fbias, d.fbias.length * 4);
  const zero = heap.alloc(Math.max(c.c * 2, 16));
  heap.u8.fill(0, zero, zero + c.c * 2);
  const ind = heap.alloc(m * ks * 4);
  k.conv2d_indirection(c.batch, c.h, c.w, c.c, oh, ow, c.kh, c.kw, c.s, c.s, c.d, c.d, c.pt, c.pl, 1, ind);
  const elem = c.out === "u8" || c.out === "i8" ? 1 : c.out === "q16u8" || c.out === "q16i8" ? 2 : 4;
  const outBytes = m * c.c * elem;
  const region = heap.alloc(outBytes + 2 * GUARD);
  heap.u8.fill(0xa5, region, region + outBytes + 2 * GUARD);
  const y = region + GUARD;
  k.dwconv_q16_8(m, c.c, ks, a, ind, zero, packed, scale, c.fbias ? fbias : 0, y, QOUT[c.out], d.zy, d.ys);
  const buf = heap.memory.buffer;
  const view = c.out === "i32" ? new Int32Array(buf, y, m * c.c) : c.out === "f32" ? new Float32Array(buf, y, m * c.c)
    : c.out === "u8" ? new Uint8Array(buf, y, m * c.c) : c.out === "i8" ? new Int8Array(buf, y, m * c.c) : new Int16Array(buf, y, m * c.c);
  const guards = [...new Uint8Array(buf, region, GUARD), ...new Uint8Array(buf, y + outBytes, GUARD)];
  return { got: Array.from(view), guardsOk: guards.every((g) => g === 0xa5) };
}

function label(c: Case): string {
  return `#${c.id} N${c.batch} ${c.h}x${c.w}x${c.c} k${c.kh}x${c.kw} s${c.s} d${c.d} pad ${c.pt},${c.pl},${c.pb},${c.pr} `
    + `a ${c.aSigned ? "i8" : "u8"} w ${c.wSigned ? "i8" : "u8"} out ${c.out}${c.fbias ? " fbias" : ""}${c.perChannel ? " per-channel" : ""}`;
}

describe("dwconv_q16_8 against exact integer references", () => {
  it("covers channels 1..17 and past 32, strides 1 and 2, and every output kind", () => {
    for (const s of SIZES) expect(CASES.some((c) => c.c === s)).toBe(true);
    for (const o of OUT_KINDS) expect(CASES.some((c) => c.out === o)).toBe(true);
    expect(CASES.some((c) => c.s === 2 && c.c > 32)).toBe(true);
  });

  it.each(CASES.map((c) => [label(c), c] as const))("%s", async (_, c) => {
    const d = makeData(c);
    const acc = reference(c, d);
    const top = Math.max(1e-6, ...acc.map((v, i) => Math.abs(Math.fround(Math.fround(v) * d.scale[i % c.c]))));
    d.ys = Math.fround(top / 150);
    const want = expected(c, d, acc);
    const results = await Promise.all(BACKENDS.map((b) => run(b, c, d)));
    for (const [i, r] of results.entries()) {
      expect(r.guardsOk, `${BACKENDS[i]}: guard bytes`).toBe(true);
      expect(r.got, `${BACKENDS[i]} build`).toEqual(want);
    }
  });
});
