// The 8-bit chain between quantized ops: a tensor quantized with one scale and zero point is kept
// as qgemm_q8_4x8's A operand (q - zp as i16, what quantize_f32_q8_i16 and the QOUT_Q16 stores
// write), so the next 8-bit op reads it without a float round trip. Each kernel here computes
// with the float steps of the ONNX definitions it replaces (DequantizeLinear, Add,
// QuantizeLinear), one IEEE operation at a time, so the chain equals the float path to the bit.
import { roundClamp } from "./qgemm";

// dequantize_q16_f32: DequantizeLinear of a chain tensor, y[i] = f32(x[i]) * scale: the value
// fake_quantize_f32 gives for the same quantization.
export function dequantize_q16_f32(n: i32, x: usize, y: usize, scale: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(scale);
    for (; i + 8 <= n; i += 8) {
      const h = v128.load(x + (<usize>i << 1));
      const p = y + (<usize>i << 2);
      v128.store(p, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h)), vs));
      v128.store(p, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h)), vs), 16);
    }
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), <f32>load<i16>(x + (<usize>i << 1)) * scale);
}

// qadd_q16: QuantizeLinear(DequantizeLinear(a) + DequantizeLinear(b)) on chain tensors of n
// elements: y[i] = clamp(roundHalfEven((f32(a[i]) * sa + f32(b[i]) * sb) / sy), lo, hi), where
// lo and hi are the output type's range minus its zero point.
export function qadd_q16(n: i32, a: usize, b: usize, y: usize, sa: f32, sb: f32, sy: f32, lo: f32, hi: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vsa = f32x4.splat(sa);
    const vsb = f32x4.splat(sb);
    const vsy = f32x4.splat(sy);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    for (; i + 8 <= n; i += 8) {
      const o = <usize>i << 1;
      const ha = v128.load(a + o);
      const hb = v128.load(b + o);
      const s0 = f32x4.add(
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(ha)), vsa),
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hb)), vsb),
      );
      const s1 = f32x4.add(
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(ha)), vsa),
        f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hb)), vsb),
      );
      const q0 = roundClamp(f32x4.div(s0, vsy), vlo, vhi);
      const q1 = roundClamp(f32x4.div(s1, vsy), vlo, vhi);
      v128.store(y + o, i16x8.narrow_i32x4_s(q0, q1));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 1;
    const s = <f32>load<i16>(a + o) * sa + <f32>load<i16>(b + o) * sb;
    store<i16>(y + o, <i16><i32>min<f32>(max<f32>(nearest<f32>(s / sy), lo), hi));
  }
}

// pad_channels_q16: n pixels of c i16 values at x, written as pixels of c + 1 at y with a 0 last:
// qgemm_q8_4x8 reads an odd channel count as pairs, and with the pixels made even a 3x3
// window's taps along a row follow each other in memory and run as one k loop (conv2d_tap_runs)
// for the same number of pairs. A few input channels only, so one pass element by element.
export function pad_channels_q16(n: i32, c: i32, x: usize, y: usize): void {
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < c; k++) {
      store<i16>(y, load<i16>(x));
      x += 2;
      y += 2;
    }
    store<i16>(y, 0);
    y += 2;
  }
}
