// Where Winograd F(2x2, 3x3) pays: the 3x3 stride-1 convolution on the Winograd path against the
// direct path (Conv2d with Winograd off) over a range of channel counts, SIMD build, one thread.
// Calls of the two alternate and each side's fastest call counts (bench/interleaved.ts). The
// crossover in src/ops/winograd.ts comes from this table.
import { Conv2d } from "../src/ops/conv2d.js";
import { winogradFits } from "../src/ops/winograd.js";
import { conv3x3Operands, crossoverBench, fastestInterleaved } from "./interleaved.js";

const { e, rt, calls } = await crossoverBench(
  "winograd",
  "3x3 stride-1 convolutions (same padding, bias, relu) on the Winograd path and on the direct path,\n" +
    "interleaved calls, fastest of each; prints milliseconds, effective GFLOP/s (direct FLOPs) and the ratio.",
);

/** H, W, Cin, Cout: the crossover's neighbourhood, then the channel counts of bench/nets.ts's U-Nets and ResNets. */
const SHAPES: [number, number, number, number][] = [
  [128, 128, 4, 16], [128, 128, 8, 8], [128, 128, 8, 16], [128, 128, 8, 32], [64, 64, 12, 24], [128, 128, 16, 16],
  [256, 256, 16, 16], [128, 128, 16, 32], [128, 128, 32, 32], [64, 64, 64, 64], [56, 56, 64, 64], [32, 32, 128, 128], [28, 28, 128, 128],
];

console.log("| HxW | Cin -> Cout | engine's path | winograd ms | direct ms | winograd eff. GFLOP/s | direct GFLOP/s | winograd / direct speed |");
console.log("|---|---|---|---:|---:|---:|---:|---:|");
for (const [h, w, cin, cout] of SHAPES) {
  const { x, wt, y, bias, dispose } = conv3x3Operands(e, h, w, cin, cout);
  const opts = { padding: "same", activation: "relu", bias } as const;
  // Winograd forced on below the crossover too, where the engine's own choice is direct.
  const ops = [new Conv2d(rt, wt, opts, "nhwc", true), new Conv2d(rt, wt, opts, "nhwc", false)];
  const engine = winogradFits([3, 3], [1, 1], [1, 1], 1, cin, cout) ? "winograd" : "direct";
  for (const op of ops) op.bind([x.shape]);
  const best = fastestInterleaved(ops.map((op) => () => op.exec([x.ptr], y.ptr)), calls);
  const flop = 2 * h * w * cout * 9 * cin;
  const rate = (ms: number) => (flop / ms / 1e6).toFixed(1);
  console.log(
    `| ${h}x${w} | ${cin} -> ${cout} | ${engine} | ${best[0].toFixed(3)} | ${best[1].toFixed(3)} | ${rate(best[0])} | ${rate(best[1])} | `
    + `${(best[1] / best[0]).toFixed(2)}x |`,
  );
  for (const op of ops) op.dispose();
  dispose();
}
