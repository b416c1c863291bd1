import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../node.js";
import type { ClassifyOptions } from "./classify.js";
import type { DetectOptions } from "./detect.js";
import type { Job } from "./jobs.js";
import type { Failure } from "./output.js";
import type { SegmentOptions } from "./segment.js";

/** What every worker of a run is given: the command and its validated options. */
export type WorkerSetup = { backend: "auto" | Backend } & (
  | { command: "classify"; options: ClassifyOptions }
  | { command: "segment"; options: SegmentOptions }
  | { command: "detect"; options: DetectOptions }
);

/** What a worker process is given (as a JSON file named by SIMDCNN_JOB): the setup and its share of the jobs. */
export type WorkerJob = WorkerSetup & { jobs: Job[] };

/** The environment variable that makes this command a worker process of a run. */
export const WORKER_ENV = "SIMDCNN_JOB";

/**
 * Runs jobs in `processes` worker processes of this command, each with a single-threaded
 * engine and a contiguous share of the jobs, and returns their results in input order. For a
 * folder of slices this beats one process with threaded kernels (bench/slices.ts), because
 * reading and preparing the slices is most of the work and only processes run it in parallel.
 * The options were validated, and the model loaded once, by the caller: a worker meets only
 * problems of its own inputs, or dies; then its unfinished jobs get its last words.
 */
export async function runInProcesses<R extends object>(jobs: Job[], processes: number, setup: WorkerSetup, onJob: () => void): Promise<(R | Failure)[]> {
  // Inputs that yield no file (a glob without matches) are answered here, not by a worker.
  const byJob: (R | Failure)[][] = jobs.map((j) => ("error" in j ? [{ file: j.file, error: j.error }] : []));
  const files = jobs.flatMap((j, at) => ("error" in j ? [] : [{ job: j, at }]));
  for (const j of jobs) if ("error" in j) onJob();
  const dir = mkdtempSync(join(tmpdir(), "simdcnn-processes-"));
  try {
    // Contiguous shares of about equal work: a file counts as one slice, a volume's slab as its slices.
    const weight = (j: Job) => ("volume" in j ? (j.slab ? j.slab[1] - j.slab[0] : j.count) : 1);
    const total = files.reduce((n, f) => n + weight(f.job), 0);
    const shares: (typeof files)[] = Array.from({ length: processes }, () => []);
    let done = 0;
    for (const f of files) {
      shares[Math.min(processes - 1, Math.floor((done * processes) / total))].push(f);
      done += weight(f.job);
    }
    await Promise.all(
      shares.filter((share) => share.length > 0).map(async (share, i) => {
        const file = join(dir, `job-${i}.json`);
        writeFileSync(file, JSON.stringify({ ...setup, jobs: share.map((f) => f.job) } satisfies WorkerJob));
        const results = await worker<R>(share.map((f) => f.job), file, onJob);
        share.forEach((f, k) => (byJob[f.at] = results[k]));
      }),
    );
    return byJob.flat();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A worker writes one JSON line per job, the job's results, as soon as the job is done; the
// promise gives each job of the share its results.
function worker<R>(share: Job[], file: string, onJob: () => void): Promise<(R | Failure)[][]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]], {
      env: { ...process.env, [WORKER_ENV]: file },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const results: (R | Failure)[][] = [];
    let partial = "";
    let err = "";
    let ended = false;
    const finish = (why: string) => {
      if (ended) return;
      ended = true;
      const rest = share.slice(results.length).map((j) => [{ file: j.file, error: `worker process failed: ${why}` }]);
      for (const _ of rest) onJob();
      resolve([...results, ...rest]);
    };
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (ended) return;
      const lines = (partial + d).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          parsed = undefined;
        }
        // Anything else on the worker's stdout means it is not the process this protocol expects.
        if (!Array.isArray(parsed)) {
          child.kill();
          finish(`it wrote a line that is not a result: ${line.slice(0, 200)}`);
          return;
        }
        results.push(parsed as (R | Failure)[]);
        onJob();
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", (e) => finish(e.message));
    child.on("close", (code, signal) => finish(lastWords(err) ?? (signal ? `killed by ${signal}` : `exit code ${code}`)));
  });
}

/** The error a worker reported before dying: its `simdcnn: ...` line, or the first line of an uncaught error. */
export function lastWords(stderr: string): string | undefined {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const ours = lines.filter((l) => l.startsWith("simdcnn: ")).at(-1);
  if (ours) return ours.slice("simdcnn: ".length);
  return lines.find((l) => /^[A-Za-z]*Error\b/.test(l)) ?? lines[0];
}
