// Pooling over NCHW planes (an NCHW model's input, pooled before any convolution needs NHWC), so
// no layout copy runs around it. Each plane is vectorised along its output rows, 4 output pixels
// a vector: a tap's 4 inputs are one load at stride 1, two loads and a shuffle of the even floats
// at stride 2, four lane loads otherwise; windows of two adjacent columns at stride 2 (2x2
// pooling) take both columns from the same two loads (even and odd floats), 8 pixels at a time.
// A row's last inside pixels are one more quad overlapping the one before.
// Each stride has its own inlined copy of the loops: with the stride a variable, the branch per
// tap made 2x2 pooling 3x slower than the NHWC kernel. Output pixels whose window crosses the left or right
// edge, and the rows' remainders, run one at a time (the scalar build runs every pixel so).
// Taps are visited in the NHWC kernels' order (rows, then columns) with the same operations, so
// both builds and both layouts give the same bits.
import { pmaxScalar, tapHi, tapLo } from "./pool";

// The 4 inputs of 4 consecutive output pixels at one tap, the first at p.
@inline export function quad(p: usize, sw: i32): v128 {
  if (sw == 1) return v128.load(p);
  if (sw == 2) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  const s = <usize>sw << 2;
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + s));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * s));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * s));
}

// Output pixels [first, end) of a row whose windows lie inside the row: the vector loops' range.
// A quad at stride 2 reads one float past its last tap, which must be in the row too, unless the
// window's two columns are read together (pair), whose last float is a tap.
@inline export function innerFirst(sw: i32, pl: i32): i32 {
  return (pl + sw - 1) / sw;
}
@inline export function innerEnd(w: i32, ow: i32, kw: i32, sw: i32, dw: i32, pl: i32, pair: bool): i32 {
  const room = w - 1 - (sw == 2 && !pair ? 1 : 0) + pl - (kw - 1) * dw;
  return room < 0 ? 0 : min(ow, room / sw + 1);
}

// maxpool2d_f32_nchw: x is [planes, h, w], y [planes, oh, ow]; y = max over in-image taps, -inf
// when the window holds none.
export function maxpool2d_f32_nchw(
  planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32,
  x: usize, y: usize,
): void {
  if (ASC_FEATURE_SIMD && sw == 2 && kw == 2 && dw == 1) maxPlanes(planes, h, w, oh, ow, kh, 2, sh, 2, dh, 1, pt, pl, x, y, true);
  else if (ASC_FEATURE_SIMD && sw == 1) maxPlanes(planes, h, w, oh, ow, kh, kw, sh, 1, dh, dw, pt, pl, x, y, false);
  else if (ASC_FEATURE_SIMD && sw == 2) maxPlanes(planes, h, w, oh, ow, kh, kw, sh, 2, dh, dw, pt, pl, x, y, false);
  else maxPlanes(planes, h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, x, y, false);
}

@inline function maxPlanes(
  planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32,
  x: usize, y: usize, pair: bool,
): void {
  const rowBytes = <usize>w << 2;
  const first = innerFirst(sw, pl);
  const end = innerEnd(w, ow, kw, sw, dw, pl, pair);
  for (let p = 0; p < planes; p++) {
    const xp = x + <usize>(p * h) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapLo(oy, sh, dh, pt);
      const ky1 = tapHi(oy, sh, dh, pt, h, kh);
      const iy0 = oy * sh - pt;
      const yr = y + (<usize>((p * oh + oy) * ow) << 2);
      let ox = 0;
      if (ASC_FEATURE_SIMD) {
        for (; ox < min(first, ow); ox++) maxPixel(xp, rowBytes, ky0, ky1, iy0, dh, ox, sw, dw, pl, w, kw, yr);
        if (pair) {
          for (; ox + 8 <= end; ox += 8) {
            let m0 = f32x4.splat(-Infinity);
            let m1 = m0;
            for (let ky = ky0; ky < ky1; ky++) {
              const r = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(2 * ox - pl) << 2);
              const a = v128.load(r), b = v128.load(r, 16), c = v128.load(r, 32), d = v128.load(r, 48);
              m0 = f32x4.pmax(f32x4.pmax(m0, v128.shuffle<f32>(a, b, 0, 2, 4, 6)), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
              m1 = f32x4.pmax(f32x4.pmax(m1, v128.shuffle<f32>(c, d, 0, 2, 4, 6)), v128.shuffle<f32>(c, d, 1, 3, 5, 7));
            }
            v128.store(yr + (<usize>ox << 2), m0);
            v128.store(yr + (<usize>ox << 2), m1, 16);
          }
        }
        // 16 pixels, four independent chains, per tap step: the tap loops' overhead is shared
        // as the NHWC kernel shares it over 16 channels.
        const qb = <usize>(sw << 4);
        for (; !pair && ox + 16 <= end; ox += 16) {
          let m0 = f32x4.splat(-Infinity);
          let m1 = m0, m2 = m0, m3 = m0;
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(ox * sw - pl) << 2);
            for (let kx = 0; kx < kw; kx++) {
              const t = row + (<usize>(kx * dw) << 2);
              m0 = f32x4.pmax(m0, quad(t, sw));
              m1 = f32x4.pmax(m1, quad(t + qb, sw));
              m2 = f32x4.pmax(m2, quad(t + 2 * qb, sw));
              m3 = f32x4.pmax(m3, quad(t + 3 * qb, sw));
            }
          }
          const q = yr + (<usize>ox << 2);
          v128.store(q, m0);
          v128.store(q, m1, 16);
          v128.store(q, m2, 32);
          v128.store(q, m3, 48);
        }
        for (; ox + 4 <= end; ox += 4) maxQuad(xp, rowBytes, ky0, ky1, iy0, dh, ox, sw, dw, pl, kw, yr, pair);
        // The row's last inside pixels as one more quad that overlaps the previous one (it writes
        // their same values again) rather than one at a time.
        if (ox < end && end - 4 >= first) {
          maxQuad(xp, rowBytes, ky0, ky1, iy0, dh, end - 4, sw, dw, pl, kw, yr, pair);
          ox = end;
        }
      }
      for (; ox < ow; ox++) maxPixel(xp, rowBytes, ky0, ky1, iy0, dh, ox, sw, dw, pl, w, kw, yr);
    }
  }
}

// 4 output pixels from ox; with pair (2x2 windows at stride 2) both columns from one pair of
// loads, which read nothing past the last tap.
@inline function maxQuad(
  xp: usize, rowBytes: usize, ky0: i32, ky1: i32, iy0: i32, dh: i32, ox: i32, sw: i32, dw: i32, pl: i32, kw: i32, yr: usize, pair: bool,
): void {
  let m = f32x4.splat(-Infinity);
  for (let ky = ky0; ky < ky1; ky++) {
    const row = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(ox * sw - pl) << 2);
    if (pair) {
      const a = v128.load(row), b = v128.load(row, 16);
      m = f32x4.pmax(f32x4.pmax(m, v128.shuffle<f32>(a, b, 0, 2, 4, 6)), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
    } else {
      for (let kx = 0; kx < kw; kx++) m = f32x4.pmax(m, quad(row + (<usize>(kx * dw) << 2), sw));
    }
  }
  v128.store(yr + (<usize>ox << 2), m);
}

@inline function maxPixel(
  xp: usize, rowBytes: usize, ky0: i32, ky1: i32, iy0: i32, dh: i32, ox: i32, sw: i32, dw: i32, pl: i32, w: i32, kw: i32, yr: usize,
): void {
  const kx0 = tapLo(ox, sw, dw, pl);
  const kx1 = tapHi(ox, sw, dw, pl, w, kw);
  const ix0 = ox * sw - pl;
  let m: f32 = -Infinity;
  for (let ky = ky0; ky < ky1; ky++) {
    const row = xp + <usize>(iy0 + ky * dh) * rowBytes;
    for (let kx = kx0; kx < kx1; kx++) m = pmaxScalar(m, load<f32>(row + (<usize>(ix0 + kx * dw) << 2)));
  }
  store<f32>(yr + (<usize>ox << 2), m);
}

// avgpool2d_f32_nchw: x is [planes, h, w], y [planes, oh, ow]; y = (sum of in-image taps, in tap
// order) / count, count as avgpool2d_f32's (in-image taps, or with includePad the taps inside the
// padded extent); a window with a zero count gives 0.
export function avgpool2d_f32_nchw(
  planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, pb: i32, pr: i32,
  x: usize, y: usize, includePad: i32,
): void {
  if (ASC_FEATURE_SIMD && sw == 2 && kw == 2 && dw == 1) avgPlanes(planes, h, w, oh, ow, kh, 2, sh, 2, dh, 1, pt, pl, pb, pr, x, y, includePad, true);
  else if (ASC_FEATURE_SIMD && sw == 1) avgPlanes(planes, h, w, oh, ow, kh, kw, sh, 1, dh, dw, pt, pl, pb, pr, x, y, includePad, false);
  else if (ASC_FEATURE_SIMD && sw == 2) avgPlanes(planes, h, w, oh, ow, kh, kw, sh, 2, dh, dw, pt, pl, pb, pr, x, y, includePad, false);
  else avgPlanes(planes, h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, x, y, includePad, false);
}

@inline function avgPlanes(
  planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, pb: i32, pr: i32,
  x: usize, y: usize, includePad: i32, pair: bool,
): void {
  const rowBytes = <usize>w << 2;
  const first = innerFirst(sw, pl);
  const end = innerEnd(w, ow, kw, sw, dw, pl, pair);
  for (let p = 0; p < planes; p++) {
    const xp = x + <usize>(p * h) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapLo(oy, sh, dh, pt);
      const ky1 = tapHi(oy, sh, dh, pt, h, kh);
      const iy0 = oy * sh - pt;
      const cy = includePad ? tapHi(oy, sh, dh, 0, h + pt + pb, kh) : ky1 - ky0;
      const yr = y + (<usize>((p * oh + oy) * ow) << 2);
      let ox = 0;
      if (ASC_FEATURE_SIMD) {
        for (; ox < min(first, ow); ox++) avgPixel(xp, rowBytes, ky0, ky1, iy0, dh, cy, ox, sw, dw, pl, pr, w, kw, includePad, yr);
        // Inside the row every window has all kw columns, padded extent or not.
        const count = max(cy, 0) * kw;
        const vc = f32x4.splat(count > 0 ? <f32>count : 0);
        if (pair) {
          for (; ox + 8 <= end; ox += 8) {
            let s0 = f32x4.splat(0);
            let s1 = s0;
            for (let ky = ky0; ky < ky1; ky++) {
              const r = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(2 * ox - pl) << 2);
              const a = v128.load(r), b = v128.load(r, 16), c = v128.load(r, 32), d = v128.load(r, 48);
              s0 = f32x4.add(f32x4.add(s0, v128.shuffle<f32>(a, b, 0, 2, 4, 6)), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
              s1 = f32x4.add(f32x4.add(s1, v128.shuffle<f32>(c, d, 0, 2, 4, 6)), v128.shuffle<f32>(c, d, 1, 3, 5, 7));
            }
            v128.store(yr + (<usize>ox << 2), count > 0 ? f32x4.div(s0, vc) : s0);
            v128.store(yr + (<usize>ox << 2), count > 0 ? f32x4.div(s1, vc) : s1, 16);
          }
        }
        const qb = <usize>(sw << 4);
        for (; !pair && ox + 16 <= end; ox += 16) {
          let s0 = f32x4.splat(0);
          let s1 = s0, s2 = s0, s3 = s0;
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(ox * sw - pl) << 2);
            for (let kx = 0; kx < kw; kx++) {
              const t = row + (<usize>(kx * dw) << 2);
              s0 = f32x4.add(s0, quad(t, sw));
              s1 = f32x4.add(s1, quad(t + qb, sw));
              s2 = f32x4.add(s2, quad(t + 2 * qb, sw));
              s3 = f32x4.add(s3, quad(t + 3 * qb, sw));
            }
          }
          const q = yr + (<usize>ox << 2);
          v128.store(q, count > 0 ? f32x4.div(s0, vc) : s0);
          v128.store(q, count > 0 ? f32x4.div(s1, vc) : s1, 16);
          v128.store(q, count > 0 ? f32x4.div(s2, vc) : s2, 32);
          v128.store(q, count > 0 ? f32x4.div(s3, vc) : s3, 48);
        }
        for (; ox + 4 <= end; ox += 4) avgQuad(xp, rowBytes, ky0, ky1, iy0, dh, ox, sw, dw, pl, kw, yr, pair, count, vc);
        if (ox < end && end - 4 >= first) {
          avgQuad(xp, rowBytes, ky0, ky1, iy0, dh, end - 4, sw, dw, pl, kw, yr, pair, count, vc);
          ox = end;
        }
      }
      for (; ox < ow; ox++) avgPixel(xp, rowBytes, ky0, ky1, iy0, dh, cy, ox, sw, dw, pl, pr, w, kw, includePad, yr);
    }
  }
}
@inline function avgQuad(
  xp: usize, rowBytes: usize, ky0: i32, ky1: i32, iy0: i32, dh: i32, ox: i32, sw: i32, dw: i32, pl: i32, kw: i32, yr: usize, pair: bool,
  count: i32, vc: v128,
): void {
  let s = f32x4.splat(0);
  for (let ky = ky0; ky < ky1; ky++) {
    const row = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(ox * sw - pl) << 2);
    if (pair) {
      const a = v128.load(row), b = v128.load(row, 16);
      s = f32x4.add(f32x4.add(s, v128.shuffle<f32>(a, b, 0, 2, 4, 6)), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
    } else {
      for (let kx = 0; kx < kw; kx++) s = f32x4.add(s, quad(row + (<usize>(kx * dw) << 2), sw));
    }
  }
  v128.store(yr + (<usize>ox << 2), count > 0 ? f32x4.div(s, vc) : s);
}

@inline function avgPixel(
  xp: usize, rowBytes: usize, ky0: i32, ky1: i32, iy0: i32, dh: i32, cy: i32,
  ox: i32, sw: i32, dw: i32, pl: i32, pr: i32, w: i32, kw: i32, includePad: i32, yr: usize,
): void {
  const kx0 = tapLo(ox, sw, dw, pl);
  const kx1 = tapHi(ox, sw, dw, pl, w, kw);
  const ix0 = ox * sw - pl;
  const cx = includePad ? tapHi(ox, sw, dw, 0, w + pl + pr, kw) : kx1 - kx0;
  const count = max(cy, 0) * max(cx, 0);
  let s: f32 = 0;
  for (let ky = ky0; ky < ky1; ky++) {
    const row = xp + <usize>(iy0 + ky * dh) * rowBytes;
    for (let kx = kx0; kx < kx1; kx++) s = s + load<f32>(row + (<usize>(ix0 + kx * dw) << 2));
  }
  store<f32>(yr + (<usize>ox << 2), count > 0 ? s / <f32>count : s);
}
