// The model zoo (test/fixtures/zoo) in simdcnn's ONNX path (SIMD build) and in onnxruntime-web,
// one thread, batch 1, interleaved model by model in one process. Each model's outputs are
// cross-checked between the two; a family's ratio is the geometric mean over its files (opsets).
import { readFileSync, readdirSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { Bench } from "tinybench";
import type { Engine } from "../../src/index.js";
import { decodeModel } from "../../src/onnx/decode.js";
import { collected } from "../gc.js";
import { random } from "../nets.js";

const DIR = new URL("../../test/fixtures/zoo/", import.meta.url);
/** Beyond this the two runtimes disagree, not round differently (test/zoo.test.ts holds 1e-4). */
const TOLERANCE = 1e-4;

export interface ZooRow {
  file: string;
  family: string;
  /** Median ms per inference. */
  simdcnn: number;
  ort: number;
  /** max |simdcnn - ORT| / max |ORT| over the outputs. */
  maxRelErr: number;
}

function bytesOf(file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, DIR)));
}

/** The model's own dims for its one input (every zoo model has a fixed batch-1 shape). */
function inputDims(bytes: Uint8Array): number[] {
  return decodeModel(bytes).graph.inputs[0].shape!.map(Number);
}

async function measure(engine: Engine, file: string, quick: boolean, only: string | undefined): Promise<ZooRow | undefined> {
  if (only !== undefined && !file.includes(only)) return undefined;
  const bytes = bytesOf(file);
  // The external-data copy: simdcnn reads its sidecar; ORT runs the self-contained file it was made from.
  const external = file.includes("-external");
  const ortBytes = external ? bytesOf(file.replace("-external", "")) : bytes;
  const dims = inputDims(bytes);
  const x = random(dims.reduce((a, b) => a * b, 1), 31);
  const model = await engine.loadOnnx(bytes, external ? { externalData: { [`${file}.data`]: bytesOf(`${file}.data`) } } : undefined);
  const session = await ort.InferenceSession.create(ortBytes, { executionProviders: ["wasm"], logSeverityLevel: 3 });
  const feeds = { input: new ort.Tensor("float32", x, dims) };
  try {
    const mine = model.run({ input: x }) as Record<string, Float32Array>;
    const theirs = await session.run(feeds);
    let diff = 0;
    let scale = 0;
    for (const name of session.outputNames) {
      const a = mine[name];
      const b = theirs[name].data as Float32Array;
      if (!a || a.length !== b.length) diff = Infinity;
      else for (let i = 0; i < b.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
    }
    const bench = new Bench({ time: quick ? 100 : 300, iterations: quick ? 3 : 6, warmupIterations: 5, warmupTime: 100 });
    bench.add("simdcnn", () => void model.run({ input: x }), collected);
    bench.add("ort", async () => void (await session.run(feeds)), collected);
    await bench.run();
    const ms: Record<string, number> = {};
    for (const t of bench.tasks) {
      if (t.result.state !== "completed") throw new Error(`${file} ${t.name}: ${t.result.state}`);
      ms[t.name] = t.result.latency.p50;
    }
    const family = file.replace(/-opset\d+\.onnx$/, "");
    return { file, family, simdcnn: ms.simdcnn, ort: ms.ort, maxRelErr: Number.isNaN(diff) ? Infinity : diff / (scale || 1) };
  } finally {
    model.dispose();
    await session.release();
  }
}

/** Times every zoo model (whose file name contains `only`, if given); prints the tables. Returns the rows that disagree. */
export async function zoo(engine: Engine, quick: boolean, only: string | undefined): Promise<ZooRow[]> {
  const rows: ZooRow[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".onnx")).sort()) {
    const row = await measure(engine, file, quick, only);
    if (!row) continue;
    rows.push(row);
    process.stderr.write(`  ${file}\n`);
  }
  const f = (v: number, d = 3) => v.toFixed(d);
  console.log("\nmodel zoo (test/fixtures/zoo), one thread, batch 1, median ms per inference:");
  console.log("| model | simdcnn (ONNX) ms | onnxruntime-web ms | ort / simdcnn | max rel err |\n|---|---:|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.file} | ${f(r.simdcnn)} | ${f(r.ort)} | ${f(r.ort / r.simdcnn, 2)}x | ${r.maxRelErr.toExponential(0)} |`);
  console.log("\nby family (geometric mean of ort / simdcnn over its files; > 1: simdcnn faster):");
  console.log("| family | files | ort / simdcnn |\n|---|---:|---:|");
  const families = new Map<string, ZooRow[]>();
  for (const r of rows) families.set(r.family, [...(families.get(r.family) ?? []), r]);
  for (const [family, rs] of families) {
    const mean = Math.exp(rs.reduce((s, r) => s + Math.log(r.ort / r.simdcnn), 0) / rs.length);
    console.log(`| ${family} | ${rs.length} | ${f(mean, 2)}x |`);
  }
  return rows.filter((r) => !(r.maxRelErr <= TOLERANCE));
}
