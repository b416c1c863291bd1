// The q16 pooling kernels (assembly/qpool.ts) against references computed here from the
// definitions, over channel counts 1..17 and past 16 (16- and 8-channel steps and the scalar
// tail), odd H and W, windows 1x1 to 3x3 with strides 1 and 2, dilations, asymmetric pads,
// int8 and uint8 outputs, in both builds, with guard bytes around every output. Max pooling and
// the i32 sums are exact; the averages are single IEEE float32 operations (onnxruntime's steps),
// emulated with Math.fround, so every result must match to the bit.
import { describe, expect, it } from "vitest";
import { Heap } from "../src/runtime/heap.js";
import { instantiate } from "../src/runtime/load.js";
import { BACKENDS, SIZES, roundRobin } from "./grid.js";
import { Rng } from "./reference.js";

const GUARD = 64;
const fr = Math.fround;

function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Case {
  id: number;
  batch: number; h: number; w: number; c: number;
  kh: number; kw: number; s: number; d: number; pt: number; pl: number; pb: number; pr: number;
  signed: boolean; includePad: boolean;
}

function outDims(c: Case): [number, number] {
  return [
    Math.floor((c.h + c.pt + c.pb - (c.d * (c.kh - 1) + 1)) / c.s) + 1,
    Math.floor((c.w + c.pl + c.pr - (c.d * (c.kw - 1) + 1)) / c.s) + 1,
  ];
}

function grid(dilated: boolean): Case[] {
  const cases: Case[] = [];
  const channels = [...SIZES, 24, 33, 40];
  for (let i = 0; i < 60; i++) {
    const kh = roundRobin([3, 2, 1, 3], i, 1), kw = roundRobin([3, 3, 2, 1, 2], i, 1);
    const c: Case = {
      id: i, batch: roundRobin([1, 2], i, 1),
      h: roundRobin([1, 3, 5, 8, 7], i, 1), w: roundRobin([2, 6, 9, 11, 4], i, 1),
      c: roundRobin(channels, i, 7, 2), kh, kw,
      s: roundRobin([1, 2, 2], i, 1), d: dilated ? roundRobin([1, 2], i, 1) : 1,
      pt: Math.min(kh - 1, roundRobin([0, 1, 2], i, 1)), pl: Math.min(kw - 1, roundRobin([1, 0, 2], i, 1)),
      pb: Math.min(kh - 1, roundRobin([0, 1], i, 1)), pr: Math.min(kw - 1, roundRobin([1, 0, 1], i, 1)),
      signed: i % 3 === 0, includePad: i % 2 === 1,
    };
    // ONNX's pads are smaller than the kernel, so every window holds a tap; dilated windows over
    // a tiny image can miss it all, a case no model gives.
    if (outDims(c).every((d) => d > 0) && windows(c).every((w) => w.taps.length > 0)) cases.push(c);
  }
  return cases;
}

async function setup(backend: (typeof BACKENDS)[number]) {
  const heap = new Heap(1);
  const { kernels: k } = await instantiate(backend, heap.memory);
  const put16 = (v: Int16Array) => {
    const p = heap.alloc(Math.max(16, v.length * 2));
    new Int16Array(heap.memory.buffer, p, v.length).set(v);
    return p;
  };
  const guarded = (n: number) => {
    const bytes = n * 2;
    const region = heap.alloc(bytes + 2 * GUARD);
    heap.u8.fill(0xa5, region, region + bytes + 2 * GUARD);
    const read = () => Array.from(new Int16Array(heap.memory.buffer, region + GUARD, n));
    const guardsOk = () => [...heap.u8.subarray(region, region + GUARD), ...heap.u8.subarray(region + GUARD + bytes, region + bytes + 2 * GUARD)].every((g) => g === 0xa5);
    return { y: region + GUARD, read, guardsOk };
  };
  return { k, put16, guarded };
}

/** The input's integers minus its zero point, as the chain holds them. */
function centred(c: { batch: number; h: number; w: number; c: number; signed: boolean }, seed: number, zx: number): Int16Array {
  const rng = new Rng(seed);
  return Int16Array.from({ length: c.batch * c.h * c.w * c.c }, () => (c.signed ? rng.int(-128, 127) : rng.int(0, 255)) - zx);
}

/** Each output's in-image taps, in order (rows, then columns), as input element indices. */
function windows(c: Case): { taps: number[]; out: number }[] {
  const [oh, ow] = outDims(c);
  const res: { taps: number[]; out: number }[] = [];
  for (let b = 0; b < c.batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c.c; ch++) {
          const taps: number[] = [];
          for (let ky = 0; ky < c.kh; ky++) {
            for (let kx = 0; kx < c.kw; kx++) {
              const iy = oy * c.s - c.pt + ky * c.d, ix = ox * c.s - c.pl + kx * c.d;
              if (iy >= 0 && iy < c.h && ix >= 0 && ix < c.w) taps.push(((b * c.h + iy) * c.w + ix) * c.c + ch);
            }
          }
          res.push({ taps, out: ((b * oh + oy) * ow + ox) * c.c + ch });
        }
      }
    }
  }
  return res;
}

const label = (c: Case) => `#${c.id} N${c.batch} ${c.h}x${c.w}x${c.c} k${c.kh}x${c.kw} s${c.s} d${c.d} pad ${c.pt},${c.pl},${c.pb},${c.pr} ${c.signed ? "int8" : "uint8"}${c.includePad ? " includePad" : ""}`;

describe.each(BACKENDS)("%s build: q16 pooling", (backend) => {
  it.each(grid(true).map((c) => [label(c), c] as const))("maxpool2d_q16 %s", async (_, c) => {
    const { k, put16, guarded } = await setup(backend);
    const zx = c.signed ? -3 : 131;
    const x = centred(c, 0x7100 + c.id, zx);
    const [oh, ow] = outDims(c);
    const n = c.batch * oh * ow * c.c;
    const { y, read, guardsOk } = guarded(n);
    k.maxpool2d_q16(c.batch, c.h, c.w, c.c, oh, ow, c.kh, c.kw, c.s, c.s, c.d, c.d, c.pt, c.pl, put16(x), y);
    const want = new Array<number>(n);
    for (const { taps, out } of windows(c)) want[out] = Math.max(...taps.map((t) => x[t]));
    expect(read()).toEqual(want);
    expect(guardsOk()).toBe(true);
  });

  it.each(grid(false).map((c) => [label(c), c] as const))("avgpool2d_q16 %s", async (_, c) => {
    const { k, put16, guarded } = await setup(backend);
    const zx = c.signed ? 5 : 120;
    const x = centred(c, 0x7200 + c.id, zx);
    const [oh, ow] = outDims(c);
    const n = c.batch * oh * ow * c.c;
    const sx = fr(0.0173), sy = fr(c.id % 4 === 0 ? 0.0173 : 0.0091);
    const zy = c.signed ? -7 : 126;
    const [lo, hi] = c.signed ? [-128, 127] : [0, 255];
    const { y, read, guardsOk } = guarded(n);
    k.avgpool2d_q16(c.batch, c.h, c.w, c.c, oh, ow, c.kh, c.kw, c.s, c.s, c.pt, c.pl, put16(x), y, c.includePad ? 1 : 0, sx, sy, zy, c.signed ? 1 : 0);
    const want = new Array<number>(n);
    for (const { taps, out } of windows(c)) {
      let s = 0;
      for (const t of taps) s = fr(s + fr(x[t] * sx));
      const avg = fr(s / (c.includePad ? c.kh * c.kw : taps.length));
      want[out] = Math.min(hi, Math.max(lo, roundEven(fr(fr(avg / sy) + zy)))) - zy + 0;
    }
    expect(read()).toEqual(want);
    expect(guardsOk()).toBe(true);
  });

  const globals = [...SIZES, 24, 33].map((c, i) => ({ c, batch: 1 + (i % 2), h: [1, 3, 5, 7][i % 4], w: [2, 5, 9][i % 3], signed: i % 3 === 0 }));
  it.each(globals.map((g) => [`${g.batch}x${g.h}x${g.w}x${g.c} ${g.signed ? "int8" : "uint8"}`, g] as const))("globalpool_q16 max and average, %s", async (_, g) => {
    const { k, put16, guarded } = await setup(backend);
    const zx = g.signed ? 0 : 128;
    const x = centred(g, 0x7300 + g.c, zx);
    const px = put16(x);
    const hw = g.h * g.w;
    const n = g.batch * g.c;
    const sum = (b: number, ch: number) => Array.from({ length: hw }, (_, p) => x[(b * hw + p) * g.c + ch]);
    const max = guarded(n);
    k.globalpool_q16(g.batch, hw, g.c, px, max.y, 1, 0, 0, g.signed ? 1 : 0);
    expect(max.read()).toEqual(Array.from({ length: n }, (_, i) => Math.max(...sum(Math.floor(i / g.c), i % g.c))));
    expect(max.guardsOk()).toBe(true);
    // A scale that puts many sums on ties (a power of two over hw), and a generic one.
    for (const scale of [fr(1 / (2 * hw)), fr(0.0173 / (0.0091 * hw))]) {
      const zy = g.signed ? -5 : 127;
      const [lo, hi] = g.signed ? [-128 - zy, 127 - zy] : [-zy, 255 - zy];
      const avg = guarded(n);
      k.globalpool_q16(g.batch, hw, g.c, px, avg.y, 0, scale, zy, g.signed ? 1 : 0);
      const want = Array.from({ length: n }, (_, i) => {
        const s = sum(Math.floor(i / g.c), i % g.c).reduce((a, b) => a + b, 0);
        return Math.min(hi, Math.max(lo, roundEven(fr(s * scale)))) + 0;
      });
      expect(avg.read()).toEqual(want);
      expect(avg.guardsOk()).toBe(true);
    }
  });
});
