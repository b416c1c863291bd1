import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import cliProgress from "cli-progress";
import { type Engine, type Model, SimdcnnError, UnsupportedError } from "../node.js";
import { type InputGeometry, occlusion } from "../explain/occlusion.js";
import { probabilities, ranked, unitHeat } from "../explain/predict.js";
import { overlayHeatmap } from "../io/heatmap.js";
import { type SettingName, modelSettings } from "../io/metadata.js";
import { encodePng } from "../io/png.js";
import { toInput } from "../io/preprocess.js";
import { readSlices } from "../io/read.js";
import type { Slice } from "../io/slice.js";
import { expandInputs } from "./inputs.js";
import type { Prediction } from "../explain/predict.js";
import { type Result, csv, json, table } from "./output.js";

export interface ClassifyOptions {
  model: string;
  inputs: string[];
  /** The inputs already expanded to files (a pool's worker gets its share this way). */
  files?: string[];
  format: "table" | "json" | "csv";
  out?: string;
  topK: number;
  batch: number;
  overrides: Partial<Record<SettingName, unknown>>;
  heatmap?: string;
  patch?: number;
  stride?: number;
  skipExisting: boolean;
}

interface Pending {
  index: number;
  slice: Slice;
  input: Float32Array;
}

/** Writes through a temporary file and a rename, so that a killed run leaves no half-written file. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * `simdcnn classify`: every slice of every input gets one result line, in input order; an input
 * that cannot be read or classified gets a line with the reason and makes the exit code 1.
 */
export async function classify(engine: Engine, o: ClassifyOptions, stdout: (s: string) => void): Promise<number> {
  const model = await engine.loadOnnx(await readFile(o.model));
  try {
    return await run(engine, model, o, stdout);
  } finally {
    model.dispose();
  }
}

async function run(engine: Engine, model: Model, o: ClassifyOptions, stdout: (s: string) => void): Promise<number> {
  if (model.inputs.length !== 1) throw new UnsupportedError(`a classifier takes one input; this model takes ${model.inputs.length}`);
  const input = model.inputs[0];
  const last = model.outputs[0]?.shape.at(-1);
  const sidecarPath = o.model.replace(/\.onnx$/i, "") + ".json";
  const settings = modelSettings({
    metadata: model.metadata,
    sidecar: existsSync(sidecarPath) ? await readFile(sidecarPath, "utf8") : undefined,
    overrides: o.overrides,
    inputShape: input.shape,
    outputSize: typeof last === "number" ? last : undefined,
  });
  const spec = settings.input!;
  const geo: InputGeometry = { name: input.name, layout: spec.layout, channels: spec.channels, height: spec.height, width: spec.width };
  const fixed = typeof input.shape[0] === "number" ? input.shape[0] : undefined;
  const batch = fixed ?? o.batch;
  const probs = probabilities(engine, settings.output);

  const files = o.files ?? (await expandInputs(o.inputs));
  const results: Result[] = [];
  const bar = progressBar(files.length);
  const pending: Pending[] = [];

  const flush = async () => {
    if (pending.length === 0) return;
    const size = pending[0].input.length;
    const data = new Float32Array(batch * size);
    pending.forEach((p, i) => data.set(p.input, i * size));
    // Every run is a full batch (a short one padded with copies of the first slice), so that the
    // model keeps one memory plan; the occlusion maps run the same batch size.
    for (let i = pending.length; i < batch; i++) data.set(pending[0].input, i * size);
    const out = Object.values(model.run({ [input.name]: data }))[0];
    const k = out.length / batch;
    for (const [i, p] of pending.entries()) {
      const scores = probs(out.subarray(i * k, (i + 1) * k));
      const top = ranked(scores, settings.labels).slice(0, Math.max(1, o.topK));
      const r = results[p.index] as Extract<Result, { top: Prediction[] }>;
      r.top = top;
      if (o.heatmap !== undefined) await heatmap(model, p, geo, probs, scores.indexOf(Math.max(...scores)), r, o, batch);
    }
    pending.length = 0;
  };

  for (const file of files) {
    try {
      const slices = readSlices(new Uint8Array(await readFile(file)), { window: settings.window });
      for (const [frame, slice] of slices.entries()) {
        const index = results.push({ file, ...(slices.length > 1 ? { frame: frame + 1 } : {}), top: [] }) - 1;
        pending.push({ index, slice, input: toInput(slice, spec) });
        if (pending.length === batch) await flush();
      }
    } catch (e) {
      results.push({ file, error: reason(e) });
    }
    bar.increment();
  }
  await flush();
  bar.stop();
  return emit(results, o, stdout);
}

/**
 * A progress bar on stderr when it is a terminal; in a pool's worker process (SIMDCNN_REPORT set)
 * a line per file instead, which the parent counts.
 */
export function progressBar(total: number): { increment(): void; stop(): void } {
  if (process.env.SIMDCNN_REPORT) return { increment: () => process.stderr.write("\u0001\n"), stop: () => {} };
  if (!process.stderr.isTTY || total < 2) return { increment: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar({ clearOnComplete: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}

/** Writes the results in the chosen format; the exit code is 1 when any input failed. */
export async function emit(results: Result[], o: Pick<ClassifyOptions, "format" | "out" | "heatmap">, stdout: (s: string) => void): Promise<number> {
  if (o.heatmap !== undefined && !process.env.SIMDCNN_REPORT) {
    const n = results.filter((r) => "heatmap" in r && r.heatmap).length;
    process.stderr.write(`${n} heatmap${n === 1 ? "" : "s"} in ${o.heatmap}\n`);
  }
  const text = o.format === "json" ? json(results) : o.format === "csv" ? csv(results) : table(results);
  if (o.out) await writeAtomic(o.out, text);
  else stdout(text);
  return results.some((r) => "error" in r) ? 1 : 0;
}

function reason(e: unknown): string {
  if (e instanceof SimdcnnError) return `${e.name}: ${e.message}`;
  if (e instanceof Error && "code" in e) return `cannot read: ${e.message}`;
  throw e;
}

async function heatmap(
  model: Model, p: Pending, geo: InputGeometry, probs: (l: Float32Array) => Float32Array, cls: number,
  r: Extract<Result, { top: Prediction[] }>, o: ClassifyOptions, batch: number,
): Promise<void> {
  const name = `${basename(r.file, extname(r.file))}${r.frame === undefined ? "" : `-frame${r.frame}`}.png`;
  const path = join(o.heatmap!, name);
  r.heatmap = path;
  if (o.skipExisting && existsSync(path)) return;
  const patch = o.patch ?? Math.max(1, Math.round(Math.min(geo.height, geo.width) / 8));
  const stride = o.stride ?? Math.max(1, Math.ceil(patch / 2));
  const { heat, box } = occlusion(model, p.input, geo, probs, cls, { patch, stride, batch });
  const rgba = overlayHeatmap(p.slice, unitHeat(heat), { size: [geo.height, geo.width], box: box ?? undefined });
  await writeAtomic(path, encodePng(p.slice.width, p.slice.height, rgba));
  if (box) {
    const sx = p.slice.width / geo.width;
    const sy = p.slice.height / geo.height;
    r.box = { x: Math.round(box.x * sx), y: Math.round(box.y * sy), width: Math.round(box.width * sx), height: Math.round(box.height * sy) };
  }
}
