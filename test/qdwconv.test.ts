// dwconv_q16_8 against exact integer references computed here from the definition (not from the
// kernel's packing): the sum over a channel's in-image taps of (a - za)(w - zw[c]), over a grid of
// channel counts 1..17 and past (16-channel steps, 8-channel blocks and the scalar tail), odd
// H and W, kernels 1x1 to 5x5, strides 1 and 2, dilations 1 and 2, asymmetric pads, int8 and
// uint8 activations and weights, per-tensor and per-channel weight parameters and every output
// kind, in both builds, with guard bytes around every output. The i32 results must be exact; the
// other kinds are single IEEE operations on the exact accumulator (qgemm_q8_4x8's store), so the
// reference emulates them with Math.fround and must match to the bit.
import { describe, expect, it } from "vitest";
import { QDWCONV_CB, QOUT } from "../src/runtime/kernels.js";
import { BACKENDS, SIZES, roundRobin } from "./grid.js";
import {
  OUT_KINDS, type QCase, type QData, type Window, convAccumulators, elemOf, expectBothBuilds, expectedStore, kernelHeap, makeQData, outDims, readOut, setYs,
} from "./qgrid.js";
import { Rng } from "./reference.js";

interface Case extends Window, QCase {
  id: number;
  c: number;
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

function makeData(c: Case): QData {
  return makeQData(0xd1800 + c.id, c, c.batch * c.h * c.w * c.c, c.c * c.kh * c.kw, c.c);
}

/** Exact accumulators by the definition; weights [C, kh, kw] as ONNX stores a depthwise filter. */
function reference(c: Case, d: QData): number[] {
  return convAccumulators(c, d, c.c, c.c, c.c, (j, tap) => j * c.kh * c.kw + tap);
}

async function run(backend: (typeof BACKENDS)[number], c: Case, d: QData): Promise<{ got: number[]; guardsOk: boolean }> {
  const { heap, k, put, guarded } = await kernelHeap(backend);
  const [oh, ow] = outDims(c);
  const ks = c.kh * c.kw;
  const m = c.batch * oh * ow;
  // The input ends where its allocation does, so a read past the last pixel would leave it.
  const a = put(Int16Array.from(d.a, (v) => v - d.za));
  // The kernel's layout: per 8-channel block and pair of taps, each channel's two weights side by side.
  const blocks = Math.ceil(c.c / QDWCONV_CB);
  const pairs = Math.ceil(ks / 2);
  const packedValues = new Int16Array(blocks * pairs * QDWCONV_CB * 2);
  for (let j = 0; j < c.c; j++) {
    for (let t = 0; t < ks; t++) packedValues[((Math.floor(j / QDWCONV_CB) * pairs + (t >> 1)) * QDWCONV_CB + (j % QDWCONV_CB)) * 2 + (t & 1)] = d.w[j * ks + t] - d.zw[j];
  }
  const packed = put(packedValues);
  const scale = put(d.scale);
  const fbias = put(d.fbias);
  const zero = heap.alloc(Math.max(c.c * 2, 16));
  heap.u8.fill(0, zero, zero + c.c * 2);
  const ind = heap.alloc(m * ks * 4);
  k.conv2d_indirection(c.batch, c.h, c.w, c.c, oh, ow, c.kh, c.kw, c.s, c.s, c.d, c.d, c.pt, c.pl, 1, ind);
  const { y, guardsOk } = guarded(m * c.c * elemOf(c.out));
  k.dwconv_q16_8(m, c.c, ks, a, ind, zero, packed, scale, c.fbias ? fbias : 0, y, QOUT[c.out], d.zy, d.ys);
  return { got: readOut(heap.memory.buffer, y, m * c.c, c.out), guardsOk: guardsOk() };
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
    setYs(d, acc, c.c);
    await expectBothBuilds(expectedStore(c, d, acc, c.c), (b) => run(b, c, d));
  });
});
