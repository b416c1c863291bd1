// Pooling over NCHW planes (an NCHW model's input, pooled before any convolution needs NHWC), so
// no layout copy runs around it. Each plane is vectorised along its output rows, 4 output pixels
// a vector: a tap's 4 inputs are one load at stride 1, two loads and a shuffle of the even floats
// at stride 2, four lane loads otherwise. Output pixels whose window crosses the left or right
// edge, and the rows' remainders, run one at a time (the scalar build runs every pixel so).
// Taps are visited in the NHWC kernels' order (rows, then columns) with the same operations, so
// both builds and both layouts give the same bits.
import { pmaxScalar, tapHi, tapLo } from "./pool";

// The 4 inputs of 4 consecutive output pixels at one tap, the first at p.
@inline function quad(p: usize, sw: i32): v128 {
  if (sw == 1) return v128.load(p);
  if (sw == 2) return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  const s = <usize>sw << 2;
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + s));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * s));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * s));
}

// Output pixels [first, last) of a row whose windows lie inside the row: the vector loop's range.
// At stride 2 a quad's second load reads one float past its last tap, which must be in the row.
@inline function innerFirst(sw: i32, pl: i32): i32 {
  return (pl + sw - 1) / sw;
}
@inline function innerEnd(w: i32, ow: i32, kw: i32, sw: i32, dw: i32, pl: i32): i32 {
  const room = w - 1 - (sw == 2 ? 1 : 0) + pl - (kw - 1) * dw;
  return room < 0 ? 0 : min(ow, room / sw + 1);
}

// maxpool2d_f32_nchw: x is [planes, h, w], y [planes, oh, ow]; y = max over in-image taps, -inf
// when the window holds none.
export function maxpool2d_f32_nchw(
  planes: i32, h: i32, w: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32,
  x: usize, y: usize,
): void {
  const rowBytes = <usize>w << 2;
  const first = innerFirst(sw, pl);
  const end = innerEnd(w, ow, kw, sw, dw, pl);
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
        for (; ox + 4 <= end; ox += 4) {
          let m = f32x4.splat(-Infinity);
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(ox * sw - pl) << 2);
            for (let kx = 0; kx < kw; kx++) m = f32x4.pmax(m, quad(row + (<usize>(kx * dw) << 2), sw));
          }
          v128.store(yr + (<usize>ox << 2), m);
        }
      }
      for (; ox < ow; ox++) maxPixel(xp, rowBytes, ky0, ky1, iy0, dh, ox, sw, dw, pl, w, kw, yr);
    }
  }
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
  const rowBytes = <usize>w << 2;
  const first = innerFirst(sw, pl);
  const end = innerEnd(w, ow, kw, sw, dw, pl);
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
        for (; ox + 4 <= end; ox += 4) {
          let s = f32x4.splat(0);
          for (let ky = ky0; ky < ky1; ky++) {
            const row = xp + <usize>(iy0 + ky * dh) * rowBytes + (<usize>(ox * sw - pl) << 2);
            for (let kx = 0; kx < kw; kx++) s = f32x4.add(s, quad(row + (<usize>(kx * dw) << 2), sw));
          }
          v128.store(yr + (<usize>ox << 2), count > 0 ? f32x4.div(s, vc) : s);
        }
      }
      for (; ox < ow; ox++) avgPixel(xp, rowBytes, ky0, ky1, iy0, dh, cy, ox, sw, dw, pl, pr, w, kw, includePad, yr);
    }
  }
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
