import { ArgumentError, ShapeError } from "../errors.js";
import type { Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type PreparedOp, once } from "./op.js";
import { checkKeys } from "./options.js";

export type ResizeMode = "nearest" | "linear" | "cubic";

/** ONNX Resize's coordinate_transformation_mode (tf_half_pixel_for_nn: opsets 11 and 12). */
export type CoordinateMode =
  | "half_pixel" | "half_pixel_symmetric" | "pytorch_half_pixel" | "align_corners" | "asymmetric" | "tf_crop_and_resize" | "tf_half_pixel_for_nn";

/**
 * ONNX Resize's nearest_mode, and "simple": Resize before opset 11 and Upsample, which had no
 * nearest_mode; onnxruntime truncates when an axis grows and rounds up when it shrinks.
 */
export type NearestMode = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil" | "simple";

export interface ResizeOptions {
  /** Output [height, width]. */
  size?: readonly [number, number];
  /** Scale factors [height, width]: the output is floor(input * scale) unless `size` is given too. */
  scales?: readonly [number, number];
  /** Default "nearest", as in ONNX. */
  mode?: ResizeMode;
  /** Default "half_pixel". */
  coordinateTransformationMode?: CoordinateMode;
  /** Default "round_prefer_floor". */
  nearestMode?: NearestMode;
  /** Cubic's a, default -0.75. */
  cubicCoeffA?: number;
  /** Cubic: taps outside the input get weight 0 and the others are renormalised. */
  excludeOutside?: boolean;
  /** tf_crop_and_resize: the value of outputs whose source lies outside the input. */
  extrapolationValue?: number;
  /** tf_crop_and_resize: the region [startH, startW, endH, endW], in units of the input's size. */
  roi?: readonly [number, number, number, number];
}

const MODES: readonly ResizeMode[] = ["nearest", "linear", "cubic"];
const COORDINATE_MODES: readonly CoordinateMode[] = [
  "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn",
];
const NEAREST_MODES: readonly NearestMode[] = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple"];
const KEYS = ["size", "scales", "mode", "coordinateTransformationMode", "nearestMode", "cubicCoeffA", "excludeOutside", "extrapolationValue", "roi"];

/** Validated options. */
export interface ResizeSpec {
  mode: ResizeMode;
  coordinate: CoordinateMode;
  nearest: NearestMode;
  cubicA: number;
  excludeOutside: boolean;
  fill: number;
  /** [startH, startW, endH, endW], float32 values. */
  roi: [number, number, number, number];
  size?: [number, number];
  /** float32 values */
  scales?: [number, number];
}

const f = Math.fround;

export function resizeSpec(opts: ResizeOptions | undefined): ResizeSpec {
  checkKeys(opts, KEYS, "resize");
  const o = opts ?? {};
  const pick = <T>(v: T | undefined, all: readonly T[], def: T, what: string): T => {
    if (v === undefined) return def;
    if (!all.includes(v)) throw new ArgumentError(`resize: ${what} must be one of ${all.join(", ")}, got ${show(v)}`);
    return v;
  };
  const num = (v: number | undefined, def: number, what: string): number => {
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError(`resize: ${what} must be a finite number, got ${show(v)}`);
    return v;
  };
  const mode = pick(o.mode, MODES, "nearest", "mode");
  const coordinate = pick(o.coordinateTransformationMode, COORDINATE_MODES, "half_pixel", "coordinateTransformationMode");
  const nearest = pick(o.nearestMode, NEAREST_MODES, "round_prefer_floor", "nearestMode");
  if (o.excludeOutside !== undefined && typeof o.excludeOutside !== "boolean") {
    throw new ArgumentError(`resize: excludeOutside must be true or false, got ${show(o.excludeOutside)}`);
  }
  if (o.size === undefined && o.scales === undefined) throw new ArgumentError("resize: give the output size or the scales");
  let size: [number, number] | undefined;
  if (o.size !== undefined) {
    if (!Array.isArray(o.size) || o.size.length !== 2 || !o.size.every((d) => Number.isSafeInteger(d) && d > 0 && d < 2 ** 24)) {
      throw new ArgumentError(`resize: size must be [height, width] of positive integers below 2^24, got ${show(o.size)}`);
    }
    size = [o.size[0], o.size[1]];
  }
  let scales: [number, number] | undefined;
  if (o.scales !== undefined) {
    if (!Array.isArray(o.scales) || o.scales.length !== 2 || !o.scales.every((s) => typeof s === "number" && Number.isFinite(s) && f(s) > 0)) {
      throw new ArgumentError(`resize: scales must be [height, width] of positive finite numbers, got ${show(o.scales)}`);
    }
    scales = [f(o.scales[0]), f(o.scales[1])];
  }
  let roi: [number, number, number, number] = [0, 0, 1, 1];
  if (o.roi !== undefined) {
    if (!Array.isArray(o.roi) || o.roi.length !== 4 || !o.roi.every((v) => typeof v === "number" && Number.isFinite(v))) {
      throw new ArgumentError(`resize: roi must be [startH, startW, endH, endW] of finite numbers, got ${show(o.roi)}`);
    }
    roi = [f(o.roi[0]), f(o.roi[1]), f(o.roi[2]), f(o.roi[3])];
  }
  return {
    mode, coordinate, nearest, size, scales, roi,
    cubicA: f(num(o.cubicCoeffA, -0.75, "cubicCoeffA")),
    excludeOutside: o.excludeOutside ?? false,
    fill: f(num(o.extrapolationValue, 0, "extrapolationValue")),
  };
}

/** Output length and the float32 scale the coordinates use, for one axis. */
export function axisSize(len: number, size: number | undefined, scale: number | undefined, what: string): { out: number; scale: number } {
  // onnxruntime multiplies in float32 and truncates; so does this, to give its output sizes.
  const out = size ?? Math.floor(f(scale! * len));
  if (out < 1) throw new ShapeError(`${what}: scale ${scale} makes an axis of ${len} empty`);
  return { out, scale: scale ?? f(out / len) };
}

/**
 * The input coordinate of output index x on one axis, computed in float32 operation by operation
 * as onnxruntime does (its nearest indices depend on that rounding); the two modes that
 * onnxruntime computes partly in double are computed so here too.
 */
function originalCoordinate(
  mode: CoordinateMode, x: number, scale: number, lenOut: number, lenIn: number, roiStart: number, roiEnd: number,
): number {
  switch (mode) {
    case "asymmetric":
      return f(x / scale);
    case "half_pixel":
      return f(f(f(x + 0.5) / scale) - 0.5);
    case "pytorch_half_pixel":
      return lenOut > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case "tf_half_pixel_for_nn":
      return f(f(x + 0.5) / scale);
    case "align_corners":
      return lenOut === 1 ? 0 : f(f(x * (lenIn - 1)) / (lenOut - 1));
    case "tf_crop_and_resize":
      return lenOut > 1
        ? f(f(roiStart * (lenIn - 1)) + f(f(f(x * f(roiEnd - roiStart)) * (lenIn - 1)) / (lenOut - 1)))
        : f(0.5 * f(roiStart + roiEnd) * (lenIn - 1));
    case "half_pixel_symmetric": {
      const outputWidth = f(scale * lenIn);
      const adjustment = f(lenOut / outputWidth);
      const center = f(lenIn / 2);
      const offset = f(center * f(1 - adjustment));
      return f(offset + (x + 0.5) / scale - 0.5);
    }
  }
}

function nearestIndex(mode: NearestMode, x: number, downsample: boolean): number {
  switch (mode) {
    case "round_prefer_floor":
      return x === Math.trunc(x) + 0.5 ? Math.floor(x) : roundHalfAway(x);
    case "round_prefer_ceil":
      return roundHalfAway(x);
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    case "simple":
      return downsample ? Math.ceil(x) : Math.trunc(x);
  }
}

function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

function cubicWeights(r: number, a: number): number[] {
  const far = (t: number) => f(f(f(f(f(f(a * t) - f(5 * a)) * t) + f(8 * a)) * t) - f(4 * a));
  const near = (t: number) => f(f(f(f(f(f(a + 2) * t) - f(a + 3)) * t) * t) + 1);
  const s = f(1 - r);
  return [far(f(r + 1)), near(r), near(s), far(f(s + 1))];
}

/** One axis's taps: per output index, input indices and weights, or null outside the input. */
function axisTaps(spec: ResizeSpec, lenIn: number, lenOut: number, scale: number, roiStart: number, roiEnd: number): ({ idx: number[]; w: number[] } | null)[] {
  const taps: ({ idx: number[]; w: number[] } | null)[] = [];
  const clamp = (i: number) => Math.min(Math.max(i, 0), lenIn - 1);
  for (let o = 0; o < lenOut; o++) {
    // onnxruntime leaves an axis of scale 1 alone whatever the mode; this follows the
    // specification, which agrees except for tf_crop_and_resize and tf_half_pixel_for_nn.
    const x = originalCoordinate(spec.coordinate, o, scale, lenOut, lenIn, roiStart, roiEnd);
    if (spec.coordinate === "tf_crop_and_resize" && (x < 0 || x > lenIn - 1)) {
      taps.push(null);
      continue;
    }
    if (spec.mode === "nearest") {
      taps.push({ idx: [clamp(nearestIndex(spec.nearest, x, scale < 1))], w: [1] });
    } else if (spec.mode === "linear") {
      const xc = Math.min(Math.max(x, 0), lenIn - 1);
      const i0 = Math.floor(xc);
      const r = f(xc - i0);
      taps.push({ idx: [i0, clamp(i0 + 1)], w: [f(1 - r), r] });
    } else {
      const i0 = Math.floor(x);
      const w = cubicWeights(f(x - i0), spec.cubicA);
      const idx = [i0 - 1, i0, i0 + 1, i0 + 2];
      if (spec.excludeOutside) {
        for (let k = 0; k < 4; k++) if (idx[k] < 0 || idx[k] >= lenIn) w[k] = 0;
        const sum = f(f(f(w[0] + w[1]) + w[2]) + w[3]);
        for (let k = 0; k < 4; k++) w[k] = f(w[k] / sum);
      }
      taps.push({ idx: idx.map(clamp), w });
    }
  }
  return taps;
}

interface Plan {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  taps: number;
  /** One allocation: the row table, then the column table. */
  tables: number;
  cols: number;
  /** The blends' rows, perThread bytes for each thread (0 for nearest). */
  scratch: number;
  perThread: number;
}

/**
 * Resize of NHWC over H and W (ONNX Resize's nearest, linear and cubic, every coordinate
 * transformation). The coordinate arithmetic runs once per shape, here, into per-row and
 * per-column tables of input offsets and weights that the kernels read.
 */
export class Resize implements PreparedOp {
  private plan: Plan | undefined;

  constructor(
    private readonly rt: Runtime,
    readonly spec: ResizeSpec,
  ) {}

  private dims(shapes: readonly (readonly number[])[]): { out: [number, number, number, number]; sh: number; sw: number } {
    const x = shapes[0];
    if (x.length !== 4) throw new ShapeError(`resize input: expected rank 4 (NHWC), got shape [${x.join(", ")}]`);
    const { size, scales } = this.spec;
    const hs = axisSize(x[1], size?.[0], scales?.[0], "resize");
    const ws = axisSize(x[2], size?.[1], scales?.[1], "resize");
    if (hs.out * ws.out * x[0] * x[3] > 2 ** 29) throw new ShapeError(`resize: output [${x[0]}, ${hs.out}, ${ws.out}, ${x[3]}] has more than 2^29 elements`);
    return { out: [x[0], hs.out, ws.out, x[3]], sh: hs.scale, sw: ws.scale };
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...this.dims(shapes).out];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const { out, sh, sw } = this.dims(shapes);
    const [n, h, w, c] = shapes[0];
    const [, oh, ow] = out;
    const p = this.plan;
    if (p && p.n === n && p.h === h && p.w === w && p.c === c && p.oh === oh && p.ow === ow) return [...out];
    const { roi } = this.spec;
    const rows = axisTaps(this.spec, h, oh, sh, roi[0], roi[2]);
    const cols = axisTaps(this.spec, w, ow, sw, roi[1], roi[3]);
    const taps = this.spec.mode === "nearest" ? 1 : this.spec.mode === "linear" ? 2 : 4;
    // Nearest tables hold offsets only; the blending kernel's entries are offsets then weights.
    const words = taps === 1 ? 1 : 2 * taps;
    const heap = this.rt.heap;
    const tables = heap.alloc((oh + ow) * words * 4);
    const i32 = heap.i32;
    const f32 = heap.f32;
    const write = (at: number, t: { idx: number[]; w: number[] } | null, scale: number) => {
      for (let k = 0; k < taps; k++) {
        i32[at + k] = t ? t.idx[k] * scale : -1;
        if (taps > 1) f32[at + taps + k] = t ? t.w[k] : 0;
      }
    };
    // Rows: byte offsets for nearest, indices for the blends (which cache blended rows by index).
    rows.forEach((t, i) => write(tables / 4 + i * words, t, taps === 1 ? w * c * 4 : 1));
    cols.forEach((t, i) => write(tables / 4 + (oh + i) * words, t, c * 4));
    // Each thread's blended rows: a 16-byte header of row tags, then `taps` rows of the output
    // (none for nearest, or for linear over 4 or more channels, which blends pixels directly).
    const perThread = taps === 1 || (taps === 2 && c >= 4) ? 0 : 16 + taps * ow * c * 4;
    const scratch = perThread ? heap.alloc(perThread * this.rt.threads) : 0;
    if (p) this.release(p);
    this.plan = { n, h, w, c, oh, ow, taps, tables, cols: tables + oh * words * 4, scratch, perThread };
    return [...out];
  }

  exec(inputs: readonly number[], y: number): void {
    const { n, h, w, c, oh, ow, taps, tables, cols, scratch, perThread } = this.plan!;
    const fill = this.spec.fill;
    // Whole output rows per thread.
    const calls = this.rt.ranges(n * oh, n * oh * ow * c * taps, 1, PARALLEL_MIN_ELEMENTS).map(([g0, g1], t): Call =>
      taps === 1
        ? { fn: "resize_nearest_f32", args: { h, w, c, oh, ow, g0, g1, x: inputs[0], rows: tables, cols, y, fill } }
        : { fn: "resize_taps_f32", args: { h, w, c, oh, ow, taps, g0, g1, x: inputs[0], rows: tables, cols, scratch: scratch + t * perThread, y, fill } },
    );
    this.rt.dispatch(calls, "resize");
  }

  get bytes(): { weights: number; scratch: number } {
    const p = this.plan;
    return { weights: 0, scratch: p ? this.rt.heap.sizeOf(p.tables) + (p.scratch ? this.rt.heap.sizeOf(p.scratch) : 0) : 0 };
  }

  private release(p: Plan): void {
    this.rt.heap.release(p.tables);
    if (p.scratch) this.rt.heap.release(p.scratch);
  }

  dispose(): void {
    if (this.plan) this.release(this.plan);
    this.plan = undefined;
  }
}

export function resize(rt: Runtime, x: Tensor, opts: ResizeOptions): Tensor {
  rt.check(x, "resize input", 4);
  return once(rt, new Resize(rt, resizeSpec(opts)), [x]);
}

