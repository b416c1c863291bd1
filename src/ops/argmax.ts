import { ArgumentError } from "../errors.js";
import type { Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime, show } from "../runtime/runtime.js";
import { type Tensor, sizeOfShape } from "../runtime/tensor.js";
import { type PreparedOp, once } from "./op.js";
import { checkKeys } from "./options.js";

export interface ArgMaxOptions {
  /** Ties go to the last index rather than the first (ONNX select_last_index). */
  selectLastIndex?: boolean;
  /** Keep the reduced axis as size 1 (default true, as in ONNX); a vector gives [1] either way. */
  keepDims?: boolean;
  /** The index of the minimum instead (ArgMin), by the same rules. */
  min?: boolean;
}

/**
 * The index of the maximum along the last axis (the channels of NHWC: a label map from per-class
 * scores). The graph holds float32 only, so indices are written as float32 values, exact up to
 * 2^24 classes. NaN never wins; a row of NaNs gives 0. With `min`, the index of the minimum.
 */
export class ArgMax implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private rows = 0;
  private cols = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly last: boolean,
    private readonly keepDims = true,
    private readonly min = false,
  ) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (x.length === 0) throw new ArgumentError("argmax: the input needs at least one axis");
    // Tensors have rank >= 1: a vector's index is a 1-element vector either way.
    return this.keepDims || x.length === 1 ? [...x.slice(0, -1), 1] : x.slice(0, -1);
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const x = shapes[0];
    this.cols = x[x.length - 1];
    this.rows = sizeOfShape(x) / this.cols;
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { rows, cols } = this;
    const last = this.last ? 1 : 0;
    const isMin = this.min ? 1 : 0;
    const calls = this.rt.ranges(rows, rows * cols, 1, PARALLEL_MIN_ELEMENTS).map(([r0, r1]): Call => ({
      fn: "argmax_f32",
      args: { rows: r1 - r0, cols, x: inputs[0] + r0 * cols * 4, y: y + r0 * 4, last, isMin },
    }));
    this.rt.dispatch(calls, "argmax");
  }

  dispose(): void {}
}

export function argmax(rt: Runtime, x: Tensor, opts?: ArgMaxOptions): Tensor {
  checkKeys(opts, ["selectLastIndex", "keepDims", "min"], "argmax");
  rt.check(x, "argmax input");
  for (const key of ["selectLastIndex", "keepDims", "min"] as const) {
    const v = opts?.[key];
    if (v !== undefined && typeof v !== "boolean") throw new ArgumentError(`argmax: ${key} must be true or false, got ${show(v)}`);
  }
  return once(rt, new ArgMax(rt, opts?.selectLastIndex ?? false, opts?.keepDims ?? true, opts?.min ?? false), [x]);
}
