// The benchmarks' ceiling kernels (assembly/peak.ts) do the arithmetic they are counted for: their
// results against the same float32 operations in JS (Math.fround after every multiply and add, in
// the kernels' order, so the bits must agree), in both builds. A kernel that skipped or reordered
// work would make bench/ceiling.ts and bench/tile-bound.ts report speeds for work not done.
import { describe, expect, it } from "vitest";
import { Heap } from "../src/runtime/heap.js";
import { instantiate } from "../src/runtime/load.js";
import { BACKENDS } from "./grid.js";

const f = Math.fround;

/** 32 floats in [-1, 1) from a fixed generator: the two 64-byte blocks the kernels read. */
function operands(): Float32Array {
  const v = new Float32Array(32);
  let s = 12345;
  for (let i = 0; i < 32; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    v[i] = f(s / 2 ** 30 - 1);
  }
  return v;
}

/**
 * One SIMD step's view of the block at word offset q: b0 = q[0..3], b1 = q[4..7], a_j = q[8 + j];
 * accumulator 2j takes a_j b0, 2j + 1 takes a_j b1 (4 lanes each).
 */
function simdSteps(v: Float32Array, acc: number[][], steps: number): void {
  let q = 0;
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < 4; j++) {
      const a = v[q + 8 + j];
      for (let l = 0; l < 4; l++) {
        acc[2 * j][l] = f(acc[2 * j][l] + f(a * v[q + l]));
        acc[2 * j + 1][l] = f(acc[2 * j + 1][l] + f(a * v[q + 4 + l]));
      }
    }
    q ^= 16;
  }
}

/** One scalar step: a0 = q[4], a1 = q[5], b = q[0..3]; s_i takes a0 b_i, s_(4+i) takes a1 b_i. */
function scalarSteps(v: Float32Array, s: number[], steps: number): void {
  let q = 0;
  for (let i = 0; i < steps; i++) {
    for (let k = 0; k < 4; k++) {
      s[k] = f(s[k] + f(v[q + 4] * v[q + k]));
      s[4 + k] = f(s[4 + k] + f(v[q + 5] * v[q + k]));
    }
    q ^= 16;
  }
}

async function setUp(build: (typeof BACKENDS)[number]) {
  const heap = new Heap(1);
  const { kernels } = await instantiate(build, heap.memory);
  const block = Math.ceil(heap.alloc(256) / 128) * 128;
  const out = heap.alloc(1024);
  const v = operands();
  heap.f32.set(v, block / 4);
  heap.f32.fill(0, out / 4, out / 4 + 256);
  return { kernels, heap, block, out, v };
}

describe.each(BACKENDS)("ceiling kernels, %s build", (build) => {
  it("peak_f32 returns its accumulators' sum", async () => {
    const { kernels, block, v } = await setUp(build);
    const steps = 7;
    let want: number;
    if (build === "simd") {
      const acc = Array.from({ length: 8 }, () => [0, 0, 0, 0]);
      simdSteps(v, acc, steps);
      const lane = (l: number) => f(f(f(acc[0][l] + acc[1][l]) + f(acc[2][l] + acc[3][l])) + f(f(acc[4][l] + acc[5][l]) + f(acc[6][l] + acc[7][l])));
      want = f(lane(0) + lane(3));
    } else {
      const s = [0, 0, 0, 0, 0, 0, 0, 0];
      scalarSteps(v, s, steps);
      want = f(f(f(s[0] + s[1]) + f(s[2] + s[3])) + f(f(s[4] + s[5]) + f(s[6] + s[7])));
    }
    expect(kernels.peak_f32(steps, block)).toBe(want);
  });

  it.each([9, 27, 144])("peak_tile_f32 with %i products a tile stores each tile's clamped sums, from the bias", async (k) => {
    const { kernels, heap, block, out, v } = await setUp(build);
    const tiles = 3;
    kernels.peak_tile_f32(tiles, k, block, out);
    const bias = [v[24], v[25], v[26], v[27]];
    const relu = (x: number) => (x < 0 ? 0 : x);
    let want: number[];
    let slot: number;
    if (build === "simd") {
      const acc = Array.from({ length: 8 }, (_, i) => [0, 0, 0, 0].map(() => bias[i % 4]));
      simdSteps(v, acc, k);
      want = acc.flat().map(relu);
      slot = 32;
    } else {
      const s = [0, 1, 2, 3, 0, 1, 2, 3].map((i) => bias[i]);
      scalarSteps(v, s, k);
      want = s.map(relu);
      slot = 8;
    }
    const stored = heap.f32.subarray(out / 4, out / 4 + 256);
    // Some sums must be clamped and some not, or the clamp would go untested.
    expect(want.some((x) => x === 0) && want.some((x) => x > 0)).toBe(true);
    for (let t = 0; t < tiles; t++) expect([...stored.subarray(t * slot, (t + 1) * slot)]).toEqual(want);
    expect(stored.subarray(tiles * slot).every((x) => x === 0)).toBe(true);
  });
});
