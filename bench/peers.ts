// simdcnn against its peers: the same workloads in simdcnn (its ops API on resident NHWC tensors,
// its ONNX path on NCHW models, the scalar build), TensorFlow.js's wasm backend and
// onnxruntime-web's wasm backend, all single-threaded, interleaved workload by workload in one
// process so that machine drift hits every engine alike. Every workload's outputs are
// cross-checked between the engines in the same run. Then memcpy bandwidth, cold start in fresh
// processes, and the bytes each engine loads.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { build } from "esbuild";
import * as ort from "onnxruntime-web";
import { Bench } from "tinybench";
import * as vega from "vega";
import * as vl from "vega-lite";
import { type Engine, init } from "../src/index.js";
import { parseFlags, usageError } from "./args.js";
import { measureCeiling } from "./ceiling.js";
import { collected } from "./gc.js";
import { measureMemcpy } from "./memcpy.js";
import { KERNEL_SHAPES, type NetSpec, buildLayers, featureMaps, logits, networks, random, shapes, sliceClassifier } from "./nets.js";
import { OnnxGraph, conv as onnxConv, onnxNetwork } from "./peers/onnx.js";
import { QUANTIZED_TOLERANCE, type QuantizedRow, quantizedRows, quantizedTable } from "./peers/quantized.js";
import { packSpec } from "./peers/spec-io.js";
import { spyOnWasm } from "./peers/spy.js";
import { tfNetwork } from "./peers/tf.js";
import { zoo } from "./peers/zoo.js";

const USAGE = {
  script: "bench/peers.ts",
  synopsis: "npm run bench:peers -- [flags] [NEW.json]",
  about:
    "The kernel workloads and the networks of bench/nets.ts in simdcnn (ops API and ONNX path, SIMD;\n" +
    "ops API, scalar), TensorFlow.js's wasm backend and onnxruntime-web's, one thread, outputs\n" +
    "cross-checked; then memcpy bandwidth, cold start and bytes loaded, then bench/threads.ts\n" +
    "(not with --only). Prints the tables; writes bench/results/peers.json and peers.svg (and\n" +
    "threads.json) only with --save. Exits 1 when outputs disagree or, with --compare, when a\n" +
    "ratio fell by more than 10%.",
  positionals: "NEW.json: with --compare, compare OLD.json with NEW.json without running anything.",
  flags: {
    quick: { type: "boolean", help: "shorter measurements (noisier), fewer cold starts" },
    only: { type: "string", arg: "NAME", help: "run only the workloads whose name contains NAME (int8: only the int8 networks and one-op models; not with --save)" },
    compare: { type: "string", arg: "OLD.json", help: "print the change in simdcnn's speed ratios against OLD.json" },
    save: { type: "boolean", help: "write bench/results/peers.json, peers.svg and threads.json" },
    zoo: { type: "boolean", help: "instead: the models of test/fixtures/zoo in simdcnn's ONNX path and onnxruntime-web (--only NAME: the files whose name contains NAME)" },
  },
} as const;
const { values: flags, positionals } = parseFlags(USAGE);
const quick = flags.quick === true;
const only = flags.only;
if (flags.zoo && (flags.save || flags.compare !== undefined)) usageError(USAGE, "--zoo prints its own table: it cannot be combined with --save or --compare");
if (flags.save && only !== undefined) usageError(USAGE, "--save writes the whole table: it cannot be combined with --only");
if (positionals.length > 1 || (positionals.length === 1 && flags.compare === undefined)) {
  usageError(USAGE, `unexpected argument${positionals.length > 1 ? "s" : ""} ${positionals.join(" ")} (only --compare OLD.json takes a NEW.json after it)`);
}
const results = new URL("./results/", import.meta.url);
// "simd" is simdcnn's ops API (the layers API for networks) and "onnx" its ONNX path, both on the
// SIMD build; "into" the ONNX path writing into one caller's output array, run after run, as a
// pipeline does; "scalar" the ops API on the scalar build.
const ENGINES = ["simd", "onnx", "into", "scalar", "tfjs", "ort"] as const;
type OnnxEngine = "onnx" | "into" | "ort";
const isOnnx = (e: EngineName): e is OnnxEngine => e === "onnx" || e === "into" || e === "ort";
type EngineName = (typeof ENGINES)[number];
const PEERS = ["tfjs", "ort"] as const;
const LABEL: Record<EngineName, string> = {
  simd: "simdcnn (ops)", onnx: "simdcnn (ONNX)", into: "simdcnn (ONNX into)", scalar: "simdcnn scalar", tfjs: "tfjs-backend-wasm", ort: "onnxruntime-web",
};

interface Row {
  workload: string;
  kind: "kernel" | "network";
  unit: "GFLOP/s" | "GB/s";
  ms: Record<EngineName, number>;
  rate: Record<EngineName, number>;
  /** Of the SIMD128 ceiling measured in this run; compute-bound workloads only. */
  percentOfCeiling: Record<EngineName, number> | null;
  /** max |out - simdcnn ops'| / max |simdcnn ops'| over the workload's outputs. */
  maxRelErr: Record<Exclude<EngineName, "simd">, number>;
  /** Bytes of the input and the output: what the ONNX path copies in and out, to set against memcpy. */
  edgeBytes: number;
}

interface Results {
  date: string;
  machine: { cpu?: string; cores: number; node: string };
  quick: boolean;
  ceilingGflops: number;
  /** Uint8Array.copyWithin of 16 MiB inside a wasm memory, bytes copied per second / 1e9. */
  memcpyGBps: number;
  versions: Record<string, string>;
  rows: Row[];
  /** int8 networks (bench/peers/quantized.ts); absent in results from before it. */
  quantized?: QuantizedRow[];
  coldStart: Record<string, { start: number; import: number; init: number; load: number; first: number; repeats: number }>;
  /** wasmBinaries: the size of each binary compiled, in order. */
  sizes: Record<string, { wasmBytes: number; wasmBinaries: number[]; jsBytesLoaded: number; jsBytesMinBundle: number }>;
}

// --- comparing results: simdcnn's speed against each peer and against the ceiling, as ratios ---

const RATIOS = ["ops vs tfjs", "ops vs ort", "ONNX vs tfjs", "ONNX vs ort", "into vs tfjs", "into vs ort", "of ceiling"];

function ratios(r: Row, ceiling: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of PEERS) out[`ops vs ${p}`] = r.ms[p] / r.ms.simd;
  // Results from before the ONNX path have no time for it.
  if (r.ms.onnx !== undefined) for (const p of PEERS) out[`ONNX vs ${p}`] = r.ms[p] / r.ms.onnx;
  if (r.ms.into !== undefined) for (const p of PEERS) out[`into vs ${p}`] = r.ms[p] / r.ms.into;
  if (r.percentOfCeiling) out["of ceiling"] = r.rate.simd / ceiling;
  return out;
}

function compare(old: Results, now: Results): number {
  let fell = 0;
  console.log(`\nchange of simdcnn's ratios, ${old.date} (${old.machine.cpu}) -> ${now.date} (${now.machine.cpu})`);
  console.log(["workload".padEnd(28), ...RATIOS.map((h) => h.padStart(22))].join(" "));
  for (const r of now.rows) {
    const o = old.rows.find((q) => q.workload === r.workload);
    if (!o) continue;
    const [a, b] = [ratios(o, old.ceilingGflops), ratios(r, now.ceilingGflops)];
    const cells = RATIOS.map((k) => {
      if (a[k] === undefined || b[k] === undefined) return "".padStart(22);
      const change = b[k] / a[k] - 1;
      const bad = change < -0.1;
      fell += bad ? 1 : 0;
      return `${a[k].toFixed(2)} -> ${b[k].toFixed(2)} ${(change >= 0 ? "+" : "") + (100 * change).toFixed(0)}%${bad ? "!" : " "}`.padStart(22);
    });
    console.log([r.workload.padEnd(28), ...cells].join(" "));
  }
  console.log(fell ? `\n${fell} ratio(s) fell by more than 10% (marked !)` : "\nno ratio fell by more than 10%");
  return fell ? 1 : 0;
}

function readResults(path: string): Results {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Results;
  } catch (e) {
    usageError(USAGE, `cannot read results file ${path}: ${(e as Error).message}`);
  }
}
// Read before a --save run overwrites bench/results/peers.json, the usual OLD.
const previous = flags.compare === undefined ? undefined : readResults(flags.compare);
if (previous && positionals.length === 1) process.exit(compare(previous, readResults(positionals[0])));

// --- engines ---

const wasmSizes = spyOnWasm();
const simdcnn: Record<"simd" | "scalar", Engine> = { simd: await init({ backend: "simd" }), scalar: await init({ backend: "scalar" }) };
// Under Node, tfjs-backend-wasm turns threads off itself; the call says so explicitly.
setThreadsCount(1);
await tf.setBackend("wasm");
ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";
if (flags.zoo) process.exit((await zoo(simdcnn.simd, quick, only)).length ? 1 : 0);
const tfjsWasmFile = wasmFileOf("@tensorflow/tfjs-backend-wasm");
if (!tfjsWasmFile.endsWith("-simd.wasm")) throw new Error(`tfjs-backend-wasm loaded ${tfjsWasmFile}, not its SIMD build`);

/** Which of a package's .wasm files was compiled in this process (they differ in size). */
function wasmFileOf(pkg: string): string {
  const dir = new URL(`../node_modules/${pkg}/dist/`, import.meta.url);
  return readdirSync(dir).find((f) => f.endsWith(".wasm") && wasmSizes.includes(statSync(new URL(f, dir)).size)) ?? "none";
}

const version = (pkg: string) => (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), "utf8")) as { version: string }).version;

// --- workloads: each engine's version of it, and its output for the cross-check ---

interface Runner {
  run(): unknown;
  /** The result of one run as NHWC (or plain) floats. */
  output(): Promise<Float32Array>;
  dispose(): void;
}

/**
 * A workload as an NCHW ONNX model, as users bring one: simdcnn's ONNX path and onnxruntime-web
 * both run it the same way, the input copied in and the output copied out on every run.
 */
interface OnnxCase {
  model: Uint8Array;
  /** NCHW (or plain) input. */
  input: Float32Array;
  dims: number[];
  /** The model's output in the order of the ops path's output, for the cross-check. */
  toNhwc(y: Float32Array): Float32Array;
}

interface Workload {
  name: string;
  kind: "kernel" | "network";
  /** Floating-point operations per run, or bytes moved for memory-bound workloads. */
  flop?: number;
  bytes?: number;
  /** Bytes of the input and the output, which the ONNX path copies in and out (and lays out). */
  edgeBytes: number;
  /** The ops path (resident NHWC tensors for kernels, the layers network for networks) and TensorFlow.js. */
  make(engine: Exclude<EngineName, OnnxEngine>): Promise<Runner>;
  onnx(): OnnxCase;
  /** Further outputs to cross-check that are not timed (a network's logits). */
  check?(engine: EngineName): Promise<Float32Array>;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function nhwcToNchw(x: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) out[k * h * w + i] = x[i * c + k];
  return out;
}

function nchwToNhwc(x: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) out[i * c + k] = x[k * h * w + i];
  return out;
}

/**
 * An ONNX model in simdcnn (`loadOnnx`, `model.run`) or in an ORT session. Neither keeps the
 * input or output resident here: ORT's wasm backend has no API for a resident CPU tensor, and
 * `model.run` takes and returns arrays, so both timings include those copies (and simdcnn's its
 * NCHW <-> NHWC layout copies).
 */
async function onnxRunner(engine: OnnxEngine, c: OnnxCase): Promise<Runner> {
  if (engine === "onnx") {
    const model = await simdcnn.simd.loadOnnx(c.model);
    const once = () => model.run({ input: c.input }).output as Float32Array;
    return { run: once, output: async () => c.toNhwc(once()), dispose: () => model.dispose() };
  }
  if (engine === "into") {
    const model = await simdcnn.simd.loadOnnx(c.model);
    const into = { output: new Float32Array(model.run({ input: c.input }).output.length) };
    const once = () => model.run({ input: c.input }, { into }).output as Float32Array;
    return { run: once, output: async () => c.toNhwc(once()), dispose: () => model.dispose() };
  }
  const session = await ort.InferenceSession.create(c.model, { executionProviders: ["wasm"] });
  const feeds = { input: new ort.Tensor("float32", c.input, c.dims) };
  const once = async () => (await session.run(feeds)).output.data as Float32Array;
  return { run: once, output: async () => c.toNhwc(await once()), dispose: () => void session.release() };
}

function runner(wl: Workload, engine: EngineName): Promise<Runner> {
  return isOnnx(engine) ? onnxRunner(engine, wl.onnx()) : wl.make(engine);
}

// tfjs-backend-wasm runs each op synchronously inside the call, so an op's return means its
// result is computed; disposing it is all that remains (dataSync would add a copy out, which the
// simdcnn kernel timings do not have either).
function tfRunner(op: () => tf.Tensor, held: tf.Tensor[]): Runner {
  return {
    run: () => op().dispose(),
    output: async () => {
      const y = op();
      const data = y.dataSync() as Float32Array;
      y.dispose();
      return data;
    },
    dispose: () => held.forEach((t) => t.dispose()),
  };
}

function gemm(n: number): Workload {
  const a = random(n * n, 1);
  const b = random(n * n, 2);
  return {
    name: `gemm ${n}x${n}x${n}`,
    kind: "kernel",
    flop: 2 * n * n * n,
    edgeBytes: 4 * 2 * n * n,
    async make(engine) {
      if (engine === "tfjs") {
        const [at, bt] = [tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])];
        return tfRunner(() => tf.matMul(at, bt), [at, bt]);
      }
      const e = simdcnn[engine];
      const [at, bt, out] = [e.tensor(a, [n, n]), e.tensor(b, [n, n]), e.tensor(new Float32Array(n * n), [n, n])];
      const op = e.prepareGemm(bt);
      const run = () => op.run(at, out);
      return { run, output: async () => (run(), out.toArray()), dispose: () => [at, bt, out, op].forEach((t) => t.dispose()) };
    },
    onnx() {
      const g = new OnnxGraph();
      return { model: g.encode([n, n], g.node("MatMul", ["input", g.constant([n, n], b)])), input: a, dims: [n, n], toNhwc: (y) => y };
    },
  };
}

function conv(label: string, h: number, w: number, cin: number, cout: number, k: number, groups = 1): Workload {
  const x = random(h * w * cin, 3);
  const wts = random((cout * k * k * cin) / groups, 4); // OHWI
  const bias = random(cout, 5);
  return {
    name: `${label} ${h}x${w} ${cin}->${cout}`,
    kind: "kernel",
    flop: (2 * h * w * cout * k * k * cin) / groups,
    edgeBytes: 4 * h * w * (cin + cout),
    async make(engine) {
      if (engine === "tfjs") {
        const xt = tf.tensor4d(x, [1, h, w, cin]);
        const bt = tf.tensor1d(bias);
        // HWIO, or [k, k, C, 1] for depthwise (the same element order as HWIO with I = 1, O = C).
        const hwio = new Float32Array(wts.length);
        const ci = cin / groups;
        for (let o = 0; o < cout; o++) for (let t = 0; t < k * k; t++) for (let c = 0; c < ci; c++) hwio[(t * ci + c) * cout + o] = wts[(o * k * k + t) * ci + c];
        const ft = groups > 1 ? tf.tensor4d(hwio, [k, k, cin, 1]) : tf.tensor4d(hwio, [k, k, cin, cout]);
        const o = { x: xt, filter: ft, bias: bt, strides: 1, pad: "same" as const, activation: "relu" as const };
        return tfRunner(() => (groups > 1 ? tf.fused.depthwiseConv2d(o) : tf.fused.conv2d(o)), [xt, bt, ft]);
      }
      const e = simdcnn[engine];
      const xt = e.tensor(x, [1, h, w, cin]);
      const wt = e.tensor(wts, [cout, k, k, cin / groups]);
      const op = e.prepareConv2d(wt, { padding: "same", groups, bias, activation: "relu" });
      const out = e.tensor(new Float32Array(h * w * cout), [1, h, w, cout]);
      const run = () => op.run(xt, out);
      return { run, output: async () => (run(), out.toArray()), dispose: () => [xt, wt, out, op].forEach((t) => t.dispose()) };
    },
    onnx() {
      const g = new OnnxGraph();
      const y = g.node("Relu", [onnxConv(g, "input", [h, w], { cout, cin, k, stride: 1, padding: "same", groups, weights: wts, bias })]);
      return { model: g.encode([1, cin, h, w], y), input: nhwcToNchw(x, h, w, cin), dims: [1, cin, h, w], toNhwc: (r) => nchwToNhwc(r, h, w, cout) };
    },
  };
}

function maxpool(h: number, w: number, c: number): Workload {
  const x = random(h * w * c, 6);
  const [oh, ow] = [h / 2, w / 2];
  return {
    name: `maxpool 2x2 ${h}x${w}x${c}`,
    kind: "kernel",
    bytes: 4 * (h * w * c + oh * ow * c),
    edgeBytes: 4 * (h * w * c + oh * ow * c),
    async make(engine) {
      if (engine === "tfjs") {
        const xt = tf.tensor4d(x, [1, h, w, c]);
        return tfRunner(() => tf.maxPool(xt, 2, 2, "valid"), [xt]);
      }
      const e = simdcnn[engine];
      const xt = e.tensor(x, [1, h, w, c]);
      // As in bench/kernels.ts (and as the peers do): the output is allocated by the call.
      const pool = () => e.maxPool2d(xt, { kernel: 2 });
      return {
        run: () => pool().dispose(),
        output: async () => {
          const y = pool();
          const data = y.toArray();
          y.dispose();
          return data;
        },
        dispose: () => xt.dispose(),
      };
    },
    onnx() {
      const g = new OnnxGraph();
      const y = g.node("MaxPool", ["input"], { kernel_shape: { type: "ints", value: [2, 2] }, strides: { type: "ints", value: [2, 2] } });
      return { model: g.encode([1, c, h, w], y), input: nhwcToNchw(x, h, w, c), dims: [1, c, h, w], toNhwc: (r) => nchwToNhwc(r, oh, ow, c) };
    },
  };
}

/** A whole network: every engine copies the input in and the output out, as an application does. */
function network(spec: NetSpec): Workload {
  const [h, w, c] = spec.input;
  const input = random(h * w * c, 77);
  const nchw = nhwcToNchw(input, h, w, c);
  const probe = buildLayers(simdcnn.simd, spec);
  const flop = probe.flops;
  const outputSize = size(Object.values(probe.outputShapes)[0]);
  probe.dispose();
  const onnxCase = (s: NetSpec): OnnxCase => {
    // A feature-map output (a segmentation's per-pixel scores) is NCHW in the ONNX model.
    const out = shapes(s).at(-1)!;
    const toNhwc = featureMaps(s).at(-1) ? (y: Float32Array) => nchwToNhwc(y, out[0], out[1], out[2]) : (y: Float32Array) => y;
    return { model: onnxNetwork(s), input: nchw, dims: [1, c, h, w], toNhwc };
  };
  const make = async (engine: Exclude<EngineName, OnnxEngine>, s: NetSpec): Promise<Runner> => {
    if (engine === "tfjs") {
      const net = tfNetwork(tf, s);
      const once = () => {
        const x = tf.tensor4d(input, [1, h, w, c]);
        const y = net.run(x);
        const data = y.dataSync() as Float32Array;
        x.dispose();
        y.dispose();
        return data;
      };
      return { run: once, output: async () => once(), dispose: () => net.dispose() };
    }
    const model = buildLayers(simdcnn[engine], s);
    const once = () => model.run({ input }).output as Float32Array;
    return { run: once, output: async () => once(), dispose: () => model.dispose() };
  };
  return {
    name: spec.name,
    kind: "network",
    flop,
    edgeBytes: 4 * (input.length + outputSize),
    make: (engine) => make(engine, spec),
    onnx: () => onnxCase(spec),
    async check(engine) {
      const s = logits(spec);
      const r = isOnnx(engine) ? await onnxRunner(engine, onnxCase(s)) : await make(engine, s);
      const out = await r.output();
      r.dispose();
      return out;
    },
  };
}

const workloads: Workload[] = [
  ...KERNEL_SHAPES.gemm.map(gemm),
  ...KERNEL_SHAPES.conv.map(([l, h, w, ci, co, k, g]) => conv(l, h, w, ci, co, k, g)),
  ...KERNEL_SHAPES.maxpool.map(([h, w, c]) => maxpool(h, w, c)),
  ...networks.map(network),
];

function relErr(out: Float32Array, ref: Float32Array): number {
  if (out.length !== ref.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(out[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / (scale || 1);
}

/** Beyond this a peer's output is wrong, not rounded differently; the scalar build must match exactly. */
const TOLERANCE = 1e-3;

async function measure(wl: Workload, ceiling: number): Promise<Row> {
  const runners = {} as Record<EngineName, Runner>;
  for (const e of ENGINES) runners[e] = await runner(wl, e);
  const ref = await runners.simd.output();
  const refCheck = await wl.check?.("simd");
  const maxRelErr = {} as Row["maxRelErr"];
  for (const e of ["onnx", "into", "scalar", "tfjs", "ort"] as const) {
    const extra = refCheck ? relErr(await wl.check!(e), refCheck) : 0;
    maxRelErr[e] = Math.max(relErr(await runners[e].output(), ref), extra);
  }
  // Two rounds in opposite engine orders; each engine's time is its better round's median, which
  // sheds a burst of load from the other users of this machine.
  const ms = Object.fromEntries(ENGINES.map((e) => [e, Infinity])) as Record<EngineName, number>;
  for (let round = 0; round < (quick ? 1 : 2); round++) {
    const bench = new Bench({ time: quick ? 150 : 400, iterations: quick ? 3 : 6, warmupIterations: 8, warmupTime: 200 });
    for (const e of round % 2 ? [...ENGINES].reverse() : ENGINES) {
      const r = runners[e];
      bench.add(e, e === "ort" ? async () => void (await r.run()) : () => void r.run(), collected);
    }
    await bench.run();
    for (const t of bench.tasks) {
      if (t.result.state !== "completed") throw new Error(`${wl.name} ${t.name}: ${t.result.state}`);
      ms[t.name as EngineName] = Math.min(ms[t.name as EngineName], t.result.latency.p50);
    }
  }
  for (const e of ENGINES) runners[e].dispose();
  const gflops = wl.flop !== undefined;
  const amount = gflops ? wl.flop! : wl.bytes!;
  const rate = Object.fromEntries(ENGINES.map((e) => [e, amount / (ms[e] / 1000) / 1e9])) as Record<EngineName, number>;
  return {
    workload: wl.name, kind: wl.kind, unit: gflops ? "GFLOP/s" : "GB/s", ms, rate, maxRelErr, edgeBytes: wl.edgeBytes,
    percentOfCeiling: gflops ? (Object.fromEntries(ENGINES.map((e) => [e, (100 * rate[e]) / ceiling])) as Record<EngineName, number>) : null,
  };
}

// --- cold start and bytes, in fresh processes ---

const COLD = ["simdcnn", "tfjs", "ort"] as const;

async function coldStart(reference: Float32Array): Promise<Pick<Results, "coldStart" | "sizes">> {
  const root = new URL("../", import.meta.url).pathname;
  const dir = `${root}build/peers`;
  mkdirSync(dir, { recursive: true });
  const { json, bin } = packSpec(sliceClassifier);
  writeFileSync(`${dir}/model.onnx`, onnxNetwork(sliceClassifier));
  writeFileSync(`${dir}/net.json`, json);
  writeFileSync(`${dir}/net.bin`, bin);
  writeFileSync(`${dir}/input.bin`, new Uint8Array(random(size(sliceClassifier.input), 77).buffer));
  try {
    readFileSync(`${root}dist/index.js`);
  } catch {
    throw new Error("cold start imports simdcnn as a user does, from dist/: run `npm run build` first (npm run bench:peers does)");
  }
  await build({ entryPoints: [`${root}bench/peers/cold.ts`], bundle: true, packages: "external", format: "esm", platform: "node", outfile: `${dir}/cold.mjs`, logLevel: "error" });
  interface Child { at: Record<string, number>; wasm: number[]; jsBytes?: number; output: number[] }
  const spawn = (engine: string, ...extra: string[]) => {
    const r = JSON.parse(execFileSync(process.execPath, [`${dir}/cold.mjs`, engine, dir, ...extra]).toString()) as Child;
    const err = relErr(Float32Array.from(r.output), reference);
    if (!(err <= TOLERANCE)) throw new Error(`cold start: ${engine}'s output is off by ${err}`);
    return r;
  };
  const repeats = quick ? 3 : 7;
  const runs: Record<string, Child[]> = Object.fromEntries(COLD.map((e) => [e, []]));
  for (let i = 0; i < repeats; i++) for (const e of i % 2 ? [...COLD].reverse() : COLD) runs[e].push(spawn(e));
  const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];
  const coldStartResult: Results["coldStart"] = {};
  const sizes: Results["sizes"] = {};
  const entries: Record<(typeof COLD)[number], string> = {
    simdcnn: `export * from ${JSON.stringify(`${root}dist/index.js`)};`,
    tfjs: 'export * from "@tensorflow/tfjs-core"; export * from "@tensorflow/tfjs-backend-wasm";',
    ort: 'export * from "onnxruntime-web";',
  };
  for (const e of COLD) {
    const phase = (p: string) => median(runs[e].map((r) => r.at[p]));
    coldStartResult[e] = { start: phase("start"), import: phase("import"), init: phase("init"), load: phase("load"), first: phase("first"), repeats };
    const wasm = runs[e][0].wasm;
    // What a web app ships: the engine's whole API bundled and minified for browsers (no tree shaking).
    const bundle = await build({ stdin: { contents: entries[e], resolveDir: root }, bundle: true, minify: true, format: "esm", platform: "browser", external: ["node:*"], write: false, logLevel: "error" });
    sizes[e] = {
      wasmBytes: wasm.reduce((a, b) => a + b, 0),
      wasmBinaries: wasm,
      jsBytesLoaded: spawn(e, "js").jsBytes!,
      jsBytesMinBundle: bundle.outputFiles[0].contents.length,
    };
  }
  return { coldStart: coldStartResult, sizes };
}

// --- the chart: vega-lite, rendered to SVG by vega ---

async function chart(r: Results): Promise<string> {
  const engines = ENGINES.map((e) => LABEL[e]);
  const values = r.rows.flatMap((row) => ENGINES.map((e) => ({ workload: row.workload, unit: row.unit, engine: LABEL[e], rate: row.rate[e] })));
  const panel = (unit: Row["unit"], title: string) => ({
    title,
    width: 520,
    height: { step: 7 },
    layer: [
      {
        data: { values: values.filter((v) => v.unit === unit) },
        mark: "bar",
        encoding: {
          y: { field: "workload", type: "nominal", sort: null, title: null },
          yOffset: { field: "engine", sort: engines },
          x: { field: "rate", type: "quantitative", title: unit },
          color: { field: "engine", sort: engines, title: null, scale: { scheme: "tableau10" } },
        },
      },
      ...(unit === "GFLOP/s"
        ? [
            { data: { values: [{ ceiling: r.ceilingGflops }] }, mark: { type: "rule", strokeDash: [4, 3], color: "black" }, encoding: { x: { field: "ceiling", type: "quantitative" } } },
            {
              data: { values: [{ ceiling: r.ceilingGflops, label: `SIMD128 ceiling ${r.ceilingGflops.toFixed(1)}` }] },
              mark: { type: "text", align: "right", dx: -4, baseline: "top", y: 2 },
              encoding: { x: { field: "ceiling", type: "quantitative" }, text: { field: "label" } },
            },
          ]
        : []),
    ],
  });
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "simdcnn and its peers, one thread, batch 1", subtitle: `${r.machine.cpu}, Node ${r.machine.node}, ${r.date.slice(0, 10)}` },
    vconcat: [
      panel("GFLOP/s", "Kernels and whole networks, GFLOP/s"),
      panel("GB/s", "Max pooling (memory-bound), GB/s"),
    ],
    config: { legend: { orient: "bottom" }, axisY: { labelLimit: 240 } },
  };
  const view = new vega.View(vega.parse(vl.compile(spec as unknown as vl.TopLevelSpec).spec), { renderer: "none" });
  return view.toSVG();
}

// --- the run ---

const ceilingBefore = await measureCeiling(quick);
const rows: Row[] = [];
for (const wl of workloads.filter((w) => only === undefined || w.name.includes(only))) {
  rows.push(await measure(wl, ceilingBefore));
  process.stderr.write(`  ${wl.name}\n`);
}
const quantized = await quantizedRows(simdcnn.simd, quick, only);
const ceilingAfter = await measureCeiling(quick);
const ceiling = (ceilingBefore + ceilingAfter) / 2;
const memcpyGBps = await measureMemcpy(quick);
for (const r of rows) {
  if (r.percentOfCeiling) for (const e of ENGINES) r.percentOfCeiling[e] = (100 * r.rate[e]) / ceiling;
}
const slice = buildLayers(simdcnn.simd, sliceClassifier);
const cold = await coldStart(slice.run({ input: random(size(sliceClassifier.input), 77) }).output as Float32Array);
slice.dispose();

const out: Results = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
  quick,
  ceilingGflops: ceiling,
  memcpyGBps,
  versions: {
    "@tensorflow/tfjs-backend-wasm": `${version("@tensorflow/tfjs-backend-wasm")} (${tfjsWasmFile}, threads ${tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") ? "available, set to 1" : "off"})`,
    "onnxruntime-web": `${version("onnxruntime-web")} (${wasmFileOf("onnxruntime-web")}, numThreads 1)`,
  },
  rows,
  quantized,
  ...cold,
};

const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
const x = (v: number) => `${f(v, 2)}x`;
const pct = (v: number | undefined) => (v === undefined ? "" : `${f(v, 0)}%`);
const e1 = (v: number) => (v === 0 ? "0" : v.toExponential(0));
console.log(`SIMD128 ceiling: ${f(ceilingBefore)} GFLOP/s before, ${f(ceilingAfter)} after`);
console.log(`memcpy (16 MiB, copyWithin in a wasm memory): ${f(memcpyGBps)} GB/s`);
console.log(`${out.machine.cpu}, ${out.machine.cores} cores, Node ${out.machine.node}; one thread, batch 1`);
for (const [k, v] of Object.entries(out.versions)) console.log(`${k} ${v}`);
const head = [
  "workload", "unit", "simdcnn (ops)", "simdcnn (ONNX)", "ONNX into", "scalar", "tfjs", "ort", "ops vs tfjs", "ops vs ort", "ONNX vs tfjs", "ONNX vs ort", "into vs tfjs", "into vs ort",
  "ceil ops", "ceil ONNX", "ceil tfjs", "ceil ort", "ONNX - ops ms", "memcpy ms", "err ONNX", "err scalar", "err tfjs", "err ort",
];
const table = rows.map((r) => [
  r.workload, r.unit, f(r.rate.simd), f(r.rate.onnx), f(r.rate.into), f(r.rate.scalar), f(r.rate.tfjs), f(r.rate.ort),
  x(r.ms.tfjs / r.ms.simd), x(r.ms.ort / r.ms.simd), x(r.ms.tfjs / r.ms.onnx), x(r.ms.ort / r.ms.onnx), x(r.ms.tfjs / r.ms.into), x(r.ms.ort / r.ms.into),
  pct(r.percentOfCeiling?.simd), pct(r.percentOfCeiling?.onnx), pct(r.percentOfCeiling?.tfjs), pct(r.percentOfCeiling?.ort),
  f(r.ms.onnx - r.ms.simd, 3), f((1000 * r.edgeBytes) / (memcpyGBps * 1e9), 3),
  e1(r.maxRelErr.onnx), e1(r.maxRelErr.scalar), e1(r.maxRelErr.tfjs), e1(r.maxRelErr.ort),
]);
console.log(`\n${["|", head.join(" | "), "|"].join(" ")}\n|${head.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`);
for (const t of table) console.log(`| ${t.join(" | ")} |`);
console.log(
  `\n"ops": simdcnn's ops API on resident NHWC tensors (networks: its layers API, input copied in and output out); "ONNX": loadOnnx on the NCHW model onnxruntime-web runs, input copied in and output out` +
    ` into a fresh array; "ONNX into": the same, the output copied into one caller's array every run (run's \`into\`).` +
    `\n"vs": simdcnn's speed over the peer's (time ratio, > 1 is faster); "ceil": % of the SIMD128 ceiling; "ONNX - ops ms": what the ONNX path adds (copies in and out, layout copies);` +
    `\n"memcpy ms": copying the input and the output once each at this run's memcpy bandwidth; "err": max |difference| / max |simdcnn ops output|.`,
);
if (quantized.length) console.log(`\nint8 (QDQ files from simdcnn quantize, uint8 activations, int8 weights per channel), one thread, batch 1:\n${quantizedTable(quantized)}`);
console.log(`\ncold start (ms since process start, median of ${quick ? 3 : 7} fresh processes), and bytes loaded:`);
console.log("| engine | script started | imported | initialised | model loaded | first inference | wasm bytes | JS bytes loaded | JS min bundle |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const e of COLD) {
  const c = out.coldStart[e];
  const s = out.sizes[e];
  console.log(`| ${e} | ${f(c.start, 0)} | ${f(c.import, 0)} | ${f(c.init, 0)} | ${f(c.load, 0)} | ${f(c.first, 0)} | ${s.wasmBytes} | ${s.jsBytesLoaded} | ${s.jsBytesMinBundle} |`);
}

if (flags.save) {
  mkdirSync(results, { recursive: true });
  writeFileSync(new URL("peers.json", results), `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(new URL("peers.svg", results), await chart(out));
  console.log("\nwrote bench/results/peers.json and bench/results/peers.svg");
}

const wrong = [
  ...rows.filter((r) => r.maxRelErr.scalar !== 0 || [r.maxRelErr.onnx, r.maxRelErr.into, r.maxRelErr.tfjs, r.maxRelErr.ort].some((e) => !(e <= TOLERANCE))),
  ...quantized.filter((r) => !(r.maxRelErr <= QUANTIZED_TOLERANCE)),
];
if (wrong.length) console.log(`\nOUTPUTS DISAGREE: ${wrong.map((r) => r.workload).join(", ")}`);
// Two threads: simdcnn on two against onnxruntime-web on two (TensorFlow.js's wasm backend has no
// threads in Node). onnxruntime-web fixes numThreads per process, so bench/threads.ts runs it in
// child processes of its own.
if (only === undefined) {
  console.log("\ntwo threads (bench/threads.ts):");
  const pass = [...(quick ? ["--quick"] : []), ...(flags.save ? ["--save"] : [])];
  execFileSync(process.execPath, [...process.execArgv, new URL("./threads.ts", import.meta.url).pathname, ...pass], { stdio: "inherit" });
}

const regressed = previous ? compare(previous, out) : 0;
process.exit(wrong.length || regressed ? 1 : 0);
