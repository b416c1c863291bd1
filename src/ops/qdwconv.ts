import { DisposedError, ShapeError } from "../errors.js";
import { QDWCONV_CB } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";
import { type ConvWindow, convWindow, indirectionArgs, windowGeometry } from "./options.js";
import { type QConv2dOptions, QConvIO, checkedQuantization } from "./qconv.js";

interface Plan {
  key: string;
  shape: [number, number, number, number];
  /** The indirection table: ks entries per output pixel. */
  ind: number;
  /** The quantized input, 0 when the input comes quantized. */
  xq: number;
  oh: number;
  ow: number;
}

/**
 * An 8-bit depthwise convolution (group = input channels = output channels; weights [C, kh, kw,
 * 1]), the depthwise counterpart of QConv2d with the same inputs and outputs: the input is
 * quantized into scratch as the q16 operand (per run for dynamic quantization) unless it comes
 * quantized, dwconv_q16_8 accumulates every channel's taps in i32 and its store dequantizes
 * (f32(acc) * xScale * wScale[c] + bias[c]) or quantizes that for the next 8-bit op, as
 * qgemm_q8_4x8's does. The weights are packed once, minus their zero points, as i16.
 */
export class QDwConv2d implements PreparedOp {
  readonly channels: number;
  private readonly window: ConvWindow;
  private packed: number;
  /** The input's quantization and the store's parameters, with a zero row of C i16. */
  private readonly io: QConvIO;
  private plan: Plan | undefined;

  constructor(
    private readonly rt: Runtime,
    opts: QConv2dOptions,
  ) {
    const what = "qdwconv2d";
    const [c, kh, kw, one] = opts.wShape;
    if (![c, kh, kw].every((d) => Number.isSafeInteger(d) && d > 0) || one !== 1) {
      throw new ShapeError(`${what}: weight shape [${opts.wShape.join(", ")}] must be [C, kh, kw, 1] of positive integers`);
    }
    if (opts.weights.length !== c * kh * kw) throw new ShapeError(`${what}: ${opts.weights.length} weights for shape [${opts.wShape.join(", ")}]`);
    const { zw, scales } = checkedQuantization(what, opts, c);
    this.channels = c;
    this.window = convWindow([kh, kw], opts, what);

    const heap = this.rt.heap;
    const ks = kh * kw;
    const blocks = Math.ceil(c / QDWCONV_CB);
    const pairs = Math.ceil(ks / 2);
    this.packed = heap.alloc(blocks * pairs * QDWCONV_CB * 4);
    try {
      this.io = new QConvIO(rt, opts, scales, c);
    } catch (e) {
      heap.release(this.packed);
      throw e;
    }
    // [block][tap pair][8 channels][2 taps] weights minus their zero points; channels past C and
    // an odd window's missing last partner weigh 0.
    const packed = new Int16Array(heap.u8.buffer, this.packed, blocks * pairs * QDWCONV_CB * 2);
    packed.fill(0);
    for (let ch = 0; ch < c; ch++) {
      const b = Math.floor(ch / QDWCONV_CB);
      for (let t = 0; t < ks; t++) packed[((b * pairs + (t >> 1)) * QDWCONV_CB + (ch % QDWCONV_CB)) * 2 + (t & 1)] = opts.weights[ch * ks + t] - zw[ch];
    }
  }

  /** NHWC [N, H, W, C] gives [N, OH, OW, C]. */
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const g = this.geometry(shapes[0]);
    return [g.n, g.oh, g.ow, this.channels];
  }

  private geometry(x: readonly number[]) {
    const what = "qdwconv2d";
    if (x.length !== 4) throw new ShapeError(`${what} input: expected rank 4 (NHWC), got [${x.join(", ")}]`);
    if (x[3] !== this.channels) throw new ShapeError(`${what}: input has ${x[3]} channels, the weights expect ${this.channels}`);
    return windowGeometry(x, this.window, what);
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    if (this.packed === 0) throw new DisposedError("qdwconv2d: the prepared op was used after dispose()");
    const out = this.outputShape(shapes);
    const x = shapes[0];
    const key = x.join("x");
    if (this.plan?.key !== key) {
      const g = this.geometry(x);
      const { n, h, w, oh, ow } = g;
      const ks = this.window.kernel[0] * this.window.kernel[1];
      const ind = this.rt.heap.alloc(n * oh * ow * ks * 4);
      const xq = this.io.inputScratch(ind, sizeOfShape(x) * 2);
      const args = indirectionArgs(g, this.window, this.channels, 1, ind);
      this.rt.dispatch([{ fn: "conv2d_indirection", args }], "qdwconv2d");
      this.release();
      this.plan = { key, shape: [n, h, w, this.channels], ind, xq, oh, ow };
    }
    return out;
  }

  /** A dynamic input quantization reads the input's range to set its scales. */
  get readsValues(): boolean {
    return this.io.readsValues;
  }

  private release(): void {
    if (!this.plan) return;
    this.rt.heap.release(this.plan.ind);
    if (this.plan.xq !== 0) this.rt.heap.release(this.plan.xq);
    this.plan = undefined;
  }

  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    return {
      weights: heap.sizeOf(this.packed) + this.io.bytes,
      scratch: this.plan ? heap.sizeOf(this.plan.ind) + (this.plan.xq === 0 ? 0 : heap.sizeOf(this.plan.xq)) : 0,
    };
  }

  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    const plan = this.plan!;
    const rt = this.rt;
    const size = sizeOfShape(plan.shape);
    this.io.quantize(x, size, plan.xq);
    const a = plan.xq === 0 ? x : plan.xq;
    const elem = this.io.elem;
    const m = plan.shape[0] * plan.oh * plan.ow;
    const ks = this.window.kernel[0] * this.window.kernel[1];
    const c = this.channels;
    const store = this.io.store;
    rt.dispatch(
      rt.ranges(m, m * c * ks).map(([r0, r1]) => ({
        fn: "dwconv_q16_8" as const,
        args: {
          m: r1 - r0, c, ks, a, ind: plan.ind + r0 * ks * 4, zero: this.io.zero, w: this.packed,
          scale: store.scale, fbias: store.fbias, y: y + r0 * c * elem, outKind: store.outKind, zy: store.zy, ys: store.ys,
        },
      })),
      "qdwconv2d",
    );
  }

  dispose(): void {
    if (this.packed === 0) return;
    this.rt.heap.release(this.packed);
    this.io.dispose();
    this.release();
    this.packed = 0;
  }
}
