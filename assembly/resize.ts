// Resizing NHWC images over H and W from tables the host computes once per shape (the ONNX
// coordinate transformation, rounding and weights live in src/ops/resize.ts), so the kernels only
// gather and blend, vectorised over channels. Both kernels work on global output rows
// g0 <= g < g1 of the batch (g = image * oh + output row), so threads split the output by rows.
//
// Column entries hold byte offsets of input pixels inside their row (ix * c * 4); row entries the
// offset of an input row inside its image (iy * w * c * 4) for nearest, its index iy for the
// blends. A negative first value marks an output row or column outside the input
// (tf_crop_and_resize's extrapolation): its pixels get `fill`.

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
  h: i32, w: i32, c: i32, oh: i32, ow: i32, g0: i32, g1: i32,
  x: usize, rows: usize, cols: usize, y: usize, fill: f32,
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
// A row entry (2 * taps words) is taps i32 input row indices then taps f32 weights; a column
// entry taps i32 pixel offsets (bytes, as above) then taps f32 weights. With row taps (r_i, u_i)
// and column taps (c_j, v_j):
//   y = sum_i u_i * H_i,  H_i = sum_j v_j * x[r_i, c_j]
// each sum taken in tap order starting from its first product, in f32 with separate multiply and
// add, so both builds agree to the bit. taps is 2 (linear) or 4 (cubic).
//
// Linear with 4 or more channels blends each output pixel from its 4 input pixels directly, a
// vector of channels at a time. Otherwise (one to three channels, or cubic's 16 taps) H_i is a
// whole output row's worth (ow * c floats) of input row r_i blended horizontally; it is kept in
// `scratch` (this call's own: 16 + taps * ow * c * 4 bytes) in slot r_i % taps, so the output
// rows that read an input row blend it once, and the vertical blend runs over contiguous rows a
// vector at a time whatever the channel count. An input row's taps are consecutive rows (clamped
// at the edges), so the rows one output needs never share a slot. Both ways add the same terms
// in the same order.
export function resize_taps_f32(
  h: i32, w: i32, c: i32, oh: i32, ow: i32, taps: i32, g0: i32, g1: i32,
  x: usize, rows: usize, cols: usize, scratch: usize, y: usize, fill: f32,
): void {
  const rowIn = <usize>(w * c) << 2;
  const n = ow * c;
  const rowOut = <usize>n << 2;
  const entry = <usize>taps << 3;
  if (taps == 2 && c >= 4) {
    linearDirect(x, h, w, c, oh, ow, rows, cols, fill, g0, g1, y);
    return;
  }
  const slots = scratch + 16;
  for (let s = 0; s < taps; s++) store<i32>(scratch + (<usize>s << 2), -1);
  for (let g = g0; g < g1; g++) {
    const b = g / oh;
    const oy = g - b * oh;
    const yr = y + <usize>g * rowOut;
    const re = rows + <usize>oy * entry;
    if (load<i32>(re) < 0) {
      fillRun(yr, n, fill);
      continue;
    }
    for (let i = 0; i < taps; i++) {
      const iy = load<i32>(re + (<usize>i << 2));
      const slot = iy % taps;
      const tag = b * h + iy;
      if (load<i32>(scratch + (<usize>slot << 2)) == tag) continue;
      store<i32>(scratch + (<usize>slot << 2), tag);
      blendRow(x + <usize>tag * rowIn, slots + <usize>slot * rowOut, c, ow, taps, cols);
    }
    const h0 = slots + <usize>(load<i32>(re) % taps) * rowOut;
    if (taps == 2) {
      const h1 = slots + <usize>(load<i32>(re, 4) % taps) * rowOut;
      const u0 = load<f32>(re, 8);
      const u1 = load<f32>(re, 12);
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        const U0 = f32x4.splat(u0), U1 = f32x4.splat(u1);
        for (; k + 4 <= n; k += 4) {
          const o = <usize>k << 2;
          v128.store(yr + o, f32x4.add(f32x4.mul(U0, v128.load(h0 + o)), f32x4.mul(U1, v128.load(h1 + o))));
        }
      }
      for (; k < n; k++) {
        const o = <usize>k << 2;
        store<f32>(yr + o, u0 * load<f32>(h0 + o) + u1 * load<f32>(h1 + o));
      }
    } else {
      const h1 = slots + <usize>(load<i32>(re, 4) % 4) * rowOut;
      const h2 = slots + <usize>(load<i32>(re, 8) % 4) * rowOut;
      const h3 = slots + <usize>(load<i32>(re, 12) % 4) * rowOut;
      const u0 = load<f32>(re, 16), u1 = load<f32>(re, 20), u2 = load<f32>(re, 24), u3 = load<f32>(re, 28);
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        const U0 = f32x4.splat(u0), U1 = f32x4.splat(u1), U2 = f32x4.splat(u2), U3 = f32x4.splat(u3);
        for (; k + 4 <= n; k += 4) {
          const o = <usize>k << 2;
          let acc = f32x4.add(f32x4.mul(U0, v128.load(h0 + o)), f32x4.mul(U1, v128.load(h1 + o)));
          acc = f32x4.add(acc, f32x4.mul(U2, v128.load(h2 + o)));
          v128.store(yr + o, f32x4.add(acc, f32x4.mul(U3, v128.load(h3 + o))));
        }
      }
      for (; k < n; k++) {
        const o = <usize>k << 2;
        const acc = u0 * load<f32>(h0 + o) + u1 * load<f32>(h1 + o) + u2 * load<f32>(h2 + o);
        store<f32>(yr + o, acc + u3 * load<f32>(h3 + o));
      }
    }
    // Columns outside the input (tf_crop_and_resize) take the fill value, not a blend of it.
    for (let ox = 0; ox < ow; ox++) {
      if (load<i32>(cols + <usize>ox * entry) < 0) fillRun(yr + (<usize>(ox * c) << 2), c, fill);
    }
  }
}

// One input row p blended horizontally into out (ow pixels of c floats): out[ox] = sum_j v_j p[c_j].
@inline function blendRow(p: usize, out: usize, c: i32, ow: i32, taps: i32, cols: usize): void {
  if (taps == 2 && c == 1) {
    for (let ox = 0; ox < ow; ox++) {
      const ce = cols + <usize>ox * 16;
      const c0 = load<i32>(ce);
      if (c0 < 0) continue;
      store<f32>(out + (<usize>ox << 2), load<f32>(ce, 8) * load<f32>(p + <usize>c0) + load<f32>(ce, 12) * load<f32>(p + <usize>load<i32>(ce, 4)));
    }
    return;
  }
  if (taps == 2) {
    for (let ox = 0; ox < ow; ox++) {
      const ce = cols + <usize>ox * 16;
      const c0 = load<i32>(ce);
      if (c0 < 0) continue;
      const a0 = p + <usize>c0, a1 = p + <usize>load<i32>(ce, 4);
      const v0 = load<f32>(ce, 8), v1 = load<f32>(ce, 12);
      const yp = out + (<usize>(ox * c) << 2);
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        const V0 = f32x4.splat(v0), V1 = f32x4.splat(v1);
        for (; k + 4 <= c; k += 4) {
          const o = <usize>k << 2;
          v128.store(yp + o, f32x4.add(f32x4.mul(V0, v128.load(a0 + o)), f32x4.mul(V1, v128.load(a1 + o))));
        }
      }
      for (; k < c; k++) {
        const o = <usize>k << 2;
        store<f32>(yp + o, v0 * load<f32>(a0 + o) + v1 * load<f32>(a1 + o));
      }
    }
    return;
  }
  for (let ox = 0; ox < ow; ox++) {
    const ce = cols + <usize>ox * 32;
    const c0 = load<i32>(ce);
    if (c0 < 0) continue;
    const a0 = p + <usize>c0, a1 = p + <usize>load<i32>(ce, 4), a2 = p + <usize>load<i32>(ce, 8), a3 = p + <usize>load<i32>(ce, 12);
    const v0 = load<f32>(ce, 16), v1 = load<f32>(ce, 20), v2 = load<f32>(ce, 24), v3 = load<f32>(ce, 28);
    const yp = out + (<usize>(ox * c) << 2);
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      const V0 = f32x4.splat(v0), V1 = f32x4.splat(v1), V2 = f32x4.splat(v2), V3 = f32x4.splat(v3);
      for (; k + 4 <= c; k += 4) {
        const o = <usize>k << 2;
        let acc = f32x4.add(f32x4.mul(V0, v128.load(a0 + o)), f32x4.mul(V1, v128.load(a1 + o)));
        acc = f32x4.add(acc, f32x4.mul(V2, v128.load(a2 + o)));
        v128.store(yp + o, f32x4.add(acc, f32x4.mul(V3, v128.load(a3 + o))));
      }
    }
    for (; k < c; k++) {
      const o = <usize>k << 2;
      const acc = v0 * load<f32>(a0 + o) + v1 * load<f32>(a1 + o) + v2 * load<f32>(a2 + o);
      store<f32>(yp + o, acc + v3 * load<f32>(a3 + o));
    }
  }
}

// Linear, c >= 4: y = u0 * (v0 * a + v1 * b) + u1 * (v0 * c + v1 * d) per pixel, from the input.
@inline function linearDirect(
  x: usize, h: i32, w: i32, c: i32, oh: i32, ow: i32, rows: usize, cols: usize, fill: f32, g0: i32, g1: i32, y: usize,
): void {
  const rowIn = <usize>(w * c) << 2;
  const rowOut = <usize>(ow * c) << 2;
  for (let g = g0; g < g1; g++) {
    const b = g / oh;
    const oy = g - b * oh;
    const yr = y + <usize>g * rowOut;
    const re = rows + <usize>oy * 16;
    const r0 = load<i32>(re);
    if (r0 < 0) {
      fillRun(yr, ow * c, fill);
      continue;
    }
    const p0 = x + <usize>(b * h + r0) * rowIn;
    const p1 = x + <usize>(b * h + load<i32>(re, 4)) * rowIn;
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
      const c1 = <usize>load<i32>(ce, 4);
      const a0 = p0 + <usize>c0;
      const a1 = p0 + c1;
      const b0 = p1 + <usize>c0;
      const b1 = p1 + c1;
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
  }
}
