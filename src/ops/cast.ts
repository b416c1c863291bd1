import { ArgumentError } from "../errors.js";
import { CAST, type Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime, show } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

/** A run-time conversion: float32 to int32 (toward zero, saturating, NaN to 0) or back, or either to bool (x != 0). */
export type CastKind = keyof typeof CAST;

const GRAIN = 16;

/** ONNX Cast between float32, int32 (standing for every integer type) and bool, elementwise. */
export class Cast implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private n = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly kind: CastKind,
  ) {
    if (!Object.hasOwn(CAST, kind)) throw new ArgumentError(`cast: unknown conversion ${show(kind)}; expected one of ${Object.keys(CAST).join(", ")}`);
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...shapes[0]];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    this.n = sizeOfShape(shapes[0]);
    return [...shapes[0]];
  }

  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    const kind = CAST[this.kind];
    const calls = this.rt.ranges(this.n, this.n, GRAIN, PARALLEL_MIN_ELEMENTS).map(([i, j]): Call => ({
      fn: "cast_x32", args: { n: j - i, x: x + i * 4, y: y + i * 4, kind },
    }));
    this.rt.dispatch(calls, "cast");
  }

  dispose(): void {}
}
