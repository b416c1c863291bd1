import { ShapeError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

/**
 * ONNX NonZero: the indices [rank, count] of the non-zero elements of x, in row-major order. The
 * count depends on the data, so, as NonMaxSuppression's, the op writes an upper bound: [rank,
 * size(x)] int32, each row's first count elements real and zeros after, then one int32, the count.
 * The graph keeps the count beside the value, passes it through readers that move whole columns
 * (src/onnx/import/dtype.ts) and trims the model's output with it.
 */
export class NonZero implements PreparedOp {
  private dims = 0;
  private geom = { rank: 0, n: 0 };

  constructor(
    private readonly rt: Runtime,
    private readonly ints: boolean,
  ) {}

  /** Elements of the upper-bound output for an input shape, the count excluded. */
  static boundFor(shape: readonly number[]): number {
    return shape.length * sizeOfShape(shape);
  }

  get bytes(): { weights: number; scratch: number } {
    return { weights: 0, scratch: this.rt.heap.sizeOf(this.dims) };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (x.length === 0) throw new ShapeError("nonZero: the input must have at least one axis, got a scalar");
    return [NonZero.boundFor(x) + 1];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const x = shapes[0];
    this.dispose();
    this.dims = this.rt.heap.alloc(4 * x.length);
    this.rt.heap.i32.set(x, this.dims / 4);
    this.geom = { rank: x.length, n: sizeOfShape(x) };
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { rank, n } = this.geom;
    this.rt.dispatch([{ fn: "nonzero_x32", args: { rank, n, x: inputs[0], dims: this.dims, y, isInt: this.ints ? 1 : 0 } }], "nonZero");
  }

  dispose(): void {
    if (this.dims !== 0) this.rt.heap.release(this.dims);
    this.dims = 0;
  }
}
