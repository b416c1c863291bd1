import { GEMM_MR, GEMM_NR } from "./igemm";

// Weight panels per block, as in igemm_f32_4x8: a block stays in L2 while every tile of A (and its
// rows of the indirection table) is read once per block, not once per panel.
const QBLOCK_BYTES: i32 = 512 * 1024;

// Output kinds of qgemm_q8_4x8 (part of the ABI).
export const QOUT_I32: i32 = 0;
export const QOUT_F32: i32 = 1;
export const QOUT_U8: i32 = 2;
export const QOUT_I8: i32 = 3;
export const QOUT_Q16U8: i32 = 4;
export const QOUT_Q16I8: i32 = 5;

// qgemm_q8_4x8: 8-bit GEMM / indirect convolution with exact i32 accumulation.
// acc[m][j] = sum_t sum_k A(t, m)[k] * W[t][k][j], where A holds the quantized activations minus
// their zero point and W the weights minus theirs (per column), both as i16 (|v| <= 255): the
// quantization writes A centred and widened once (quantize_f32_q8_i16), so the k loop is one
// 32-bit broadcast of an A pair and two i32x4.dot_i16x8_s per row, and no zero-point correction
// is left to do. i32 addition is exact modulo 2^32 in any order, so both builds and every tiling
// agree to the bit.
// ind is conv2d_indirection's table built with pixelStride = the row's elements, so an entry is
// 4 x the element offset from `a` (2 x its byte offset), or -1 for the zero row `zero` (kc zero
// i16). runs (0 for none; only for an even kc, whose taps' packed pairs follow each other) is
// conv2d_tap_runs' table for stepBytes = 4 kc: from tap t on, that many taps continue each row's
// memory and are read as one run of pairs (the short k loops of few channels made long).
// w is packed by pack_qgemm_q8_8: per 8-column panel and tap, the k pairs of each column as i16
// pairs, the layout dot_i16x8_s multiplies against a broadcast pair of A. The store (outKind):
//   QOUT_I32: c[m][j] = acc (i32);
//   QOUT_F32: c[m][j] = f32(acc) * scale[j] (+ fbias[j] when fbias != 0), f32;
//   QOUT_U8 / QOUT_I8: c[m][j] = saturate(roundHalfEven(f32(acc) * scale[j]) + zy), 8-bit;
//   QOUT_Q16U8 / QOUT_Q16I8: the f32 value above quantized for the next 8-bit op, written as its
//     A operand: c[m][j] = clamp(roundHalfEven(f / ys), qmin - zy, qmax - zy) as i16, where f is
//     QOUT_F32's value; the division is QuantizeLinear's, so the chain equals a float store
//     followed by quantize_f32_q8_i16, bit for bit;
// the float steps are single IEEE operations (convert, multiply, add, round to nearest even),
// the same arithmetic as ONNX's reference and onnxruntime's requantization. c rows are ldc
// elements apart.
export function qgemm_q8_4x8(
  m: i32, n: i32, kc: i32, ks: i32,
  a: usize, ind: usize, runs: usize, zero: usize, w: usize, scale: usize, fbias: usize,
  c: usize, ldc: i32,
  outKind: i32, zy: i32, ys: f32,
): void {
  const panels = (n + GEMM_NR - 1) / GEMM_NR;
  const panelBytes = ks * ((kc + 1) >> 1) * 32;
  const perBlock = max(1, QBLOCK_BYTES / panelBytes);
  const tiles = (m + GEMM_MR - 1) / GEMM_MR;
  const elem: usize = outKind >= QOUT_Q16U8 ? 2 : outKind >= QOUT_U8 ? 1 : 4;
  const rowBytes = <usize>ldc * elem;
  for (let pb = 0; pb < panels; pb += perBlock) {
    const pe = min(pb + perBlock, panels);
    for (let t = 0; t < tiles; t++) {
      const mr = min(m - t * GEMM_MR, GEMM_MR);
      const indT = ind + <usize>(t * ks * GEMM_MR) * 4;
      const runsT: usize = runs == 0 ? 0 : runs + <usize>(t * ks);
      const rowT = c + <usize>(t * GEMM_MR) * rowBytes;
      for (let p = pb; p < pe; p++) {
        const nr = min(n - p * GEMM_NR, GEMM_NR);
        const col = p * GEMM_NR;
        const wp = w + <usize>p * <usize>panelBytes;
        const sp = scale + (<usize>col << 2);
        const bp: usize = fbias == 0 ? 0 : fbias + (<usize>col << 2);
        const ct = rowT + <usize>col * elem;
        if (ASC_FEATURE_SIMD) qtileSimd(mr, nr, kc, ks, a, indT, runsT, zero, wp, sp, bp, ct, rowBytes, outKind, zy, ys);
        else qtileScalar(mr, nr, kc, ks, a, indT, zero, wp, sp, bp, ct, rowBytes, outKind, zy, ys);
      }
    }
  }
}

// pack_qgemm_q8_8: packs 8-bit weights, element (tap t, row k, column j) at b + t*st + k*sk +
// j*sn (bytes; u8 or, wSigned 1, i8), with per-column zero points wzp[n] (same type, 0 for none),
// into the panels qgemm_q8_4x8 reads: W - zw as i16 pairs (an odd kc's last pair padded with 0),
// columns past n zero.
export function pack_qgemm_q8_8(
  kc: i32, ks: i32, n: i32,
  b: usize, st: i32, sk: i32, sn: i32, wzp: usize,
  out: usize,
  wSigned: i32,
): void {
  const panels = (n + GEMM_NR - 1) / GEMM_NR;
  const pairs = (kc + 1) >> 1;
  for (let p = 0; p < panels; p++) {
    for (let t = 0; t < ks; t++) {
      for (let q = 0; q < pairs; q++) {
        for (let j = 0; j < GEMM_NR; j++) {
          const col = p * GEMM_NR + j;
          let w0 = 0, w1 = 0;
          if (col < n) {
            const zw = wzp == 0 ? 0 : wq(wzp + <usize>col, wSigned);
            const base = b + <usize>(t * st + col * sn);
            w0 = wq(base + <usize>(2 * q * sk), wSigned) - zw;
            if (2 * q + 1 < kc) w1 = wq(base + <usize>((2 * q + 1) * sk), wSigned) - zw;
          }
          store<i16>(out + (<usize>j << 2), <i16>w0);
          store<i16>(out + (<usize>j << 2) + 2, <i16>w1);
        }
        out += 32;
      }
    }
  }
}

// 1.5 * 2^23: added to a float below 2^22 in magnitude, it leaves the nearest integer (ties to
// even, the IEEE rounding of the add) in the low mantissa bits, and the sum's bits minus these are
// that integer: two instructions for what f32x4.nearest and i32x4.trunc_sat_f32x4_s take about
// ten for on x64.
const ROUND_MAGIC: f32 = 12582912.0;
const ROUND_BITS: i32 = 0x4b400000;

// roundHalfEven(clamp(v, lo, hi)) as i32 lanes, for v without NaN and integral lo, hi of magnitude
// below 2^22 (clamping first or last gives the same integers). pmin/pmax are one instruction
// each; wasm's min/max spend several on their NaN rules, which no value here needs.
@inline export function roundClamp(v: v128, lo: v128, hi: v128): v128 {
  const c = f32x4.pmin(f32x4.pmax(v, lo), hi);
  return i32x4.sub(f32x4.add(c, f32x4.splat(ROUND_MAGIC)), i32x4.splat(ROUND_BITS));
}

// clamp(roundHalfEven(v), lo, hi), then truncated to i32 lanes, NaN giving 0: pmax(NaN, lo) and
// pmin(NaN, hi) keep the NaN, which i32x4.trunc_sat_f32x4_s makes 0, as the scalar path does.
@inline function roundClampNaN(v: v128, lo: v128, hi: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.pmin(f32x4.pmax(f32x4.nearest(v), lo), hi));
}

@inline function qmin(signed: bool): i32 {
  return signed ? -128 : 0;
}

@inline function qmax(signed: bool): i32 {
  return signed ? 127 : 255;
}

@inline export function wq(p: usize, signed: i32): i32 {
  return signed != 0 ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

@inline function qrowPtr(a: usize, zero: usize, ind: usize, i: i32): usize {
  const o = load<i32>(ind + (<usize>i << 2));
  return o < 0 ? zero : a + <usize>(o >> 1);
}

// The last A[k] of an odd kc, paired with 0 (its packed partner weight is 0 too).
@inline function lastSimd(p: usize): v128 {
  return i32x4.splat(<i32>load<u16>(p));
}

@inline function qtileSimd(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, runs: usize, zero: usize, w: usize, scale: usize, fbias: usize,
  c: usize, rowBytes: usize, outKind: i32, zy: i32, ys: f32,
): void {
  let c00 = i32x4.splat(0);
  let c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const fullBytes = <usize>((kc & ~1) << 1);
  for (let t = 0; t < ks; ) {
    const run = runs == 0 ? 1 : <i32>load<u8>(runs + <usize>t);
    const a0 = qrowPtr(a, zero, ind, 0);
    const a1 = qrowPtr(a, zero, ind, 1);
    const a2 = qrowPtr(a, zero, ind, 2);
    const a3 = qrowPtr(a, zero, ind, 3);
    ind += <usize>(GEMM_MR * 4 * run);
    t += run;
    const runBytes = fullBytes * <usize>run;
    for (let o: usize = 0; o < runBytes; o += 4) {
      const b0 = v128.load(w);
      const b1 = v128.load(w, 16);
      w += 32;
      let va = v128.load32_splat(a0 + o);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a1 + o);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a2 + o);
      c20 = i32x4.add(c20, i32x4.dot_i16x8_s(va, b0));
      c21 = i32x4.add(c21, i32x4.dot_i16x8_s(va, b1));
      va = v128.load32_splat(a3 + o);
      c30 = i32x4.add(c30, i32x4.dot_i16x8_s(va, b0));
      c31 = i32x4.add(c31, i32x4.dot_i16x8_s(va, b1));
    }
    if (kc & 1) {
      const b0 = v128.load(w);
      const b1 = v128.load(w, 16);
      w += 32;
      let va = lastSimd(a0 + fullBytes);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(va, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(va, b1));
      va = lastSimd(a1 + fullBytes);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(va, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(va, b1));
      va = lastSimd(a2 + fullBytes);
      c20 = i32x4.add(c20, i32x4.dot_i16x8_s(va, b0));
      c21 = i32x4.add(c21, i32x4.dot_i16x8_s(va, b1));
      va = lastSimd(a3 + fullBytes);
      c30 = i32x4.add(c30, i32x4.dot_i16x8_s(va, b0));
      c31 = i32x4.add(c31, i32x4.dot_i16x8_s(va, b1));
    }
  }
  qstoreRow(c, c00, c01, nr, scale, fbias, outKind, zy, ys);
  if (mr > 1) qstoreRow(c + rowBytes, c10, c11, nr, scale, fbias, outKind, zy, ys);
  if (mr > 2) qstoreRow(c + 2 * rowBytes, c20, c21, nr, scale, fbias, outKind, zy, ys);
  if (mr > 3) qstoreRow(c + 3 * rowBytes, c30, c31, nr, scale, fbias, outKind, zy, ys);
}

// One row of 8 accumulators: whole vectors for a full row, lane by lane (the scalar store, the
// same operations) for a partial one. Shared with the int8 Winograd and depthwise kernels
// (assembly/qwinograd.ts, assembly/qdwconv.ts), so the requantization is written once.
@inline export function qstoreRow(c: usize, v0: v128, v1: v128, nr: i32, scale: usize, fbias: usize, outKind: i32, zy: i32, ys: f32): void {
  if (nr == GEMM_NR) {
    if (outKind == QOUT_I32) {
      v128.store(c, v0);
      v128.store(c, v1, 16);
    } else if (outKind == QOUT_F32) {
      let f0 = f32x4.mul(f32x4.convert_i32x4_s(v0), v128.load(scale));
      let f1 = f32x4.mul(f32x4.convert_i32x4_s(v1), v128.load(scale, 16));
      if (fbias != 0) {
        f0 = f32x4.add(f0, v128.load(fbias));
        f1 = f32x4.add(f1, v128.load(fbias, 16));
      }
      v128.store(c, f0);
      v128.store(c, f1, 16);
    } else if (outKind >= QOUT_Q16U8) {
      let f0 = f32x4.mul(f32x4.convert_i32x4_s(v0), v128.load(scale));
      let f1 = f32x4.mul(f32x4.convert_i32x4_s(v1), v128.load(scale, 16));
      if (fbias != 0) {
        f0 = f32x4.add(f0, v128.load(fbias));
        f1 = f32x4.add(f1, v128.load(fbias, 16));
      }
      const vys = f32x4.splat(ys);
      const lo = f32x4.splat(<f32>(qmin(outKind == QOUT_Q16I8) - zy));
      const hi = f32x4.splat(<f32>(qmax(outKind == QOUT_Q16I8) - zy));
      const q0 = roundClamp(f32x4.div(f0, vys), lo, hi);
      const q1 = roundClamp(f32x4.div(f1, vys), lo, hi);
      v128.store(c, i16x8.narrow_i32x4_s(q0, q1));
    } else {
      const lo = f32x4.splat(<f32>(qmin(outKind == QOUT_I8) - zy));
      const hi = f32x4.splat(<f32>(qmax(outKind == QOUT_I8) - zy));
      const vzy = i32x4.splat(zy);
      const q0 = i32x4.add(roundClamp(f32x4.mul(f32x4.convert_i32x4_s(v0), v128.load(scale)), lo, hi), vzy);
      const q1 = i32x4.add(roundClamp(f32x4.mul(f32x4.convert_i32x4_s(v1), v128.load(scale, 16)), lo, hi), vzy);
      const h = i16x8.narrow_i32x4_s(q0, q1);
      const b = outKind == QOUT_U8 ? i8x16.narrow_i16x8_u(h, h) : i8x16.narrow_i16x8_s(h, h);
      v128.store64_lane(c, b, 0);
    }
    return;
  }
  qstoreOne(c, 0, i32x4.extract_lane(v0, 0), scale, fbias, outKind, zy, ys);
  if (nr > 1) qstoreOne(c, 1, i32x4.extract_lane(v0, 1), scale, fbias, outKind, zy, ys);
  if (nr > 2) qstoreOne(c, 2, i32x4.extract_lane(v0, 2), scale, fbias, outKind, zy, ys);
  if (nr > 3) qstoreOne(c, 3, i32x4.extract_lane(v0, 3), scale, fbias, outKind, zy, ys);
  if (nr > 4) qstoreOne(c, 4, i32x4.extract_lane(v1, 0), scale, fbias, outKind, zy, ys);
  if (nr > 5) qstoreOne(c, 5, i32x4.extract_lane(v1, 1), scale, fbias, outKind, zy, ys);
  if (nr > 6) qstoreOne(c, 6, i32x4.extract_lane(v1, 2), scale, fbias, outKind, zy, ys);
}

@inline export function qstoreOne(c: usize, j: i32, acc: i32, scale: usize, fbias: usize, outKind: i32, zy: i32, ys: f32): void {
  const o = <usize>j;
  if (outKind == QOUT_I32) {
    store<i32>(c + (o << 2), acc);
    return;
  }
  const f: f32 = <f32>acc * load<f32>(scale + (o << 2));
  if (outKind == QOUT_F32) {
    store<f32>(c + (o << 2), fbias != 0 ? f + load<f32>(fbias + (o << 2)) : f);
    return;
  }
  if (outKind >= QOUT_Q16U8) {
    const fb: f32 = fbias != 0 ? f + load<f32>(fbias + (o << 2)) : f;
    const signed = outKind == QOUT_Q16I8;
    const q = min<f32>(max<f32>(nearest<f32>(fb / ys), <f32>(qmin(signed) - zy)), <f32>(qmax(signed) - zy));
    store<i16>(c + (o << 1), <i16><i32>q);
    return;
  }
  const lo: f32 = <f32>(qmin(outKind == QOUT_I8) - zy);
  const hi: f32 = <f32>(qmax(outKind == QOUT_I8) - zy);
  const r = min<f32>(max<f32>(nearest<f32>(f), lo), hi);
  store<u8>(c + o, <u8>(<i32>r + zy));
}

// The scalar build runs the tile a row at a time: 8 accumulators, one A load and 8 weight loads
// per k.
@inline function qtileScalar(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, zero: usize, w: usize, scale: usize, fbias: usize,
  c: usize, rowBytes: usize, outKind: i32, zy: i32, ys: f32,
): void {
  const tapBytes = <usize>(((kc + 1) >> 1) * 32);
  for (let i = 0; i < mr; i++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let t = 0; t < ks; t++) {
      const ar = qrowPtr(a, zero, ind + <usize>(t * GEMM_MR * 4), i);
      const wt = w + <usize>t * tapBytes;
      for (let k = 0; k < kc; k++) {
        const x = <i32>load<i16>(ar + (<usize>k << 1));
        // Weight k of the pair: the first or second i16 of each column's 4 bytes.
        const wk = wt + <usize>((k >> 1) * 32 + (k & 1) * 2);
        s0 += x * <i32>load<i16>(wk);
        s1 += x * <i32>load<i16>(wk, 4);
        s2 += x * <i32>load<i16>(wk, 8);
        s3 += x * <i32>load<i16>(wk, 12);
        s4 += x * <i32>load<i16>(wk, 16);
        s5 += x * <i32>load<i16>(wk, 20);
        s6 += x * <i32>load<i16>(wk, 24);
        s7 += x * <i32>load<i16>(wk, 28);
      }
    }
    const ci = c + <usize>i * rowBytes;
    qstoreOne(ci, 0, s0, scale, fbias, outKind, zy, ys);
    if (nr > 1) qstoreOne(ci, 1, s1, scale, fbias, outKind, zy, ys);
    if (nr > 2) qstoreOne(ci, 2, s2, scale, fbias, outKind, zy, ys);
    if (nr > 3) qstoreOne(ci, 3, s3, scale, fbias, outKind, zy, ys);
    if (nr > 4) qstoreOne(ci, 4, s4, scale, fbias, outKind, zy, ys);
    if (nr > 5) qstoreOne(ci, 5, s5, scale, fbias, outKind, zy, ys);
    if (nr > 6) qstoreOne(ci, 6, s6, scale, fbias, outKind, zy, ys);
    if (nr > 7) qstoreOne(ci, 7, s7, scale, fbias, outKind, zy, ys);
  }
}

// quantize_f32_q8: QuantizeLinear with one scale and zero point: y[i] = saturate(roundHalfEven(
// x[i] / scale) + zp) as u8 (ySigned 0) or i8 (ySigned 1); the division, not a multiply by the
// reciprocal, as the ONNX reference and onnxruntime compute it. NaN becomes zp.
export function quantize_f32_q8(n: i32, x: usize, y: usize, scale: f32, zp: i32, ySigned: i32): void {
  quantizeBody(n, x, y, scale, zp, ySigned != 0, false);
}

// quantize_f32_q8_i16: the same quantization, written as the A operand of qgemm_q8_4x8: each
// value minus zp, as i16.
export function quantize_f32_q8_i16(n: i32, x: usize, y: usize, scale: f32, zp: i32, ySigned: i32): void {
  quantizeBody(n, x, y, scale, zp, ySigned != 0, true);
}

@inline function quantizeBody(n: i32, x: usize, y: usize, scale: f32, zp: i32, signed: bool, centred: bool): void {
  const lo: f32 = <f32>(qmin(signed) - zp);
  const hi: f32 = <f32>(qmax(signed) - zp);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(scale);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const vzp = i32x4.splat(centred ? 0 : zp);
    for (; i + 8 <= n; i += 8) {
      const p = x + (<usize>i << 2);
      const q0 = i32x4.add(roundClampNaN(f32x4.div(v128.load(p), vs), vlo, vhi), vzp);
      const q1 = i32x4.add(roundClampNaN(f32x4.div(v128.load(p, 16), vs), vlo, vhi), vzp);
      const h = i16x8.narrow_i32x4_s(q0, q1);
      if (centred) v128.store(y + (<usize>i << 1), h);
      else v128.store64_lane(y + <usize>i, signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h), 0);
    }
  }
  for (; i < n; i++) {
    let r = min<f32>(max<f32>(nearest<f32>(load<f32>(x + (<usize>i << 2)) / scale), lo), hi);
    if (r != r) r = 0;
    if (centred) store<i16>(y + (<usize>i << 1), <i16><i32>r);
    else store<u8>(y + <usize>i, <u8>(<i32>r + zp));
  }
}

// fake_quantize_f32: DequantizeLinear(QuantizeLinear(x)) with one scale and zero point, in one
// pass: y[i] = f32(clamp(roundHalfEven(x[i] / scale), qmin - zp, qmax - zp)) * scale, which is
// (q - zp) * scale for the q quantize_f32_q8 writes, the value ONNX's DequantizeLinear gives.
export function fake_quantize_f32(n: i32, x: usize, y: usize, scale: f32, zp: i32, ySigned: i32): void {
  const lo: f32 = <f32>(qmin(ySigned != 0) - zp);
  const hi: f32 = <f32>(qmax(ySigned != 0) - zp);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(scale);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      const p = <usize>i << 2;
      v128.store(y + p, f32x4.mul(f32x4.convert_i32x4_s(roundClampNaN(f32x4.div(v128.load(x + p), vs), vlo, vhi)), vs));
    }
  }
  for (; i < n; i++) {
    let r = min<f32>(max<f32>(nearest<f32>(load<f32>(x + (<usize>i << 2)) / scale), lo), hi);
    if (r != r) r = 0;
    store<f32>(y + (<usize>i << 2), <f32>(<i32>r) * scale);
  }
}

// minmax_f32: y[0] = min, y[1] = max of x[0..n) (n >= 1); both NaN when any value is NaN, in both
// builds. The SIMD loop compares with pmin/pmax (one instruction each; wasm's NaN-propagating
// min/max take several on x64) and tracks NaN apart. Which zero is kept among -0 and +0 is
// unspecified: the range is widened to include 0 anyway.
export function minmax_f32(n: i32, x: usize, y: usize): void {
  let lo = load<f32>(x);
  let hi = lo;
  let nan = lo != lo;
  let i = 1;
  if (ASC_FEATURE_SIMD) {
    if (n >= 4) {
      let vlo = v128.load(x);
      let vhi = vlo;
      let vnan = f32x4.ne(vlo, vlo);
      for (i = 4; i + 4 <= n; i += 4) {
        const v = v128.load(x + (<usize>i << 2));
        vlo = f32x4.pmin(vlo, v);
        vhi = f32x4.pmax(vhi, v);
        vnan = v128.or(vnan, f32x4.ne(v, v));
      }
      nan = v128.any_true(vnan);
      lo = lowest(vlo);
      hi = highest(vhi);
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    nan = nan || v != v;
  }
  store<f32>(y, nan ? NaN : lo);
  store<f32>(y, nan ? NaN : hi, 4);
}

@inline function lowest(v: v128): f32 {
  const a = f32x4.extract_lane(v, 0), b = f32x4.extract_lane(v, 1), c = f32x4.extract_lane(v, 2), d = f32x4.extract_lane(v, 3);
  const ab = b < a ? b : a;
  const cd = d < c ? d : c;
  return cd < ab ? cd : ab;
}

@inline function highest(v: v128): f32 {
  const a = f32x4.extract_lane(v, 0), b = f32x4.extract_lane(v, 1), c = f32x4.extract_lane(v, 2), d = f32x4.extract_lane(v, 3);
  const ab = b > a ? b : a;
  const cd = d > c ? d : c;
  return cd > ab ? cd : ab;
}
