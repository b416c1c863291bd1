import { ArgumentError } from "../errors.js";
import { type Corners, toSlice } from "./box.js";
import { type InputSize, candidates } from "./decode.js";
import type { DetectorLayout } from "./layout.js";
import { byScore, suppress } from "./nms.js";

export interface DetectionOptions {
  /** Boxes scoring at or below this are dropped. */
  score: number;
  /** Per-class non-maximum suppression's IoU threshold (see nms.ts). */
  iou: number;
  /** The most boxes per slice. */
  maxBoxes: number;
}

/** A detected box: its class index, score, and corners in the slice's own pixels (pixel i spans i..i+1). */
export interface Detection {
  class: number;
  score: number;
  box: Corners;
}

/**
 * One slice's detections from the detector's outputs for it (by name): its candidates above the
 * score threshold, per-class non-maximum suppression (not for boxes the model already selected:
 * those are only ranked and capped), and each box mapped from the model's input to the slice's
 * `width` x `height` pixels. Highest score first.
 */
export function detect(layout: DetectorLayout, outputs: Readonly<Record<string, Float32Array>>, input: InputSize, width: number, height: number, o: DetectionOptions): Detection[] {
  if (!(o.score >= 0 && o.score <= 1)) throw new ArgumentError(`detect: score must be in 0..1, got ${o.score}`);
  if (!(Number.isSafeInteger(o.maxBoxes) && o.maxBoxes > 0)) throw new ArgumentError(`detect: maxBoxes must be a positive integer, got ${o.maxBoxes}`);
  const found = candidates(layout, outputs, input, o.score);
  const kept = layout.kind === "selected" ? found.sort(byScore).slice(0, o.maxBoxes) : suppress(found, o);
  return kept.map((c) => ({ class: c.class, score: c.score, box: toSlice(c.box, input.width, input.height, width, height) }));
}
