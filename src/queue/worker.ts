import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { type Job as QueueJob, UnrecoverableError, Worker } from "bullmq";
import { type Backend, type Engine, init } from "../node.js";
import { type ClassifyOptions, classifyJobs, loadClassifier } from "../cli/classify.js";
import { type DetectOptions, detectJobs, loadDetector } from "../cli/detect.js";
import { fetchSeriesJobs } from "../cli/dicomweb.js";
import { isS3 } from "../cli/inputs.js";
import type { Job, Loaded } from "../cli/jobs.js";
import type { Axis } from "../io/volume.js";
import type { Failure } from "../cli/output.js";
import { type SegmentOptions, loadSegmenter, segmentJobs } from "../cli/segment.js";
import { QUEUE_NAME, connectionOf, quiet, watchRedis } from "./connection.js";
import { type JobRecord, type QueueResult, inputFiles, inputHashOf, modelHashOf } from "./record.js";

export interface WorkerSettings {
  url: string;
  /** Kernel threads of the worker's engine. */
  threads: number;
  /** How long a job held by a worker that died waits before another worker takes it. */
  stallSeconds: number;
}

// Jobs a worker holds at once: enough to fill the CLI's default batch of 8 slices, so a worker
// runs the model on batches as the local command does, and reads the next files while it waits
// for Redis. A worker that dies returns all of them to the queue after stall detection.
const HELD = 8;

interface Held {
  record: JobRecord;
  resolve(r: QueueResult[]): void;
  reject(e: Error): void;
}

/**
 * Runs `simdcnn worker`: takes jobs from the queue until SIGINT or SIGTERM, runs each with the
 * command's own code path (classifyJobs, segmentJobs), and completes it with its result lines, which BullMQ
 * stores once: only the worker holding a job's lock can complete it, so a job retried after its
 * worker stalled is completed by one of the two, never both. Models are loaded once per worker,
 * cached by command, content hash and settings.
 */
export async function runWorker(s: WorkerSettings): Promise<number> {
  const connection = connectionOf(s.url);
  const watch = watchRedis(connection, s.url, "worker");
  const engines = new Map<string, Promise<Engine>>();
  const models = new Map<string, Promise<Loaded>>();
  const engineFor = (backend: "auto" | Backend) => {
    if (!engines.has(backend)) engines.set(backend, init({ backend, threads: s.threads }));
    return engines.get(backend)!;
  };
  const modelFor = async <L extends Loaded>(r: JobRecord, overrides: unknown, load: (engine: Engine) => Promise<L>): Promise<L> => {
    const key = JSON.stringify([r.command, r.backend, r.modelHash, overrides]);
    if (!models.has(key)) {
      const loading = (async () => {
        // The model on this machine must be the one the job was enqueued with.
        const hash = await modelHashOf(r.model);
        if (hash !== r.modelHash) throw new UnrecoverableError(`the model ${r.model} on this worker differs from the one the job was enqueued with`);
        return load(await engineFor(r.backend));
      })();
      models.set(key, loading);
      // A model that failed to load is not cached: the file may be fixed or reach this machine later.
      loading.catch(() => models.delete(key));
    }
    return models.get(key)! as Promise<L>;
  };

  const held: Held[] = [];
  let running: Promise<void> | undefined;
  const drain = async () => {
    while (held.length > 0) {
      const group = held.splice(0, held.length);
      // Jobs with the same model and settings run together, in batches.
      const bySettings = new Map<string, Held[]>();
      for (const h of group) {
        const key = JSON.stringify([h.record.command, h.record.backend, h.record.modelHash, h.record.settings]);
        bySettings.set(key, [...(bySettings.get(key) ?? []), h]);
      }
      for (const jobs of bySettings.values()) await runGroup(jobs);
    }
    running = undefined;
  };
  // Loads (or finds) the model of a group of jobs with the same command and settings, and gives
  // the command's job path over it, its outputs written below `out` when that is given (for
  // outputs that go to a bucket); undefined for a command this worker does not know.
  type Run = (engine: Engine, jobs: Job[], done: (r: QueueResult[]) => void) => Promise<void>;
  const commandOf = (r: JobRecord, out: string | undefined): (() => Promise<Run>) | undefined => {
    if (r.command === "classify") {
      const settings = (r as JobRecord<"classify">).settings;
      const options: ClassifyOptions = { ...settings, format: "json", ...(out !== undefined ? { heatmap: out } : {}) };
      return async () => {
        const classifier = await modelFor(r, options.overrides, (engine) => loadClassifier(engine, options));
        return (engine, jobs, done) => classifyJobs(engine, classifier, jobs, options, done);
      };
    }
    if (r.command === "segment") {
      const options: SegmentOptions = { ...(r as JobRecord<"segment">).settings, format: "json", ...(out !== undefined ? { out } : {}) };
      return async () => {
        const segmenter = await modelFor(r, options.overrides, (engine) => loadSegmenter(engine, options));
        return (engine, jobs, done) => segmentJobs(engine, segmenter, jobs, options, done);
      };
    }
    if (r.command === "detect") {
      const options: DetectOptions = { ...(r as JobRecord<"detect">).settings, format: "json", ...(out !== undefined ? { boxes: out } : {}) };
      return async () => {
        const detector = await modelFor(r, options.overrides, (engine) => loadDetector(engine, options));
        return (_engine, jobs, done) => detectJobs(detector, jobs, options, done);
      };
    }
    return undefined;
  };
  let s3: Promise<typeof import("./s3.js") & { client: import("@aws-sdk/client-s3").S3Client }> | undefined;
  // The S3 client, loaded with the SDK the first time a job needs it.
  const bucket = () => (s3 ??= import("./s3.js").then((m) => ({ ...m, client: m.s3Client() })));
  const runGroup = async (group: Held[]) => {
    const scratch = await mkdtemp(join(tmpdir(), "simdcnn-worker-"));
    try {
      await runIn(scratch, group);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
  const runIn = async (scratch: string, group: Held[]) => {
    const r0 = group[0].record;
    const settings = r0.settings as { heatmap?: string; out?: string; boxes?: string };
    const outUrl = r0.command === "classify" ? settings.heatmap : r0.command === "detect" ? settings.boxes : settings.out;
    // Outputs bound for a bucket are written here first and put there when their job is done.
    const s3Out = isS3(outUrl) ? { url: outUrl, dir: join(scratch, "out") } : undefined;
    const prepare = commandOf(r0, s3Out?.dir);
    if (prepare === undefined) {
      for (const h of group) h.reject(new UnrecoverableError(`this worker does not run the command '${String(h.record.command)}'`));
      return;
    }
    let run: Run;
    try {
      run = await prepare();
    } catch (e) {
      for (const h of group) h.reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const engine = await engineFor(r0.backend);
    // Each held job's command jobs (a PACS series fetched here may be a volume and loose files),
    // and how to put the input's URL in place of the folder or file it was fetched into.
    const ready: { h: Held; jobs: Job[]; relabel(text: string): string }[] = [];
    for (const [n, h] of group.entries()) {
      const r = h.record;
      const at = join(scratch, `in-${n}`);
      try {
        if (r.dicomweb !== undefined) {
          const warn = (w: string) => process.stderr.write(`simdcnn worker: warning: ${w}\n`);
          const series = await fetchSeriesJobs(r.dicomweb, at, (r.settings as { axis: Axis }).axis, r.name ?? "series", warn);
          if (series.jobs.length === 0) throw new Error(`${r.file}: the server sent nothing to read`);
          ready.push({ h, ...series });
          continue;
        }
        if (r.s3 !== undefined) {
          const { client, getObject } = await bucket();
          const { bytes, etag } = await getObject(client, r.s3);
          if (etag !== r.s3.etag) throw new UnrecoverableError(`${r.file} changed after it was enqueued`);
          // Under its own base name, which the command reads for its format.
          const file = join(at, r.s3.key.split("/").pop()!);
          await mkdir(at);
          await writeFile(file, bytes);
          ready.push({ h, jobs: [{ file, ...(r.name === undefined ? {} : { name: r.name }) }], relabel: (text) => text.replaceAll(file, r.file) });
          continue;
        }
      } catch (e) {
        h.reject(e instanceof Error ? e : new Error(String(e)));
        continue;
      }
      const hash = await inputHashOf(inputFiles(r.input, r.volume)).catch(() => undefined);
      // An unreadable file is the command's to report; a changed one would give another result under this job's id.
      if (hash !== undefined && hash !== r.inputHash) h.reject(new UnrecoverableError(`${r.file} changed after it was enqueued`));
      else ready.push({ h, jobs: [{ ...(r.volume ?? { file: r.input }), ...(r.name === undefined ? {} : { name: r.name }) }], relabel: (text) => text });
    }
    const jobs = ready.flatMap((x) => x.jobs);
    let next = 0;
    let lines: QueueResult[] = [];
    let taken = 0;
    // Results are handed back once the job's outputs are where they belong, in job order.
    let settled = Promise.resolve();
    const settle = (h: Held, named: QueueResult[]) => {
      settled = settled.then(async () => {
        const errors = named.filter((r): r is Failure => "error" in r);
        // An input none of whose slices could be read fails its job, so BullMQ retries it (a
        // shared filesystem can fail for a moment) and then reports it failed with the reason.
        if (errors.length === named.length) return h.reject(new Error(errors[0]?.error ?? "no slices"));
        try {
          if (s3Out !== undefined) await putOutputs(s3Out);
          h.resolve(named);
        } catch (e) {
          h.reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    };
    const putOutputs = async (o: { url: string; dir: string }) => {
      const { client, putObject, s3Location } = await bucket();
      const { bucket: name, prefix } = s3Location(o.url, "the job's output");
      for (const f of await readdir(o.dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
        if (!f.isFile()) continue;
        const path = join(f.parentPath, f.name);
        const key = [prefix.replace(/\/+$/, ""), relative(o.dir, path).split(sep).join("/")].filter(Boolean).join("/");
        await putObject(client, name, key, await readFile(path), f.name.endsWith(".png") ? "image/png" : "application/octet-stream");
        // Put once: the next job's outputs are what is left in the folder.
        await rm(path);
      }
    };
    const outLabel = (text: string) => (s3Out === undefined ? text : text.replaceAll(s3Out.dir, s3Out.url.replace(/\/+$/, "")));
    try {
      await run(engine, jobs, (results) => {
        const { h, relabel } = ready[next];
        const label = (v: unknown) => (typeof v === "string" ? outLabel(relabel(v)) : v);
        lines.push(...results.map((r) => ({ ...(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, label(v)])) as unknown as QueueResult), file: h.record.file })));
        if (++taken < ready[next].jobs.length) return;
        next++;
        taken = 0;
        settle(h, lines);
        lines = [];
      });
    } catch (e) {
      for (const { h } of ready.slice(next)) h.reject(e instanceof Error ? e : new Error(String(e)));
    }
    await settled;
  };

  const worker = new Worker<JobRecord, QueueResult[]>(
    QUEUE_NAME,
    (job: QueueJob<JobRecord>) =>
      new Promise<QueueResult[]>((resolve, reject) => {
        held.push({ record: job.data, resolve, reject });
        // The next turn of the event loop, so that jobs fetched together run as one batch.
        running ??= new Promise<void>((go) => setImmediate(go)).then(drain);
      }),
    {
      connection,
      // Each job then names the worker that ran it (BullMQ's processedBy), for whoever traces one.
      name: workerName(),
      concurrency: HELD,
      lockDuration: s.stallSeconds * 1000,
      stalledInterval: (s.stallSeconds * 1000) / 2,
      maxStalledCount: 2,
    },
  );
  quiet(worker, "worker");
  // Each failed attempt is said where the worker runs, for whoever watches it.
  worker.on("failed", (job, e) => {
    if (job) process.stderr.write(`simdcnn worker: ${job.data.file}: attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1} failed: ${e.message}\n`);
  });
  await worker.waitUntilReady();
  process.stderr.write(`simdcnn worker: ready (pid ${process.pid}, ${s.threads} thread${s.threads === 1 ? "" : "s"})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.stderr.write("simdcnn worker: finishing the jobs it holds, then stopping\n");
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await worker.close();
  // The jobs' results are handed back before their scratch folder is removed: wait for that too.
  await running;
  watch.close();
  for (const [, m] of models) (await m.catch(() => undefined))?.model.dispose();
  for (const [, e] of engines) (await e).dispose();
  return 0;
}

/** This worker process as jobs name it: host and process id. */
export const workerName = (pid = process.pid): string => `${hostname()}:${pid}`;
