import { MemoryError } from "../errors.js";
import { Conv2d } from "../ops/conv2d.js";
import { Gemm } from "../ops/gemm.js";
import { Transpose } from "../ops/transpose.js";
import { GEMM_MR, GEMM_NR } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type ExecGraph, type Step, type Value, rootOf, sizeOfShape, stepInputs } from "./ir.js";
import { planArena } from "./planner.js";

export interface MemoryReport {
  /** Packed weights and constants. */
  weights: number;
  /** The planned arena of intermediate activations. */
  activations: number;
  /** Per-op scratch (indirection tables, padded copies) and input buffers. */
  scratch: number;
  /** What the activations would take with one buffer each. */
  naiveActivations: number;
}

/**
 * An ExecGraph made runnable: the arena and constants allocated, every op prepared, and each step
 * turned into a closure over fixed byte offsets, so that run() allocates nothing.
 */
export class Compiled {
  readonly memory: MemoryReport;
  private readonly run: (() => void)[] = [];
  private readonly owned: number[] = [];
  private readonly ops: { dispose(): void }[] = [];
  private readonly ptrs = new Map<Value, number>();

  constructor(
    private readonly rt: Runtime,
    readonly graph: ExecGraph,
  ) {
    const heap = rt.heap;
    const plan = planArena(graph);
    const room = heap.limitBytes - heap.bytesInUse;
    if (plan.bytes > room) {
      throw new MemoryError(
        `the model's planned activations need ${plan.bytes} bytes for inputs [${graph.inputs.map((i) => i.value.shape.join("x")).join("], [")}], but the engine may use only ${room} more (its limit is ${heap.limitBytes} bytes: init's maxMemoryBytes, at most wasm32's 4 GiB)`,
      );
    }
    let weights = 0;
    let scratch = 0;
    try {
      const arena = plan.bytes > 0 ? this.alloc(plan.bytes) : 0;
      for (const [v, off] of plan.offsets) this.ptrs.set(v, arena + off);
      for (const { value } of graph.inputs) {
        const r = rootOf(value);
        if (!this.ptrs.has(r)) {
          this.ptrs.set(r, this.alloc(sizeOfShape(r.shape) * 4));
          scratch += heap.sizeOf(this.ptrs.get(r)!);
        }
      }
      for (const s of graph.steps) {
        for (const v of [...stepInputs(s), s.y]) {
          const r = rootOf(v);
          if (r.storage === "const" && !this.ptrs.has(r)) {
            const p = this.alloc(r.data!.length * 4);
            heap.f32.set(r.data!, p / 4);
            this.ptrs.set(r, p);
            weights += heap.sizeOf(p);
          }
        }
      }
      for (const s of graph.steps) {
        const { fn, op } = this.compileStep(s);
        this.run.push(fn);
        if (op) {
          this.ops.push(op);
          weights += op.bytes.weights;
          scratch += op.bytes.scratch;
        }
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.memory = { weights, activations: plan.bytes, scratch, naiveActivations: plan.naiveBytes };
  }

  private alloc(bytes: number): number {
    const p = this.rt.heap.alloc(bytes);
    this.owned.push(p);
    return p;
  }

  ptr(v: Value): number {
    const p = this.ptrs.get(rootOf(v));
    if (p === undefined) throw new Error(`internal: value ${v.id} has no storage`);
    return p;
  }

  private tensor(data: Float32Array, shape: number[]): Tensor {
    return this.rt.fromArray(data, shape);
  }

  private compileStep(s: Step): { fn: () => void; op?: Conv2d | Gemm | Transpose } {
    const k = this.rt.kernels;
    const y = this.ptr(s.y);
    switch (s.op) {
      case "conv": {
        const w = this.tensor(s.w, s.wShape);
        let op: Conv2d;
        try {
          const bias = s.bias;
          const win = s.window;
          op = new Conv2d(this.rt, w, {
            bias, strides: win.strides, dilations: win.dilations, padding: win.pads, groups: s.groups,
            activation: s.act,
          });
        } finally {
          w.dispose();
        }
        op.bind(s.x.shape);
        const x = this.ptr(s.x);
        const r = s.residual ? this.ptr(s.residual) : 0;
        return { fn: () => op.exec(x, y, r), op };
      }
      case "gemm": {
        const b = this.tensor(s.b, [s.k, s.n]);
        let op: Gemm;
        try {
          op = new Gemm(this.rt, b, { bias: s.bias, activation: s.act });
        } finally {
          b.dispose();
        }
        const m = sizeOfShape(s.a.shape) / s.k;
        op.bind(m);
        const a = this.ptr(s.a);
        const r = s.residual ? this.ptr(s.residual) : 0;
        return { fn: () => op.exec(a, y, r), op };
      }
      case "matmul": {
        const { batch, m, k: kk, n } = s;
        const packed = this.alloc(Math.ceil(n / GEMM_NR) * GEMM_NR * (kk + 1) * 4);
        const ind = this.alloc(Math.ceil(m / GEMM_MR) * GEMM_MR * 4);
        const zero = this.alloc(16);
        this.rt.heap.u8.fill(0, zero, zero + 16);
        k.conv2d_indirection(ind, 1, m, 1, kk, m, 1, 1, 1, 1, 1, 1, 1, 0, 0, GEMM_MR);
        const a = this.ptr(s.a);
        const b = this.ptr(s.b);
        return {
          fn: () => {
            for (let i = 0; i < batch; i++) {
              k.pack_gemm_f32_8(kk, n, b + i * s.bBatchStride * 4, n, 1, 1, 0, packed);
              k.igemm_f32_4x8(m, n, kk, 1, a + i * s.aBatchStride * 4, ind, 0, zero, packed, y + i * m * n * 4, n, 0, 0, 0, 0);
            }
          },
        };
      }
      case "pool": {
        const x = this.ptr(s.x);
        const [n, h, w, c] = s.x.shape;
        const [, oh, ow] = s.y.shape;
        const { kernel: kk, strides: st, dilations: d, pads: p } = s.window;
        if (s.max) return { fn: () => k.maxpool2d_f32(x, n, h, w, c, oh, ow, kk[0], kk[1], st[0], st[1], d[0], d[1], p[0], p[1], y) };
        const inc = s.countIncludePad ? 1 : 0;
        return { fn: () => k.avgpool2d_f32(x, n, h, w, c, oh, ow, kk[0], kk[1], st[0], st[1], d[0], d[1], p[0], p[1], p[2], p[3], inc, y) };
      }
      case "globalPool": {
        const x = this.ptr(s.x);
        const [n, h, w, c] = s.x.shape;
        const isMax = s.max ? 1 : 0;
        return { fn: () => k.globalpool_f32(x, n, h * w, c, isMax, y) };
      }
      case "unary": {
        const x = this.ptr(s.x);
        const size = sizeOfShape(s.x.shape);
        const { kind, p0, p1 } = s.act;
        return { fn: () => k.unary_f32(x, size, y, kind, p0, p1) };
      }
      case "binary": {
        const a = this.ptr(s.a);
        const b = this.ptr(s.b);
        const size = sizeOfShape(s.y.shape);
        return { fn: () => k.binary_f32(a, b, y, size, s.period, s.kind) };
      }
      case "softmax": {
        const x = this.ptr(s.x);
        return { fn: () => k.softmax_f32(x, s.rows, s.cols, y) };
      }
      case "pad": {
        const x = this.ptr(s.x);
        const [n, h, w, c] = s.x.shape;
        const [pt, pl, pb, pr] = s.pads;
        return { fn: () => k.pad_f32(x, n, h, w, c, pt, pl, pb, pr, s.value, y) };
      }
      case "copy": {
        const x = this.ptr(s.x);
        if (s.perm) {
          const op = new Transpose(this.rt, s.x.shape, s.perm);
          return { fn: () => op.exec(x, y), op };
        }
        const size = sizeOfShape(s.y.shape);
        const fill = s.fill;
        const copies = s.copies.map((c) => {
          const [s0, s1, s2, s3, s4, s5] = c.sizes;
          const [a0, a1, a2, a3, a4, a5] = c.from;
          const [b0, b1, b2, b3, b4, b5] = c.to;
          const xp = x + c.fromOffset * 4;
          const yp = y + c.toOffset * 4;
          return () => k.strided_copy_f32(xp, yp, s0, s1, s2, s3, s4, s5, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5);
        });
        return {
          fn: () => {
            if (fill !== undefined) this.rt.heap.f32.fill(fill, y / 4, y / 4 + size);
            for (const c of copies) c();
          },
        };
      }
    }
  }

  /** Runs every step in order. */
  execute(): void {
    for (const fn of this.run) fn();
  }

  dispose(): void {
    for (const op of this.ops) op.dispose();
    this.ops.length = 0;
    for (const p of this.owned) this.rt.heap.release(p);
    this.owned.length = 0;
    this.run.length = 0;
  }
}
