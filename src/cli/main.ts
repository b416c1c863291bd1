#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type Backend, type Engine, SimdcnnError, init } from "../node.js";
import { modelSettings } from "../io/metadata.js";
import { coreCount } from "../runtime/platform.js";
import { closest, parseFlags } from "./args.js";
import { type ClassifyOptions, classifyJobs, emitClassified, loadClassifier } from "./classify.js";
import { checkOutputFile, checkOutputFolder, readModelFile } from "./files.js";
import { info } from "./info.js";
import { expandInputs } from "./inputs.js";
import { type Job, type Loaded, asUsage } from "./jobs.js";
import { outputNames } from "./naming.js";
import type { Failure, Result, SegmentResult } from "./output.js";
import { WORKER_ENV, type WorkerJob, type WorkerSetup, runInProcesses } from "./pool.js";
import { progressBar } from "./report.js";
import { type SegmentOptions, emitSegmented, loadSegmenter, segmentJobs } from "./segment.js";
import { COMMANDS, USAGE, UsageError } from "./usage.js";
import { workerCommand } from "./worker.js";

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

// The flags of both commands that run a model over slices.
const MODEL_FLAGS = {
  model: "string", json: "boolean", csv: "boolean", batch: "string", backend: "string", threads: "string", window: "string",
  labels: "string", output: "string", resize: "string", "input-size": "string",
} as const;

const CLASSIFY_FLAGS = {
  ...MODEL_FLAGS, out: "string", "top-k": "string", heatmap: "string", patch: "string", stride: "string", "skip-existing": "boolean",
  queue: "string",
} as const;

const SEGMENT_FLAGS = {
  ...MODEL_FLAGS, out: "string", overlay: "boolean", threshold: "string", background: "string", colors: "string", queue: "string",
} as const;

type Values<F> = { [K in keyof F]?: F[K] extends "string" ? string : boolean } & { help?: boolean };

function positiveInt(v: string | undefined, flag: string, def?: number): number | undefined {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got '${v}'`);
  return n;
}

function backendOf(v: string | undefined): "auto" | Backend {
  if (v === undefined || v === "auto" || v === "simd" || v === "scalar") return v ?? "auto";
  throw new UsageError(`--backend expects auto, simd or scalar, got '${v}'`);
}

/** What both commands take from their common flags, checked before anything is read. */
interface Common {
  format: "table" | "json" | "csv";
  batch: number;
  backend: "auto" | Backend;
  threads: number;
  overrides: ClassifyOptions["overrides"];
}

function common(v: Values<typeof MODEL_FLAGS>, positionals: string[], extra: ClassifyOptions["overrides"]): Common {
  if (!v.model) throw new UsageError("--model is required");
  if (positionals.length === 0) throw new UsageError("no input files, folders or globs given");
  if (v.json && v.csv) throw new UsageError("--json and --csv exclude each other");
  const overrides = {
    ...(v.labels !== undefined ? { labels: v.labels.split(",") } : {}),
    ...(v.output !== undefined ? { output: v.output } : {}),
    ...(v.resize !== undefined ? { resize: v.resize } : {}),
    ...(v["input-size"] !== undefined ? { input_size: v["input-size"] } : {}),
    ...(v.window !== undefined ? { window: v.window } : {}),
    ...extra,
  };
  try {
    modelSettings({ overrides });
  } catch (e) {
    throw asUsage(e);
  }
  return {
    format: v.json ? "json" : v.csv ? "csv" : "table",
    batch: positiveInt(v.batch, "--batch", 8)!,
    backend: backendOf(v.backend),
    threads: v.threads === undefined || v.threads === "auto" ? coreCount() : positiveInt(v.threads, "--threads")!,
    overrides,
  };
}

/**
 * Expands and names the inputs, loads the model once (so that every problem with it or its
 * settings shows before any worker starts), and runs the jobs: on a queue's workers when
 * `remote` is given, several files in a pool of single-threaded processes (see pool.ts for why),
 * else in this process.
 */
async function runCommand<L extends Loaded, R extends object>(
  c: Common, positionals: string[], setup: WorkerSetup,
  load: (engine: Engine) => Promise<L>,
  local: (engine: Engine, loaded: L, jobs: Job[], done: (r: (R | Failure)[]) => void) => Promise<void>,
  remote?: (jobs: Job[], tick: () => void) => Promise<(R | Failure)[]>,
): Promise<{ loaded: L; results: (R | Failure)[] }> {
  const inputs = await expandInputs(positionals);
  const names = outputNames(inputs.flatMap((i) => ("error" in i ? [] : [i.file])));
  const jobs: Job[] = inputs.map((i) => ("error" in i ? i : { ...i, name: names.get(i.file) }));
  const files = jobs.filter((j) => !("error" in j)).length;
  const pool = c.threads > 1 && files > 1;
  const engine = await init({ backend: c.backend, threads: pool ? 1 : c.threads });
  let loaded: L;
  try {
    loaded = await load(engine);
  } catch (e) {
    engine.dispose();
    throw e;
  }
  const bar = progressBar(jobs.length);
  const results: (R | Failure)[] = [];
  try {
    if (remote) {
      loaded.model.dispose();
      engine.dispose();
      results.push(...(await remote(jobs, () => bar.increment())));
    } else if (pool) {
      loaded.model.dispose();
      engine.dispose();
      results.push(...(await runInProcesses<R>(jobs, Math.min(c.threads, files), setup, () => bar.increment())));
    } else {
      await local(engine, loaded, jobs, (r) => {
        results.push(...r);
        bar.increment();
      });
      loaded.model.dispose();
      engine.dispose();
    }
  } finally {
    bar.stop();
  }
  return { loaded, results };
}

async function classifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, CLASSIFY_FLAGS);
  const v = values as Values<typeof CLASSIFY_FLAGS>;
  if (v.help) {
    out(USAGE.classify);
    return 0;
  }
  const c = common(v, positionals, {});
  const options: ClassifyOptions = {
    model: v.model!, format: c.format, out: v.out, topK: positiveInt(v["top-k"], "--top-k", 3)!, batch: c.batch, overrides: c.overrides,
    heatmap: v.heatmap, patch: positiveInt(v.patch, "--patch"), stride: positiveInt(v.stride, "--stride"),
    skipExisting: v["skip-existing"] ?? false,
  };
  const queue = v.queue;
  if (queue !== undefined) (await import("../queue/connection.js")).connectionOf(queue);
  // With --queue, --out FILE.jsonl is the journal the queue's results are appended to (producer.ts).
  const journal = queue !== undefined && options.out !== undefined && /\.jsonl$/i.test(options.out);
  if (options.skipExisting && options.heatmap === undefined && !journal) throw new UsageError("--skip-existing needs --heatmap DIR (or, with --queue, --out FILE.jsonl)");
  if (options.out !== undefined) await checkOutputFile(options.out, "--out");
  if (options.heatmap !== undefined) await checkOutputFolder(options.heatmap, "--heatmap");
  const onQueue =
    queue === undefined
      ? undefined
      : async (jobs: Job[], tick: () => void) => {
          const { runOnQueue } = await import("../queue/producer.js");
          const { format: _format, out: _out, ...settings } = options;
          return runOnQueue(jobs, { url: queue, command: "classify", backend: c.backend, settings, journal: journal ? options.out : undefined, skipExisting: options.skipExisting }, tick);
        };
  const { results } = await runCommand<Loaded, Result>(
    c, positionals, { command: "classify", backend: c.backend, options },
    (engine) => loadClassifier(engine, options),
    (engine, loaded, jobs, done) => classifyJobs(engine, loaded, jobs, options, done),
    onQueue,
  );
  return emitClassified(results as Result[], journal ? { ...options, out: undefined } : options, out);
}

async function segmentCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, SEGMENT_FLAGS);
  const v = values as Values<typeof SEGMENT_FLAGS>;
  if (v.help) {
    out(USAGE.segment);
    return 0;
  }
  const c = common(v, positionals, {
    ...(v.background !== undefined ? { background: v.background } : {}),
    ...(v.colors !== undefined ? { colors: v.colors } : {}),
  });
  const threshold = v.threshold === undefined ? 0.5 : Number(v.threshold);
  if (v.threshold?.trim() === "" || !(threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold expects a probability in 0..1, got '${v.threshold}'`);
  const options: SegmentOptions = {
    model: v.model!, format: c.format, out: v.out ?? "masks", overlay: v.overlay ?? false, threshold, batch: c.batch, overrides: c.overrides,
  };
  const queue = v.queue;
  if (queue !== undefined) (await import("../queue/connection.js")).connectionOf(queue);
  await checkOutputFolder(options.out, "--out");
  const onQueue =
    queue === undefined
      ? undefined
      : async (jobs: Job[], tick: () => void) => {
          const { runOnQueue } = await import("../queue/producer.js");
          // The workers write the masks, so they need the folder the user meant, not one relative to their own.
          const { format: _format, ...settings } = { ...options, out: resolve(options.out) };
          return runOnQueue(jobs, { url: queue, command: "segment", backend: c.backend, settings, skipExisting: false }, tick);
        };
  const { loaded, results } = await runCommand<Awaited<ReturnType<typeof loadSegmenter>>, SegmentResult>(
    c, positionals, { command: "segment", backend: c.backend, options },
    (engine) => loadSegmenter(engine, options),
    (engine, loaded, jobs, done) => segmentJobs(engine, loaded, jobs, options, done),
    onQueue,
  );
  return emitSegmented(results as SegmentResult[], loaded, options, out);
}

/** A pool's worker process: the job file names its command, validated options and its share of the inputs. */
async function worker(file: string): Promise<number> {
  const job = JSON.parse(await readFile(file, "utf8")) as WorkerJob;
  const engine = await init({ backend: job.backend, threads: 1 });
  const line = (r: object[]) => process.stdout.write(`${JSON.stringify(r)}\n`);
  if (job.command === "segment") await segmentJobs(engine, await loadSegmenter(engine, job.options), job.jobs, job.options, line);
  else await classifyJobs(engine, await loadClassifier(engine, job.options), job.jobs, job.options, line);
  return 0;
}

async function infoCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { backend: "string" });
  if (values.help) {
    out(USAGE.info);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`info takes one model file, got ${positionals.length}`);
  const bytes = await readModelFile(positionals[0], "info");
  const engine = await init({ backend: backendOf(values.backend as string | undefined) });
  try {
    await info(engine, bytes, out);
  } finally {
    engine.dispose();
  }
  return 0;
}

async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return `simdcnn ${pkg.version}`;
}

function unknownCommand(name: string): UsageError {
  const near = closest(name, COMMANDS);
  return new UsageError(`unknown command '${name}'${near ? `; did you mean '${near}'?` : ""}`);
}

async function main(argv: string[]): Promise<number> {
  const job = process.env[WORKER_ENV];
  if (job !== undefined) return worker(job);
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(`${USAGE[""]}\n`);
    return 2;
  }
  if (command === "--help" || command === "-h") {
    out(USAGE[""]);
    return 0;
  }
  if (command === "--version" || command === "-V") {
    out(await version());
    return 0;
  }
  if (command === "help") {
    if (rest.length > 1) throw new UsageError(`help takes at most one command, got ${rest.length}`);
    if (rest.length === 1 && !(Object.hasOwn(USAGE, rest[0]) && rest[0] !== "")) throw unknownCommand(rest[0]);
    out(USAGE[rest[0] ?? ""]);
    return 0;
  }
  if (command === "info") return infoCommand(rest);
  if (command === "classify") return classifyCommand(rest);
  if (command === "segment") return segmentCommand(rest);
  if (command === "worker") return workerCommand(rest, out);
  throw unknownCommand(command);
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError && process.env[WORKER_ENV] === undefined) {
      const command = Object.hasOwn(USAGE, argv[0] ?? "") && argv[0] !== "help" ? argv[0] : "";
      const synopsis = command ? `${USAGE[command].split("\n")[0]}\n(simdcnn ${command} --help lists every option)` : USAGE[""];
      process.stderr.write(`simdcnn: ${e.message}\n${synopsis}\n`);
      process.exitCode = 2;
    } else if (e instanceof SimdcnnError) {
      process.stderr.write(`simdcnn: ${e.name}: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`simdcnn: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
