import { ArgumentError, ShapeError } from "../errors.js";
import type { KernelArgs } from "../runtime/kernels.js";
import { type Runtime, describe, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";

/** Rejects keys an op does not know, so that a misspelt option is not silently ignored. */
export function checkKeys(opts: object | undefined, allowed: readonly string[], what: string): void {
  if (opts === undefined) return;
  if (typeof opts !== "object" || opts === null) throw new ArgumentError(`${what}: options must be an object, got ${describe(opts)}`);
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      throw new ArgumentError(`${what}: unknown option '${key}'; expected one of ${allowed.join(", ")}`);
    }
  }
}

// Window sizes, strides, dilations and padding stay below this so that every index the kernels
// compute in int32 (o * stride - pad + k * dilation) is exact.
export const MAX_WINDOW = 2 ** 24;

/** A positive integer, or a [height, width] pair of them. */
export function pair(v: number | readonly [number, number] | undefined, def: number, what: string): [number, number] {
  if (v === undefined) return [def, def];
  const p = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isSafeInteger(x) && x > 0 && x <= MAX_WINDOW)) {
    throw new ArgumentError(`${what}: expected a positive integer up to ${MAX_WINDOW} or [height, width] of them, got ${show(v)}`);
  }
  return [p[0], p[1]];
}

export function finite(v: number | undefined, def: number, what: string): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError(`${what}: expected a finite number, got ${show(v)}`);
  return v;
}

export type Padding = "valid" | "same" | readonly [number, number, number, number];

/** Padding [top, left, bottom, right] for one input size; 'same' puts the odd pixel at the end. */
export function resolvePadding(
  padding: Padding | undefined, h: number, w: number,
  k: [number, number], s: [number, number], d: [number, number], what: string,
): [number, number, number, number] {
  if (padding === undefined || padding === "valid") return [0, 0, 0, 0];
  if (padding === "same") {
    const total = (size: number, i: 0 | 1) => Math.max((Math.ceil(size / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size, 0);
    const th = total(h, 0);
    const tw = total(w, 1);
    return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  }
  if (!Array.isArray(padding) || padding.length !== 4 || !padding.every((p) => Number.isSafeInteger(p) && p >= 0 && p <= MAX_WINDOW)) {
    throw new ArgumentError(`${what}: padding must be 'valid', 'same' or [top, left, bottom, right] of integers from 0 to ${MAX_WINDOW}, got ${show(padding)}`);
  }
  return [padding[0], padding[1], padding[2], padding[3]];
}

/**
 * Output size of a sliding window; throws when the window does not fit the padded input. With
 * `ceil` (ONNX's ceil_mode) a last partial window counts, provided it starts inside the input
 * or its leading padding.
 */
export function windowOut(
  size: number, k: number, s: number, d: number, padA: number, padB: number, what: string, axis: string, ceil = false,
): number {
  const span = (k - 1) * d + 1;
  const padded = size + padA + padB;
  if (span > padded) {
    throw new ArgumentError(`${what}: the ${axis} window spans ${span} pixels (kernel ${k}, dilation ${d}) but the padded input has ${padded}`);
  }
  if (!ceil) return Math.floor((padded - span) / s) + 1;
  const o = Math.ceil((padded - span) / s) + 1;
  return (o - 1) * s >= size + padA ? o - 1 : o;
}

/** A convolution's sliding window: kernel, strides, dilations and padding, [height, width] each. */
export interface ConvWindow {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: Padding | undefined;
}

/** A convolution's window from its kernel and options: strides and dilations default to 1; padding is checked. */
export function convWindow(
  kernel: [number, number], opts: { strides?: readonly [number, number]; dilations?: readonly [number, number]; padding?: Padding }, what: string,
): ConvWindow {
  const strides = pair(opts.strides, 1, `${what} strides`);
  const dilations = pair(opts.dilations, 1, `${what} dilations`);
  resolvePadding(opts.padding, 1, 1, kernel, strides, dilations, what);
  return { kernel, strides, dilations, padding: opts.padding };
}

/** Where a window runs over an NHWC input [N, H, W, C]. */
export interface WindowGeometry {
  n: number; h: number; w: number; oh: number; ow: number;
  pads: [number, number, number, number];
}

/**
 * The window's geometry over an NHWC input: the padding resolved for its size and the output
 * height and width; throws when the window does not fit.
 */
export function windowGeometry(x: readonly number[], win: ConvWindow, what: string): WindowGeometry {
  const [n, h, w] = x;
  const { kernel: k, strides: s, dilations: d } = win;
  const pads = resolvePadding(win.padding, h, w, k, s, d, what);
  const oh = windowOut(h, k[0], s[0], d[0], pads[0], pads[2], what, "vertical");
  const ow = windowOut(w, k[1], s[1], d[1], pads[1], pads[3], what, "horizontal");
  return { n, h, w, oh, ow, pads };
}

/**
 * conv2d_indirection's arguments for the window over an input of that geometry: tiles of `mr`
 * output pixels, the input's pixels `pixelStride` elements apart, the table at `ind`.
 */
export function indirectionArgs(g: WindowGeometry, win: ConvWindow, pixelStride: number, mr: number, ind: number): KernelArgs<"conv2d_indirection"> {
  const { n, h, w, oh, ow, pads } = g;
  const { kernel: k, strides: s, dilations: d } = win;
  return { batch: n, h, w, pixelStride, oh, ow, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt: pads[0], pl: pads[1], mr, ind };
}

/**
 * A per-output-channel bias given as a tensor (checked, used in place) or as data (copied into a
 * tensor that `release` frees), for packing; ptr 0 when there is none.
 */
export function biasOperand(rt: Runtime, bias: Tensor | Float32Array | undefined, cout: number, what: string): { ptr: number; release: () => void } {
  if (bias === undefined) return { ptr: 0, release: () => {} };
  if (bias instanceof Float32Array) {
    const t = rt.fromArray(bias, [cout], what);
    return { ptr: t.ptr, release: () => t.dispose() };
  }
  rt.check(bias, what, 1);
  if (bias.shape[0] !== cout) throw new ShapeError(`${what}: expected [${cout}], got [${bias.shape.join(", ")}]`);
  return { ptr: bias.ptr, release: () => {} };
}

/** The groups option (default 1): a positive integer that splits the weights' whole channel side evenly. */
export function groupsOf(groups: number | undefined, channels: number, side: "input" | "output", what: string): number {
  const g = groups ?? 1;
  if (!Number.isSafeInteger(g) || g <= 0) throw new ArgumentError(`${what}: groups must be a positive integer, got ${show(g)}`);
  if (channels % g !== 0) throw new ShapeError(`${what}: ${channels} ${side} channels cannot be split into ${g} groups`);
  return g;
}
