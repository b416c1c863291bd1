import { ShapeError } from "../errors.js";
import type { Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

const GRAIN = 16;

/**
 * ONNX Where: y = c ? a : b elementwise over three tensors of one size (the graph materialises
 * broadcasts); a and b are float32 or int32 alike, whose bits move whole.
 */
export class Where implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private n = 0;

  constructor(private readonly rt: Runtime) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const [c, a, b] = shapes;
    const n = sizeOfShape(c);
    if (sizeOfShape(a) !== n || sizeOfShape(b) !== n) {
      throw new ShapeError(`where: condition [${c.join(", ")}], a [${a.join(", ")}] and b [${b.join(", ")}] must hold the same number of elements`);
    }
    return [...c];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.n = sizeOfShape(out);
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const [c, a, b] = inputs;
    const calls = this.rt.ranges(this.n, this.n, GRAIN, PARALLEL_MIN_ELEMENTS).map(([i, j]): Call => ({
      fn: "where_x32", args: { n: j - i, c: c + i * 4, a: a + i * 4, b: b + i * 4, y: y + i * 4 },
    }));
    this.rt.dispatch(calls, "where");
  }

  dispose(): void {}
}
