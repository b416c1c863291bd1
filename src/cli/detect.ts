import { join } from "node:path";
import { type Engine, ModelFormatError } from "../node.js";
import { type Detection, detect } from "../detect/detect.js";
import { type DetectorLayout, detectorClasses, detectorLayout } from "../detect/layout.js";
import { overlayBoxes } from "../detect/overlay.js";
import { type SettingName, defaultColor } from "../io/metadata.js";
import type { Axis } from "../io/volume.js";
import { writePng } from "./files.js";
import { type Job, type Loaded, type ModelRole, loadModel, runJobs } from "./jobs.js";
import { frameName } from "./naming.js";
import { type DetectResult, detectCsv, detectTable, json } from "./output.js";
import { emit, wrote } from "./report.js";
import { UsageError } from "./usage.js";

/** The options of `simdcnn detect`, validated; plain data, so that a worker process gets them as JSON. */
export interface DetectOptions {
  model: string;
  format: "table" | "json" | "csv";
  /** The folder of the box PNGs, when they are wanted. */
  boxes?: string;
  score: number;
  iou: number;
  maxBoxes: number;
  batch: number;
  /** The patient axis volumes are sliced along. */
  axis: Axis;
  overrides: Partial<Record<SettingName, unknown>>;
}

/** A model loaded and checked as a detector: its output layout, and its class names and colours. */
export interface Detector extends Loaded {
  layout: DetectorLayout;
  /** The class names, when the model's outputs or settings give them; else classes are named class_<index>. */
  labels?: string[];
}

// The class count depends on the layout, which depends on the settings: it is checked after them.
const DETECTOR: ModelRole = { role: "a detector", classes: () => undefined };

/**
 * Loads the model and resolves its settings and output layout, so that every problem with them
 * is found before any input is read (see jobs.ts's loadModel).
 */
export async function loadDetector(engine: Engine, o: DetectOptions): Promise<Detector> {
  const loaded = await loadModel(engine, o.model, o.overrides, DETECTOR);
  try {
    const layout = detectorLayout(loaded.model.outputs, loaded.settings);
    const classes = detectorClasses(loaded.model.outputs, layout);
    let labels = loaded.settings.labels;
    if (labels && classes !== undefined && labels.length !== classes) {
      const problem = `${labels.length} class names but the detector scores ${classes} class${classes === 1 ? "" : "es"}`;
      throw o.overrides.labels !== undefined ? new UsageError(`--labels: ${problem}`) : new ModelFormatError(`simdcnn:labels: ${problem}`);
    }
    labels ??= classes === undefined ? undefined : Array.from({ length: classes }, (_, i) => `class_${i}`);
    return { ...loaded, layout, ...(labels ? { labels } : {}) };
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
}

const labelOf = (d: Detector, k: number) => d.labels?.[k] ?? `class_${k}`;
// Class 0 is drawn in the palette's second colour: its first is black, for segmentation's background.
const colorOf = (d: Detector, k: number) => d.settings.colors?.[k] ?? defaultColor(k + 1);
const round = (v: number) => Number(v.toFixed(2));

/**
 * Detects boxes on every slice of every job, in order: writes the slice with its boxes into
 * --boxes when asked, and hands each job's result lines to `done` as soon as they are complete.
 * An input that cannot be read or run gets a line with the reason; it never stops the others.
 */
export async function detectJobs(d: Detector, jobs: Job[], o: DetectOptions, done: (results: DetectResult[]) => void): Promise<void> {
  const spec = d.settings.input!;
  await runJobs(d, jobs, o, async (p, _out, _batch, outputs) => {
    const { width, height } = p.slice;
    const found: Detection[] = detect(d.layout, outputs, spec, width, height, { score: o.score, iou: o.iou, maxBoxes: o.maxBoxes });
    let png: string | undefined;
    if (o.boxes !== undefined) {
      png = join(o.boxes, `${p.label ?? frameName(p.name!, p.frame)}.boxes.png`);
      const classes = Math.max(0, ...found.map((f) => f.class + 1));
      const labels = Array.from({ length: classes }, (_, k) => labelOf(d, k));
      const colors = Array.from({ length: classes }, (_, k) => colorOf(d, k));
      await writePng(png, width, height, overlayBoxes(p.slice, found, { labels, colors }), 4);
    }
    const detections = found.map((f) => ({
      class: labelOf(d, f.class), index: f.class, score: f.score,
      box: { x0: round(f.box[0]), y0: round(f.box[1]), x1: round(f.box[2]), y1: round(f.box[3]) },
    }));
    return { width, height, detections, ...(png ? { boxes: png } : {}) };
  }, done);
}

/** Prints the results in the chosen format on stdout; the exit code is 1 when any input failed. */
export function emitDetected(results: DetectResult[], o: DetectOptions, stdout: (t: string) => void): Promise<number> {
  if (o.boxes !== undefined) wrote(results.filter((r) => "boxes" in r && r.boxes).length, "box image", o.boxes);
  const text = o.format === "json" ? json(results) : o.format === "csv" ? detectCsv(results) : detectTable(results);
  return emit(text, results, undefined, stdout);
}
