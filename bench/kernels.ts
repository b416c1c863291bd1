// Kernel benchmark: every kernel on real CNN shapes, SIMD build against scalar build, interleaved
// in one process, with this machine's SIMD128 ceiling measured in the same run.
import { writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import { Bench } from "tinybench";
import { type Engine, type Tensor, init } from "../src/node.js";
import { parseFlags, usageError } from "./args.js";
import { measureCeiling } from "./ceiling.js";
import { KERNEL_SHAPES, random } from "./nets.js";
import { measureMemcpy } from "./memcpy.js";
import { ArgMax } from "../src/ops/argmax.js";
import { Conv2d } from "../src/ops/conv2d.js";
import { winogradFits } from "../src/ops/winograd.js";
import { Resize, type ResizeOptions, resizeSpec } from "../src/ops/resize.js";
import type { PreparedOp } from "../src/ops/op.js";
import { QConv2d } from "../src/ops/qconv.js";
import { qwinogradPays } from "../src/ops/qwinograd.js";
import type { Runtime } from "../src/runtime/runtime.js";

const USAGE = {
  script: "bench/kernels.ts",
  synopsis: "npm run bench -- [flags]",
  about:
    "Every kernel on real CNN shapes in the SIMD build (one and two threads) and the scalar build,\n" +
    "with this machine's SIMD128 ceiling measured in the same run. Prints a table; writes\n" +
    "bench/results/kernels.json only with --save.",
  flags: {
    quick: { type: "boolean", help: "shorter measurements (noisier)" },
    only: { type: "string", arg: "NAME", help: "run only the workloads whose name contains NAME (not with --save)" },
    save: { type: "boolean", help: "write bench/results/kernels.json" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const quick = flags.quick === true;
const only = flags.only;
// A run of some workloads is not a result to keep: it would replace the whole table.
if (flags.save && only !== undefined) usageError(USAGE, "--save writes the whole table: it cannot be combined with --only");
// The SIMD build on one thread and on two (the machine's cores), and the scalar build.
const backends = ["simd", "scalar", "simd2"] as const;
type Backendish = (typeof backends)[number];

interface Workload {
  name: string;
  /** Floating-point operations (multiply and add counted apart), or bytes moved for memory-bound kernels. */
  flop?: number;
  bytes?: number;
  make(e: Engine): () => void;
}

function tensor(e: Engine, shape: number[], seed: number): Tensor {
  return e.tensor(random(shape.reduce((a, b) => a * b, 1), seed, 0.5), shape);
}

function gemm(n: number): Workload {
  return {
    name: `gemm ${n}x${n}x${n}`,
    flop: 2 * n * n * n,
    make(e) {
      const a = tensor(e, [n, n], 1);
      const op = e.prepareGemm(tensor(e, [n, n], 2));
      const out = e.tensor(new Float32Array(n * n), [n, n]);
      return () => op.run(a, out);
    },
  };
}

/**
 * A convolution as the engine runs it; where that is Winograd F(2x2, 3x3) the row is named
 * "winograd" and counts the direct convolution's FLOPs (its effective rate), and `direct` gives
 * the direct path's row under the plain name, for comparison.
 */
function conv(label: string, h: number, w: number, cin: number, cout: number, k: number, groups = 1, direct = false): Workload {
  const flop = 2 * h * w * cout * k * k * (cin / groups);
  const winograd = !direct && winogradFits([k, k], [1, 1], [1, 1], groups, cin, cout);
  return {
    name: `${label}${winograd ? " winograd" : ""} ${h}x${w} ${cin}->${cout}`,
    flop,
    make(e) {
      const x = tensor(e, [1, h, w, cin], 3);
      const opts = { padding: "same", groups, bias: random(cout, 5, 0.5), activation: "relu" } as const;
      const wT = tensor(e, [cout, k, k, cin / groups], 4);
      const op = direct ? new Conv2d((e as unknown as { rt: Runtime }).rt, wT, opts, "nhwc", false) : e.prepareConv2d(wT, opts);
      const out = e.tensor(new Float32Array(h * w * cout), [1, h, w, cout]);
      return () => op.run(x, out);
    },
  };
}

// A transposed convolution as a U-Net's up-path runs it: every input pixel meets every tap.
function deconv(h: number, w: number, cin: number, cout: number, k: number, s: number): Workload {
  const oh = h * s;
  const ow = w * s;
  return {
    name: `deconv ${k}x${k}/${s} ${h}x${w} ${cin}->${cout}`,
    flop: 2 * h * w * cin * k * k * cout,
    make(e) {
      const x = tensor(e, [1, h, w, cin], 7);
      const op = e.prepareConv2dTranspose(tensor(e, [cin, k, k, cout], 8), {
        strides: s, padding: "same", bias: random(cout, 9, 0.5), activation: "relu",
      });
      const out = e.tensor(new Float32Array(oh * ow * cout), [1, oh, ow, cout]);
      return () => op.run(x, out);
    },
  };
}

/**
 * The 8-bit path (src/ops/qconv.ts, qgemm_q8_4x8) on a float input and output, as onnxruntime's
 * dynamic quantization runs it: the input's min/max and quantization are part of every call.
 * Named "int8 " + the float workload's name, which the table compares it with; where the engine
 * runs it as Winograd (src/ops/qwinograd.ts) the name says "winograd", and `direct` gives the
 * direct kernel's row under the plain name.
 */
function int8(label: string, h: number, w: number, cin: number, cout: number, k: number, direct = false): Workload {
  const winograd = !direct && k === 3 && qwinogradPays(cin, cout);
  return {
    name: label === "gemm" ? `int8 gemm ${h}x${cin}x${cout}` : `int8 ${label}${winograd ? " winograd" : ""} ${h}x${w} ${cin}->${cout}`,
    flop: 2 * h * w * cout * k * k * cin,
    make(e) {
      const rt = (e as unknown as { rt: Runtime }).rt;
      const weights = Array.from(random(cout * k * k * cin, 4, 127), Math.round);
      const op = new QConv2d(rt, {
        weights, wShape: [cout, k, k, cin], weightZeroPoints: [0], weightScales: [0.01], bias: random(cout, 5, 0.5),
        padding: k > 1 ? "same" : "valid", input: { dynamic: true }, winograd: direct ? false : undefined,
      });
      const gemm = label.startsWith("gemm");
      const x = tensor(e, gemm ? [h, cin] : [1, h, w, cin], 3);
      const out = e.tensor(new Float32Array(h * w * cout), gemm ? [h, cout] : [1, h, w, cout]);
      op.bind([x.shape]);
      return () => op.exec([(x as unknown as { ptr: number }).ptr], (out as unknown as { ptr: number }).ptr);
    },
  };
}

function maxpool(h: number, w: number, c: number): Workload {
  return {
    name: `maxpool 2x2 ${h}x${w}x${c}`,
    bytes: 4 * (h * w * c + (h / 2) * (w / 2) * c),
    make(e) {
      const x = tensor(e, [1, h, w, c], 6);
      return () => e.maxPool2d(x, { kernel: 2 }).dispose();
    },
  };
}

/** A prepared op bound once, so that a run is the kernel alone (no tables, no allocation). */
function bound(e: Engine, op: (rt: Runtime) => PreparedOp, shape: number[]): () => void {
  const p = op((e as unknown as { rt: Runtime }).rt);
  const out = p.bind([shape]);
  const x = tensor(e, shape, 7);
  const y = e.tensor(new Float32Array(out.reduce((a, b) => a * b, 1)), out);
  return () => p.exec([x.ptr], y.ptr);
}

// Resizing and argmax are memory-bound: GB/s of input read and output written, against memcpy.
function resize(label: string, h: number, w: number, c: number, opts: ResizeOptions): Workload {
  const [sh, sw] = opts.scales!;
  return {
    name: `resize ${label} ${h}x${w}x${c}`,
    bytes: 4 * c * (h * w + Math.floor(h * sh) * Math.floor(w * sw)),
    make: (e) => bound(e, (rt) => new Resize(rt, resizeSpec(opts)), [1, h, w, c]),
  };
}

function argmax(h: number, w: number, c: number): Workload {
  return { name: `argmax ${h}x${w}x${c}`, bytes: 4 * h * w * (c + 1), make: (e) => bound(e, (rt) => new ArgMax(rt, false), [h * w, c]) };
}

const workloads: Workload[] = [
  ...KERNEL_SHAPES.gemm.map(gemm),
  // Depthwise is memory-bound: its rate is in GB/s of input and output.
  // Winograd convolutions are followed by the same shape on the direct path.
  ...KERNEL_SHAPES.conv.flatMap(([l, h, w, ci, co, k, g]) =>
    g > 1 ? [{ ...conv(l, h, w, ci, co, k, g), bytes: 4 * 2 * h * w * co }]
    : winogradFits([k, k], [1, 1], [1, 1], g, ci, co) ? [conv(l, h, w, ci, co, k, g), conv(l, h, w, ci, co, k, g, true)]
    : [conv(l, h, w, ci, co, k, g)]),
  ...KERNEL_SHAPES.maxpool.map(([h, w, c]) => maxpool(h, w, c)),
  deconv(64, 64, 64, 32, 2, 2),
  deconv(64, 64, 64, 32, 3, 2),
  resize("nearest 2x", 128, 128, 32, { mode: "nearest", scales: [2, 2] }),
  resize("bilinear 2x", 128, 128, 32, { mode: "linear", scales: [2, 2] }),
  resize("nearest 2x", 256, 256, 1, { mode: "nearest", scales: [2, 2] }),
  resize("bilinear 2x", 256, 256, 1, { mode: "linear", scales: [2, 2] }),
  resize("bicubic 2x", 128, 128, 32, { mode: "cubic", scales: [2, 2] }),
  argmax(256, 256, 4),
  argmax(256, 256, 32),
  int8("gemm", 1024, 1, 1024, 1024, 1),
  ...KERNEL_SHAPES.conv.filter(([, , , ci, , , g]) => g === 1 && ci >= 16).flatMap(([l, h, w, ci, co, k]) =>
    k === 3 && qwinogradPays(ci, co) ? [int8(l, h, w, ci, co, k), int8(l, h, w, ci, co, k, true)] : [int8(l, h, w, ci, co, k)]),
];

interface Row {
  workload: string;
  unit: "GFLOP/s" | "GB/s";
  simdMs: number;
  scalarMs: number;
  simd: number;
  scalar: number;
  speedup: number;
  percentOfPeak: number | null;
  twoThreadsMs: number;
  twoThreads: number;
  /** Two threads over one, same build. */
  threadSpeedup: number;
}

async function main(): Promise<void> {
  const engines: Record<Backendish, Engine> = {
    simd: await init({ backend: "simd" }),
    scalar: await init({ backend: "scalar" }),
    simd2: await init({ backend: "simd", threads: 2 }),
  };
  const peakBefore = await measureCeiling(quick);
  const memcpy = await measureMemcpy(quick);
  const rows: Row[] = [];
  for (const wl of workloads.filter((w) => only === undefined || w.name.includes(only))) {
    // Enough warm-up calls for V8 to finish tiering each kernel up: a call that starts in the
    // baseline tier stays there, and two warm-up calls left the scalar pooling kernels in it.
    const bench = new Bench({ time: quick ? 150 : 500, iterations: quick ? 3 : 8, warmupIterations: 8, warmupTime: 200 });
    for (const b of backends) bench.add(b, wl.make(engines[b]));
    await bench.run();
    const ms: Record<string, number> = {};
    for (const t of bench.tasks) {
      if (t.result.state !== "completed") throw new Error(`${wl.name} ${t.name}: ${t.result.state}`);
      ms[t.name] = t.result.latency.p50;
    }
    const amount = wl.flop ?? wl.bytes!;
    const rate = (m: number) => amount / (m / 1000) / 1e9;
    rows.push({
      workload: wl.name,
      unit: wl.flop ? "GFLOP/s" : "GB/s",
      simdMs: ms.simd,
      scalarMs: ms.scalar,
      simd: rate(ms.simd),
      scalar: rate(ms.scalar),
      speedup: ms.scalar / ms.simd,
      percentOfPeak: null,
      twoThreadsMs: ms.simd2,
      twoThreads: rate(ms.simd2),
      threadSpeedup: ms.simd / ms.simd2,
    });
  }
  const peakAfter = await measureCeiling(quick);
  const peak = (peakBefore + peakAfter) / 2;
  for (const r of rows) if (r.unit === "GFLOP/s") r.percentOfPeak = (100 * r.simd) / peak;

  const fmt = (v: number, d = 1) => v.toFixed(d);
  console.log(`SIMD128 peak (peak_f32): ${fmt(peakBefore)} GFLOP/s before, ${fmt(peakAfter)} after`);
  console.log(`${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}\n`);
  console.log(
    ["workload".padEnd(34), "simd ms".padStart(9), "scalar ms".padStart(10), "simd".padStart(8), "scalar".padStart(8), "unit".padStart(8), "speedup".padStart(8), "% peak".padStart(7), "2 thr".padStart(8), "x1 thr".padStart(7)].join(" "),
  );
  for (const r of rows) {
    console.log(
      [
        r.workload.padEnd(34), fmt(r.simdMs, 3).padStart(9), fmt(r.scalarMs, 3).padStart(10), fmt(r.simd).padStart(8), fmt(r.scalar).padStart(8),
        r.unit.padStart(8), `${fmt(r.speedup, 2)}x`.padStart(8), (r.percentOfPeak === null ? "" : `${fmt(r.percentOfPeak, 0)}%`).padStart(7),
        fmt(r.twoThreads).padStart(8), `${fmt(r.threadSpeedup, 2)}x`.padStart(7),
      ].join(" "),
    );
  }
  console.log(`\nmemcpy (bench/memcpy.ts, 16 MiB): ${fmt(memcpy)} GB/s; the GB/s rows as a share of it (one thread, SIMD):`);
  for (const r of rows) if (r.unit === "GB/s") console.log(`  ${r.workload.padEnd(34)} ${fmt((100 * r.simd) / memcpy, 0)}%`);
  // The 8-bit workloads against the float ones they mirror, and Winograd against the direct path
  // on the same shape, SIMD build, one thread: calls of the two alternate, so that a busy host
  // slows both alike, and the ratio is of medians.
  const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];
  const interleaved = (base: Workload, other: Workload): number => {
    const [runB, runO] = [base.make(engines.simd), other.make(engines.simd)];
    const tb: number[] = [];
    const to: number[] = [];
    for (let i = 0; i < (quick ? 9 : 31) + 4; i++) {
      let t = performance.now();
      runB();
      if (i >= 4) tb.push(performance.now() - t);
      t = performance.now();
      runO();
      if (i >= 4) to.push(performance.now() - t);
    }
    return median(tb) / median(to);
  };
  for (const r of rows.filter((x) => x.workload.startsWith("int8 "))) {
    const base = r.workload.slice(5);
    const f = workloads.find((w) => w.name === base);
    if (!f) continue;
    const row = rows.find((x) => x.workload === base);
    const table = row ? `; in the table ${fmt(row.simdMs / r.simdMs, 2)}x` : "";
    const ratio = interleaved(f, workloads.find((w) => w.name === r.workload)!);
    console.log(`${r.workload}: ${fmt(ratio, 2)}x the float32 ${base} (simd, one thread, interleaved calls${table})`);
  }
  for (const r of rows.filter((x) => x.workload.includes(" winograd "))) {
    const base = r.workload.replace(" winograd ", " ");
    const d = workloads.find((w) => w.name === base);
    if (!d) continue;
    const row = rows.find((x) => x.workload === base);
    const table = row ? `; in the table ${fmt(row.simdMs / r.simdMs, 2)}x` : "";
    const ratio = interleaved(d, workloads.find((w) => w.name === r.workload)!);
    console.log(`${r.workload}: ${fmt(ratio, 2)}x the direct ${base} (simd, one thread, interleaved calls${table})`);
  }
  if (!flags.save) return;
  const outDir = new URL("./results/", import.meta.url);
  mkdirSync(outDir, { recursive: true });
  const file = new URL("kernels.json", outDir);
  writeFileSync(
    file,
    `${JSON.stringify(
      { date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, peakGflops: peak, memcpyGBs: memcpy, quick, rows },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${file.pathname}`);
}

await main();
