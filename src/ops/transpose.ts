import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { type Runtime, show } from "../runtime/runtime.js";
import { type Tensor, sizeOfShape, stridesOf } from "../runtime/tensor.js";
import type { Call } from "../runtime/kernels.js";
import { contiguousCopy } from "./copy.js";
import { type PreparedOp, runOn } from "./op.js";

/** Highest rank a permutation may have: the kernels' outer loops plus the 2-D tile. */
export const MAX_TRANSPOSE_RANK = 6;

// Floats from which a transpose is split over the threads (bench/layout.ts, "2 thr"): from 2^20
// (1x16x256x256) two threads beat one whenever the other core was free; at 1x32x112x112 a worker
// late to wake cost about as often as the split saved.
const SPLIT_MIN = 1 << 20;

/**
 * The fastest form of a permutation, found once at construction:
 *  - `copy`: it moves nothing but size-1 axes; the bytes are copied (or aliased by the caller);
 *  - `tiles`: a batched 2-D transpose of the innermost pair of axes that move (y's last moving
 *    axis has `rows`, x's has `cols`), of single floats (`inner` = 1) or of the contiguous runs
 *    of the last axis when it stays last; the other axes are outer loops.
 * Strides count floats.
 */
export type TransposeForm =
  | { kind: "copy"; size: number }
  | { kind: "tiles"; rows: number; cols: number; inner: number; ldx: number; ldy: number; sizes: number[]; xStrides: number[]; yStrides: number[] };

/**
 * Reduces `perm` over `shape` (y's axis i is x's axis perm[i]): size-1 axes are dropped, axes that
 * stay adjacent and in order are merged, and what is left is classified.
 */
export function reducePermutation(shape: readonly number[], perm: readonly number[]): TransposeForm {
  const size = sizeOfShape(shape);
  // y's order over the axes of x that matter, numbered among themselves.
  const kept = shape.map((_, a) => a).filter((a) => shape[a] > 1);
  const order = perm.filter((p) => shape[p] > 1).map((p) => kept.indexOf(p));
  const keptShape = kept.map((a) => shape[a]);
  // Runs of y axes that are consecutive x axes become one axis.
  const groups: number[][] = [];
  for (const a of order) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === a) last.push(a);
    else groups.push([a]);
  }
  if (groups.length <= 1) return { kind: "copy", size };
  const byX = [...groups].sort((g, h) => g[0] - h[0]);
  const dims = byX.map((g) => g.reduce((acc, a) => acc * keptShape[a], 1));
  const q = groups.map((g) => byX.indexOf(g));
  const r = dims.length;
  const xs = stridesOf(dims);
  const ySizes = q.map((a) => dims[a]);
  const ys = stridesOf(ySizes);
  // When the last axis stays last its runs move whole, and the pair is the axes before it.
  const inner = q[r - 1] === r - 1 ? dims[r - 1] : 1;
  const pair = inner === 1 ? r - 1 : r - 2;
  const p = q.indexOf(pair);
  const outer = q.map((_, i) => i).filter((i) => i !== p && i < pair);
  return {
    kind: "tiles",
    rows: dims[q[pair]],
    cols: dims[pair],
    inner,
    ldx: xs[q[pair]],
    ldy: ys[p],
    sizes: outer.map((i) => ySizes[i]),
    xStrides: outer.map((i) => xs[q[i]]),
    yStrides: outer.map((i) => ys[i]),
  };
}


/** Pads outer loops at the front with size-1 axes (stride 0) to `n` of them. */
function padOuter(v: number[], n: number, fill: number): number[] {
  return [...new Array<number>(n - v.length).fill(fill), ...v];
}

/** The kernels' four outer loops: sizes, x's strides, y's strides. */
type Outer = readonly [number, number, number, number, number, number, number, number, number, number, number, number];

/**
 * One kernel call of a `tiles` form over `rows` x `cols` at x and y. The argument object is
 * written out whole: in V8, an object spread into a literal with more fields after it is rebuilt
 * field by field on every run, which was most of a small transpose's time (README).
 */
function tileCall(f: Extract<TransposeForm, { kind: "tiles" }>, o: Outer, rows: number, cols: number, x: number, y: number): Call {
  const [s0, s1, s2, s3, xs0, xs1, xs2, xs3, ys0, ys1, ys2, ys3] = o;
  const { inner, ldx, ldy } = f;
  return inner === 1
    ? { fn: "transpose_f32_4x4", args: { rows, cols, s0, s1, s2, s3, x, ldx, xs0, xs1, xs2, xs3, y, ldy, ys0, ys1, ys2, ys3 } }
    : { fn: "transpose_f32_rows", args: { rows, cols, inner, s0, s1, s2, s3, x, ldx, xs0, xs1, xs2, xs3, y, ldy, ys0, ys1, ys2, ys3 } };
}

/**
 * y = x with its axes permuted (y's axis i is x's axis perm[i]), both row-major float32. Prepared
 * once per input shape: the permutation is reduced to its fastest form, and large transposes are
 * split over the threads by columns (or rows) of their 2-D tile.
 */
export class Transpose implements PreparedOp {
  readonly shape: readonly number[];
  readonly perm: readonly number[];
  readonly outShape: readonly number[];
  readonly form: TransposeForm;
  private readonly size: number;
  private readonly outer: Outer;
  private live = true;

  constructor(
    private readonly rt: Runtime,
    shape: readonly number[],
    perm: readonly number[],
  ) {
    const what = "transpose";
    if (!Array.isArray(shape) || shape.length === 0 || shape.length > MAX_TRANSPOSE_RANK || shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) {
      throw new ShapeError(`${what}: expected a shape of 1 to ${MAX_TRANSPOSE_RANK} positive integer dimensions, got ${show(shape)}`);
    }
    const r = shape.length;
    if (!Array.isArray(perm) || perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new ArgumentError(`${what}: perm must list each of the ${r} axes 0..${r - 1} once, got ${show(perm)}`);
    }
    this.shape = [...shape];
    this.perm = [...perm];
    this.outShape = perm.map((p) => shape[p]);
    this.size = sizeOfShape(shape);
    this.form = reducePermutation(shape, perm);
    const f = this.form;
    this.outer = f.kind === "tiles"
      ? [...padOuter(f.sizes, 4, 1), ...padOuter(f.xStrides, 4, 0), ...padOuter(f.yStrides, 4, 0)] as unknown as Outer
      : [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
  }

  /** True when the permutation moves only size-1 axes: y holds x's bytes as they are. */
  get isAlias(): boolean {
    return this.form.kind === "copy";
  }

  /** Bytes read and written by one run. */
  get moved(): number {
    return 8 * this.size;
  }

  /** A transpose keeps no weights and needs no scratch. */
  get bytes(): { weights: number; scratch: number } {
    return { weights: 0, scratch: 0 };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (shapes.length !== 1 || x.length !== this.shape.length || x.some((d, i) => d !== this.shape[i])) {
      throw new ShapeError(`transpose: prepared for [${this.shape.join(", ")}], got [${shapes.map((s) => s.join(", ")).join("], [")}]`);
    }
    return [...this.outShape];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    return this.outputShape(shapes);
  }

  /** Runs on byte offsets: x holds `shape`, y receives `outShape`; they must not overlap. */
  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    const f = this.form;
    if (f.kind === "copy") {
      this.rt.dispatch([{ fn: "strided_copy_f32", args: contiguousCopy(x, y, this.size) }], "transpose");
      return;
    }
    const { rows, cols, inner, ldx, ldy } = f;
    // Each thread takes a range of the longer side of the tile, in multiples of 4; only large
    // transposes are split, since a second thread that is late to wake costs more than a smaller
    // one takes.
    const byCols = cols >= rows;
    const side = byCols ? cols : rows;
    const parts = this.size >= SPLIT_MIN ? this.rt.ranges(side, this.size, 4) : [[0, side]];
    const calls = parts.map(([a, b]) =>
      byCols
        ? tileCall(f, this.outer, rows, b - a, x + a * inner * 4, y + a * ldy * 4)
        : tileCall(f, this.outer, b - a, cols, x + a * ldx * 4, y + a * inner * 4),
    );
    this.rt.dispatch(calls, "transpose");
  }

  /** Runs on a tensor of `shape`; with `out` given nothing is allocated. */
  run(x: Tensor, out?: Tensor): Tensor {
    if (!this.live) throw new DisposedError("transpose: the prepared op was used after dispose()");
    this.rt.check(x, "transpose x", this.shape.length);
    return runOn(this.rt, this, [x], out);
  }

  dispose(): void {
    this.live = false;
  }
}
