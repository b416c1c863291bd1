import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import { GEMM_MR, GEMM_NR } from "../runtime/kernels.js";
import { type Runtime, show } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Activation, type ActivationCode, activationCode } from "./activation.js";
import { type PreparedOp, runOn } from "./op.js";
import { MAX_WINDOW, checkKeys, pair } from "./options.js";

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
  /** Rows and columns added at the bottom and right of the output (ONNX's output_padding). */
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
  /** Packed weights of group 0; group g at + g * groupBytes. */
  packed: number;
  groupBytes: number;
}

interface PhasePlan {
  phase: Phase;
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
  phases: PhasePlan[];
}

/**
 * A transposed convolution (ONNX ConvTranspose) with its weights packed once, by sub-pixel
 * decomposition: for strides sh x sw the outputs split into sh*sw phases by (oy mod sh, ox mod
 * sw); each phase is an ordinary stride-1 convolution of the input with the taps that land on
 * it, run as one indirect GEMM (deconv_f32_4x8) per group that stores its pixels in place in the
 * NHWC output. Weights are [Cin, kH, kW, Cout/groups] (ONNX's [Cin, Cout/groups, kH, kW] with the
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
    const groups = opts.groups ?? 1;
    if (!Number.isSafeInteger(groups) || groups <= 0) throw new ArgumentError(`${what}: groups must be a positive integer, got ${show(groups)}`);
    if (cin % groups !== 0) throw new ShapeError(`${what}: ${cin} input channels cannot be split into ${groups} groups`);
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

    const bias = this.biasPtr(opts.bias);
    const heap = rt.heap;
    const k = rt.kernels;
    const cinG = cin / groups;
    try {
      const wt = w.toArray();
      const [sh, sw] = this.strides;
      for (let oy0 = 0; oy0 < sh; oy0++) {
        for (let ox0 = 0; ox0 < sw; ox0++) {
          const ky = phaseTaps(kh, oy0 + this.pads[0], sh, this.dilations[0]);
          const kx = phaseTaps(kw, ox0 + this.pads[1], sw, this.dilations[1]);
          // K rows in the order the kernel reads them: tap by tap, each tap's cinG channels.
          const kk = ky.length * kx.length * cinG;
          const phase: Phase = { oy0, ox0, ky, kx, taps: 0, packed: 0, groupBytes: Math.ceil(coutG / GEMM_NR) * GEMM_NR * (kk + 1) * 4 };
          this.phases.push(phase);
          phase.taps = heap.alloc(Math.max(ky.length + kx.length, 1) * 4);
          heap.i32.set([...ky, ...kx], phase.taps / 4);
          phase.packed = heap.alloc(phase.groupBytes * groups);
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
              k.pack_gemm_f32_8(kk, coutG, bt.ptr, coutG, 1, 1, bias.ptr && bias.ptr + g * coutG * 4, phase.packed + g * phase.groupBytes);
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

  private biasPtr(bias: Tensor | Float32Array | undefined): { ptr: number; release: () => void } {
    const what = "conv2dTranspose bias";
    const cout = this.outChannels;
    if (bias === undefined) return { ptr: 0, release: () => {} };
    if (bias instanceof Float32Array) {
      const t = this.rt.fromArray(bias, [cout], what);
      return { ptr: t.ptr, release: () => t.dispose() };
    }
    this.rt.check(bias, what, 1);
    if (bias.shape[0] !== cout) throw new ShapeError(`${what}: expected [${cout}], got [${bias.shape.join(", ")}]`);
    return { ptr: bias.ptr, release: () => {} };
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
    const sizes = this.phases.map((p) => {
      const qh = Math.max(0, Math.ceil((oh - p.oy0) / sh));
      const qw = Math.max(0, Math.ceil((ow - p.ox0) / sw));
      const m = n * qh * qw;
      const tiles = Math.ceil(m / GEMM_MR);
      const ks = p.ky.length * p.kx.length;
      return { p, qh, qw, m, tiles, ks, ind: tiles * GEMM_MR * ks * 4, out: tiles * GEMM_MR * 4, runs: ks > 0 ? tiles * ks : 0 };
    });
    const heap = this.rt.heap;
    const total = sizes.reduce((a, s) => a + s.ind + s.out + Math.ceil(s.runs / 4) * 4, 0);
    const scratch = heap.alloc(Math.max(total, 4));
    const k = this.rt.kernels;
    const phases: PhasePlan[] = [];
    let at = scratch;
    for (const s of sizes) {
      if (s.m === 0) continue;
      const ind = at;
      const outT = ind + s.ind;
      const runs = s.runs > 0 ? outT + s.out : 0;
      at = outT + s.out + Math.ceil(s.runs / 4) * 4;
      k.deconv2d_indirection(
        ind, outT, s.p.taps, s.p.ky.length, s.p.kx.length, n, h, w, cin, oh, ow, this.outChannels,
        s.p.oy0, s.p.ox0, s.qh, s.qw, sh, sw, this.dilations[0], this.dilations[1], this.pads[0], this.pads[1], GEMM_MR,
      );
      if (runs !== 0) k.conv2d_tap_runs(ind, s.tiles, s.ks, GEMM_MR, (cin / this.groups) * 4, runs);
      phases.push({ phase: s.p, m: s.m, ind, runs, out: outT });
    }
    if (this.plan) heap.release(this.plan.scratch);
    this.plan = { key, n, oh, ow, scratch, phases };
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
          args: [
            b - a, coutG, cinG, ks, x + g * cinG * 4, ind + a * ks * 4, runs && runs + (a / GEMM_MR) * ks, this.zero,
            phase.packed + g * phase.groupBytes, y + g * coutG * 4, out + a * 4, kind, p0, p1,
          ],
        }));
        rt.dispatch(calls, "conv2dTranspose");
      }
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
