import { ArgumentError, ShapeError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

/**
 * The positions of ONNX TopK: along `axis`, the k largest (or smallest) values' positions in
 * order (always sorted; ties to the lower position, as onnxruntime; NaN counts as larger than any
 * number), as int32. The values themselves are a GatherElements of x by these positions.
 */
export class TopK implements PreparedOp {
  private scratch = 0;
  private geom = { outer: 0, axisLen: 0, inner: 0 };

  constructor(
    private readonly rt: Runtime,
    private readonly axis: number,
    private readonly k: number,
    private readonly largest: boolean,
  ) {
    if (!(Number.isInteger(k) && k >= 1)) throw new ArgumentError(`topk: k must be a positive integer, got ${k}`);
  }

  get bytes(): { weights: number; scratch: number } {
    return { weights: 0, scratch: this.rt.heap.sizeOf(this.scratch) };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (!(Number.isInteger(this.axis) && this.axis >= 0 && this.axis < x.length)) throw new ShapeError(`topk: axis ${this.axis} is outside the input [${x.join(", ")}]`);
    if (this.k > x[this.axis]) throw new ShapeError(`topk: k = ${this.k} is more than the ${x[this.axis]} values along axis ${this.axis} of [${x.join(", ")}]`);
    return x.map((d, i) => (i === this.axis ? this.k : d));
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const x = shapes[0];
    const axisLen = x[this.axis];
    if (axisLen !== this.geom.axisLen) {
      this.dispose();
      this.scratch = this.rt.heap.alloc(8 * axisLen);
    }
    this.geom = { outer: sizeOfShape(x.slice(0, this.axis)), axisLen, inner: sizeOfShape(x.slice(this.axis + 1)) };
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { outer, axisLen, inner } = this.geom;
    this.rt.dispatch([{ fn: "topk_f32", args: { outer, axisLen, inner, k: this.k, x: inputs[0], scratch: this.scratch, y, largest: this.largest ? 1 : 0 } }], "topk");
  }

  dispose(): void {
    if (this.scratch !== 0) this.rt.heap.release(this.scratch);
    this.scratch = 0;
    this.geom = { outer: 0, axisLen: 0, inner: 0 };
  }
}
