// Whole-network benchmark: each network of bench/nets.ts in the SIMD and the scalar build,
// interleaved in one process: latency, effective GFLOP/s, and planned memory against naive.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { Bench } from "tinybench";
import { type Engine, init } from "../src/node.js";
import { parseFlags } from "./args.js";
import { networks, random } from "./nets.js";

const { values: flags } = parseFlags({
  script: "bench/networks.ts",
  synopsis: "npm run bench:networks -- [flags]",
  about:
    "Each network of bench/nets.ts in the SIMD build (one and two threads) and the scalar build:\n" +
    "latency, GFLOP/s, planned memory. Prints a table; writes bench/results/networks.json only\n" +
    "with --save.",
  flags: {
    quick: { type: "boolean", help: "shorter measurements (noisier)" },
    save: { type: "boolean", help: "write bench/results/networks.json" },
  },
});
const quick = flags.quick === true;

const engines: Record<"simd" | "scalar" | "simd2", Engine> = {
  simd: await init({ backend: "simd" }),
  scalar: await init({ backend: "scalar" }),
  simd2: await init({ backend: "simd", threads: 2 }),
};
const rows = [];
for (const net of networks) {
  const bench = new Bench({ time: quick ? 200 : 1000, iterations: quick ? 3 : 10, warmupIterations: 8, warmupTime: 200 });
  const input = random(net.input.reduce((a, b) => a * b, 1), 77);
  const models = { simd: net.build(engines.simd), scalar: net.build(engines.scalar), simd2: net.build(engines.simd2) };
  for (const b of ["simd", "scalar", "simd2"] as const) bench.add(b, () => models[b].run({ input }));
  await bench.run();
  const ms: Record<string, number> = {};
  for (const t of bench.tasks) {
    if (t.result.state !== "completed") throw new Error(`${net.name} ${t.name}: ${t.result.state}`);
    ms[t.name] = t.result.latency.p50;
  }
  const flops = models.simd.flops;
  const mem = models.simd.memory;
  rows.push({
    network: net.name, mflop: flops / 1e6, simdMs: ms.simd, scalarMs: ms.scalar,
    simdGflops: flops / ms.simd / 1e6, scalarGflops: flops / ms.scalar / 1e6, speedup: ms.scalar / ms.simd,
    twoThreadsMs: ms.simd2, threadSpeedup: ms.simd / ms.simd2,
    activationsKiB: mem.activations / 1024, naiveKiB: mem.naiveActivations / 1024, weightsKiB: mem.weights / 1024,
  });
  for (const m of Object.values(models)) m.dispose();
}

const f = (v: number, d = 1) => v.toFixed(d);
console.log(`${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}, batch 1\n`);
console.log(["network".padEnd(28), "MFLOP".padStart(7), "simd ms".padStart(9), "scalar ms".padStart(10), "GFLOP/s".padStart(8), "speedup".padStart(8), "act KiB".padStart(8), "naive KiB".padStart(10), "2thr ms".padStart(8), "x1 thr".padStart(7)].join(" "));
for (const r of rows) {
  console.log([r.network.padEnd(28), f(r.mflop).padStart(7), f(r.simdMs, 3).padStart(9), f(r.scalarMs, 3).padStart(10), f(r.simdGflops).padStart(8), `${f(r.speedup, 2)}x`.padStart(8), f(r.activationsKiB, 0).padStart(8), f(r.naiveKiB, 0).padStart(10), f(r.twoThreadsMs, 3).padStart(8), `${f(r.threadSpeedup, 2)}x`.padStart(7)].join(" "));
}
if (flags.save) {
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("networks.json", dir), `${JSON.stringify({ date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, quick, rows }, null, 2)}\n`);
  console.log("\nwrote bench/results/networks.json");
}
