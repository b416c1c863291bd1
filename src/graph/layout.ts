import { stridesOf } from "../runtime/tensor.js";
import type { CopyPlan, Step, Value } from "./ir.js";

/** Pads a plan of up to six dimensions at the front with size-1 dimensions. */
export function copyPlan(sizes: number[], from: number[], to: number[], fromOffset = 0, toOffset = 0): CopyPlan {
  if (sizes.length > 6) throw new Error(`internal: copies of rank ${sizes.length} > 6`);
  const pad = 6 - sizes.length;
  return {
    sizes: [...new Array<number>(pad).fill(1), ...sizes],
    from: [...new Array<number>(pad).fill(0), ...from],
    to: [...new Array<number>(pad).fill(0), ...to],
    fromOffset,
    toOffset,
  };
}

/** y = x with its axes permuted (y's axis i is x's axis perm[i]), both row-major. */
export function permutePlan(xShape: readonly number[], perm: readonly number[]): CopyPlan {
  const xs = stridesOf(xShape);
  const sizes = perm.map((p) => xShape[p]);
  return copyPlan(sizes, perm.map((p) => xs[p]), stridesOf(sizes));
}

/** The copy step y = x with its axes permuted (y's axis i is x's axis perm[i]). */
export function permuteStep(x: Value, y: Value, perm: number[]): Step {
  const dims = perm.map((p) => x.shape[p]);
  if (dims.join() !== y.shape.join()) throw new Error(`internal: [${x.shape}] permuted by [${perm}] is not [${y.shape}]`);
  return { op: "copy", x, y, copies: [permutePlan(x.shape, perm)], perm };
}

export const NCHW_TO_NHWC = [0, 2, 3, 1];
export const NHWC_TO_NCHW = [0, 3, 1, 2];

/** NCHW dims -> the NHWC shape they are stored in. */
export function nhwcShape(dims: readonly number[]): number[] {
  return [dims[0], dims[2], dims[3], dims[1]];
}
