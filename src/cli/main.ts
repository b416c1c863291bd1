#!/usr/bin/env node
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Backend, type Engine, SimdcnnError, init } from "../node.js";
import { modelSettings } from "../io/metadata.js";
import { AXES, type Axis } from "../io/volume.js";
import { coreCount } from "../runtime/platform.js";
import { BASELINES } from "../explain/baseline.js";
import { METHODS } from "../explain/explain.js";
import { closest, parseFlags } from "./args.js";
import { type ArchiveOptions, archiveReports, archiveSegmentations } from "./archive.js";
import { type ClassifyOptions, classifyJobs, emitClassified, loadClassifier } from "./classify.js";
import { type DetectOptions, detectJobs, emitDetected, loadDetector } from "./detect.js";
import { type DicomwebSource, fetchDicomweb, seriesInputs } from "./dicomweb.js";
import { checkOutputFile, checkOutputFolder } from "./files.js";
import { check, info } from "./info.js";
import { expandInputs, isS3 } from "./inputs.js";
import { type Job, type Loaded, asUsage } from "./jobs.js";
import { outputNames } from "./naming.js";
import type { DetectResult, Failure, Result, SegmentResult } from "./output.js";
import { WORKER_ENV, type WorkerJob, type WorkerSetup, runInProcesses } from "./processes.js";
import { quantizeCommand } from "./quantize.js";
import { progressBar, wrote } from "./report.js";
import { type SegmentOptions, type Segmenter, emitSegmented, loadSegmenter, segmentJobs } from "./segment.js";
import { COMMANDS, USAGE, UsageError } from "./usage.js";
import { slabs, volumeInputs } from "./volumes.js";
import { workerCommand } from "./worker.js";

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

// The flags of both commands that run a model over slices.
const MODEL_FLAGS = {
  model: "string", json: "boolean", csv: "boolean", batch: "string", backend: "string", threads: "string", window: "string",
  labels: "string", output: "string", resize: "string", "input-size": "string",
  axis: "string", dicomweb: "string", study: "string", series: "string",
} as const;

const CLASSIFY_FLAGS = {
  ...MODEL_FLAGS, out: "string", "top-k": "string", heatmap: "string", method: "string", baseline: "string", patch: "string",
  stride: "string", "skip-existing": "boolean", queue: "string", sr: "string", store: "boolean",
} as const;

const SEGMENT_FLAGS = {
  ...MODEL_FLAGS, out: "string", overlay: "boolean", threshold: "string", background: "string", colors: "string", queue: "string",
  seg: "string", store: "boolean",
} as const;

const DETECT_FLAGS = {
  ...MODEL_FLAGS, boxes: "string", score: "string", iou: "string", "max-boxes": "string", colors: "string",
  detection: "string", "box-format": "string", "box-units": "string", queue: "string",
} as const;

type Values<F> = { [K in keyof F]?: F[K] extends "string" ? string : boolean } & { help?: boolean };

// A volume is split into slabs for the worker processes only down to this many slices: a slab
// pays for starting a process and reading its part of the volume.
const MIN_SLAB = 16;
// On a queue, a volume's slabs are at least this many slices: a job's overhead is a few
// milliseconds, a slab's is also the model batches it fills and, cut across a series' stack,
// reading the whole series.
const QUEUE_SLAB = 32;

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

/** What both commands take from their common flags, checked before anything is read. */
interface Common {
  format: "table" | "json" | "csv";
  batch: number;
  backend: "auto" | Backend;
  threads: number;
  overrides: ClassifyOptions["overrides"];
  axis: Axis;
  dicomweb?: DicomwebSource;
}

function common(v: Values<typeof MODEL_FLAGS>, positionals: string[], extra: ClassifyOptions["overrides"]): Common {
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
    axis: axisOf(v.axis),
    ...(dicomweb ? { dicomweb } : {}),
  };
}

/**
 * --queue's URL, checked; s3:// inputs and output folders (`outputs`: flag and value) are
 * checked too, and refused without --queue: objects in a bucket are read and written by workers.
 */
async function queueOf(v: { queue?: string }, positionals: string[], outputs: [string, string | undefined][]): Promise<string | undefined> {
  const bucket = [...positionals.filter(isS3).map((p) => ["an input", p] as const), ...outputs.filter(([, p]) => isS3(p))];
  if (v.queue === undefined) {
    if (bucket.length > 0) throw new UsageError(`${bucket[0][0]} '${bucket[0][1]}' is in a bucket, which only queue workers read and write: add --queue redis://HOST:PORT/N`);
    return undefined;
  }
  (await import("../queue/connection.js")).connectionOf(v.queue);
  if (bucket.length > 0) {
    const { s3Location } = await import("../queue/s3.js");
    for (const [flag, url] of bucket) s3Location(url!, flag);
  }
  return v.queue;
}

/** --seg DIR or --sr DIR, and --store, checked: --store sends them to --dicomweb's service; neither goes with --queue. */
async function archiveOf(v: { store?: boolean; queue?: string }, flag: "--seg" | "--sr", dir: string | undefined, c: Common, model: string): Promise<ArchiveOptions | undefined> {
  if (dir === undefined) {
    if (v.store) throw new UsageError(`--store needs ${flag} DIR: the objects it sends are written there first`);
    return undefined;
  }
  if (v.queue !== undefined) throw new UsageError(`${flag} does not combine with --queue: the objects are made from a local run's series and files`);
  if (v.store && !c.dicomweb) throw new UsageError("--store needs --dicomweb URL: the service the objects are sent to (STOW-RS)");
  await checkOutputFolder(dir, flag);
  return { dir, axis: c.axis, model, ...(v.store ? { store: c.dicomweb!.url } : {}) };
}

/** How a command runs its jobs: the model it loads, and where the jobs run. */
interface Runner<L extends Loaded, R extends { file: string }> {
  setup: WorkerSetup;
  load(engine: Engine): Promise<L>;
  local(engine: Engine, loaded: L, jobs: Job[], done: (r: (R | Failure)[]) => void): Promise<void>;
  remote?(jobs: Job[], tick: () => void): Promise<(R | Failure)[]>;
  /** After the run, while a --dicomweb study's files are still there: DICOM objects of the results (archive.ts). */
  archive?(loaded: L, jobs: Job[], results: (R | Failure)[]): Promise<void>;
}

/**
 * Expands and names the inputs (fetching a --dicomweb study first, into a temporary folder
 * removed afterwards), loads the model once (so that every problem with it or its settings shows
 * before any worker starts), and runs the jobs: on a queue's workers when `remote` is given,
 * several files or a volume's slabs in single-threaded worker processes (see processes.ts for
 * why), else in this process.
 */
async function runCommand<L extends Loaded, R extends { file: string }>(c: Common, positionals: string[], run: Runner<L, R>): Promise<{ loaded: L; results: (R | Failure)[] }> {
  // On a queue, each worker fetches the series it takes.
  const fetchDir = c.dicomweb && !run.remote ? await mkdtemp(join(tmpdir(), "simdcnn-dicomweb-")) : undefined;
  try {
    return await runInputs(c, positionals, fetchDir, run);
  } finally {
    if (fetchDir !== undefined) await rm(fetchDir, { recursive: true, force: true });
  }
}

async function runInputs<L extends Loaded, R extends { file: string }>(
  c: Common, positionals: string[], fetchDir: string | undefined, { setup, load, local, remote, archive }: Runner<L, R>,
): Promise<{ loaded: L; results: (R | Failure)[] }> {
  // A study from a PACS is fetched a folder per series, and read as folders are; the output names
  // each by its DICOMweb URL.
  const fetched = c.dicomweb && fetchDir ? await fetchDicomweb(c.dicomweb, fetchDir) : { folders: [], failed: [] };
  const relabel = (s: string) => fetched.folders.reduce((t, f) => t.replaceAll(f.folder, f.label), s);
  const queued = c.dicomweb && remote ? await seriesInputs(c.dicomweb) : [];
  // Objects in a bucket (queue only: checked by the command) are listed here and fetched by the
  // worker that takes each; they follow the other inputs.
  const buckets = positionals.filter(isS3);
  const listed = buckets.length > 0 ? await (await import("../queue/s3.js")).bucketInputs(buckets) : [];
  const given = await expandInputs(positionals.filter((p) => !isS3(p)));
  const expanded = [...given, ...fetched.failed, ...(await expandInputs(fetched.folders.map((f) => f.folder))), ...queued, ...listed];
  const inputs = await volumeInputs(expanded, c.axis, (w) => process.stderr.write(`simdcnn: warning: ${relabel(w)}\n`));
  const keyOf = (i: (typeof inputs)[number]) => ("key" in i ? i.key : i.file);
  const names = outputNames(inputs.flatMap((i) => ("error" in i ? [] : [keyOf(i)])));
  const named: Job[] = inputs.map((i) => ("error" in i ? i : { ...i, name: names.get(keyOf(i)) }));
  // A volume is split into slabs of contiguous slices, so that one large series keeps every
  // worker process busy; on a queue, whose workers are not counted here, into slabs of a fixed
  // size, so that a restarted producer gives each slab the job id it had.
  const jobs = remote ? (slabs(named, Infinity, QUEUE_SLAB) as Job[]) : c.threads > 1 ? (slabs(named, c.threads, MIN_SLAB) as Job[]) : named;
  const files = jobs.filter((j) => !("error" in j)).length;
  const inProcesses = c.threads > 1 && files > 1;
  const engine = await init({ backend: c.backend, threads: inProcesses ? 1 : c.threads });
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
    } else if (inProcesses) {
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
  if (archive) await archive(loaded, named, results);
  if (fetched.folders.length > 0) for (const r of results) Object.assign(r, { file: relabel(r.file) }, "error" in r ? { error: relabel(r.error) } : {});
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
    heatmap: v.heatmap, method: oneOf(v.method, "--method", METHODS), baseline: oneOf(v.baseline, "--baseline", BASELINES),
    patches: patchList(v.patch), stride: positiveInt(v.stride, "--stride"),
    skipExisting: v["skip-existing"] ?? false, axis: c.axis,
  };
  for (const flag of ["method", "baseline", "patch", "stride"] as const) {
    if (v[flag] !== undefined && options.heatmap === undefined) throw new UsageError(`--${flag} needs --heatmap DIR`);
  }
  if (options.method === "scorecam" && (v.patch !== undefined || v.stride !== undefined)) throw new UsageError("--patch and --stride are occlusion's; --method scorecam takes neither");
  const queue = await queueOf(v, positionals, [["--heatmap", options.heatmap]]);
  // With --queue, --out FILE.jsonl is the journal the queue's results are appended to (producer.ts).
  const journal = queue !== undefined && options.out !== undefined && /\.jsonl$/i.test(options.out);
  if (options.skipExisting && options.heatmap === undefined && !journal) throw new UsageError("--skip-existing needs --heatmap DIR (or, with --queue, --out FILE.jsonl)");
  if (options.out !== undefined) await checkOutputFile(options.out, "--out");
  if (options.heatmap !== undefined && !isS3(options.heatmap)) await checkOutputFolder(options.heatmap, "--heatmap");
  const sr = await archiveOf(v, "--sr", v.sr, c, options.model);
  const onQueue =
    queue === undefined
      ? undefined
      : async (jobs: Job[], tick: () => void) => {
          const { runOnQueue } = await import("../queue/producer.js");
          const { format: _format, out: _out, ...settings } = options;
          return runOnQueue(jobs, { url: queue, command: "classify", backend: c.backend, settings, journal: journal ? options.out : undefined, skipExisting: options.skipExisting }, tick);
        };
  const { results } = await runCommand<Loaded, Result>(c, positionals, {
    setup: { command: "classify", backend: c.backend, options },
    load: (engine) => loadClassifier(engine, options),
    local: (engine, loaded, jobs, done) => classifyJobs(engine, loaded, jobs, options, done),
    ...(onQueue ? { remote: onQueue } : {}),
    ...(sr ? { archive: async (_loaded: Loaded, jobs: Job[], results: Result[]) => wrote(await archiveReports(jobs, results, sr), "structured report", sr.dir) } : {}),
  });
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
    model: v.model!, format: c.format, out: v.out ?? "masks", overlay: v.overlay ?? false, threshold, batch: c.batch, axis: c.axis, overrides: c.overrides,
  };
  const queue = await queueOf(v, positionals, [["--out", options.out]]);
  if (!isS3(options.out)) await checkOutputFolder(options.out, "--out");
  const seg = await archiveOf(v, "--seg", v.seg, c, options.model);
  const onQueue =
    queue === undefined
      ? undefined
      : async (jobs: Job[], tick: () => void) => {
          const { runOnQueue } = await import("../queue/producer.js");
          // The workers write the masks, so they need the folder the user meant, not one relative to their own.
          const { format: _format, ...settings } = { ...options, out: isS3(options.out) ? options.out : resolve(options.out) };
          return runOnQueue(jobs, { url: queue, command: "segment", backend: c.backend, settings, skipExisting: false }, tick);
        };
  const { loaded, results } = await runCommand<Awaited<ReturnType<typeof loadSegmenter>>, SegmentResult>(c, positionals, {
    setup: { command: "segment", backend: c.backend, options },
    load: (engine) => loadSegmenter(engine, options),
    local: (engine, loaded, jobs, done) => segmentJobs(engine, loaded, jobs, options, done),
    ...(onQueue ? { remote: onQueue } : {}),
    ...(seg ? { archive: async (segmenter: Segmenter, jobs: Job[], results: SegmentResult[]) => wrote(await archiveSegmentations(jobs, results, segmenter, seg), "segmentation", seg.dir) } : {}),
  });
  return emitSegmented(results as SegmentResult[], loaded, options, out);
}

/** A value in 0..1 given for `flag`, or `def`. */
function unitInterval(v: string | undefined, flag: string, def: number, what: string): number {
  const n = v === undefined ? def : Number(v);
  if (v?.trim() === "" || !(n >= 0 && n <= 1)) throw new UsageError(`${flag} expects ${what} in 0..1, got '${v}'`);
  return n;
}

async function detectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, DETECT_FLAGS);
  const v = values as Values<typeof DETECT_FLAGS>;
  if (v.help) {
    out(USAGE.detect);
    return 0;
  }
  const c = common(v, positionals, {
    ...(v.colors !== undefined ? { colors: v.colors } : {}),
    ...(v.detection !== undefined ? { detection: v.detection } : {}),
    ...(v["box-format"] !== undefined ? { box_format: v["box-format"] } : {}),
    ...(v["box-units"] !== undefined ? { box_units: v["box-units"] } : {}),
  });
  const options: DetectOptions = {
    model: v.model!, format: c.format, ...(v.boxes !== undefined ? { boxes: v.boxes } : {}),
    score: unitInterval(v.score, "--score", 0.5, "a score"), iou: unitInterval(v.iou, "--iou", 0.45, "an IoU"),
    maxBoxes: positiveInt(v["max-boxes"], "--max-boxes", 100)!, batch: c.batch, axis: c.axis, overrides: c.overrides,
  };
  const queue = await queueOf(v, positionals, [["--boxes", options.boxes]]);
  if (options.boxes !== undefined && !isS3(options.boxes)) await checkOutputFolder(options.boxes, "--boxes");
  const onQueue =
    queue === undefined
      ? undefined
      : async (jobs: Job[], tick: () => void) => {
          const { runOnQueue } = await import("../queue/producer.js");
          // The workers write the box images, so they need the folder the user meant, not one relative to their own.
          const { format: _format, ...settings } = { ...options, ...(options.boxes !== undefined ? { boxes: isS3(options.boxes) ? options.boxes : resolve(options.boxes) } : {}) };
          return runOnQueue(jobs, { url: queue, command: "detect", backend: c.backend, settings, skipExisting: false }, tick);
        };
  const { results } = await runCommand<Awaited<ReturnType<typeof loadDetector>>, DetectResult>(c, positionals, {
    setup: { command: "detect", backend: c.backend, options },
    load: (engine) => loadDetector(engine, options),
    local: (_engine, loaded, jobs, done) => detectJobs(loaded, jobs, options, done),
    ...(onQueue ? { remote: onQueue } : {}),
  });
  return emitDetected(results as DetectResult[], options, out);
}

/** A worker process of a run: the job file names its command, validated options and its share of the inputs. */
async function worker(file: string): Promise<number> {
  const job = JSON.parse(await readFile(file, "utf8")) as WorkerJob;
  const engine = await init({ backend: job.backend, threads: 1 });
  const line = (r: object[]) => process.stdout.write(`${JSON.stringify(r)}\n`);
  if (job.command === "segment") await segmentJobs(engine, await loadSegmenter(engine, job.options), job.jobs, job.options, line);
  else if (job.command === "detect") await detectJobs(await loadDetector(engine, job.options), job.jobs, job.options, line);
  else await classifyJobs(engine, await loadClassifier(engine, job.options), job.jobs, job.options, line);
  return 0;
}

async function infoCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { backend: "string", check: "boolean" });
  if (values.help) {
    out(USAGE.info);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("info takes a model file (with --check, one or more)");
  if (!values.check && positionals.length !== 1) throw new UsageError(`info takes one model file, got ${positionals.length}; --check takes several`);
  const engine = await init({ backend: backendOf(values.backend as string | undefined) });
  try {
    if (values.check) return (await check(engine, positionals, out)) > 0 ? 1 : 0;
    await info(engine, positionals[0], out);
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
  if (command === "detect") return detectCommand(rest);
  if (command === "quantize") return quantizeCommand(rest, out);
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
