import { join } from "node:path";
import { type Engine, UnsupportedError } from "../node.js";
import { probabilities } from "../explain/predict.js";
import { type SettingName, defaultColor } from "../io/metadata.js";
import type { Axis } from "../io/volume.js";
import { overlayMask } from "../io/mask-overlay.js";
import { type ScoreLayout, classAreas, labelMap, scoreLayout, scoreMap, scoreSettings } from "../io/segmentation.js";
import { classVolumes } from "./class-volumes.js";
import { writePng } from "./files.js";
import { type Job, type Loaded, type ModelRole, loadModel, runJobs } from "./jobs.js";
import { frameName } from "./naming.js";
import { type SegmentResult, json, segmentCsv, segmentTable } from "./output.js";
import { emit, wrote } from "./report.js";

/** The options of `simdcnn segment`, validated; plain data, so that a worker process gets them as JSON. */
export interface SegmentOptions {
  model: string;
  format: "table" | "json" | "csv";
  /** The folder of the masks and overlays. */
  out: string;
  overlay: boolean;
  threshold: number;
  batch: number;
  /** The patient axis volumes are sliced along. */
  axis: Axis;
  overrides: Partial<Record<SettingName, unknown>>;
}

/** A model loaded and checked as a segmentation model: its settings, and the shape of its score maps. */
export interface Segmenter extends Loaded {
  scores: ScoreLayout;
  labels: string[];
  colors: [number, number, number][];
  background: number;
}

const SEGMENTER: ModelRole = {
  role: "a segmentation model",
  classes: (model) => scoreSettings(scoreLayout(model)).outputSize,
  extra: (model) => ({ defaults: scoreSettings(scoreLayout(model)).defaults }),
};

/**
 * Loads the model and resolves its settings, so that every problem with either (including an
 * output that is not a score map) is found before any input is read (see jobs.ts's loadModel).
 */
export async function loadSegmenter(engine: Engine, o: SegmentOptions): Promise<Segmenter> {
  const loaded = await loadModel(engine, o.model, o.overrides, SEGMENTER);
  const { settings } = loaded;
  const labels = settings.labels;
  if (!labels) {
    loaded.model.dispose();
    throw new UnsupportedError("this model outputs class indices (it ends in ArgMax), so its class count is unknown: give its class names with simdcnn:labels or --labels");
  }
  const colors = settings.colors ?? labels.map((_, i) => defaultColor(i));
  return { ...loaded, scores: scoreLayout(loaded.model), labels, colors, background: settings.background ?? 0 };
}

/**
 * Segments every slice of every job, in order: writes its mask (and overlay) into --out and hands
 * each job's result lines to `done` as soon as they are complete. An input that cannot be read
 * or segmented gets a line with the reason; it never stops the others.
 */
export async function segmentJobs(engine: Engine, s: Segmenter, jobs: Job[], o: SegmentOptions, done: (results: SegmentResult[]) => void): Promise<void> {
  const spec = s.settings.input!;
  const probs = probabilities(engine, s.settings.output);
  await runJobs(s, jobs, o, async (p, out) => {
    const map = scoreMap(s.scores, out.length, spec.height, spec.width);
    const { width, height } = p.slice;
    const mask = labelMap(out, map, width, height, { threshold: o.threshold, probabilities: probs });
    const name = p.label ?? frameName(p.name!, p.frame);
    const maskPath = join(o.out, `${name}.mask.png`);
    await writePng(maskPath, width, height, mask, 1);
    let overlay: string | undefined;
    if (o.overlay) {
      overlay = join(o.out, `${name}.overlay.png`);
      await writePng(overlay, width, height, overlayMask(p.slice, mask, { labels: s.labels, colors: s.colors, background: s.background }), 4);
    }
    return { width, height, classes: classAreas(mask, s.labels, p.slice.spacing), mask: maskPath, ...(overlay ? { overlay } : {}) };
  }, done);
}

/**
 * Prints the results in the chosen format on stdout, and each volume's class volumes (mL) on
 * stderr; the exit code is 1 when any input failed.
 */
export function emitSegmented(results: SegmentResult[], s: Pick<Segmenter, "labels" | "background">, o: SegmentOptions, stdout: (t: string) => void): Promise<number> {
  const ok = results.filter((r) => !("error" in r));
  wrote(ok.length, "mask", o.out);
  if (o.overlay) wrote(ok.length, "overlay", o.out);
  for (const v of classVolumes(ok)) {
    const classes = v.classes.filter((_, k) => k !== s.background).map((c) => `${c.label} ${c.ml.toFixed(2)} mL`);
    process.stderr.write(`${v.file}${v.series !== undefined ? ` [series ${v.series}]` : ""}: ${classes.join(", ")}\n`);
  }
  const text = o.format === "json" ? json(results) : o.format === "csv" ? segmentCsv(results, s.labels) : segmentTable(results, s.background);
  return emit(text, results, undefined, stdout);
}
