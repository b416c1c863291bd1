// The queue path (src/queue/) against a real redis-server on a free local port: a producer and 3
// worker processes classify a few hundred generated slices and a few bad files while the test
// kills the first producer (SIGKILL) after it enqueued, restarts Redis (which, without
// persistence, loses every job) and SIGKILLs a worker mid-run. Every input must still get exactly
// one result, identical to a single-process `simdcnn classify` run of the same files, the bad
// files must be reported with the local run's reasons, and a producer run again afterwards must
// find the results without a worker running anything again.
//
// A second, smaller case runs `simdcnn segment --queue` on 2 workers: the same masks and JSON
// lines as a local `simdcnn segment --json`, the bad file reported with the local run's reason.
// A third gives the queue volumes: a DICOM series long enough to be cut into slabs (one job
// each) and a NIfTI volume cut along another axis, with the lines of a local run. A fourth reads
// slices from and writes heatmaps to a bucket of a real S3-compatible server (s3rver, from npm,
// started here on a free port and stopped by PID). A fifth runs `simdcnn detect --queue` with
// the phantom detector: the box images and lines of a local run.
//
// Without redis-server the tests are skipped with a message; SIMDCNN_REQUIRE_REDIS=1 (.ci/run)
// makes its absence a failure.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Queue } from "bullmq";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layers } from "../src/node.js";
import { networkGraph } from "../src/layers/layers.js";
import { encodeModel } from "../src/onnx/encode.js";
import { workerName } from "../src/queue/worker.js";
import { COMMAND } from "./cli-run.js";
import { Rng } from "./reference.js";
import { REDIS, REDIS_REQUIRED, Redis, freePort, redisPresent } from "./servers.js";
import { SERIES, type SeriesSpec } from "./fixtures/volumes/geometry.js";
import { seriesFiles } from "./fixtures/volumes/make.js";

const REQUIRED = REDIS_REQUIRED;
const present = redisPresent;
if (!present && !REQUIRED) console.warn(`test/queue.test.ts: SKIPPED, no redis-server at ${REDIS} (apt-get install redis-server; SIMDCNN_REQUIRE_REDIS=1 makes this a failure)`);

const ROOT = new URL("..", import.meta.url).pathname;
const MODEL = join(ROOT, "examples/phantom/phantom.onnx");
const NIFTI = join(ROOT, "test/fixtures/volumes/nifti/volume.nii.gz");
const SLICES = 300;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}
interface Proc {
  child: ChildProcess;
  exited: Promise<Exit>;
  stderr(): string;
}

const started: Proc[] = [];

/** The command as a single Node process, so that a signal reaches the command itself. */
function simdcnn(args: string[]): Proc {
  // A worker's scratch folders go below the test's folder: a worker killed here cannot remove its own.
  const scratch = join(dir, "scratch");
  mkdirSync(scratch, { recursive: true });
  const child = spawn(process.execPath, [COMMAND, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: scratch } });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<Exit>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  const p = { child, exited, stderr: () => stderr };
  started.push(p);
  return p;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; what the processes said:\n${said()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last lines each started process wrote on stderr, for a timeout to say where things stood. */
const said = () => started.map((p, i) => `[${i}: ${p.child.spawnargs.slice(2, 4).join(" ")}] ${p.stderr().split("\n").slice(-8).join("\n  ")}`).join("\n");

let dir: string;
let port: number;
let redis: Redis;

function png(rng: Rng, size: number): Buffer {
  const p = new PNG({ width: size, height: size, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const cx = rng.int(8, size - 8);
  const cy = rng.int(8, size - 8);
  const bright = rng.next() < 0.5;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const disc = bright && (x - cx) ** 2 + (y - cy) ** 2 < 16 ? 120 : 0;
      p.data[y * size + x] = Math.min(255, 60 + disc + rng.int(0, 40));
    }
  }
  return PNG.sync.write(p, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}

const journalLines = (file: string): { id: string; results: unknown[] }[] =>
  existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; results: unknown[] }) : [];

describe.skipIf(!present && !REQUIRED)("simdcnn classify --queue and simdcnn worker", () => {
  beforeAll(async () => {
    if (!present) throw new Error(`SIMDCNN_REQUIRE_REDIS=1 but there is no redis-server at ${REDIS} (apt-get install redis-server)`);
    dir = mkdtempSync(join(tmpdir(), "simdcnn-queue-"));
    const slices = join(dir, "slices");
    mkdirSync(slices);
    const rng = new Rng(19);
    for (let i = 0; i < SLICES; i++) writeFileSync(join(slices, `s-${String(i).padStart(3, "0")}.png`), png(rng, 32));
    // Three poison inputs: not an image, a PNG cut short, an empty DICOM.
    writeFileSync(join(slices, "bad-garbage.png"), "this is not an image");
    writeFileSync(join(slices, "bad-truncated.png"), png(rng, 32).subarray(0, 60));
    writeFileSync(join(slices, "bad-empty.dcm"), "");
    port = await freePort();
    redis = new Redis(port, join(dir, "redis"));
    await redis.start();
  });

  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await Promise.all(started.map((p) => p.exited));
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives every input exactly one result, as a local run does, through a killed producer, a restarted Redis and a killed worker", async () => {
    const url = `redis://127.0.0.1:${port}/0`;
    const slices = join(dir, "slices");
    const journal = join(dir, "results.jsonl");
    const inputs = SLICES + 3;
    // The slices folder and one of its files again: an input named twice runs once.
    const args = ["classify", "--model", MODEL, "--json", slices, join(slices, "s-007.png")];

    const local = simdcnn([...args, "--threads", "1"]);
    const reference = await local.exited;
    expect(reference.code, reference.stderr).toBe(1);
    const expected = JSON.parse(reference.stdout) as { file: string; error?: string }[];
    expect(expected).toHaveLength(inputs);
    expect(expected.filter((r) => r.error !== undefined).map((r) => r.file).sort()).toEqual(["bad-empty.dcm", "bad-garbage.png", "bad-truncated.png"].map((f) => join(slices, f)));

    const queue = new Queue("simdcnn", { connection: { host: "127.0.0.1", port, maxRetriesPerRequest: null } });
    queue.on("error", () => {});
    try {
      // A producer with no worker yet enqueues everything and is killed while it waits.
      const first = simdcnn([...args, "--queue", url, "--out", journal]);
      await until("the first producer to enqueue every input", async () => (await queue.getWaitingCount()) === inputs);
      first.child.kill("SIGKILL");
      expect((await first.exited).signal).toBe("SIGKILL");

      const workers = [0, 1, 2].map(() => simdcnn(["worker", "--queue", url, "--stall-seconds", "2"]));
      const second = simdcnn([...args, "--queue", url, "--out", journal, "--skip-existing"]);
      await until("a third of the results", () => journalLines(journal).length >= inputs / 3);
      // The second producer found the first one's jobs: it added none.
      const counts = await queue.getJobCounts();
      expect(Object.values(counts).reduce((a, b) => a + b, 0), JSON.stringify(counts)).toBe(inputs);

      // Redis goes away (and, without persistence, comes back empty): everyone waits and says so.
      await redis?.stop();
      await until("the producer to notice", () => /producer: Redis at .* is unreachable/.test(second.stderr()), 20_000);
      await redis.start();
      await until("the producer to reconnect", () => /producer: Redis at .* is back/.test(second.stderr()), 20_000);
      const before = journalLines(journal).length;
      await until("more results after the restart", () => journalLines(journal).length >= before + 20);

      // A worker dies mid-run, holding jobs: frozen first, so that the jobs seen active on it are
      // still its own when it is killed.
      const doomed = workers[0].child;
      await until("the first worker to hold a job", async () => {
        doomed.kill("SIGSTOP");
        if ((await queue.getActive()).some((j) => j.processedBy === workerName(doomed.pid))) return true;
        doomed.kill("SIGCONT");
        return false;
      });
      const atKill = journalLines(journal).length;
      doomed.kill("SIGKILL");
      expect((await workers[0].exited).signal).toBe("SIGKILL");
      expect(atKill).toBeLessThan(inputs);

      const run = await second.exited;
      expect(run.code, run.stderr).toBe(1);
      expect(JSON.parse(run.stdout)).toEqual(expected);

      // The journal holds one line per distinct input, each with the local run's results.
      const lines = journalLines(journal);
      expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
      expect(lines).toHaveLength(inputs);
      const byFile = new Map(expected.map((r) => [r.file, r]));
      for (const l of lines) for (const r of l.results as { file: string }[]) expect(r).toEqual(byFile.get(r.file));

      // The killed worker held jobs: the stall check gave them to another worker. (Jobs finished
      // before Redis restarted are gone from it; the producer had their results already.)
      const jobs = [...(await queue.getCompleted(0, -1)), ...(await queue.getFailed(0, -1))];
      expect(jobs.some((j) => j.stalledCounter > 0)).toBe(true);
      for (const j of await queue.getFailed(0, -1)) expect(j.attemptsMade).toBe(3);

      // A producer run again finds the results Redis has kept: no completed job runs again
      // (the jobs Redis lost in its restart do, and failed ones are tried again).
      const finished = new Map((await queue.getCompleted(0, -1)).map((j) => [j.id, j.finishedOn]));
      const again = await simdcnn([...args, "--queue", url]).exited;
      expect(again.code, again.stderr).toBe(1);
      expect(JSON.parse(again.stdout)).toEqual(expected);
      for (const j of await queue.getCompleted(0, -1)) if (finished.has(j.id)) expect(j.finishedOn).toBe(finished.get(j.id));

      for (const w of workers.slice(1)) w.child.kill("SIGTERM");
      for (const w of workers.slice(1)) expect((await w.exited).code).toBe(0);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("segments on the queue's workers: the masks and lines of a local run", async () => {
    // 3 classes (NHWC) on the 2x2 max-pooled input: background 0.5 - v, bright v - 0.5, never -1.
    const x = layers.input([16, 16, 1]);
    let t = layers.maxPool2d({ kernel: 2 }).apply(x);
    t = layers.conv2d({ filters: 3, kernel: 1, weights: Float32Array.of(-1, 1, 0), bias: Float32Array.of(0.5, -0.5, -1) }).apply(t);
    const g = networkGraph([x], [t]);
    g.metadata = { "simdcnn:labels": '["background","bright","never"]' };
    const model = join(dir, "fcn.onnx");
    writeFileSync(model, encodeModel(g));
    const slices = join(dir, "seg-slices");
    mkdirSync(slices);
    const rng = new Rng(20);
    for (let i = 0; i < 6; i++) writeFileSync(join(slices, `m-${i}.png`), png(rng, i % 2 === 0 ? 32 : 48));
    writeFileSync(join(slices, "bad-garbage.png"), "this is not an image");
    const masks = join(dir, "masks");
    const args = ["segment", "--model", model, "--json", "--out", masks, slices];
    const readMasks = () => new Map(readdirSync(masks).sort().map((f) => [f, readFileSync(join(masks, f))]));

    const local = await simdcnn([...args, "--threads", "1"]).exited;
    expect(local.code, local.stderr).toBe(1);
    const expected = JSON.parse(local.stdout) as { file: string; mask?: string; error?: string }[];
    expect(expected.map((r) => r.error === undefined)).toEqual([false, true, true, true, true, true, true]);
    const expectedMasks = readMasks();
    expect([...expectedMasks.keys()]).toEqual([0, 1, 2, 3, 4, 5].map((i) => `m-${i}.mask.png`));
    rmSync(masks, { recursive: true });

    // Database 1: none of the first case's jobs.
    const url = `redis://127.0.0.1:${port}/1`;
    const workers = [0, 1].map(() => simdcnn(["worker", "--queue", url, "--stall-seconds", "2"]));
    const run = await simdcnn([...args, "--queue", url]).exited;
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual(expected);
    expect(readMasks()).toEqual(expectedMasks);
    for (const w of workers) w.child.kill("SIGTERM");
    for (const w of workers) expect((await w.exited).code).toBe(0);
  }, 60_000);

  it("runs a series' slabs and a NIfTI volume along an axis as jobs, with the lines of a local run", async () => {
    const s: SeriesSpec = { ...SERIES[1], folder: "long", uid: "1.2.826.0.1.3680043.10.1177.19", slices: 70 };
    const series = join(dir, "long");
    mkdirSync(series);
    for (const f of seriesFiles(s)) writeFileSync(join(series, f.name), f.bytes);
    const run = async (axis: string, extra: string[]) => {
      const r = await simdcnn(["classify", "--model", MODEL, "--json", "--axis", axis, ...extra, series, NIFTI]).exited;
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { file: string; series?: string; slice?: number }[];
    };
    const url = `redis://127.0.0.1:${port}/2`;
    const queue = new Queue("simdcnn", { connection: { host: "127.0.0.1", port, db: 2, maxRetriesPerRequest: null } });
    queue.on("error", () => {});
    const workers = [0, 1].map(() => simdcnn(["worker", "--queue", url, "--stall-seconds", "2"]));
    try {
      for (const axis of ["axial", "coronal"]) {
        const expected = await run(axis, ["--threads", "1"]);
        expect(expected.filter((r) => r.file === series).map((r) => r.slice)).toEqual([...Array(axis === "axial" ? 70 : s.rows).keys()]);
        expect(await run(axis, ["--queue", url])).toEqual(expected);
      }
      // Each volume's jobs are slabs that tile its slices; the series' 70 along its stack are two.
      const tiles = new Map<string, [number, number][]>();
      for (const j of await queue.getCompleted(0, -1)) {
        const { input, settings, volume } = j.data as { input: string; settings: { axis: string }; volume?: { slab: [number, number]; count: number } };
        expect(volume, input).toBeDefined();
        const key = `${input} ${settings.axis} ${volume!.count}`;
        tiles.set(key, [...(tiles.get(key) ?? []), volume!.slab]);
      }
      expect(tiles.size).toBe(4);
      for (const [key, slabs] of tiles) {
        const count = Number(key.split(" ")[2]);
        slabs.sort((a, b) => a[0] - b[0]);
        expect(slabs.flat(), key).toEqual([0, ...slabs.slice(1).flatMap((x) => [x[0], x[0]]), count]);
        for (const [a, b] of slabs) expect(b - a === count || b - a >= 32, key).toBe(true);
      }
      expect(tiles.get(`${series} axial 70`)).toEqual([[0, 35], [35, 70]]);
    } finally {
      await queue.close();
      for (const w of workers) w.child.kill("SIGTERM");
      for (const w of workers) expect((await w.exited).code).toBe(0);
    }
  }, 120_000);

  it("reads slices from a bucket and writes heatmaps to it: the lines and heatmaps of a local run", async () => {
    const s3port = await freePort();
    const data = join(dir, "s3");
    mkdirSync(data);
    const s3rver = spawn(join(ROOT, "node_modules/.bin/s3rver"), ["-d", data, "-a", "127.0.0.1", "-p", String(s3port), "-s", "--configure-bucket", "scans"], { stdio: "ignore" });
    const endpoint = `http://127.0.0.1:${s3port}`;
    const env = { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" };
    Object.assign(process.env, env);
    const client = new S3Client({ endpoint, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    const url = `redis://127.0.0.1:${port}/3`;
    const workers: Proc[] = [];
    try {
      await until("s3rver to answer", () => fetch(`${endpoint}/scans`).then((r) => r.ok, () => false), 20_000);
      const files = join(dir, "bucket-files");
      mkdirSync(join(files, "in"), { recursive: true });
      const rng = new Rng(21);
      const names = ["a.png", "b.png", "deep/c.png", "bad.png"];
      for (const n of names) {
        const bytes = n === "bad.png" ? Buffer.from("not an image") : png(rng, 32);
        mkdirSync(join(files, "in", n, ".."), { recursive: true });
        writeFileSync(join(files, "in", n), bytes);
        await client.send(new PutObjectCommand({ Bucket: "scans", Key: `in/${n}`, Body: bytes }));
      }
      await client.send(new PutObjectCommand({ Bucket: "scans", Key: "in/notes.txt", Body: "not a slice" }));
      const heat = join(dir, "bucket-heat");
      const local = await simdcnn(["classify", "--model", MODEL, "--json", "--threads", "1", "--heatmap", heat, join(files, "in")]).exited;
      expect(local.code, local.stderr).toBe(1);
      const toBucket = (text: string) => text.replaceAll(join(files, "in"), "s3://scans/in").replaceAll(heat, "s3://scans/heat");
      const expected = (JSON.parse(local.stdout) as Record<string, unknown>[]).map((r) => JSON.parse(toBucket(JSON.stringify(r))) as Record<string, unknown>);
      expect(expected.map((r) => r.file)).toEqual(["a.png", "b.png", "bad.png", "deep/c.png"].map((n) => `s3://scans/in/${n}`));

      const refused = await simdcnn(["classify", "--model", MODEL, "s3://scans/in/"]).exited;
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("an input 's3://scans/in/' is in a bucket, which only queue workers read and write: add --queue");

      // Heat maps keep a worker busy for seconds without a turn of its event loop, where BullMQ renews
      // its locks: the default stall time, as no worker is killed here.
      workers.push(...[0, 1].map(() => simdcnn(["worker", "--queue", url])));
      const run = await simdcnn(["classify", "--model", MODEL, "--json", "--queue", url, "--heatmap", "s3://scans/heat", "s3://scans/in/"]).exited;
      expect(run.code, run.stderr).toBe(1);
      expect(JSON.parse(run.stdout)).toEqual(expected);
      for (const n of ["a", "b", "deep/c"]) {
        const o = await client.send(new GetObjectCommand({ Bucket: "scans", Key: `heat/${n}.png` }));
        expect(Buffer.from(await o.Body!.transformToByteArray()).equals(readFileSync(join(heat, `${n}.png`))), n).toBe(true);
      }
    } finally {
      for (const w of workers) w.child.kill("SIGTERM");
      for (const w of workers) await w.exited;
      client.destroy();
      for (const k of Object.keys(env)) delete process.env[k];
      const gone = new Promise((r) => s3rver.once("exit", r));
      process.kill(s3rver.pid!, "SIGTERM");
      await gone;
    }
  }, 120_000);

  it("detects on the queue's workers: the box images and lines of a local run", async () => {
    const model = join(ROOT, "examples/phantom-detect/phantom-detect.onnx");
    const slices = join(dir, "detect-slices");
    mkdirSync(slices);
    for (const f of ["slice-90000-normal.png", "slice-90001-lesion.png", "slice-90003-lesion.png"]) copyFileSync(join(ROOT, "examples/phantom/samples", f), join(slices, f));
    writeFileSync(join(slices, "bad-garbage.png"), "this is not an image");
    const boxes = join(dir, "boxes");
    const args = ["detect", "--model", model, "--json", "--boxes", boxes, slices];
    const readBoxes = () => new Map(readdirSync(boxes).sort().map((f) => [f, readFileSync(join(boxes, f))]));

    const local = await simdcnn([...args, "--threads", "1"]).exited;
    expect(local.code, local.stderr).toBe(1);
    const expected = JSON.parse(local.stdout) as { error?: string; detections?: unknown[] }[];
    // The bad file first (names sort), then no box on the normal slice and one on each lesion slice.
    expect(expected.map((r) => (r.error === undefined ? r.detections!.length : "error"))).toEqual(["error", 0, 1, 1]);
    expect(expected[0].error).toMatch(/^InputFormatError/);
    const expectedBoxes = readBoxes();
    expect(expectedBoxes.size).toBe(3);
    rmSync(boxes, { recursive: true });

    // Database 4: none of the other cases' jobs.
    const url = `redis://127.0.0.1:${port}/4`;
    const workers = [0, 1].map(() => simdcnn(["worker", "--queue", url, "--stall-seconds", "2"]));
    const run = await simdcnn([...args, "--queue", url]).exited;
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual(expected);
    expect(readBoxes()).toEqual(expectedBoxes);
    for (const w of workers) w.child.kill("SIGTERM");
    for (const w of workers) expect((await w.exited).code).toBe(0);
  }, 60_000);

  it("refuses a --queue URL that is not redis://", async () => {
    const r = await simdcnn(["classify", "--model", MODEL, "--queue", "http://localhost:6379", join(dir, "slices")]).exited;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--queue expects a redis:// or rediss:// URL, got 'http://localhost:6379'");
    const w = await simdcnn(["worker"]).exited;
    expect(w.code).toBe(2);
    expect(w.stderr).toContain("--queue redis://HOST:PORT/N is required");
  });
});

describe("--queue URLs", () => {
  it("give host, port, database and credentials, or a UsageError naming what is wrong", async () => {
    const { connectionOf } = await import("../src/queue/connection.js");
    expect(connectionOf("redis://user:p%40ss@queue.example:6380/3")).toMatchObject({ host: "queue.example", port: 6380, db: 3, username: "user", password: "p@ss" });
    expect(connectionOf("redis://[::1]")).toMatchObject({ host: "::1", port: 6379, db: 0 });
    expect(connectionOf("rediss://h:1/0")).toHaveProperty("tls");
    expect(() => connectionOf("redis://h:1/queue")).toThrow("the path must be a database number, got '/queue'");
    expect(() => connectionOf("localhost:6379")).toThrow("--queue expects a redis:// or rediss:// URL, got 'localhost:6379'");
    expect(() => connectionOf("not a url")).toThrow("--queue expects redis://HOST:PORT/N, got 'not a url'");
  });
});
