import { ShapeError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

function checkAxis(what: string, axis: number, x: readonly number[]): void {
  if (!(Number.isInteger(axis) && axis >= 0 && axis < x.length)) throw new ShapeError(`${what}: axis ${axis} is outside the input [${x.join(", ")}]`);
}

/**
 * ONNX Gather with indices computed at run time (int32; negative ones count from the end of the
 * axis): y = x[..., indices, ...] along `axis`, of shape x[:axis] + indices + x[axis+1:]. An index
 * still outside the axis gives a row of zeros: the run cannot stop to throw.
 */
export class Gather implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private geom = { outer: 0, axisLen: 0, inner: 0, count: 0 };

  constructor(
    private readonly rt: Runtime,
    private readonly axis: number,
  ) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const [x, idx] = shapes;
    checkAxis("gather", this.axis, x);
    return [...x.slice(0, this.axis), ...idx, ...x.slice(this.axis + 1)];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const [x, idx] = shapes;
    this.geom = { outer: sizeOfShape(x.slice(0, this.axis)), axisLen: x[this.axis], inner: sizeOfShape(x.slice(this.axis + 1)), count: sizeOfShape(idx) };
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { outer, axisLen, inner, count } = this.geom;
    this.rt.dispatch([{ fn: "gather_x32", args: { outer, axisLen, inner, count, x: inputs[0], idx: inputs[1], y } }], "gather");
  }

  dispose(): void {}
}

/**
 * ONNX GatherND: indices [...batch, ...rest, k] pick slices of x over x's first k axes after
 * `batchDims` batch axes; y is indices' shape without its last axis, then x's axes after those k.
 * Indices outside their axis read a zero slice, as for Gather.
 */
export class GatherND implements PreparedOp {
  private table = 0;
  private geom = { batches: 0, count: 0, k: 0, slice: 0, xBatch: 0 };

  constructor(
    private readonly rt: Runtime,
    private readonly batchDims: number,
  ) {}

  get bytes(): { weights: number; scratch: number } {
    return { weights: 0, scratch: this.rt.heap.sizeOf(this.table) };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const [x, idx] = shapes;
    const b = this.batchDims;
    const k = idx[idx.length - 1];
    if (!(Number.isInteger(b) && b >= 0 && b < Math.min(x.length, idx.length))) throw new ShapeError(`gatherND: batchDims ${b} must be below the ranks of data [${x.join(", ")}] and indices [${idx.join(", ")}]`);
    if (!(k >= 1 && b + k <= x.length)) throw new ShapeError(`gatherND: index tuples of ${k} values do not fit data [${x.join(", ")}] after ${b} batch axes`);
    if (x.slice(0, b).some((d, i) => d !== idx[i])) throw new ShapeError(`gatherND: the batch axes of data [${x.join(", ")}] and indices [${idx.join(", ")}] differ`);
    return [...idx.slice(0, -1), ...x.slice(b + k)];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const [x, idx] = shapes;
    const b = this.batchDims;
    const k = idx[idx.length - 1];
    const batches = sizeOfShape(x.slice(0, b));
    const inner = x.slice(b);
    const strides = inner.map((_, i) => sizeOfShape(inner.slice(i + 1)));
    this.dispose();
    this.table = this.rt.heap.alloc(8 * x.length);
    this.rt.heap.i32.set(inner.slice(0, k), this.table / 4);
    this.rt.heap.i32.set(strides.slice(0, k), this.table / 4 + k);
    this.geom = { batches, count: sizeOfShape(idx.slice(b, -1)), k, slice: sizeOfShape(x.slice(b + k)), xBatch: sizeOfShape(inner) };
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { batches, count, k, slice, xBatch } = this.geom;
    const table = this.table;
    this.rt.dispatch([{ fn: "gather_nd_x32", args: { batches, count, k, slice, x: inputs[0], xBatch, dims: table, strides: table + 4 * k, idx: inputs[1], y } }], "gatherND");
  }

  dispose(): void {
    if (this.table !== 0) this.rt.heap.release(this.table);
    this.table = 0;
  }
}

/**
 * ONNX GatherElements: y[..., q, ...] = x[..., indices[..., q, ...], ...] along `axis`; indices
 * has x's shape except along the axis (ONNX also allows smaller other axes: not supported).
 * Indices outside the axis read 0, as for Gather.
 */
export class GatherElements implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private geom = { outer: 0, axisX: 0, axisI: 0, inner: 0 };

  constructor(
    private readonly rt: Runtime,
    private readonly axis: number,
  ) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const [x, idx] = shapes;
    checkAxis("gatherElements", this.axis, x);
    if (idx.length !== x.length || idx.some((d, i) => i !== this.axis && d !== x[i])) {
      throw new ShapeError(`gatherElements: indices [${idx.join(", ")}] must match the input [${x.join(", ")}] on every axis but ${this.axis}`);
    }
    return [...idx];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const [x, idx] = shapes;
    this.geom = { outer: sizeOfShape(x.slice(0, this.axis)), axisX: x[this.axis], axisI: idx[this.axis], inner: sizeOfShape(x.slice(this.axis + 1)) };
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { outer, axisX, axisI, inner } = this.geom;
    this.rt.dispatch([{ fn: "gather_elements_x32", args: { outer, axisX, axisI, inner, x: inputs[0], idx: inputs[1], y } }], "gatherElements");
  }

  dispose(): void {}
}
