import { ArgumentError, ShapeError } from "../errors.js";
import type { Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime } from "../runtime/runtime.js";
import type { PreparedOp } from "./op.js";
import { resolvePadding, windowOut } from "./options.js";
import { type QParams, checkParams } from "./qconv.js";

/** A pooling window over the quantized chain; absent for a global pool. */
export interface QPoolWindow {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
}

export interface QPoolOptions {
  max: boolean;
  window?: QPoolWindow;
  /** Average pooling: divide by the whole window, padding included. */
  countIncludePad?: boolean;
  /** The input's quantization. */
  input: QParams;
  /** The output's; a max pool keeps the input's and must be given it. */
  output: QParams;
}

/**
 * Max or average pooling of a q16 tensor (NHWC, the quantized chain's form: values minus their
 * zero point as i16) into a q16 tensor, as onnxruntime runs QDQ pools and QLinearAveragePool /
 * QLinearGlobalAveragePool (assembly/qpool.ts):
 * - max: exact, and the output keeps the input's quantization (max commutes with it);
 * - global average, and an average whose window is the whole image without padding (onnxruntime
 *   takes its global kernel there): the exact i32 sum, requantized once with scale =
 *   sx / (sy * f32(hw)) in float32;
 * - any other average: onnxruntime's float steps (dequantize, sum in tap order, divide, quantize).
 */
export class QPool2d implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private readonly what: string;
  private shape: [number, number, number, number] = [0, 0, 0, 0];
  private out: { oh: number; ow: number; pads: [number, number, number, number] } = { oh: 1, ow: 1, pads: [0, 0, 0, 0] };

  constructor(
    private readonly rt: Runtime,
    private readonly opts: QPoolOptions,
  ) {
    this.what = `q${opts.window ? "" : "global"}${opts.max ? "MaxPool" : "AvgPool"}`;
    checkParams(opts.input, `${this.what} input`);
    checkParams(opts.output, `${this.what} output`);
    const p = opts.input, q = opts.output;
    if (opts.max && (p.scale !== q.scale || p.zeroPoint !== q.zeroPoint || p.signed !== q.signed)) {
      throw new ArgumentError(`${this.what}: a max pool keeps its input's quantization; the output's scale and zero point must equal the input's`);
    }
    const win = opts.window;
    if (win && !opts.max && (win.dilations[0] !== 1 || win.dilations[1] !== 1)) {
      throw new ArgumentError(`${this.what}: average pooling takes dilations 1 only (onnxruntime's QLinearAveragePool has none), got [${win.dilations.join(", ")}]`);
    }
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const [oh, ow] = this.geometry(shapes[0]);
    return [shapes[0][0], oh, ow, shapes[0][3]];
  }

  private geometry(x: readonly number[]): [number, number, [number, number, number, number]] {
    if (x.length !== 4) throw new ShapeError(`${this.what} input: expected rank 4 (NHWC), got [${x.join(", ")}]`);
    const win = this.opts.window;
    if (!win) return [1, 1, [0, 0, 0, 0]];
    const [, h, w] = x;
    const pads = resolvePadding(win.pads, h, w, win.kernel, win.strides, win.dilations, this.what);
    const oh = windowOut(h, win.kernel[0], win.strides[0], win.dilations[0], pads[0], pads[2], this.what, "vertical");
    const ow = windowOut(w, win.kernel[1], win.strides[1], win.dilations[1], pads[1], pads[3], this.what, "horizontal");
    return [oh, ow, pads];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const [oh, ow, pads] = this.geometry(shapes[0]);
    this.shape = [...shapes[0]] as [number, number, number, number];
    this.out = { oh, ow, pads };
    return [shapes[0][0], oh, ow, shapes[0][3]];
  }

  /** Whether the average runs as onnxruntime's global one: a window of the whole image, no padding. */
  private get global(): boolean {
    const win = this.opts.window;
    if (!win) return true;
    const [, h, w] = this.shape;
    return win.kernel[0] === h && win.kernel[1] === w && this.out.pads.every((p) => p === 0);
  }

  exec(inputs: readonly number[], y: number): void {
    const [n, h, w, c] = this.shape;
    const x = inputs[0];
    const rt = this.rt;
    const { input: p, output: q, max } = this.opts;
    if (!this.opts.window || (!max && this.global)) {
      const scale = Math.fround(Math.fround(p.scale) / Math.fround(Math.fround(q.scale) * Math.fround(h * w)));
      const calls = rt.ranges(n, n * h * w * c, 1, PARALLEL_MIN_ELEMENTS).map(([b0, b1]): Call => ({
        fn: "globalpool_q16",
        args: { batch: b1 - b0, hw: h * w, c, x: x + b0 * h * w * c * 2, y: y + b0 * c * 2, isMax: max ? 1 : 0, scale, zy: q.zeroPoint, ySigned: q.signed ? 1 : 0 },
      }));
      rt.dispatch(calls, this.what);
      return;
    }
    const { oh, ow } = this.out;
    const win = this.opts.window;
    const work = n * oh * ow * c * win.kernel[0] * win.kernel[1];
    // Images over threads, or one image's output rows: a range from row r0 is the same call with
    // the top padding moved up by r0 strides, so every output sees the same taps in the same order.
    const calls: Call[] = [];
    if (n >= rt.threads) {
      for (const [b0, b1] of rt.ranges(n, work, 1, PARALLEL_MIN_ELEMENTS)) calls.push(this.call(x + b0 * h * w * c * 2, b1 - b0, 0, oh, y + b0 * oh * ow * c * 2));
    } else {
      for (let b = 0; b < n; b++) {
        for (const [r0, r1] of rt.ranges(oh, work / n, 1, PARALLEL_MIN_ELEMENTS)) calls.push(this.call(x + b * h * w * c * 2, 1, r0, r1 - r0, y + (b * oh + r0) * ow * c * 2));
      }
    }
    rt.dispatch(calls, this.what);
  }

  private call(x: number, batch: number, r0: number, rows: number, y: number): Call {
    const [, h, w, c] = this.shape;
    const { ow, pads } = this.out;
    const { window: win, input: p, output: q } = this.opts;
    const { kernel: k, strides: s, dilations: d } = win!;
    const pt = pads[0] - r0 * s[0];
    if (this.opts.max) {
      return { fn: "maxpool2d_q16", args: { batch, h, w, c, oh: rows, ow, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt, pl: pads[1], x, y } };
    }
    return {
      fn: "avgpool2d_q16",
      args: {
        batch, h, w, c, oh: rows, ow, kh: k[0], kw: k[1], sh: s[0], sw: s[1], pt, pl: pads[1], x, y,
        includePad: this.opts.countIncludePad ? 1 : 0, sx: p.scale, sy: q.scale, zy: q.zeroPoint, ySigned: q.signed ? 1 : 0,
      },
    };
  }

  dispose(): void {}
}
