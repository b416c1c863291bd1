// The SIMD128 ceiling of one core, measured in the run that compares kernels with it: peak_f32 of
// the SIMD build (64 flop per step), the median of several long calls.
import { Bench } from "tinybench";
import { Heap } from "../src/runtime/heap.js";
import type { Kernels } from "../src/runtime/kernels.js";
import { instantiate } from "../src/runtime/load.js";

export const FLOP_PER_STEP = 64;

/**
 * The SIMD build in a memory of its own, with the operands peak_f32 reads (and peak_tile_f32,
 * whose bias lies in them): two 64-byte blocks of small values that keep the sums finite,
 * 128-byte aligned, at `block`; peak_f32 already tiered up. Wasm has no on-stack replacement: a
 * long call started in the baseline tier stays there, so a function is tiered up with short
 * calls before it is timed.
 */
export async function ceilingKernels(): Promise<{ k: Kernels; heap: Heap; block: number }> {
  const heap = new Heap(1);
  const { kernels: k } = await instantiate("simd", heap.memory);
  const block = Math.ceil(heap.alloc(256) / 128) * 128;
  new Float32Array(heap.memory.buffer, block, 32).fill(1e-7);
  for (let i = 0; i < 200; i++) k.peak_f32(10_000, block);
  return { k, heap, block };
}

export async function measureCeiling(quick: boolean): Promise<number> {
  const { k, block } = await ceilingKernels();
  const iters = 2_000_000;
  const bench = new Bench({ time: quick ? 200 : 600, iterations: 5, warmupIterations: 2 });
  bench.add("peak", () => void k.peak_f32(iters, block));
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== "completed") throw new Error("ceiling benchmark did not complete");
  return (FLOP_PER_STEP * iters) / (r.latency.p50 / 1000) / 1e9;
}
