#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import { type Backend, SimdcnnError, init } from "../node.js";
import { modelSettings } from "../io/metadata.js";
import { coreCount } from "../runtime/platform.js";
import { BASELINES } from "../explain/baseline.js";
import { METHODS } from "../explain/explain.js";
import { closest, parseFlags } from "./args.js";
import { type ClassifyOptions, type Job, asUsage, classifyJobs, emit, loadClassifier, progressBar } from "./classify.js";
import { checkOutputFile, checkOutputFolder, readModelFile } from "./files.js";
import { info } from "./info.js";
import { expandInputs } from "./inputs.js";
import { outputNames } from "./naming.js";
import type { Result } from "./output.js";
import { WORKER_ENV, type WorkerJob, classifyInProcesses } from "./pool.js";
import { COMMANDS, USAGE, UsageError } from "./usage.js";

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

const CLASSIFY_FLAGS = {
  model: "string", json: "boolean", csv: "boolean", out: "string", "top-k": "string", batch: "string",
  backend: "string", threads: "string", window: "string", labels: "string", output: "string", resize: "string",
  "input-size": "string", heatmap: "string", patch: "string", stride: "string", "skip-existing": "boolean",
  method: "string", baseline: "string",
} as const;

function positiveInt(v: string | undefined, flag: string, def?: number): number | undefined {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got '${v}'`);
  return n;
}

function oneOf<T extends string>(v: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`${flag} expects ${allowed.join(" or ")}, got '${v}'`);
}

/** --patch N or N,M,...: occlusion's patch sides. */
function patchList(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  return v.split(",").map((p) => positiveInt(p, "--patch")!);
}

function backendOf(v: string | undefined): "auto" | Backend {
  if (v === undefined || v === "auto" || v === "simd" || v === "scalar") return v ?? "auto";
  throw new UsageError(`--backend expects auto, simd or scalar, got '${v}'`);
}

async function classifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, CLASSIFY_FLAGS);
  const v = values as { [K in keyof typeof CLASSIFY_FLAGS]?: (typeof CLASSIFY_FLAGS)[K] extends "string" ? string : boolean } & { help?: boolean };
  if (v.help) {
    out(USAGE.classify);
    return 0;
  }
  if (!v.model) throw new UsageError("--model is required");
  if (positionals.length === 0) throw new UsageError("no input files, folders or globs given");
  if (v.json && v.csv) throw new UsageError("--json and --csv exclude each other");
  const overrides = {
    ...(v.labels !== undefined ? { labels: v.labels.split(",") } : {}),
    ...(v.output !== undefined ? { output: v.output } : {}),
    ...(v.resize !== undefined ? { resize: v.resize } : {}),
    ...(v["input-size"] !== undefined ? { input_size: v["input-size"] } : {}),
    ...(v.window !== undefined ? { window: v.window } : {}),
  };
  try {
    modelSettings({ overrides });
  } catch (e) {
    throw asUsage(e);
  }
  const backend = backendOf(v.backend);
  const threads = v.threads === undefined || v.threads === "auto" ? coreCount() : positiveInt(v.threads, "--threads")!;
  const options: ClassifyOptions = {
    model: v.model, format: v.json ? "json" : v.csv ? "csv" : "table", out: v.out,
    topK: positiveInt(v["top-k"], "--top-k", 3)!, batch: positiveInt(v.batch, "--batch", 8)!, overrides,
    heatmap: v.heatmap, method: oneOf(v.method, "--method", METHODS), baseline: oneOf(v.baseline, "--baseline", BASELINES),
    patches: patchList(v.patch), stride: positiveInt(v.stride, "--stride"),
    skipExisting: v["skip-existing"] ?? false,
  };
  if (options.skipExisting && options.heatmap === undefined) throw new UsageError("--skip-existing needs --heatmap DIR");
  for (const flag of ["method", "baseline", "patch", "stride"] as const) {
    if (v[flag] !== undefined && options.heatmap === undefined) throw new UsageError(`--${flag} needs --heatmap DIR`);
  }
  if (options.method === "scorecam" && (v.patch !== undefined || v.stride !== undefined)) throw new UsageError("--patch and --stride are occlusion's; --method scorecam takes neither");
  if (options.out !== undefined) await checkOutputFile(options.out, "--out");
  if (options.heatmap !== undefined) await checkOutputFolder(options.heatmap, "--heatmap");

  const inputs = await expandInputs(positionals);
  const names = outputNames(inputs.flatMap((i) => ("error" in i ? [] : [i.file])));
  const jobs: Job[] = inputs.map((i) => ("error" in i ? i : { ...i, name: names.get(i.file) }));
  const files = jobs.filter((j) => !("error" in j)).length;
  // Several files run in a pool of single-threaded processes (see pool.ts for why).
  const pool = threads > 1 && files > 1;
  const engine = await init({ backend, threads: pool ? 1 : threads });
  let classifier;
  try {
    // Every problem with the model or its settings shows here, once, before any worker starts.
    classifier = await loadClassifier(engine, options);
  } catch (e) {
    engine.dispose();
    throw e;
  }
  const bar = progressBar(jobs.length);
  const results: Result[] = [];
  try {
    if (pool) {
      classifier.model.dispose();
      engine.dispose();
      const job = { backend, options } as const;
      results.push(...(await classifyInProcesses(jobs, Math.min(threads, files), job, () => bar.increment())));
    } else {
      await classifyJobs(engine, classifier, jobs, options, (r) => {
        results.push(...r);
        bar.increment();
      });
      classifier.model.dispose();
      engine.dispose();
    }
  } finally {
    bar.stop();
  }
  return emit(results, options, out);
}

/** A pool's worker process: the job file names its validated options and its share of the inputs. */
async function worker(file: string): Promise<number> {
  const { backend, options, jobs } = JSON.parse(await readFile(file, "utf8")) as WorkerJob;
  const engine = await init({ backend, threads: 1 });
  const classifier = await loadClassifier(engine, options);
  await classifyJobs(engine, classifier, jobs, options, (r) => process.stdout.write(`${JSON.stringify(r)}\n`));
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
