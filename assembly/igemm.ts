import { ACT_CLAMP, ACT_LEAKY, ACT_NONE } from "./activation";
import { activateRows, finishRow, finishScalar4 } from "./tile_store";

// Tile rows and packed panel columns: part of the ABI (the host sizes tables and panels by them).
export const GEMM_MR: i32 = 4;
export const GEMM_NR: i32 = 8;
// B panels per block, chosen so that one block of packed weights stays in L2 (1 MiB here) while
// every 4-row tile of A streams past it once.
const BLOCK_BYTES: i32 = 512 * 1024;

// igemm_f32_4x8: C[m][j] = act(bias[j] + sum_t sum_k A(t, m)[k] * W[t*kc + k][j] (+ R[m][j])).
// Layout: ind holds, per tile of 4 rows, ks taps x 4 i32 entries: the byte offset of that row's
// kc floats from `a`, or -1 for the zero row. runs (0 for none) holds ks u8 per tile
// (conv2d_tap_runs): from tap t on, that many taps continue each row's memory, so they are read
// as one run of run*kc floats (same products, same order). w is packed in 8-column panels of
// [bias 8][ks*kc rows of 8] floats, zero-padded past n. C and R rows are ldc floats apart.
// Products are added in (t, k) order after the bias, so every tiling and both builds agree.
// 4 rows, not 5: TurboFan issues a step's loads (2 of B, one splat per row) before its arithmetic,
// so a 5x8 tile needs 10 accumulators + 7 loaded values + 1 temporary > 15 xmm and spills two
// accumulators (measured 23 GFLOP/s against 31 for 4x8 on GEMM 256 here, before the copies below).
export function igemm_f32_4x8(
  m: i32, n: i32, kc: i32, ks: i32,
  a: usize, ind: usize, runs: usize, zero: usize, w: usize, r: usize,
  c: usize, ldc: i32,
  act: i32, p0: f32, p1: f32,
): void {
  // Copies for clamp, none and leaky relu, without a branch on the kind per stored vector.
  // Measured here: GEMM 256 31 -> 40 GFLOP/s in the SIMD build (scalar 8.4 -> 10.7), 1024
  // 35 -> 38, though TurboFan's k loop is the same instructions either way. Every other kind
  // shares one copy that stores raw sums and applies the activation per tile (activateRows).
  if (act == ACT_CLAMP) igemmBody(m, n, kc, ks, a, ind, runs, zero, w, c, ldc, r, ACT_CLAMP, p0, p1, ACT_NONE);
  else if (act == ACT_NONE) igemmBody(m, n, kc, ks, a, ind, runs, zero, w, c, ldc, r, ACT_NONE, p0, p1, ACT_NONE);
  else if (act == ACT_LEAKY) igemmBody(m, n, kc, ks, a, ind, runs, zero, w, c, ldc, r, ACT_LEAKY, p0, p1, ACT_NONE);
  else igemmBody(m, n, kc, ks, a, ind, runs, zero, w, c, ldc, r, ACT_NONE, p0, p1, act);
}

@inline function igemmBody(
  m: i32, n: i32, kc: i32, ks: i32,
  a: usize, ind: usize, runs: usize, zero: usize, w: usize,
  c: usize, ldc: i32, r: usize,
  act: i32, p0: f32, p1: f32, post: i32,
): void {
  const panels = (n + GEMM_NR - 1) / GEMM_NR;
  const panelBytes = (ks * kc + 1) * GEMM_NR * 4;
  const perBlock = max(1, BLOCK_BYTES / panelBytes);
  const tiles = (m + GEMM_MR - 1) / GEMM_MR;
  const rowBytes = <usize>ldc << 2;
  for (let pb = 0; pb < panels; pb += perBlock) {
    const pe = min(pb + perBlock, panels);
    for (let t = 0; t < tiles; t++) {
      const mr = min(m - t * GEMM_MR, GEMM_MR);
      const indT = ind + <usize>(t * ks * GEMM_MR) * 4;
      const runsT: usize = runs == 0 ? 0 : runs + <usize>(t * ks);
      const rowOff = <usize>(t * GEMM_MR) * rowBytes;
      for (let p = pb; p < pe; p++) {
        const nr = min(n - p * GEMM_NR, GEMM_NR);
        const colOff = <usize>(p * GEMM_NR) << 2;
        const ct = c + rowOff + colOff;
        const rt: usize = r == 0 ? 0 : r + rowOff + colOff;
        const r1: usize = r == 0 ? 0 : rt + rowBytes;
        const r2: usize = r == 0 ? 0 : rt + 2 * rowBytes;
        const r3: usize = r == 0 ? 0 : rt + 3 * rowBytes;
        igemmTile(
          mr, nr, kc, ks, a, indT, runsT, zero, w + <usize>p * panelBytes,
          ct, ct + rowBytes, ct + 2 * rowBytes, ct + 3 * rowBytes, rt, r1, r2, r3, act, p0, p1,
        );
      }
      if (post != ACT_NONE) {
        const c0 = c + rowOff + (<usize>(pb * GEMM_NR) << 2);
        const cols = min(pe * GEMM_NR, n) - pb * GEMM_NR;
        if (cols == ldc) activateRows(c0, mr * cols, post, p0, p1);
        else for (let i = 0; i < mr; i++) activateRows(c0 + <usize>i * rowBytes, cols, post, p0, p1);
      }
    }
  }
}

// pack_gemm_f32_8: packs B (element (k, j) at b + (k*sk + j*sn)*4, K x N) scaled by alpha, and
// bias[N] (0 for none), into the 8-column panels igemm_f32_4x8 reads.
export function pack_gemm_f32_8(k: i32, n: i32, b: usize, sk: i32, sn: i32, bias: usize, out: usize, alpha: f32): void {
  const panels = (n + GEMM_NR - 1) / GEMM_NR;
  for (let p = 0; p < panels; p++) {
    for (let j = 0; j < GEMM_NR; j++) {
      const col = p * GEMM_NR + j;
      store<f32>(out + (<usize>j << 2), bias != 0 && col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
    }
    out += GEMM_NR * 4;
    for (let kk = 0; kk < k; kk++) {
      for (let j = 0; j < GEMM_NR; j++) {
        const col = p * GEMM_NR + j;
        const v: f32 = col < n ? alpha * load<f32>(b + (<usize>(kk * sk + col * sn) << 2)) : 0;
        store<f32>(out + (<usize>j << 2), v);
      }
      out += GEMM_NR * 4;
    }
  }
}

@inline function rowPtr(a: usize, zero: usize, ind: usize, i: i32): usize {
  const o = load<i32>(ind + (<usize>i << 2));
  return o < 0 ? zero : a + <usize>o;
}

@inline function runAt(runs: usize, t: i32): i32 {
  return runs == 0 ? 1 : <i32>load<u8>(runs + <usize>t);
}

// One tile of up to 4 rows x 8 columns: its rows are stored at c0..c3 (residual rows r0..r3, 0 for
// none), so the indirect GEMM and the transposed convolution's phases (assembly/deconv.ts) share it.
@inline export function igemmTile(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, runs: usize, zero: usize, w: usize,
  c0: usize, c1: usize, c2: usize, c3: usize, r0: usize, r1: usize, r2: usize, r3: usize,
  act: i32, p0: f32, p1: f32,
): void {
  if (ASC_FEATURE_SIMD) {
    if (nr <= 4) tileSimd4(mr, nr, kc, ks, a, ind, runs, zero, w, c0, c1, c2, c3, r0, r1, r2, r3, act, p0, p1);
    else tileSimd(mr, nr, kc, ks, a, ind, runs, zero, w, c0, c1, c2, c3, r0, r1, r2, r3, act, p0, p1);
  } else {
    tileScalar(mr, nr, kc, ks, a, ind, runs, zero, w, c0, c1, c2, c3, r0, r1, r2, r3, act, p0, p1);
  }
}

@inline function tileSimd(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, runs: usize, zero: usize, w: usize,
  c0: usize, c1: usize, c2: usize, c3: usize, r0: usize, r1: usize, r2: usize, r3: usize,
  act: i32, p0: f32, p1: f32,
): void {
  let c00 = v128.load(w);
  let c01 = v128.load(w, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  w += 32;
  for (let t = 0; t < ks; ) {
    const run = runAt(runs, t);
    let a0 = rowPtr(a, zero, ind, 0);
    let a1 = rowPtr(a, zero, ind, 1);
    let a2 = rowPtr(a, zero, ind, 2);
    let a3 = rowPtr(a, zero, ind, 3);
    ind += <usize>(GEMM_MR * 4 * run);
    t += run;
    const steps = kc * run;
    for (let k = 0; k < steps; k++) {
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
      a0 += 4;
      a1 += 4;
      a2 += 4;
      a3 += 4;
    }
  }
  finishRow(c0, r0, c00, c01, nr, act, p0, p1);
  if (mr > 1) finishRow(c1, r1, c10, c11, nr, act, p0, p1);
  if (mr > 2) finishRow(c2, r2, c20, c21, nr, act, p0, p1);
  if (mr > 3) finishRow(c3, r3, c30, c31, nr, act, p0, p1);
}

// The tile for panels of at most 4 columns (a layer with few output channels, or the last panel
// of n = 8k + 1..4): the panel's first 4 columns only, half the multiplies and adds of the 4x8
// tile and one B load a step. Each column's sum takes the same terms in the same order.
@inline function tileSimd4(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, runs: usize, zero: usize, w: usize,
  c0: usize, c1: usize, c2: usize, c3: usize, r0: usize, r1: usize, r2: usize, r3: usize,
  act: i32, p0: f32, p1: f32,
): void {
  let c00 = v128.load(w);
  let c10 = c00, c20 = c00, c30 = c00;
  w += 32;
  for (let t = 0; t < ks; ) {
    const run = runAt(runs, t);
    let a0 = rowPtr(a, zero, ind, 0);
    let a1 = rowPtr(a, zero, ind, 1);
    let a2 = rowPtr(a, zero, ind, 2);
    let a3 = rowPtr(a, zero, ind, 3);
    ind += <usize>(GEMM_MR * 4 * run);
    t += run;
    const steps = kc * run;
    for (let k = 0; k < steps; k++) {
      const b0 = v128.load(w);
      w += 32;
      c00 = f32x4.add(c00, f32x4.mul(v128.load32_splat(a0), b0));
      c10 = f32x4.add(c10, f32x4.mul(v128.load32_splat(a1), b0));
      c20 = f32x4.add(c20, f32x4.mul(v128.load32_splat(a2), b0));
      c30 = f32x4.add(c30, f32x4.mul(v128.load32_splat(a3), b0));
      a0 += 4;
      a1 += 4;
      a2 += 4;
      a3 += 4;
    }
  }
  // finishRow stores lanes 4.. of its second vector only for nr > 4.
  finishRow(c0, r0, c00, c00, nr, act, p0, p1);
  if (mr > 1) finishRow(c1, r1, c10, c10, nr, act, p0, p1);
  if (mr > 2) finishRow(c2, r2, c20, c20, nr, act, p0, p1);
  if (mr > 3) finishRow(c3, r3, c30, c30, nr, act, p0, p1);
}

// The scalar build runs the same 4x8 tile as 2x4 sub-tiles: 8 accumulators, 2 + 4 loads a step.
@inline function tileScalar(
  mr: i32, nr: i32, kc: i32, ks: i32, a: usize, ind: usize, runs: usize, zero: usize, w: usize,
  c0: usize, c1: usize, c2: usize, c3: usize, r0: usize, r1: usize, r2: usize, r3: usize,
  act: i32, p0: f32, p1: f32,
): void {
  for (let i = 0; i < mr; i += 2) {
    const two = i + 1 < mr;
    for (let h = 0; h < 8; h += 4) {
      if (h >= nr) break;
      const wb = w + (<usize>h << 2);
      let s00 = load<f32>(wb, 0), s01 = load<f32>(wb, 4), s02 = load<f32>(wb, 8), s03 = load<f32>(wb, 12);
      let s10 = s00, s11 = s01, s12 = s02, s13 = s03;
      let wp = wb + 32;
      let indT = ind;
      for (let t = 0; t < ks; ) {
        const run = runAt(runs, t);
        let ap0 = rowPtr(a, zero, indT, i);
        let ap1 = rowPtr(a, zero, indT, two ? i + 1 : i);
        indT += <usize>(GEMM_MR * 4 * run);
        t += run;
        const steps = kc * run;
        for (let k = 0; k < steps; k++) {
          const a0 = load<f32>(ap0);
          const a1 = load<f32>(ap1);
          const b0 = load<f32>(wp, 0), b1 = load<f32>(wp, 4), b2 = load<f32>(wp, 8), b3 = load<f32>(wp, 12);
          s00 = s00 + a0 * b0;
          s01 = s01 + a0 * b1;
          s02 = s02 + a0 * b2;
          s03 = s03 + a0 * b3;
          s10 = s10 + a1 * b0;
          s11 = s11 + a1 * b1;
          s12 = s12 + a1 * b2;
          s13 = s13 + a1 * b3;
          ap0 += 4;
          ap1 += 4;
          wp += 32;
        }
      }
      const hb = <usize>h << 2;
      const ri = i == 0 ? r0 : r2;
      const rj = i == 0 ? r1 : r3;
      const n4 = nr - h;
      finishScalar4((i == 0 ? c0 : c2) + hb, ri == 0 ? 0 : ri + hb, s00, s01, s02, s03, n4, act, p0, p1);
      if (two) finishScalar4((i == 0 ? c1 : c3) + hb, rj == 0 ? 0 : rj + hb, s10, s11, s12, s13, n4, act, p0, p1);
    }
  }
}
