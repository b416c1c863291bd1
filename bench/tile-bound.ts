// How fast a convolution whose tiles see few products per output can be on this build: peak_tile_f32
// (the ceiling's step k times a tile, then a fused relu's clamp and the stores, all in L1) for the
// k of a 3x3 window over Cin input channels (k = 9 Cin), against peak_f32 and against k = 144
// (16 input channels, as in the small-channel bar's 16 -> 32). A tile of the engine also
// computes its addresses and meets memory, so these are upper bounds: the per-FLOP ratio to the
// 16-channel case that no direct small-channel kernel can pass. peak_f32 and the tiles are called
// in turn, each side's fastest call counting (bench/interleaved.ts).
import { parseFlags } from "./args.js";
import { FLOP_PER_STEP, ceilingKernels } from "./ceiling.js";
import { fastestInterleaved } from "./interleaved.js";

const USAGE = {
  script: "bench/tile-bound.ts",
  synopsis: "npm run bench:tile-bound -- [flags]",
  about: "The speed bound of 3x3 convolution tiles with 9 Cin products per output, against the SIMD128 ceiling, SIMD build, one thread.",
  flags: { quick: { type: "boolean", help: "fewer calls (noisier)" } },
} as const;
const calls = parseFlags(USAGE).values.quick === true ? 10 : 40;

const STEPS = 1_000_000;
const CHANNELS = [1, 2, 3, 4, 6, 8, 16];

const { k, heap, block } = await ceilingKernels();
// 1 KiB for the tiles' stores.
const out = heap.alloc(1024);
for (let i = 0; i < 200; i++) k.peak_tile_f32(100, 9, block, out);

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
