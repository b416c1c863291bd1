import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Activation, type ActivationCode, activationCode } from "./activation.js";
import { type PreparedOp, runOn } from "./op.js";
import { type Padding, biasOperand, checkKeys, pair, resolvePadding, windowOut } from "./options.js";

export interface DepthwiseNchwOptions {
  /** [C] */
  bias?: Tensor | Float32Array;
  strides?: number | [number, number];
  padding?: Padding;
  activation?: Activation;
}

const KEYS = ["bias", "strides", "padding", "activation"] as const;

interface Plan {
  key: string;
  n: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
  pads: [number, number, number, number];
  /** A zero input row (w floats): the rows above and below the image. */
  zero: number;
}

/**
 * Whether a depthwise window runs on NCHW planes (dwconv_f32_nchw_4) rather than between two
 * layout copies around the NHWC kernel (bench/layout.ts, depthwise section): 3x3 windows at
 * dilation 1 and horizontal stride 1 or 2, which have their own copies of the kernel's loops.
 * Other windows run a tap loop with its weight loaded per tap, measured slower than the NHWC
 * kernel and both copies together (5x5: by a tenth or more at stride 1, twice as long at
 * stride 2).
 */
export function depthwisePlanesPay(win: { kernel: [number, number]; strides: [number, number]; dilations: [number, number] }): boolean {
  return win.kernel[0] === 3 && win.kernel[1] === 3 && win.dilations[0] === 1 && win.dilations[1] === 1 && win.strides[1] <= 2;
}

/**
 * A depthwise convolution (one filter per channel, dilation 1) over NCHW planes, x [N, C, H, W]
 * to y [N, C, OH, OW]: each channel's plane is convolved where it lies (an NCHW model's input,
 * an output seen only as NCHW), so no layout copy comes in or out. Each output is the bias plus
 * the taps in window order, padding taps as 0 * w: the sums, and the bits, of the NHWC path
 * (Conv2d's depthwise kernel). Threads split an image's channels.
 */
export class DepthwiseConvNchw implements PreparedOp {
  readonly channels: number;
  readonly kernel: [number, number];
  readonly strides: [number, number];
  private readonly padding: Padding | undefined;
  private readonly act: ActivationCode;
  /** Per channel [bias][kh x kw]. */
  private wts: number;
  private plan: Plan | undefined;

  /** `w` is OHWI with one input channel per filter: [C, kh, kw, 1]. */
  constructor(
    private readonly rt: Runtime,
    w: Tensor,
    opts: DepthwiseNchwOptions = {},
  ) {
    const what = "depthwise conv";
    checkKeys(opts, KEYS, what);
    rt.check(w, `${what} weights`, 4);
    const [c, kh, kw, one] = w.shape;
    if (one !== 1) throw new ArgumentError(`${what}: expected weights [C, kh, kw, 1] (one input channel per filter), got [${w.shape.join(", ")}]`);
    this.channels = c;
    this.kernel = [kh, kw];
    this.strides = pair(opts.strides, 1, `${what} strides`);
    this.padding = opts.padding;
    resolvePadding(opts.padding, 1, 1, this.kernel, this.strides, [1, 1], what);
    this.act = activationCode(opts.activation, what);
    const ks = kh * kw;
    const rows = new Float32Array(c * (ks + 1));
    const wv = w.toArray();
    const bias = biasOperand(rt, opts.bias, c, `${what} bias`);
    try {
      const bv = bias.ptr ? rt.heap.f32.subarray(bias.ptr / 4, bias.ptr / 4 + c) : undefined;
      for (let ch = 0; ch < c; ch++) {
        rows[ch * (ks + 1)] = bv?.[ch] ?? 0;
        rows.set(wv.subarray(ch * ks, (ch + 1) * ks), ch * (ks + 1) + 1);
      }
    } finally {
      bias.release();
    }
    this.wts = rt.heap.alloc(rows.length * 4);
    rt.heap.f32.set(rows, this.wts / 4);
  }

  private geometry(x: readonly number[]): Omit<Plan, "key" | "zero"> {
    const what = "depthwise conv";
    if (x.length !== 4) throw new ShapeError(`${what} input: expected rank 4 (N, C, H, W), got shape [${x.join(", ")}]`);
    const [n, c, h, w] = x;
    if (c !== this.channels) throw new ShapeError(`${what}: input has ${c} channels, the weights expect ${this.channels}`);
    const pads = resolvePadding(this.padding, h, w, this.kernel, this.strides, [1, 1], what);
    const oh = windowOut(h, this.kernel[0], this.strides[0], 1, pads[0], pads[2], what, "vertical");
    const ow = windowOut(w, this.kernel[1], this.strides[1], 1, pads[1], pads[3], what, "horizontal");
    return { n, h, w, oh, ow, pads };
  }

  /** [N, C, OH, OW] for x [N, C, H, W]. */
  outputShape(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    const { n, oh, ow } = this.geometry(shapes[0]);
    return [n, this.channels, oh, ow];
  }

  bind(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    if (this.wts === 0) throw new DisposedError("depthwise conv: the prepared op was used after dispose()");
    const g = this.geometry(shapes[0]);
    const key = shapes[0].join("x");
    if (this.plan?.key !== key) {
      const zero = this.rt.zeros(g.w * 4);
      if (this.plan) this.rt.heap.release(this.plan.zero);
      this.plan = { key, ...g, zero };
    }
    return [g.n, this.channels, g.oh, g.ow];
  }

  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    return { weights: heap.sizeOf(this.wts), scratch: this.plan ? heap.sizeOf(this.plan.zero) : 0 };
  }

  /** Runs the bound plan on the byte offset of x; y is the output's. */
  exec(inputs: readonly number[], y: number): void {
    const { n, h, w, oh, ow, pads, zero } = this.plan!;
    const [x] = inputs;
    const c = this.channels;
    const [kh, kw] = this.kernel;
    const [sh, sw] = this.strides;
    const ks = kh * kw;
    const { kind, p0, p1 } = this.act;
    const rt = this.rt;
    for (let b = 0; b < n; b++) {
      const xb = x + b * c * h * w * 4;
      const yb = y + b * c * oh * ow * 4;
      // Whole planes per thread: each output is computed by one thread in the one order.
      rt.dispatch(
        rt.ranges(c, c * oh * ow * ks).map(([c0, c1]) => ({
          fn: "dwconv_f32_nchw_4" as const,
          args: {
            c: c1 - c0, h, w, oh, ow, kh, kw, sh, sw, pt: pads[0], pl: pads[1],
            x: xb + c0 * h * w * 4, zero, wts: this.wts + c0 * (ks + 1) * 4, y: yb + c0 * oh * ow * 4, act: kind, p0, p1,
          },
        })),
        "depthwise conv",
      );
    }
  }

  /** Runs on x [N, C, H, W]; with `out` given nothing is allocated after the first call of a shape. */
  run(x: Tensor, out?: Tensor): Tensor {
    if (this.wts === 0) throw new DisposedError("depthwise conv: the prepared op was used after dispose()");
    this.rt.check(x, "depthwise conv input", 4);
    return runOn(this.rt, this, [x], out);
  }

  dispose(): void {
    if (this.wts === 0) return;
    this.rt.heap.release(this.wts);
    if (this.plan) this.rt.heap.release(this.plan.zero);
    this.plan = undefined;
    this.wts = 0;
  }
}
