// Throughput of `simdcnn classify` on a folder of demo slices with --threads 1 and 2 (two worker
// processes: src/cli/pool.ts), classification only (no heatmaps). Generates the slices once into a temporary
// folder with the phantom generator. With --queue, the same folder through a queue instead: a
// redis-server of its own on a free port and 3 `simdcnn worker` processes (started, and the
// model loaded, before the clock starts: they are long-running), against the local --threads 2
// pool, alternating; the per-slice difference of the two is the queue's overhead per job.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFlags, usageError } from "./args.js";

const USAGE = {
  script: "bench/slices.ts",
  synopsis: "npm run bench:slices -- [flags]",
  about:
    "Throughput of `simdcnn classify` on generated demo slices with --threads 1 and 2, or with\n" +
    "--queue, of 3 queue workers against --threads 2. Prints slices per second; writes nothing\n" +
    "under bench/results.",
  flags: {
    count: { type: "string", arg: "N", help: "how many slices to generate and classify (default 1000)" },
    queue: { type: "boolean", help: "3 `simdcnn worker` processes on a local redis-server (SIMDCNN_REDIS_SERVER, default /usr/bin/redis-server) against --threads 2" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const count = Number(flags.count ?? 1000);
if (!(Number.isSafeInteger(count) && count >= 1)) usageError(USAGE, `--count expects a positive integer, got '${flags.count}'`);
const redisServer = process.env.SIMDCNN_REDIS_SERVER ?? "/usr/bin/redis-server";
if (flags.queue && !existsSync(redisServer)) usageError(USAGE, `--queue needs redis-server, and there is none at ${redisServer} (apt-get install redis-server)`);
const root = new URL("../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "simdcnn-slices-"));
const cli = join(root, "dist/cli/main.js");
const model = join(root, "examples/phantom/phantom.onnx");
const slices = join(dir, "slices");
const children: ChildProcess[] = [];

function timed(args: string[]): number {
  const t0 = performance.now();
  execFileSync("node", [cli, "classify", "--model", model, "--csv", ...args, slices], { stdio: ["ignore", "ignore", "inherit"] });
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
  console.log(`queue / local (best of 2 each): ${((local / q) * 100).toFixed(0)}% of the local pool's slices/s; ` + `${(((q - local) / count) * 1000).toFixed(2)} ms more per slice`);
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
  }
} finally {
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
  rmSync(dir, { recursive: true, force: true });
}
