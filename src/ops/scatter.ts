import { ShapeError } from "../errors.js";
import { SCATTER } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

/** ONNX ScatterND's `reduction` other than none. */
export type ScatterReduction = keyof typeof SCATTER;

/**
 * ONNX ScatterND: y = x with the slices that indices [..., k] pick over x's first k axes replaced
 * by the matching slices of updates (indices' shape without its last axis, then x's axes after
 * those k), in order, so a repeated index takes its last update; or, with a reduction, combined
 * with them (add, mul, max, min; repeated indices accumulate in order, on int32 values when
 * `ints`). Negative indices count from the end, and a tuple outside x writes nothing.
 */
export class ScatterND implements PreparedOp {
  private table = 0;
  private geom = { n: 0, count: 0, k: 0, slice: 0 };

  constructor(
    private readonly rt: Runtime,
    private readonly reduction?: ScatterReduction,
    private readonly ints = false,
  ) {}

  get bytes(): { weights: number; scratch: number } {
    return { weights: 0, scratch: this.rt.heap.sizeOf(this.table) };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const [x, idx, upd] = shapes;
    const k = idx[idx.length - 1];
    if (!(k >= 1 && k <= x.length)) throw new ShapeError(`scatterND: index tuples of ${k} values do not fit data [${x.join(", ")}]`);
    const want = [...idx.slice(0, -1), ...x.slice(k)];
    if (want.join() !== upd.join()) throw new ShapeError(`scatterND: updates must be [${want.join(", ")}] for data [${x.join(", ")}] and indices [${idx.join(", ")}], got [${upd.join(", ")}]`);
    return [...x];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const [x, idx] = shapes;
    const k = idx[idx.length - 1];
    this.dispose();
    this.table = this.rt.heap.alloc(8 * k);
    this.rt.heap.i32.set(x.slice(0, k), this.table / 4);
    this.rt.heap.i32.set(x.slice(0, k).map((_, i) => sizeOfShape(x.slice(i + 1))), this.table / 4 + k);
    this.geom = { n: sizeOfShape(x), count: sizeOfShape(idx.slice(0, -1)), k, slice: sizeOfShape(x.slice(k)) };
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const [x, idx, upd] = inputs;
    const { n, count, k, slice } = this.geom;
    const dims = this.table;
    const strides = dims + 4 * k;
    if (this.reduction === undefined) {
      this.rt.dispatch([{ fn: "scatter_nd_x32", args: { n, count, k, slice, x, dims, strides, idx, upd, y } }], "scatterND");
      return;
    }
    const op = SCATTER[this.reduction];
    this.rt.dispatch([{ fn: "scatter_nd_reduce_x32", args: { n, count, k, slice, x, dims, strides, idx, upd, y, op, isInt: this.ints ? 1 : 0 } }], "scatterND");
  }

  dispose(): void {
    if (this.table !== 0) this.rt.heap.release(this.table);
    this.table = 0;
  }
}
