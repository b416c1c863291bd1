// Where the 8-bit Winograd F(2x2, 3x3) pays: the int8 3x3 stride-1 convolution (QConv2d, the float
// input quantized per call as onnxruntime's dynamic quantization does, f32 output) on the Winograd
// path against the direct kernel, and against the float32 convolution as the engine runs it
// (itself Winograd from its own crossover), over a range of channel counts, SIMD build, one
// thread. Calls of the three alternate and each one's fastest call counts (bench/interleaved.ts).
// The crossover in src/ops/qwinograd.ts comes from this table.
import { QConv2d } from "../src/ops/qconv.js";
import { qwinogradPays } from "../src/ops/qwinograd.js";
import { conv3x3Operands, crossoverBench, fastestInterleaved } from "./interleaved.js";
import { random } from "./nets.js";

const { e, rt, calls } = await crossoverBench(
  "qwinograd",
  "int8 3x3 stride-1 convolutions (same padding, bias) on the Winograd path and on the direct path, and the\n" +
    "float32 one as the engine runs it; interleaved calls, fastest of each; prints milliseconds and ratios.",
);

/** H, W, Cin, Cout: the crossover's neighbourhood, then bench/kernels.ts's shapes. */
const SHAPES: [number, number, number, number][] = [
  [128, 128, 8, 16], [128, 128, 8, 32], [64, 64, 12, 24], [64, 64, 12, 64], [128, 128, 16, 16], [64, 64, 16, 24], [64, 64, 24, 24],
  [64, 64, 32, 16], [128, 128, 16, 32], [64, 64, 32, 32], [56, 56, 64, 64], [28, 28, 128, 128],
];

console.log("| HxW | Cin -> Cout | engine's int8 path | int8 winograd ms | int8 direct ms | f32 ms | int8 winograd / direct speed | int8 (engine's path) / f32 speed |");
console.log("|---|---|---|---:|---:|---:|---:|---:|");
for (const [h, w, cin, cout] of SHAPES) {
  const { x, wt, y, bias, dispose } = conv3x3Operands(e, h, w, cin, cout);
  const weights = Array.from(random(cout * 9 * cin, 4, 127), Math.round);
  const q = (winograd: boolean) => new QConv2d(rt, {
    weights, wShape: [cout, 3, 3, cin], weightZeroPoints: [0], weightScales: [0.01], bias, padding: "same", input: { dynamic: true }, winograd,
  });
  const ops = [q(true), q(false)];
  for (const op of ops) op.bind([x.shape]);
  const f32 = e.prepareConv2d(wt, { padding: "same", bias });
  const best = fastestInterleaved([() => ops[0].exec([x.ptr], y.ptr), () => ops[1].exec([x.ptr], y.ptr), () => f32.run(x, y)], calls);
  const pays = qwinogradPays(cin, cout);
  const int8 = pays ? best[0] : best[1];
  console.log(
    `| ${h}x${w} | ${cin} -> ${cout} | ${pays ? "winograd" : "direct"} | ${best[0].toFixed(3)} | ${best[1].toFixed(3)} | ${best[2].toFixed(3)} | `
    + `${(best[1] / best[0]).toFixed(2)}x | ${(best[2] / int8).toFixed(2)}x |`,
  );
  for (const op of ops) op.dispose();
  f32.dispose();
  dispose();
}
e.dispose();
