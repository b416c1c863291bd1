// Convolutions with few channels (an image-to-image model's first and last layers: RGB in, RGB
// out) against the 16 -> 32 channel row of bench/kernels.ts, per FLOP, in one run: with a fused
// relu, with a fused sigmoid, and with a separate sigmoid after the convolution.
import { type Activation, type Tensor, init } from "../src/node.js";
import { parseFlags } from "./args.js";
import { random } from "./nets.js";

const USAGE = {
  script: "bench/small-conv.ts",
  synopsis: "npm run bench:small-conv -- [flags]",
  about: "3x3 convolutions with few channels at 256x256 against 16 -> 32 at 128x128, SIMD build, one thread.",
  flags: { quick: { type: "boolean", help: "shorter measurements (noisier)" } },
} as const;
const quick = parseFlags(USAGE).values.quick === true;

const e = await init({ backend: "simd" });
const tensor = (shape: number[], seed: number): Tensor => e.tensor(random(shape.reduce((a, b) => a * b, 1), seed, 0.5), shape);

const shapes: [number, number, number][] = [
  [128, 16, 32], [256, 3, 3], [256, 3, 8], [256, 8, 3], [256, 8, 8], [256, 3, 16], [256, 1, 3], [256, 4, 4], [256, 6, 6],
  // A U-Net's or denoiser's last layer: many channels in, a few out.
  [256, 16, 3], [256, 32, 1], [256, 16, 4],
];
// Calls of all workloads alternate, round after round, so that a busy host slows them alike; each
// row is the fastest of its rounds (on a shared host the median is mostly time slices lost to other
// processes), and the ratio column its GFLOP/s over the 16 -> 32 row's.
const rounds = quick ? 15 : 41;
const tasks: { name: string; flop: number; run: () => void; ms: number[] }[] = [];
for (const [hw, cin, cout] of shapes) {
  const x = tensor([1, hw, hw, cin], 1);
  const w = tensor([cout, 3, 3, cin], 2);
  const bias = random(cout, 3, 0.5);
  const out = e.tensor(new Float32Array(hw * hw * cout), [1, hw, hw, cout]);
  const name = `${hw}x${hw} ${cin}->${cout}`;
  const flop = 2 * hw * hw * cout * cin * 9;
  for (const act of ["relu", "sigmoid"] as Activation[]) {
    const op = e.prepareConv2d(w, { padding: "same", bias, activation: act });
    tasks.push({ name: `${name} ${act}`, flop, run: () => void op.run(x, out), ms: [] });
  }
  const plain = e.prepareConv2d(w, { padding: "same", bias });
  tasks.push({ name: `${name} +sigmoid`, flop, run: () => e.sigmoid(plain.run(x, out)).dispose(), ms: [] });
}
// Wasm has no on-stack replacement: tier every kernel up with calls before measuring.
for (let i = 0; i < 10; i++) for (const t of tasks) t.run();
for (let r = 0; r < rounds; r++) {
  for (const t of tasks) {
    const t0 = performance.now();
    t.run();
    t.ms.push(performance.now() - t0);
  }
}
const fastest = (v: number[]) => Math.min(...v);
const rate = (t: (typeof tasks)[number]) => t.flop / (fastest(t.ms) / 1000) / 1e9;
const base = rate(tasks[0]);
console.log("workload".padEnd(28), "ms".padStart(8), "GFLOP/s".padStart(8), "ratio".padStart(6));
for (const t of tasks) {
  console.log(t.name.padEnd(28), fastest(t.ms).toFixed(3).padStart(8), rate(t).toFixed(1).padStart(8), (rate(t) / base).toFixed(2).padStart(6));
}
