// How fast a convolution whose tiles see few products per output can be on this build: peak_tile_f32
// (the ceiling's step k times a tile, then a fused relu's clamp and the stores, all in L1) for the
// k of a 3x3 window over Cin input channels (k = 9 Cin), against peak_f32 and against k = 144
// (16 input channels, as in the small-channel bar's 16 -> 32). A tile of the engine also
// computes its addresses and meets memory, so these are upper bounds: the per-FLOP ratio to the
// 16-channel case that no direct small-channel kernel can pass. peak_f32 and the tiles are called
// in turn, each side's fastest call counting (bench/interleaved.ts).
import { Heap } from "../src/runtime/heap.js";
import { instantiate } from "../src/runtime/load.js";
import { parseFlags } from "./args.js";
import { fastestInterleaved } from "./interleaved.js";

const USAGE = {
  script: "bench/tile-bound.ts",
  synopsis: "npm run bench:tile-bound -- [flags]",
  about: "The speed bound of 3x3 convolution tiles with 9 Cin products per output, against the SIMD128 ceiling, SIMD build, one thread.",
  flags: { quick: { type: "boolean", help: "fewer calls (noisier)" } },
} as const;
const calls = parseFlags(USAGE).values.quick === true ? 10 : 40;

const FLOP_PER_STEP = 64;
const STEPS = 1_000_000;
const CHANNELS = [1, 2, 3, 4, 6, 8, 16];

const heap = new Heap(1);
const { kernels: k } = await instantiate("simd", heap.memory);
// Two 64-byte blocks of small values (the step's operands, the tiles' bias at 96..111) that keep
// the sums finite, 128-byte aligned, and 1 KiB for the tiles' stores.
const block = Math.ceil(heap.alloc(256) / 128) * 128;
new Float32Array(heap.memory.buffer, block, 32).fill(1e-7);
const out = heap.alloc(1024);
// Wasm has no on-stack replacement: a long call started in the baseline tier stays there, so
// tier the functions up with short calls first.
for (let i = 0; i < 200; i++) {
  k.peak_f32(1000, block);
  k.peak_tile_f32(100, 9, block, out);
}

const tiles = CHANNELS.map((cin) => Math.floor(STEPS / (9 * cin)));
const ms = fastestInterleaved(
  [() => void k.peak_f32(STEPS, block), ...CHANNELS.map((cin, i) => () => void k.peak_tile_f32(tiles[i], 9 * cin, block, out))],
  calls,
);
const ceiling = (FLOP_PER_STEP * STEPS) / ms[0] / 1e6;
const rate = CHANNELS.map((cin, i) => (FLOP_PER_STEP * 9 * cin * tiles[i]) / ms[i + 1] / 1e6);
const bar = rate[CHANNELS.indexOf(16)];
console.log(`SIMD128 ceiling (peak_f32): ${ceiling.toFixed(1)} GFLOP/s\n`);
console.log("| 3x3 over Cin | products per output | GFLOP/s | of the ceiling | of Cin = 16's tile |");
console.log("|---:|---:|---:|---:|---:|");
for (const [i, cin] of CHANNELS.entries()) {
  console.log(`| ${cin} | ${9 * cin} | ${rate[i].toFixed(1)} | ${((100 * rate[i]) / ceiling).toFixed(0)}% | ${(rate[i] / bar).toFixed(2)} |`);
}
