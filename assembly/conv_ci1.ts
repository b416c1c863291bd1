import { ACT_CLAMP, ACT_LEAKY, ACT_NONE, activateScalar, activateVec } from "./activation";
import { activateRows, finishRow, finishScalar4, storePartial } from "./tile_store";

const NR: i32 = 8;

// conv2d_f32_ci1_4x8: convolution of single-channel images (greyscale slices), already padded to
// hp x wp (pad_f32), into NHWC y [batch][oh][ow][n]. Tile: 4 neighbouring output pixels of a row
// x 8 output channels (2 x 16 for pairs of whole panels at stride 1); pixel addresses follow from
// the strides, so no indirection table is read.
// w: pack_gemm_f32_8 panels with K = kh*kw. Taps are added in (ky, kx) order after the bias,
// the order igemm_f32_4x8 uses, so this path and the general one give the same bits.
export function conv2d_f32_ci1_4x8(
  batch: i32, hp: i32, wp: i32, oh: i32, ow: i32, n: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  x: usize, w: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  // With K = kh*kw taps per tile the stores weigh as much as the arithmetic: clamp, none and
  // leaky relu get copies without a branch on the kind per stored vector; every other kind is
  // applied over the output after it is stored (tile_store.ts's activateRows says why).
  if (act == ACT_CLAMP) ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, false, 0, ACT_CLAMP, p0, p1);
  else if (act == ACT_NONE) ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, false, 0, ACT_NONE, p0, p1);
  else if (act == ACT_LEAKY) ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, false, 0, ACT_LEAKY, p0, p1);
  else {
    ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, false, 0, ACT_NONE, p0, p1);
    activateRows(y, batch * oh * ow * n, act, p0, p1);
  }
}

// conv2d_f32_ci1_4x8 with an NCHW output y [batch][n][plane], the oh x ow outputs at the start of
// each channel's plane (plane >= oh*ow: a call for a band of rows writes into whole-image planes).
// The same sums in the same order, so the same bits; a transpose of the whole output after the
// convolution is spared. At stride 1, tiles of 8 pixels x 4 channels hold the planes' pixels in
// their vectors; elsewhere a tile's 4 pixels x 8 channels go through two 4x4 transposes in
// registers and out as 4 consecutive pixels per plane.
export function conv2d_f32_ci1_4x8_nchw(
  batch: i32, hp: i32, wp: i32, oh: i32, ow: i32, n: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  x: usize, w: usize, y: usize, plane: i32, act: i32, p0: f32, p1: f32,
): void {
  const pb = <usize>plane << 2;
  if (act == ACT_CLAMP) ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, true, pb, ACT_CLAMP, p0, p1);
  else if (act == ACT_NONE) ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, true, pb, ACT_NONE, p0, p1);
  else if (act == ACT_LEAKY) ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, true, pb, ACT_LEAKY, p0, p1);
  else {
    ci1Body(x, batch, hp, wp, oh, ow, n, kh, kw, sh, sw, dh, dw, w, y, true, pb, ACT_NONE, p0, p1);
    for (let p = 0; p < batch * n; p++) activateRows(y + <usize>p * pb, oh * ow, act, p0, p1);
  }
}

@inline function ci1Body(
  x: usize, batch: i32, hp: i32, wp: i32, oh: i32, ow: i32, n: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32,
  w: usize, y: usize, nchw: bool, planeBytes: usize, act: i32, p0: f32, p1: f32,
): void {
  const panels = (n + NR - 1) / NR;
  const panelBytes = <usize>(kh * kw + 1) * NR * 4;
  const rowBytes = <usize>wp << 2;
  const pixBytes = <usize>n << 2;
  const sx = <usize>sw << 2;
  const dx = <usize>dw << 2;
  const dy = <usize>dh * rowBytes;
  // Output strides: between neighbouring pixels of a row, between channels, between images.
  const pixStep: usize = nchw ? 4 : pixBytes;
  const chStep: usize = nchw ? planeBytes : 4;
  const imageBytes: usize = nchw ? <usize>n * planeBytes : <usize>(oh * ow) * pixBytes;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * hp) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const row = xb + <usize>(oy * sh) * rowBytes;
      const yRow = y + <usize>b * imageBytes + <usize>(oy * ow) * pixStep;
      // Pairs of whole panels at stride 1: tiles of 2 pixels x 16 channels, whose tap takes two
      // broadcasts and four vector loads for its 32 products where the 4x8 tile takes four and
      // two, and whose stores need no check of the panel's width (+8-10% on 1 -> 16 and 1 -> 32
      // channels here; a stride-2 copy of it made the function slower as a whole, so stride 2
      // keeps the 4x8 tile). The NCHW store has tiles of its own, below.
      const pStart = ASC_FEATURE_SIMD && sw == 1 && !nchw ? (n >> 4) << 1 : 0;
      if (pStart > 0) {
        for (let ox = 0; ox + 1 < ow; ox += 2) {
          const a = row + <usize>ox * sx;
          const yt = yRow + <usize>ox * pixBytes;
          for (let p = 0; p < pStart; p += 2) {
            const wpn = w + <usize>p * panelBytes;
            const yp = yt + (<usize>(p * NR) << 2);
            tile2x16(a, kh, kw, dy, dx, wpn, wpn + panelBytes, yp, pixBytes, act, p0, p1);
          }
        }
        if (ow & 1) {
          const q = <usize>(ow - 1) * sx;
          const yt = yRow + <usize>(ow - 1) * pixBytes;
          for (let p = 0; p < pStart; p++) {
            tileSimd(row, q, q, q, q, kh, kw, dy, dx, w + <usize>p * panelBytes, yt + (<usize>(p * NR) << 2), pixBytes, 1, NR, false, 0, act, p0, p1);
          }
        }
      }
      if (pStart == panels) continue;
      let ox = 0;
      // NCHW at stride 1: whole tiles of 8 pixels x 4 channels, already in the planes' order.
      if (ASC_FEATURE_SIMD && nchw && sw == 1) {
        const full = ow & ~7;
        for (; ox < full; ox += 8) {
          const a = row + <usize>ox * sx;
          const yt = yRow + (<usize>ox << 2);
          for (let c = 0; c < n; c += 4) {
            const wc = w + <usize>(c / NR) * panelBytes + (<usize>(c % NR) << 2);
            tilePlanes8x4(a, kh, kw, dy, dx, wc, yt + <usize>c * planeBytes, planeBytes, n - c, act, p0, p1);
          }
        }
      }
      // The other panels in whole tiles of 4 pixels at constant distances from one pointer.
      if (ASC_FEATURE_SIMD && (sw == 1 || sw == 2)) {
        const full = ow & ~3;
        const nrLast = n - (panels - 1) * NR;
        for (; ox < full; ox += 4) {
          const a = row + <usize>ox * sx;
          const yt = yRow + <usize>ox * pixStep;
          for (let p = pStart; p < panels; p++) {
            const nr = p == panels - 1 ? nrLast : NR;
            const wpn = w + <usize>p * panelBytes;
            const yp = yt + <usize>(p * NR) * chStep;
            if (sw == 1) tileStrided<f32>(a, kh, kw, dy, dx, wpn, yp, pixBytes, nr, nchw, planeBytes, act, p0, p1);
            else tileStrided<f64>(a, kh, kw, dy, dx, wpn, yp, pixBytes, nr, nchw, planeBytes, act, p0, p1);
          }
        }
      }
      for (; ox < ow; ox += 4) {
        const mr = min(ow - ox, 4);
        // Pixels past the row's end repeat its last pixel: valid reads, results not stored.
        const q0 = <usize>ox * sx;
        const q1 = <usize>min(ox + 1, ow - 1) * sx;
        const q2 = <usize>min(ox + 2, ow - 1) * sx;
        const q3 = <usize>min(ox + 3, ow - 1) * sx;
        const yt = yRow + <usize>ox * pixStep;
        for (let p = pStart; p < panels; p++) {
          const nr = min(n - p * NR, NR);
          const wpn = w + <usize>p * panelBytes;
          const yp = yt + <usize>(p * NR) * chStep;
          if (ASC_FEATURE_SIMD) {
            tileSimd(row, q0, q1, q2, q3, kh, kw, dy, dx, wpn, yp, pixBytes, mr, nr, nchw, planeBytes, act, p0, p1);
          } else {
            tileScalar(row, q0, q1, q2, q3, kh, kw, dy, dx, wpn, yp, pixStep, chStep, mr, nr, act, p0, p1);
          }
        }
      }
    }
  }
}

@inline function tileSimd(
  row: usize, q0: usize, q1: usize, q2: usize, q3: usize, kh: i32, kw: i32, dy: usize, dx: usize,
  w: usize, y: usize, pixBytes: usize, mr: i32, nr: i32, nchw: bool, planeBytes: usize, act: i32, p0: f32, p1: f32,
): void {
  let c00 = v128.load(w);
  let c01 = v128.load(w, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  w += 32;
  // One flat loop over the taps with four running pointers: TurboFan otherwise recomputes the
  // pixel offsets inside a short inner loop.
  let a0 = row + q0, a1 = row + q1, a2 = row + q2, a3 = row + q3;
  const wrap = dy - <usize>(kw - 1) * dx;
  const taps = kh * kw;
  let kx = 0;
  for (let t = 0; t < taps; t++) {
    const b0 = v128.load(w);
    const b1 = v128.load(w, 16);
    w += 32;
    let va = v128.load32_splat(a0);
    c00 = f32x4.add(c00, f32x4.mul(va, b0));
    c01 = f32x4.add(c01, f32x4.mul(va, b1));
    va = v128.load32_splat(a1);
    c10 = f32x4.add(c10, f32x4.mul(va, b0));
    c11 = f32x4.add(c11, f32x4.mul(va, b1));
    va = v128.load32_splat(a2);
    c20 = f32x4.add(c20, f32x4.mul(va, b0));
    c21 = f32x4.add(c21, f32x4.mul(va, b1));
    va = v128.load32_splat(a3);
    c30 = f32x4.add(c30, f32x4.mul(va, b0));
    c31 = f32x4.add(c31, f32x4.mul(va, b1));
    kx++;
    const last = kx == kw;
    const step = last ? wrap : dx;
    kx = last ? 0 : kx;
    a0 += step;
    a1 += step;
    a2 += step;
    a3 += step;
  }
  if (nchw) {
    storePlanes(y, planeBytes, c00, c10, c20, c30, nr, mr, act, p0, p1);
    storePlanes(y + (planeBytes << 2), planeBytes, c01, c11, c21, c31, nr - 4, mr, act, p0, p1);
    return;
  }
  finishRow(y, 0, c00, c01, nr, act, p0, p1);
  if (mr > 1) finishRow(y + pixBytes, 0, c10, c11, nr, act, p0, p1);
  if (mr > 2) finishRow(y + 2 * pixBytes, 0, c20, c21, nr, act, p0, p1);
  if (mr > 3) finishRow(y + 3 * pixBytes, 0, c30, c31, nr, act, p0, p1);
}

// tileSimd for four whole pixels sizeof<S>() bytes apart from `a` (a type stands for the
// constant: the four loads of a tap then share one pointer and differ in immediate offsets).
@inline function tileStrided<S>(
  a: usize, kh: i32, kw: i32, dy: usize, dx: usize,
  w: usize, y: usize, pixBytes: usize, nr: i32, nchw: bool, planeBytes: usize, act: i32, p0: f32, p1: f32,
): void {
  let c00 = v128.load(w);
  let c01 = v128.load(w, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  w += 32;
  for (let ky = 0; ky < kh; ky++) {
    let q = a;
    for (let kx = 0; kx < kw; kx++) {
      const b0 = v128.load(w);
      const b1 = v128.load(w, 16);
      w += 32;
      let va = v128.load32_splat(q);
      c00 = f32x4.add(c00, f32x4.mul(va, b0));
      c01 = f32x4.add(c01, f32x4.mul(va, b1));
      va = v128.load32_splat(q, sizeof<S>());
      c10 = f32x4.add(c10, f32x4.mul(va, b0));
      c11 = f32x4.add(c11, f32x4.mul(va, b1));
      va = v128.load32_splat(q, 2 * sizeof<S>());
      c20 = f32x4.add(c20, f32x4.mul(va, b0));
      c21 = f32x4.add(c21, f32x4.mul(va, b1));
      va = v128.load32_splat(q, 3 * sizeof<S>());
      c30 = f32x4.add(c30, f32x4.mul(va, b0));
      c31 = f32x4.add(c31, f32x4.mul(va, b1));
      q += dx;
    }
    a += dy;
  }
  if (nchw) {
    storePlanes(y, planeBytes, c00, c10, c20, c30, nr, 4, act, p0, p1);
    storePlanes(y + (planeBytes << 2), planeBytes, c01, c11, c21, c31, nr - 4, 4, act, p0, p1);
    return;
  }
  finishRow(y, 0, c00, c01, nr, act, p0, p1);
  finishRow(y + pixBytes, 0, c10, c11, nr, act, p0, p1);
  finishRow(y + 2 * pixBytes, 0, c20, c21, nr, act, p0, p1);
  finishRow(y + 3 * pixBytes, 0, c30, c31, nr, act, p0, p1);
}

// Two neighbouring whole pixels x two whole 8-column panels (wa, wb).
@inline function tile2x16(
  a: usize, kh: i32, kw: i32, dy: usize, dx: usize,
  wa: usize, wb: usize, y: usize, pixBytes: usize, act: i32, p0: f32, p1: f32,
): void {
  let c00 = v128.load(wa);
  let c01 = v128.load(wa, 16);
  let c02 = v128.load(wb);
  let c03 = v128.load(wb, 16);
  let c10 = c00, c11 = c01, c12 = c02, c13 = c03;
  wa += 32;
  wb += 32;
  for (let ky = 0; ky < kh; ky++) {
    let q = a;
    for (let kx = 0; kx < kw; kx++) {
      const b0 = v128.load(wa);
      const b1 = v128.load(wa, 16);
      const b2 = v128.load(wb);
      const b3 = v128.load(wb, 16);
      wa += 32;
      wb += 32;
      let va = v128.load32_splat(q);
      c00 = f32x4.add(c00, f32x4.mul(va, b0));
      c01 = f32x4.add(c01, f32x4.mul(va, b1));
      c02 = f32x4.add(c02, f32x4.mul(va, b2));
      c03 = f32x4.add(c03, f32x4.mul(va, b3));
      va = v128.load32_splat(q, 4);
      c10 = f32x4.add(c10, f32x4.mul(va, b0));
      c11 = f32x4.add(c11, f32x4.mul(va, b1));
      c12 = f32x4.add(c12, f32x4.mul(va, b2));
      c13 = f32x4.add(c13, f32x4.mul(va, b3));
      q += dx;
    }
    a += dy;
  }
  finishRow(y, 0, c00, c01, 8, act, p0, p1);
  finishRow(y + 32, 0, c02, c03, 8, act, p0, p1);
  finishRow(y + pixBytes, 0, c10, c11, 8, act, p0, p1);
  finishRow(y + pixBytes + 32, 0, c12, c13, 8, act, p0, p1);
}

// 8 neighbouring pixels of a row at stride 1 x 4 channels (fewer when `channels` < 4; the panel's
// padding columns are zeros, so reading them is harmless) of an NCHW output: a tap takes two
// vector loads of the input and four weight broadcasts for its 32 products, tile2x16's ratio,
// and each accumulator is 4 pixels of one plane, so nothing is transposed. w points at the
// channels' column of the panel. The other tiles' products and sums in their order: their bits.
@inline function tilePlanes8x4(
  a: usize, kh: i32, kw: i32, dy: usize, dx: usize,
  w: usize, y: usize, planeBytes: usize, channels: i32, act: i32, p0: f32, p1: f32,
): void {
  let c00 = v128.load32_splat(w);
  let c10 = v128.load32_splat(w, 4);
  let c20 = v128.load32_splat(w, 8);
  let c30 = v128.load32_splat(w, 12);
  let c01 = c00, c11 = c10, c21 = c20, c31 = c30;
  w += 32;
  for (let ky = 0; ky < kh; ky++) {
    let q = a;
    for (let kx = 0; kx < kw; kx++) {
      const x0 = v128.load(q);
      const x1 = v128.load(q, 16);
      let b = v128.load32_splat(w);
      c00 = f32x4.add(c00, f32x4.mul(x0, b));
      c01 = f32x4.add(c01, f32x4.mul(x1, b));
      b = v128.load32_splat(w, 4);
      c10 = f32x4.add(c10, f32x4.mul(x0, b));
      c11 = f32x4.add(c11, f32x4.mul(x1, b));
      b = v128.load32_splat(w, 8);
      c20 = f32x4.add(c20, f32x4.mul(x0, b));
      c21 = f32x4.add(c21, f32x4.mul(x1, b));
      b = v128.load32_splat(w, 12);
      c30 = f32x4.add(c30, f32x4.mul(x0, b));
      c31 = f32x4.add(c31, f32x4.mul(x1, b));
      w += 32;
      q += dx;
    }
    a += dy;
  }
  v128.store(y, activateVec(c00, act, p0, p1));
  v128.store(y, activateVec(c01, act, p0, p1), 16);
  if (channels > 1) {
    v128.store(y + planeBytes, activateVec(c10, act, p0, p1));
    v128.store(y + planeBytes, activateVec(c11, act, p0, p1), 16);
  }
  if (channels > 2) {
    v128.store(y + 2 * planeBytes, activateVec(c20, act, p0, p1));
    v128.store(y + 2 * planeBytes, activateVec(c21, act, p0, p1), 16);
  }
  if (channels > 3) {
    v128.store(y + 3 * planeBytes, activateVec(c30, act, p0, p1));
    v128.store(y + 3 * planeBytes, activateVec(c31, act, p0, p1), 16);
  }
}

// The scalar build runs the same tile as 2 pixels x 4 channels at a time; outputs pixStep bytes
// apart along the row and chStep apart across channels (4 for NHWC, a plane for NCHW).
@inline function tileScalar(
  row: usize, q0: usize, q1: usize, q2: usize, q3: usize, kh: i32, kw: i32, dy: usize, dx: usize,
  w: usize, y: usize, pixStep: usize, chStep: usize, mr: i32, nr: i32, act: i32, p0: f32, p1: f32,
): void {
  for (let i = 0; i < mr; i += 2) {
    const qa = i == 0 ? q0 : q2;
    const qb = i == 0 ? q1 : q3;
    const two = i + 1 < mr;
    for (let h = 0; h < NR; h += 4) {
      if (h >= nr) break;
      const wb = w + (<usize>h << 2);
      let s00 = load<f32>(wb, 0), s01 = load<f32>(wb, 4), s02 = load<f32>(wb, 8), s03 = load<f32>(wb, 12);
      let s10 = s00, s11 = s01, s12 = s02, s13 = s03;
      let wt = wb + 32;
      let pa = row + qa, pb = row + qb;
      const wrap = dy - <usize>(kw - 1) * dx;
      const taps = kh * kw;
      let kx = 0;
      for (let t = 0; t < taps; t++) {
        const a0 = load<f32>(pa);
        const a1 = load<f32>(pb);
        const b0 = load<f32>(wt, 0), b1 = load<f32>(wt, 4), b2 = load<f32>(wt, 8), b3 = load<f32>(wt, 12);
        s00 = s00 + a0 * b0;
        s01 = s01 + a0 * b1;
        s02 = s02 + a0 * b2;
        s03 = s03 + a0 * b3;
        s10 = s10 + a1 * b0;
        s11 = s11 + a1 * b1;
        s12 = s12 + a1 * b2;
        s13 = s13 + a1 * b3;
        wt += 32;
        kx++;
        const last = kx == kw;
        const step = last ? wrap : dx;
        kx = last ? 0 : kx;
        pa += step;
        pb += step;
      }
      const n4 = nr - h;
      const ca = y + <usize>i * pixStep + <usize>h * chStep;
      if (chStep == 4) {
        finishScalar4(ca, 0, s00, s01, s02, s03, n4, act, p0, p1);
        if (two) finishScalar4(ca + pixStep, 0, s10, s11, s12, s13, n4, act, p0, p1);
      } else {
        storeStrided4(ca, chStep, s00, s01, s02, s03, n4, act, p0, p1);
        if (two) storeStrided4(ca + pixStep, chStep, s10, s11, s12, s13, n4, act, p0, p1);
      }
    }
  }
}

// The NCHW store of 4 pixels x `channels` (up to 4; none when <= 0) of a tile, one vector per
// pixel (a, b, c, d): transposed to one vector per channel, whose first `mr` pixels go to that
// channel's plane. The activation is lanewise, so applying it after the transpose changes no bit.
@inline function storePlanes(
  y: usize, planeBytes: usize, a: v128, b: v128, c: v128, d: v128, channels: i32, mr: i32, act: i32, p0: f32, p1: f32,
): void {
  if (channels <= 0) return;
  const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  storePixels(y, i64x2.shuffle(ab01, cd01, 0, 2), mr, act, p0, p1);
  if (channels > 1) storePixels(y + planeBytes, i64x2.shuffle(ab01, cd01, 1, 3), mr, act, p0, p1);
  if (channels > 2) storePixels(y + 2 * planeBytes, i64x2.shuffle(ab23, cd23, 0, 2), mr, act, p0, p1);
  if (channels > 3) storePixels(y + 3 * planeBytes, i64x2.shuffle(ab23, cd23, 1, 3), mr, act, p0, p1);
}

@inline function storePixels(p: usize, v: v128, mr: i32, act: i32, p0: f32, p1: f32): void {
  v = activateVec(v, act, p0, p1);
  if (mr == 4) v128.store(p, v);
  else storePartial(p, v, mr);
}

// Up to four results of the scalar tile's channels, `step` bytes apart (NCHW planes).
@inline function storeStrided4(c: usize, step: usize, s0: f32, s1: f32, s2: f32, s3: f32, count: i32, act: i32, p0: f32, p1: f32): void {
  store<f32>(c, activateScalar(s0, act, p0, p1));
  if (count > 1) store<f32>(c + step, activateScalar(s1, act, p0, p1));
  if (count > 2) store<f32>(c + 2 * step, activateScalar(s2, act, p0, p1));
  if (count > 3) store<f32>(c + 3 * step, activateScalar(s3, act, p0, p1));
}
