import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import cliProgress from "cli-progress";
import { ArgumentError, FileError, type Engine, type Model, SimdcnnError, UnsupportedError } from "../node.js";
import type { Baseline } from "../explain/baseline.js";
import { type Method, explain } from "../explain/explain.js";
import type { InputGeometry } from "../explain/geometry.js";
import { type Prediction, probabilities, ranked, unitHeat } from "../explain/predict.js";
import { BOX_THRESHOLD } from "../explain/region.js";
import { overlayHeatmap } from "../io/heatmap.js";
import { type ModelSettings, type SettingName, modelSettings } from "../io/metadata.js";
import { encodePng } from "../io/png.js";
import { toInput } from "../io/preprocess.js";
import { readSlices } from "../io/read.js";
import type { Slice } from "../io/slice.js";
import { readModelFile, writeAtomic } from "./files.js";
import type { Input } from "./inputs.js";
import { frameName } from "./naming.js";
import { type Result, csv, json, table } from "./output.js";
import { UsageError } from "./usage.js";

/** The options of `simdcnn classify`, validated; plain data, so that a worker process gets them as JSON. */
export interface ClassifyOptions {
  model: string;
  format: "table" | "json" | "csv";
  out?: string;
  topK: number;
  batch: number;
  overrides: Partial<Record<SettingName, unknown>>;
  heatmap?: string;
  /** Default occlusion. */
  method?: Method;
  /** Default: src/explain/baseline.ts's DEFAULT_BASELINE. */
  baseline?: Baseline;
  patches?: number[];
  stride?: number;
  skipExisting: boolean;
}

/** An input with the name of its outputs (see naming.ts), or the reason it yields no file. */
export type Job = Input & { name?: string };

/** A model loaded and checked as a classifier, with its settings. */
export interface Classifier {
  model: Model;
  settings: ModelSettings;
}

/**
 * Loads the model and resolves its settings, so that every problem with either is found before
 * any input is read. A model path that cannot be read, or a bad override, is a UsageError; a
 * model that is malformed, unsupported or not a classifier keeps its own error class.
 */
export async function loadClassifier(engine: Engine, o: ClassifyOptions): Promise<Classifier> {
  const bytes = await readModelFile(o.model, "--model");
  const model = await engine.loadOnnx(bytes);
  try {
    if (model.inputs.length !== 1) throw new UnsupportedError(`a classifier takes one input; this model takes ${model.inputs.length}`);
    const last = model.outputs[0]?.shape.at(-1);
    const sidecarPath = o.model.replace(/\.onnx$/i, "") + ".json";
    let sidecar: string | undefined;
    if (existsSync(sidecarPath)) {
      try {
        sidecar = await readFile(sidecarPath, "utf8");
      } catch (e) {
        throw FileError.from(e, sidecarPath, "read the model's sidecar");
      }
    }
    const sources = { metadata: model.metadata, sidecar, inputShape: model.inputs[0].shape, outputSize: typeof last === "number" ? last : undefined };
    // The model's own settings first, so that a bad override is told apart from a bad model.
    modelSettings(sources);
    let settings: ModelSettings;
    try {
      settings = modelSettings({ ...sources, overrides: o.overrides });
    } catch (e) {
      throw asUsage(e);
    }
    return { model, settings };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A bad override (metadata.ts's ArgumentError) as the user typed it: a flag, --input-size not input_size. */
export function asUsage(e: unknown): unknown {
  if (!(e instanceof ArgumentError)) return e;
  return new UsageError(e.message.replace(/^(\w+) \(command-line override\)/, (_, key: string) => `--${key.replaceAll("_", "-")}`));
}

interface Pending {
  index: number;
  slice: Slice;
  input: Float32Array;
}

/**
 * Classifies every slice of every job, in order, and hands each job's result lines to `done` as
 * soon as they are complete. An input that cannot be read or classified gets a line with the
 * reason; it never stops the others.
 */
export async function classifyJobs(engine: Engine, c: Classifier, jobs: Job[], o: ClassifyOptions, done: (results: Result[]) => void): Promise<void> {
  const { model, settings } = c;
  const input = model.inputs[0];
  const spec = settings.input!;
  const geo: InputGeometry = { name: input.name, layout: spec.layout, channels: spec.channels, height: spec.height, width: spec.width };
  const fixed = typeof input.shape[0] === "number" ? input.shape[0] : undefined;
  const batch = fixed ?? o.batch;
  const probs = probabilities(engine, settings.output);

  const results: Result[][] = jobs.map(() => []);
  let reported = 0;
  const report = (upTo: number) => {
    for (; reported < upTo; reported++) done(results[reported]);
  };
  const pending: (Pending & { job: number; name?: string })[] = [];

  const flush = async () => {
    if (pending.length === 0) return;
    const size = pending[0].input.length;
    const data = new Float32Array(batch * size);
    pending.forEach((p, i) => data.set(p.input, i * size));
    // Every run is a full batch (a short one padded with copies of the first slice), so that the
    // model keeps one memory plan; the occlusion maps run the same batch size.
    for (let i = pending.length; i < batch; i++) data.set(pending[0].input, i * size);
    let out: Float32Array;
    try {
      out = Object.values(model.run({ [input.name]: data }))[0];
    } catch (e) {
      for (const p of pending) results[p.job][p.index] = failed(results[p.job][p.index], e);
      pending.length = 0;
      return;
    }
    const k = out.length / batch;
    for (const [i, p] of pending.entries()) {
      const r = results[p.job][p.index] as Extract<Result, { top: Prediction[] }>;
      try {
        const scores = probs(out.subarray(i * k, (i + 1) * k));
        r.top = ranked(scores, settings.labels).slice(0, Math.max(1, o.topK));
        if (o.heatmap !== undefined && p.name !== undefined) {
          await heatmap(model, settings, p, geo, scores.indexOf(Math.max(...scores)), r, join(o.heatmap, `${frameName(p.name, r.frame)}.png`), o, batch);
        }
      } catch (e) {
        results[p.job][p.index] = failed(r, e);
      }
    }
    pending.length = 0;
  };

  for (const [j, job] of jobs.entries()) {
    // Jobs before the first one still in the batch are complete.
    report(pending.length > 0 ? pending[0].job : j);
    if ("error" in job) {
      results[j].push({ file: job.file, error: job.error });
      continue;
    }
    try {
      const slices = await readSlices(new Uint8Array(await readFile(job.file)), { window: settings.window });
      const inputs = slices.map((slice) => toInput(slice, spec));
      for (const [frame, slice] of slices.entries()) {
        const index = results[j].push({ file: job.file, ...(slices.length > 1 ? { frame: frame + 1 } : {}), top: [] }) - 1;
        pending.push({ job: j, index, slice, input: inputs[frame], name: job.name });
        if (pending.length === batch) await flush();
      }
    } catch (e) {
      results[j] = [{ file: job.file, error: reason(e, job.file) }];
    }
  }
  await flush();
  report(jobs.length);
}

/** A progress bar on stderr, shown only when it is a terminal. */
export function progressBar(total: number): { increment(): void; stop(): void } {
  if (!process.stderr.isTTY || total < 2) return { increment: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar({ clearOnComplete: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}

/**
 * Writes the results in the chosen format, to --out or stdout; the exit code is 1 when any input
 * failed. Results are never lost to a failed write: they go to stdout instead, with the reason.
 */
export async function emit(results: Result[], o: Pick<ClassifyOptions, "format" | "out" | "heatmap">, stdout: (s: string) => void): Promise<number> {
  if (o.heatmap !== undefined) {
    const n = results.filter((r) => "heatmap" in r && r.heatmap).length;
    const flat = results.filter((r) => "explanation" in r && r.explanation?.flat).length;
    process.stderr.write(`${n} heatmap${n === 1 ? "" : "s"} in ${o.heatmap}${flat ? ` (${flat} flat: no box)` : ""}\n`);
  }
  const text = o.format === "json" ? json(results) : o.format === "csv" ? csv(results) : table(results);
  const failed = results.some((r) => "error" in r) ? 1 : 0;
  if (!o.out) {
    stdout(text);
    return failed;
  }
  try {
    await writeAtomic(o.out, text);
    return failed;
  } catch (e) {
    process.stderr.write(`simdcnn: ${(e as Error).message}; the results follow on stdout\n`);
    stdout(text);
    return 1;
  }
}

function failed(r: Result, e: unknown): Result {
  return { file: r.file, ...(r.frame === undefined ? {} : { frame: r.frame }), error: reason(e) };
}

/** Why an input failed, in one line; any error is confined to its input. */
function reason(e: unknown, file?: string): string {
  if (e instanceof SimdcnnError) return `${e.name}: ${e.message}`;
  if (file !== undefined && typeof e === "object" && e !== null && "code" in e) {
    const f = FileError.from(e, file, "read");
    return `${f.name}: ${f.message}`;
  }
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

async function heatmap(
  model: Model, settings: ModelSettings, p: Pending, geo: InputGeometry, cls: number,
  r: Extract<Result, { top: Prediction[] }>, path: string, o: ClassifyOptions, batch: number,
): Promise<void> {
  r.heatmap = path;
  if (o.skipExisting && existsSync(path)) return;
  const x = explain(model, p.input, geo, settings.output, cls, { method: o.method, baseline: o.baseline, patches: o.patches, stride: o.stride, batch });
  const { peak, box, flat } = x.region;
  // A flat map is rounding noise: scaled to 0..1 it would look like evidence, so none is drawn.
  const rgba = overlayHeatmap(p.slice, flat ? new Float32Array(x.heat.length) : unitHeat(x.heat), { size: [geo.height, geo.width], box: box ?? undefined });
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw FileError.from(e, dirname(path), "create");
  }
  await writeAtomic(path, encodePng(p.slice.width, p.slice.height, rgba));
  // Heat-map pixels to the slice's own: a box by its edges, the peak by its pixel's centre.
  const sx = p.slice.width / geo.width;
  const sy = p.slice.height / geo.height;
  r.peak = {
    x: Math.min(p.slice.width - 1, Math.floor((peak.x + 0.5) * sx)),
    y: Math.min(p.slice.height - 1, Math.floor((peak.y + 0.5) * sy)),
    value: peak.value,
  };
  if (box) r.box = { x: Math.round(box.x * sx), y: Math.round(box.y * sy), width: Math.round(box.width * sx), height: Math.round(box.height * sy) };
  r.explanation = {
    method: x.method, score: x.target.description, value: x.score, ...(x.layer ? { layer: x.layer } : {}), flat,
    note: flat
      ? "flat heat: nothing hidden changed the score beyond rounding, so no region is marked"
      : `box: the pixels within ${BOX_THRESHOLD * 100}% of the peak, connected to it`,
  };
}
