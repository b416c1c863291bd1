import { ShapeError } from "../errors.js";
import { type Corners, toCorners } from "./box.js";
import type { DetectorLayout } from "./layout.js";

/** One box a detector proposes: its class, score and corners in the model input's pixels, and its row in the output. */
export interface Candidate {
  class: number;
  score: number;
  box: Corners;
  /** The box's row in the model's output: ties in score are broken by it. */
  index: number;
}

/** The model input's size, which boxes in normalized units are scaled by. */
export interface InputSize {
  width: number;
  height: number;
}

/**
 * One slice's boxes whose score is above `threshold` (ONNX NonMaxSuppression's rule: a score equal
 * to it is dropped), from the detector's outputs for that slice, by name:
 * - boxes-scores: every (box, class) pair, scored by the class's score (per-class, as SSD's decoding);
 * - yolo: each row's best class (the lowest index on a tie), scored objectness x class score;
 * - selected: each box with its own class index and score.
 * A box whose coordinates are not finite, or a class index that is not a whole non-negative
 * number, is a ShapeError: the model's output is not what its layout says.
 */
export function candidates(layout: DetectorLayout, outputs: Readonly<Record<string, Float32Array>>, input: InputSize, threshold: number): Candidate[] {
  const get = (name: string) => {
    const o = outputs[name];
    if (!o) throw new ShapeError(`the detector's output '${name}' is missing`);
    return o;
  };
  const corners = (data: Float32Array, at: number, index: number): Corners => {
    const [a, b, c, d] = [data[at], data[at + 1], data[at + 2], data[at + 3]];
    if (![a, b, c, d].every(Number.isFinite)) throw new ShapeError(`the detector's box ${index} is not finite: [${a}, ${b}, ${c}, ${d}]`);
    return toCorners(a, b, c, d, layout.format, layout.units, input.width, input.height);
  };
  if (layout.kind === "yolo") return yoloCandidates(get(layout.rows), layout.rowLength, threshold, corners);
  const found: Candidate[] = [];
  const boxes = get(layout.boxes);
  const scores = get(layout.scores);
  if (boxes.length % 4 !== 0) throw new ShapeError(`the detector's boxes hold ${boxes.length} numbers a slice, not 4 per box`);
  const n = boxes.length / 4;
  const perBox = n === 0 ? 1 : scores.length / n;
  if (!Number.isInteger(perBox) || perBox < 1) throw new ShapeError(`the detector gave ${n} boxes but ${scores.length} scores a slice: not one score per class per box`);
  if (layout.kind === "selected") {
    const classes = get(layout.classes);
    if (scores.length !== n || classes.length !== n) throw new ShapeError(`the detector selected ${n} boxes but gave ${scores.length} scores and ${classes.length} classes a slice`);
    for (let i = 0; i < n; i++) {
      if (!(scores[i] > threshold)) continue;
      const cls = classes[i];
      if (!(Number.isInteger(cls) && cls >= 0)) throw new ShapeError(`the detector's class ${i} is ${cls}, not a class index`);
      found.push({ class: cls, score: scores[i], box: corners(boxes, 4 * i, i), index: i });
    }
    return found;
  }
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < perBox; c++) {
      const s = scores[i * perBox + c];
      if (s > threshold) found.push({ class: c, score: s, box: corners(boxes, 4 * i, i), index: i });
    }
  }
  return found;
}

function yoloCandidates(rows: Float32Array, length: number, threshold: number, corners: (d: Float32Array, at: number, i: number) => Corners): Candidate[] {
  if (rows.length % length !== 0) throw new ShapeError(`the detector's rows hold ${rows.length} numbers a slice, not rows of ${length}`);
  const found: Candidate[] = [];
  for (let i = 0; i < rows.length / length; i++) {
    const at = i * length;
    let best = 0;
    for (let c = 1; c < length - 5; c++) if (rows[at + 5 + c] > rows[at + 5 + best]) best = c;
    // float64: the product is the score NMS ranks, computed once.
    const score = rows[at + 4] * rows[at + 5 + best];
    if (score > threshold) found.push({ class: best, score, box: corners(rows, at, i), index: i });
  }
  return found;
}
