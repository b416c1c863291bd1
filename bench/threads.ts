// Two threads against one: simdcnn (one engine per thread count, interleaved in this process)
// and onnxruntime-web (numThreads is fixed per process, so each count runs in a child process of
// this script). TensorFlow.js's wasm backend cannot run threads in Node and is not in this table.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { Bench } from "tinybench";
import { type Engine, init } from "../src/node.js";
import { parseFlags, usageError } from "./args.js";
import { networks, random, sliceClassifier } from "./nets.js";
import { onnxNetwork } from "./peers/onnx.js";

const USAGE = {
  script: "bench/threads.ts",
  synopsis: "npm run bench:threads -- [flags]",
  about:
    "simdcnn on two threads against one, and onnxruntime-web on one and two (each in a child\n" +
    "process of this script). Prints a table; writes bench/results/threads.json only with --save.",
  flags: {
    quick: { type: "boolean", help: "shorter measurements (noisier)" },
    save: { type: "boolean", help: "write bench/results/threads.json" },
    "ort-child": { type: "string", arg: "N", help: "internal: time onnxruntime-web on N threads and print JSON" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const quick = flags.quick === true;
const ortThreads = flags["ort-child"] === undefined ? undefined : Number(flags["ort-child"]);
if (ortThreads !== undefined && !(Number.isSafeInteger(ortThreads) && ortThreads >= 1)) {
  usageError(USAGE, `--ort-child expects a thread count (a positive integer), got '${flags["ort-child"]}'`);
}

/** Median ms of each workload, as tinybench measures it. */
async function timeAll(tasks: Record<string, () => unknown | Promise<unknown>>): Promise<Record<string, number>> {
  const bench = new Bench({ time: quick ? 300 : 1500, iterations: quick ? 3 : 10, warmupIterations: 8, warmupTime: 200 });
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
  await bench.run();
  const out: Record<string, number> = {};
  for (const t of bench.tasks) {
    if (t.result.state !== "completed") throw new Error(`${t.name}: ${t.result.state}`);
    out[t.name] = t.result.latency.p50;
  }
  return out;
}

const nets = networks.filter((n) => n !== networks[0]);

if (ortThreads !== undefined) {
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = ortThreads;
  const tasks: Record<string, () => Promise<unknown>> = {};
  for (const net of nets) {
    // onnxruntime-web's model is NCHW: the same weights, the input transposed.
    const session = await ort.InferenceSession.create(onnxNetwork(net), { executionProviders: ["wasm"] });
    const [h, w, c] = net.input;
    const x = new ort.Tensor("float32", random(h * w * c, 77), [1, c, h, w]);
    tasks[net.name] = () => session.run({ [session.inputNames[0]]: x });
  }
  process.stdout.write(JSON.stringify(await timeAll(tasks)));
  process.exit(0);
}

const engines: Record<string, Engine> = { "1": await init({ threads: 1 }), "2": await init({ threads: 2 }) };
const tasks: Record<string, () => unknown> = {};
for (const net of nets) {
  const input = random(net.input.reduce((a, b) => a * b, 1), 77);
  for (const t of ["1", "2"]) {
    const model = net.build(engines[t]);
    tasks[`${net.name}|${t}`] = () => model.run({ input });
  }
}
const CONVS: [string, number, number, number, number][] = [
  ["conv 3x3 256x256 1->16", 256, 256, 1, 16],
  ["conv 3x3 56x56 64->64", 56, 56, 64, 64],
  ["conv 3x3 28x28 128->128", 28, 28, 128, 128],
];
for (const t of ["1", "2"]) {
  const e = engines[t];
  const n = 1024;
  const a = e.tensor(random(n * n, 1), [n, n]);
  const op = e.prepareGemm(e.tensor(random(n * n, 2), [n, n]));
  const out = e.tensor(new Float32Array(n * n), [n, n]);
  tasks[`gemm 1024|${t}`] = () => op.run(a, out);
  for (const [name, h, w, cin, cout] of CONVS) {
    const x = e.tensor(random(h * w * cin, 3), [1, h, w, cin]);
    const conv = e.prepareConv2d(e.tensor(random(cout * 9 * cin, 4, 0.1), [cout, 3, 3, cin]), { padding: "same", activation: "relu" });
    const y = conv.run(x);
    tasks[`${name}|${t}`] = () => conv.run(x, y);
  }
}
const ms = await timeAll(tasks);
const ort = Object.fromEntries(
  ["1", "2"].map((t) => [t, JSON.parse(execFileSync(process.execPath, [...process.execArgv, process.argv[1], "--ort-child", t, ...(quick ? ["--quick"] : [])], { encoding: "utf8", maxBuffer: 1 << 24 }))]),
) as Record<string, Record<string, number>>;

const rows = [...nets.map((n) => n.name), "gemm 1024", ...CONVS.map((c) => c[0])].map((w) => ({
  workload: w,
  simd1Ms: ms[`${w}|1`],
  simd2Ms: ms[`${w}|2`],
  speedup: ms[`${w}|1`] / ms[`${w}|2`],
  ort1Ms: ort["1"][w] ?? null,
  ort2Ms: ort["2"][w] ?? null,
  vsOrt2: ort["2"][w] ? ort["2"][w] / ms[`${w}|2`] : null,
}));
const f = (v: number | null, d = 2) => (v === null ? "" : v.toFixed(d));
console.log(`${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}; ${sliceClassifier.name} and the others at batch 1\n`);
console.log(["workload".padEnd(28), "1 thr ms".padStart(9), "2 thr ms".padStart(9), "x2 thr".padStart(7), "ort1 ms".padStart(9), "ort2 ms".padStart(9), "vs ort2".padStart(8)].join(" "));
for (const r of rows) {
  console.log([r.workload.padEnd(28), f(r.simd1Ms).padStart(9), f(r.simd2Ms).padStart(9), `${f(r.speedup)}x`.padStart(7), f(r.ort1Ms).padStart(9), f(r.ort2Ms).padStart(9), (r.vsOrt2 === null ? "" : `${f(r.vsOrt2)}x`).padStart(8)].join(" "));
}
if (flags.save) {
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("threads.json", dir), `${JSON.stringify({ date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, quick, rows }, null, 2)}\n`);
  console.log("\nwrote bench/results/threads.json");
}
for (const e of Object.values(engines)) e.dispose();
