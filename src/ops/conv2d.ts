import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { DWCONV_CB, GEMM_MR, GEMM_NR } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Activation, type ActivationCode, activationCode } from "./activation.js";
import { type PreparedOp, runOn } from "./op.js";
import { type Padding, biasOperand, checkKeys, groupsOf, pair, resolvePadding, windowGeometry } from "./options.js";
import { Winograd3x3, type WinogradPlan, winogradGeometry, winogradPays } from "./winograd.js";

export interface Conv2dOptions {
  /** [Cout] */
  bias?: Tensor | Float32Array;
  strides?: number | [number, number];
  dilations?: number | [number, number];
  padding?: Padding;
  groups?: number;
  activation?: Activation;
}

const KEYS = ["bias", "strides", "dilations", "padding", "groups", "activation"] as const;

interface Plan {
  key: string;
  /** N, H, W of the input. */
  shape: [number, number, number];
  /**
   * The indirection table (for the indirect GEMM followed by its tap runs), or for the
   * single-channel path the zero-padded input.
   */
  scratch: number;
  /** The tap runs of the indirect GEMM path (0 on the others). */
  runs: number;
  oh: number;
  ow: number;
  pads: [number, number, number, number];
  /** The Winograd path's tiling (its scratch is `scratch`). */
  winograd?: WinogradPlan;
}

type Path = "depthwise" | "singleChannel" | "smallChannels" | "winograd" | "igemm";

/**
 * The most output channels conv2d_f32_small_8x4 takes; by output channels, the most input
 * channels it is chosen for (measured up to 32 by bench/small-conv.ts: with 7 or 8 outputs the
 * GEMM's 8-channel panels were as fast or faster from 8 and 5 input channels on, without the
 * padded copy); for a 1x1 window, which is bound by memory and gained only over a few input
 * channels, the most outputs and inputs.
 */
const SMALL_OUT = 8;
const SMALL_CHOSEN_IN = [0, 32, 32, 32, 32, 32, 32, 6, 4];
const SMALL_1X1_OUT = 6;
const SMALL_1X1_IN = 4;
/** Floats conv2d_f32_small_8x4 reads past its band's last row. */
const SMALL_SLACK = 16;
/**
 * The bytes of padded input rows conv2d_f32_small_8x4 copies and computes on at a time, within
 * L1 (bench/small-conv-profile.ts measured 12 to 96 KiB alike); rows so long that a band would
 * be under SMALL_MIN_BAND output rows take that many (in L2).
 */
const SMALL_BAND_BYTES = 24 << 10;
const SMALL_MIN_BAND = 4;

/** Bytes of conv2d_f32_small_8x4's records for kk products and c output channels (a multiple of 16). */
function smallRecordBytes(kk: number, c: number): number {
  return (kk + 1) * (Math.ceil(c / 4) * 4 + c * 4) * 4;
}

/**
 * A convolution with its weights packed once. Depthwise (groups = Cin = Cout) runs the direct
 * dwconv kernels; a single input channel (greyscale slices) runs a direct kernel over a padded
 * copy of the input; few output channels (at most 6, 7 over at most 6 input channels, 8 over at most 4, horizontal stride 1; 1x1 at most 6 over at most 4) run a direct kernel
 * vectorised along output pixels over a padded row-planar copy made a band of rows at a time; 3x3 stride-1 windows over enough
 * channels run Winograd F(2x2, 3x3) (src/ops/winograd.ts); everything else, 1x1 mostly, runs
 * the indirect GEMM per group over a table of input-row offsets built once per input size. The
 * direct paths add the same terms in the same order; Winograd adds transformed terms, within the
 * bound test/winograd-reference.ts derives. The input is NHWC; the output too, or with `layout`
 * "nchw" (single input channel only, the graph's convolution of a greyscale image whose output
 * only NCHW readers see) NCHW planes.
 */
export class Conv2d implements PreparedOp {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: [number, number];
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly groups: number;
  private readonly padding: Padding | undefined;
  private readonly act: ActivationCode;
  private readonly path: Path;
  private readonly groupPackedBytes: number;
  private packed: number;
  private readonly winograd: Winograd3x3 | undefined;
  private readonly zero: number;
  private plan: Plan | undefined;

  /**
   * `winograd` overrides, for a window Winograd computes and Cin > 1, the choice by channel counts:
   * false keeps the direct path, true takes Winograd (bench/kernels.ts and bench/winograd.ts
   * compare the two). `small` likewise overrides the small-channel choice where its kernel
   * computes the window (groups 1, horizontal stride 1): false keeps the GEMM, true takes the
   * small-channel kernel (bench/small-conv.ts compares the two).
   */
  constructor(
    private readonly rt: Runtime,
    w: Tensor,
    opts: Conv2dOptions = {},
    private readonly layout: "nhwc" | "nchw" = "nhwc",
    winograd?: boolean,
    small?: boolean,
  ) {
    const what = "conv2d";
    checkKeys(opts, KEYS, what);
    rt.check(w, `${what} weights`, 4);
    const [cout, kh, kw, cinG] = w.shape;
    const groups = groupsOf(opts.groups, cout, "output", what);
    this.inChannels = cinG * groups;
    this.outChannels = cout;
    this.kernel = [kh, kw];
    this.strides = pair(opts.strides, 1, `${what} strides`);
    this.dilations = pair(opts.dilations, 1, `${what} dilations`);
    this.groups = groups;
    this.padding = opts.padding;
    resolvePadding(opts.padding, 1, 1, this.kernel, this.strides, this.dilations, what);
    this.act = activationCode(opts.activation, what);
    const smallFits = groups === 1 && this.strides[1] === 1 && cout <= SMALL_OUT;
    const chosen = kh * kw > 1 ? cinG <= SMALL_CHOSEN_IN[cout] : cinG <= SMALL_1X1_IN && cout <= SMALL_1X1_OUT;
    const direct = smallFits && (small ?? chosen);
    // Winograd never pays where the small-channel or single-channel paths apply; forced, it wins.
    // Only the single-channel kernel stores NCHW, so an NCHW output takes it.
    const single = groups === 1 && cinG === 1;
    const wino = winogradGeometry(this.kernel, this.strides, this.dilations, groups) && (winograd ?? winogradPays(cinG, cout));
    this.path = groups > 1 && cinG === 1 && cout === groups ? "depthwise" : single && layout === "nchw" ? "singleChannel"
      : wino ? "winograd" : direct ? "smallChannels" : single ? "singleChannel" : "igemm";
    if (layout === "nchw" && this.path !== "singleChannel") {
      throw new ArgumentError(`${what}: an NCHW output needs one input channel and one group, got ${this.inChannels} input channels in ${groups} groups`);
    }

    const bias = biasOperand(rt, opts.bias, cout, "conv2d bias");
    const ks = kh * kw;
    try {
      if (this.path === "depthwise") {
        this.groupPackedBytes = 0;
        this.packed = rt.heap.alloc(Math.ceil(cout / DWCONV_CB) * DWCONV_CB * (ks + 1) * 4);
        rt.dispatch([{ fn: "pack_dwconv_f32", args: { ks, c: cout, wsrc: w.ptr, bias: bias.ptr, out: this.packed } }], "conv2d");
      } else if (this.path === "winograd") {
        this.groupPackedBytes = 0;
        this.winograd = new Winograd3x3(rt, cinG, cout, w.ptr, bias.ptr);
        this.packed = this.winograd.packed;
      } else {
        const coutG = cout / groups;
        const kk = ks * cinG;
        this.groupPackedBytes = Math.ceil(coutG / GEMM_NR) * GEMM_NR * (kk + 1) * 4;
        this.packed = rt.heap.alloc(this.groupPackedBytes * groups);
        for (let g = 0; g < groups; g++) {
          const args = {
            k: kk, n: coutG, b: w.ptr + g * coutG * kk * 4, sk: 1, sn: kk, bias: bias.ptr && bias.ptr + g * coutG * 4,
            out: this.packed + g * this.groupPackedBytes, alpha: 1,
          };
          rt.dispatch([{ fn: "pack_gemm_f32_8", args }], "conv2d");
        }
      }
    } finally {
      bias.release();
    }
    this.zero = rt.zeros(Math.max(this.inChannels, 4) * 4);
  }

  /**
   * The output shape for an NHWC input shape, and a residual input of that output's shape when
   * one is given (checks them, allocates nothing).
   */
  outputShape(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    const xShape = shapes[0];
    if (xShape.length !== 4) throw new ShapeError(`conv2d input: expected rank 4, got shape [${xShape.join(", ")}]`);
    const { oh, ow } = this.geometry(xShape);
    const c = this.outChannels;
    const out: [number, number, number, number] = this.layout === "nchw" ? [xShape[0], c, oh, ow] : [xShape[0], oh, ow, c];
    const r = shapes[1];
    if (r !== undefined) {
      if (!this.fusesResidual) throw new ShapeError("conv2d: only the indirect-GEMM, small-channel and Winograd paths add a residual input in their stores");
      if (r.join() !== out.join()) throw new ShapeError(`conv2d residual: expected [${out.join(", ")}], got [${r.join(", ")}]`);
    }
    return out;
  }

  private geometry(xShape: readonly number[]) {
    const what = "conv2d";
    const c = xShape[3];
    if (c !== this.inChannels) {
      throw new ShapeError(`${what}: input has ${c} channels, the weights expect ${this.inChannels} (${this.groups} groups of ${this.inChannels / this.groups})`);
    }
    return windowGeometry(xShape, { kernel: this.kernel, strides: this.strides, dilations: this.dilations, padding: this.padding }, what);
  }

  /**
   * Prepares the per-input-size plan for an NHWC input shape (and optionally a residual of the
   * output's shape), reused while the shape stays, and returns the output shape.
   */
  bind(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    if (this.packed === 0) throw new DisposedError("conv2d: the prepared op was used after dispose()");
    const out = this.outputShape(shapes);
    const xShape = shapes[0];
    const key = xShape.join("x");
    if (this.plan?.key !== key) {
      const { n, h, w, oh, ow, pads } = this.geometry(xShape);
      const heap = this.rt.heap;
      let scratch: number;
      let runs = 0;
      let winograd: WinogradPlan | undefined;
      if (this.path === "winograd") {
        const p = this.winograd!.plan(n, h, w, oh, ow, pads);
        winograd = p.plan;
        scratch = heap.alloc(p.scratchBytes);
      } else if (this.path === "singleChannel") {
        scratch = heap.alloc(n * (h + pads[0] + pads[2]) * (w + pads[1] + pads[3]) * 4);
      } else if (this.path === "smallChannels") {
        // The kernel's records of offsets and splatted weights, then a band buffer per thread
        // (its padding columns zeroed once here; the kernel writes the others).
        const records = this.smallRecords(w + pads[1] + pads[3]);
        scratch = this.rt.zeros(records.byteLength + this.rt.threads * this.smallBand(w, pads).bytes);
        heap.u8.set(records, scratch);
      } else {
        const mr = this.path === "depthwise" ? 1 : GEMM_MR;
        const ks = this.kernel[0] * this.kernel[1];
        const tiles = Math.ceil((n * oh * ow) / mr);
        const tableBytes = tiles * mr * ks * 4;
        scratch = heap.alloc(tableBytes + (this.path === "igemm" ? tiles * ks : 0));
        const [kh, kw] = this.kernel;
        const [sh, sw] = this.strides;
        const [dh, dw] = this.dilations;
        const geometry = { batch: n, h, w, pixelStride: this.inChannels, oh, ow, kh, kw, sh, sw, dh, dw, pt: pads[0], pl: pads[1], mr };
        this.rt.dispatch([{ fn: "conv2d_indirection", args: { ...geometry, ind: scratch } }], "conv2d");
        if (this.path === "igemm") {
          runs = scratch + tableBytes;
          const stepBytes = (this.inChannels / this.groups) * 4;
          this.rt.dispatch([{ fn: "conv2d_tap_runs", args: { tiles, ks, mr, stepBytes, ind: scratch, runs } }], "conv2d");
        }
      }
      if (this.plan) heap.release(this.plan.scratch);
      this.plan = { key, shape: [n, h, w], scratch, runs, oh, ow, pads, winograd };
    }
    return out;
  }

  /**
   * conv2d_f32_small_8x4's weights for an input width wp: per group of 4 output channels (then the
   * rest), a record per product, bias first, of the product's input offset in the padded row-planar band
   * and the group's weights splatted to 4 lanes, read from the packed GEMM panel ([K + 1][8]).
   */
  private smallRecords(wp: number): Uint8Array {
    const cin = this.inChannels;
    const [kh, kw] = this.kernel;
    const [dh, dw] = this.dilations;
    const kk = kh * kw * cin;
    const c = this.outChannels;
    const panel = this.rt.heap.f32.slice(this.packed / 4, this.packed / 4 + (kk + 1) * GEMM_NR);
    const offs = [0];
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let ci = 0; ci < cin; ci++) offs.push(((ky * dh * cin + ci) * wp + kx * dw) * 4);
    const floats = new Float32Array(smallRecordBytes(kk, c) / 4);
    const ints = new Uint32Array(floats.buffer);
    let at = 0;
    for (let j = 0; j < c; j += 4) {
      const g = Math.min(4, c - j);
      for (let k = 0; k <= kk; k++) {
        ints[at] = offs[k];
        for (let i = 0; i < g; i++) floats.fill(panel[k * GEMM_NR + j + i], at + 4 + 4 * i, at + 8 + 4 * i);
        at += 4 + 4 * g;
      }
    }
    return new Uint8Array(floats.buffer);
  }

  /**
   * conv2d_f32_small_8x4's band for an input width: output rows per band, the padded rows one
   * output row reads, and the bytes of a band buffer with its slack.
   */
  private smallBand(w: number, pads: readonly number[]): { band: number; span: number; bytes: number } {
    const wp = w + pads[1] + pads[3];
    const rowBytes = this.inChannels * wp * 4;
    const sh = this.strides[0];
    const span = (this.kernel[0] - 1) * this.dilations[0] + 1;
    const band = Math.max(SMALL_MIN_BAND, Math.floor((Math.floor(SMALL_BAND_BYTES / rowBytes) - span) / sh) + 1);
    return { band, span, bytes: Math.ceil((((band - 1) * sh + span) * rowBytes) / 16) * 16 + SMALL_SLACK * 4 };
  }

  /** Whether exec can add a residual input in its store (the indirect-GEMM, small-channel and Winograd paths). */
  get fusesResidual(): boolean {
    return this.path === "igemm" || this.path === "smallChannels" || this.path === "winograd";
  }

  /** Bytes of packed weights and of the current plan's scratch. */
  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    return { weights: heap.sizeOf(this.packed) + heap.sizeOf(this.zero), scratch: this.plan ? heap.sizeOf(this.plan.scratch) : 0 };
  }

  /**
   * Runs the bound plan: inputs are the byte offsets of x (NHWC, the bound shape) and optionally
   * of a residual (y's shape), added before the activation; y is the output's.
   */
  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    const residual = inputs[1] ?? 0;
    const plan = this.plan!;
    const n = plan.shape[0];
    const m = n * plan.oh * plan.ow;
    const [kh, kw] = this.kernel;
    const ks = kh * kw;
    const { kind, p0, p1 } = this.act;
    const c = this.outChannels;
    const rt = this.rt;
    // Each thread takes a contiguous range of output pixels (whole 4-pixel tiles for the GEMM
    // kernels), so every output is computed by one thread in the one order: any thread count
    // gives the same bits.
    if (this.path === "depthwise") {
      rt.dispatch(
        rt.ranges(m, m * c * ks).map(([a, b]) => ({
          fn: "dwconv_f32" as const,
          args: { m: b - a, c, ks, a: x, ind: plan.scratch + a * ks * 4, zero: this.zero, w: this.packed, out: y + a * c * 4, act: kind, p0, p1 },
        })),
        "conv2d",
      );
      return;
    }
    if (this.path === "winograd") {
      this.winograd!.exec(plan.winograd!, plan.scratch, this.zero, x, residual, y, this.act);
      return;
    }
    if (this.path === "singleChannel") {
      const [, h, w] = plan.shape;
      const [pt, pl, pb, pr] = plan.pads;
      const hp = h + pt + pb;
      const wp = w + pl + pr;
      rt.dispatch([{ fn: "pad_f32", args: { batch: n, h, w, c: 1, pt, pl, pb, pr, x, y: plan.scratch, value: 0 } }], "conv2d");
      const [sh, sw] = this.strides;
      const [dh, dw] = this.dilations;
      const plane = plan.oh * plan.ow;
      for (let b = 0; b < n; b++) {
        const calls = rt.ranges(plan.oh, plan.oh * plan.ow * c * ks).map(([r0, r1]) => {
          const oh = r1 - r0;
          const xr = plan.scratch + (b * hp + r0 * sh) * wp * 4;
          if (this.layout === "nhwc") {
            const yr = y + (b * plan.oh + r0) * plan.ow * c * 4;
            return { fn: "conv2d_f32_ci1_4x8" as const, args: { batch: 1, hp, wp, oh, ow: plan.ow, n: c, kh, kw, sh, sw, dh, dw, x: xr, w: this.packed, y: yr, act: kind, p0, p1 } };
          }
          const yr = y + (b * c * plane + r0 * plan.ow) * 4;
          return { fn: "conv2d_f32_ci1_4x8_nchw" as const, args: { batch: 1, hp, wp, oh, ow: plan.ow, n: c, kh, kw, sh, sw, dh, dw, x: xr, w: this.packed, y: yr, plane, act: kind, p0, p1 } };
        });
        rt.dispatch(calls, "conv2d");
      }
      return;
    }
    if (this.path === "smallChannels") {
      this.execSmall(x, residual, y);
      return;
    }
    const cinG = this.inChannels / this.groups;
    const coutG = c / this.groups;
    for (let g = 0; g < this.groups; g++) {
      const calls = rt.ranges(m, m * coutG * cinG * ks, GEMM_MR).map(([a, b]) => ({
        fn: "igemm_f32_4x8" as const,
        args: {
          m: b - a, n: coutG, kc: cinG, ks, a: x + g * cinG * 4, ind: plan.scratch + a * ks * 4, runs: plan.runs + (a / GEMM_MR) * ks,
          zero: this.zero, w: this.packed + g * this.groupPackedBytes, r: residual && residual + (a * c + g * coutG) * 4,
          c: y + (a * c + g * coutG) * 4, ldc: c, act: kind, p0, p1,
        },
      }));
      rt.dispatch(calls, "conv2d");
    }
  }

  /** The small-channel path: each thread's range of output rows, a band at a time in its buffer. */
  private execSmall(x: number, residual: number, y: number): void {
    const plan = this.plan!;
    const rt = this.rt;
    const [n, h, w] = plan.shape;
    const [pt, pl, , pr] = plan.pads;
    const cin = this.inChannels;
    const c = this.outChannels;
    const wp = w + pl + pr;
    const { band, span, bytes } = this.smallBand(w, plan.pads);
    const kk = this.kernel[0] * this.kernel[1] * cin;
    const [sh, sw] = this.strides;
    const records = plan.scratch;
    const bufs = records + smallRecordBytes(kk, c);
    const { kind, p0, p1 } = this.act;
    const outRow = plan.ow * c * 4;
    for (let b = 0; b < n; b++) {
      const calls = rt.ranges(plan.oh, plan.oh * plan.ow * c * kk).map(([r0, r1], t) => ({
        fn: "conv2d_f32_small_8x4" as const,
        args: {
          h, w, cin, pt, pl, wp, span, oy0: r0, oh: r1 - r0, ow: plan.ow, n: c, kk, sh, sw, band,
          x: x + b * h * w * cin * 4, buf: bufs + t * bytes, wr: records,
          r: residual && residual + (b * plan.oh + r0) * outRow, y: y + (b * plan.oh + r0) * outRow, act: kind, p0, p1,
        },
      }));
      rt.dispatch(calls, "conv2d");
    }
  }

  /** Runs on x [N,H,W,Cin]; with `out` given nothing is allocated after the first call of a shape. */
  run(x: Tensor, out?: Tensor): Tensor {
    if (this.packed === 0) throw new DisposedError("conv2d: the prepared op was used after dispose()");
    this.rt.check(x, "conv2d input", 4);
    return runOn(this.rt, this, [x], out);
  }

  dispose(): void {
    if (this.packed === 0) return;
    const heap = this.rt.heap;
    if (this.winograd) this.winograd.dispose();
    else heap.release(this.packed);
    heap.release(this.zero);
    if (this.plan) heap.release(this.plan.scratch);
    this.plan = undefined;
    this.packed = 0;
  }
}
