import { ArgumentError } from "../errors.js";
import type { Slice } from "./slice.js";

export type ResizeMode = "bilinear" | "nearest";

/** 'unit': the slice's range mapped to 0..1; mean/std: then (x - mean[c]) / std[c] per channel. */
export type Normalize = "unit" | { mean: readonly number[]; std: readonly number[] };

/** What a model takes: one image of `channels` x `height` x `width` in `layout`. */
export interface InputSpec {
  layout: "NCHW" | "NHWC";
  channels: 1 | 3;
  height: number;
  width: number;
  resize: ResizeMode;
  normalize: Normalize;
}

// ITU-R BT.601 luma weights, as PIL's convert('L') and OpenCV's RGB2GRAY use.
const LUMA = [0.299, 0.587, 0.114];

/**
 * Turns a slice into a model's input (batch of one): its range mapped to 0..1 and clamped, grey
 * repeated into 3 channels or RGB reduced to grey, resized, normalised and laid out as the spec
 * says. Only IEEE-exact arithmetic (+ - * /, rounding to float32 at each store) is used, so the
 * result is the same to the bit in every JavaScript engine.
 */
export function toInput(slice: Slice, spec: InputSpec): Float32Array {
  checkSlice(slice);
  checkSpec(spec);
  const { width, height, channels } = slice;
  const [lo, hi] = slice.range;
  // Grey is made before resizing and repeated after it, so the resize works on as few channels as it can.
  const c = Math.min(channels, spec.channels);
  const unit = new Float32Array(width * height * c);
  for (let p = 0; p < width * height; p++) {
    if (c === channels) {
      for (let k = 0; k < c; k++) unit[p * c + k] = toUnit(slice.data[p * c + k], lo, hi);
    } else {
      const s = p * 3;
      unit[p] = LUMA[0] * toUnit(slice.data[s], lo, hi) + LUMA[1] * toUnit(slice.data[s + 1], lo, hi) + LUMA[2] * toUnit(slice.data[s + 2], lo, hi);
    }
  }
  const { height: H, width: W, channels: C } = spec;
  const sized = resize(unit, width, height, c, W, H, spec.resize);
  const mean = spec.normalize === "unit" ? undefined : spec.normalize.mean;
  const std = spec.normalize === "unit" ? undefined : spec.normalize.std;
  const out = new Float32Array(C * H * W);
  for (let p = 0; p < H * W; p++) {
    for (let k = 0; k < C; k++) {
      let v = sized[p * c + (c === 1 ? 0 : k)];
      if (mean && std) v = (v - mean[k]) / std[k];
      out[spec.layout === "NCHW" ? k * H * W + p : p * C + k] = v;
    }
  }
  return out;
}

// NaN (and everything below the range) maps to 0; an empty range maps everything to 0.
function toUnit(v: number, lo: number, hi: number): number {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0;
  return t > 0 ? (t < 1 ? t : 1) : 0;
}

/**
 * Resizes an interleaved image. Bilinear samples at pixel centres, like PyTorch's
 * interpolate(mode='bilinear', align_corners=False) without antialiasing, OpenCV's INTER_LINEAR
 * and ONNX Resize's half_pixel; nearest takes the input pixel whose area holds the output pixel's
 * centre, like PIL's NEAREST and PyTorch's 'nearest-exact' (PyTorch's plain 'nearest' and OpenCV's
 * INTER_NEAREST take floor(x * in / out) and differ when shrinking).
 */
export function resize(src: Float32Array, width: number, height: number, channels: number, outWidth: number, outHeight: number, mode: ResizeMode): Float32Array {
  if (outWidth === width && outHeight === height) return src;
  const out = new Float32Array(outWidth * outHeight * channels);
  if (mode === "nearest") {
    const xs = Array.from({ length: outWidth }, (_, x) => nearest(x, width, outWidth));
    for (let y = 0; y < outHeight; y++) {
      const row = nearest(y, height, outHeight) * width;
      for (let x = 0; x < outWidth; x++) {
        for (let k = 0; k < channels; k++) out[(y * outWidth + x) * channels + k] = src[(row + xs[x]) * channels + k];
      }
    }
    return out;
  }
  const xs = Array.from({ length: outWidth }, (_, x) => linear(x, width, outWidth));
  for (let y = 0; y < outHeight; y++) {
    const [y0, y1, ly] = linear(y, height, outHeight);
    for (let x = 0; x < outWidth; x++) {
      const [x0, x1, lx] = xs[x];
      for (let k = 0; k < channels; k++) {
        const a = src[(y0 * width + x0) * channels + k];
        const b = src[(y0 * width + x1) * channels + k];
        const c = src[(y1 * width + x0) * channels + k];
        const d = src[(y1 * width + x1) * channels + k];
        out[(y * outWidth + x) * channels + k] = (1 - ly) * ((1 - lx) * a + lx * b) + ly * ((1 - lx) * c + lx * d);
      }
    }
  }
  return out;
}

// Integer arithmetic: floor((i + 0.5) * size / outSize) without rounding on the way.
function nearest(i: number, size: number, outSize: number): number {
  return Math.min(Math.floor(((2 * i + 1) * size) / (2 * outSize)), size - 1);
}

// The source coordinate (i + 0.5) * size / outSize - 0.5, from one exact division.
function linear(i: number, size: number, outSize: number): [number, number, number] {
  const s = Math.max(((2 * i + 1) * size - outSize) / (2 * outSize), 0);
  const i0 = Math.floor(s);
  return [i0, Math.min(i0 + 1, size - 1), s - i0];
}

function checkSlice(slice: Slice): void {
  const { width, height, channels, data, range } = slice ?? {};
  if (!positiveInteger(width) || !positiveInteger(height) || (channels !== 1 && channels !== 3)) {
    throw new ArgumentError(`toInput: a slice needs positive integer width and height and 1 or 3 channels, got ${width} x ${height} x ${channels}`);
  }
  if (!(data instanceof Float32Array) || data.length !== width * height * channels) {
    throw new ArgumentError(`toInput: slice data must be a Float32Array of ${width * height * channels} values, got ${data?.length}`);
  }
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite)) {
    throw new ArgumentError(`toInput: slice range must be two finite numbers, got ${JSON.stringify(range)}`);
  }
}

function checkSpec(spec: InputSpec): void {
  const { layout, channels, height, width, resize, normalize } = spec ?? {};
  if (layout !== "NCHW" && layout !== "NHWC") throw new ArgumentError(`toInput: layout must be 'NCHW' or 'NHWC', got ${JSON.stringify(layout)}`);
  if (channels !== 1 && channels !== 3) throw new ArgumentError(`toInput: channels must be 1 or 3, got ${channels}`);
  if (!positiveInteger(height) || !positiveInteger(width)) throw new ArgumentError(`toInput: height and width must be positive integers, got ${height} x ${width}`);
  if (resize !== "bilinear" && resize !== "nearest") throw new ArgumentError(`toInput: resize must be 'bilinear' or 'nearest', got ${JSON.stringify(resize)}`);
  const problem = normalizeProblem(normalize, channels);
  if (problem) throw new ArgumentError(`toInput: normalize ${problem}`);
}

/** Why a normalisation does not fit a model of `channels` channels, or undefined if it does. */
export function normalizeProblem(normalize: unknown, channels: number): string | undefined {
  if (normalize === "unit") return undefined;
  const { mean, std } = (normalize ?? {}) as { mean?: unknown; std?: unknown };
  if (typeof normalize !== "object" || !Array.isArray(mean) || !Array.isArray(std)) return `must be 'unit' or { mean: [...], std: [...] }, got ${JSON.stringify(normalize)}`;
  if (mean.length !== channels || std.length !== channels) return `needs ${channels} mean and std values (one per input channel), got ${mean.length} and ${std.length}`;
  if (!mean.every(Number.isFinite) || !std.every((s) => Number.isFinite(s) && s !== 0)) return `needs finite means and finite, non-zero stds, got ${JSON.stringify(normalize)}`;
  return undefined;
}

function positiveInteger(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) > 0;
}
