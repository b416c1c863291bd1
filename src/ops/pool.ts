import { ArgumentError, ShapeError } from "../errors.js";
import type { Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type PreparedOp, once } from "./op.js";
import { type Padding, checkKeys, pair, resolvePadding, windowOut } from "./options.js";

export interface MaxPool2dOptions {
  kernel: number | [number, number];
  /** Defaults to the kernel size. */
  strides?: number | [number, number];
  padding?: Padding;
  dilations?: number | [number, number];
}

export interface AvgPool2dOptions {
  kernel: number | [number, number];
  /** Defaults to the kernel size. */
  strides?: number | [number, number];
  padding?: Padding;
  dilations?: number | [number, number];
  /** Divide by the whole window, padding included, rather than by the pixels inside the image. */
  countIncludePad?: boolean;
}

/** A pooling window, validated. */
export interface PoolWindow {
  max: boolean;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: Padding | undefined;
  countIncludePad: boolean;
  /** ONNX's ceil_mode: a last partial window counts. */
  ceil: boolean;
}

interface Plan {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  pads: [number, number, number, number];
}

/**
 * Whether pooling NCHW planes where they lie beats converting them to NHWC, pooling and
 * converting back (bench/layout.ts): 2x2 windows at stride 2 read both columns from the same
 * loads and beat the NHWC kernel alone; one channel is NHWC already, whose kernel then runs one
 * float at a time. Other windows ran on planes up to 3x slower than the NHWC kernel, more than
 * the two conversions cost.
 */
export function planesPay(win: { kernel: [number, number]; strides: [number, number]; dilations: [number, number] }, channels: number): boolean {
  return channels === 1 || (win.kernel[1] === 2 && win.strides[1] === 2 && win.dilations[1] === 1);
}

/**
 * Max or average pooling, windows clipped to the image, over NHWC or (`layout` "nchw", the graph's
 * pooling of an NCHW model input) over NCHW planes; shapes are given and returned in that layout.
 */
export class Pool2d implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private plan: Plan | undefined;
  private readonly what: string;

  constructor(
    private readonly rt: Runtime,
    private readonly win: PoolWindow,
    private readonly layout: "nhwc" | "nchw" = "nhwc",
  ) {
    this.what = win.max ? "maxPool2d" : "avgPool2d";
  }

  private geometry(shapes: readonly (readonly number[])[]): Plan {
    const x = shapes[0];
    if (x.length !== 4) throw new ShapeError(`${this.what} input: expected rank 4, got shape [${x.join(", ")}]`);
    const { kernel: k, strides: s, dilations: d, ceil } = this.win;
    const [n, h, w, c] = this.layout === "nchw" ? [x[0], x[2], x[3], x[1]] : x;
    const pads = resolvePadding(this.win.padding, h, w, k, s, d, this.what);
    const oh = windowOut(h, k[0], s[0], d[0], pads[0], pads[2], this.what, "vertical", ceil);
    const ow = windowOut(w, k[1], s[1], d[1], pads[1], pads[3], this.what, "horizontal", ceil);
    return { n, h, w, c, oh, ow, pads };
  }

  private shapeOf(g: Plan): number[] {
    return this.layout === "nchw" ? [g.n, g.c, g.oh, g.ow] : [g.n, g.oh, g.ow, g.c];
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return this.shapeOf(this.geometry(shapes));
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    this.plan = this.geometry(shapes);
    return this.shapeOf(this.plan);
  }

  exec(inputs: readonly number[], y: number): void {
    const { n, h, w, c, oh, ow } = this.plan!;
    const [x] = inputs;
    const rt = this.rt;
    const work = n * oh * ow * c * this.win.kernel[0] * this.win.kernel[1];
    if (this.layout === "nchw") {
      // Planes split over threads (an image's channels are planes too).
      const calls = rt.ranges(n * c, work, 1, PARALLEL_MIN_ELEMENTS).map(([p0, p1]) => this.planesCall(x + p0 * h * w * 4, p1 - p0, y + p0 * oh * ow * 4));
      rt.dispatch(calls, this.what);
      return;
    }
    // Images split over threads when they share out evenly (or are many), else each image's
    // output rows: a range of rows starting at r0 is the same call with the top padding moved up
    // by r0 strides (negative once past it), so every output sees the same taps in the same order.
    if (n % rt.threads === 0 || n >= 4 * rt.threads) {
      const calls = rt.ranges(n, work, 1, PARALLEL_MIN_ELEMENTS).map(([b0, b1]) =>
        this.call(x + b0 * h * w * c * 4, b1 - b0, 0, oh, y + b0 * oh * ow * c * 4),
      );
      rt.dispatch(calls, this.what);
      return;
    }
    for (let b = 0; b < n; b++) {
      const calls = rt.ranges(oh, work / n, 1, PARALLEL_MIN_ELEMENTS).map(([r0, r1]) =>
        this.call(x + b * h * w * c * 4, 1, r0, r1 - r0, y + (b * oh + r0) * ow * c * 4),
      );
      rt.dispatch(calls, this.what);
    }
  }

  private call(x: number, batch: number, r0: number, rows: number, y: number): Call {
    const { h, w, c, ow, pads } = this.plan!;
    const { kernel: k, strides: s, dilations: d } = this.win;
    const pt = pads[0] - r0 * s[0];
    if (this.win.max) {
      return { fn: "maxpool2d_f32", args: { batch, h, w, c, oh: rows, ow, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt, pl: pads[1], x, y } };
    }
    return {
      fn: "avgpool2d_f32",
      args: {
        batch, h, w, c, oh: rows, ow, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1],
        pt, pl: pads[1], pb: pads[2], pr: pads[3], x, y, includePad: this.win.countIncludePad ? 1 : 0,
      },
    };
  }

  private planesCall(x: number, planes: number, y: number): Call {
    const { h, w, oh, ow, pads } = this.plan!;
    const { kernel: k, strides: s, dilations: d } = this.win;
    if (this.win.max) {
      return { fn: "maxpool2d_f32_nchw", args: { planes, h, w, oh, ow, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt: pads[0], pl: pads[1], x, y } };
    }
    return {
      fn: "avgpool2d_f32_nchw",
      args: {
        planes, h, w, oh, ow, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1],
        pt: pads[0], pl: pads[1], pb: pads[2], pr: pads[3], x, y, includePad: this.win.countIncludePad ? 1 : 0,
      },
    };
  }

  dispose(): void {
    this.plan = undefined;
  }
}

/** Mean (or max) over all pixels of each image: [N,H,W,C] -> [N,1,1,C]. */
export class GlobalPool implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private shape: readonly number[] = [];

  constructor(
    private readonly rt: Runtime,
    private readonly max: boolean,
  ) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (x.length !== 4) throw new ShapeError(`${this.max ? "globalMaxPool" : "globalAvgPool"} input: expected rank 4, got shape [${x.join(", ")}]`);
    return [x[0], 1, 1, x[3]];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.shape = shapes[0];
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const [n, h, w, c] = this.shape;
    const isMax = this.max ? 1 : 0;
    // One image per thread: a pixel sum is one chain of additions, not split.
    const calls = this.rt.ranges(n, n * h * w * c, 1, PARALLEL_MIN_ELEMENTS).map(([b0, b1]): Call => ({
      fn: "globalpool_f32",
      args: { batch: b1 - b0, hw: h * w, c, x: inputs[0] + b0 * h * w * c * 4, y: y + b0 * c * 4, isMax },
    }));
    this.rt.dispatch(calls, this.max ? "globalMaxPool" : "globalAvgPool");
  }

  dispose(): void {}
}

function poolWindow(rt: Runtime, x: Tensor, opts: MaxPool2dOptions | AvgPool2dOptions, max: boolean): PoolWindow {
  const what = max ? "maxPool2d" : "avgPool2d";
  checkKeys(opts, max ? ["kernel", "strides", "padding", "dilations"] : ["kernel", "strides", "padding", "dilations", "countIncludePad"], what);
  rt.check(x, `${what} input`, 4);
  if (opts === undefined || opts.kernel === undefined) throw new ArgumentError(`${what}: the kernel option is required`);
  const kernel = pair(opts.kernel, 1, `${what} kernel`);
  const strides = pair(opts.strides ?? opts.kernel, 1, `${what} strides`);
  const dilations = pair(opts.dilations, 1, `${what} dilations`);
  resolvePadding(opts.padding, 1, 1, kernel, strides, dilations, what);
  const include = (opts as AvgPool2dOptions).countIncludePad ?? false;
  if (typeof include !== "boolean") throw new ArgumentError(`${what}: countIncludePad must be true or false, got ${show(include)}`);
  return { max, kernel, strides, dilations, padding: opts.padding, countIncludePad: include, ceil: false };
}

export function maxPool2d(rt: Runtime, x: Tensor, opts: MaxPool2dOptions): Tensor {
  return once(rt, new Pool2d(rt, poolWindow(rt, x, opts, true)), [x]);
}

export function avgPool2d(rt: Runtime, x: Tensor, opts: AvgPool2dOptions): Tensor {
  return once(rt, new Pool2d(rt, poolWindow(rt, x, opts, false)), [x]);
}

export function globalPool(rt: Runtime, x: Tensor, isMax: boolean): Tensor {
  rt.check(x, `${isMax ? "globalMaxPool" : "globalAvgPool"} input`, 4);
  return once(rt, new GlobalPool(rt, isMax), [x]);
}
