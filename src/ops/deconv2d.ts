import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { DWCONV_CB, GEMM_MR, GEMM_NR } from "../runtime/kernels.js";
import { type Runtime, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Activation, type ActivationCode, activationCode } from "./activation.js";
import { stridedCopyArgs } from "./copy.js";
import { type PreparedOp, runOn } from "./op.js";
import { MAX_WINDOW, biasOperand, checkKeys, groupsOf, pair } from "./options.js";

export interface ConvTranspose2dOptions {
  /** [Cout] */
  bias?: Tensor | Float32Array;
  strides?: number | [number, number];
  dilations?: number | [number, number];
  /**
   * Cropped from the full output [top, left, bottom, right]; 'same' gives an output of input x
   * strides, cropping the odd pixel at the end (ONNX's SAME_UPPER, Keras' 'same').
   */
  padding?: "valid" | "same" | readonly [number, number, number, number];
  /**
   * Rows and columns added at the bottom and right of the output (ONNX's output_padding); with
   * 'same' they enter the total padding instead, as in ONNX.
   */
  outputPadding?: number | [number, number];
  groups?: number;
  activation?: Activation;
}

const KEYS = ["bias", "strides", "dilations", "padding", "outputPadding", "groups", "activation"] as const;

/** One phase: the outputs (oy0 + q*sh, ox0 + q*sw) and the taps that reach them. */
interface Phase {
  oy0: number;
  ox0: number;
  ky: number[];
  kx: number[];
  /** Byte offset of [ky..., kx...] as i32 in wasm memory. */
  taps: number;
  /** Packed weights of group 0; group g at + g * groupBytes (the GEMM path). */
  packed: number;
  groupBytes: number;
}

interface PhasePlan {
  phase: Phase;
  qh: number;
  qw: number;
  m: number;
  ind: number;
  runs: number;
  out: number;
}

interface Plan {
  key: string;
  n: number;
  oh: number;
  ow: number;
  scratch: number;
  /** The depthwise path's phase output before it is spread into y. */
  stage: number;
  phases: PhasePlan[];
}

/**
 * A transposed convolution (ONNX ConvTranspose) with its weights packed once, by sub-pixel
 * decomposition: for strides sh x sw the outputs split into sh*sw phases by (oy mod sh, ox mod
 * sw); each phase is an ordinary stride-1 convolution of the input with the taps that land on
 * it, run as one indirect GEMM (deconv_f32_4x8) per group that stores its pixels in place in the
 * NHWC output. Depthwise (one input and one output channel per group) runs each phase with the
 * dwconv kernel, channels in vector lanes, into scratch that a strided copy spreads into the
 * output: the GEMM would fill one column of its 8 per tile, one group at a time. Weights are
 * [Cin, kH, kW, Cout/groups] (ONNX's [Cin, Cout/groups, kH, kW] with the
 * output-channel axis last, as Conv2d's OHWI moves ONNX's second axis last).
 */
export class ConvTranspose2d implements PreparedOp {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: [number, number];
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly groups: number;
  /** Rows and columns cropped at the top and left. */
  readonly pads: [number, number];
  private readonly same: boolean;
  /** Bottom and right: pads cropped less output padding (negative adds rows). */
  private readonly tail: [number, number];
  private readonly act: ActivationCode;
  private readonly depthwise: boolean;
  private readonly phases: Phase[] = [];
  private zero = 0;
  private plan: Plan | undefined;
  private disposed = false;

  constructor(
    private readonly rt: Runtime,
    w: Tensor,
    opts: ConvTranspose2dOptions = {},
  ) {
    const what = "conv2dTranspose";
    checkKeys(opts, KEYS, what);
    rt.check(w, `${what} weights`, 4);
    const [cin, kh, kw, coutG] = w.shape;
    const groups = groupsOf(opts.groups, cin, "input", what);
    this.inChannels = cin;
    this.outChannels = coutG * groups;
    this.kernel = [kh, kw];
    this.strides = pair(opts.strides, 1, `${what} strides`);
    this.dilations = pair(opts.dilations, 1, `${what} dilations`);
    this.groups = groups;
    const op = outputPadding(opts.outputPadding, what);
    const span = (i: 0 | 1) => (this.kernel[i] - 1) * this.dilations[i] + 1;
    const padding = opts.padding ?? "valid";
    this.same = padding === "same";
    if (padding === "valid") {
      this.pads = [0, 0];
      this.tail = [-op[0], -op[1]];
    } else if (padding === "same") {
      const head = (i: 0 | 1) => Math.floor(Math.max(span(i) - this.strides[i] + op[i], 0) / 2);
      this.pads = [head(0), head(1)];
      this.tail = [0, 0];
    } else {
      if (!Array.isArray(padding) || padding.length !== 4 || !padding.every((p) => Number.isSafeInteger(p) && p >= 0 && p <= MAX_WINDOW)) {
        throw new ArgumentError(`${what}: padding must be 'valid', 'same' or [top, left, bottom, right] of integers from 0 to ${MAX_WINDOW}, got ${show(padding)}`);
      }
      this.pads = [padding[0], padding[1]];
      this.tail = [padding[2] - op[0], padding[3] - op[1]];
    }
    this.act = activationCode(opts.activation, what);

    const bias = biasOperand(rt, opts.bias, this.outChannels, "conv2dTranspose bias");
    const heap = rt.heap;
    const cinG = cin / groups;
    this.depthwise = cinG === 1 && coutG === 1;
    try {
      const wt = w.toArray();
      const [sh, sw] = this.strides;
      for (let oy0 = 0; oy0 < sh; oy0++) {
        for (let ox0 = 0; ox0 < sw; ox0++) {
          const ky = phaseTaps(kh, oy0 + this.pads[0], sh, this.dilations[0]);
          const kx = phaseTaps(kw, ox0 + this.pads[1], sw, this.dilations[1]);
          const ks = ky.length * kx.length;
          // K rows in the order the kernel reads them: tap by tap, each tap's cinG channels.
          const kk = ks * cinG;
          const groupBytes = this.depthwise ? 0 : Math.ceil(coutG / GEMM_NR) * GEMM_NR * (kk + 1) * 4;
          const phase: Phase = { oy0, ox0, ky, kx, taps: 0, packed: 0, groupBytes };
          this.phases.push(phase);
          phase.taps = heap.alloc(Math.max(ky.length + kx.length, 1) * 4);
          heap.i32.set([...ky, ...kx], phase.taps / 4);
          if (this.depthwise) {
            // [C][ks] in the phase's tap order.
            const b = new Float32Array(Math.max(cin * ks, 1));
            for (let c = 0, i = 0; c < cin; c++) for (const y of ky) for (const x of kx) b[i++] = wt[(c * kh + y) * kw + x];
            phase.packed = heap.alloc(Math.ceil(cin / DWCONV_CB) * DWCONV_CB * (ks + 1) * 4);
            const bt = rt.fromArray(b, [b.length]);
            try {
              rt.dispatch([{ fn: "pack_dwconv_f32", args: { ks, c: cin, wsrc: bt.ptr, bias: bias.ptr, out: phase.packed } }], "conv2dTranspose");
            } finally {
              bt.dispose();
            }
            continue;
          }
          phase.packed = heap.alloc(groupBytes * groups);
          const b = new Float32Array(Math.max(kk * coutG, 1));
          for (let g = 0; g < groups; g++) {
            let row = 0;
            for (const y of ky) {
              for (const x of kx) {
                for (let c = 0; c < cinG; c++, row++) {
                  const src = (((g * cinG + c) * kh + y) * kw + x) * coutG;
                  b.set(wt.subarray(src, src + coutG), row * coutG);
                }
              }
            }
            const bt = rt.fromArray(b, [b.length]);
            try {
              const args = { k: kk, n: coutG, b: bt.ptr, sk: coutG, sn: 1, bias: bias.ptr && bias.ptr + g * coutG * 4, out: phase.packed + g * groupBytes, alpha: 1 };
              rt.dispatch([{ fn: "pack_gemm_f32_8", args }], "conv2dTranspose");
            } finally {
              bt.dispose();
            }
          }
        }
      }
      this.zero = rt.zeros(Math.max(cin, 4) * 4);
    } catch (e) {
      this.dispose();
      throw e;
    } finally {
      bias.release();
    }
  }

  /** The output shape for an NHWC input shape (checks it, allocates nothing). */
  outputShape(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    const xShape = shapes[0];
    if (xShape.length !== 4) throw new ShapeError(`conv2dTranspose input: expected rank 4, got shape [${xShape.join(", ")}]`);
    if (shapes.length > 1) throw new ShapeError("conv2dTranspose: takes one input");
    const [n, h, w, c] = xShape;
    if (c !== this.inChannels) {
      throw new ShapeError(`conv2dTranspose: input has ${c} channels, the weights expect ${this.inChannels}`);
    }
    return [n, this.outSize(h, 0), this.outSize(w, 1), this.outChannels];
  }

  private outSize(size: number, i: 0 | 1): number {
    if (this.same) return size * this.strides[i];
    const full = this.strides[i] * (size - 1) + (this.kernel[i] - 1) * this.dilations[i] + 1;
    const o = full - this.pads[i] - this.tail[i];
    if (o < 1) {
      throw new ArgumentError(
        `conv2dTranspose: the padding crops the ${i === 0 ? "vertical" : "horizontal"} output of ${full} pixels to ${o}; at least 1 must remain`,
      );
    }
    return o;
  }

  /** Prepares the per-input-size plan (every phase's tables), reused while the shape stays. */
  bind(shapes: readonly (readonly number[])[]): [number, number, number, number] {
    if (this.disposed) throw new DisposedError("conv2dTranspose: the prepared op was used after dispose()");
    const out = this.outputShape(shapes);
    const key = shapes[0].join("x");
    if (this.plan?.key === key) return out;
    const [n, h, w, cin] = shapes[0];
    const [, oh, ow] = out;
    const [sh, sw] = this.strides;
    // dwconv_f32 reads one table row per pixel and writes the phase's pixels in order (its output
    // table goes unused).
    const mr = this.depthwise ? 1 : GEMM_MR;
    const sizes = this.phases.map((p) => {
      const qh = Math.max(0, Math.ceil((oh - p.oy0) / sh));
      const qw = Math.max(0, Math.ceil((ow - p.ox0) / sw));
      const m = n * qh * qw;
      const tiles = Math.ceil(m / mr);
      const ks = p.ky.length * p.kx.length;
      return { p, qh, qw, m, tiles, ks, ind: tiles * mr * ks * 4, out: tiles * mr * 4, runs: ks > 0 && !this.depthwise ? tiles * ks : 0 };
    });
    const heap = this.rt.heap;
    const total = sizes.reduce((a, s) => a + s.ind + s.out + Math.ceil(s.runs / 4) * 4, 0);
    const stageBytes = this.depthwise ? Math.max(...sizes.map((s) => s.m)) * cin * 4 : 0;
    const scratch = heap.alloc(Math.max(total + stageBytes, 4));
    const phases: PhasePlan[] = [];
    let at = scratch;
    for (const s of sizes) {
      if (s.m === 0) continue;
      const ind = at;
      const outT = ind + s.ind;
      const runs = s.runs > 0 ? outT + s.out : 0;
      at = outT + s.out + Math.ceil(s.runs / 4) * 4;
      const [dh, dw] = this.dilations;
      const args = {
        nty: s.p.ky.length, ntx: s.p.kx.length, batch: n, h, w, pixelStride: cin, oh, ow, outPixelStride: this.outChannels,
        oy0: s.p.oy0, ox0: s.p.ox0, qh: s.qh, qw: s.qw, sh, sw, dh, dw, pt: this.pads[0], pl: this.pads[1], mr,
        taps: s.p.taps, ind, out: outT,
      };
      this.rt.dispatch([{ fn: "deconv2d_indirection", args }], "conv2dTranspose");
      if (runs !== 0) {
        const stepBytes = (cin / this.groups) * 4;
        this.rt.dispatch([{ fn: "conv2d_tap_runs", args: { tiles: s.tiles, ks: s.ks, mr: GEMM_MR, stepBytes, ind, runs } }], "conv2dTranspose");
      }
      phases.push({ phase: s.p, qh: s.qh, qw: s.qw, m: s.m, ind, runs, out: outT });
    }
    if (this.plan) heap.release(this.plan.scratch);
    this.plan = { key, n, oh, ow, scratch, stage: scratch + total, phases };
    return out;
  }

  /** Bytes of packed weights and of the current plan's scratch. */
  get bytes(): { weights: number; scratch: number } {
    const heap = this.rt.heap;
    const weights = this.phases.reduce((a, p) => a + heap.sizeOf(p.packed) + heap.sizeOf(p.taps), this.zero ? heap.sizeOf(this.zero) : 0);
    return { weights, scratch: this.plan ? heap.sizeOf(this.plan.scratch) : 0 };
  }

  /** Runs the bound plan: x (NHWC, the bound shape) into y. */
  exec(inputs: readonly number[], y: number): void {
    const x = inputs[0];
    if (this.depthwise) {
      this.execDepthwise(x, y);
      return;
    }
    const plan = this.plan!;
    const { kind, p0, p1 } = this.act;
    const cinG = this.inChannels / this.groups;
    const coutG = this.outChannels / this.groups;
    const rt = this.rt;
    // Each thread takes a contiguous range of a phase's tiles; every output pixel belongs to one
    // phase and is computed by one thread in the one order, so any thread count gives the same bits.
    for (const { phase, m, ind, runs, out } of plan.phases) {
      const ks = phase.ky.length * phase.kx.length;
      for (let g = 0; g < this.groups; g++) {
        const calls = rt.ranges(m, m * coutG * cinG * ks, GEMM_MR).map(([a, b]) => ({
          fn: "deconv_f32_4x8" as const,
          args: {
            m: b - a, n: coutG, kc: cinG, ks, a: x + g * cinG * 4, ind: ind + a * ks * 4, runs: runs && runs + (a / GEMM_MR) * ks,
            zero: this.zero, w: phase.packed + g * phase.groupBytes, out: out + a * 4, c: y + g * coutG * 4, act: kind, p0, p1,
          },
        }));
        rt.dispatch(calls, "conv2dTranspose");
      }
    }
  }

  private execDepthwise(x: number, y: number): void {
    const plan = this.plan!;
    const { kind, p0, p1 } = this.act;
    const c = this.outChannels;
    const { n, oh, ow, stage } = plan;
    const [sh, sw] = this.strides;
    const rt = this.rt;
    for (const { phase, qh, qw, m, ind } of plan.phases) {
      const ks = phase.ky.length * phase.kx.length;
      rt.dispatch(
        rt.ranges(m, m * c * ks).map(([a, b]) => ({
          fn: "dwconv_f32" as const,
          args: { m: b - a, c, ks, a: x, ind: ind + a * ks * 4, zero: this.zero, w: phase.packed, out: stage + a * c * 4, act: kind, p0, p1 },
        })),
        "conv2dTranspose",
      );
      rt.dispatch(
        [{
          fn: "strided_copy_f32",
          args: stridedCopyArgs(
            { sizes: [1, 1, n, qh, qw, c], from: [0, 0, qh * qw * c, qw * c, c, 1], to: [0, 0, oh * ow * c, sh * ow * c, sw * c, 1], fromOffset: 0, toOffset: 0 },
            stage,
            y + (phase.oy0 * ow + phase.ox0) * c * 4,
          ),
        }],
        "conv2dTranspose",
      );
    }
  }

  /** Runs on x [N,H,W,Cin]; with `out` given nothing is allocated after the first call of a shape. */
  run(x: Tensor, out?: Tensor): Tensor {
    if (this.disposed) throw new DisposedError("conv2dTranspose: the prepared op was used after dispose()");
    this.rt.check(x, "conv2dTranspose input", 4);
    return runOn(this.rt, this, [x], out);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const heap = this.rt.heap;
    for (const p of this.phases) {
      if (p.taps) heap.release(p.taps);
      if (p.packed) heap.release(p.packed);
    }
    this.phases.length = 0;
    if (this.zero) heap.release(this.zero);
    if (this.plan) heap.release(this.plan.scratch);
    this.plan = undefined;
  }
}

/**
 * The taps k of one axis that reach the outputs o with o + pad = origin (mod s): those with
 * origin - k*d a multiple of s, largest first, so that consecutive taps read consecutive input
 * pixels (the indirect GEMM then reads a window row's taps as one run).
 */
function phaseTaps(k: number, origin: number, s: number, d: number): number[] {
  const taps: number[] = [];
  for (let t = k - 1; t >= 0; t--) if ((((origin - t * d) % s) + s) % s === 0) taps.push(t);
  return taps;
}

function outputPadding(v: number | [number, number] | undefined, what: string): [number, number] {
  if (v === undefined) return [0, 0];
  const p = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isSafeInteger(x) && x >= 0 && x <= MAX_WINDOW)) {
    throw new ArgumentError(`${what} outputPadding: expected a non-negative integer up to ${MAX_WINDOW} or [height, width] of them, got ${show(v)}`);
  }
  return [p[0], p[1]];
}
