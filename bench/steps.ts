// Where a network's time goes in simdcnn: each step of the compiled graph timed on its own over
// many runs (median), for the U-Nets of bench/nets.ts through the layers API and through the NCHW
// ONNX model onnxruntime-web runs. Prints each model's summary() and the per-step medians, then
// the medians summed by kind of step (3x3 convolutions, transposed convolutions, resize, copies
// and transposes, ...). With --threads N, each step also on an engine of N threads, beside one
// thread's, and the ratio.
import { Bench } from "tinybench";
import { type Engine, type Model, init } from "../src/node.js";
import { parseFlags, usageError } from "./args.js";
import { type NetDef, random, unetDeconv, unetResize } from "./nets.js";
import { onnxNetwork } from "./peers/onnx.js";

const USAGE = {
  script: "bench/steps.ts",
  synopsis: "npm run bench:steps -- [flags]",
  about:
    "Per-step times of the U-Nets of bench/nets.ts in simdcnn (SIMD build, one thread), through the\n" +
    "layers API and through the NCHW ONNX model: each model's summary, each step's median, and\n" +
    "the medians summed by kind of step. Prints only.",
  flags: {
    quick: { type: "boolean", help: "fewer runs (noisier)" },
    threads: { type: "string", arg: "N", help: "also time each step on N threads, beside one thread's" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const runs = flags.quick ? 8 : 30;
const threads = flags.threads === undefined ? 1 : Number(flags.threads);
if (!(Number.isSafeInteger(threads) && threads >= 1)) usageError(USAGE, `--threads expects a thread count (a positive integer), got '${flags.threads}'`);

// After its first run the compiled graph replays one closure per step (its recorded kernel
// calls), private to the model; the profiler wraps each closure with a clock. Only this script
// reaches in: a run's result is unchanged.
interface Internals {
  bound: { compiled: { replays: (() => void)[] } };
}

/** Median milliseconds of each step over `runs` runs of the model. */
function stepTimes(model: Model, inputs: Record<string, Float32Array>): number[] {
  model.run(inputs);
  const compiled = (model as unknown as Internals).bound.compiled;
  const own = compiled.replays;
  const samples: number[][] = own.map(() => []);
  compiled.replays = own.map((fn, i) => () => {
    const t = performance.now();
    fn();
    samples[i].push(performance.now() - t);
  });
  try {
    for (let r = 0; r < runs; r++) model.run(inputs);
  } finally {
    compiled.replays = own;
  }
  return samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1]);
}

/** The rows of a summary (step name, output, params, FLOPs, moved), one per step. */
function rows(summary: string): string[] {
  const lines = summary.split("\n");
  const start = lines.findIndex((l) => l.startsWith("step")) + 1;
  return lines.slice(start, lines.findIndex((l) => l.startsWith("parameters:")));
}

/** The kind a step's time is summed under: its name without channel counts and fused activation. */
function kind(row: string): string {
  const name = row.split(/\s{2,}/)[0];
  if (name.startsWith("conv")) return name.replace(/ \d+->\d+.*$/, "");
  if (name.startsWith("deconv")) return name.replace(/ \d+->\d+.*$/, "");
  return name;
}

async function profile(label: string, model: Model, input: Float32Array, inputName: string, threaded?: Model): Promise<void> {
  const bench = new Bench({ time: flags.quick ? 300 : 1000, iterations: flags.quick ? 3 : 10, warmupIterations: 3 });
  const inputs = { [inputName]: input };
  bench.add(label, () => model.run(inputs));
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== "completed") throw new Error(`${label}: ${result.state}`);
  const whole = result.latency.p50;
  const times = stepTimes(model, inputs);
  const summary = model.summary();
  const r = rows(summary);
  console.log(`\n## ${label}: ${whole.toFixed(1)} ms a run (median), steps sum to ${times.reduce((a, b) => a + b, 0).toFixed(1)} ms\n`);
  console.log(summary);
  if (threaded) {
    const par = stepTimes(threaded, inputs);
    const sum = par.reduce((a, b) => a + b, 0);
    console.log(`\nms per step (median of runs), one thread | ${threads} threads (steps sum to ${sum.toFixed(1)} ms) | ratio:`);
    for (const [i, row] of r.entries()) {
      console.log(`${times[i].toFixed(3).padStart(8)} ${par[i].toFixed(3).padStart(8)} ${(times[i] / par[i]).toFixed(2).padStart(6)}x  ${row.split(/\s{2,}/).slice(0, 2).join("  ")}`);
    }
    threaded.dispose();
  } else {
    console.log("\nms per step (median of runs):");
    for (const [i, row] of r.entries()) console.log(`${times[i].toFixed(3).padStart(8)}  ${row.split(/\s{2,}/).slice(0, 2).join("  ")}`);
  }
  const byKind = new Map<string, { ms: number; n: number }>();
  for (const [i, row] of r.entries()) {
    const k = kind(row);
    const v = byKind.get(k) ?? { ms: 0, n: 0 };
    byKind.set(k, { ms: v.ms + times[i], n: v.n + 1 });
  }
  const total = times.reduce((a, b) => a + b, 0);
  console.log("\nby kind of step:");
  for (const [k, v] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`${v.ms.toFixed(2).padStart(8)} ms ${((100 * v.ms) / total).toFixed(1).padStart(5)}%  ${String(v.n).padStart(3)}x ${k}`);
  }
  model.dispose();
}

const e = await init({ backend: "simd" });
const par: Engine | undefined = threads > 1 ? await init({ backend: "simd", threads }) : undefined;
for (const net of [unetDeconv, unetResize] as NetDef[]) {
  const [h, w, c] = net.input;
  const nhwc = random(h * w * c, 77);
  await profile(`${net.name}, layers API`, net.build(e), nhwc, "input", par && net.build(par));
  await profile(`${net.name}, NCHW ONNX model`, await e.loadOnnx(onnxNetwork(net)), nhwc, "input", par && (await par.loadOnnx(onnxNetwork(net))));
}
e.dispose();
par?.dispose();
