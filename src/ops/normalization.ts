import { ArgumentError, ShapeError } from "../errors.js";
import type { Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime, show } from "../runtime/runtime.js";
import { type Tensor, sizeOfShape } from "../runtime/tensor.js";
import { type Activation, activationCode } from "./activation.js";
import type { PreparedOp } from "./op.js";
import { checkKeys } from "./options.js";

// Three passes over the input (sum, squared deviations, the output) and four operations per
// element in the last.
const NORM_COST = 4;

export interface NormalizeSpec {
  /** Groups along the last axis; each group's statistics are over its channels and the n axis. */
  groups: number;
  /** One scale (and bias) per element of a normalized block [n, c] rather than per channel. */
  perElement: boolean;
  scale: Float32Array;
  bias: Float32Array;
  epsilon: number;
  activation?: Activation;
}

/**
 * Normalization of x read as [outer, n, c], c = groups * cg: each (outer index, group) is
 * normalized over its n * cg elements, then scaled and shifted, then activated. Instance
 * normalization of NHWC is [N, H*W, C] with groups = C; group normalization the same with
 * fewer groups; layer normalization over the trailing elements is [rows, 1, m] with one group
 * and a scale per element. Channels stay where NHWC has them: nothing is transposed.
 */
export class Normalize implements PreparedOp {
  private scale = 0;
  private bias = 0;
  private readonly act;
  private outer = 0;
  private n = 0;
  private c = 0;
  private disposed = false;

  constructor(
    private readonly rt: Runtime,
    private readonly spec: NormalizeSpec,
  ) {
    const { groups, scale, bias, epsilon } = spec;
    if (!Number.isSafeInteger(groups) || groups < 1) throw new ArgumentError(`normalize: groups must be a positive integer, got ${show(groups)}`);
    if (!(scale instanceof Float32Array) || !(bias instanceof Float32Array) || scale.length !== bias.length) {
      throw new ArgumentError("normalize: scale and bias must be Float32Arrays of one length");
    }
    if (typeof epsilon !== "number" || !(epsilon >= 0) || !Number.isFinite(epsilon)) {
      throw new ArgumentError(`normalize: epsilon must be a finite number >= 0, got ${show(epsilon)}`);
    }
    this.act = activationCode(spec.activation, "normalize");
  }

  get bytes(): { weights: number; scratch: number } {
    return { weights: this.scale ? this.spec.scale.length * 8 : 0, scratch: 0 };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (x.length !== 3) throw new ShapeError(`normalize: the input is read as [outer, n, channels], got [${x.join(", ")}]`);
    const [, n, c] = x;
    const { groups, perElement, scale } = this.spec;
    if (c % groups !== 0) throw new ShapeError(`normalize: ${c} channels do not split into ${groups} groups`);
    const want = perElement ? n * c : c;
    if (scale.length !== want) throw new ShapeError(`normalize: scale and bias need ${want} values for [${x.join(", ")}], got ${scale.length}`);
    return [...x];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    [this.outer, this.n, this.c] = shapes[0];
    // Copied in at the first bind, once the shapes have been checked against them.
    if (!this.scale) {
      const heap = this.rt.heap;
      const { scale, bias } = this.spec;
      this.scale = heap.alloc(scale.length * 4);
      this.bias = heap.alloc(bias.length * 4);
      heap.f32.set(scale, this.scale / 4);
      heap.f32.set(bias, this.bias / 4);
    }
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { outer, n, c } = this;
    const { groups, perElement, epsilon } = this.spec;
    const cg = c / groups;
    const work = outer * n * c * NORM_COST;
    const pe = perElement ? 1 : 0;
    const { kind: act, p0, p1 } = this.act;
    const calls: Call[] = [];
    // By whole groups, the unit of the statistics: rows of outer when there are enough, else runs
    // of groups (16 at a time for one-channel groups, the SIMD build's block) of each row.
    if (outer >= this.rt.threads || groups === 1) {
      for (const [o0, o1] of this.rt.ranges(outer, work, 1, PARALLEL_MIN_ELEMENTS)) {
        const at = o0 * n * c * 4;
        calls.push({
          fn: "norm_f32",
          args: { outer: o1 - o0, n, groups, gcount: groups, cg, x: inputs[0] + at, scale: this.scale, bias: this.bias, y: y + at, perElement: pe, eps: epsilon, act, p0, p1 },
        });
      }
    } else {
      for (let o = 0; o < outer; o++) {
        for (const [g0, g1] of this.rt.ranges(groups, work, cg === 1 ? 16 : 1, PARALLEL_MIN_ELEMENTS)) {
          const at = (o * n * c + g0 * cg) * 4;
          const s = g0 * cg * 4;
          calls.push({
            fn: "norm_f32",
            args: { outer: 1, n, groups, gcount: g1 - g0, cg, x: inputs[0] + at, scale: this.scale + s, bias: this.bias + s, y: y + at, perElement: pe, eps: epsilon, act, p0, p1 },
          });
        }
      }
    }
    this.rt.dispatch(calls, "normalize");
  }

  dispose(): void {
    if (this.disposed || !this.scale) return;
    this.disposed = true;
    this.rt.heap.release(this.scale);
    this.rt.heap.release(this.bias);
  }
}

export interface GroupNormOptions {
  /** Groups of adjacent channels sharing statistics (default: one per channel, instance normalization). */
  groups?: number;
  /** One per channel. */
  scale: Float32Array;
  bias: Float32Array;
  epsilon?: number;
  activation?: Activation;
}

/** Instance or group normalization of channels-last x [N, ..., C] over its spatial axes. */
export function groupNorm(rt: Runtime, x: Tensor, opts: GroupNormOptions): Tensor {
  checkKeys(opts, ["groups", "scale", "bias", "epsilon", "activation"], "groupNorm");
  rt.check(x, "groupNorm input");
  if (x.shape.length < 2) throw new ShapeError(`groupNorm: the input needs a batch and a channel axis, got [${x.shape.join(", ")}]`);
  const s = x.shape;
  const c = s[s.length - 1];
  const op = new Normalize(rt, { groups: opts.groups ?? c, perElement: false, scale: opts.scale, bias: opts.bias, epsilon: opts.epsilon ?? 1e-5, activation: opts.activation });
  return runReshaped(rt, op, x, [s[0], sizeOfShape(s.slice(1, -1)), c]);
}

export interface LayerNormOptions {
  /** The first normalized axis (default -1): the statistics are over it and every axis after it. */
  axis?: number;
  /** One per normalized element (the shape of the axes from `axis` on). */
  scale: Float32Array;
  bias: Float32Array;
  epsilon?: number;
  activation?: Activation;
}

/** Layer normalization over the trailing axes of x. */
export function layerNorm(rt: Runtime, x: Tensor, opts: LayerNormOptions): Tensor {
  checkKeys(opts, ["axis", "scale", "bias", "epsilon", "activation"], "layerNorm");
  rt.check(x, "layerNorm input");
  const r = x.shape.length;
  const axis = opts.axis ?? -1;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) throw new ArgumentError(`layerNorm: axis ${show(axis)} is out of range for rank ${r}`);
  const a = axis < 0 ? axis + r : axis;
  const m = sizeOfShape(x.shape.slice(a));
  const op = new Normalize(rt, { groups: 1, perElement: true, scale: opts.scale, bias: opts.bias, epsilon: opts.epsilon ?? 1e-5, activation: opts.activation });
  return runReshaped(rt, op, x, [sizeOfShape(x.shape.slice(0, a)), 1, m]);
}

/** Runs op on x viewed as `view` (same elements), returning x's shape. */
function runReshaped(rt: Runtime, op: PreparedOp, x: Tensor, view: number[]): Tensor {
  try {
    op.bind([view]);
    const y = rt.empty(x.shape);
    op.exec([x.ptr], y.ptr);
    return y;
  } finally {
    op.dispose();
  }
}

/**
 * LpNormalization (p 1 or 2) over one axis of x read as [outer, n, inner]: y = x / ||x||_p, the
 * norm summed as the reduction of the same layout sums it; 0 where the norm is 0.
 */
export class LpNorm implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private dims: [number, number, number] = [0, 0, 0];

  constructor(
    private readonly rt: Runtime,
    private readonly p: 1 | 2,
  ) {
    if (p !== 1 && p !== 2) throw new ArgumentError(`lpNorm: p must be 1 or 2, got ${show(p)}`);
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (x.length !== 3) throw new ShapeError(`lpNorm: the input is read as [outer, n, inner], got [${x.join(", ")}]`);
    return [...x];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.dims = [shapes[0][0], shapes[0][1], shapes[0][2]];
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const [outer, n, inner] = this.dims;
    const calls = this.rt.ranges(outer, outer * n * inner * 2, 1, PARALLEL_MIN_ELEMENTS).map(([o0, o1]): Call => {
      const at = o0 * n * inner * 4;
      return { fn: "lpnorm_f32", args: { outer: o1 - o0, n, inner, cols: inner, x: inputs[0] + at, y: y + at, p: this.p } };
    });
    this.rt.dispatch(calls, "lpNorm");
  }

  dispose(): void {}
}

/** LpNormalization of x along `axis` (default -1). */
export function lpNorm(rt: Runtime, x: Tensor, opts?: { axis?: number; p?: 1 | 2 }): Tensor {
  checkKeys(opts, ["axis", "p"], "lpNorm");
  rt.check(x, "lpNorm input");
  const r = x.shape.length;
  const axis = opts?.axis ?? -1;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) throw new ArgumentError(`lpNorm: axis ${show(axis)} is out of range for rank ${r}`);
  const a = axis < 0 ? axis + r : axis;
  const s = x.shape;
  return runReshaped(rt, new LpNorm(rt, opts?.p ?? 2), x, [sizeOfShape(s.slice(0, a)), s[a], sizeOfShape(s.slice(a + 1))]);
}
