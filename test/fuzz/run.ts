// `npm run fuzz -- --minutes N --seed S [--target NAME] [--out DIR] [--jobs J]`: runs every fuzz
// target for its share of N minutes, each in a child process (J at a time, default 2) watched by
// this one: a child that stops reporting for 60 s is killed and its current case reported as a
// hang; one that dies (out of memory, say) is reported with its current case too. Prints cases
// tried per target and every failure, minimised; writes each failing input to DIR (by default a
// new folder in the system's temp folder) for test/regressions/.
import { type ChildProcess, fork } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { init } from "../../src/index.js";
import { encodeValue } from "./codec.js";
import { canary } from "./harness.js";
import { KNOWN_ISSUES } from "./known.js";
import { type FuzzCtx, type Report, TARGETS, fuzz } from "./targets.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    target: { type: "string" },
    out: { type: "string" },
    jobs: { type: "string", default: "2" },
    child: { type: "string" },
    ms: { type: "string" },
  },
});
const seed = Number(values.seed);

interface ChildResult {
  report: Report;
  found: { kind: string; signature: string; message: string; input: string; bytes?: string; file?: string }[];
}

if (values.child) {
  await child(values.child, Number(values.ms), values.out!);
} else {
  await parent();
}

async function child(name: string, ms: number, out: string): Promise<void> {
  const target = TARGETS.find((t) => t.name === name)!;
  const engine = await init({ maxMemoryBytes: 1 << 30 });
  const other = await init({ maxMemoryBytes: 1 << 30 });
  const c = await canary(engine);
  const ctx: FuzzCtx = { engine, other, canary: c, baseline: engine.memoryBytes, known: new Map(KNOWN_ISSUES.map((k) => [k.signature, 0])) };
  // The case being run, written before it runs, for a hang or a crash to be reported with.
  const fd = openSync(join(out, `${name}.current.json`), "w");
  const run = target.run;
  let n = 0;
  target.run = (cx, v) => {
    const text = Buffer.from(encodeValue(v));
    ftruncateSync(fd, 0);
    writeSync(fd, text, 0, text.length, 0);
    if (++n % 200 === 0) process.send?.({ alive: n });
    return run(cx, v);
  };
  const found: ChildResult["found"] = [];
  const report = await fuzz(target, ctx, {
    seed, untilMs: performance.now() + ms,
    onFound: (f) => {
      const input = encodeValue(f.input);
      let file: string | undefined;
      if (target.bytes) {
        file = join(out, `${name}-${found.length + 1}.bin`);
        writeFileSync(file, target.bytes(f.input as never));
      }
      found.push({ kind: f.failure.kind, signature: f.failure.signature, message: f.failure.detail.split("\n").slice(0, 4).join("\n"), input, file });
      writeFileSync(join(out, `${name}-${found.length}.json`), input);
    },
  });
  closeSync(fd);
  // The known model gives the same bits, and memory is back, after everything this target tried.
  try {
    c.check(engine, `after ${report.cases} ${name} cases`);
  } catch (e) {
    found.push({ kind: "canary", signature: "canary", message: (e as Error).message, input: "" });
  }
  report.outcomes = Object.fromEntries(Object.entries(report.outcomes).sort((a, b) => b[1] - a[1]));
  const knownHits = [...ctx.known].filter(([s, k]) => k > 0 && KNOWN_ISSUES.some((i) => i.signature === s));
  process.send?.({ done: { report, found, knownHits } });
}

async function parent(): Promise<void> {
  const out = values.out ?? mkdtempSync(join(tmpdir(), `simdcnn-fuzz-${seed}-`));
  mkdirSync(out, { recursive: true });
  const names = TARGETS.map((t) => t.name).filter((n) => !values.target || n === values.target);
  const jobs = Math.max(1, Math.min(Number(values.jobs), names.length));
  // Each target gets an equal share of the wall-clock minutes, `jobs` targets running at a time.
  const perTarget = Math.max(2000, (Number(values.minutes) * 60_000 * jobs) / names.length);
  console.log(`fuzzing ${names.join(", ")} for ${values.minutes} min (${Math.round(perTarget / 1000)} s each, ${values.jobs} at a time), seed ${seed}; inputs in ${out}`);
  const rows: string[] = [];
  let failures = 0;
  const queue = [...names];
  const runOne = (name: string) =>
    new Promise<void>((resolve) => {
      const p: ChildProcess = fork(new URL(import.meta.url).pathname, ["--child", name, "--ms", String(perTarget), "--seed", String(seed), "--out", out], {
        execArgv: ["--import", "tsx", "--max-old-space-size=3072"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      let last = Date.now();
      let result: { report: Report; found: ChildResult["found"]; knownHits: [string, number][] } | undefined;
      const watchdog = setInterval(() => {
        if (Date.now() - last > 60_000) {
          p.kill("SIGKILL");
          clearInterval(watchdog);
        }
      }, 1000);
      p.on("message", (m: { alive?: number; done?: typeof result }) => {
        last = Date.now();
        if (m.done) result = m.done;
      });
      p.on("exit", (code, signal) => {
        clearInterval(watchdog);
        if (!result) {
          failures++;
          let current = "";
          try {
            current = readFileSync(join(out, `${name}.current.json`), "utf8");
          } catch {}
          const why = signal === "SIGKILL" ? "hang: no progress for 60 s" : `crash: exit code ${code} ${signal ?? ""}`;
          rows.push(`${name}: ${why}; the case it was running: ${current.slice(0, 2000)}`);
          writeFileSync(join(out, `${name}-crash.json`), current);
        } else {
          const { report, found, knownHits } = result;
          failures += found.length;
          rows.push(`${name}: ${report.cases} cases in ${Math.round(report.ms / 1000)} s; outcomes ${JSON.stringify(report.outcomes)}`);
          for (const [s, k] of knownHits) rows.push(`  known issue hit ${k} times: ${s}`);
          for (const f of found) rows.push(`  FAILURE ${f.kind}: ${f.message}\n    minimised input: ${f.input.slice(0, 1500)}${f.file ? `\n    bytes: ${f.file}` : ""}`);
        }
        resolve();
      });
    });
  const workers = Array.from({ length: jobs }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) await runOne(name);
  });
  await Promise.all(workers);
  console.log(rows.join("\n"));
  console.log(`${failures} new failure(s)`);
  process.exitCode = failures > 0 ? 1 : 0;
}
