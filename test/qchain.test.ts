// The kernels of the quantized chain (assembly/qchain.ts) against references computed here from
// the ONNX definitions they replace: dequantize_q16_f32 is DequantizeLinear, qadd_q16 is
// QuantizeLinear(DequantizeLinear(a) + DequantizeLinear(b)), on the chain's i16 operand (q minus
// its zero point); pad_channels_q16 appends a zero channel to each pixel. Both are single float32 operations in a fixed order, emulated with
// Math.fround, so every build must match the reference to the bit; lengths 1..17 and longer ones
// leave remainders after the 8-wide SIMD loop, the scales include exact ties of the rounding,
// and guard bytes around each output must stay untouched.
import { describe, expect, it } from "vitest";
import { BACKENDS, SIZES } from "./grid.js";
import { centred, kernelHeap, roundEven } from "./qgrid.js";
import { Rng } from "./reference.js";

const LENGTHS = [...SIZES, 31, 64, 100];

describe.each(BACKENDS)("%s build: the quantized chain's kernels", (backend) => {
  it.each(LENGTHS)("dequantize_q16_f32, %i elements", async (n) => {
    const { heap, k, put, guarded } = await kernelHeap(backend);
    const rng = new Rng(0x5100 + n);
    const x = centred(rng, n, false, 131);
    const scale = Math.fround(0.0173);
    const px = put(x);
    const { y, guardsOk } = guarded(n * 4);
    k.dequantize_q16_f32(n, px, y, scale);
    expect(Array.from(new Float32Array(heap.memory.buffer, y, n))).toEqual(Array.from(x, (v) => Math.fround(v * scale)));
    expect(guardsOk()).toBe(true);
  });

  it.each([1, 3, 5, 7])("pad_channels_q16: pixels of %i channels gain a zero channel", async (c) => {
    const { heap, k, put, guarded } = await kernelHeap(backend);
    const rng = new Rng(0x5300 + c);
    const n = 37;
    const x = centred(rng, n * c, true, 0);
    const { y, guardsOk } = guarded(n * (c + 1) * 2);
    k.pad_channels_q16(n, c, put(x), y);
    const want = Array.from({ length: n }, (_, p) => [...x.subarray(p * c, (p + 1) * c), 0]).flat();
    expect(Array.from(new Int16Array(heap.memory.buffer, y, n * (c + 1)))).toEqual(want);
    expect(guardsOk()).toBe(true);
  });

  // [sa, sb, sy, output signed, output zero point]: power-of-two scales put sums exactly on ties.
  const params = [
    [0.5, 0.25, 1, false, 0], [0.5, 0.25, 1, true, -3], [0.0173, 0.0291, 0.0407, false, 0], [0.0173, 0.0291, 0.0407, true, 5],
    [0.031, 0.002, 0.003, false, 128],
  ] as const;
  for (const [sa, sb, sy, signed, zy] of params) {
    it.each(LENGTHS)(`qadd_q16 scales ${sa}, ${sb} -> ${sy}, ${signed ? "int8" : "uint8"} zero point ${zy}, %i elements`, async (n) => {
      const { heap, k, put, guarded } = await kernelHeap(backend);
      const rng = new Rng(0x5200 + n);
      const a = centred(rng, n, false, 17);
      const b = centred(rng, n, true, -9);
      const [fa, fb, fy] = [sa, sb, sy].map(Math.fround);
      const [lo, hi] = signed ? [-128 - zy, 127 - zy] : [0 - zy, 255 - zy];
      const { y, guardsOk } = guarded(n * 2);
      k.qadd_q16(n, put(a), put(b), y, fa, fb, fy, lo, hi);
      const want = Array.from(a, (v, i) => {
        const s = Math.fround(Math.fround(v * fa) + Math.fround(b[i] * fb));
        return Math.min(hi, Math.max(lo, roundEven(Math.fround(s / fy)))) + 0;
      });
      expect(Array.from(new Int16Array(heap.memory.buffer, y, n))).toEqual(want);
      expect(guardsOk()).toBe(true);
    });
  }
});
