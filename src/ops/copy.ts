import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

/** One strided_copy_f32 call: six dimensions and the strides, in floats, of source and destination. */
export interface StridedCopyPlan {
  sizes: readonly number[];
  from: readonly number[];
  to: readonly number[];
  /** Offsets in floats into source and destination. */
  fromOffset: number;
  toOffset: number;
}

/** Layout copies planned by the graph: the output filled with `fill` (when given), then the copies. */
export class StridedCopy implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private size = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly copies: readonly StridedCopyPlan[],
    private readonly outShape: readonly number[],
    private readonly fill?: number,
  ) {}

  outputShape(): number[] {
    return [...this.outShape];
  }

  bind(): number[] {
    this.size = sizeOfShape(this.outShape);
    return [...this.outShape];
  }

  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    if (this.fill !== undefined) this.rt.heap.f32.fill(this.fill, y / 4, y / 4 + this.size);
    for (const c of this.copies) {
      this.rt.dispatch([{ fn: "strided_copy_f32", args: [x + c.fromOffset * 4, y + c.toOffset * 4, ...c.sizes, ...c.from, ...c.to] }], "copy");
    }
  }

  dispose(): void {}
}
