import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { BIN, GEMM_MR, GEMM_NR, type KernelArgs } from "../runtime/kernels.js";
import { type Runtime, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Activation, type ActivationCode, activationCode } from "./activation.js";
import { stridedCopyArgs } from "./copy.js";
import { type PreparedOp, runOn } from "./op.js";
import { checkKeys, finite } from "./options.js";

export interface GemmOptions {
  /** [N], added to every row. */
  bias?: Tensor | Float32Array;
  /** a is given as [K, M]. */
  transA?: boolean;
  /** b is given as [N, K]. */
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** Added as beta * c: [N], [1, N] or [1] are folded into the bias; [M, N] or [M, 1] are added per row. */
  c?: Tensor;
  activation?: Activation;
}

const KEYS = ["bias", "transA", "transB", "alpha", "beta", "c", "activation"] as const;

interface Plan {
  key: string;
  m: number;
  ind: number;
  /** The second input's shape as [rows, cols] (broadcast to [M, N]), or undefined. */
  c: [number, number] | undefined;
  /** Scratch for beta * c broadcast to [M, N]; 0 when c is added as it is. */
  residual: number;
  /** Scratch for a transposed a. */
  at: number;
}

/**
 * ONNX Gemm, the one implementation of it: y = act(alpha * A' B' + bias + beta * C), A' and B'
 * optionally transposed, with b packed once into the micro-kernel's panels (alpha folded in).
 * a is read in place through a table of row offsets, so a [M, K] GEMM is the indirect GEMM with
 * one tap. C known at construction (`c`) that does not vary by row is folded into the bias;
 * otherwise C is the op's second input (any shape that broadcasts to [M, N]), added in the
 * kernel's store, as it is when beta = 1 and it is [M, N], else as beta * C materialised.
 */
export class Gemm implements PreparedOp {
  readonly k: number;
  readonly n: number;
  private readonly transA: boolean;
  private readonly act: ActivationCode;
  private readonly beta: number;
  private readonly cRows: Tensor | undefined;
  private packed: number;
  private readonly zero: number;
  private betaPtr = 0;
  private plan: Plan | undefined;

  constructor(
    private readonly rt: Runtime,
    b: Tensor,
    opts: GemmOptions = {},
  ) {
    const what = "gemm";
    checkKeys(opts, KEYS, what);
    rt.check(b, `${what} b`, 2);
    const transB = bool(opts.transB, `${what} transB`);
    this.transA = bool(opts.transA, `${what} transA`);
    const [k, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
    this.k = k;
    this.n = n;
    const alpha = finite(opts.alpha, 1, `${what} alpha`);
    this.beta = finite(opts.beta, 1, `${what} beta`);
    this.act = activationCode(opts.activation, what);

    // The bias the kernel adds: bias + beta * c when c does not vary by row.
    const bias = new Float32Array(n);
    if (opts.bias !== undefined) {
      if (opts.bias instanceof Float32Array) {
        if (opts.bias.length !== n) throw new ShapeError(`${what} bias: expected ${n} values, got ${opts.bias.length}`);
        bias.set(opts.bias);
      } else {
        rt.check(opts.bias, `${what} bias`, 1);
        if (opts.bias.shape[0] !== n) throw new ShapeError(`${what} bias: expected [${n}], got [${opts.bias.shape.join(", ")}]`);
        bias.set(opts.bias.toArray());
      }
    }
    if (opts.c !== undefined) {
      const c = rt.check(opts.c, `${what} c`);
      const s = c.shape;
      const perColumn = (s.length === 1 && (s[0] === n || s[0] === 1)) || (s.length === 2 && s[0] === 1 && (s[1] === n || s[1] === 1));
      if (perColumn) {
        const cv = c.toArray();
        for (let j = 0; j < n; j++) bias[j] += this.beta * cv[cv.length === 1 ? 0 : j];
      } else if (s.length === 2 && (s[1] === n || s[1] === 1)) {
        this.cRows = c;
      } else {
        throw new ShapeError(`${what} c: expected [${n}], [1, ${n}], [M, ${n}], [M, 1] or [1], got [${s.join(", ")}]`);
      }
    }
    const hasBias = opts.bias !== undefined || (opts.c !== undefined && this.cRows === undefined);
    const biasT = hasBias ? rt.fromArray(bias, [n], `${what} bias`) : undefined;
    try {
      this.packed = rt.heap.alloc(Math.ceil(n / GEMM_NR) * GEMM_NR * (k + 1) * 4);
      const [sk, sn] = transB ? [1, k] : [n, 1];
      rt.dispatch([{ fn: "pack_gemm_f32_8", args: { k, n, b: b.ptr, sk, sn, bias: biasT ? biasT.ptr : 0, out: this.packed, alpha } }], what);
    } finally {
      biasT?.dispose();
    }
    this.zero = rt.zeros(16);
    // beta as a one-element operand for the kernel that scales a C that is not added as it is.
    if (this.beta !== 1) {
      this.betaPtr = rt.heap.alloc(16);
      rt.heap.f32[this.betaPtr / 4] = this.beta;
    }
  }

  /** [M, N] for a [M, K] ([K, M] with transA) and a C input (`shapes[1]`) that broadcasts to it. */
  outputShape(shapes: readonly (readonly number[])[]): [number, number] {
    const what = "gemm";
    const a = shapes[0];
    if (a.length !== 2) throw new ShapeError(`${what} a: expected rank 2, got shape [${a.join(", ")}]`);
    const [m, k] = this.transA ? [a[1], a[0]] : [a[0], a[1]];
    if (k !== this.k) throw new ShapeError(`${what}: a has ${k} columns${this.transA ? " (after transA)" : ""}, b has ${this.k} rows`);
    if (shapes[1] !== undefined) this.cDims(shapes[1], m);
    return [m, this.n];
  }

  private cDims(s: readonly number[], m: number): [number, number] {
    const n = this.n;
    const [r, c] = s.length === 2 ? s : s.length === 1 ? [1, s[0]] : [1, 1];
    if (s.length > 2 || (r !== m && r !== 1) || (c !== n && c !== 1)) {
      throw new ShapeError(`gemm c: expected [${m}, ${n}] or [${m}, 1] for ${m} rows (or a shape broadcasting to [${m}, ${n}]), got [${s.join(", ")}]`);
    }
    return [r, c];
  }

  /** Prepares the plan for the shapes of a and C (reused while they stay) and returns [M, N]. */
  bind(shapes: readonly (readonly number[])[]): [number, number] {
    if (this.packed === 0) throw new DisposedError("gemm: the prepared op was used after dispose()");
    const out = this.outputShape(shapes);
    const key = shapes.map((s) => s.join("x")).join(";");
    if (this.plan?.key === key) return out;
    this.releasePlan();
    const m = out[0];
    const heap = this.rt.heap;
    const ind = heap.alloc(Math.ceil(m / GEMM_MR) * GEMM_MR * 4);
    this.rt.dispatch([{ fn: "conv2d_indirection", args: gemmRows(m, this.k, ind) }], "gemm");
    const c = shapes[1] && this.cDims(shapes[1], m);
    const plan: Plan = { key, m, ind, c, residual: 0, at: 0 };
    this.plan = plan;
    if (this.transA) plan.at = heap.alloc(m * this.k * 4);
    if (c && !(this.beta === 1 && c[0] === m && c[1] === this.n)) plan.residual = heap.alloc(m * this.n * 4);
    return out;
  }

  private releasePlan(): void {
    const p = this.plan;
    if (!p) return;
    const heap = this.rt.heap;
    heap.release(p.ind);
    if (p.at) heap.release(p.at);
    if (p.residual) heap.release(p.residual);
    this.plan = undefined;
  }

  /** Bytes of packed weights and of the current plan's scratch. */
  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    const p = this.plan;
    const scratch = p ? heap.sizeOf(p.ind) + heap.sizeOf(p.at) + heap.sizeOf(p.residual) : 0;
    return { weights: heap.sizeOf(this.packed) + heap.sizeOf(this.zero) + heap.sizeOf(this.betaPtr), scratch };
  }

  /**
   * Runs the bound plan: inputs are the byte offsets of a ([M, K], or [K, M] with transA) and,
   * when bound with one, of C; y is [M, N].
   */
  exec(inputs: readonly number[], y: number): void {
    const plan = this.plan!;
    const [a, c] = inputs;
    let src = a;
    if (this.transA) {
      const [s0, s1, s2, s3, xs0, xs1, xs2, xs3, ys0, ys1, ys2, ys3] = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
      const args = { rows: this.k, cols: plan.m, s0, s1, s2, s3, x: a, ldx: plan.m, xs0, xs1, xs2, xs3, y: plan.at, ldy: this.k, ys0, ys1, ys2, ys3 };
      this.rt.dispatch([{ fn: "transpose_f32_4x4", args }], "gemm");
      src = plan.at;
    }
    let r = plan.c ? c : 0;
    if (plan.residual) {
      this.fillResidual(plan, c);
      r = plan.residual;
    }
    const { kind, p0, p1 } = this.act;
    const n = this.n;
    this.rt.dispatch(
      this.rt.ranges(plan.m, plan.m * n * this.k, GEMM_MR).map(([a, b]) => ({
        fn: "igemm_f32_4x8" as const,
        args: {
          m: b - a, n, kc: this.k, ks: 1, a: src, ind: plan.ind + a * 4, runs: 0, zero: this.zero, w: this.packed,
          r: r && r + a * n * 4, c: y + a * n * 4, ldc: n, act: kind, p0, p1,
        },
      })),
      "gemm",
    );
  }

  /** Runs on a [M, K] (or [K, M] with transA); with `out` given nothing is allocated after the first call of an M. */
  run(a: Tensor, out?: Tensor): Tensor {
    if (this.packed === 0) throw new DisposedError("gemm: the prepared op was used after dispose()");
    this.rt.check(a, "gemm a", 2);
    const c = this.cRows;
    if (c !== undefined) this.rt.check(c, "gemm c");
    return runOn(this.rt, this, c ? [a, c] : [a], out);
  }

  // Materialises beta * C broadcast over [M, N] for the kernel's residual input.
  private fillResidual(plan: Plan, c: number): void {
    const { m } = plan;
    const n = this.n;
    const [rows, cols] = plan.c!;
    const broadcast = { sizes: [1, 1, 1, 1, m, n], from: [0, 0, 0, 0, rows === 1 ? 0 : cols, cols === 1 ? 0 : 1], to: [0, 0, 0, 0, n, 1], fromOffset: 0, toOffset: 0 };
    this.rt.dispatch([{ fn: "strided_copy_f32", args: stridedCopyArgs(broadcast, c, plan.residual) }], "gemm");
    if (this.beta !== 1) {
      this.rt.dispatch([{ fn: "binary_f32", args: { n: m * n, bn: 1, a: plan.residual, b: this.betaPtr, y: plan.residual, op: BIN.mul } }], "gemm");
    }
  }

  dispose(): void {
    if (this.packed === 0) return;
    this.releasePlan();
    this.rt.heap.release(this.packed);
    this.rt.heap.release(this.zero);
    if (this.betaPtr !== 0) this.rt.heap.release(this.betaPtr);
    this.packed = 0;
  }
}

/** The table of a plain GEMM's rows for the indirect GEMM: a 1x1 convolution over an M x 1 image of K channels. */
export function gemmRows(m: number, k: number, ind: number): KernelArgs<"conv2d_indirection"> {
  return { batch: 1, h: m, w: 1, pixelStride: k, oh: m, ow: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, mr: GEMM_MR, ind };
}

function bool(v: boolean | undefined, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new ArgumentError(`${what}: expected true or false, got ${show(v)}`);
  return v;
}

