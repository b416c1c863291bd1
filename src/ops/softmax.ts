import { PARALLEL_MIN_ELEMENTS, type Runtime } from "../runtime/runtime.js";
import { type Tensor, sizeOfShape } from "../runtime/tensor.js";
import type { Call } from "../runtime/kernels.js";
import { type PreparedOp, once } from "./op.js";

// One thread's softmax took about 8 times as long an element as relu or add (its exp, a max and
// a division per element), so it pays for threads at an eighth of their elements.
const EXP_COST = 8;

/** Softmax over the last axis, or its log. */
export class Softmax implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private rows = 0;
  private cols = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly log = false,
  ) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...shapes[0]];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    this.cols = x[x.length - 1];
    this.rows = sizeOfShape(x) / this.cols;
    return [...x];
  }

  exec(inputs: readonly number[], y: number): void {
    const { rows, cols } = this;
    // Whole rows per thread: a row's sum is one order of additions.
    const calls = this.rt.ranges(rows, rows * cols * EXP_COST, 1, PARALLEL_MIN_ELEMENTS).map(([r0, r1]): Call => ({
      fn: this.log ? "log_softmax_f32" : "softmax_f32",
      args: { rows: r1 - r0, cols, x: inputs[0] + r0 * cols * 4, y: y + r0 * cols * 4 },
    }));
    this.rt.dispatch(calls, this.log ? "logSoftmax" : "softmax");
  }

  dispose(): void {}
}

export function softmax(rt: Runtime, x: Tensor, log = false): Tensor {
  rt.check(x, log ? "logSoftmax input" : "softmax input");
  return once(rt, new Softmax(rt, log), [x]);
}
