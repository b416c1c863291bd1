import { GEMM_NR } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import type { ActivationCode } from "./activation.js";

/**
 * When a 3x3 stride-1 convolution runs as Winograd F(2x2, 3x3) rather than the direct indirect
 * GEMM. Per 2x2 output tile the transforms cost O(Cin + Cout) and the GEMMs save O(Cin x Cout)
 * multiply-adds, so the gain grows with Cin Cout / (Cin + Cout). Measured on 128x128 and 64x64
 * inputs (bench/winograd.ts), Winograd over direct: 4->16 0.71x, 8->8 0.80x, 8->16 0.98x, 8->32
 * 1.09x, 12->24 1.21x, 16->16 1.24x; that ratio is 3.2, 4, 5.3, 6.4, 8, 8 there.
 */
export const WINOGRAD_MIN_CIN = 8;
const WINOGRAD_MIN_RATIO = 6;

/**
 * Transformed scratch per block of tiles (V and M of assembly/winograd.ts and assembly/qwinograd.ts): small enough to stay
 * in L2 next to the weights, large enough that each GEMM streams its weights over many tiles
 * (64 KiB to 1 MiB measured alike on the shapes of bench/winograd.ts).
 */
const BLOCK_BYTES = 256 * 1024;
const MIN_BLOCK = 8;
const MAX_BLOCK = 256;
/** Transformed positions per tile (4x4), and the padding floats after each one's rows (assembly/winograd.ts). */
const POS = 16;
const POS_PAD = 16;

/** Whether a convolution's window is one Winograd F(2x2, 3x3) computes: 3x3, stride 1, no dilation, one group. */
export function winogradGeometry(kernel: readonly number[], strides: readonly number[], dilations: readonly number[], groups: number): boolean {
  return kernel[0] === 3 && kernel[1] === 3 && strides[0] === 1 && strides[1] === 1 && dilations[0] === 1 && dilations[1] === 1 && groups === 1;
}

/** Whether such a convolution runs faster as Winograd than direct, by its channel counts. */
export function winogradPays(cin: number, cout: number): boolean {
  return cin >= WINOGRAD_MIN_CIN && cin * cout >= WINOGRAD_MIN_RATIO * (cin + cout);
}

/** Whether conv2d runs a convolution as Winograd F(2x2, 3x3). */
export function winogradFits(
  kernel: readonly number[], strides: readonly number[], dilations: readonly number[], groups: number, cin: number, cout: number,
): boolean {
  return winogradGeometry(kernel, strides, dilations, groups) && winogradPays(cin, cout);
}

/** The per-input-size part: tiles, blocking and each thread's scratch. */
export interface WinogradPlan {
  h: number;
  w: number;
  oh: number;
  ow: number;
  pt: number;
  pl: number;
  tiles: number;
  block: number;
  slotBytes: number;
}

/**
 * The plan of a Winograd F(2x2, 3x3) (float32 or 8-bit) for one input size: its 2x2 output tiles,
 * blocked so that a block's transformed scratch (perTile bytes a tile) stays about BLOCK_BYTES,
 * and one scratch slot per thread of slotBytes(rows) for a block padded to whole 4-row groups.
 */
export function winogradPlan(
  n: number, h: number, w: number, oh: number, ow: number, pads: readonly number[], perTile: number, slotBytes: (rows: number) => number, threads: number,
): { plan: WinogradPlan; scratchBytes: number } {
  const tiles = n * Math.ceil(oh / 2) * Math.ceil(ow / 2);
  const block = Math.max(MIN_BLOCK, Math.min(MAX_BLOCK, Math.floor(BLOCK_BYTES / perTile / 4) * 4));
  const slot = slotBytes(Math.ceil(block / 4) * 4);
  return { plan: { h, w, oh, ow, pt: pads[0], pl: pads[1], tiles, block, slotBytes: slot }, scratchBytes: slot * threads };
}

/**
 * A 3x3 stride-1 convolution's weights in the Winograd domain (16 GEMM weight sets packed as the
 * indirect GEMM reads them) and its bias, for Conv2d's "winograd" path.
 */
export class Winograd3x3 {
  /** Packed weights, then the bias (Cout floats, zeros for none). */
  readonly packed: number;
  private readonly bias: number;

  constructor(
    private readonly rt: Runtime,
    readonly cin: number,
    readonly cout: number,
    weights: number,
    bias: number,
  ) {
    const packedBytes = POS * Math.ceil(cout / GEMM_NR) * GEMM_NR * (cin + 1) * 4;
    this.packed = rt.heap.alloc(packedBytes + cout * 4);
    this.bias = this.packed + packedBytes;
    const f32 = rt.heap.f32;
    if (bias) f32.copyWithin(this.bias / 4, bias / 4, bias / 4 + cout);
    else f32.fill(0, this.bias / 4, this.bias / 4 + cout);
    rt.dispatch([{ fn: "winograd_weights_f32_2x2k3", args: { cin, cout, g: weights, out: this.packed } }], "conv2d");
  }

  /** The plan for one input size, and the scratch bytes it needs (one slot per thread). */
  plan(n: number, h: number, w: number, oh: number, ow: number, pads: readonly number[]): { plan: WinogradPlan; scratchBytes: number } {
    const { cin, cout } = this;
    // Each slot's V and M start 16-byte aligned, as the row-offset table before them is rows i32.
    const slot = (rows: number) => rows * 4 + POS * (rows * (cin + cout) + 2 * POS_PAD) * 4;
    return winogradPlan(n, h, w, oh, ow, pads, POS * (cin + cout) * 4, slot, this.rt.threads);
  }

  /** Runs on x (NHWC) into y, adding the residual r (0 for none) before the activation. */
  exec(plan: WinogradPlan, scratch: number, zero: number, x: number, r: number, y: number, act: ActivationCode): void {
    const { h, w, oh, ow, pt, pl, tiles, block, slotBytes } = plan;
    const { cin, cout } = this;
    const { kind, p0, p1 } = act;
    // Each thread takes a contiguous range of tiles and its own scratch slot; a tile's outputs do
    // not depend on the range or block it falls in, so any thread count gives the same bits.
    const calls = this.rt.ranges(tiles, tiles * 36 * cin * cout).map(([a, b], i) => ({
      fn: "conv2d_f32_winograd_2x2k3" as const,
      args: {
        h, w, cin, cout, oh, ow, pt, pl, tile0: a, tiles: b - a, block, x, zero, u: this.packed, bias: this.bias, r,
        scratch: scratch + i * slotBytes, y, act: kind, p0, p1,
      },
    }));
    this.rt.dispatch(calls, "conv2d");
  }

  dispose(): void {
    this.rt.heap.release(this.packed);
  }
}
