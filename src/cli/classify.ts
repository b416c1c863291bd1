import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Engine, Model } from "../node.js";
import type { Baseline } from "../explain/baseline.js";
import { type Method, explain } from "../explain/explain.js";
import type { InputGeometry } from "../explain/geometry.js";
import { type Prediction, probabilities, ranked, unitHeat } from "../explain/predict.js";
import { BOX_THRESHOLD } from "../explain/region.js";
import { overlayHeatmap } from "../io/heatmap.js";
import type { ModelSettings, SettingName } from "../io/metadata.js";
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
  /** Default occlusion. */
  method?: Method;
  /** Default: src/explain/baseline.ts's DEFAULT_BASELINE. */
  baseline?: Baseline;
  patches?: number[];
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
      await heatmap(model, settings, p, geo, scores.indexOf(Math.max(...scores)), r, join(o.heatmap, `${p.label ?? frameName(p.name, p.frame)}.png`), o, batch);
    }
    return r;
  }, done);
}

/** Writes the results in the chosen format, to --out or stdout; the exit code is 1 when any input failed. */
export function emitClassified(results: Result[], o: Pick<ClassifyOptions, "format" | "out" | "heatmap">, stdout: (s: string) => void): Promise<number> {
  if (o.heatmap !== undefined) {
    const flat = results.filter((r) => "explanation" in r && r.explanation?.flat).length;
    wrote(results.filter((r) => "heatmap" in r && r.heatmap).length, "heatmap", o.heatmap, flat ? `${flat} flat: no box` : undefined);
  }
  const text = o.format === "json" ? json(results) : o.format === "csv" ? csv(results) : table(results);
  return emit(text, results, o.out, stdout);
}

/** A classified slice's own fields (runJobs adds where it is: file, frame, place in a volume). */
type Classified = Omit<Extract<Result, { top: Prediction[] }>, keyof Where>;

async function heatmap(
  model: Model, settings: ModelSettings, p: SliceJob, geo: InputGeometry, cls: number,
  r: Classified, path: string, o: ClassifyOptions, batch: number,
): Promise<void> {
  r.heatmap = path;
  if (o.skipExisting && existsSync(path)) return;
  const x = explain(model, p.input, geo, settings.output, cls, { method: o.method, baseline: o.baseline, patches: o.patches, stride: o.stride, batch });
  const { peak, box, flat } = x.region;
  // A flat map is rounding noise: scaled to 0..1 it would look like evidence, so none is drawn.
  const rgba = overlayHeatmap(p.slice, flat ? new Float32Array(x.heat.length) : unitHeat(x.heat), { size: [geo.height, geo.width], box: box ?? undefined });
  await writePng(path, p.slice.width, p.slice.height, rgba);
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
