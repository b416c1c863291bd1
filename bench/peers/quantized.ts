// int8 against onnxruntime-web: each network, and each one-op workload of issue 18's kernel
// targets (3x3 convolutions of 16 channels or more, GEMM 1024), in float32 and quantized by
// simdcnn's own quantizer (src/quantize: static QDQ, int8 weights per channel, uint8
// activations), the same files run by simdcnn's ONNX path (SIMD build) and by an onnxruntime-web
// session, one thread, batch 1, interleaved in one process. The demo classifier is
// examples/phantom/phantom.int8.onnx; the ResNet-style and MobileNet-style (depthwise separable,
// ReLU6) nets are bench/nets.ts's, the one-op models bench/peers.ts's kernel workloads (same
// weights, without the ReLU), all calibrated on random inputs (speed does not depend on how good
// the ranges are). Outputs are cross-checked: simdcnn's int8 against onnxruntime-web's int8.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { Bench } from "tinybench";
import type { Engine } from "../../src/index.js";
import { decodeModel } from "../../src/onnx/decode.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { quantizeModel } from "../../src/quantize/quantize.js";
import { collected } from "../gc.js";
import { KERNEL_SHAPES, type NetDef, mobilenet, random, resnet } from "../nets.js";
import { OnnxGraph, conv, onnxNetwork } from "./onnx.js";

const RUNS = ["f32", "int8", "ortF32", "ortInt8"] as const;
type Run = (typeof RUNS)[number];

export interface QuantizedRow {
  workload: string;
  /** Median ms per inference: simdcnn f32 and int8, onnxruntime-web f32 and int8. */
  ms: Record<Run, number>;
  /** Bytes of the float and the int8 file. */
  bytes: { f32: number; int8: number };
  /** max |simdcnn int8 - ORT int8| / max |ORT int8| over the outputs. */
  maxRelErr: number;
}

interface Case {
  name: string;
  f32: Uint8Array;
  int8: Uint8Array;
  input: string;
  output: string;
  dims: number[];
}

/** A float model with input 'input' and output 'output', and it quantized by simdcnn's quantizer calibrated on `calibration`. */
async function quantized(engine: Engine, name: string, f32: Uint8Array, dims: number[], calibration: Float32Array[]): Promise<Case> {
  const float = await engine.loadOnnx(f32);
  const int8 = encodeModel(quantizeModel(float, decodeModel(f32), calibration).model);
  float.dispose();
  return { name, f32, int8, input: "input", output: "output", dims };
}

/** A bench/nets.ts network in ONNX, quantized. */
function quantizedNet(engine: Engine, def: NetDef): Promise<Case> {
  const [h, w, c] = def.input;
  const calibration = Array.from({ length: 16 }, (_, i) => random(c * h * w, 300 + i));
  return quantized(engine, def.name, onnxNetwork(def), [1, c, h, w], calibration);
}

type ConvShape = (typeof KERNEL_SHAPES.conv)[number];
const convName = ([label, h, w, cin, cout]: ConvShape) => `${label} ${h}x${w} ${cin}->${cout}`;
const gemmName = (n: number) => `gemm ${n}x${n}x${n}`;

/** One Conv (pad 1, with bias), as bench/peers.ts's kernel workload of the same name, quantized. */
function quantizedConv(engine: Engine, shape: ConvShape): Promise<Case> {
  const [, h, w, cin, cout, k] = shape;
  const g = new OnnxGraph();
  const y = conv(g, "input", [h, w], { cout, cin, k, stride: 1, padding: "same", groups: 1, weights: random(cout * k * k * cin, 4), bias: random(cout, 5) });
  const calibration = Array.from({ length: 4 }, (_, i) => random(cin * h * w, 300 + i));
  return quantized(engine, convName(shape), g.encode([1, cin, h, w], y), [1, cin, h, w], calibration);
}

/** One MatMul by constant [n, n] weights, as bench/peers.ts's gemm workload, quantized. */
function quantizedGemm(engine: Engine, n: number): Promise<Case> {
  const g = new OnnxGraph();
  const f32 = g.encode([n, n], g.node("MatMul", ["input", g.constant([n, n], random(n * n, 2))]));
  // The input's first dimension is the calibration's batch: each sample is one row.
  const rows = random(n * n, 300);
  const calibration = Array.from({ length: n }, (_, i) => rows.subarray(i * n, (i + 1) * n));
  return quantized(engine, gemmName(n), f32, [n, n], calibration);
}

/** A case by name, made (quantized) only when selected. */
interface Pending {
  name: string;
  make(): Promise<Case>;
}

const CONVS = KERNEL_SHAPES.conv.filter(([label, , , cin]) => label === "conv 3x3" && cin >= 16);
const GEMM = 1024;

function cases(engine: Engine): Pending[] {
  const phantom = new URL("../../examples/phantom/", import.meta.url);
  const demo = "phantom demo classifier 128x128x1";
  return [
    {
      name: demo,
      make: async () => ({
        name: demo, f32: new Uint8Array(readFileSync(new URL("phantom.onnx", phantom))),
        int8: new Uint8Array(readFileSync(new URL("phantom.int8.onnx", phantom))), input: "slice", output: "logits", dims: [1, 1, 128, 128],
      }),
    },
    { name: resnet.name, make: () => quantizedNet(engine, resnet) },
    { name: mobilenet.name, make: () => quantizedNet(engine, mobilenet) },
    ...CONVS.map((s) => ({ name: convName(s), make: () => quantizedConv(engine, s) })),
    { name: gemmName(GEMM), make: () => quantizedGemm(engine, GEMM) },
  ];
}

interface Runner {
  run(): unknown;
  output(): Promise<Float32Array>;
  dispose(): void;
}

async function runner(engine: Engine, k: Case, run: Run, x: Float32Array): Promise<Runner> {
  const bytes = run === "f32" || run === "ortF32" ? k.f32 : k.int8;
  if (run === "f32" || run === "int8") {
    const model = await engine.loadOnnx(bytes);
    const once = () => model.run({ [k.input]: x })[k.output] as Float32Array;
    return { run: once, output: async () => once(), dispose: () => model.dispose() };
  }
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const feeds = { [k.input]: new ort.Tensor("float32", x, k.dims) };
  const once = async () => (await session.run(feeds))[k.output].data as Float32Array;
  return { run: once, output: once, dispose: () => void session.release() };
}

/**
 * Beyond this an int8 network's output is wrong, not rounded differently. Where a layer's real
 * value lies within float32 error of a rounding tie, simdcnn and onnxruntime (which sums or
 * scales in another order) may quantize it one step apart, and the step travels on through every
 * later layer: the MobileNet-style net's softmax ends ~1e-3 of its largest output away from
 * onnxruntime's on the benchmark's input. A one-op model's output is one uint8 quantization, so a
 * step there is at most 2/255 of its largest value. A wrong kernel moves outputs by far more.
 */
export const QUANTIZED_TOLERANCE = 1e-2;

function relErr(out: Float32Array, ref: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(out[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return out.length !== ref.length || Number.isNaN(diff) ? Infinity : diff / (scale || 1);
}

/** Times every case in the four runs; two rounds in opposite orders, each run's better median kept. */
export async function quantizedRows(engine: Engine, quick: boolean, only?: string): Promise<QuantizedRow[]> {
  const rows: QuantizedRow[] = [];
  for (const pending of cases(engine).filter((c) => only === undefined || c.name.includes(only) || "int8".includes(only))) {
    const k = await pending.make();
    const x = random(k.dims.reduce((a, b) => a * b, 1), 77);
    const runners = {} as Record<Run, Runner>;
    for (const r of RUNS) runners[r] = await runner(engine, k, r, x);
    const maxRelErr = relErr(await runners.int8.output(), await runners.ortInt8.output());
    // One timed run of each sizes the warm-up: GEMM 1024 in onnxruntime takes hundreds of ms a
    // run, and a few runs warm it as well as eight.
    let slowest = 0;
    for (const r of RUNS) {
      const start = performance.now();
      await runners[r].run();
      slowest = Math.max(slowest, performance.now() - start);
    }
    const warmupIterations = Math.max(1, Math.min(8, Math.round(400 / slowest)));
    const ms = Object.fromEntries(RUNS.map((r) => [r, Infinity])) as Record<Run, number>;
    for (let round = 0; round < (quick ? 1 : 2); round++) {
      const bench = new Bench({ time: quick ? 150 : 400, iterations: quick ? 3 : 6, warmupIterations, warmupTime: 200 });
      for (const r of round % 2 ? [...RUNS].reverse() : RUNS) {
        const run = runners[r];
        bench.add(r, r.startsWith("ort") ? async () => void (await run.run()) : () => void run.run(), collected);
      }
      await bench.run();
      for (const t of bench.tasks) {
        if (t.result.state !== "completed") throw new Error(`${k.name} ${t.name}: ${t.result.state}`);
        ms[t.name as Run] = Math.min(ms[t.name as Run], t.result.latency.p50);
      }
    }
    for (const r of RUNS) runners[r].dispose();
    rows.push({ workload: k.name, ms, bytes: { f32: k.f32.length, int8: k.int8.length }, maxRelErr });
    process.stderr.write(`  ${k.name} (int8)\n`);
  }
  return rows;
}

/** The table printed by bench/peers.ts. */
export function quantizedTable(rows: QuantizedRow[]): string {
  const f = (v: number, d = 2) => v.toFixed(d);
  const lines = [
    "| workload | simdcnn f32 ms | simdcnn int8 ms | ORT f32 ms | ORT int8 ms | simdcnn int8 vs ORT int8 | simdcnn int8 vs own f32 | ORT int8 vs ORT f32 | file bytes f32 / int8 | int8 rel. err vs ORT |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.workload} | ${f(r.ms.f32)} | ${f(r.ms.int8)} | ${f(r.ms.ortF32)} | ${f(r.ms.ortInt8)} | ${f(r.ms.ortInt8 / r.ms.int8)}x | ${f(r.ms.f32 / r.ms.int8)}x | ${f(r.ms.ortF32 / r.ms.ortInt8)}x | ${r.bytes.f32} / ${r.bytes.int8} (${f(r.bytes.f32 / r.bytes.int8)}x) | ${r.maxRelErr.toExponential(1)} |`),
  ];
  return lines.join("\n");
}
