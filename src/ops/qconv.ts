import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { GEMM_MR, GEMM_NR, QOUT } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";
import { type ConvWindow, type Padding, convWindow, indirectionArgs, windowGeometry } from "./options.js";
import { type QStore, QWinograd3x3, qwinogradExact, qwinogradPays } from "./qwinograd.js";
import { type WinogradPlan, winogradGeometry } from "./winograd.js";

/** One scale and zero point of an 8-bit type. */
export interface QParams {
  scale: number;
  zeroPoint: number;
  signed: boolean;
}

/**
 * How the input becomes 8-bit: a float input per run from its own range (DynamicQuantizeLinear),
 * or with fixed parameters; `quantized` when the input is already the kernel's i16 operand (a q16
 * value of the quantized chain, src/ops/qchain.ts) made with them.
 */
export type InputQuantization = { dynamic: true } | ({ dynamic: false; quantized?: boolean } & QParams);

export interface QConv2dOptions {
  /** Integer weights, [Cout, kh, kw, Cin] (OHWI), each in the 8-bit range of its zero point's type. */
  weights: ArrayLike<number>;
  wShape: [number, number, number, number];
  /** Per output channel, or one for all. */
  weightZeroPoints: ArrayLike<number>;
  /**
   * Per output channel, or one for all: the output is f32(acc) * f32(inputScale * weightScale[j])
   * (+ bias[j]), the float steps onnxruntime's dynamic quantization runs after ConvInteger.
   */
  weightScales: ArrayLike<number>;
  bias?: Float32Array;
  strides?: [number, number];
  dilations?: [number, number];
  padding?: Padding;
  input: InputQuantization;
  /** Set: y is quantized with these parameters into the next 8-bit op's i16 operand, not float. */
  output?: QParams;
  /**
   * For a window Winograd computes (3x3, stride 1, no dilation), overrides the choice by channel
   * counts: false keeps the direct kernel, true takes Winograd (tests and benchmarks). Winograd is
   * never taken where its exactness bound fails (src/ops/qwinograd.ts).
   */
  winograd?: boolean;
}

interface Plan {
  key: string;
  shape: [number, number, number, number];
  /** The indirection table, then (for an even Cin) its tap runs; runs is 0 without them (and both 0 for Winograd). */
  ind: number;
  runs: number;
  /** The Winograd path's tiling and its scratch (0 on the direct path). */
  wino?: WinogradPlan;
  scratch: number;
  /** The quantized input, 0 when the input comes quantized. */
  xq: number;
  oh: number;
  ow: number;
}

/**
 * An 8-bit convolution (or, over an [M, K] input, a GEMM as a 1x1 convolution of an M x 1 image)
 * with float input and output: the input is quantized into scratch (per run for dynamic
 * quantization: its min and max, then the scale and zero point exactly as ONNX's
 * DynamicQuantizeLinear computes them in float32), written minus its zero point as i16, the
 * operand qgemm_q8_4x8 reads; the kernel accumulates in i32 and dequantizes in its store. The
 * weights are packed once, minus their zero points, as i16 pairs. A 3x3 stride-1 convolution with
 * enough channels runs as exact integer Winograd F(2x2, 3x3) instead (src/ops/qwinograd.ts), with
 * the same accumulators and the same store, so the same bits.
 */
export class QConv2d implements PreparedOp {
  readonly inChannels: number;
  readonly outChannels: number;
  /**
   * The channels of a pixel as the kernel reads it: an odd count of a window wider than one tap
   * gets a zero channel (pad_channels_q16), so that taps join into runs for the same pairs.
   */
  private readonly kc: number;
  private readonly window: ConvWindow;
  private packed: number;
  /** The Winograd path's weights; then `packed` is its packing. */
  private readonly wino: QWinograd3x3 | undefined;
  /** The input's quantization and the store's parameters, with a zero row of kc i16. */
  private readonly io: QConvIO;
  private plan: Plan | undefined;

  constructor(
    private readonly rt: Runtime,
    opts: QConv2dOptions,
  ) {
    const what = "qconv2d";
    const [cout, kh, kw, cin] = opts.wShape;
    if (![cout, kh, kw, cin].every((d) => Number.isSafeInteger(d) && d > 0)) throw new ShapeError(`${what}: weight shape [${opts.wShape.join(", ")}] must be positive integers`);
    if (opts.weights.length !== cout * kh * kw * cin) throw new ShapeError(`${what}: ${opts.weights.length} weights for shape [${opts.wShape.join(", ")}]`);
    const { zw, scales, signed } = checkedQuantization(what, opts, cout);
    this.inChannels = cin;
    this.outChannels = cout;
    this.window = convWindow([kh, kw], opts, what);

    const heap = rt.heap;
    const ks = kh * kw;
    const wino = winogradGeometry(this.window.kernel, this.window.strides, this.window.dilations, 1) && (opts.winograd ?? qwinogradPays(cin, cout))
      && qwinogradExact(l1Norms(opts.weights, zw, ks * cin), maxInput(opts.input));
    // Winograd reads Cin channels as they are; the direct kernel's taps join into runs over pairs.
    const kc = cin % 2 === 1 && ks > 1 && !wino ? cin + 1 : cin;
    this.kc = kc;
    const src = heap.alloc(cout * ks * kc + cout);
    try {
      // The padding channel's weight is the zero point: it adds w - zw = 0.
      const u8 = heap.u8;
      for (let j = 0; j < cout; j++) {
        for (let t = 0; t < ks; t++) {
          const o = src + (j * ks + t) * kc;
          for (let k = 0; k < cin; k++) u8[o + k] = opts.weights[(j * ks + t) * cin + k] & 0xff;
          if (kc > cin) u8[o + cin] = zw[j] & 0xff;
        }
      }
      for (let j = 0; j < cout; j++) u8[src + cout * ks * kc + j] = zw[j] & 0xff;
      if (wino) {
        this.wino = new QWinograd3x3(rt, cin, cout, src, signed);
        this.packed = this.wino.packed;
      } else {
        this.packed = heap.alloc(Math.ceil(cout / GEMM_NR) * ks * (Math.ceil(kc / 2)) * 32);
        rt.dispatch([{
          fn: "pack_qgemm_q8_8",
          args: { kc, ks, n: cout, b: src, st: kc, sk: 1, sn: ks * kc, wzp: src + cout * ks * kc, out: this.packed, wSigned: signed ? 1 : 0 },
        }], what);
      }
    } finally {
      heap.release(src);
    }
    try {
      this.io = new QConvIO(rt, opts, scales, kc);
    } catch (e) {
      this.releaseWeights();
      throw e;
    }
  }

  /** Which kernel runs: "winograd" (conv2d_q16_winograd_2x2k3) or "direct" (qgemm_q8_4x8). */
  get path(): "winograd" | "direct" {
    return this.wino ? "winograd" : "direct";
  }

  private releaseWeights(): void {
    if (this.wino) this.wino.dispose();
    else this.rt.heap.release(this.packed);
  }

  /** NHWC [N, H, W, Cin] gives [N, OH, OW, Cout]; [M, Cin] (a GEMM) gives [M, Cout]. */
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (x.length === 2) {
      if (this.window.kernel[0] * this.window.kernel[1] !== 1) throw new ShapeError(`qconv2d: a 2-d input needs a 1x1 kernel`);
      if (x[1] !== this.inChannels) throw new ShapeError(`qgemm: input [${x.join(", ")}] has K = ${x[1]}, the weights expect ${this.inChannels}`);
      return [x[0], this.outChannels];
    }
    const g = this.geometry(x);
    return [g.n, g.oh, g.ow, this.outChannels];
  }

  private geometry(x: readonly number[]) {
    const what = "qconv2d";
    if (x.length !== 4) throw new ShapeError(`${what} input: expected rank 4 (NHWC) or 2, got [${x.join(", ")}]`);
    if (x[3] !== this.inChannels) throw new ShapeError(`${what}: input has ${x[3]} channels, the weights expect ${this.inChannels}`);
    return windowGeometry(x, this.window, what);
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    if (this.packed === 0) throw new DisposedError("qconv2d: the prepared op was used after dispose()");
    const out = this.outputShape(shapes);
    const x4 = shapes[0].length === 2 ? [1, shapes[0][0], 1, shapes[0][1]] : shapes[0];
    const key = x4.join("x");
    if (this.plan?.key !== key) {
      const g = this.geometry(x4);
      const { n, h, w, oh, ow, pads } = g;
      const heap = this.rt.heap;
      if (this.wino) {
        const { plan, scratchBytes } = this.wino.plan(n, h, w, oh, ow, pads);
        const scratch = heap.alloc(scratchBytes);
        const xq = this.io.inputScratch(scratch, sizeOfShape(x4) * 2);
        this.release();
        this.plan = { key, shape: [n, h, w, this.inChannels], ind: 0, runs: 0, wino: plan, scratch, xq, oh, ow };
        return out;
      }
      const ks = this.window.kernel[0] * this.window.kernel[1];
      const tiles = Math.ceil((n * oh * ow) / GEMM_MR);
      const tableBytes = tiles * GEMM_MR * ks * 4;
      const withRuns = this.kc % 2 === 0 && ks > 1;
      const ind = heap.alloc(tableBytes + (withRuns ? tiles * ks : 0));
      const pixels = sizeOfShape(x4) / this.inChannels;
      // Padded: the kernel's operand, then (when this op quantizes) the quantized input it is made from.
      const operand = this.kc > this.inChannels ? pixels * this.kc * 2 : 0;
      const xq = this.io.inputScratch(ind, operand + pixels * this.inChannels * 2, operand);
      const args = indirectionArgs(g, this.window, this.kc, GEMM_MR, ind);
      this.rt.dispatch([{ fn: "conv2d_indirection", args }], "qconv2d");
      const runs = withRuns ? ind + tableBytes : 0;
      if (withRuns) this.rt.dispatch([{ fn: "conv2d_tap_runs", args: { tiles, ks, mr: GEMM_MR, stepBytes: this.kc * 4, ind, runs } }], "qconv2d");
      this.release();
      this.plan = { key, shape: [n, h, w, this.inChannels], ind, runs, scratch: 0, xq, oh, ow };
    }
    return out;
  }

  /** A dynamic input quantization reads the input's range to set its scales. */
  get readsValues(): boolean {
    return this.io.readsValues;
  }

  private release(): void {
    if (!this.plan) return;
    for (const p of [this.plan.ind, this.plan.scratch, this.plan.xq]) if (p !== 0) this.rt.heap.release(p);
    this.plan = undefined;
  }

  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    return {
      weights: heap.sizeOf(this.packed) + this.io.bytes,
      scratch: this.plan ? [this.plan.ind, this.plan.scratch, this.plan.xq].reduce((s, p) => s + (p === 0 ? 0 : heap.sizeOf(p)), 0) : 0,
    };
  }

  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    const plan = this.plan!;
    const rt = this.rt;
    const size = sizeOfShape(plan.shape);
    const cin = this.inChannels;
    const padded = this.kc > cin;
    // Where the quantization writes: the kernel's operand, or before padding the scratch after it.
    const quantized = padded ? plan.xq + (size / cin) * this.kc * 2 : plan.xq;
    this.io.quantize(x, size, quantized);
    if (padded) rt.dispatch([{ fn: "pad_channels_q16", args: { n: size / cin, c: cin, x: this.io.prequantized ? x : quantized, y: plan.xq } }], "qconv2d");
    const a = plan.xq === 0 ? x : plan.xq;
    const store = this.io.store;
    if (this.wino) {
      this.wino.exec(plan.wino!, plan.scratch, this.io.zero, a, y, store);
      return;
    }
    const c = this.outChannels;
    const elem = this.io.elem;
    const m = plan.shape[0] * plan.oh * plan.ow;
    const ks = this.window.kernel[0] * this.window.kernel[1];
    rt.dispatch(
      rt.ranges(m, m * c * cin * ks, GEMM_MR).map(([r0, r1]) => ({
        fn: "qgemm_q8_4x8" as const,
        args: {
          m: r1 - r0, n: c, kc: this.kc, ks, a, ind: plan.ind + r0 * ks * 4, runs: plan.runs && plan.runs + (r0 / GEMM_MR) * ks,
          zero: this.io.zero, w: this.packed, scale: store.scale, fbias: store.fbias, c: y + r0 * c * elem, ldc: c, outKind: store.outKind, zy: store.zy, ys: store.ys,
        },
      })),
      "qconv2d",
    );
  }

  dispose(): void {
    if (this.packed === 0) return;
    this.releaseWeights();
    this.io.dispose();
    this.release();
    this.packed = 0;
  }
}

/**
 * What the 8-bit convolutions (QConv2d, QDwConv2d) keep around their kernels: the input's
 * quantization into the kernels' q16 operand, and a side table of the store's scale[C] (f32(input
 * scale * weight scale[j]), set per run for dynamic quantization), its fbias[C], the input's min
 * and max, then a row of `zeros` i16 zeros for the taps that fall into the padding.
 */
export class QConvIO {
  private readonly input: InputQuantization;
  private readonly output: QParams | undefined;
  private readonly side: number;
  private readonly fbias: number;

  constructor(
    private readonly rt: Runtime,
    opts: QConv2dOptions,
    private readonly weightScales: Float32Array,
    zeros: number,
  ) {
    const c = weightScales.length;
    this.input = opts.input;
    this.output = opts.output;
    this.side = rt.heap.alloc(c * 8 + 8 + zeros * 2);
    this.fbias = opts.bias ? this.side + c * 4 : 0;
    rt.heap.u8.fill(0, this.zero, this.zero + zeros * 2);
    if (opts.bias) rt.heap.f32.set(opts.bias, this.side / 4 + c);
    if (!opts.input.dynamic) this.setScales(opts.input.scale);
  }

  private get minMax(): number {
    return this.side + this.weightScales.length * 8;
  }

  /** The zero row. */
  get zero(): number {
    return this.minMax + 8;
  }

  /** Whether quantizing the input reads its range (dynamic quantization), which sets the scales. */
  get readsValues(): boolean {
    return this.input.dynamic;
  }

  /** Whether the input comes as the q16 operand, so that nothing quantizes it. */
  get prequantized(): boolean {
    return !this.input.dynamic && this.input.quantized === true;
  }

  /** The store's parameters: a float output, or the next 8-bit op's q16 operand. */
  get store(): QStore {
    const out = this.output;
    return { scale: this.side, fbias: this.fbias, outKind: out ? (out.signed ? QOUT.q16i8 : QOUT.q16u8) : QOUT.f32, zy: out?.zeroPoint ?? 0, ys: out?.scale ?? 0 };
  }

  /** Bytes per output element. */
  get elem(): number {
    return this.output ? 2 : 4;
  }

  get bytes(): number {
    return this.rt.heap.sizeOf(this.side);
  }

  /**
   * Allocates a bind's scratch for the quantized input: `bytes`, or for an input that comes
   * quantized `prequantizedBytes` (0: none, and 0 is returned); releases `held`, the bind's other
   * scratch, when that fails, so that a failed bind holds nothing.
   */
  inputScratch(held: number, bytes: number, prequantizedBytes = 0): number {
    const size = this.prequantized ? prequantizedBytes : bytes;
    if (size === 0) return 0;
    try {
      return this.rt.heap.alloc(size);
    } catch (e) {
      this.rt.heap.release(held);
      throw e;
    }
  }

  private setScales(inputScale: number): void {
    const f32 = this.rt.heap.f32;
    const s = Math.fround(inputScale);
    for (let j = 0; j < this.weightScales.length; j++) f32[this.side / 4 + j] = Math.fround(s * this.weightScales[j]);
  }

  /** Quantizes the float input x of `size` elements into y as the q16 operand; a prequantized input is left as it is. */
  quantize(x: number, size: number, y: number): void {
    const rt = this.rt;
    if (this.input.dynamic) {
      const mm = this.minMax;
      rt.dispatch([{ fn: "minmax_f32", args: { n: size, x, y: mm } }], "DynamicQuantizeLinear");
      const f32 = rt.heap.f32;
      const { scale, zeroPoint } = dynamicQuantization(f32[mm / 4], f32[mm / 4 + 1]);
      this.setScales(scale);
      rt.dispatch([{ fn: "quantize_f32_q8_i16", args: { n: size, x, y, scale, zp: zeroPoint, ySigned: 0 } }], "DynamicQuantizeLinear");
    } else if (!this.input.quantized) {
      const q = this.input;
      rt.dispatch([{ fn: "quantize_f32_q8_i16", args: { n: size, x, y, scale: q.scale, zp: q.zeroPoint, ySigned: q.signed ? 1 : 0 } }], "QuantizeLinear");
    }
  }

  dispose(): void {
    this.rt.heap.release(this.side);
  }
}

/** Per output channel, the sum of |w - zw| over its `per` weights (OHWI, so consecutive). */
function l1Norms(weights: ArrayLike<number>, zw: readonly number[], per: number): number[] {
  return zw.map((z, j) => {
    let s = 0;
    for (let i = j * per; i < (j + 1) * per; i++) s += Math.abs(weights[i] - z);
    return s;
  });
}

/** The largest |x - zx| the input can hold: its 8-bit range about its zero point (any uint8 one when dynamic). */
function maxInput(q: InputQuantization): number {
  if (q.dynamic) return 255;
  const [lo, hi] = q.signed ? [-128, 127] : [0, 255];
  return Math.max(q.zeroPoint - lo, hi - q.zeroPoint);
}

/**
 * The checks a quantized convolution's weights and parameters pass: zero points and scales given
 * once or per output channel (returned per channel), a bias per channel, 8-bit weights and zero
 * points of one type (signed: int8), and valid input and output quantizations.
 */
export function checkedQuantization(what: string, opts: QConv2dOptions, channels: number): { zw: number[]; scales: Float32Array; signed: boolean } {
  const perChannel = (a: ArrayLike<number>, name: string) => {
    if (a.length !== 1 && a.length !== channels) throw new ShapeError(`${what}: ${name} must hold 1 or ${channels} values, got ${a.length}`);
    return Array.from({ length: channels }, (_, j) => a[a.length === 1 ? 0 : j]);
  };
  const zw = perChannel(opts.weightZeroPoints, "weight zero points");
  const scales = Float32Array.from(perChannel(opts.weightScales, "weight scales"));
  if (opts.bias && opts.bias.length !== channels) throw new ShapeError(`${what}: bias must hold ${channels} values, got ${opts.bias.length}`);
  const values = [...Array.from(opts.weights), ...zw];
  const signed = values.some((v) => v < 0);
  const [lo, hi] = signed ? [-128, 127] : [0, 255];
  if (!values.every((v) => Number.isInteger(v) && v >= lo && v <= hi)) throw new ArgumentError(`${what}: weights and zero points must be 8-bit integers of one type (int8 or uint8)`);
  if (!opts.input.dynamic) checkParams(opts.input, `${what} input`);
  if (opts.output) checkParams(opts.output, `${what} output`);
  return { zw, scales, signed };
}

export function checkParams(p: QParams, what: string): void {
  const { scale, zeroPoint, signed: s } = p;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new ArgumentError(`${what} scale must be positive and finite, got ${scale}`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < (s ? -128 : 0) || zeroPoint > (s ? 127 : 255)) throw new ArgumentError(`${what} zero point ${zeroPoint} is not a ${s ? "int8" : "uint8"}`);
}

/**
 * DynamicQuantizeLinear's uint8 scale and zero point from the input's min and max, in float32
 * step by step as the ONNX definition (and onnxruntime) computes them: the range is widened to
 * include 0, scale = (max - min) / 255 (1 when the range is empty), zero point =
 * roundHalfEven(clamp(0 - min / scale, 0, 255)).
 */
export function dynamicQuantization(min: number, max: number): { scale: number; zeroPoint: number } {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
  const initial = Math.fround(0 - Math.fround(lo / scale));
  return { scale, zeroPoint: roundHalfEven(Math.min(255, Math.max(0, initial))) };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
