import { ArgumentError, ShapeError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import type { PreparedOp } from "./op.js";

export interface NmsOptions {
  /** Boxes kept per batch and class at most. */
  maxOutputBoxesPerClass: number;
  /** A box overlapping a kept one by more than this (IoU) is dropped. */
  iouThreshold: number;
  /** Only boxes scoring above this are considered; undefined: all. */
  scoreThreshold?: number;
  /** Boxes as [y1, x1, y2, x2] corners (false) or [x centre, y centre, width, height] (true). */
  centerPointBox: boolean;
}

/**
 * ONNX NonMaxSuppression over boxes [B, N, 4] and scores [B, C, N]. Its output has a size that
 * depends on the data, so the op writes an upper bound: `rowsFor` rows [batch, class, box] (int32),
 * the found ones first and zeros after, then one int32, the number found. The graph keeps that
 * number beside the value and trims the model's outputs with it (src/graph/model.ts).
 */
export class NonMaxSuppression implements PreparedOp {
  private scratch = 0;
  private n = 0;
  private geom = { batches: 0, classes: 0 };

  constructor(
    private readonly rt: Runtime,
    private readonly opts: NmsOptions,
  ) {
    const { maxOutputBoxesPerClass: m, iouThreshold: iou, scoreThreshold: s } = opts;
    if (!(Number.isInteger(m) && m >= 0)) throw new ArgumentError(`nonMaxSuppression: maxOutputBoxesPerClass must be a non-negative integer, got ${m}`);
    if (!(iou >= 0 && iou <= 1)) throw new ArgumentError(`nonMaxSuppression: iouThreshold must be in 0..1, got ${iou}`);
    if (s !== undefined && Number.isNaN(s)) throw new ArgumentError("nonMaxSuppression: scoreThreshold is NaN");
  }

  /** Rows of the upper-bound output for boxes [B, N, 4] and scores [B, C, N]: at least one, so that the value has a size. */
  static rowsFor(boxes: readonly number[], scores: readonly number[], maxOut: number): number {
    return Math.max(1, boxes[0] * scores[1] * Math.min(maxOut, boxes[1]));
  }

  get bytes(): { weights: number; scratch: number } {
    return { weights: 0, scratch: this.rt.heap.sizeOf(this.scratch) };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const [b, s] = shapes;
    if (b.length !== 3 || b[2] !== 4) throw new ShapeError(`nonMaxSuppression: boxes must be [batches, boxes, 4], got [${b.join(", ")}]`);
    if (s.length !== 3 || s[0] !== b[0] || s[2] !== b[1]) {
      throw new ShapeError(`nonMaxSuppression: scores must be [${b[0]}, classes, ${b[1]}] for boxes [${b.join(", ")}], got [${s.join(", ")}]`);
    }
    return [NonMaxSuppression.rowsFor(b, s, this.opts.maxOutputBoxesPerClass) * 3 + 1];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const [b, s] = shapes;
    if (b[1] !== this.n) {
      this.dispose();
      this.scratch = this.rt.heap.alloc(8 * b[1]);
      this.n = b[1];
    }
    this.geom = { batches: b[0], classes: s[1] };
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { maxOutputBoxesPerClass: maxOut, iouThreshold: iou, scoreThreshold, centerPointBox } = this.opts;
    const rows = NonMaxSuppression.rowsFor([this.geom.batches, this.n], [0, this.geom.classes], maxOut);
    this.rt.dispatch([{
      fn: "nms_f32",
      args: {
        batches: this.geom.batches, classes: this.geom.classes, n: this.n, maxOut, rows, boxes: inputs[0], scores: inputs[1], scratch: this.scratch, y,
        centerPointBox: centerPointBox ? 1 : 0, iou, scoreThreshold: scoreThreshold ?? 0, useScore: scoreThreshold === undefined ? 0 : 1,
      },
    }], "nonMaxSuppression");
  }

  dispose(): void {
    if (this.scratch !== 0) this.rt.heap.release(this.scratch);
    this.scratch = 0;
    this.n = 0;
  }
}
