import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Engine, Model } from "../node.js";
import { type InputGeometry, occlusion } from "../explain/occlusion.js";
import { type Prediction, probabilities, ranked, unitHeat } from "../explain/predict.js";
import { overlayHeatmap } from "../io/heatmap.js";
import type { SettingName } from "../io/metadata.js";
import type { Axis } from "../io/volume.js";
import { writePng } from "./files.js";
import { type Job, type Loaded, type ModelRole, type SliceJob, loadModel, runJobs } from "./jobs.js";
import { frameName } from "./naming.js";
import { type Result, type Where, csv, json, table } from "./output.js";
import { emit, wrote } from "./report.js";

/** The options of `simdcnn classify`, validated; plain data, so that a worker process gets them as JSON. */
export interface ClassifyOptions {
  model: string;
  format: "table" | "json" | "csv";
  out?: string;
  topK: number;
  batch: number;
  overrides: Partial<Record<SettingName, unknown>>;
  heatmap?: string;
  patch?: number;
  stride?: number;
  skipExisting: boolean;
  /** The patient axis volumes are sliced along. */
  axis: Axis;
}

/** A model loaded and checked as a classifier, with its settings. */
export type Classifier = Loaded;

const CLASSIFIER: ModelRole = {
  role: "a classifier",
  classes: (model) => {
    const last = model.outputs[0]?.shape.at(-1);
    return typeof last === "number" ? last : undefined;
  },
};

/**
 * Loads the model and resolves its settings, so that every problem with either is found before
 * any input is read (see jobs.ts's loadModel).
 */
export function loadClassifier(engine: Engine, o: ClassifyOptions): Promise<Classifier> {
  return loadModel(engine, o.model, o.overrides, CLASSIFIER);
}

/**
 * Classifies every slice of every job, in order, and hands each job's result lines to `done` as
 * soon as they are complete. An input that cannot be read or classified gets a line with the
 * reason; it never stops the others.
 */
export async function classifyJobs(engine: Engine, c: Classifier, jobs: Job[], o: ClassifyOptions, done: (results: Result[]) => void): Promise<void> {
  const { model, settings } = c;
  const spec = settings.input!;
  const geo: InputGeometry = { name: model.inputs[0].name, layout: spec.layout, channels: spec.channels, height: spec.height, width: spec.width };
  const probs = probabilities(engine, settings.output);
  await runJobs(c, jobs, o, async (p, out, batch) => {
    const scores = probs(out);
    const r: Classified = { top: ranked(scores, settings.labels).slice(0, Math.max(1, o.topK)) };
    if (o.heatmap !== undefined && p.name !== undefined) {
      // The occlusion maps run the model's batch size, so that it keeps one memory plan.
      await heatmap(model, p, geo, probs, scores.indexOf(Math.max(...scores)), r, join(o.heatmap, `${p.label ?? frameName(p.name, p.frame)}.png`), o, batch);
    }
    return r;
  }, done);
}

/** Writes the results in the chosen format, to --out or stdout; the exit code is 1 when any input failed. */
export function emitClassified(results: Result[], o: Pick<ClassifyOptions, "format" | "out" | "heatmap">, stdout: (s: string) => void): Promise<number> {
  if (o.heatmap !== undefined) wrote(results.filter((r) => "heatmap" in r && r.heatmap).length, "heatmap", o.heatmap);
  const text = o.format === "json" ? json(results) : o.format === "csv" ? csv(results) : table(results);
  return emit(text, results, o.out, stdout);
}

/** A classified slice's own fields (runJobs adds where it is: file, frame, place in a volume). */
type Classified = Omit<Extract<Result, { top: Prediction[] }>, keyof Where>;

async function heatmap(
  model: Model, p: SliceJob, geo: InputGeometry, probs: (l: Float32Array) => Float32Array, cls: number,
  r: Classified, path: string, o: ClassifyOptions, batch: number,
): Promise<void> {
  r.heatmap = path;
  if (o.skipExisting && existsSync(path)) return;
  const patch = o.patch ?? Math.max(1, Math.round(Math.min(geo.height, geo.width) / 8));
  const stride = o.stride ?? Math.max(1, Math.ceil(patch / 2));
  const { heat, box } = occlusion(model, p.input, geo, probs, cls, { patch, stride, batch });
  const rgba = overlayHeatmap(p.slice, unitHeat(heat), { size: [geo.height, geo.width], box: box ?? undefined });
  await writePng(path, p.slice.width, p.slice.height, rgba);
  if (box) {
    const sx = p.slice.width / geo.width;
    const sy = p.slice.height / geo.height;
    r.box = { x: Math.round(box.x * sx), y: Math.round(box.y * sy), width: Math.round(box.width * sx), height: Math.round(box.height * sy) };
  }
}
