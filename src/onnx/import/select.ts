// TopK, NonMaxSuppression and NonZero: selections whose positions are computed at run time.
import { isInt, sizeOfShape } from "../../graph/ir.js";
import { NonMaxSuppression } from "../../ops/nms.js";
import { NonZero } from "../../ops/nonzero.js";
import { DataType } from "../model.js";
import type { Importer } from "./importer.js";
import { normAxis } from "./util.js";

/**
 * TopK: one step writes the positions (int32), a GatherElements of the input by them the values.
 * Output order is always sorted (sorted = 0 leaves the order to the runtime).
 */
export function topk(im: Importer): void {
  const x = im.required(0);
  const r = x.dims.length;
  const axis = normAxis(im.int("axis", -1), r, im);
  const k = im.opset < 10 ? im.int("k", 0) : (im.constInput(1, "K")?.i?.[0] ?? im.bad("K must be an integer"));
  if (!(k >= 1 && k <= x.dims[axis])) im.fail(`K = ${k} must be between 1 and ${x.dims[axis]}, the size of axis ${axis} of [${x.dims.join(", ")}] (K = 0 is not supported)`);
  const largest = im.opset < 11 || im.int("largest", 1) !== 0;
  const xv = im.plain(x);
  if (isInt(xv)) im.fail("integer inputs are not supported (float only)");
  const dims = x.dims.map((d, i) => (i === axis ? k : d));
  const indices = im.value([...dims], "arena", undefined, undefined, "i32");
  im.emit({ op: "topk", x: xv, y: indices, axis, k, largest });
  const values = im.value([...dims]);
  im.emit({ op: "gatherElements", x: xv, indices, y: values, axis });
  im.setOutput({ kind: "value", v: values, layout: "plain", dims }, 0);
  im.setOutput({ kind: "value", v: indices, layout: "plain", dims }, 1);
}

/**
 * NonMaxSuppression. Its output [selected, 3] has a size only the run knows: the step writes an
 * upper bound of rows (batches x classes x min(max_output_boxes_per_class, boxes), at least one)
 * and the count; the output sym carries the count, ops that work row by row pass it on
 * (dtype.ts's carryCount) and the model returns only the real rows.
 */
export function nonMaxSuppression(im: Importer): void {
  const boxes = im.required(0);
  const scores = im.required(1);
  const scalar = (i: number, what: string): number | undefined => {
    const c = im.constInput(i, what);
    if (c === undefined) return undefined;
    const v = (c.i ?? c.f)!;
    if (v.length !== 1) im.bad(`${what} must hold one value`);
    return v[0];
  };
  const maxOut = Math.max(0, Math.min(scalar(2, "max_output_boxes_per_class") ?? 0, boxes.dims[1] ?? 0));
  const iou = scalar(3, "iou_threshold") ?? 0;
  const scoreThreshold = scalar(4, "score_threshold");
  const cpb = im.int("center_point_box", 0);
  if (cpb !== 0 && cpb !== 1) im.bad(`center_point_box must be 0 or 1, got ${cpb}`);
  if (!(iou >= 0 && iou <= 1)) im.bad(`iou_threshold must be in 0..1, got ${iou}`);
  const bv = im.plain(boxes);
  const sv = im.plain(scores);
  if (isInt(bv) || isInt(sv)) im.bad("boxes and scores must be float");
  const opts = { maxOutputBoxesPerClass: maxOut, iouThreshold: Math.fround(iou), centerPointBox: cpb === 1, ...(scoreThreshold === undefined ? {} : { scoreThreshold: Math.fround(scoreThreshold) }) };
  const [b, n, four] = boxes.dims;
  if (boxes.dims.length !== 3 || four !== 4) im.bad(`boxes must be [batches, boxes, 4], got [${boxes.dims.join(", ")}]`);
  if (scores.dims.length !== 3 || scores.dims[0] !== b || scores.dims[2] !== n) im.bad(`scores must be [${b}, classes, ${n}] for boxes [${boxes.dims.join(", ")}], got [${scores.dims.join(", ")}]`);
  const rows = NonMaxSuppression.rowsFor(boxes.dims, scores.dims, maxOut);
  const y = im.value([rows * 3 + 1], "arena", undefined, undefined, "i32");
  im.emit({ op: "nms", boxes: bv, scores: sv, y, opts });
  im.setOutput({ kind: "value", v: im.alias(y, [rows, 3]), layout: "plain", dims: [rows, 3], count: { value: y, offset: rows * 3 } });
}

/**
 * NonZero: [rank, count] int64 indices, computed as int32. Folded on a constant; at run time the
 * step writes an upper bound [rank, size] and the count, and the model returns the real columns.
 * The count is of the last axis: readers that move whole columns (Transpose to [size, rank], a
 * Gather of rows) pass it on (dtype.ts's carryCount), others are refused.
 */
export function nonZero(im: Importer): void {
  const x = im.required(0);
  if (x.dims.length === 0) im.fail("a scalar input is not supported (rank 1 or more)");
  if (x.kind === "const") {
    const values: ArrayLike<number> = x.f ?? x.i ?? [];
    const at: number[] = [];
    for (let i = 0; i < values.length; i++) if (values[i] !== 0) at.push(i);
    const rows = x.dims.map((_, j) => {
      const inner = sizeOfShape(x.dims.slice(j + 1));
      return at.map((i) => Math.floor(i / inner) % x.dims[j]);
    });
    im.setOutput({ kind: "const", dims: [x.dims.length, at.length], i: rows.flat(), dataType: DataType.INT64 });
    return;
  }
  const xv = im.plain(x);
  const bound = NonZero.boundFor(x.dims);
  const n = sizeOfShape(x.dims);
  const y = im.value([bound + 1], "arena", undefined, undefined, "i32");
  im.emit({ op: "nonZero", x: xv, y });
  const dims = [x.dims.length, n];
  im.setOutput({ kind: "value", v: im.alias(y, dims), layout: "plain", dims, count: { value: y, offset: bound, lastAxis: true } });
}
