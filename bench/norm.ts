// Normalizations and reductions over a 64x64x64 activation: simdcnn (ops API on a resident
// tensor in its layout, and the ONNX path on the model's own layout, with its edge conversions)
// against onnxruntime-web's wasm backend, one thread each, interleaved in one tinybench run.
// Outputs are cross-checked before timing.
import * as ort from "onnxruntime-web";
import { Bench } from "tinybench";
import { type Engine, type Model, type Tensor, init } from "../src/index.js";
import { encodeModel } from "../src/onnx/encode.js";
import { DataType, type OnnxAttribute, type OnnxModel } from "../src/onnx/model.js";
import { parseFlags } from "./args.js";

const USAGE = {
  script: "bench/norm.ts",
  synopsis: "npm run bench:norm -- [flags]",
  about:
    "LayerNormalization, InstanceNormalization and ReduceMean over 64x64x64 in simdcnn (ops API,\n" +
    "ONNX path) and onnxruntime-web, single-threaded; prints times and onnxruntime / simdcnn ratios.",
  flags: {
    quick: { type: "boolean", help: "shorter measurements (noisier)" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const time = flags.quick ? 300 : 1500;

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

interface Workload {
  name: string;
  /** The ONNX model's input (NCHW for 4-d). */
  dims: number[];
  opset: number;
  op: string;
  attrs: Record<string, OnnxAttribute>;
  /** Constant inputs after x. */
  consts: { dims: number[]; floats?: Float32Array; ints?: number[] }[];
  /** The same computation through the ops API on x as simdcnn holds it (NHWC for 4-d). */
  ops: (e: Engine, x: Tensor) => Tensor;
  /** x's shape in the ops API. */
  opsShape: number[];
}

const rand = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, (_, i) => lo + ((Math.sin(i * 12.9898) * 43758.5453) % 1 + 1) % 1 * (hi - lo));
const scale64 = rand(64, 0.5, 1.5);
const bias64 = rand(64, -0.5, 0.5);

const WORKLOADS: Workload[] = [
  {
    name: "LayerNormalization [64, 64, 64] axis -1",
    dims: [64, 64, 64], opset: 17, op: "LayerNormalization", attrs: {},
    consts: [{ dims: [64], floats: scale64 }, { dims: [64], floats: bias64 }],
    ops: (e, x) => e.layerNorm(x, { scale: scale64, bias: bias64 }),
    opsShape: [64, 64, 64],
  },
  {
    name: "InstanceNormalization [1, 64, 64, 64]",
    dims: [1, 64, 64, 64], opset: 13, op: "InstanceNormalization", attrs: {},
    consts: [{ dims: [64], floats: scale64 }, { dims: [64], floats: bias64 }],
    ops: (e, x) => e.groupNorm(x, { scale: scale64, bias: bias64 }),
    opsShape: [1, 4096, 64],
  },
  {
    name: "ReduceMean [1, 64, 64, 64] axes [2, 3]",
    dims: [1, 64, 64, 64], opset: 13, op: "ReduceMean", attrs: { axes: { type: "ints", value: [2, 3] } },
    consts: [],
    ops: (e, x) => e.reduce(x, "mean", { axes: [1] }),
    opsShape: [1, 4096, 64],
  },
  {
    name: "ReduceMean [1, 64, 64, 64] axes [1] (channels)",
    dims: [1, 64, 64, 64], opset: 13, op: "ReduceMean", attrs: { axes: { type: "ints", value: [1] } },
    consts: [],
    ops: (e, x) => e.reduce(x, "mean", { axes: [2] }),
    opsShape: [1, 4096, 64],
  },
];

function modelOf(w: Workload): Uint8Array {
  const initializers = new Map(w.consts.map((c, i) => [`c${i}`, { name: `c${i}`, dims: c.dims, dataType: c.floats ? DataType.FLOAT : DataType.INT64, floats: c.floats, ints: c.ints }]));
  const model: OnnxModel = {
    irVersion: 8,
    opsets: new Map([["", w.opset]]),
    producer: "simdcnn bench",
    metadata: {},
    graph: {
      name: "bench",
      nodes: [{ name: "n", opType: w.op, domain: "", inputs: ["x", ...initializers.keys()], outputs: ["y"], attributes: new Map(Object.entries(w.attrs)) }],
      initializers,
      inputs: [{ name: "x", elemType: DataType.FLOAT, shape: w.dims }],
      outputs: [{ name: "y", elemType: DataType.FLOAT, shape: null }],
    },
  };
  return encodeModel(model);
}

const engine = await init({ backend: "simd" });
const bench = new Bench({ time, warmup: true });
const rows: { name: string; tasks: string[] }[] = [];
const cleanup: (() => void)[] = [];
for (const w of WORKLOADS) {
  const bytes = modelOf(w);
  const data = rand(w.dims.reduce((a, b) => a * b, 1), -2, 3);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const feeds = { x: new ort.Tensor("float32", data, w.dims) };
  const model: Model = await engine.loadOnnx(bytes);
  const out = new Float32Array((await session.run(feeds)).y.data as Float32Array);
  const mine = model.run({ x: data }).y;
  let worst = 0;
  for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(mine[i] - out[i]) / (1 + Math.abs(out[i])));
  if (!(worst < 1e-4)) throw new Error(`${w.name}: simdcnn and onnxruntime differ by ${worst}`);
  const x = engine.tensor(data, w.opsShape);
  const into = { y: new Float32Array(out.length) };
  const tasks = [`${w.name} | simdcnn ops`, `${w.name} | simdcnn ONNX`, `${w.name} | onnxruntime-web`];
  bench.add(tasks[0], () => w.ops(engine, x).dispose());
  bench.add(tasks[1], () => {
    model.run({ x: data }, { into });
  });
  bench.add(tasks[2], async () => {
    await session.run(feeds);
  });
  rows.push({ name: w.name, tasks });
  cleanup.push(() => {
    x.dispose();
    model.dispose();
    void session.release();
  });
}
await bench.run();
const mean = (name: string) => {
  const t = bench.tasks.find((k) => k.name === name)!;
  const r = t.result as { latency?: { mean: number } };
  return r.latency!.mean;
};
console.log("workload | simdcnn ops ms | simdcnn ONNX ms | onnxruntime-web ms | ort / ops | ort / ONNX");
for (const r of rows) {
  const [ops, onnx, o] = r.tasks.map(mean);
  console.log(`${r.name} | ${ops.toFixed(3)} | ${onnx.toFixed(3)} | ${o.toFixed(3)} | ${(o / ops).toFixed(2)} | ${(o / onnx).toFixed(2)}`);
}
for (const c of cleanup) c();
engine.dispose();
