#!/usr/bin/env node
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, SimdcnnError, init } from "../node.js";
import { modelSettings } from "../io/metadata.js";
import { AXES, type Axis } from "../io/volume.js";
import { coreCount } from "../runtime/platform.js";
import { closest, parseFlags } from "./args.js";
import { type ClassifyOptions, type Job, asUsage, classifyJobs, emit, loadClassifier, progressBar } from "./classify.js";
import { type DicomwebSource, fetchDicomweb } from "./dicomweb.js";
import { checkOutputFile, checkOutputFolder, readModelFile } from "./files.js";
import { info } from "./info.js";
import { expandInputs } from "./inputs.js";
import { outputNames } from "./naming.js";
import type { Result } from "./output.js";
import { WORKER_ENV, type WorkerJob, classifyInProcesses } from "./pool.js";
import { COMMANDS, USAGE, UsageError } from "./usage.js";
import { slabs, volumeInputs } from "./volumes.js";

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

const CLASSIFY_FLAGS = {
  model: "string", json: "boolean", csv: "boolean", out: "string", "top-k": "string", batch: "string",
  backend: "string", threads: "string", window: "string", labels: "string", output: "string", resize: "string",
  "input-size": "string", heatmap: "string", patch: "string", stride: "string", "skip-existing": "boolean",
  axis: "string", dicomweb: "string", study: "string", series: "string",
} as const;

// A volume is split into slabs for the worker processes only down to this many slices: a slab
// pays for starting a process and reading its part of the volume.
const MIN_SLAB = 16;

function positiveInt(v: string | undefined, flag: string, def?: number): number | undefined {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got '${v}'`);
  return n;
}

function axisOf(v: string | undefined): Axis {
  if (v === undefined) return "axial";
  if ((AXES as readonly string[]).includes(v)) return v as Axis;
  throw new UsageError(`--axis expects ${AXES.join(", ")}, got '${v}'`);
}

function dicomwebSource(url: string | undefined, study: string | undefined, series: string | undefined): DicomwebSource | undefined {
  if (url === undefined) {
    if (study !== undefined || series !== undefined) throw new UsageError(`--${study !== undefined ? "study" : "series"} needs --dicomweb URL`);
    return undefined;
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol)) throw new UsageError(`--dicomweb expects the http(s) URL of a DICOMweb service, e.g. http://pacs:8042/dicom-web, got '${url}'`);
  if (study === undefined) throw new UsageError("--dicomweb needs --study UID (and takes --series UID to pick one series)");
  const uid = /^[0-9]+(\.[0-9]+)*$/;
  for (const [flag, value] of [["--study", study], ["--series", series]] as const) {
    if (value !== undefined && !uid.test(value)) throw new UsageError(`${flag} expects a DICOM UID (digits and dots), got '${value}'`);
  }
  return { url, study, ...(series !== undefined ? { series } : {}) };
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
  const dicomweb = dicomwebSource(v.dicomweb, v.study, v.series);
  if (positionals.length === 0 && !dicomweb) throw new UsageError("no input files, folders or globs given (or --dicomweb URL --study UID)");
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
    heatmap: v.heatmap, patch: positiveInt(v.patch, "--patch"), stride: positiveInt(v.stride, "--stride"),
    skipExisting: v["skip-existing"] ?? false, axis: axisOf(v.axis),
  };
  if (options.skipExisting && options.heatmap === undefined) throw new UsageError("--skip-existing needs --heatmap DIR");
  if (options.out !== undefined) await checkOutputFile(options.out, "--out");
  if (options.heatmap !== undefined) await checkOutputFolder(options.heatmap, "--heatmap");

  // A study from a PACS is fetched into a temporary folder, a folder per series, and classified
  // as folders are; the output names each by its DICOMweb URL.
  const fetchDir = dicomweb ? await mkdtemp(join(tmpdir(), "simdcnn-dicomweb-")) : undefined;
  try {
    return await classifyInputs(positionals, dicomweb, fetchDir, options, backend, threads);
  } finally {
    if (fetchDir !== undefined) await rm(fetchDir, { recursive: true, force: true });
  }
}

async function classifyInputs(
  positionals: string[], dicomweb: DicomwebSource | undefined, fetchDir: string | undefined, options: ClassifyOptions, backend: "auto" | Backend, threads: number,
): Promise<number> {
  const fetched = dicomweb && fetchDir ? await fetchDicomweb(dicomweb, fetchDir) : { folders: [], failed: [] };
  const relabel = (s: string) => fetched.folders.reduce((t, f) => t.replaceAll(f.folder, f.label), s);
  const expanded = [...(await expandInputs(positionals)), ...fetched.failed, ...(await expandInputs(fetched.folders.map((f) => f.folder)))];
  const inputs = await volumeInputs(expanded, options.axis, (w) => process.stderr.write(`simdcnn: warning: ${relabel(w)}\n`));
  const keyOf = (i: (typeof inputs)[number]) => ("key" in i ? i.key : i.file);
  const names = outputNames(inputs.flatMap((i) => ("error" in i ? [] : [keyOf(i)])));
  const named: Job[] = inputs.map((i) => ("error" in i ? i : { ...i, name: names.get(keyOf(i)) }));
  // Several files, or a volume's slices, run in a pool of single-threaded processes (see pool.ts
  // for why); a volume is split into slabs of contiguous slices so that one large series keeps
  // every process busy.
  const jobs = threads > 1 ? (slabs(named, threads, MIN_SLAB) as Job[]) : named;
  const files = jobs.filter((j) => !("error" in j)).length;
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
  if (fetched.folders.length > 0) for (const r of results) Object.assign(r, { file: relabel(r.file) }, "error" in r ? { error: relabel(r.error) } : {});
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
