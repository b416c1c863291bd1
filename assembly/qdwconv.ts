import { QOUT_Q16U8, QOUT_U8, qstoreOne, qstoreRow } from "./qgemm";

// Channels per packed weight block of dwconv_q16_8 (part of the ABI: the host packs by it).
export const QDWCONV_CB: i32 = 8;

// dwconv_q16_8: 8-bit depthwise convolution (one filter per channel) with exact i32 accumulation.
// a holds the quantized activations minus their zero point as i16 (the q16 operand
// qgemm_q8_4x8 reads), NHWC with c channels per pixel; ind is conv2d_indirection's table with
// mr = 1 and pixelStride = c: ks entries per output pixel, each 4 x the element offset from a, or
// -1 for the zero row `zero` (c i16 zeros: a padded tap adds x - zx = 0, as ONNX pads with the
// zero point). w is packed per 8-channel block and pair of taps (t = 2q, 2q + 1) as 8 x 2 i16,
// channel j's weights minus its zero point at [2j] and [2j + 1] (0 past c, and for the missing
// partner of an odd ks's last tap), so that interleaving two taps' inputs channel by channel
// gives i32x4.dot_i16x8_s the pairs it multiplies and adds: one shuffle and one dot per 4
// channels and 2 taps, where a multiply per tap takes three instructions on x64. acc[p][j] = sum
// over taps of a * w, in i32 (exact, so any order and both builds agree); the store is
// qgemm_q8_4x8's (qstoreRow / qstoreOne, the same kinds and arithmetic), c elements per output
// pixel.
export function dwconv_q16_8(
  m: i32, c: i32, ks: i32,
  a: usize, ind: usize, zero: usize, w: usize, scale: usize, fbias: usize,
  y: usize,
  outKind: i32, zy: i32, ys: f32,
): void {
  // An inlined copy for 3x3 windows: the second block's weights and the tap loop's bounds become
  // constants (as dwconv_f32 does).
  if (ks == 9) dwconvBody(m, c, 9, a, ind, zero, w, scale, fbias, y, outKind, zy, ys);
  else dwconvBody(m, c, ks, a, ind, zero, w, scale, fbias, y, outKind, zy, ys);
}

@inline function dwconvBody(
  m: i32, c: i32, ks: i32,
  a: usize, ind: usize, zero: usize, w: usize, scale: usize, fbias: usize,
  y: usize,
  outKind: i32, zy: i32, ys: f32,
): void {
  const elem: usize = outKind >= QOUT_Q16U8 ? 2 : outKind >= QOUT_U8 ? 1 : 4;
  const pairs = (ks + 1) >> 1;
  const blockBytes = <usize>pairs * (QDWCONV_CB << 2);
  const full = c & ~7;
  for (let p = 0; p < m; p++) {
    const indP = ind + <usize>(p * ks) * 4;
    const yP = y + <usize>(p * c) * elem;
    let cb = 0;
    if (ASC_FEATURE_SIMD) {
      // 16 channels at a time: four independent i32 chains, two blocks' weights a tap pair.
      for (; cb + 16 <= full; cb += 16) {
        const off = <usize>cb << 1;
        let wt = w + <usize>(cb >> 3) * blockBytes;
        let s0 = i32x4.splat(0);
        let s1 = s0, s2 = s0, s3 = s0;
        let t = 0;
        for (; t + 1 < ks; t += 2) {
          const pa = rowPtr(a, zero, indP, t) + off;
          const pb = rowPtr(a, zero, indP, t + 1) + off;
          const a0 = v128.load(pa), a1 = v128.load(pa, 16);
          const b0 = v128.load(pb), b1 = v128.load(pb, 16);
          s0 = i32x4.add(s0, i32x4.dot_i16x8_s(interleaveLow(a0, b0), v128.load(wt)));
          s1 = i32x4.add(s1, i32x4.dot_i16x8_s(interleaveHigh(a0, b0), v128.load(wt, 16)));
          s2 = i32x4.add(s2, i32x4.dot_i16x8_s(interleaveLow(a1, b1), v128.load(wt + blockBytes)));
          s3 = i32x4.add(s3, i32x4.dot_i16x8_s(interleaveHigh(a1, b1), v128.load(wt + blockBytes, 16)));
          wt += 32;
        }
        if (t < ks) {
          const pa = rowPtr(a, zero, indP, t) + off;
          const a0 = v128.load(pa), a1 = v128.load(pa, 16);
          const z = i32x4.splat(0);
          s0 = i32x4.add(s0, i32x4.dot_i16x8_s(interleaveLow(a0, z), v128.load(wt)));
          s1 = i32x4.add(s1, i32x4.dot_i16x8_s(interleaveHigh(a0, z), v128.load(wt, 16)));
          s2 = i32x4.add(s2, i32x4.dot_i16x8_s(interleaveLow(a1, z), v128.load(wt + blockBytes)));
          s3 = i32x4.add(s3, i32x4.dot_i16x8_s(interleaveHigh(a1, z), v128.load(wt + blockBytes, 16)));
        }
        const sc = scale + (<usize>cb << 2);
        const fb: usize = fbias == 0 ? 0 : fbias + (<usize>cb << 2);
        qstoreRow(yP + <usize>cb * elem, s0, s1, 8, sc, fb, outKind, zy, ys);
        qstoreRow(yP + <usize>(cb + 8) * elem, s2, s3, 8, sc + 32, fb == 0 ? 0 : fb + 32, outKind, zy, ys);
      }
      for (; cb < full; cb += 8) {
        const off = <usize>cb << 1;
        let wt = w + <usize>(cb >> 3) * blockBytes;
        let s0 = i32x4.splat(0);
        let s1 = s0;
        let t = 0;
        for (; t + 1 < ks; t += 2) {
          const a0 = v128.load(rowPtr(a, zero, indP, t) + off);
          const b0 = v128.load(rowPtr(a, zero, indP, t + 1) + off);
          s0 = i32x4.add(s0, i32x4.dot_i16x8_s(interleaveLow(a0, b0), v128.load(wt)));
          s1 = i32x4.add(s1, i32x4.dot_i16x8_s(interleaveHigh(a0, b0), v128.load(wt, 16)));
          wt += 32;
        }
        if (t < ks) {
          const a0 = v128.load(rowPtr(a, zero, indP, t) + off);
          const z = i32x4.splat(0);
          s0 = i32x4.add(s0, i32x4.dot_i16x8_s(interleaveLow(a0, z), v128.load(wt)));
          s1 = i32x4.add(s1, i32x4.dot_i16x8_s(interleaveHigh(a0, z), v128.load(wt, 16)));
        }
        qstoreRow(yP + <usize>cb * elem, s0, s1, 8, scale + (<usize>cb << 2), fbias == 0 ? 0 : fbias + (<usize>cb << 2), outKind, zy, ys);
      }
    }
    // The scalar build's blocks, and the SIMD build's last channels (fewer than 8: a vector load
    // would read past the pixel, and past the end of the input for the last one).
    for (; cb < c; cb += 8) {
      const nr = min(c - cb, 8);
      const off = <usize>cb << 1;
      const wb = w + <usize>(cb >> 3) * blockBytes;
      for (let j = 0; j < nr; j++) {
        let s = 0;
        for (let t = 0; t < ks; t++) {
          const ip = rowPtr(a, zero, indP, t) + off;
          s += <i32>load<i16>(ip + (<usize>j << 1)) * <i32>load<i16>(wb + (<usize>((t >> 1) * 16 + 2 * j + (t & 1)) << 1));
        }
        qstoreOne(yP + <usize>cb * elem, j, s, scale + (<usize>cb << 2), fbias == 0 ? 0 : fbias + (<usize>cb << 2), outKind, zy, ys);
      }
    }
  }
}

// Lanes 0-3 (4-7) of a and b interleaved: (a0, b0, a1, b1, ...), each channel's two taps side by
// side (one punpcklwd / punpckhwd on x64).
@inline function interleaveLow(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
}

@inline function interleaveHigh(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}

@inline function rowPtr(a: usize, zero: usize, indP: usize, t: i32): usize {
  const o = load<i32>(indP + (<usize>t << 2));
  return o < 0 ? zero : a + <usize>(o >> 1);
}
