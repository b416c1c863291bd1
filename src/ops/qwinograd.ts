import { GEMM_NR } from "../runtime/kernels.js";
import type { Runtime } from "../runtime/runtime.js";
import { type WinogradPlan, winogradPlan } from "./winograd.js";

/**
 * The 8-bit convolution's Winograd F(2x2, 3x3) (assembly/qwinograd.ts): exact integer transforms,
 * so its outputs are the direct kernel's to the bit, provided 4 x the accumulator fits an i32.
 *
 * When it pays over the direct 8-bit kernel, by Cin Cout / (Cin + Cout) as for float32
 * (src/ops/winograd.ts), but later: the direct kernel does twice float32's multiply-adds per
 * instruction while the transforms cost about what float32's do. Measured (bench/qwinograd.ts, 64x64
 * and 128x128 inputs, one thread), Winograd over direct: 8->32 0.74x, 12->24 0.79x, 12->64 0.97x,
 * 16->16 0.94x, 16->24 1.01x, 16->32 1.04x, 24->24 1.13x, 32->16 1.14x, 32->32 1.26x, 64->64
 * 1.64x, 128->128 1.85x; with that ratio 6.4, 8, 10.1, 8, 9.6, 10.7, 12, 10.7, 16, 32, 64. Below 16
 * input channels the GEMMs' k loops (Cin / 2 pairs) are too short to pay.
 */
export const QWINOGRAD_MIN_CIN = 16;
const QWINOGRAD_MIN_RATIO = 10;

/** Whether the 8-bit Winograd runs faster than the direct kernel, by channel counts. */
export function qwinogradPays(cin: number, cout: number): boolean {
  return cin >= QWINOGRAD_MIN_CIN && cin * cout >= QWINOGRAD_MIN_RATIO * (cin + cout);
}

/**
 * Whether the integer Winograd gives the direct accumulator exactly for every input: it computes
 * 4Y modulo 2^32, which is 4Y itself when |4Y| < 2^31. Y for output channel j is a sum of
 * (x - zx)(w - zw) over the window, so |Y| <= maxX * sum |w - zw| (the channel's L1 norm, at most
 * 9 Cin 255 for full-range weights: any Cin below 918 passes); maxX is the largest |x - zx| the
 * input's type and zero point allow.
 */
export function qwinogradExact(l1PerChannel: readonly number[], maxX: number): boolean {
  return l1PerChannel.every((l1) => 4 * maxX * l1 < 2 ** 31);
}

/** Transformed positions per tile (4x4) and the padding bytes after each one's block (assembly/qwinograd.ts). */
const POS = 16;
const POS_PAD = 64;

/** Where and how the kernel stores: qgemm_q8_4x8's store parameters. */
export interface QStore {
  scale: number;
  fbias: number;
  outKind: number;
  zy: number;
  ys: number;
}

/** A 3x3 stride-1 8-bit convolution's weights in the integer Winograd domain, 16 GEMM weight sets. */
export class QWinograd3x3 {
  readonly packed: number;

  /** weights: Cout x 3 x 3 x Cin bytes (OHWI) at a heap offset, then Cout zero points of the same type. */
  constructor(
    private readonly rt: Runtime,
    readonly cin: number,
    readonly cout: number,
    weights: number,
    signed: boolean,
  ) {
    const bytes = POS * Math.ceil(cout / GEMM_NR) * Math.ceil(cin / 2) * 32;
    this.packed = rt.heap.alloc(bytes);
    rt.dispatch([{
      fn: "winograd_weights_q16_2x2k3",
      args: { cin, cout, g: weights, wzp: weights + cout * 9 * cin, out: this.packed, wSigned: signed ? 1 : 0 },
    }], "qconv2d");
  }

  /** The plan for one input size, and the scratch bytes it needs (one slot per thread). */
  plan(n: number, h: number, w: number, oh: number, ow: number, pads: readonly number[]): { plan: WinogradPlan; scratchBytes: number } {
    const { cin, cout } = this;
    // The kernel's layout: the row table, then 16 V blocks (i16) and 16 M blocks (i32), each padded.
    const slot = (rows: number) => rows * 4 + POS * (Math.ceil((rows * cin * 2) / 16) * 16 + POS_PAD + rows * cout * 4 + POS_PAD);
    return winogradPlan(n, h, w, oh, ow, pads, POS * (cin * 2 + cout * 4), slot, this.rt.threads);
  }

  /** Runs on x (the q16 input, NHWC) into y with the given store. */
  exec(plan: WinogradPlan, scratch: number, zero: number, x: number, y: number, store: QStore): void {
    const { h, w, oh, ow, pt, pl, tiles, block, slotBytes } = plan;
    const { cin, cout } = this;
    // Each thread takes a contiguous range of tiles and its own scratch slot; a tile's outputs do
    // not depend on the range or block it falls in.
    const calls = this.rt.ranges(tiles, tiles * 36 * cin * cout).map(([a, b], i) => ({
      fn: "conv2d_q16_winograd_2x2k3" as const,
      args: {
        h, w, cin, cout, oh, ow, pt, pl, tile0: a, tiles: b - a, block, x, zero, u: this.packed,
        scale: store.scale, fbias: store.fbias, scratch: scratch + i * slotBytes, y, outKind: store.outKind, zy: store.zy, ys: store.ys,
      },
    }));
    this.rt.dispatch(calls, "qconv2d");
  }

  dispose(): void {
    this.rt.heap.release(this.packed);
  }
}
