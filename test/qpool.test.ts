// The q16 pooling kernels (assembly/qpool.ts) against references computed here from the
// definitions, over channel counts 1..17 and past 16 (16- and 8-channel steps and the scalar
// tail), odd H and W, windows 1x1 to 3x3 with strides 1 and 2, dilations, asymmetric pads,
// int8 and uint8 outputs, in both builds, with guard bytes around every output. Max pooling and
// the i32 sums are exact; the averages are single IEEE float32 operations (onnxruntime's steps),
// emulated with Math.fround, so every result must match to the bit.
import { describe, expect, it } from "vitest";
import { BACKENDS, SIZES, roundRobin } from "./grid.js";
import { type Window, centred, kernelHeap, outDims, roundEven, windowTaps } from "./qgrid.js";
import { Rng } from "./reference.js";

const fr = Math.fround;

interface Case extends Window {
  id: number;
  c: number;
  signed: boolean; includePad: boolean;
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
    if (outDims(c).every((d) => d > 0) && windowTaps(c).every((taps) => taps.length > 0)) cases.push(c);
  }
  return cases;
}

/** A fresh heap of the build, with outputs of n q16 values between guard bytes. */
async function setup(backend: (typeof BACKENDS)[number]) {
  const { heap, k, put, guarded } = await kernelHeap(backend);
  const output = (n: number) => {
    const g = guarded(n * 2);
    return { ...g, read: () => Array.from(new Int16Array(heap.memory.buffer, g.y, n)) };
  };
  return { k, put, output };
}

/** The input's integers minus its zero point, as the chain holds them. */
function input(c: { batch: number; h: number; w: number; c: number; signed: boolean }, seed: number, zx: number): Int16Array {
  return centred(new Rng(seed), c.batch * c.h * c.w * c.c, c.signed, zx);
}

const label = (c: Case) => `#${c.id} N${c.batch} ${c.h}x${c.w}x${c.c} k${c.kh}x${c.kw} s${c.s} d${c.d} pad ${c.pt},${c.pl},${c.pb},${c.pr} ${c.signed ? "int8" : "uint8"}${c.includePad ? " includePad" : ""}`;

describe.each(BACKENDS)("%s build: q16 pooling", (backend) => {
  it.each(grid(true).map((c) => [label(c), c] as const))("maxpool2d_q16 %s", async (_, c) => {
    const { k, put, output } = await setup(backend);
    const zx = c.signed ? -3 : 131;
    const x = input(c, 0x7100 + c.id, zx);
    const [oh, ow] = outDims(c);
    const n = c.batch * oh * ow * c.c;
    const { y, read, guardsOk } = output(n);
    k.maxpool2d_q16(c.batch, c.h, c.w, c.c, oh, ow, c.kh, c.kw, c.s, c.s, c.d, c.d, c.pt, c.pl, put(x), y);
    const want = new Array<number>(n);
    for (const [p, taps] of windowTaps(c).entries()) {
      for (let ch = 0; ch < c.c; ch++) want[p * c.c + ch] = Math.max(...taps.map((t) => x[t.pixel * c.c + ch]));
    }
    expect(read()).toEqual(want);
    expect(guardsOk()).toBe(true);
  });

  it.each(grid(false).map((c) => [label(c), c] as const))("avgpool2d_q16 %s", async (_, c) => {
    const { k, put, output } = await setup(backend);
    const zx = c.signed ? 5 : 120;
    const x = input(c, 0x7200 + c.id, zx);
    const [oh, ow] = outDims(c);
    const n = c.batch * oh * ow * c.c;
    const sx = fr(0.0173), sy = fr(c.id % 4 === 0 ? 0.0173 : 0.0091);
    const zy = c.signed ? -7 : 126;
    const [lo, hi] = c.signed ? [-128, 127] : [0, 255];
    const { y, read, guardsOk } = output(n);
    k.avgpool2d_q16(c.batch, c.h, c.w, c.c, oh, ow, c.kh, c.kw, c.s, c.s, c.pt, c.pl, put(x), y, c.includePad ? 1 : 0, sx, sy, zy, c.signed ? 1 : 0);
    const want = new Array<number>(n);
    for (const [p, taps] of windowTaps(c).entries()) {
      for (let ch = 0; ch < c.c; ch++) {
        let s = 0;
        for (const t of taps) s = fr(s + fr(x[t.pixel * c.c + ch] * sx));
        const avg = fr(s / (c.includePad ? c.kh * c.kw : taps.length));
        want[p * c.c + ch] = Math.min(hi, Math.max(lo, roundEven(fr(fr(avg / sy) + zy)))) - zy + 0;
      }
    }
    expect(read()).toEqual(want);
    expect(guardsOk()).toBe(true);
  });

  const globals = [...SIZES, 24, 33].map((c, i) => ({ c, batch: 1 + (i % 2), h: [1, 3, 5, 7][i % 4], w: [2, 5, 9][i % 3], signed: i % 3 === 0 }));
  it.each(globals.map((g) => [`${g.batch}x${g.h}x${g.w}x${g.c} ${g.signed ? "int8" : "uint8"}`, g] as const))("globalpool_q16 max and average, %s", async (_, g) => {
    const { k, put, output } = await setup(backend);
    const zx = g.signed ? 0 : 128;
    const x = input(g, 0x7300 + g.c, zx);
    const px = put(x);
    const hw = g.h * g.w;
    const n = g.batch * g.c;
    const sum = (b: number, ch: number) => Array.from({ length: hw }, (_, p) => x[(b * hw + p) * g.c + ch]);
    const max = output(n);
    k.globalpool_q16(g.batch, hw, g.c, px, max.y, 1, 0, 0, g.signed ? 1 : 0);
    expect(max.read()).toEqual(Array.from({ length: n }, (_, i) => Math.max(...sum(Math.floor(i / g.c), i % g.c))));
    expect(max.guardsOk()).toBe(true);
    // A scale that puts many sums on ties (a power of two over hw), and a generic one.
    for (const scale of [fr(1 / (2 * hw)), fr(0.0173 / (0.0091 * hw))]) {
      const zy = g.signed ? -5 : 127;
      const [lo, hi] = g.signed ? [-128 - zy, 127 - zy] : [-zy, 255 - zy];
      const avg = output(n);
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
