import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { GEMM_MR, GEMM_NR } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Activation, type ActivationCode, activationCode } from "./activation.js";
import { gemmRows } from "./gemm.js";
import { type PreparedOp, runOn } from "./op.js";
import { checkKeys } from "./options.js";

export interface PointwiseOptions {
  /** [Cout] */
  bias?: Tensor | Float32Array;
  activation?: Activation;
}

const KEYS = ["bias", "activation"] as const;

interface Plan {
  key: string;
  n: number;
  /** Pixels of a plane: H * W. */
  hw: number;
  /** One image's planes packed as B (pack_planes_f32_8). */
  packed: number;
}

/**
 * A 1x1 convolution (stride 1, no padding, one group) over NCHW planes, x [N, Cin, H, W] to
 * y [N, Cout, H, W]: per image Y[Cout, HW] = W[Cout, Cin] X[Cin, HW], one GEMM that reads the
 * input planes and writes the output planes where they lie, so no layout copy comes in or out.
 * The weights are the GEMM's A, each row led by its channel's bias; each run packs the image's
 * planes into B's panels behind a row of ones, so igemm_f32_4x8 starts every sum with the bias
 * and adds the products in input-channel order: the sums, and the bits, of the NHWC path
 * (Conv2d's indirect GEMM). A residual of y's shape is added in the store, as there.
 */
export class PointwiseConvNchw implements PreparedOp {
  readonly inChannels: number;
  readonly outChannels: number;
  private readonly act: ActivationCode;
  /** A: [Cout][1 + Cin], bias then weights per row. */
  private a: number;
  /** The rows of A for the kernel (gemmRows). */
  private readonly ind: number;
  private readonly zero: number;
  private plan: Plan | undefined;

  /** `w` is OHWI [Cout, 1, 1, Cin]. */
  constructor(
    private readonly rt: Runtime,
    w: Tensor,
    opts: PointwiseOptions = {},
  ) {
    const what = "pointwise conv";
    checkKeys(opts, KEYS, what);
    rt.check(w, `${what} weights`, 4);
    const [cout, kh, kw, cin] = w.shape;
    if (kh !== 1 || kw !== 1) throw new ArgumentError(`${what}: expected 1x1 weights [Cout, 1, 1, Cin], got [${w.shape.join(", ")}]`);
    this.inChannels = cin;
    this.outChannels = cout;
    this.act = activationCode(opts.activation, what);
    const rows = new Float32Array(cout * (cin + 1));
    const wv = w.toArray();
    const bias = biasValues(rt, opts.bias, cout, `${what} bias`);
    for (let o = 0; o < cout; o++) {
      rows[o * (cin + 1)] = bias?.[o] ?? 0;
      rows.set(wv.subarray(o * cin, (o + 1) * cin), o * (cin + 1) + 1);
    }
    const heap = rt.heap;
    this.a = heap.alloc(rows.length * 4);
    heap.f32.set(rows, this.a / 4);
    this.ind = heap.alloc(Math.ceil(cout / GEMM_MR) * GEMM_MR * 4);
    rt.dispatch([{ fn: "conv2d_indirection", args: gemmRows(cout, cin + 1, this.ind) }], what);
    this.zero = rt.zeros(16);
  }

  /** [N, Cout, H, W] for x [N, Cin, H, W], and a residual (`shapes[1]`) of that shape when given. */
  outputShape(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    const what = "pointwise conv";
    const x = shapes[0];
    if (x.length !== 4) throw new ShapeError(`${what} input: expected rank 4 (N, C, H, W), got shape [${x.join(", ")}]`);
    if (x[1] !== this.inChannels) throw new ShapeError(`${what}: input has ${x[1]} channels, the weights expect ${this.inChannels}`);
    const out: [number, number, number, number] = [x[0], this.outChannels, x[2], x[3]];
    const r = shapes[1];
    if (r !== undefined && r.join() !== out.join()) throw new ShapeError(`${what} residual: expected [${out.join(", ")}], got [${r.join(", ")}]`);
    return out;
  }

  bind(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    if (this.a === 0) throw new DisposedError("pointwise conv: the prepared op was used after dispose()");
    const out = this.outputShape(shapes);
    const key = shapes[0].join("x");
    if (this.plan?.key !== key) {
      const hw = out[2] * out[3];
      const packed = this.rt.heap.alloc(Math.ceil(hw / GEMM_NR) * GEMM_NR * (this.inChannels + 2) * 4);
      if (this.plan) this.rt.heap.release(this.plan.packed);
      this.plan = { key, n: out[0], hw, packed };
    }
    return out;
  }

  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    return { weights: heap.sizeOf(this.a) + heap.sizeOf(this.ind) + heap.sizeOf(this.zero), scratch: this.plan ? heap.sizeOf(this.plan.packed) : 0 };
  }

  /** Runs the bound plan on the byte offsets of x and optionally a residual (y's shape); y is the output's. */
  exec(inputs: readonly number[], y: number): void {
    const { n, hw, packed } = this.plan!;
    const [x, residual = 0] = inputs;
    const rt = this.rt;
    const cin = this.inChannels;
    const cout = this.outChannels;
    const { kind, p0, p1 } = this.act;
    for (let b = 0; b < n; b++) {
      rt.dispatch([{ fn: "pack_planes_f32_8", args: { k: cin, n: hw, x: x + b * cin * hw * 4, ldx: hw, out: packed } }], "pointwise conv");
      const yb = y + b * cout * hw * 4;
      const rb = residual && residual + b * cout * hw * 4;
      // Whole 4-row tiles (output channels) per thread: each output is computed by one thread.
      rt.dispatch(
        rt.ranges(cout, cout * hw * cin, GEMM_MR).map(([r0, r1]) => ({
          fn: "igemm_f32_4x8" as const,
          args: {
            m: r1 - r0, n: hw, kc: cin + 1, ks: 1, a: this.a, ind: this.ind + r0 * 4, runs: 0, zero: this.zero, w: packed,
            r: rb && rb + r0 * hw * 4, c: yb + r0 * hw * 4, ldc: hw, act: kind, p0, p1,
          },
        })),
        "pointwise conv",
      );
    }
  }

  /** Runs on x [N, Cin, H, W]; with `out` given nothing is allocated after the first call of a shape. */
  run(x: Tensor, out?: Tensor): Tensor {
    if (this.a === 0) throw new DisposedError("pointwise conv: the prepared op was used after dispose()");
    this.rt.check(x, "pointwise conv input", 4);
    return runOn(this.rt, this, [x], out);
  }

  dispose(): void {
    if (this.a === 0) return;
    const heap = this.rt.heap;
    heap.release(this.a);
    heap.release(this.ind);
    heap.release(this.zero);
    if (this.plan) heap.release(this.plan.packed);
    this.plan = undefined;
    this.a = 0;
  }
}

function biasValues(rt: Runtime, bias: Tensor | Float32Array | undefined, cout: number, what: string): Float32Array | undefined {
  if (bias === undefined) return undefined;
  if (bias instanceof Float32Array) {
    if (bias.length !== cout) throw new ShapeError(`${what}: expected ${cout} values, got ${bias.length}`);
    return bias;
  }
  rt.check(bias, what, 1);
  if (bias.shape[0] !== cout) throw new ShapeError(`${what}: expected [${cout}], got [${bias.shape.join(", ")}]`);
  return bias.toArray();
}
