import { ArgumentError } from "../errors.js";
import type { BoxFormat, BoxUnits } from "../io/metadata.js";

/** A box by its corners, x0 <= x1 and y0 <= y1, in pixel-edge coordinates (pixel i spans i..i+1). */
export type Corners = readonly [x0: number, y0: number, x1: number, y1: number];

/**
 * A detector's four numbers as corners in the model input's pixels. Corners given in either
 * order are sorted, as ONNX's NonMaxSuppression reads them, so that a box never has a negative side.
 */
export function toCorners(a: number, b: number, c: number, d: number, format: BoxFormat, units: BoxUnits, inputWidth: number, inputHeight: number): Corners {
  let [x0, y0, x1, y1] = format === "xyxy" ? [a, b, c, d] : [a - c / 2, b - d / 2, a + c / 2, b + d / 2];
  if (units === "normalized") [x0, y0, x1, y1] = [x0 * inputWidth, y0 * inputHeight, x1 * inputWidth, y1 * inputHeight];
  return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
}

/** Intersection over union; 0 when the union is empty (two boxes of no area). */
export function iou(a: Corners, b: Corners): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * A box in the model input's pixels mapped to the slice's own pixels. preprocess.ts's toInput
 * stretches the whole slice to the input (both resize modes map pixel edges to pixel edges), so
 * the inverse scales each axis by slice size / input size; the box is then clipped to the slice.
 */
export function toSlice(box: Corners, inputWidth: number, inputHeight: number, width: number, height: number): Corners {
  for (const [name, v] of [["input width", inputWidth], ["input height", inputHeight], ["slice width", width], ["slice height", height]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new ArgumentError(`toSlice: the ${name} must be a positive integer, got ${v}`);
  }
  const sx = width / inputWidth;
  const sy = height / inputHeight;
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  return [clip(box[0] * sx, width), clip(box[1] * sy, height), clip(box[2] * sx, width), clip(box[3] * sy, height)];
}
