// A small Keras-style classifier as tf2onnx exports it (NHWC input, Transposes around each Conv,
// BatchNormalization as Mul/Add, Dense as MatMul + Add + Relu), loaded fused and unfused
// ({ optimize: false }) and timed in one tinybench run: what the importer's Keras fusions save.
import { Bench } from "tinybench";
import { init } from "../src/node.js";
import { type NodeSpec, type TensorSpec, onnxModel } from "../test/onnx-builder.js";
import { Rng } from "../test/reference.js";
import { parseFlags } from "./args.js";

const { values: flags } = parseFlags({
  script: "bench/keras.ts",
  synopsis: "npm run bench:keras -- [--quick]",
  about: "A Keras-style classifier (tf2onnx form) in the SIMD build, fused against unfused: step counts and latency.",
  flags: { quick: { type: "boolean", help: "shorter measurements (noisier)" } },
});

const rng = new Rng(17);
const nodes: NodeSpec[] = [];
const initializers: Record<string, TensorSpec> = {};
let n = 0;
const constant = (dims: number[], lo: number, hi: number) => {
  const name = `c${n++}`;
  initializers[name] = { dims, data: rng.f32(dims.reduce((a, b) => a * b, 1), lo, hi) };
  return name;
};
const op = (type: string, inputs: string[], attrs?: NodeSpec["attrs"]) => {
  const out = `t${n++}`;
  nodes.push({ op: type, inputs, outputs: [out], attrs });
  return out;
};
/** Conv 3x3 same, then Relu, then BatchNormalization as Mul/Add, in tf2onnx's NHWC form. */
const convBlock = (x: string, cin: number, cout: number, bnBeforeRelu: boolean) => {
  const a = Math.sqrt(6 / (9 * cin));
  const nchw = op("Transpose", [x], { perm: [0, 3, 1, 2] });
  const conv = op("Conv", [nchw, constant([cout, cin, 3, 3], -a, a), constant([cout], -0.1, 0.1)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const nhwc = op("Transpose", [conv], { perm: [0, 2, 3, 1] });
  const bn = (t: string) => op("Add", [op("Mul", [t, constant([cout], 0.5, 1.5)]), constant([cout], -0.2, 0.2)]);
  const y = bnBeforeRelu ? op("Relu", [bn(nhwc)]) : bn(op("Relu", [nhwc]));
  return op("MaxPool", [op("Transpose", [y], { perm: [0, 3, 1, 2] })], { kernel_shape: [2, 2], strides: [2, 2] });
};
const dense = (x: string, k: number, units: number, relu: boolean) => {
  const a = Math.sqrt(6 / k);
  const y = op("Add", [op("MatMul", [x, constant([k, units], -a, a)]), constant([units], -0.1, 0.1)]);
  return relu ? op("Relu", [y]) : y;
};
let t = convBlock("x", 3, 16, true);
t = convBlock(op("Transpose", [t], { perm: [0, 2, 3, 1] }), 16, 32, false);
t = op("Flatten", [t], { axis: 1 });
t = dense(t, 32 * 16 * 16, 64, true);
t = dense(t, 64, 10, false);
nodes.push({ op: "Softmax", inputs: [t], outputs: ["y"], attrs: { axis: 1 } });
const bytes = onnxModel({ opset: 13, nodes, initializers, inputs: [{ name: "x", shape: [1, 64, 64, 3] }], outputs: [{ name: "y", shape: [1, 10] }] });

const engine = await init({ backend: "simd" });
const models = { fused: await engine.loadOnnx(bytes), unfused: await engine.loadOnnx(bytes, { optimize: false }) };
const x = rng.f32(64 * 64 * 3);
const bench = new Bench({ time: flags.quick ? 300 : 1500, warmupIterations: 5, warmupTime: 200 });
for (const [name, m] of Object.entries(models)) bench.add(name, () => m.run({ x }));
await bench.run();
for (const task of bench.tasks) {
  if (task.result.state !== "completed") throw new Error(`${task.name}: ${task.result.state}`);
  const m = models[task.name as keyof typeof models];
  const steps = m.summary().split("\n");
  const count = steps.findIndex((l) => l.startsWith("parameters:")) - steps.findIndex((l) => l.startsWith("step")) - 1;
  console.log(`${task.name.padEnd(8)} ${String(count).padStart(3)} steps  p50 ${task.result.latency.p50.toFixed(3)} ms  mean ${task.result.latency.mean.toFixed(3)} ms`);
}
console.log(`unfused / fused (p50): ${(bench.tasks[1].result.latency.p50 / bench.tasks[0].result.latency.p50).toFixed(2)}`);
for (const m of Object.values(models)) m.dispose();
