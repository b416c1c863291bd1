// Cold start of one engine in a fresh process, run by bench/peers.ts (bundled by esbuild into
// plain JavaScript first, so that no TypeScript loader runs in the process being timed):
//   node cold.mjs <simdcnn|tfjs|ort> <dir> [js]
// Imports the engine, initialises it, loads the slice classifier from <dir> (model.onnx, or
// net.json + net.bin for TensorFlow.js), runs it once on input.bin, and prints one JSON line: the
// milliseconds since process start at the end of each phase, the wasm binaries compiled, the
// output. With `js` it also records every JavaScript file the process loaded (an ESM loader hook,
// plus the CommonJS cache), which costs start-up time: byte counts and timings come from separate runs.
import { readFileSync, statSync } from "node:fs";
import { createRequire, register } from "node:module";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import type * as TF from "@tensorflow/tfjs-core";
import { spyOnWasm } from "./spy.js";
import { unpackSpec } from "./spec-io.js";
import { tfNetwork } from "./tf.js";

const [engine, dir, mode] = process.argv.slice(2);
const file = (name: string) => readFileSync(`${dir}/${name}`);
const wasm = spyOnWasm();
const urls = new Set<string>();
if (mode === "js") {
  const { port1, port2 } = new MessageChannel();
  port1.on("message", (u: string) => urls.add(u));
  port1.unref();
  const hook = "let port; export function initialize(d) { port = d.port; } export async function load(u, c, next) { port.postMessage(u); return next(u, c); }";
  register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { port: port2 }, transferList: [port2] });
}

const input = new Float32Array(new Uint8Array(file("input.bin")).buffer);
const at: Record<string, number> = { start: performance.now() };
const mark = (phase: string) => (at[phase] = performance.now());
let output: Float32Array;

if (engine === "simdcnn") {
  // By package name, as a user imports it: the package's own dist/ (self-reference via "exports").
  const { init } = await import("simdcnn");
  mark("import");
  const e = await init();
  mark("init");
  const model = await e.loadOnnx(file("model.onnx"));
  mark("load");
  output = model.run({ input }).output;
} else if (engine === "tfjs") {
  const core = await import("@tensorflow/tfjs-core");
  const backend = await import("@tensorflow/tfjs-backend-wasm");
  mark("import");
  // Node's ESM view of tfjs's CommonJS build may hide the named exports behind `default`.
  const tf = ("setBackend" in core ? core : (core as { default: typeof TF }).default) as typeof TF;
  const { setThreadsCount } = ("setThreadsCount" in backend ? backend : (backend as { default: typeof backend }).default);
  setThreadsCount(1);
  await tf.setBackend("wasm");
  mark("init");
  const net = tfNetwork(tf, unpackSpec(file("net.json").toString(), file("net.bin")));
  mark("load");
  const y = net.run(tf.tensor4d(input, [1, 256, 256, 1]));
  output = y.dataSync() as Float32Array;
} else if (engine === "ort") {
  const ort = await import("onnxruntime-web");
  mark("import");
  // ORT has no init of its own: its wasm is fetched and compiled by the first session.create.
  ort.env.wasm.numThreads = 1;
  mark("init");
  const session = await ort.InferenceSession.create(file("model.onnx"), { executionProviders: ["wasm"] });
  mark("load");
  const r = await session.run({ input: new ort.Tensor("float32", input, [1, 1, 256, 256]) });
  output = r.output.data as Float32Array;
} else {
  throw new Error(`unknown engine ${engine}`);
}
mark("first");

let jsBytes: number | undefined;
if (mode === "js") {
  await new Promise((r) => setTimeout(r, 50)); // the hook thread's last messages
  const self = fileURLToPath(import.meta.url);
  const files = new Set([...urls].filter((u) => u.startsWith("file:")).map((u) => fileURLToPath(u)));
  for (const f of Object.keys(createRequire(import.meta.url).cache)) files.add(f);
  files.delete(self);
  jsBytes = [...files].reduce((n, f) => n + statSync(f).size, 0);
}
process.stdout.write(`${JSON.stringify({ at, wasm, jsBytes, output: Array.from(output) })}\n`);
