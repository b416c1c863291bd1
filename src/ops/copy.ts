import { ShapeError } from "../errors.js";
import type { KernelArgs } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime } from "../runtime/runtime.js";
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
  private size = 0;
  /** `fill` as a one-float source, broadcast over the output by the copy kernel. */
  private fillPtr = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly copies: readonly StridedCopyPlan[],
    private readonly outShape: readonly number[],
    fill?: number,
    /** The output holds int32 elements: `fill` is written as one. */
    intFill = false,
  ) {
    if (fill !== undefined) {
      this.fillPtr = rt.heap.alloc(16);
      if (intFill) rt.heap.i32[this.fillPtr / 4] = fill;
      else rt.heap.f32[this.fillPtr / 4] = fill;
    }
  }

  get bytes(): { weights: number; scratch: number } {
    return { weights: this.rt.heap.sizeOf(this.fillPtr), scratch: 0 };
  }

  /** The planned output shape, once every copy is checked to stay inside its source and destination. */
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const inSize = sizeOfShape(shapes[0]);
    const outSize = sizeOfShape(this.outShape);
    for (const c of this.copies) {
      const from = span(c.sizes, c.from, c.fromOffset);
      const to = span(c.sizes, c.to, c.toOffset);
      if (from && (from[0] < 0 || from[1] >= inSize)) {
        throw new ShapeError(`copy: reads floats ${from[0]}..${from[1]} of an input [${shapes[0].join(", ")}] that holds ${inSize}`);
      }
      if (to && (to[0] < 0 || to[1] >= outSize)) {
        throw new ShapeError(`copy: writes floats ${to[0]}..${to[1]} of an output [${this.outShape.join(", ")}] that holds ${outSize}`);
      }
    }
    return [...this.outShape];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.size = sizeOfShape(out);
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    if (this.fillPtr !== 0) {
      const fill: StridedCopyPlan = { sizes: [1, 1, 1, 1, 1, this.size], from: [0, 0, 0, 0, 0, 0], to: [0, 0, 0, 0, 0, 1], fromOffset: 0, toOffset: 0 };
      this.rt.dispatch(splitCopy(this.rt, fill).map((c) => ({ fn: "strided_copy_f32", args: stridedCopyArgs(c, this.fillPtr, y) })), "copy");
    }
    for (const copy of this.copies) {
      this.rt.dispatch(splitCopy(this.rt, copy).map((c) => ({ fn: "strided_copy_f32", args: stridedCopyArgs(c, x, y) })), "copy");
    }
  }

  dispose(): void {
    if (this.fillPtr !== 0) this.rt.heap.release(this.fillPtr);
    this.fillPtr = 0;
  }
}

/**
 * A copy as calls over ranges of its outermost dimension of more than one element (16 at a time
 * when it is the innermost, so that a vector's floats stay in one call). Each destination float
 * is written by one call: a destination stride of 0 (a broadcast onto one element) is not split.
 */
function splitCopy(rt: Runtime, c: StridedCopyPlan): StridedCopyPlan[] {
  const d = c.sizes.findIndex((s) => s > 1);
  if (d < 0 || c.to[d] === 0) return [c];
  return rt.ranges(c.sizes[d], sizeOfShape(c.sizes), d === c.sizes.length - 1 ? 16 : 1, PARALLEL_MIN_ELEMENTS).map(([a, b]) => ({
    sizes: c.sizes.map((s, i) => (i === d ? b - a : s)),
    from: c.from,
    to: c.to,
    fromOffset: c.fromOffset + a * c.from[d],
    toOffset: c.toOffset + a * c.to[d],
  }));
}

/** The lowest and highest float offsets a copy touches on one side, or undefined when it is empty. */
function span(sizes: readonly number[], strides: readonly number[], offset: number): [number, number] | undefined {
  let lo = offset;
  let hi = offset;
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] === 0) return undefined;
    const reach = (sizes[i] - 1) * strides[i];
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  return [lo, hi];
}

/** The kernel's arguments for one planned copy from x to y (byte offsets). */
export function stridedCopyArgs(c: StridedCopyPlan, x: number, y: number): KernelArgs<"strided_copy_f32"> {
  const [s0, s1, s2, s3, s4, s5] = c.sizes;
  const [xs0, xs1, xs2, xs3, xs4, xs5] = c.from;
  const [ys0, ys1, ys2, ys3, ys4, ys5] = c.to;
  return { s0, s1, s2, s3, s4, s5, x: x + c.fromOffset * 4, xs0, xs1, xs2, xs3, xs4, xs5, y: y + c.toOffset * 4, ys0, ys1, ys2, ys3, ys4, ys5 };
}

/** The kernel's arguments for copying n contiguous floats from x to y. */
export function contiguousCopy(x: number, y: number, n: number): KernelArgs<"strided_copy_f32"> {
  return stridedCopyArgs({ sizes: [1, 1, 1, 1, 1, n], from: [0, 0, 0, 0, 0, 1], to: [0, 0, 0, 0, 0, 1], fromOffset: 0, toOffset: 0 }, x, y);
}
