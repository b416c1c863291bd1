import { join } from "node:path";
import { type Engine, type Model, ShapeError } from "../node.js";
import { probabilities } from "../explain/predict.js";
import { type SettingName, defaultColor } from "../io/metadata.js";
import { overlayMask } from "../io/mask-overlay.js";
import { type ScoreMap, classAreas, labelMap } from "../io/segmentation.js";
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
  overrides: Partial<Record<SettingName, unknown>>;
}

/** A model loaded and checked as a segmentation model: its settings, and the shape of its score maps. */
export interface Segmenter extends Loaded {
  scores: Omit<ScoreMap, "height" | "width"> & { height?: number; width?: number };
  labels: string[];
  colors: [number, number, number][];
  background: number;
}

/**
 * Where a segmentation model's class scores sit: rank 4 outputs in the layout of its input ([N,
 * C, h, w] after an NCHW input, [N, h, w, C] after an NHWC one), rank 3 outputs ([N, h, w]) one
 * channel. The channel count must be a number; h and w may be symbolic (they are then worked
 * out from the output's size).
 */
function scoreLayout(model: Model, inputLayout: "NCHW" | "NHWC"): Segmenter["scores"] {
  const shape = model.outputs[0]?.shape ?? [];
  const text = `[${shape.join(", ")}]`;
  const num = (d: number | string | undefined) => (typeof d === "number" ? d : undefined);
  if (shape.length === 3) return { layout: inputLayout, channels: 1, height: num(shape[1]), width: num(shape[2]) };
  if (shape.length !== 4) throw new ShapeError(`a segmentation model outputs [N, C, H, W] or [N, H, W, C] scores (or [N, H, W] for one class), got ${text}`);
  const [c, h, w] = inputLayout === "NCHW" ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
  if (typeof c !== "number" || c < 1 || c > 255) {
    throw new ShapeError(`a segmentation model's output ${text} (${inputLayout}, like its input) needs a fixed class dimension of 1 to 255, got ${c}`);
  }
  return { layout: inputLayout, channels: c, height: num(h), width: num(w) };
}

function inputLayout(model: Model): "NCHW" | "NHWC" {
  const s = model.inputs[0]?.shape ?? [];
  return s[1] === 1 || s[1] === 3 ? "NCHW" : "NHWC";
}

const SEGMENTER: ModelRole = {
  role: "a segmentation model",
  // One score channel is two classes: below and above the threshold.
  classes: (model) => Math.max(2, scoreLayout(model, inputLayout(model)).channels),
  // One channel holds logits unless the model says otherwise; softmax does not change an argmax.
  extra: (model) => ({ defaults: { output: scoreLayout(model, inputLayout(model)).channels === 1 ? "sigmoid" : "softmax" } }),
};

/**
 * Loads the model and resolves its settings, so that every problem with either (including an
 * output that is not a score map) is found before any input is read (see jobs.ts's loadModel).
 */
export async function loadSegmenter(engine: Engine, o: SegmentOptions): Promise<Segmenter> {
  const loaded = await loadModel(engine, o.model, o.overrides, SEGMENTER);
  try {
    const { settings } = loaded;
    const scores = scoreLayout(loaded.model, settings.input!.layout);
    const labels = settings.labels!;
    return { ...loaded, scores, labels, colors: settings.colors ?? labels.map((_, i) => defaultColor(i)), background: settings.background ?? 0 };
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
}

/**
 * Segments every slice of every job, in order: writes its mask (and overlay) into --out and hands
 * each job's result lines to `done` as soon as they are complete. An input that cannot be read
 * or segmented gets a line with the reason; it never stops the others.
 */
export async function segmentJobs(engine: Engine, s: Segmenter, jobs: Job[], o: SegmentOptions, done: (results: SegmentResult[]) => void): Promise<void> {
  const spec = s.settings.input!;
  const probs = probabilities(engine, s.settings.output);
  await runJobs(s, jobs, o.batch, async (p, out) => {
    const map = scoreMap(s.scores, out.length, spec.height, spec.width);
    const { width, height } = p.slice;
    const mask = labelMap(out, map, width, height, { threshold: o.threshold, probabilities: probs });
    const name = frameName(p.name!, p.frame);
    const maskPath = join(o.out, `${name}.mask.png`);
    await writePng(maskPath, width, height, mask, 1);
    let overlay: string | undefined;
    if (o.overlay) {
      overlay = join(o.out, `${name}.overlay.png`);
      await writePng(overlay, width, height, overlayMask(p.slice, mask, { labels: s.labels, colors: s.colors, background: s.background }), 4);
    }
    return { width, height, classes: classAreas(mask, s.labels, p.slice.spacing), mask: maskPath, ...(overlay ? { overlay } : {}) };
  }, done as (results: object[]) => void);
}

// The height and width of one slice's scores, from the declared shape or, when symbolic, from
// their count, taking the input's aspect ratio.
function scoreMap(scores: Segmenter["scores"], count: number, inHeight: number, inWidth: number): ScoreMap {
  const pixels = count / scores.channels;
  let { height, width } = scores;
  if (height === undefined && width !== undefined) height = pixels / width;
  if (width === undefined && height !== undefined) width = pixels / height;
  if (height === undefined || width === undefined) {
    height = Math.round(Math.sqrt((pixels * inHeight) / inWidth));
    width = pixels / height;
  }
  if (!Number.isInteger(height) || !Number.isInteger(width) || height * width !== pixels) {
    throw new ShapeError(`the model gave ${count} scores for a slice: not ${scores.channels} maps of a size its output declares`);
  }
  return { layout: scores.layout, channels: scores.channels, height, width };
}

/** Prints the results in the chosen format on stdout; the exit code is 1 when any input failed. */
export function emitSegmented(results: SegmentResult[], s: Pick<Segmenter, "labels" | "background">, o: SegmentOptions, stdout: (t: string) => void): Promise<number> {
  const ok = results.filter((r) => !("error" in r));
  wrote(ok.length, "mask", o.out);
  if (o.overlay) wrote(ok.length, "overlay", o.out);
  const text = o.format === "json" ? json(results) : o.format === "csv" ? segmentCsv(results, s.labels) : segmentTable(results, s.background);
  return emit(text, results, undefined, stdout);
}
