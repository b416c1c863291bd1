import { appendFile, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Job as QueueJob, Queue, QueueEvents } from "bullmq";
import { FileError } from "../errors.js";
import { isS3 } from "../cli/inputs.js";
import type { Job } from "../cli/jobs.js";
import { writeAtomic } from "../cli/files.js";
import { QUEUE_NAME, connectionOf, quiet, watchRedis } from "./connection.js";
import type { VolumeInput } from "../cli/volumes.js";
import {
  type CommandName, type CommandResults, type CommandSettings, type JobRecord, type QueueResult as Result, inputFiles, inputHashOf, jobId, modelHashOf, sha256,
} from "./record.js";

export interface QueueRun<C extends CommandName> {
  url: string;
  command: C;
  backend: JobRecord["backend"];
  settings: CommandSettings[C] & { model: string };
  /**
   * A JSON-lines file that receives each input's results as they arrive, one line per input
   * ({ id, results }); with `skipExisting`, inputs whose lines are already there are not enqueued.
   */
  journal?: string;
  skipExisting: boolean;
}

// A failed job is tried this many times in all, with exponential back-off from one second.
const ATTEMPTS = 3;
// Finished jobs stay in Redis this long (about 2.3 KB each), so that a producer restarted within
// it finds their results; the journal (--out FILE.jsonl) keeps them for good.
const KEEP_SECONDS = 24 * 3600;
// Jobs added per round trip, and files read or job states asked for at once.
const CHUNK = 500;
// With no event for this long, the producer asks Redis for the state of the jobs it waits for.
const SWEEP_MS = 3000;

interface Line {
  id: string;
  results: Result[];
}

/**
 * Enqueues one job per input file and collects the results in input order. Each job's id is a
 * hash of its input and settings (record.ts), so an input given twice runs once and a restarted
 * producer finds the jobs its predecessor added, finished or not; jobs that failed in an earlier
 * run are tried again. Progress comes from the queue's events; a periodic look at the jobs' states
 * covers events missed while Redis was away.
 */
export async function runOnQueue<C extends CommandName>(jobs: Job[], q: QueueRun<C>, onJob: () => void): Promise<CommandResults[C][]> {
  const started = Date.now();
  const byInput: (Result[] | undefined)[] = jobs.map((j) => ("error" in j ? [{ file: j.file, error: j.error }] : undefined));
  const model = resolve(q.settings.model);
  const modelHash = await modelHashOf(model).catch((e: unknown) => {
    throw FileError.from(e, model, "read");
  });
  const heatmap = "heatmap" in q.settings && typeof q.settings.heatmap === "string" ? absolute(q.settings.heatmap) : undefined;
  // --skip-existing tells a worker to keep heatmaps already written; without heatmaps it is the
  // producer's alone (the journal), and must not give the same work another job id.
  const settings = { ...q.settings, model, ...(heatmap !== undefined ? { heatmap } : "skipExisting" in q.settings ? { skipExisting: false } : {}) };

  const waiting = new Map<string, { record: JobRecord; inputs: number[] }>();
  const records: (JobRecord | undefined)[] = new Array(jobs.length);
  const hash = async (i: number) => {
    const j = jobs[i];
    if ("error" in j) return;
    if ("s3" in j) {
      const { file, s3, name } = j;
      records[i] = { command: q.command, input: file, file, inputHash: sha256(s3.etag), model, modelHash, backend: q.backend, settings, s3, ...(name === undefined ? {} : { name }) };
      return;
    }
    if ("dicomweb" in j) {
      const { file, dicomweb, name } = j;
      records[i] = {
        command: q.command, input: file, file, inputHash: sha256(dicomweb.instances.join("\n")), model, modelHash, backend: q.backend, settings, dicomweb,
        ...(name === undefined ? {} : { name }),
      };
      return;
    }
    const input = resolve(j.file);
    const volume = "volume" in j ? absoluteVolume(j) : undefined;
    let inputHash: string;
    try {
      inputHash = await inputHashOf(inputFiles(input, volume));
    } catch (e) {
      const f = FileError.from(e, (e as { path?: string }).path ?? j.file, "read");
      byInput[i] = [{ file: j.file, error: `${f.name}: ${f.message}` }];
      return;
    }
    records[i] = {
      command: q.command, input, file: j.file, inputHash, model, modelHash, backend: q.backend, settings,
      ...(volume === undefined ? {} : { volume }), ...(j.name === undefined ? {} : { name: j.name }),
    };
  };
  for (let at = 0; at < jobs.length; at += CHUNK) await Promise.all(jobs.slice(at, at + CHUNK).map((_, k) => hash(at + k)));
  for (const [i, record] of records.entries()) {
    if (record === undefined) continue;
    const id = jobId(record);
    const w = waiting.get(id);
    if (w) w.inputs.push(i);
    else waiting.set(id, { record, inputs: [i] });
  }
  for (const r of byInput) if (r !== undefined) onJob();

  const journal = q.journal;
  if (journal !== undefined) {
    const kept = q.skipExisting ? await previousLines(journal) : [];
    for (const line of kept) {
      const w = waiting.get(line.id);
      if (!w) continue;
      waiting.delete(line.id);
      settle(w.inputs, line.results);
    }
    // Rewritten whole, so that a line cut off by a killed run does not stay in the middle.
    await writeAtomic(journal, kept.map((l) => `${JSON.stringify(l)}\n`).join(""));
  }
  function settle(inputs: number[], results: Result[]) {
    for (const i of inputs) {
      byInput[i] = results.map((r) => ({ ...r, file: jobs[i].file }));
      onJob();
    }
  }
  if (waiting.size === 0) return byInput.flatMap((r) => r ?? []) as CommandResults[C][];

  const connection = connectionOf(q.url);
  const watch = watchRedis(connection, q.url, "producer");
  const queue = new Queue<JobRecord, Result[], string>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  quiet(queue, "producer");
  quiet(events, "producer");
  let appended = Promise.resolve();
  try {
    await events.waitUntilReady();
    let lastEvent = Date.now();
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const finish = (id: string, results: Result[]) => {
      const w = waiting.get(id);
      if (!w) return;
      waiting.delete(id);
      settle(w.inputs, results);
      if (journal !== undefined) appended = appended.then(() => appendFile(journal, `${JSON.stringify({ id, results } satisfies Line)}\n`));
      if (waiting.size === 0) done();
    };
    const failed = (id: string, reason: string) => {
      const w = waiting.get(id);
      if (w) finish(id, [{ file: w.record.file, error: reason }]);
    };
    events.on("completed", ({ jobId: id, returnvalue }) => {
      lastEvent = Date.now();
      finish(id, returnvalue as unknown as Result[]);
    });
    events.on("failed", ({ jobId: id, failedReason }) => {
      lastEvent = Date.now();
      failed(id, failedReason);
    });

    const add = async (ids: string[]) => {
      for (let at = 0; at < ids.length; at += CHUNK) {
        await queue.addBulk(
          ids.slice(at, at + CHUNK).map((id) => ({
            name: q.command,
            data: waiting.get(id)!.record,
            opts: { jobId: id, attempts: ATTEMPTS, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS } },
          })),
        );
      }
    };
    await add([...waiting.keys()]);

    // Jobs finished before the events were followed (by an earlier run, or just now) are read
    // from Redis; a job that failed in an earlier run is tried again, and one that Redis lost (a
    // server restarted without persistence) is added again.
    const sweep = async (first: boolean) => {
      const lost: string[] = [];
      const look = async (id: string) => {
        // The state first: a job read before it finished would show no result.
        const state = await queue.getJobState(id);
        if (state === "unknown") lost.push(id);
        if (state !== "completed" && state !== "failed") return;
        const job = await QueueJob.fromId<JobRecord, Result[]>(queue, id);
        if (!job) lost.push(id);
        else if (state === "completed") finish(id, job.returnvalue);
        else if (first && (job.finishedOn ?? 0) < started) await job.retry("failed");
        else failed(id, job.failedReason);
      };
      // Many at a time: the connection sends them without waiting for each answer.
      const ids = [...waiting.keys()];
      for (let at = 0; at < ids.length; at += CHUNK) await Promise.all(ids.slice(at, at + CHUNK).map(look));
      await add(lost.filter((id) => waiting.has(id)));
    };
    await sweep(true);
    let warned = false;
    while (waiting.size > 0) {
      const tick = new Promise<void>((r) => setTimeout(r, SWEEP_MS / 3).unref());
      await Promise.race([finished, tick]);
      if (waiting.size === 0 || Date.now() - lastEvent < SWEEP_MS) continue;
      lastEvent = Date.now();
      await sweep(false);
      if (!warned && waiting.size > 0 && (await queue.getWorkersCount()) === 0) {
        warned = true;
        process.stderr.write(`simdcnn: ${waiting.size} job${waiting.size === 1 ? "" : "s"} wait on the queue and no worker is connected; start \`simdcnn worker --queue ${q.url}\`\n`);
      }
    }
    await appended;
  } finally {
    await events.close();
    await queue.close();
    watch.close();
  }
  return byInput.flatMap((r) => r ?? []) as CommandResults[C][];
}

/** A folder made absolute, for workers whose working folder is another; a bucket's URL stays as it is. */
const absolute = (path: string) => (isS3(path) ? path : resolve(path));

/** A volume input with its paths made absolute, for a worker whose working folder is another. */
function absoluteVolume(v: VolumeInput): VolumeInput {
  const volume = v.volume.kind === "series" ? { ...v.volume, paths: v.volume.paths.map((p) => resolve(p)) } : v.volume;
  return { ...v, file: resolve(v.file), key: resolve(v.key), volume };
}

/** The journal's complete lines of inputs that did not fail; a file that does not exist yet has none. */
async function previousLines(path: string): Promise<Line[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw FileError.from(e, path, "read");
  }
  const lines: Line[] = [];
  for (const l of text.split("\n")) {
    try {
      const parsed = JSON.parse(l) as Line;
      // An input that failed is tried again: the cause may have been fixed since.
      if (typeof parsed.id === "string" && Array.isArray(parsed.results) && parsed.results.some((r) => !("error" in r))) lines.push(parsed);
    } catch {
      // A line cut short by a killed producer: its input is enqueued again (and found finished).
    }
  }
  return lines;
}
