// The tables the indirect GEMM reads: conv2d_indirection's row offsets and conv2d_tap_runs' runs
// of taps that continue each row's memory, both checked against values computed here from the
// convolution's geometry alone (not from the kernel's table), in both builds. A run that joined
// two taps whose memory does not continue would read wrong inputs; one that failed to join would
// only cost speed, so the test also requires the runs a 3x3 window's interior must have.
import { describe, expect, it } from "vitest";
import { Heap } from "../src/runtime/heap.js";
import { instantiate } from "../src/runtime/load.js";
import { BACKENDS, roundRobin } from "./grid.js";

const MR = 4;

interface Geometry {
  batch: number; h: number; w: number; pixelStride: number; kc: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; pb: number; pr: number;
}

function outDims(g: Geometry): [number, number] {
  const oh = Math.floor((g.h + g.pt + g.pb - (g.dh * (g.kh - 1) + 1)) / g.sh) + 1;
  const ow = Math.floor((g.w + g.pl + g.pr - (g.dw * (g.kw - 1) + 1)) / g.sw) + 1;
  return [oh, ow];
}

/** Byte offset of tap t's input pixel for output pixel p, or -1 where it is padding. */
function offsetOf(g: Geometry, oh: number, ow: number, p: number, t: number): number {
  const x = p % ow, y = Math.floor(p / ow) % oh, b = Math.floor(p / (ow * oh));
  const iy = y * g.sh - g.pt + Math.floor(t / g.kw) * g.dh;
  const ix = x * g.sw - g.pl + (t % g.kw) * g.dw;
  return iy < 0 || iy >= g.h || ix < 0 || ix >= g.w ? -1 : ((b * g.h + iy) * g.w + ix) * g.pixelStride * 4;
}

function expectedRuns(g: Geometry): { offsets: number[]; runs: number[] } {
  const [oh, ow] = outDims(g);
  const m = g.batch * oh * ow;
  const ks = g.kh * g.kw;
  const tiles = Math.ceil(m / MR);
  const offsets: number[] = [];
  const runs: number[] = [];
  for (let tile = 0; tile < tiles; tile++) {
    const pixels = Array.from({ length: MR }, (_, r) => Math.min(tile * MR + r, m - 1));
    for (let t = 0; t < ks; t++) for (const p of pixels) offsets.push(offsetOf(g, oh, ow, p, t));
    const joins = (t: number) => pixels.every((p) => {
      const a = offsetOf(g, oh, ow, p, t), b = offsetOf(g, oh, ow, p, t + 1);
      return a >= 0 && b >= 0 && b === a + g.kc * 4;
    });
    const tileRuns = new Array<number>(ks).fill(1);
    for (let t = ks - 2; t >= 0; t--) tileRuns[t] = joins(t) && tileRuns[t + 1] < 255 ? tileRuns[t + 1] + 1 : 1;
    runs.push(...tileRuns);
  }
  return { offsets, runs };
}

const GRID: Geometry[] = [];
for (let i = 0; i < 60; i++) {
  const kh = roundRobin([3, 1, 5, 2, 3], i, 1), kw = roundRobin([3, 3, 1, 5, 2, 7], i, 1);
  const groups = roundRobin([1, 1, 2, 1, 3], i, 1);
  const kc = roundRobin([1, 3, 16, 5], i, 3);
  const d = roundRobin([1, 1, 2], i, 1, 1), s = roundRobin([1, 2, 1, 3], i, 1);
  const pad = roundRobin([0, 1, 2, 3], i, 1);
  GRID.push({
    batch: roundRobin([1, 2], i, 1), h: roundRobin([3, 7, 9, 12], i, 1), w: roundRobin([3, 4, 8, 11, 13], i, 1),
    pixelStride: kc * groups, kc, kh, kw, sh: s, sw: roundRobin([1, 1, 2], i, 1), dh: d, dw: roundRobin([1, 2, 1], i, 1),
    pt: pad, pl: roundRobin([0, 1, 2], i, 1, 1), pb: roundRobin([0, 1], i, 1), pr: pad,
  });
}
// A window as wide as the image: one tap row continues into the next, so runs cross rows.
GRID.push({ batch: 1, h: 6, w: 3, pixelStride: 8, kc: 8, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, pb: 0, pr: 0 });
// More than 255 taps that all continue: the run is cut at the u8's 255.
GRID.push({ batch: 1, h: 1, w: 300, pixelStride: 2, kc: 2, kh: 1, kw: 300, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, pb: 0, pr: 0 });

describe.each(BACKENDS)("%s build: conv2d_indirection and conv2d_tap_runs", (backend) => {
  it.each(GRID.map((g, i) => [i, g] as const).filter(([, g]) => outDims(g).every((n) => n > 0)))("geometry #%i", async (_, g) => {
    const heap = new Heap(1);
    const { kernels: k } = await instantiate(backend, heap.memory);
    const [oh, ow] = outDims(g);
    const ks = g.kh * g.kw;
    const tiles = Math.ceil((g.batch * oh * ow) / MR);
    const ind = heap.alloc(tiles * MR * ks * 4);
    const runs = heap.alloc(tiles * ks + 16);
    new Uint8Array(heap.memory.buffer, runs, tiles * ks + 16).fill(0xee);
    k.conv2d_indirection(g.batch, g.h, g.w, g.pixelStride, oh, ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, MR, ind);
    k.conv2d_tap_runs(tiles, ks, MR, g.kc * 4, ind, runs);
    const want = expectedRuns(g);
    expect(Array.from(new Int32Array(heap.memory.buffer, ind, tiles * MR * ks))).toEqual(want.offsets);
    const got = new Uint8Array(heap.memory.buffer, runs, tiles * ks + 16);
    expect(Array.from(got.subarray(0, tiles * ks))).toEqual(want.runs);
    expect(Array.from(got.subarray(tiles * ks)), "bytes past the runs table").toEqual(new Array(16).fill(0xee));
  });

  it("joins the three taps of each window row for interior pixels of a 3x3 convolution", async () => {
    const g: Geometry = { batch: 1, h: 16, w: 16, pixelStride: 16, kc: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1 };
    const { runs } = expectedRuns(g);
    // Tile 1 holds pixels 4..7 of the first output row: its bottom two window rows are inside.
    expect(runs.slice(9, 18)).toEqual([1, 1, 1, 3, 2, 1, 3, 2, 1]);
    const heap = new Heap(1);
    const { kernels: k } = await instantiate(backend, heap.memory);
    const tiles = (16 * 16) / MR;
    const ind = heap.alloc(tiles * MR * 9 * 4), out = heap.alloc(tiles * 9);
    k.conv2d_indirection(1, 16, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, MR, ind);
    k.conv2d_tap_runs(tiles, 9, MR, 64, ind, out);
    expect(Array.from(new Uint8Array(heap.memory.buffer, out + 9, 9))).toEqual([1, 1, 1, 3, 2, 1, 3, 2, 1]);
  });
});
