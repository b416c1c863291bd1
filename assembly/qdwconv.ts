import { QOUT_Q16U8, QOUT_U8, qstoreOne, qstoreRow } from "./qgemm";

// Channels per packed weight block of dwconv_q16_8 (part of the ABI: the host packs by it).
export const QDWCONV_CB: i32 = 8;

// dwconv_q16_8: 8-bit depthwise convolution (one filter per channel) with exact i32 accumulation.
// a holds the quantized activations minus their zero point as i16 (the q16 operand
// qgemm_q8_4x8 reads), NHWC with c channels per pixel; ind is conv2d_indirection's table with
// mr = 1 and pixelStride = c: ks entries per output pixel, each 4 x the element offset from a, or
// -1 for the zero row `zero` (c i16 zeros: a padded tap adds x - zx = 0, as ONNX pads with the
// zero point). w is packed per 8-channel block as [ks][8] i16 weights minus their zero points,
// zero past c. acc[p][j] = sum over taps of a * w, in i32 (exact, so any order and both builds
// agree); the store is qgemm_q8_4x8's (qstoreRow / qstoreOne, the same kinds and arithmetic), c
// elements per output pixel.
export function dwconv_q16_8(
  m: i32, c: i32, ks: i32,
  a: usize, ind: usize, zero: usize, w: usize, scale: usize, fbias: usize,
  y: usize,
  outKind: i32, zy: i32, ys: f32,
): void {
  const elem: usize = outKind >= QOUT_Q16U8 ? 2 : outKind >= QOUT_U8 ? 1 : 4;
  const blockBytes = <usize>ks * (QDWCONV_CB << 1);
  const full = c & ~7;
  for (let p = 0; p < m; p++) {
    const indP = ind + <usize>(p * ks) * 4;
    const yP = y + <usize>(p * c) * elem;
    let cb = 0;
    if (ASC_FEATURE_SIMD) {
      // 16 channels at a time: four independent i32 chains, two input and two weight loads a tap.
      for (; cb + 16 <= full; cb += 16) {
        const off = <usize>cb << 1;
        let wt = w + <usize>(cb >> 3) * blockBytes;
        let s0 = i32x4.splat(0);
        let s1 = s0, s2 = s0, s3 = s0;
        for (let t = 0; t < ks; t++) {
          const ip = rowPtr(a, zero, indP, t) + off;
          const x0 = v128.load(ip);
          const x1 = v128.load(ip, 16);
          const w0 = v128.load(wt);
          const w1 = v128.load(wt + blockBytes);
          wt += 16;
          s0 = i32x4.add(s0, i32x4.extmul_low_i16x8_s(x0, w0));
          s1 = i32x4.add(s1, i32x4.extmul_high_i16x8_s(x0, w0));
          s2 = i32x4.add(s2, i32x4.extmul_low_i16x8_s(x1, w1));
          s3 = i32x4.add(s3, i32x4.extmul_high_i16x8_s(x1, w1));
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
        for (let t = 0; t < ks; t++) {
          const x0 = v128.load(rowPtr(a, zero, indP, t) + off);
          const w0 = v128.load(wt);
          wt += 16;
          s0 = i32x4.add(s0, i32x4.extmul_low_i16x8_s(x0, w0));
          s1 = i32x4.add(s1, i32x4.extmul_high_i16x8_s(x0, w0));
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
          s += <i32>load<i16>(ip + (<usize>j << 1)) * <i32>load<i16>(wb + (<usize>(t * QDWCONV_CB + j) << 1));
        }
        qstoreOne(yP + <usize>cb * elem, j, s, scale + (<usize>cb << 2), fbias == 0 ? 0 : fbias + (<usize>cb << 2), outKind, zy, ys);
      }
    }
  }
}

@inline function rowPtr(a: usize, zero: usize, indP: usize, t: i32): usize {
  const o = load<i32>(indP + (<usize>t << 2));
  return o < 0 ? zero : a + <usize>(o >> 1);
}
