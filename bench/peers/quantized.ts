// int8 against onnxruntime-web: each network in float32 and quantized by simdcnn's own quantizer
// (src/quantize: static QDQ, int8 weights per channel, uint8 activations), the same files run by
// simdcnn's ONNX path (SIMD build) and by an onnxruntime-web session, one thread, batch 1,
// interleaved in one process. The demo classifier is examples/phantom/phantom.int8.onnx; the
// ResNet-style and MobileNet-style (depthwise separable, ReLU6) nets are bench/nets.ts's,
// calibrated on random inputs (speed does not depend on how good the ranges are). Outputs are cross-checked: simdcnn's int8 against onnxruntime-web's int8.
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { Bench } from "tinybench";
import type { Engine } from "../../src/index.js";
import { decodeModel } from "../../src/onnx/decode.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { quantizeModel } from "../../src/quantize/quantize.js";
import { type NetDef, mobilenet, random, resnet } from "../nets.js";
import { onnxNetwork } from "./onnx.js";

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

/** A bench/nets.ts network in ONNX, and quantized by simdcnn's quantizer calibrated on random inputs. */
async function quantizedNet(engine: Engine, def: NetDef): Promise<Case> {
  const [h, w, c] = def.input;
  const f32 = onnxNetwork(def);
  const float = await engine.loadOnnx(f32);
  const calibration = Array.from({ length: 16 }, (_, i) => random(c * h * w, 300 + i));
  const int8 = encodeModel(quantizeModel(float, decodeModel(f32), calibration).model);
  float.dispose();
  return { name: def.name, f32, int8, input: "input", output: "output", dims: [1, c, h, w] };
}

async function cases(engine: Engine): Promise<Case[]> {
  const phantom = new URL("../../examples/phantom/", import.meta.url);
  return [
    {
      name: "phantom demo classifier 128x128x1", f32: new Uint8Array(readFileSync(new URL("phantom.onnx", phantom))),
      int8: new Uint8Array(readFileSync(new URL("phantom.int8.onnx", phantom))), input: "slice", output: "logits", dims: [1, 1, 128, 128],
    },
    await quantizedNet(engine, resnet),
    await quantizedNet(engine, mobilenet),
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
    const once = () => model.run({ [k.input]: x })[k.output];
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
 * onnxruntime's on the benchmark's input. A wrong kernel moves outputs by far more.
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
  for (const k of (await cases(engine)).filter((c) => only === undefined || c.name.includes(only) || "int8".includes(only))) {
    const x = random(k.dims.reduce((a, b) => a * b, 1), 77);
    const runners = {} as Record<Run, Runner>;
    for (const r of RUNS) runners[r] = await runner(engine, k, r, x);
    const maxRelErr = relErr(await runners.int8.output(), await runners.ortInt8.output());
    const ms = Object.fromEntries(RUNS.map((r) => [r, Infinity])) as Record<Run, number>;
    for (let round = 0; round < (quick ? 1 : 2); round++) {
      const bench = new Bench({ time: quick ? 150 : 400, iterations: quick ? 3 : 6, warmupIterations: 8, warmupTime: 200 });
      for (const r of round % 2 ? [...RUNS].reverse() : RUNS) {
        const run = runners[r];
        bench.add(r, r.startsWith("ort") ? async () => void (await run.run()) : () => void run.run());
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
    "| network | simdcnn f32 ms | simdcnn int8 ms | ORT f32 ms | ORT int8 ms | simdcnn int8 vs ORT int8 | simdcnn int8 vs own f32 | ORT int8 vs ORT f32 | file bytes f32 / int8 | int8 rel. err vs ORT |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.workload} | ${f(r.ms.f32)} | ${f(r.ms.int8)} | ${f(r.ms.ortF32)} | ${f(r.ms.ortInt8)} | ${f(r.ms.ortInt8 / r.ms.int8)}x | ${f(r.ms.f32 / r.ms.int8)}x | ${f(r.ms.ortF32 / r.ms.ortInt8)}x | ${r.bytes.f32} / ${r.bytes.int8} (${f(r.bytes.f32 / r.bytes.int8)}x) | ${r.maxRelErr.toExponential(1)} |`),
  ];
  return lines.join("\n");
}
