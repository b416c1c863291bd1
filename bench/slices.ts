// Throughput of `simdcnn classify` on a folder of demo slices, and on a DICOM series (one volume,
// split into slabs over the worker processes: src/cli/volumes.ts), with --threads 1 and 2 (two
// worker processes: src/cli/processes.ts), classification only (no heatmaps). Generates the slices
// once into a temporary folder with the phantom generator. With --queue, the same folder through a queue instead: a
// redis-server of its own on a free port and 3 `simdcnn worker` processes (started, and the
// model loaded, before the clock starts: they are long-running), against the local --threads 2
// pool, alternating; the per-slice difference of the two is the queue's overhead per job.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXPLICIT_LE, dicomFile, greyImage, words } from "../test/io-helpers.js";
import { parseFlags, usageError } from "./args.js";

const USAGE = {
  script: "bench/slices.ts",
  synopsis: "npm run bench:slices -- [flags]",
  about:
    "Throughput of `simdcnn classify` on generated demo slices, and on a generated DICOM series,\n" +
    "with --threads 1 and 2, or with --queue, of 3 queue workers against --threads 2 on the slices.\n" +
    "Prints slices per second; writes nothing under bench/results.",
  flags: {
    count: { type: "string", arg: "N", help: "how many slices to generate and classify (default 1000)" },
    series: { type: "string", arg: "N", help: "slices of the 512x512 CT-like DICOM series (default 200; not with --queue)" },
    queue: { type: "boolean", help: "3 `simdcnn worker` processes on a local redis-server (SIMDCNN_REDIS_SERVER, default /usr/bin/redis-server) against --threads 2" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const count = Number(flags.count ?? 1000);
if (!(Number.isSafeInteger(count) && count >= 1)) usageError(USAGE, `--count expects a positive integer, got '${flags.count}'`);
const seriesCount = Number(flags.series ?? 200);
if (!(Number.isSafeInteger(seriesCount) && seriesCount >= 1)) usageError(USAGE, `--series expects a positive integer, got '${flags.series}'`);
const redisServer = process.env.SIMDCNN_REDIS_SERVER ?? "/usr/bin/redis-server";
if (flags.queue && !existsSync(redisServer)) usageError(USAGE, `--queue needs redis-server, and there is none at ${redisServer} (apt-get install redis-server)`);
const root = new URL("../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "simdcnn-slices-"));
const cli = join(root, "dist/cli/main.js");
const model = join(root, "examples/phantom/phantom.onnx");
const slices = join(dir, "slices");
const children: ChildProcess[] = [];

function timed(args: string[], input = slices): number {
  const t0 = performance.now();
  execFileSync("node", [cli, "classify", "--model", model, "--csv", ...args, input], { stdio: ["ignore", "ignore", "inherit"] });
  return (performance.now() - t0) / 1000;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function started(child: ChildProcess, ready: RegExp, stream: "stdout" | "stderr"): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    child[stream]!.setEncoding("utf8").on("data", (d: string) => {
      text += d;
      if (ready.test(text)) resolve();
    });
    child.on("exit", (code) => reject(new Error(`${child.spawnargs.join(" ")} exited (${code}) before it was ready: ${text}`)));
  });
}

async function queueRuns(): Promise<void> {
  const port = await freePort();
  mkdirSync(join(dir, "redis"));
  const redis = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--dir", join(dir, "redis"), "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "ignore"] });
  children.push(redis);
  await started(redis, /Ready to accept connections/, "stdout");
  const url = `redis://127.0.0.1:${port}/0`;
  const workers = [0, 1, 2].map(() => spawn("node", [cli, "worker", "--queue", url], { stdio: ["ignore", "ignore", "pipe"] }));
  children.push(...workers);
  await Promise.all(workers.map((w) => started(w, /ready/, "stderr")));
  // One run to load the model in every worker (each caches it by hash), not measured.
  timed(["--queue", url]);
  console.log("run                          slices/s   seconds");
  const rows: { name: string; s: number }[] = [];
  for (let round = 0; round < 2; round++) {
    // A fresh database per queue run: otherwise the jobs are found finished and nothing runs.
    execFileSync("node", ["-e", `const{Redis}=require("ioredis");const r=new Redis(${port},"127.0.0.1");r.flushdb().then(()=>r.quit())`], { cwd: root });
    rows.push({ name: "queue, 3 worker processes", s: timed(["--queue", url]) });
    rows.push({ name: "local --threads 2", s: timed(["--threads", "2"]) });
    for (const r of rows.slice(-2)) console.log(`${r.name.padEnd(28)} ${(count / r.s).toFixed(0).padStart(8)}   ${r.s.toFixed(2).padStart(7)}`);
  }
  const best = (name: string) => Math.min(...rows.filter((r) => r.name.startsWith(name)).map((r) => r.s));
  const q = best("queue");
  const local = best("local");
  console.log(`queue / local (best of 2 each): ${((local / q) * 100).toFixed(0)}% of the local worker processes' slices/s; ` + `${(((q - local) / count) * 1000).toFixed(2)} ms more per slice`);
}

// The series: the generator's slices at 512 x 512 as 12-bit CT files of one series, axial,
// 1.25 mm apart, written in shuffled order, with the window that maps 0..4095 as the PNGs do.
function seriesRuns(): void {
  const size = 512;
  const raw = join(dir, "raw");
  execFileSync("node", [join(root, "examples/phantom/generate.mjs"), "--out", raw, "--count", String(seriesCount), "--start", "200000", "--size", String(size), "--format", "raw"]);
  const f32 = readFileSync(join(raw, "slices.f32"));
  const values = new Float32Array(f32.buffer, f32.byteOffset, f32.length / 4);
  const series = join(dir, "series");
  mkdirSync(series);
  for (let k = 0; k < seriesCount; k++) {
    const stored = Array.from(values.subarray(k * size * size, (k + 1) * size * size), (v) => Math.round(v * 4095));
    const file = dicomFile(EXPLICIT_LE, [
      [0x00080018, "UI", `1.2.826.0.1.3680043.10.1178.1.${k + 1}`],
      [0x00080060, "CS", "CT"],
      [0x0020000e, "UI", "1.2.826.0.1.3680043.10.1178.1"],
      [0x00200013, "IS", String(k + 1)],
      [0x00200032, "DS", `-179.2\\-179.2\\${(k * 1.25).toFixed(2)}`],
      [0x00200037, "DS", "1\\0\\0\\0\\1\\0"],
      [0x00280030, "DS", "0.7\\0.7"],
      [0x00281050, "DS", "2047.5"],
      [0x00281051, "DS", "4095"],
      ...greyImage({ rows: size, columns: size, allocated: 16, stored: 12 }),
      [0x7fe00010, "OW", words(stored)],
    ]);
    writeFileSync(join(series, `${((k * 7919) % 100003).toString(36)}.dcm`), file);
  }
  console.log(`\n1 DICOM series of ${seriesCount} slices (${size}x${size} 12-bit CT), axial, batch 8`);
  for (const threads of ["1", "2", "1", "2"]) {
    const s = timed(["--threads", threads], series);
    console.log(`threads ${threads}: ${(seriesCount / s).toFixed(0)} slices/s (${s.toFixed(2)} s, process start included)`);
  }
}

try {
  execFileSync("node", [join(root, "examples/phantom/generate.mjs"), "--out", slices, "--count", String(count), "--start", "100000", "--format", "png"]);
  console.log(`${count} slices (128x128 16-bit PNG), examples/phantom/phantom.onnx, batch 8`);
  if (flags.queue) await queueRuns();
  else {
    for (const threads of ["1", "2", "1", "2"]) {
      const s = timed(["--threads", threads]);
      console.log(`threads ${threads}: ${(count / s).toFixed(0)} slices/s (${s.toFixed(2)} s, process start included)`);
    }
    seriesRuns();
  }
} finally {
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
  rmSync(dir, { recursive: true, force: true });
}
