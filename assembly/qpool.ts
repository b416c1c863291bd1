// Pooling on the quantized chain (q16: activations minus their zero point as i16, NHWC), 16
// channels at a time, then 8, then one (the scalar build: one). Windows are clipped to the image
// as in assembly/pool.ts.
import { tapHi, tapLo } from "./pool";
import { roundClamp } from "./qgemm";

// maxpool2d_q16: y = max over the in-image taps. Quantization is monotone, so this is the
// quantized max of the dequantized values, exactly; the output keeps x's scale and zero point.
// Every window must hold a tap (ONNX's pads are smaller than the kernel).
export function maxpool2d_q16(
  batch: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32,
  x: usize, y: usize,
): void {
  const rowBytes = <usize>(w * c) << 1;
  const pixBytes = <usize>c << 1;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * h) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapLo(oy, sh, dh, pt);
      const ky1 = tapHi(oy, sh, dh, pt, h, kh);
      const iy0 = oy * sh - pt;
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapLo(ox, sw, dw, pl);
        const kx1 = tapHi(ox, sw, dw, pl, w, kw);
        const ix0 = ox * sw - pl;
        const yp = y + <usize>(((b * oh + oy) * ow + ox) * c) * 2;
        let ch = 0;
        if (ASC_FEATURE_SIMD) {
          for (; ch + 16 <= c; ch += 16) {
            let m0 = i16x8.splat(-32768);
            let m1 = m0;
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 1);
              for (let kx = kx0; kx < kx1; kx++) {
                const p = row + <usize>(ix0 + kx * dw) * pixBytes;
                m0 = i16x8.max_s(m0, v128.load(p));
                m1 = i16x8.max_s(m1, v128.load(p, 16));
              }
            }
            v128.store(yp + (<usize>ch << 1), m0);
            v128.store(yp + (<usize>ch << 1), m1, 16);
          }
          for (; ch + 8 <= c; ch += 8) {
            let m0 = i16x8.splat(-32768);
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 1);
              for (let kx = kx0; kx < kx1; kx++) m0 = i16x8.max_s(m0, v128.load(row + <usize>(ix0 + kx * dw) * pixBytes));
            }
            v128.store(yp + (<usize>ch << 1), m0);
          }
        }
        for (; ch < c; ch++) {
          let m0: i32 = -32768;
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xb + <usize>(iy0 + ky * dh) * rowBytes + (<usize>ch << 1);
            for (let kx = kx0; kx < kx1; kx++) m0 = max(m0, <i32>load<i16>(row + <usize>(ix0 + kx * dw) * pixBytes));
          }
          store<i16>(yp + (<usize>ch << 1), <i16>m0);
        }
      }
    }
  }
}

// avgpool2d_q16: QLinearAveragePool as onnxruntime computes it, which is also the float path of
// the QDQ pair around an AveragePool: each tap dequantized (f32(x) * sx), summed in float in tap
// order (rows, then columns), divided by the count (the in-image taps, or with includePad the
// whole window), then quantized as roundHalfEven(avg / sy + zy), saturated to the output type,
// and written minus zy. One IEEE operation per step in both builds, so they agree to the bit.
export function avgpool2d_q16(
  batch: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
  x: usize, y: usize,
  includePad: i32, sx: f32, sy: f32, zy: i32, ySigned: i32,
): void {
  const rowBytes = <usize>(w * c) << 1;
  const pixBytes = <usize>c << 1;
  const lo: f32 = ySigned != 0 ? -128 : 0;
  const hi: f32 = ySigned != 0 ? 127 : 255;
  const fzy = <f32>zy;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * h) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapLo(oy, sh, 1, pt);
      const ky1 = tapHi(oy, sh, 1, pt, h, kh);
      const iy0 = oy * sh - pt;
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapLo(ox, sw, 1, pl);
        const kx1 = tapHi(ox, sw, 1, pl, w, kw);
        const ix0 = ox * sw - pl;
        const count: f32 = <f32>(includePad != 0 ? kh * kw : (ky1 - ky0) * (kx1 - kx0));
        const yp = y + <usize>(((b * oh + oy) * ow + ox) * c) * 2;
        let ch = 0;
        if (ASC_FEATURE_SIMD) {
          const vsx = f32x4.splat(sx);
          const vsy = f32x4.splat(sy);
          const vc = f32x4.splat(count);
          const vzy = f32x4.splat(fzy);
          const vlo = f32x4.splat(lo);
          const vhi = f32x4.splat(hi);
          const izy = i32x4.splat(zy);
          for (; ch + 8 <= c; ch += 8) {
            let s0 = f32x4.splat(0);
            let s1 = s0;
            for (let ky = ky0; ky < ky1; ky++) {
              const row = xb + <usize>(iy0 + ky) * rowBytes + (<usize>ch << 1);
              for (let kx = kx0; kx < kx1; kx++) {
                const v = v128.load(row + <usize>(ix0 + kx) * pixBytes);
                s0 = f32x4.add(s0, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v)), vsx));
                s1 = f32x4.add(s1, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v)), vsx));
              }
            }
            const q0 = i32x4.sub(roundClamp(f32x4.add(f32x4.div(f32x4.div(s0, vc), vsy), vzy), vlo, vhi), izy);
            const q1 = i32x4.sub(roundClamp(f32x4.add(f32x4.div(f32x4.div(s1, vc), vsy), vzy), vlo, vhi), izy);
            v128.store(yp + (<usize>ch << 1), i16x8.narrow_i32x4_s(q0, q1));
          }
        }
        for (; ch < c; ch++) {
          let s: f32 = 0;
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xb + <usize>(iy0 + ky) * rowBytes + (<usize>ch << 1);
            for (let kx = kx0; kx < kx1; kx++) s += <f32>load<i16>(row + <usize>(ix0 + kx) * pixBytes) * sx;
          }
          const r = min<f32>(max<f32>(nearest<f32>(s / count / sy + fzy), lo), hi);
          store<i16>(yp + (<usize>ch << 1), <i16>(<i32>r - zy));
        }
      }
    }
  }
}

// globalpool_q16: per image and channel, over its hw pixels: the max (isMax 1; the output keeps
// x's quantization), or QLinearGlobalAveragePool as onnxruntime computes it: the exact i32 sum S
// of the centred values, then clamp(roundHalfEven(f32(S) * scale), qmin - zy, qmax - zy), where
// the host passes scale = sx / (sy * hw) rounded as onnxruntime rounds it. i32 sums are exact, so
// the SIMD and scalar builds agree to the bit.
export function globalpool_q16(
  batch: i32, hw: i32, c: i32,
  x: usize, y: usize,
  isMax: i32, scale: f32, zy: i32, ySigned: i32,
): void {
  const lo: f32 = <f32>((ySigned != 0 ? <i32>-128 : <i32>0) - zy);
  const hi: f32 = <f32>((ySigned != 0 ? <i32>127 : <i32>255) - zy);
  const pixBytes = <usize>c << 1;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * hw) * pixBytes;
    const yb = y + <usize>b * pixBytes;
    let ch = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(scale);
      const vlo = f32x4.splat(lo);
      const vhi = f32x4.splat(hi);
      for (; ch + 8 <= c; ch += 8) {
        const xc = xb + (<usize>ch << 1);
        if (isMax != 0) {
          let m = i16x8.splat(-32768);
          for (let p = 0; p < hw; p++) m = i16x8.max_s(m, v128.load(xc + <usize>p * pixBytes));
          v128.store(yb + (<usize>ch << 1), m);
          continue;
        }
        let s0 = i32x4.splat(0);
        let s1 = s0;
        for (let p = 0; p < hw; p++) {
          const v = v128.load(xc + <usize>p * pixBytes);
          s0 = i32x4.add(s0, i32x4.extend_low_i16x8_s(v));
          s1 = i32x4.add(s1, i32x4.extend_high_i16x8_s(v));
        }
        const q0 = roundClamp(f32x4.mul(f32x4.convert_i32x4_s(s0), vs), vlo, vhi);
        const q1 = roundClamp(f32x4.mul(f32x4.convert_i32x4_s(s1), vs), vlo, vhi);
        v128.store(yb + (<usize>ch << 1), i16x8.narrow_i32x4_s(q0, q1));
      }
    }
    for (; ch < c; ch++) {
      const xc = xb + (<usize>ch << 1);
      if (isMax != 0) {
        let m: i32 = -32768;
        for (let p = 0; p < hw; p++) m = max(m, <i32>load<i16>(xc + <usize>p * pixBytes));
        store<i16>(yb + (<usize>ch << 1), <i16>m);
        continue;
      }
      let s = 0;
      for (let p = 0; p < hw; p++) s += <i32>load<i16>(xc + <usize>p * pixBytes);
      store<i16>(yb + (<usize>ch << 1), <i16><i32>min<f32>(max<f32>(nearest<f32>(<f32>s * scale), lo), hi));
    }
  }
}
