import { ArgumentError, ShapeError } from "../errors.js";
import type { ModelDescription, SettingsSources } from "./metadata.js";
import { resize } from "./preprocess.js";

/** A model's per-pixel scores for one slice: `classes` maps of `height` x `width`, laid out as `layout`. */
export interface ScoreMap {
  layout: "NCHW" | "NHWC";
  /** Score channels: one (a logit per pixel, thresholded) or one per class (argmax); 1 for class indices. */
  channels: number;
  height: number;
  width: number;
  /** The map holds each pixel's class index (a model ending in ArgMax), not scores. */
  indices?: boolean;
}

/** Where a segmentation model's scores sit; height and width are undefined when symbolic. */
export type ScoreLayout = Omit<ScoreMap, "height" | "width"> & { height?: number; width?: number };

/**
 * Where a segmentation model's class scores sit: rank 4 outputs in the layout of its input ([N,
 * C, h, w] after an NCHW input, [N, h, w, C] after an NHWC one), rank 3 outputs ([N, h, w]) one
 * channel. The channel count must be a number; h and w may be symbolic (`scoreMap` works them
 * out from the output's size). An integer output (ArgMax's) holds class indices, one channel.
 */
export function scoreLayout(model: ModelDescription): ScoreLayout {
  const s = model.inputs[0]?.shape ?? [];
  const layout = s[1] === 1 || s[1] === 3 ? "NCHW" : "NHWC";
  const output = model.outputs[0];
  const shape = output?.shape ?? [];
  const indices = output?.dtype === "int64" || output?.dtype === "int32";
  const text = `[${shape.join(", ")}]`;
  const num = (d: number | string | undefined) => (typeof d === "number" ? d : undefined);
  const flag = indices ? { indices } : {};
  if (shape.length === 3) return { layout, channels: 1, height: num(shape[1]), width: num(shape[2]), ...flag };
  if (shape.length !== 4) throw new ShapeError(`a segmentation model outputs [N, C, H, W] or [N, H, W, C] scores (or [N, H, W] for one class or class indices), got ${text}`);
  const [c, h, w] = layout === "NCHW" ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
  if (indices && c !== 1) throw new ShapeError(`a segmentation model's class indices ${text} (${layout}, like its input) need a class dimension of 1, got ${c}`);
  if (typeof c !== "number" || c < 1 || c > 255) {
    throw new ShapeError(`a segmentation model's output ${text} (${layout}, like its input) needs a fixed class dimension of 1 to 255, got ${c}`);
  }
  return { layout, channels: c, height: num(h), width: num(w), ...flag };
}

/**
 * What a segmentation model's output tells its settings: the class count (the channels; 2 for
 * one channel, below and above the threshold; unknown for class indices, which need labels) and
 * the default activation (one channel holds logits unless the model says otherwise; softmax
 * does not change an argmax).
 */
export function scoreSettings(layout: ScoreLayout): Pick<SettingsSources, "outputSize" | "defaults"> {
  if (layout.indices) return {};
  return { outputSize: Math.max(2, layout.channels), defaults: { output: layout.channels === 1 ? "sigmoid" : "softmax" } };
}

/**
 * The height and width of one slice's `count` scores: the declared ones or, when symbolic, from
 * the count, taking the input's aspect ratio.
 */
export function scoreMap(layout: ScoreLayout, count: number, inHeight: number, inWidth: number): ScoreMap {
  const pixels = count / layout.channels;
  let { height, width } = layout;
  if (height === undefined && width !== undefined) height = pixels / width;
  if (width === undefined && height !== undefined) width = pixels / height;
  if (height === undefined || width === undefined) {
    height = Math.round(Math.sqrt((pixels * inHeight) / inWidth));
    width = pixels / height;
  }
  if (!Number.isInteger(height) || !Number.isInteger(width) || height * width !== pixels) {
    throw new ShapeError(`the model gave ${count} scores for a slice: not ${layout.channels} maps of a size its output declares`);
  }
  return { layout: layout.layout, channels: layout.channels, height, width, ...(layout.indices ? { indices: true } : {}) };
}

export interface LabelMapOptions {
  /** For one-channel maps: turns the resized scores into probabilities (the identity when they are). */
  probabilities?: (scores: Float32Array) => Float32Array;
  /** For one-channel maps: a pixel is class 1 when its probability is above this. Default 0.5. */
  threshold?: number;
}

/**
 * A slice's label map (one class index per pixel, `width` x `height`) from a model's scores.
 * preprocess.ts's toInput stretches the whole slice to the model's input, so every score map
 * covers the whole slice (at the input's resolution, or a fraction of it): the scores are resized
 * to the slice with half-pixel centres (bilinear), which undoes that stretch, and then each pixel
 * takes its best class (the lowest index on a tie), or, with one channel, class 1 when its
 * probability is above the threshold. A map of class indices is resized by nearest neighbour.
 */
export function labelMap(scores: Float32Array, map: ScoreMap, width: number, height: number, options: LabelMapOptions = {}): Uint8Array {
  const { layout, channels: c, height: h, width: w } = map;
  if (!(Number.isInteger(c) && c >= 1 && c <= 256)) throw new ArgumentError(`labelMap: expected 1 to 256 score channels, got ${c}`);
  if (scores.length !== c * h * w) throw new ArgumentError(`labelMap: expected ${c} x ${h} x ${w} = ${c * h * w} scores, got ${scores.length}`);
  const threshold = options.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentError(`labelMap: threshold must be in 0..1, got ${threshold}`);
  if (map.indices) {
    const sized = resize(scores, w, h, 1, width, height, "nearest");
    const mask = new Uint8Array(width * height);
    for (let i = 0; i < mask.length; i++) {
      const v = sized[i];
      if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw new ArgumentError(`labelMap: expected class indices 0..255, got ${v}`);
      mask[i] = v;
    }
    return mask;
  }
  let interleaved = scores;
  if (layout === "NCHW" && c > 1) {
    interleaved = new Float32Array(scores.length);
    for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) interleaved[p * c + k] = scores[k * h * w + p];
  }
  const sized = resize(interleaved, w, h, c, width, height, "bilinear");
  const mask = new Uint8Array(width * height);
  if (c === 1) {
    const p = options.probabilities ? options.probabilities(sized) : sized;
    for (let i = 0; i < mask.length; i++) mask[i] = p[i] > threshold ? 1 : 0;
    return mask;
  }
  for (let i = 0; i < mask.length; i++) {
    let best = 0;
    let top = sized[i * c];
    for (let k = 1; k < c; k++) {
      const v = sized[i * c + k];
      if (v > top) [best, top] = [k, v];
    }
    mask[i] = best;
  }
  return mask;
}

/** One class's share of a label map. */
export interface ClassArea {
  index: number;
  label: string;
  pixels: number;
  /** pixels / all pixels of the slice. */
  fraction: number;
  /** pixels times the pixel's area, when the slice's pixel spacing is known. */
  area_mm2?: number;
}

/**
 * Every class's pixel count, fraction and (given the slice's pixel spacing in mm, [row, column])
 * area of a label map, in class order.
 */
export function classAreas(mask: Uint8Array, labels: readonly string[], spacing?: readonly [number, number]): ClassArea[] {
  const counts = new Array<number>(labels.length).fill(0);
  for (const v of mask) {
    if (v >= labels.length) throw new ArgumentError(`classAreas: the mask holds class ${v}, but there are ${labels.length} labels`);
    counts[v]++;
  }
  const pixelArea = spacing ? spacing[0] * spacing[1] : undefined;
  return labels.map((label, index) => ({
    index,
    label,
    pixels: counts[index],
    fraction: mask.length > 0 ? counts[index] / mask.length : 0,
    ...(pixelArea === undefined ? {} : { area_mm2: counts[index] * pixelArea }),
  }));
}
