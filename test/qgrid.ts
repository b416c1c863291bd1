// Shared machinery of the 8-bit kernel tests (test/qgemm, qdwconv, qwinograd, qpool and
// qchain.test.ts): ONNX's rounding, sliding windows over NHWC inputs, a quantized convolution's
// seeded operands, its exact accumulators by the definition and its store's reference, and a
// fresh heap of one build with guarded outputs. Everything here is computed from the ONNX
// definitions, never from a kernel's packing or order.
import { expect } from "vitest";
import { Heap } from "../src/runtime/heap.js";
import { instantiate } from "../src/runtime/load.js";
import { BACKENDS, type BackendName } from "./grid.js";
import { Rng } from "./reference.js";

/** Bytes of 0xa5 either side of every output, which a kernel must leave as they are. */
export const GUARD = 64;

/** The output kinds of qgemm_q8_4x8's store (QOUT), which dwconv_q16_8 and the Winograd kernel share. */
export const OUT_KINDS = ["i32", "f32", "u8", "i8", "q16u8", "q16i8"] as const;
export type OutKind = (typeof OUT_KINDS)[number];

/** Round half to even, as ONNX's QuantizeLinear and requantization specify. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A sliding window over an NHWC input: kernel, one stride and one dilation for both axes, pads top, left, bottom, right. */
export interface Window {
  batch: number; h: number; w: number;
  kh: number; kw: number; s: number; d: number; pt: number; pl: number; pb: number; pr: number;
}

export function outDims(c: Window): [number, number] {
  return [
    Math.floor((c.h + c.pt + c.pb - (c.d * (c.kh - 1) + 1)) / c.s) + 1,
    Math.floor((c.w + c.pl + c.pr - (c.d * (c.kw - 1) + 1)) / c.s) + 1,
  ];
}

/**
 * Each output pixel's in-image taps (outputs in NHWC order, taps by rows, then columns): the input
 * pixel (b H + iy) W + ix and the tap ky kw + kx.
 */
export function windowTaps(c: Window): { pixel: number; tap: number }[][] {
  const [oh, ow] = outDims(c);
  const res: { pixel: number; tap: number }[][] = [];
  for (let b = 0; b < c.batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const taps: { pixel: number; tap: number }[] = [];
        for (let ky = 0; ky < c.kh; ky++) {
          for (let kx = 0; kx < c.kw; kx++) {
            const iy = oy * c.s - c.pt + ky * c.d, ix = ox * c.s - c.pl + kx * c.d;
            if (iy >= 0 && iy < c.h && ix >= 0 && ix < c.w) taps.push({ pixel: (b * c.h + iy) * c.w + ix, tap: ky * c.kw + kx });
          }
        }
        res.push(taps);
      }
    }
  }
  return res;
}

/** What a quantized convolution case draws its operands and store by. */
export interface QCase {
  aSigned: boolean; wSigned: boolean; out: OutKind; fbias: boolean; perChannel: boolean;
}

/** A quantized convolution's operands and store parameters. */
export interface QData {
  a: Int8Array | Uint8Array; w: Int8Array | Uint8Array; za: number; zw: number[];
  scale: Float32Array; fbias: Float32Array; zy: number;
  /** The q16 outputs' scale, set from the accumulators (setYs) so that most land inside the 8-bit range. */
  ys: number;
}

/**
 * Seeded operands: `aLength` activations and `wLength` weights of their types, zero points and
 * scales per output channel or one for all, a bias (or zeros) and the output's zero point.
 */
export function makeQData(seed: number, c: QCase, aLength: number, wLength: number, channels: number): QData {
  const rng = new Rng(seed);
  const bytes = (n: number, signed: boolean) => {
    const v = signed ? new Int8Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = signed ? rng.int(-128, 127) : rng.int(0, 255);
    return v;
  };
  const zpOf = (signed: boolean) => (signed ? rng.int(-128, 127) : rng.int(0, 255));
  const zw0 = zpOf(c.wSigned);
  const scale0 = rng.uniform(1e-5, 4e-3);
  return {
    a: bytes(aLength, c.aSigned),
    w: bytes(wLength, c.wSigned),
    za: zpOf(c.aSigned),
    zw: Array.from({ length: channels }, () => (c.perChannel ? zpOf(c.wSigned) : zw0)),
    scale: Float32Array.from({ length: channels }, () => (c.perChannel ? rng.uniform(1e-5, 4e-3) : scale0)),
    fbias: Float32Array.from({ length: channels }, () => (c.fbias ? rng.uniform(-3, 3) : 0)),
    zy: zpOf(c.out === "i8" || c.out === "q16i8"),
    ys: 1,
  };
}

/**
 * The exact accumulators by the definition, NHWC [batch, oh, ow, cout]: for output channel j of
 * group g, the sum over the in-image taps and the group's cin / groups input channels k of
 * (a - za)(w - zw[j]), the weight at index weightAt(j, tap, k) of d.w. Exact in float64: every
 * sum here is far below 2^53.
 */
export function convAccumulators(
  c: Window, d: QData, cin: number, cout: number, groups: number, weightAt: (j: number, tap: number, k: number) => number,
): number[] {
  const perGroup = cin / groups, outPerGroup = cout / groups;
  const acc: number[] = [];
  for (const taps of windowTaps(c)) {
    for (let j = 0; j < cout; j++) {
      const k0 = Math.floor(j / outPerGroup) * perGroup;
      let s = 0;
      for (const { pixel, tap } of taps) {
        for (let k = 0; k < perGroup; k++) s += (d.a[pixel * cin + k0 + k] - d.za) * (d.w[weightAt(j, tap, k)] - d.zw[j]);
      }
      acc.push(s);
    }
  }
  return acc;
}

/** Sets d.ys from the accumulators: the largest |f32(acc) * scale| over 150 output steps. */
export function setYs(d: QData, acc: number[], channels: number): void {
  const top = Math.max(1e-6, ...acc.map((v, i) => Math.abs(Math.fround(Math.fround(v) * d.scale[i % channels]))));
  d.ys = Math.fround(top / 150);
}

/**
 * qgemm_q8_4x8's store on exact accumulators (channels last) as the ONNX arithmetic defines it,
 * in float32 steps: i32 as it is (every case's sum fits), f32 dequantized (+ bias), u8 and i8
 * requantized from the dequantized value, the q16 kinds quantized by the next op's scale minus its
 * zero point.
 */
export function expectedStore(c: QCase, d: QData, acc: number[], channels: number): number[] {
  return acc.map((v, i) => {
    const j = i % channels;
    if (c.out === "i32") return v | 0;
    const f = Math.fround(Math.fround(v) * d.scale[j]);
    const fb = c.fbias ? Math.fround(f + d.fbias[j]) : f;
    if (c.out === "f32") return fb;
    if (c.out === "q16u8" || c.out === "q16i8") {
      const [lo, hi] = c.out === "q16u8" ? [0, 255] : [-128, 127];
      return Math.min(hi - d.zy, Math.max(lo - d.zy, roundEven(Math.fround(fb / d.ys)))) + 0;
    }
    const [lo, hi] = c.out === "u8" ? [0, 255] : [-128, 127];
    return Math.min(hi, Math.max(lo, roundEven(f) + d.zy));
  });
}

/** Bytes per element of an output kind. */
export function elemOf(o: OutKind): number {
  return o === "u8" || o === "i8" ? 1 : o === "q16u8" || o === "q16i8" ? 2 : 4;
}

/** n outputs of kind o at p. */
export function readOut(buf: ArrayBufferLike, p: number, n: number, o: OutKind): number[] {
  const v = o === "i32" ? new Int32Array(buf, p, n) : o === "f32" ? new Float32Array(buf, p, n) : o === "u8" ? new Uint8Array(buf, p, n)
    : o === "i8" ? new Int8Array(buf, p, n) : new Int16Array(buf, p, n);
  return Array.from(v);
}

/** n values of an 8-bit type minus its zero point: the i16 operand the q16 kernels read. */
export function centred(rng: Rng, n: number, signed: boolean, zp: number): Int16Array {
  return Int16Array.from({ length: n }, () => (signed ? rng.int(-128, 127) : rng.int(0, 255)) - zp);
}

/** Runs a case in both builds: each must leave its guard bytes and give `want` to the bit. */
export async function expectBothBuilds(want: number[], run: (backend: BackendName) => Promise<{ got: number[]; guardsOk: boolean }>): Promise<void> {
  const results = await Promise.all(BACKENDS.map(run));
  for (const [i, r] of results.entries()) {
    expect(r.guardsOk, `${BACKENDS[i]}: guard bytes`).toBe(true);
    expect(r.got, `${BACKENDS[i]} build`).toEqual(want);
  }
}

/**
 * A fresh heap and one build's kernels over it: `put` copies a view's bytes into an allocation of
 * their size (16 at least), so that the data ends where its allocation does; `guarded` allocates
 * an output of `bytes` between GUARD bytes of 0xa5.
 */
export async function kernelHeap(backend: BackendName) {
  const heap = new Heap(1);
  const { kernels: k } = await instantiate(backend, heap.memory);
  const put = (src: ArrayBufferView) => {
    const p = heap.alloc(Math.max(src.byteLength, 16));
    heap.u8.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), p);
    return p;
  };
  const guarded = (bytes: number) => {
    const region = heap.alloc(bytes + 2 * GUARD);
    heap.u8.fill(0xa5, region, region + bytes + 2 * GUARD);
    const guardsOk = () => [...heap.u8.subarray(region, region + GUARD), ...heap.u8.subarray(region + GUARD + bytes, region + bytes + 2 * GUARD)].every((g) => g === 0xa5);
    return { y: region + GUARD, guardsOk };
  };
  return { heap, k, put, guarded };
}
