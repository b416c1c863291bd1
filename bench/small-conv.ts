// Convolutions with few channels (an image-to-image model's first and last layers: RGB in, RGB
// out) against 16 -> 32 on the direct indirect-GEMM path (Winograd off), per FLOP, in one run:
// 3x3 with a fused relu, a fused sigmoid and a separate sigmoid after the convolution; then, for
// each shape the small-channel kernel could take, that kernel and the GEMM forced, with a fused
// relu, so each row's choice is measured against the other; then stride 2 on the GEMM.
import { type Activation, type Tensor, init } from "../src/node.js";
import { Conv2d, type Conv2dOptions } from "../src/ops/conv2d.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { parseFlags } from "./args.js";
import { random } from "./nets.js";

const USAGE = {
  script: "bench/small-conv.ts",
  synopsis: "npm run bench:small-conv -- [flags]",
  about: "Convolutions with few channels at 256x256 against 16 -> 32 3x3 at 128x128 (direct GEMM), SIMD build, one thread.",
  flags: { quick: { type: "boolean", help: "shorter measurements (noisier)" } },
} as const;
const quick = parseFlags(USAGE).values.quick === true;

const e = await init({ backend: "simd" });
const rt = (e as unknown as { rt: Runtime }).rt;
const tensor = (shape: number[], seed: number): Tensor => e.tensor(random(shape.reduce((a, b) => a * b, 1), seed, 0.5), shape);

interface Shape {
  hw: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
}
const shape = (hw: number, cin: number, cout: number, k = 3, stride = 1): Shape => ({ hw, cin, cout, k, stride });
// Rows with all three activations: the 3x3 stride-1 layers of image-to-image models.
const full = [
  shape(256, 3, 3), shape(256, 3, 8), shape(256, 8, 3), shape(256, 8, 8), shape(256, 3, 16), shape(256, 1, 3), shape(256, 4, 4), shape(256, 6, 6),
  // A U-Net's or denoiser's last layer: many channels in, a few out.
  shape(256, 16, 3), shape(256, 32, 1), shape(256, 16, 4),
];
// Rows with the small-channel kernel and the GEMM forced: more output channels, wider windows, and 1x1.
const paths = [
  shape(256, 1, 3), shape(256, 3, 3), shape(256, 4, 4), shape(256, 8, 3), shape(256, 16, 3), shape(256, 16, 4), shape(256, 32, 1), shape(256, 3, 5), shape(256, 3, 6), shape(256, 6, 6), shape(256, 3, 7), shape(256, 3, 8),
  shape(256, 1, 7), shape(256, 1, 8), shape(256, 2, 8), shape(256, 4, 7), shape(256, 4, 8), shape(256, 5, 8), shape(256, 6, 7), shape(256, 6, 8),
  shape(256, 8, 5), shape(256, 8, 6), shape(256, 8, 7), shape(256, 8, 8), shape(256, 16, 6), shape(256, 16, 8), shape(256, 32, 6), shape(256, 32, 8),
  shape(256, 3, 8, 7), shape(256, 6, 7, 5), shape(256, 5, 8, 5), shape(256, 8, 8, 5),
  shape(256, 3, 3, 1), shape(256, 8, 3, 1), shape(256, 4, 4, 1), shape(256, 3, 8, 1), shape(256, 16, 4, 1),
];
// Stride 2, which the small-channel kernel does not take: the GEMM alone.
const strided = [shape(256, 3, 3, 3, 2), shape(256, 3, 8, 3, 2), shape(256, 4, 4, 3, 2), shape(256, 8, 8, 3, 2)];
// Calls of all workloads alternate, round after round, so that a busy host slows them alike; each
// row is the fastest of its rounds (on a shared host the median is mostly time slices lost to other
// processes), and the ratio column its GFLOP/s over the 16 -> 32 row's.
const rounds = quick ? 15 : 41;
const tasks: { name: string; flop: number; run: () => void; ms: number[] }[] = [];
function add(s: Shape, label: string, make: (w: Tensor, opts: Conv2dOptions) => Conv2d, act: Activation | "+sigmoid"): void {
  const { hw, cin, cout, k, stride } = s;
  const x = tensor([1, hw, hw, cin], 1);
  const w = tensor([cout, k, k, cin], 2);
  const o = Math.ceil(hw / stride);
  const out = e.tensor(new Float32Array(o * o * cout), [1, o, o, cout]);
  const flop = 2 * o * o * cout * cin * k * k;
  const name = `${hw}x${hw} ${k}x${k}${stride > 1 ? `/${stride}` : ""} ${cin}->${cout} ${label}${act}`;
  const opts: Conv2dOptions = { padding: "same", strides: stride, bias: random(cout, 3, 0.5) };
  if (act === "+sigmoid") {
    const op = make(w, opts);
    tasks.push({ name, flop, run: () => e.sigmoid(op.run(x, out)).dispose(), ms: [] });
  } else {
    const op = make(w, { ...opts, activation: act });
    tasks.push({ name, flop, run: () => void op.run(x, out), ms: [] });
  }
}
add(shape(128, 16, 32), "direct ", (w, o) => new Conv2d(rt, w, o, "nhwc", false), "relu");
for (const s of full) for (const act of ["relu", "sigmoid", "+sigmoid"] as const) add(s, "", (w, o) => e.prepareConv2d(w, o), act);
for (const s of paths) {
  add(s, "small ", (w, o) => new Conv2d(rt, w, o, "nhwc", false, true), "relu");
  add(s, "gemm ", (w, o) => new Conv2d(rt, w, o, "nhwc", false, false), "relu");
}
for (const s of strided) add(s, "gemm ", (w, o) => new Conv2d(rt, w, o, "nhwc", false, false), "relu");
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
console.log("workload".padEnd(36), "ms".padStart(8), "GFLOP/s".padStart(8), "ratio".padStart(6));
for (const t of tasks) {
  console.log(t.name.padEnd(36), fastest(t.ms).toFixed(3).padStart(8), rate(t).toFixed(1).padStart(8), (rate(t) / base).toFixed(2).padStart(6));
}
