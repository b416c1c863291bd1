import { ArgumentError } from "../errors.js";
import { type Runtime, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
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

function window(rt: Runtime, x: Tensor, opts: MaxPool2dOptions | AvgPool2dOptions, keys: readonly string[], what: string) {
  checkKeys(opts, keys, what);
  rt.check(x, `${what} input`, 4);
  if (opts === undefined || opts.kernel === undefined) throw new ArgumentError(`${what}: the kernel option is required`);
  const k = pair(opts.kernel, 1, `${what} kernel`);
  const s = pair(opts.strides ?? opts.kernel, 1, `${what} strides`);
  const d = pair(opts.dilations, 1, `${what} dilations`);
  const [n, h, w, c] = x.shape;
  const pads = resolvePadding(opts.padding, h, w, k, s, d, what);
  const oh = windowOut(h, k[0], s[0], d[0], pads[0], pads[2], what, "vertical");
  const ow = windowOut(w, k[1], s[1], d[1], pads[1], pads[3], what, "horizontal");
  return { n, h, w, c, oh, ow, k, s, d, pads };
}

export function maxPool2d(rt: Runtime, x: Tensor, opts: MaxPool2dOptions): Tensor {
  const g = window(rt, x, opts, ["kernel", "strides", "padding", "dilations"], "maxPool2d");
  const y = rt.empty([g.n, g.oh, g.ow, g.c]);
  rt.kernels.maxpool2d_f32(x.ptr, g.n, g.h, g.w, g.c, g.oh, g.ow, g.k[0], g.k[1], g.s[0], g.s[1], g.d[0], g.d[1], g.pads[0], g.pads[1], y.ptr);
  return y;
}

export function avgPool2d(rt: Runtime, x: Tensor, opts: AvgPool2dOptions): Tensor {
  const what = "avgPool2d";
  const g = window(rt, x, opts, ["kernel", "strides", "padding", "dilations", "countIncludePad"], what);
  const include = opts.countIncludePad ?? false;
  if (typeof include !== "boolean") throw new ArgumentError(`${what}: countIncludePad must be true or false, got ${show(include)}`);
  const y = rt.empty([g.n, g.oh, g.ow, g.c]);
  rt.kernels.avgpool2d_f32(
    x.ptr, g.n, g.h, g.w, g.c, g.oh, g.ow, g.k[0], g.k[1], g.s[0], g.s[1], g.d[0], g.d[1],
    g.pads[0], g.pads[1], g.pads[2], g.pads[3], include ? 1 : 0, y.ptr,
  );
  return y;
}

/** Mean (or max) over all pixels of each image: [N,H,W,C] -> [N,1,1,C]. */
export function globalPool(rt: Runtime, x: Tensor, isMax: boolean): Tensor {
  rt.check(x, `${isMax ? "globalMaxPool" : "globalAvgPool"} input`, 4);
  const [n, h, w, c] = x.shape;
  const y = rt.empty([n, 1, 1, c]);
  rt.kernels.globalpool_f32(x.ptr, n, h * w, c, isMax ? 1 : 0, y.ptr);
  return y;
}
