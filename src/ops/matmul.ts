import { DisposedError, ShapeError } from "../errors.js";
import { GEMM_MR, GEMM_NR } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import { gemmRows } from "./gemm.js";
import type { PreparedOp } from "./op.js";

interface Plan {
  key: string;
  batch: number;
  m: number;
  k: number;
  n: number;
  /** Floats between consecutive matrices of a and b (0: one matrix shared by the batch). */
  aStride: number;
  bStride: number;
  packed: number;
  ind: number;
}

/**
 * A batch of products of two runtime matrices, a [batch, M, K] x b [batch, K, N] -> [batch, M, N],
 * where either side may hold one matrix for the whole batch. b is packed into the GEMM's panels
 * at every run (it is not constant), then each product runs the indirect GEMM with one tap.
 */
export class MatMul implements PreparedOp {
  private plan: Plan | undefined;
  private zero = 0;
  private disposed = false;

  constructor(private readonly rt: Runtime) {}

  private geometry(shapes: readonly (readonly number[])[]) {
    const [a, b] = shapes;
    if (a.length !== 3 || b.length !== 3) throw new ShapeError(`matmul: expected a [batch, M, K] and b [batch, K, N], got [${a.join(", ")}] and [${b.join(", ")}]`);
    const [ba, m, k] = a;
    const [bb, kb, n] = b;
    if (k !== kb) throw new ShapeError(`matmul: a [${a.join(", ")}] has K = ${k}, b [${b.join(", ")}] has K = ${kb}`);
    if (ba !== bb && ba !== 1 && bb !== 1) throw new ShapeError(`matmul: batches ${ba} and ${bb} differ and neither is 1`);
    return { batch: Math.max(ba, bb), m, k, n, aStride: ba === 1 ? 0 : m * k, bStride: bb === 1 ? 0 : k * n };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const g = this.geometry(shapes);
    return [g.batch, g.m, g.n];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    if (this.disposed) throw new DisposedError("matmul: the prepared op was used after dispose()");
    const g = this.geometry(shapes);
    const key = shapes.map((s) => s.join("x")).join(";");
    if (this.plan?.key !== key) {
      this.release();
      const heap = this.rt.heap;
      const packed = heap.alloc(Math.ceil(g.n / GEMM_NR) * GEMM_NR * (g.k + 1) * 4);
      const ind = heap.alloc(Math.ceil(g.m / GEMM_MR) * GEMM_MR * 4);
      this.rt.dispatch([{ fn: "conv2d_indirection", args: gemmRows(g.m, g.k, ind) }], "matmul");
      if (this.zero === 0) this.zero = this.rt.zeros(16);
      this.plan = { key, ...g, packed, ind };
    }
    return [g.batch, g.m, g.n];
  }

  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    const p = this.plan;
    return { weights: 0, scratch: heap.sizeOf(this.zero) + (p ? heap.sizeOf(p.packed) + heap.sizeOf(p.ind) : 0) };
  }

  exec(inputs: readonly number[], y: number): void {
    const { batch, m, k, n, aStride, bStride, packed, ind } = this.plan!;
    const [a, b] = inputs;
    const rt = this.rt;
    for (let i = 0; i < batch; i++) {
      if (i === 0 || bStride !== 0) {
        rt.dispatch([{ fn: "pack_gemm_f32_8", args: { k, n, b: b + i * bStride * 4, sk: n, sn: 1, bias: 0, out: packed, alpha: 1 } }], "matmul");
      }
      const ai = a + i * aStride * 4;
      const yi = y + i * m * n * 4;
      // Whole 4-row tiles per thread, as Gemm splits: each output is computed by one thread.
      rt.dispatch(
        rt.ranges(m, m * n * k, GEMM_MR).map(([r0, r1]) => ({
          fn: "igemm_f32_4x8" as const,
          args: {
            m: r1 - r0, n, kc: k, ks: 1, a: ai, ind: ind + r0 * 4, runs: 0, zero: this.zero, w: packed, r: 0,
            c: yi + r0 * n * 4, ldc: n, act: 0, p0: 0, p1: 0,
          },
        })),
        "matmul",
      );
    }
  }

  private release(): void {
    if (!this.plan) return;
    this.rt.heap.release(this.plan.packed);
    this.rt.heap.release(this.plan.ind);
    this.plan = undefined;
  }

  dispose(): void {
    this.release();
    if (this.zero !== 0) this.rt.heap.release(this.zero);
    this.zero = 0;
    this.disposed = true;
  }
}
