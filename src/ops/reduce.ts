import { ArgumentError, ShapeError } from "../errors.js";
import { type Call, RED } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime, show } from "../runtime/runtime.js";
import { type Tensor, sizeOfShape } from "../runtime/tensor.js";
import { type PreparedOp, once } from "./op.js";
import { checkKeys } from "./options.js";

export type ReduceKind = keyof typeof RED;

export const REDUCE_KINDS = Object.keys(RED) as ReduceKind[];

export interface ReduceOptions {
  /** The axes to reduce, adjacent (in any order, negative from the end); default all. */
  axes?: readonly number[];
  /** Keep the reduced axes as size 1 (default true, as in ONNX). */
  keepDims?: boolean;
}

// LogSumExp reads its input twice and takes an exp per element; the others are one add (or max,
// multiply) per element read.
const LOGSUMEXP_COST = 8;

/**
 * A reduction over a run of adjacent axes [first, first + count) of its input, read as
 * [outer, n, inner] (n the reduced elements): over the channels of NHWC (inner = 1), its spatial
 * axes (inner = channels), or any run of a plain tensor. Each output is one thread's.
 */
export class Reduce implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private outer = 0;
  private n = 0;
  private inner = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly kind: ReduceKind,
    private readonly first: number,
    private readonly count: number,
    private readonly keepDims = true,
  ) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    const { first, count } = this;
    if (first + count > x.length) throw new ShapeError(`reduce: axes ${first}..${first + count - 1} of a rank-${x.length} input`);
    if (this.keepDims) return x.map((d, i) => (i >= first && i < first + count ? 1 : d));
    const out = [...x.slice(0, first), ...x.slice(first + count)];
    // Tensors have rank >= 1: reducing every axis gives one element either way.
    return out.length ? out : [1];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    const x = shapes[0];
    this.outer = sizeOfShape(x.slice(0, this.first));
    this.n = sizeOfShape(x.slice(this.first, this.first + this.count));
    this.inner = sizeOfShape(x.slice(this.first + this.count));
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { outer, n, inner } = this;
    const kind = RED[this.kind];
    const work = outer * n * inner * (this.kind === "logSumExp" ? LOGSUMEXP_COST : 1);
    const calls: Call[] = [];
    // By outputs: whole rows of outer when there are enough, else runs of the inner axis (whole
    // vectors of 16) of each row.
    if (outer >= this.rt.threads || inner === 1) {
      for (const [o0, o1] of this.rt.ranges(outer, work, 1, PARALLEL_MIN_ELEMENTS)) {
        calls.push({ fn: "reduce_f32", args: { outer: o1 - o0, n, inner, cols: inner, x: inputs[0] + o0 * n * inner * 4, y: y + o0 * inner * 4, kind } });
      }
    } else {
      for (let o = 0; o < outer; o++) {
        for (const [i0, i1] of this.rt.ranges(inner, work, 16, PARALLEL_MIN_ELEMENTS)) {
          calls.push({
            fn: "reduce_f32",
            args: { outer: 1, n, inner, cols: i1 - i0, x: inputs[0] + (o * n * inner + i0) * 4, y: y + (o * inner + i0) * 4, kind },
          });
        }
      }
    }
    this.rt.dispatch(calls, "reduce");
  }

  dispose(): void {}
}

/**
 * The run [first, first + count) that axes (ONNX's: negative from the end, any order) name in a
 * rank-r tensor, or undefined when they are not adjacent; every axis when axes is empty.
 */
export function axisRun(axes: readonly number[], r: number, what: string): { first: number; count: number } | undefined {
  if (axes.length === 0) return { first: 0, count: r };
  const norm = axes.map((a) => {
    if (!Number.isInteger(a) || a < -r || a >= r) throw new ArgumentError(`${what}: axis ${show(a)} is out of range for rank ${r}`);
    return a < 0 ? a + r : a;
  });
  const sorted = [...norm].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new ArgumentError(`${what}: axis ${sorted[i]} is given twice`);
  }
  if (sorted[sorted.length - 1] - sorted[0] !== sorted.length - 1) return undefined;
  return { first: sorted[0], count: sorted.length };
}

export function reduce(rt: Runtime, x: Tensor, kind: ReduceKind, opts?: ReduceOptions): Tensor {
  checkKeys(opts, ["axes", "keepDims"], "reduce");
  rt.check(x, "reduce input");
  if (!REDUCE_KINDS.includes(kind)) throw new ArgumentError(`reduce: kind must be one of ${REDUCE_KINDS.join(", ")}, got ${show(kind)}`);
  const axes = opts?.axes ?? [];
  if (!Array.isArray(axes)) throw new ArgumentError(`reduce: axes must be an array of integers, got ${show(axes)}`);
  const keepDims = opts?.keepDims ?? true;
  if (typeof keepDims !== "boolean") throw new ArgumentError(`reduce: keepDims must be true or false, got ${show(keepDims)}`);
  const run = axisRun(axes, x.shape.length, "reduce");
  if (!run) throw new ArgumentError(`reduce: axes must be adjacent, got [${axes.join(", ")}]; transpose them next to each other first`);
  return once(rt, new Reduce(rt, kind, run.first, run.count, keepDims), [x]);
}
