// Resizing NHWC images over H and W from tables the host computes once per shape (the ONNX
// coordinate transformation, rounding and weights live in src/ops/resize.ts), so the kernels only
// gather and blend, vectorised over channels. Both kernels work on global output rows
// g0 <= g < g1 of the batch (g = image * oh + output row), so threads split the output by rows.
//
// Table entries hold byte offsets: a row entry the offset of an input row inside its image
// (iy * w * c * 4), a column entry the offset of an input pixel inside its row (ix * c * 4).
// A negative first offset marks an output row or column outside the input (tf_crop_and_resize's
// extrapolation): its pixels get `fill`.

import { copyRow } from "./row";

@inline function fillRun(p: usize, n: i32, value: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const v = f32x4.splat(value);
    for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), v);
  }
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), value);
}

// resize_nearest_f32: x is batch x h x w x c, y is batch x oh x ow x c; rows holds oh i32 row
// offsets, cols ow i32 pixel offsets (bytes, as above). y[b, oy, ox, :] = x[b, rows[oy] + cols[ox]].
// An output row whose input row is the previous one's (within this call's range, so never a row
// another thread writes) is a copy of that output row.
export function resize_nearest_f32(
  x: usize, h: i32, w: i32, c: i32, oh: i32, ow: i32, rows: usize, cols: usize, fill: f32, g0: i32, g1: i32, y: usize,
): void {
  const imageBytes = <usize>(h * w * c) << 2;
  const rowOut = <usize>(ow * c) << 2;
  for (let g = g0; g < g1; g++) {
    const b = g / oh;
    const oy = g - b * oh;
    const yr = y + <usize>g * rowOut;
    const ro = load<i32>(rows + (<usize>oy << 2));
    if (ro < 0) {
      fillRun(yr, ow * c, fill);
      continue;
    }
    if (g > g0 && oy > 0 && load<i32>(rows + (<usize>(oy - 1) << 2)) == ro) {
      memory.copy(yr, yr - rowOut, rowOut);
      continue;
    }
    const xr = x + <usize>b * imageBytes + <usize>ro;
    if (c == 1) {
      for (let ox = 0; ox < ow; ox++) {
        const co = load<i32>(cols + (<usize>ox << 2));
        store<u32>(yr + (<usize>ox << 2), co < 0 ? reinterpret<u32>(fill) : load<u32>(xr + <usize>co));
      }
      continue;
    }
    for (let ox = 0; ox < ow; ox++) {
      const co = load<i32>(cols + (<usize>ox << 2));
      const yp = yr + (<usize>(ox * c) << 2);
      if (co < 0) fillRun(yp, c, fill);
      else copyRow(xr + <usize>co, yp, c);
    }
  }
}

// resize_taps_f32: the same layout, each output a separable blend of taps x taps input pixels.
// A row entry (2 * taps words) is taps i32 row offsets then taps f32 weights; a column entry the
// same for pixels. With row taps (r_i, u_i) and column taps (c_j, v_j):
//   y = sum_i u_i * (sum_j v_j * x[r_i + c_j])
// each sum taken in tap order starting from its first product, in f32 with separate multiply and
// add, so both builds agree to the bit. taps = 2 is linear, 4 cubic.
export function resize_taps_f32(
  x: usize, h: i32, w: i32, c: i32, oh: i32, ow: i32, taps: i32, rows: usize, cols: usize, fill: f32, g0: i32, g1: i32, y: usize,
): void {
  const imageBytes = <usize>(h * w * c) << 2;
  const rowOut = <usize>(ow * c) << 2;
  const entry = <usize>taps << 3;
  const wOff = <usize>taps << 2;
  for (let g = g0; g < g1; g++) {
    const b = g / oh;
    const oy = g - b * oh;
    const yr = y + <usize>g * rowOut;
    const re = rows + <usize>oy * entry;
    if (load<i32>(re) < 0) {
      fillRun(yr, ow * c, fill);
      continue;
    }
    const xb = x + <usize>b * imageBytes;
    if (taps == 2) {
      const p0 = xb + <usize>load<i32>(re);
      const p1 = xb + <usize>load<i32>(re, 4);
      const u0 = load<f32>(re, 8);
      const u1 = load<f32>(re, 12);
      for (let ox = 0; ox < ow; ox++) {
        const ce = cols + <usize>ox * 16;
        const yp = yr + (<usize>(ox * c) << 2);
        const c0 = load<i32>(ce);
        if (c0 < 0) {
          fillRun(yp, c, fill);
          continue;
        }
        const a0 = p0 + <usize>c0;
        const a1 = p0 + <usize>load<i32>(ce, 4);
        const b0 = p1 + <usize>c0;
        const b1 = p1 + <usize>load<i32>(ce, 4);
        const v0 = load<f32>(ce, 8);
        const v1 = load<f32>(ce, 12);
        let k = 0;
        if (ASC_FEATURE_SIMD) {
          const U0 = f32x4.splat(u0), U1 = f32x4.splat(u1), V0 = f32x4.splat(v0), V1 = f32x4.splat(v1);
          for (; k + 4 <= c; k += 4) {
            const o = <usize>k << 2;
            const s0 = f32x4.add(f32x4.mul(V0, v128.load(a0 + o)), f32x4.mul(V1, v128.load(a1 + o)));
            const s1 = f32x4.add(f32x4.mul(V0, v128.load(b0 + o)), f32x4.mul(V1, v128.load(b1 + o)));
            v128.store(yp + o, f32x4.add(f32x4.mul(U0, s0), f32x4.mul(U1, s1)));
          }
        }
        for (; k < c; k++) {
          const o = <usize>k << 2;
          const s0 = v0 * load<f32>(a0 + o) + v1 * load<f32>(a1 + o);
          const s1 = v0 * load<f32>(b0 + o) + v1 * load<f32>(b1 + o);
          store<f32>(yp + o, u0 * s0 + u1 * s1);
        }
      }
      continue;
    }
    for (let ox = 0; ox < ow; ox++) {
      const ce = cols + <usize>ox * entry;
      const yp = yr + (<usize>(ox * c) << 2);
      if (load<i32>(ce) < 0) {
        fillRun(yp, c, fill);
        continue;
      }
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        for (; k + 4 <= c; k += 4) {
          const o = <usize>k << 2;
          let acc = f32x4.splat(0);
          for (let i = 0; i < taps; i++) {
            const p = xb + <usize>load<i32>(re + (<usize>i << 2)) + o;
            let s = f32x4.mul(v128.load32_splat(ce + wOff), v128.load(p + <usize>load<i32>(ce)));
            for (let j = 1; j < taps; j++) {
              const cj = ce + (<usize>j << 2);
              s = f32x4.add(s, f32x4.mul(v128.load32_splat(cj + wOff), v128.load(p + <usize>load<i32>(cj))));
            }
            const t = f32x4.mul(v128.load32_splat(re + wOff + (<usize>i << 2)), s);
            acc = i == 0 ? t : f32x4.add(acc, t);
          }
          v128.store(yp + o, acc);
        }
      }
      for (; k < c; k++) {
        const o = <usize>k << 2;
        let acc: f32 = 0;
        for (let i = 0; i < taps; i++) {
          const p = xb + <usize>load<i32>(re + (<usize>i << 2)) + o;
          let s = load<f32>(ce + wOff) * load<f32>(p + <usize>load<i32>(ce));
          for (let j = 1; j < taps; j++) {
            const cj = ce + (<usize>j << 2);
            s = s + load<f32>(cj + wOff) * load<f32>(p + <usize>load<i32>(cj));
          }
          const t = load<f32>(re + wOff + (<usize>i << 2)) * s;
          acc = i == 0 ? t : acc + t;
        }
        store<f32>(yp + o, acc);
      }
    }
  }
}
