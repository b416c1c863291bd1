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
    this.rt.dispatch([{ fn: "gather_x32", args: { ...this.geom, x: inputs[0], idx: inputs[1], y } }], "gather");
  }

  dispose(): void {}
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
    this.rt.dispatch([{ fn: "gather_elements_x32", args: { ...this.geom, x: inputs[0], idx: inputs[1], y } }], "gatherElements");
  }

  dispose(): void {}
}
