import { DisposedError, ShapeError } from "../errors.js";
import { QDWCONV_CB, QOUT } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";
import { type Padding, pair, resolvePadding, windowOut } from "./options.js";
import { type InputQuantization, type QConv2dOptions, type QParams, checkedQuantization, dynamicQuantization } from "./qconv.js";

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
  private readonly kernel: [number, number];
  private readonly strides: [number, number];
  private readonly dilations: [number, number];
  private readonly padding: Padding | undefined;
  private readonly input: InputQuantization;
  private readonly output: QParams | undefined;
  private readonly weightScales: Float32Array;
  private packed: number;
  /** scale[C] for the store, then fbias[C], then min/max, then the zero row (C i16 zeros). */
  private readonly side: number;
  private readonly hasBias: boolean;
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
    this.weightScales = scales;
    this.channels = c;
    this.kernel = [kh, kw];
    this.strides = pair(opts.strides, 1, `${what} strides`);
    this.dilations = pair(opts.dilations, 1, `${what} dilations`);
    this.padding = opts.padding;
    resolvePadding(opts.padding, 1, 1, this.kernel, this.strides, this.dilations, what);
    this.input = opts.input;
    this.output = opts.output;
    this.hasBias = opts.bias !== undefined;

    const heap = this.rt.heap;
    const ks = kh * kw;
    const blocks = Math.ceil(c / QDWCONV_CB);
    const pairs = Math.ceil(ks / 2);
    this.packed = heap.alloc(blocks * pairs * QDWCONV_CB * 4);
    try {
      this.side = heap.alloc(c * 8 + 8 + c * 2);
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
    heap.u8.fill(0, this.zero, this.zero + c * 2);
    if (opts.bias) heap.f32.set(opts.bias, this.side / 4 + c);
    if (!opts.input.dynamic) this.setScales(opts.input.scale);
  }

  private get minMax(): number {
    return this.side + this.channels * 8;
  }

  private get zero(): number {
    return this.minMax + 8;
  }

  private setScales(inputScale: number): void {
    const f32 = this.rt.heap.f32;
    const s = Math.fround(inputScale);
    for (let j = 0; j < this.channels; j++) f32[this.side / 4 + j] = Math.fround(s * this.weightScales[j]);
  }

  /** NHWC [N, H, W, C] gives [N, OH, OW, C]. */
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const g = this.geometry(shapes[0]);
    return [g.n, g.oh, g.ow, this.channels];
  }

  private geometry(x: readonly number[]) {
    const what = "qdwconv2d";
    if (x.length !== 4) throw new ShapeError(`${what} input: expected rank 4 (NHWC), got [${x.join(", ")}]`);
    const [n, h, w, c] = x;
    if (c !== this.channels) throw new ShapeError(`${what}: input has ${c} channels, the weights expect ${this.channels}`);
    const pads = resolvePadding(this.padding, h, w, this.kernel, this.strides, this.dilations, what);
    const oh = windowOut(h, this.kernel[0], this.strides[0], this.dilations[0], pads[0], pads[2], what, "vertical");
    const ow = windowOut(w, this.kernel[1], this.strides[1], this.dilations[1], pads[1], pads[3], what, "horizontal");
    return { n, h, w, oh, ow, pads };
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    if (this.packed === 0) throw new DisposedError("qdwconv2d: the prepared op was used after dispose()");
    const out = this.outputShape(shapes);
    const x = shapes[0];
    const key = x.join("x");
    if (this.plan?.key !== key) {
      const { n, h, w, oh, ow, pads } = this.geometry(x);
      const heap = this.rt.heap;
      const ks = this.kernel[0] * this.kernel[1];
      const ind = heap.alloc(n * oh * ow * ks * 4);
      let xq = 0;
      try {
        if (!this.prequantized) xq = heap.alloc(sizeOfShape(x) * 2);
      } catch (e) {
        heap.release(ind);
        throw e;
      }
      const [kh, kw] = this.kernel;
      const [sh, sw] = this.strides;
      const [dh, dw] = this.dilations;
      this.rt.dispatch([{
        fn: "conv2d_indirection",
        args: { batch: n, h, w, pixelStride: this.channels, oh, ow, kh, kw, sh, sw, dh, dw, pt: pads[0], pl: pads[1], mr: 1, ind },
      }], "qdwconv2d");
      this.release();
      this.plan = { key, shape: [n, h, w, this.channels], ind, xq, oh, ow };
    }
    return out;
  }

  /** A dynamic input quantization reads the input's range to set its scales. */
  get readsValues(): boolean {
    return this.input.dynamic;
  }

  private get prequantized(): boolean {
    return !this.input.dynamic && this.input.quantized === true;
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
      weights: heap.sizeOf(this.packed) + heap.sizeOf(this.side),
      scratch: this.plan ? heap.sizeOf(this.plan.ind) + (this.plan.xq === 0 ? 0 : heap.sizeOf(this.plan.xq)) : 0,
    };
  }

  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    const plan = this.plan!;
    const rt = this.rt;
    const size = sizeOfShape(plan.shape);
    if (this.input.dynamic) {
      const mm = this.minMax;
      rt.dispatch([{ fn: "minmax_f32", args: { n: size, x, y: mm } }], "DynamicQuantizeLinear");
      const f32 = rt.heap.f32;
      const { scale, zeroPoint } = dynamicQuantization(f32[mm / 4], f32[mm / 4 + 1]);
      this.setScales(scale);
      rt.dispatch([{ fn: "quantize_f32_q8_i16", args: { n: size, x, y: plan.xq, scale, zp: zeroPoint, ySigned: 0 } }], "DynamicQuantizeLinear");
    } else if (!this.input.quantized) {
      const q = this.input;
      rt.dispatch([{ fn: "quantize_f32_q8_i16", args: { n: size, x, y: plan.xq, scale: q.scale, zp: q.zeroPoint, ySigned: q.signed ? 1 : 0 } }], "QuantizeLinear");
    }
    const a = plan.xq === 0 ? x : plan.xq;
    const out = this.output;
    const outKind = out ? (out.signed ? QOUT.q16i8 : QOUT.q16u8) : QOUT.f32;
    const elem = out ? 2 : 4;
    const m = plan.shape[0] * plan.oh * plan.ow;
    const ks = this.kernel[0] * this.kernel[1];
    const c = this.channels;
    rt.dispatch(
      rt.ranges(m, m * c * ks).map(([r0, r1]) => ({
        fn: "dwconv_q16_8" as const,
        args: {
          m: r1 - r0, c, ks, a, ind: plan.ind + r0 * ks * 4, zero: this.zero, w: this.packed,
          scale: this.side, fbias: this.hasBias ? this.side + c * 4 : 0, y: y + r0 * c * elem,
          outKind, zy: out?.zeroPoint ?? 0, ys: out?.scale ?? 0,
        },
      })),
      "qdwconv2d",
    );
  }

  dispose(): void {
    if (this.packed === 0) return;
    this.rt.heap.release(this.packed);
    this.rt.heap.release(this.side);
    this.release();
    this.packed = 0;
  }
}
