import { activateScalar, activateVec } from "./activation";

const MR: i32 = 5;
const NR: i32 = 8;
// B panels per block, chosen so that one block of packed weights stays in L2 (1 MiB here) while
// every 5-row tile of A streams past it once.
const BLOCK_BYTES: i32 = 512 * 1024;

// igemm_f32_5x8: C[m][j] = act(bias[j] + sum_t sum_k A(t, m)[k] * W[t*kc + k][j] (+ R[m][j])).
// Layout: ind holds, per tile of 5 rows, ks taps x 5 i32 entries: the byte offset of that row's
// kc floats from `a`, or -1 for the zero row. w is packed in 8-column panels of
// [bias 8][ks*kc rows of 8] floats, zero-padded past n. C and R rows are ldc floats apart.
// Products are added in (t, k) order after the bias, so every tiling and both builds agree.
export function igemm_f32_5x8(
  m: i32, n: i32, kc: i32, ks: i32,
  a: usize, ind: usize, zero: usize, w: usize,
  c: usize, ldc: i32, r: usize,
  act: i32, p0: f32, p1: f32,
): void {
  const panels = (n + NR - 1) / NR;
  const panelBytes = (ks * kc + 1) * NR * 4;
  const perBlock = max(1, BLOCK_BYTES / panelBytes);
  const tiles = (m + MR - 1) / MR;
  const rowBytes = <usize>ldc << 2;
  for (let pb = 0; pb < panels; pb += perBlock) {
    const pe = min(pb + perBlock, panels);
    for (let t = 0; t < tiles; t++) {
      const mr = min(m - t * MR, MR);
      const indT = ind + <usize>(t * ks * MR) * 4;
      const rowOff = <usize>(t * MR) * rowBytes;
      for (let p = pb; p < pe; p++) {
        const nr = min(n - p * NR, NR);
        const colOff = <usize>(p * NR) << 2;
        const rt: usize = r == 0 ? 0 : r + rowOff + colOff;
        if (ASC_FEATURE_SIMD) {
          tileSimd(mr, nr, kc, ks, a, indT, zero, w + <usize>p * panelBytes, c + rowOff + colOff, rowBytes, rt, act, p0, p1);
        } else {
          tileScalar(mr, nr, kc, ks, a, indT, zero, w + <usize>p * panelBytes, c + rowOff + colOff, rowBytes, rt, act, p0, p1);
        }
      }
    }
  }
}

// pack_gemm_f32_8: packs B (element (k, j) at b + (k*sk + j*sn)*4, K x N) scaled by alpha, and
// bias[N] (0 for none), into the 8-column panels igemm_f32_5x8 reads.
export function pack_gemm_f32_8(k: i32, n: i32, b: usize, sk: i32, sn: i32, alpha: f32, bias: usize, out: usize): void {
  const panels = (n + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    for (let j = 0; j < NR; j++) {
      const col = p * NR + j;
      store<f32>(out + (<usize>j << 2), bias != 0 && col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
    }
    out += NR * 4;
    for (let kk = 0; kk < k; kk++) {
      for (let j = 0; j < NR; j++) {
        const col = p * NR + j;
        const v: f32 = col < n ? alpha * load<f32>(b + (<usize>(kk * sk + col * sn) << 2)) : 0;
        store<f32>(out + (<usize>j << 2), v);
      }
      out += NR * 4;
    }
  }
}

@inline function rowPtr(a: usize, zero: usize, ind: usize, i: i32): usize {
  const o = load<i32>(ind + (<usize>i << 2));
  return o < 0 ? zero : a + <usize>o;
}

// Loads the first `count` (< 4) floats at p into lanes 0.. of a zeroed vector.
@inline function loadPartial(p: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  if (count & 2) {
    v = v128.load64_lane(p, v, 0);
    if (count & 1) v = v128.load32_lane(p, v, 2, 8);
  } else if (count & 1) {
    v = v128.load32_lane(p, v, 0);
  }
  return v;
}

@inline function storePartial(p: usize, v: v128, count: i32): void {
  if (count & 2) {
    v128.store64_lane(p, v, 0);
    if (count & 1) v128.store32_lane(p, v, 2, 8);
  } else if (count & 1) {
    v128.store32_lane(p, v, 0);
  }
}

@inline function finishRow(c: usize, r: usize, v0: v128, v1: v128, nr: i32, act: i32, p0: f32, p1: f32): void {
  if (nr == NR) {
    if (r != 0) {
      v0 = f32x4.add(v0, v128.load(r));
      v1 = f32x4.add(v1, v128.load(r, 16));
    }
    v128.store(c, activateVec(v0, act, p0, p1));
    v128.store(c, activateVec(v1, act, p0, p1), 16);
  } else if (nr >= 4) {
    if (r != 0) {
      v0 = f32x4.add(v0, v128.load(r));
      v1 = f32x4.add(v1, loadPartial(r + 16, nr - 4));
    }
    v128.store(c, activateVec(v0, act, p0, p1));
    storePartial(c + 16, activateVec(v1, act, p0, p1), nr - 4);
  } else {
    if (r != 0) v0 = f32x4.add(v0, loadPartial(r, nr));
    storePartial(c, activateVec(v0, act, p0, p1), nr);
  }
}

@inline function tileSimd(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, zero: usize, w: usize,
  c: usize, rowBytes: usize, r: usize, act: i32, p0: f32, p1: f32,
): void {
  let c00 = v128.load(w);
  let c01 = v128.load(w, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01, c40 = c00, c41 = c01;
  w += 32;
  for (let t = 0; t < ks; t++) {
    let a0 = rowPtr(a, zero, ind, 0);
    let a1 = rowPtr(a, zero, ind, 1);
    let a2 = rowPtr(a, zero, ind, 2);
    let a3 = rowPtr(a, zero, ind, 3);
    let a4 = rowPtr(a, zero, ind, 4);
    ind += MR * 4;
    for (let k = 0; k < kc; k++) {
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
      va = v128.load32_splat(a4);
      c40 = f32x4.add(c40, f32x4.mul(va, b0));
      c41 = f32x4.add(c41, f32x4.mul(va, b1));
      a0 += 4;
      a1 += 4;
      a2 += 4;
      a3 += 4;
      a4 += 4;
    }
  }
  finishRow(c, r, c00, c01, nr, act, p0, p1);
  if (mr > 1) finishRow(c + rowBytes, r == 0 ? 0 : r + rowBytes, c10, c11, nr, act, p0, p1);
  if (mr > 2) finishRow(c + 2 * rowBytes, r == 0 ? 0 : r + 2 * rowBytes, c20, c21, nr, act, p0, p1);
  if (mr > 3) finishRow(c + 3 * rowBytes, r == 0 ? 0 : r + 3 * rowBytes, c30, c31, nr, act, p0, p1);
  if (mr > 4) finishRow(c + 4 * rowBytes, r == 0 ? 0 : r + 4 * rowBytes, c40, c41, nr, act, p0, p1);
}

@inline function finishScalar(c: usize, r: usize, j: i32, v: f32, act: i32, p0: f32, p1: f32): void {
  const o = <usize>j << 2;
  if (r != 0) v += load<f32>(r + o);
  store<f32>(c + o, activateScalar(v, act, p0, p1));
}

// The scalar build runs the same 5x8 tile row by row, eight accumulators at a time.
@inline function tileScalar(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, zero: usize, w: usize,
  c: usize, rowBytes: usize, r: usize, act: i32, p0: f32, p1: f32,
): void {
  for (let i = 0; i < mr; i++) {
    let s0 = load<f32>(w, 0), s1 = load<f32>(w, 4), s2 = load<f32>(w, 8), s3 = load<f32>(w, 12);
    let s4 = load<f32>(w, 16), s5 = load<f32>(w, 20), s6 = load<f32>(w, 24), s7 = load<f32>(w, 28);
    let wp = w + 32;
    let indT = ind;
    for (let t = 0; t < ks; t++) {
      let ap = rowPtr(a, zero, indT, i);
      indT += MR * 4;
      for (let k = 0; k < kc; k++) {
        const av = load<f32>(ap);
        s0 = s0 + av * load<f32>(wp, 0);
        s1 = s1 + av * load<f32>(wp, 4);
        s2 = s2 + av * load<f32>(wp, 8);
        s3 = s3 + av * load<f32>(wp, 12);
        s4 = s4 + av * load<f32>(wp, 16);
        s5 = s5 + av * load<f32>(wp, 20);
        s6 = s6 + av * load<f32>(wp, 24);
        s7 = s7 + av * load<f32>(wp, 28);
        ap += 4;
        wp += 32;
      }
    }
    const ci = c + <usize>i * rowBytes;
    const ri: usize = r == 0 ? 0 : r + <usize>i * rowBytes;
    finishScalar(ci, ri, 0, s0, act, p0, p1);
    if (nr > 1) finishScalar(ci, ri, 1, s1, act, p0, p1);
    if (nr > 2) finishScalar(ci, ri, 2, s2, act, p0, p1);
    if (nr > 3) finishScalar(ci, ri, 3, s3, act, p0, p1);
    if (nr > 4) finishScalar(ci, ri, 4, s4, act, p0, p1);
    if (nr > 5) finishScalar(ci, ri, 5, s5, act, p0, p1);
    if (nr > 6) finishScalar(ci, ri, 6, s6, act, p0, p1);
    if (nr > 7) finishScalar(ci, ri, 7, s7, act, p0, p1);
  }
}
