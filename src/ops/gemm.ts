import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { GEMM_MR, GEMM_NR } from "../runtime/kernels.js";
import { type Runtime, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Activation, type ActivationCode, activationCode } from "./activation.js";
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
  m: number;
  ind: number;
  /** beta * c broadcast to [M, N], or c itself, or 0. */
  residual: number;
  ownsResidual: boolean;
  /** Scratch for a transposed a. */
  at: number;
}

/**
 * y = act(alpha * a b + bias + beta * c) with b packed once into the micro-kernel's panels
 * (alpha folded into them). a is read in place through a table of row offsets, so a [M, K]
 * GEMM is the indirect GEMM with one tap.
 */
export class Gemm {
  readonly k: number;
  readonly n: number;
  private readonly transA: boolean;
  private readonly act: ActivationCode;
  private readonly beta: number;
  private readonly cRows: Tensor | undefined;
  private packed: number;
  private readonly zero: number;
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
      rt.kernels.pack_gemm_f32_8(k, n, b.ptr, sk, sn, alpha, biasT ? biasT.ptr : 0, this.packed);
    } finally {
      biasT?.dispose();
    }
    this.zero = rt.zeros(16);
  }

  private planFor(m: number): Plan {
    if (this.plan?.m === m) return this.plan;
    this.releasePlan();
    const heap = this.rt.heap;
    const ind = heap.alloc(Math.ceil(m / GEMM_MR) * GEMM_MR * 4);
    this.rt.kernels.conv2d_indirection(ind, 1, m, 1, this.k, m, 1, 1, 1, 1, 1, 1, 1, 0, 0, GEMM_MR);
    const plan: Plan = { m, ind, residual: 0, ownsResidual: false, at: 0 };
    this.plan = plan;
    if (this.transA) plan.at = heap.alloc(m * this.k * 4);
    const c = this.cRows;
    if (c !== undefined) {
      if (this.beta === 1 && c.shape[1] === this.n) plan.residual = c.ptr;
      else {
        plan.residual = heap.alloc(m * this.n * 4);
        plan.ownsResidual = true;
      }
    }
    return plan;
  }

  private releasePlan(): void {
    const p = this.plan;
    if (!p) return;
    const heap = this.rt.heap;
    heap.release(p.ind);
    if (p.at) heap.release(p.at);
    if (p.ownsResidual) heap.release(p.residual);
    this.plan = undefined;
  }

  /** Prepares the plan for M rows (reused while M stays) and returns the output shape [M, N]. */
  bind(m: number): [number, number] {
    if (this.packed === 0) throw new DisposedError("gemm: the prepared op was used after dispose()");
    this.planFor(m);
    return [m, this.n];
  }

  /** Bytes of packed weights and of the current plan's scratch. */
  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    const p = this.plan;
    const scratch = p ? heap.sizeOf(p.ind) + heap.sizeOf(p.at) + (p.ownsResidual ? heap.sizeOf(p.residual) : 0) : 0;
    return { weights: heap.sizeOf(this.packed) + heap.sizeOf(this.zero), scratch };
  }

  /**
   * Runs the bound plan on a (byte offset of [M, K], or [K, M] with transA) into y ([M, N]);
   * residual ([M, N], 0 for none) is added before the activation, in place of a per-row c.
   */
  exec(a: number, y: number, residual = 0): void {
    const plan = this.plan!;
    const kern = this.rt.kernels;
    let src = a;
    if (this.transA) {
      kern.transpose_f32_4x4(a, plan.at, this.k, plan.m, plan.m, this.k, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
      src = plan.at;
    }
    if (plan.ownsResidual) this.fillResidual(plan);
    const { kind, p0, p1 } = this.act;
    const r = residual || plan.residual;
    const n = this.n;
    this.rt.dispatch(
      this.rt.ranges(plan.m, plan.m * n * this.k, GEMM_MR).map(([a, b]) => ({
        fn: "igemm_f32_4x8" as const,
        args: [b - a, n, this.k, 1, src, plan.ind + a * 4, 0, this.zero, this.packed, y + a * n * 4, n, r && r + a * n * 4, kind, p0, p1],
      })),
      "gemm",
    );
  }

  /** Runs on a [M, K] (or [K, M] with transA); with `out` given nothing is allocated after the first call of an M. */
  run(a: Tensor, out?: Tensor): Tensor {
    const what = "gemm";
    if (this.packed === 0) throw new DisposedError(`${what}: the prepared op was used after dispose()`);
    this.rt.check(a, `${what} a`, 2);
    const [m, k] = this.transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    if (k !== this.k) throw new ShapeError(`${what}: a has ${k} columns${this.transA ? " (after transA)" : ""}, b has ${this.k} rows`);
    const c = this.cRows;
    if (c !== undefined) {
      this.rt.check(c, `${what} c`);
      if (c.shape[0] !== m) throw new ShapeError(`${what} c: expected [${m}, ${this.n}] or [${m}, 1] for ${m} rows, got [${c.shape.join(", ")}]`);
    }
    this.rt.checkOut([m, this.n], out, c ? [a, c] : [a]);
    this.bind(m);
    const y = out ?? this.rt.empty([m, this.n]);
    this.exec(a.ptr, y.ptr);
    return y;
  }

  // Materialises beta * c over [M, N] for the kernel's per-row residual input.
  private fillResidual(plan: Plan): void {
    const c = this.cRows!;
    const f32 = this.rt.heap.f32;
    const n = this.n;
    const base = plan.residual / 4;
    const cv = c.toArray();
    for (let i = 0; i < plan.m; i++) {
      for (let j = 0; j < n; j++) f32[base + i * n + j] = this.beta * cv[c.shape[1] === 1 ? i : i * n + j];
    }
  }

  dispose(): void {
    if (this.packed === 0) return;
    this.releasePlan();
    this.rt.heap.release(this.packed);
    this.rt.heap.release(this.zero);
    this.packed = 0;
  }
}

function bool(v: boolean | undefined, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new ArgumentError(`${what}: expected true or false, got ${show(v)}`);
  return v;
}

