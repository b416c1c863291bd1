// Depthwise convolution over NCHW planes (an NCHW model's input, or a value whose readers want
// planes), so no layout copy runs around it: each channel's plane is a single-channel 2-D
// convolution, vectorised along its output rows, 4 output pixels a vector. A tap's 4 inputs are
// one unaligned load at stride 1, two loads and an even-lane shuffle at stride 2, lane loads
// otherwise (stride 1 has its own copy of the loops). 3x3 windows at strides 1 and 2 have their
// own copies that hold the channel's nine weights splatted in registers; other windows load a
// tap's weight splatted.
// Rows above or below the image are read from a zero row, as the NHWC kernel reads its zero row.
// At stride 1, and for 3x3 at stride 2, the quads whose window crosses the left or right edge load
// the row's first or last 4 floats and move them into place with a swizzle that zeroes the lanes
// outside the row (one instruction, where a pixel at a time cost a quarter of the kernel's time
// on 112x112 planes); other strides run those pixels one at a time. Every output is bias + x * w over the taps in
// window order (rows, then columns), padding taps included as 0 * w: dwconv_f32's sums, so both
// layouts give the same bits in both builds.
import { ACT_CLAMP, ACT_LEAKY, ACT_NONE, activateScalar, activateVec } from "./activation";
import { innerEnd, innerFirst, quad } from "./pool_planes";

// dwconv_f32_nchw_4: x is [c, h, w], y [c, oh, ow] (the planes of one image's channels); wts per
// channel [bias][kh x kw] floats; zero holds at least w zero floats. Dilation 1.
export function dwconv_f32_nchw_4(
  c: i32, h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
  x: usize, zero: usize, wts: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  // Inlined copies: 3x3 at stride 1 holds its nine weights in registers, and per activation
  // (clamp, none, leaky) no branch on the kind per stored vector, as in dwconv_f32.
  if (ASC_FEATURE_SIMD && kh == 3 && kw == 3 && sw == 1) {
    if (act == ACT_CLAMP) planes3x3(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, ACT_CLAMP, p0, p1);
    else if (act == ACT_NONE) planes3x3(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, ACT_NONE, p0, p1);
    else if (act == ACT_LEAKY) planes3x3(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, ACT_LEAKY, p0, p1);
    else planes3x3(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, act, p0, p1);
  } else if (ASC_FEATURE_SIMD && kh == 3 && kw == 3 && sw == 2) {
    if (act == ACT_CLAMP) planes3x3s2(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, ACT_CLAMP, p0, p1);
    else if (act == ACT_NONE) planes3x3s2(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, ACT_NONE, p0, p1);
    else if (act == ACT_LEAKY) planes3x3s2(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, ACT_LEAKY, p0, p1);
    else planes3x3s2(c, h, w, oh, ow, sh, pt, pl, x, zero, wts, y, act, p0, p1);
  } else if (ASC_FEATURE_SIMD && sw == 1) planes(c, h, w, oh, ow, kh, kw, sh, 1, pt, pl, x, zero, wts, y, act, p0, p1);
  else planes(c, h, w, oh, ow, kh, kw, sh, sw, pt, pl, x, zero, wts, y, act, p0, p1);
}

// The input row iy of a plane, or the zero row outside the image.
@inline function rowAt(xp: usize, zero: usize, iy: i32, h: i32, rowBytes: usize): usize {
  return iy >= 0 && iy < h ? xp + <usize>iy * rowBytes : zero;
}

@inline function planes3x3(
  c: i32, h: i32, w: i32, oh: i32, ow: i32, sh: i32, pt: i32, pl: i32,
  x: usize, zero: usize, wts: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  const rowBytes = <usize>w << 2;
  const first = innerFirst(1, pl);
  const end = innerEnd(w, ow, 3, 1, 1, pl, false);
  for (let p = 0; p < c; p++) {
    const xp = x + <usize>(p * h) * rowBytes;
    const wp = wts + <usize>(p * 10) * 4;
    const vb = v128.load32_splat(wp);
    const w00 = v128.load32_splat(wp, 4), w01 = v128.load32_splat(wp, 8), w02 = v128.load32_splat(wp, 12);
    const w10 = v128.load32_splat(wp, 16), w11 = v128.load32_splat(wp, 20), w12 = v128.load32_splat(wp, 24);
    const w20 = v128.load32_splat(wp, 28), w21 = v128.load32_splat(wp, 32), w22 = v128.load32_splat(wp, 36);
    for (let oy = 0; oy < oh; oy++) {
      const iy = oy * sh - pt;
      const r0 = rowAt(xp, zero, iy, h, rowBytes);
      const r1 = rowAt(xp, zero, iy + 1, h, rowBytes);
      const r2 = rowAt(xp, zero, iy + 2, h, rowBytes);
      const yr = y + (<usize>((p * oh + oy) * ow) << 2);
      let ox = 0;
      if (w < 4 || ow < 4) {
        for (; ox < ow; ox++) pixel(xp, zero, h, w, rowBytes, iy, ox, 3, 3, 1, pl, wp, yr, act, p0, p1);
        continue;
      }
      for (; ox < min(first, ow); ox += 4) {
        const at = min(ox, ow - 4);
        edge3x3(r0, r1, r2, w, at - pl, vb, w00, w01, w02, w10, w11, w12, w20, w21, w22, yr + (<usize>at << 2), act, p0, p1);
      }
      ox = max(ox, first);
      // 8 pixels in two chains per step: with the nine weights, the bias and a loaded vector
      // that is what the 15 vector registers V8 gives wasm hold without spilling.
      for (; ox + 8 <= end; ox += 8) {
        const o = <usize>(ox - pl) << 2;
        const a = r0 + o, b = r1 + o, d = r2 + o;
        let s0 = f32x4.add(vb, f32x4.mul(v128.load(a), w00));
        let s1 = f32x4.add(vb, f32x4.mul(v128.load(a, 16), w00));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(a, 4), w01));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(a, 20), w01));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(a, 8), w02));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(a, 24), w02));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(b), w10));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(b, 16), w10));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(b, 4), w11));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(b, 20), w11));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(b, 8), w12));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(b, 24), w12));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(d), w20));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(d, 16), w20));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(d, 4), w21));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(d, 20), w21));
        s0 = f32x4.add(s0, f32x4.mul(v128.load(d, 8), w22));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(d, 24), w22));
        const q = yr + (<usize>ox << 2);
        v128.store(q, activateVec(s0, act, p0, p1));
        v128.store(q, activateVec(s1, act, p0, p1), 16);
      }
      // The row's last inside pixels as one quad, overlapping the previous one where fewer than 4
      // are left (it writes their same values again).
      while (ox < end && end - 4 >= first) {
        const at = min(ox, end - 4);
        const o = <usize>(at - pl) << 2;
        const a = r0 + o, b = r1 + o, d = r2 + o;
        let s = f32x4.add(vb, f32x4.mul(v128.load(a), w00));
        s = f32x4.add(s, f32x4.mul(v128.load(a, 4), w01));
        s = f32x4.add(s, f32x4.mul(v128.load(a, 8), w02));
        s = f32x4.add(s, f32x4.mul(v128.load(b), w10));
        s = f32x4.add(s, f32x4.mul(v128.load(b, 4), w11));
        s = f32x4.add(s, f32x4.mul(v128.load(b, 8), w12));
        s = f32x4.add(s, f32x4.mul(v128.load(d), w20));
        s = f32x4.add(s, f32x4.mul(v128.load(d, 4), w21));
        s = f32x4.add(s, f32x4.mul(v128.load(d, 8), w22));
        v128.store(yr + (<usize>at << 2), activateVec(s, act, p0, p1));
        ox = at + 4;
      }
      for (; ox < ow; ox += 4) {
        const at = min(ox, ow - 4);
        edge3x3(r0, r1, r2, w, at - pl, vb, w00, w01, w02, w10, w11, w12, w20, w21, w22, yr + (<usize>at << 2), act, p0, p1);
      }
    }
  }
}

// 3x3 at stride 2: a row's taps for 4 outputs from three loads, columns c..c+3, c+4..c+7 and
// c+5..c+8: the even floats, the odd ones, and the even ones from the third on (the last tap read
// is the last float loaded, so a quad needs no room past its window).
@inline function planes3x3s2(
  c: i32, h: i32, w: i32, oh: i32, ow: i32, sh: i32, pt: i32, pl: i32,
  x: usize, zero: usize, wts: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  const rowBytes = <usize>w << 2;
  const first = innerFirst(2, pl);
  const end = innerEnd(w, ow, 3, 2, 1, pl, true);
  for (let p = 0; p < c; p++) {
    const xp = x + <usize>(p * h) * rowBytes;
    const wp = wts + <usize>(p * 10) * 4;
    const vb = v128.load32_splat(wp);
    const w00 = v128.load32_splat(wp, 4), w01 = v128.load32_splat(wp, 8), w02 = v128.load32_splat(wp, 12);
    const w10 = v128.load32_splat(wp, 16), w11 = v128.load32_splat(wp, 20), w12 = v128.load32_splat(wp, 24);
    const w20 = v128.load32_splat(wp, 28), w21 = v128.load32_splat(wp, 32), w22 = v128.load32_splat(wp, 36);
    for (let oy = 0; oy < oh; oy++) {
      const iy = oy * sh - pt;
      const r0 = rowAt(xp, zero, iy, h, rowBytes);
      const r1 = rowAt(xp, zero, iy + 1, h, rowBytes);
      const r2 = rowAt(xp, zero, iy + 2, h, rowBytes);
      const yr = y + (<usize>((p * oh + oy) * ow) << 2);
      let ox = 0;
      if (w < 4 || ow < 4) {
        for (; ox < ow; ox++) pixel(xp, zero, h, w, rowBytes, iy, ox, 3, 3, 2, pl, wp, yr, act, p0, p1);
        continue;
      }
      for (; ox < min(first, ow); ox += 4) {
        const at = min(ox, ow - 4);
        edge3x3s2(r0, r1, r2, w, 2 * at - pl, vb, w00, w01, w02, w10, w11, w12, w20, w21, w22, yr + (<usize>at << 2), act, p0, p1);
      }
      ox = max(ox, first);
      while (ox < end && end - 4 >= first) {
        const at = min(ox, end - 4);
        const o = <usize>(2 * at - pl) << 2;
        let s = vb;
        let a = v128.load(r0 + o), b = v128.load(r0 + o, 16), e = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        s = f32x4.add(s, f32x4.mul(e, w00));
        s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(a, b, 1, 3, 5, 7), w01));
        s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(e, v128.load(r0 + o, 20), 1, 2, 3, 7), w02));
        a = v128.load(r1 + o);
        b = v128.load(r1 + o, 16);
        e = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        s = f32x4.add(s, f32x4.mul(e, w10));
        s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(a, b, 1, 3, 5, 7), w11));
        s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(e, v128.load(r1 + o, 20), 1, 2, 3, 7), w12));
        a = v128.load(r2 + o);
        b = v128.load(r2 + o, 16);
        e = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        s = f32x4.add(s, f32x4.mul(e, w20));
        s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(a, b, 1, 3, 5, 7), w21));
        s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(e, v128.load(r2 + o, 20), 1, 2, 3, 7), w22));
        v128.store(yr + (<usize>at << 2), activateVec(s, act, p0, p1));
        ox = at + 4;
      }
      for (; ox < ow; ox += 4) {
        const at = min(ox, ow - 4);
        edge3x3s2(r0, r1, r2, w, 2 * at - pl, vb, w00, w01, w02, w10, w11, w12, w20, w21, w22, yr + (<usize>at << 2), act, p0, p1);
      }
    }
  }
}

@inline function planes(
  c: i32, h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
  x: usize, zero: usize, wts: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  const rowBytes = <usize>w << 2;
  const ks = kh * kw;
  const first = innerFirst(sw, pl);
  const end = innerEnd(w, ow, kw, sw, 1, pl, false);
  const qb = <usize>(sw << 4);
  for (let p = 0; p < c; p++) {
    const xp = x + <usize>(p * h) * rowBytes;
    const wp = wts + <usize>(p * (ks + 1)) * 4;
    for (let oy = 0; oy < oh; oy++) {
      const iy = oy * sh - pt;
      const yr = y + (<usize>((p * oh + oy) * ow) << 2);
      let ox = 0;
      const edges = ASC_FEATURE_SIMD && sw == 1 && w >= 4 && ow >= 4;
      if (ASC_FEATURE_SIMD) {
        if (edges) {
          for (; ox < min(first, ow); ox += 4) edgeQuad(xp, zero, h, w, rowBytes, iy, min(ox, ow - 4), kh, kw, pl, wp, yr, act, p0, p1);
          ox = max(ox, first);
        }
        for (; ox < min(first, ow); ox++) pixel(xp, zero, h, w, rowBytes, iy, ox, kh, kw, sw, pl, wp, yr, act, p0, p1);
        // 16 pixels in four chains per tap step.
        for (; ox + 16 <= end; ox += 16) {
          let s0 = v128.load32_splat(wp);
          let s1 = s0, s2 = s0, s3 = s0;
          let wt = wp;
          for (let ky = 0; ky < kh; ky++) {
            const row = rowAt(xp, zero, iy + ky, h, rowBytes) + (<usize>(ox * sw - pl) << 2);
            for (let kx = 0; kx < kw; kx++) {
              wt += 4;
              const wv = v128.load32_splat(wt);
              const t = row + (<usize>kx << 2);
              s0 = f32x4.add(s0, f32x4.mul(quad(t, sw), wv));
              s1 = f32x4.add(s1, f32x4.mul(quad(t + qb, sw), wv));
              s2 = f32x4.add(s2, f32x4.mul(quad(t + 2 * qb, sw), wv));
              s3 = f32x4.add(s3, f32x4.mul(quad(t + 3 * qb, sw), wv));
            }
          }
          const q = yr + (<usize>ox << 2);
          v128.store(q, activateVec(s0, act, p0, p1));
          v128.store(q, activateVec(s1, act, p0, p1), 16);
          v128.store(q, activateVec(s2, act, p0, p1), 32);
          v128.store(q, activateVec(s3, act, p0, p1), 48);
        }
        while (ox < end && end - 4 >= first) {
          const at = min(ox, end - 4);
          let s = v128.load32_splat(wp);
          let wt = wp;
          for (let ky = 0; ky < kh; ky++) {
            const row = rowAt(xp, zero, iy + ky, h, rowBytes) + (<usize>(at * sw - pl) << 2);
            for (let kx = 0; kx < kw; kx++) {
              wt += 4;
              s = f32x4.add(s, f32x4.mul(quad(row + (<usize>kx << 2), sw), v128.load32_splat(wt)));
            }
          }
          v128.store(yr + (<usize>at << 2), activateVec(s, act, p0, p1));
          ox = at + 4;
        }
        if (edges) for (; ox < ow; ox += 4) edgeQuad(xp, zero, h, w, rowBytes, iy, min(ox, ow - 4), kh, kw, pl, wp, yr, act, p0, p1);
      }
      for (; ox < ow; ox++) pixel(xp, zero, h, w, rowBytes, iy, ox, kh, kw, sw, pl, wp, yr, act, p0, p1);
    }
  }
}

// A 3x3 window's 4 outputs whose first tap column col0 lies near an edge, from edgeTap.
@inline function edge3x3(
  r0: usize, r1: usize, r2: usize, w: i32, col0: i32, vb: v128,
  w00: v128, w01: v128, w02: v128, w10: v128, w11: v128, w12: v128, w20: v128, w21: v128, w22: v128,
  q: usize, act: i32, p0: f32, p1: f32,
): void {
  let s = f32x4.add(vb, f32x4.mul(edgeTap(r0, col0, w), w00));
  s = f32x4.add(s, f32x4.mul(edgeTap(r0, col0 + 1, w), w01));
  s = f32x4.add(s, f32x4.mul(edgeTap(r0, col0 + 2, w), w02));
  s = f32x4.add(s, f32x4.mul(edgeTap(r1, col0, w), w10));
  s = f32x4.add(s, f32x4.mul(edgeTap(r1, col0 + 1, w), w11));
  s = f32x4.add(s, f32x4.mul(edgeTap(r1, col0 + 2, w), w12));
  s = f32x4.add(s, f32x4.mul(edgeTap(r2, col0, w), w20));
  s = f32x4.add(s, f32x4.mul(edgeTap(r2, col0 + 1, w), w21));
  s = f32x4.add(s, f32x4.mul(edgeTap(r2, col0 + 2, w), w22));
  v128.store(q, activateVec(s, act, p0, p1));
}

// A 3x3 window's 4 outputs at stride 2 whose first tap column col0 lies near an edge: the row's
// columns col0..col0+11 as three edge taps, then the quad's three shuffles.
@inline function edge3x3s2(
  r0: usize, r1: usize, r2: usize, w: i32, col0: i32, vb: v128,
  w00: v128, w01: v128, w02: v128, w10: v128, w11: v128, w12: v128, w20: v128, w21: v128, w22: v128,
  q: usize, act: i32, p0: f32, p1: f32,
): void {
  let a = edgeTap(r0, col0, w), b = edgeTap(r0, col0 + 4, w), e = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
  let s = f32x4.add(vb, f32x4.mul(e, w00));
  s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(a, b, 1, 3, 5, 7), w01));
  s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(e, edgeTap(r0, col0 + 8, w), 1, 2, 3, 4), w02));
  a = edgeTap(r1, col0, w);
  b = edgeTap(r1, col0 + 4, w);
  e = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
  s = f32x4.add(s, f32x4.mul(e, w10));
  s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(a, b, 1, 3, 5, 7), w11));
  s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(e, edgeTap(r1, col0 + 8, w), 1, 2, 3, 4), w12));
  a = edgeTap(r2, col0, w);
  b = edgeTap(r2, col0 + 4, w);
  e = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
  s = f32x4.add(s, f32x4.mul(e, w20));
  s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(a, b, 1, 3, 5, 7), w21));
  s = f32x4.add(s, f32x4.mul(v128.shuffle<f32>(e, edgeTap(r2, col0 + 8, w), 1, 2, 3, 4), w22));
  v128.store(q, activateVec(s, act, p0, p1));
}

// Columns col..col+3 of a row of w >= 4 floats, zeros outside it: the row's first or last 4
// floats shifted by the swizzle, whose indices past the vector give zero lanes.
@inline function edgeTap(row: usize, col: i32, w: i32): v128 {
  const base = min(max(col, 0), w - 4);
  const v = v128.load(row + (<usize>base << 2));
  if (col == base) return v;
  // A shift of 4 lanes or more zeroes them all (and keeps the byte indices from wrapping).
  const shift = i8x16.splat(<i8>(min(max(col - base, -4), 4) << 2));
  return i8x16.swizzle(v, i8x16.add(i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), shift));
}

// 4 output pixels from ox at stride 1 where some taps fall outside the row (w >= 4).
@inline function edgeQuad(
  xp: usize, zero: usize, h: i32, w: i32, rowBytes: usize, iy: i32, ox: i32, kh: i32, kw: i32, pl: i32,
  wp: usize, yr: usize, act: i32, p0: f32, p1: f32,
): void {
  let s = v128.load32_splat(wp);
  let wt = wp;
  for (let ky = 0; ky < kh; ky++) {
    const row = rowAt(xp, zero, iy + ky, h, rowBytes);
    for (let kx = 0; kx < kw; kx++) {
      wt += 4;
      s = f32x4.add(s, f32x4.mul(edgeTap(row, ox - pl + kx, w), v128.load32_splat(wt)));
    }
  }
  v128.store(yr + (<usize>ox << 2), activateVec(s, act, p0, p1));
}

// One output pixel, columns outside the image read as zeros (and rows outside from the zero row).
@inline function pixel(
  xp: usize, zero: usize, h: i32, w: i32, rowBytes: usize, iy: i32, ox: i32, kh: i32, kw: i32, sw: i32, pl: i32,
  wp: usize, yr: usize, act: i32, p0: f32, p1: f32,
): void {
  const ix0 = ox * sw - pl;
  let s = load<f32>(wp);
  let wt = wp;
  for (let ky = 0; ky < kh; ky++) {
    const row = rowAt(xp, zero, iy + ky, h, rowBytes);
    for (let kx = 0; kx < kw; kx++) {
      wt += 4;
      const ix = ix0 + kx;
      const v: f32 = ix >= 0 && ix < w ? load<f32>(row + (<usize>ix << 2)) : 0;
      s = s + v * load<f32>(wt);
    }
  }
  store<f32>(yr + (<usize>ox << 2), activateScalar(s, act, p0, p1));
}
