import { GEMM_NR } from "./igemm";
import { QOUT_I32, QOUT_Q16U8, QOUT_U8, qgemm_q8_4x8, qstoreOne, qstoreRow, wq } from "./qgemm";
import { pixelOr } from "./winograd";

// Exact 8-bit Winograd F(2x2, 3x3). The float transforms (assembly/winograd.ts)
//   V = B^T d B,  U = G g G^T,  Y = A^T [sum over Cin of U (.) V] A
// hold exactly over the integers once the halves of G are cleared: with G' = 2G (rows [2 0 0],
// [1 1 1], [1 -1 1], [0 0 2]), U' = G' g G'^T = 4U is integral, and A^T [sum U' (.) V] A = 4Y,
// where Y is the direct convolution's accumulator sum over taps and Cin of d * g. So 4Y comes out
// of integer arithmetic alone and Y = 4Y >> 2 is the direct kernel's accumulator to the bit; the
// stores that follow are qgemm_q8_4x8's, so every output kind equals the direct path's.
// Operand sizes, for d = x - zx and g = w - zw with |d|, |g| <= 255 (the q16 operands):
//   V: each entry is a sum of 4 entries of d with signs (B has one +-1 pair per row and column),
//      |V| <= 1020, and each half-step (B^T d) at most 510: i16, no overflow;
//   U': row sums of |G'| are 2, 3, 3, 2, so |U'| <= 3 * 3 * 255 = 2295: i16;
//   M = sum U' (.) V: i16 x i16 products summed in i32 by i32x4.dot_i16x8_s (a pair's sum is at
//      most 2 * 2295 * 1020, far from its one overflow at -32768 * -32768 * 2).
// i32 addition wraps modulo 2^32, and the output transform is a sum of M entries with integer
// coefficients, so 4Y is computed exactly modulo 2^32 whatever M's partial sums did; it is the true
// 4Y whenever |4Y| < 2^31. The caller takes this path only when a bound from the weights and the
// input's range guarantees that (src/ops/qwinograd.ts).

// Transformed positions per tile: one GEMM each.
const POS: i32 = 16;
// Bytes after each position's block in the scratch: the SIMD output transform reads whole groups
// of 8 i32 past a row's last channel (at most 28 bytes), and with power-of-two channel counts the
// blocks would otherwise start a power of two apart, in the same L1 sets.
const POS_PAD: usize = 64;

// Bytes of one position's V block and M block for `rows` tile rows (the host sizes the scratch
// with the same formulas, src/ops/qwinograd.ts).
@inline function vPosBytes(rows: i32, cin: i32): usize {
  return ((<usize>(rows * cin * 2) + 15) & ~15) + POS_PAD;
}

@inline function mPosBytes(rows: i32, cout: i32): usize {
  return <usize>(rows * cout * 4) + POS_PAD;
}

// winograd_weights_q16_2x2k3: packs 8-bit weights g (Cout x 3 x 3 x Cin bytes, OHWI; u8 or, with
// wSigned 1, i8) minus their per-channel zero points wzp[Cout] (the same type) as U' = G' g G'^T,
// 16 weight sets, one per transformed position k = 4i + j, each laid out as pack_qgemm_q8_8 lays
// out one tap of Cin x Cout: per 8-column panel, the Cin pairs of each column as i16 pairs (an
// odd Cin's last pair padded with 0), columns past Cout zero; position k's set starts at
// out + k * panels * ceil(Cin / 2) * 32.
export function winograd_weights_q16_2x2k3(cin: i32, cout: i32, g: usize, wzp: usize, out: usize, wSigned: i32): void {
  const pairs = (cin + 1) >> 1;
  const panelBytes = <usize>pairs * 32;
  const posBytes = <usize>((cout + GEMM_NR - 1) / GEMM_NR) * panelBytes;
  memory.fill(out, 0, posBytes * POS);
  for (let co = 0; co < cout; co++) {
    const zw = wq(wzp + <usize>co, wSigned);
    const colOff = <usize>(co / GEMM_NR) * panelBytes + (<usize>(co % GEMM_NR) << 2);
    for (let ci = 0; ci < cin; ci++) {
      const base = g + <usize>(co * 9 * cin + ci);
      const s = <usize>cin;
      // Rows of G' g: for each column kx, the 4 combinations of the taps (0, kx), (1, kx), (2, kx).
      let r00 = 0, r01 = 0, r02 = 0;
      let r10 = 0, r11 = 0, r12 = 0;
      let r20 = 0, r21 = 0, r22 = 0;
      let r30 = 0, r31 = 0, r32 = 0;
      for (let kx = 0; kx < 3; kx++) {
        const g0 = wq(base + <usize>kx * s, wSigned) - zw;
        const g1 = wq(base + <usize>(3 + kx) * s, wSigned) - zw;
        const g2 = wq(base + <usize>(6 + kx) * s, wSigned) - zw;
        const a = 2 * g0;
        const b = g0 + g1 + g2;
        const c = g0 - g1 + g2;
        const d = 2 * g2;
        if (kx == 0) { r00 = a; r10 = b; r20 = c; r30 = d; }
        else if (kx == 1) { r01 = a; r11 = b; r21 = c; r31 = d; }
        else { r02 = a; r12 = b; r22 = c; r32 = d; }
      }
      const dst = out + colOff + <usize>(ci >> 1) * 32 + (<usize>(ci & 1) << 1);
      storeRowU(dst, posBytes, 0, r00, r01, r02);
      storeRowU(dst, posBytes, 1, r10, r11, r12);
      storeRowU(dst, posBytes, 2, r20, r21, r22);
      storeRowU(dst, posBytes, 3, r30, r31, r32);
    }
  }
}

// Row i of U' = (G' g) G'^T, positions 4i .. 4i + 3.
@inline function storeRowU(dst: usize, posBytes: usize, i: i32, a: i32, b: i32, c: i32): void {
  const p = dst + <usize>(i * 4) * posBytes;
  store<i16>(p, <i16>(2 * a));
  store<i16>(p + posBytes, <i16>(a + b + c));
  store<i16>(p + 2 * posBytes, <i16>(a - b + c));
  store<i16>(p + 3 * posBytes, <i16>(2 * c));
}

// conv2d_q16_winograd_2x2k3: the 8-bit 3x3 convolution, stride 1, no dilation, over the output
// tiles [tile0, tile0 + tiles): tile t of image b covers output rows 2 ty, 2 ty + 1 and columns
// 2 tx, 2 tx + 1 (t = (b * tilesY + ty) * tilesX + tx, tilesY = ceil(oh / 2), tilesX =
// ceil(ow / 2)) and reads input rows 2 ty - pt .. + 3 and columns 2 tx - pl .. + 3, the zero row
// outside. x: NHWC [., h, w, cin] i16, the input minus its zero point (the q16 operand of
// qgemm_q8_4x8); zero: at least cin zero i16; u: winograd_weights_q16_2x2k3's packing; scale,
// fbias, outKind, zy, ys: qgemm_q8_4x8's store (fbias 0 for none); y: NHWC [., oh, ow, cout] of
// the output kind's element.
// scratch holds `block` tiles at a time, as [rows i32 row offsets][V: 16 blocks of rows x cin i16]
// [M: 16 blocks of rows x cout i32], rows = block rounded up to 4, each block padded (vPosBytes,
// mPosBytes). Each output is the same function of its tile whatever the blocking, the range and
// the build: integer sums are exact.
export function conv2d_q16_winograd_2x2k3(
  h: i32, w: i32, cin: i32, cout: i32, oh: i32, ow: i32, pt: i32, pl: i32, tile0: i32, tiles: i32, block: i32,
  x: usize, zero: usize, u: usize, scale: usize, fbias: usize,
  scratch: usize, y: usize,
  outKind: i32, zy: i32, ys: f32,
): void {
  const rows = (block + 3) & ~3;
  const ind = scratch;
  const v = scratch + (<usize>rows << 2);
  const vPos = vPosBytes(rows, cin);
  const m = v + vPos * POS;
  const mPos = mPosBytes(rows, cout);
  const posBytes = <usize>((cout + GEMM_NR - 1) / GEMM_NR) * <usize>((cin + 1) >> 1) * 32;
  const elem: usize = outKind >= QOUT_Q16U8 ? 2 : outKind >= QOUT_U8 ? 1 : 4;
  const tilesX = (ow + 1) >> 1;
  const perImage = ((oh + 1) >> 1) * tilesX;
  const end = tile0 + tiles;
  for (let t0 = tile0; t0 < end; t0 += block) {
    const nb = min(block, end - t0);
    // Entries are 4 x a row's element offset (qgemm_q8_4x8's table); rows past nb (the last 4-row
    // GEMM tile's padding) repeat a real row, and their sums are not stored.
    for (let i = 0; i < rows; i++) store<i32>(ind + (<usize>i << 2), min(i, nb - 1) * cin * 4);
    for (let i = 0; i < nb; i++) {
      const t = t0 + i;
      const b = t / perImage;
      const q = t - b * perImage;
      const ty = q / tilesX;
      inputTile(h, w, cin, b, 2 * ty - pt, 2 * (q - ty * tilesX) - pl, x, zero, v + (<usize>(i * cin) << 1), vPos);
    }
    for (let k = 0; k < POS; k++) {
      qgemm_q8_4x8(
        nb, cout, cin, 1, v + <usize>k * vPos, ind, 0, zero, u + <usize>k * posBytes, scale, 0,
        m + <usize>k * mPos, cout, QOUT_I32, 0, 0,
      );
    }
    for (let i = 0; i < nb; i++) {
      const t = t0 + i;
      const b = t / perImage;
      const q = t - b * perImage;
      const ty = q / tilesX;
      const oy = 2 * ty;
      const ox = 2 * (q - ty * tilesX);
      const y00 = y + <usize>((b * oh + oy) * ow + ox) * <usize>cout * elem;
      outputTile(cout, m + (<usize>(i * cout) << 2), mPos, scale, fbias, y00, <usize>ow * <usize>cout * elem, elem, ox + 1 < ow, oy + 1 < oh, outKind, zy, ys);
    }
  }
}

// V = B^T d B for one tile, every channel: d(i, j) is input pixel (iy + i, ix + j), the zero row
// outside; V(i, j) goes to v + (4 i + j) * vPos. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
function inputTile(h: i32, w: i32, cin: i32, b: i32, iy: i32, ix: i32, x: usize, zero: usize, v: usize, vPos: usize): void {
  const px = <usize>cin << 1;
  const rowBytes = <usize>w * px;
  const img = x + <usize>(b * h) * rowBytes;
  const c0 = pixelOr(img, rowBytes, px, h, w, iy, ix, zero);
  const c1 = pixelOr(img, rowBytes, px, h, w, iy, ix + 1, zero);
  const c2 = pixelOr(img, rowBytes, px, h, w, iy, ix + 2, zero);
  const c3 = pixelOr(img, rowBytes, px, h, w, iy, ix + 3, zero);
  const c4 = pixelOr(img, rowBytes, px, h, w, iy + 1, ix, zero);
  const c5 = pixelOr(img, rowBytes, px, h, w, iy + 1, ix + 1, zero);
  const c6 = pixelOr(img, rowBytes, px, h, w, iy + 1, ix + 2, zero);
  const c7 = pixelOr(img, rowBytes, px, h, w, iy + 1, ix + 3, zero);
  const c8 = pixelOr(img, rowBytes, px, h, w, iy + 2, ix, zero);
  const c9 = pixelOr(img, rowBytes, px, h, w, iy + 2, ix + 1, zero);
  const c10 = pixelOr(img, rowBytes, px, h, w, iy + 2, ix + 2, zero);
  const c11 = pixelOr(img, rowBytes, px, h, w, iy + 2, ix + 3, zero);
  const c12 = pixelOr(img, rowBytes, px, h, w, iy + 3, ix, zero);
  const c13 = pixelOr(img, rowBytes, px, h, w, iy + 3, ix + 1, zero);
  const c14 = pixelOr(img, rowBytes, px, h, w, iy + 3, ix + 2, zero);
  const c15 = pixelOr(img, rowBytes, px, h, w, iy + 3, ix + 3, zero);
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 8 <= cin; c += 8) {
      const o = <usize>c << 1;
      const d = v + o;
      // Row i of B^T d, then that row times B, stored to positions 4i .. 4i + 3.
      inRowVec(d, vPos,
        i16x8.sub(v128.load(c0 + o), v128.load(c8 + o)), i16x8.sub(v128.load(c1 + o), v128.load(c9 + o)),
        i16x8.sub(v128.load(c2 + o), v128.load(c10 + o)), i16x8.sub(v128.load(c3 + o), v128.load(c11 + o)));
      inRowVec(d + 4 * vPos, vPos,
        i16x8.add(v128.load(c4 + o), v128.load(c8 + o)), i16x8.add(v128.load(c5 + o), v128.load(c9 + o)),
        i16x8.add(v128.load(c6 + o), v128.load(c10 + o)), i16x8.add(v128.load(c7 + o), v128.load(c11 + o)));
      inRowVec(d + 8 * vPos, vPos,
        i16x8.sub(v128.load(c8 + o), v128.load(c4 + o)), i16x8.sub(v128.load(c9 + o), v128.load(c5 + o)),
        i16x8.sub(v128.load(c10 + o), v128.load(c6 + o)), i16x8.sub(v128.load(c11 + o), v128.load(c7 + o)));
      inRowVec(d + 12 * vPos, vPos,
        i16x8.sub(v128.load(c4 + o), v128.load(c12 + o)), i16x8.sub(v128.load(c5 + o), v128.load(c13 + o)),
        i16x8.sub(v128.load(c6 + o), v128.load(c14 + o)), i16x8.sub(v128.load(c7 + o), v128.load(c15 + o)));
    }
  }
  for (; c < cin; c++) {
    const o = <usize>c << 1;
    const d = v + o;
    inRowScalar(d, vPos, ld(c0 + o) - ld(c8 + o), ld(c1 + o) - ld(c9 + o), ld(c2 + o) - ld(c10 + o), ld(c3 + o) - ld(c11 + o));
    inRowScalar(d + 4 * vPos, vPos, ld(c4 + o) + ld(c8 + o), ld(c5 + o) + ld(c9 + o), ld(c6 + o) + ld(c10 + o), ld(c7 + o) + ld(c11 + o));
    inRowScalar(d + 8 * vPos, vPos, ld(c8 + o) - ld(c4 + o), ld(c9 + o) - ld(c5 + o), ld(c10 + o) - ld(c6 + o), ld(c11 + o) - ld(c7 + o));
    inRowScalar(d + 12 * vPos, vPos, ld(c4 + o) - ld(c12 + o), ld(c5 + o) - ld(c13 + o), ld(c6 + o) - ld(c14 + o), ld(c7 + o) - ld(c15 + o));
  }
}

@inline function ld(p: usize): i32 {
  return <i32>load<i16>(p);
}

// A row t0..t3 of B^T d times B: t0 - t2, t1 + t2, t2 - t1, t1 - t3.
@inline function inRowVec(d: usize, vPos: usize, t0: v128, t1: v128, t2: v128, t3: v128): void {
  v128.store(d, i16x8.sub(t0, t2));
  v128.store(d + vPos, i16x8.add(t1, t2));
  v128.store(d + 2 * vPos, i16x8.sub(t2, t1));
  v128.store(d + 3 * vPos, i16x8.sub(t1, t3));
}

@inline function inRowScalar(d: usize, vPos: usize, t0: i32, t1: i32, t2: i32, t3: i32): void {
  store<i16>(d, <i16>(t0 - t2));
  store<i16>(d + vPos, <i16>(t1 + t2));
  store<i16>(d + 2 * vPos, <i16>(t2 - t1));
  store<i16>(d + 3 * vPos, <i16>(t1 - t3));
}

// Y = (A^T M A) >> 2 for one tile, A^T = [1 1 1 0; 0 1 -1 -1], stored as qgemm_q8_4x8 stores its
// accumulators: M(i, j) at m + (4 i + j) * mPos; output (a, b) to y00 + a * rowBytes + b * elem *
// cout when that pixel is inside the output (right, down). The shift divides exactly: the sum is 4Y.
@inline function outputTile(
  cout: i32, m: usize, mPos: usize, scale: usize, fbias: usize, y00: usize, rowBytes: usize, elem: usize, right: bool, down: bool,
  outKind: i32, zy: i32, ys: f32,
): void {
  const px = <usize>cout * elem;
  if (ASC_FEATURE_SIMD) {
    for (let c = 0; c < cout; c += GEMM_NR) {
      const o = <usize>c << 2;
      const nr = min(cout - c, GEMM_NR);
      const sp = scale + o;
      const bp: usize = fbias == 0 ? 0 : fbias + o;
      const yc = y00 + <usize>c * elem;
      const mc = m + o;
      // Columns j of A^T M for the group's two halves: s (row 0) and d (row 1).
      const s0 = colSumVec(mc, mPos, 0), d0 = colDiffVec(mc, mPos, 0);
      const s1 = colSumVec(mc, mPos, 1), d1 = colDiffVec(mc, mPos, 1);
      const s2 = colSumVec(mc, mPos, 2), d2 = colDiffVec(mc, mPos, 2);
      const s3 = colSumVec(mc, mPos, 3), d3 = colDiffVec(mc, mPos, 3);
      const t0 = colSumVec(mc + 16, mPos, 0), e0 = colDiffVec(mc + 16, mPos, 0);
      const t1 = colSumVec(mc + 16, mPos, 1), e1 = colDiffVec(mc + 16, mPos, 1);
      const t2 = colSumVec(mc + 16, mPos, 2), e2 = colDiffVec(mc + 16, mPos, 2);
      const t3 = colSumVec(mc + 16, mPos, 3), e3 = colDiffVec(mc + 16, mPos, 3);
      qstoreRow(yc, quarter(i32x4.add(i32x4.add(s0, s1), s2)), quarter(i32x4.add(i32x4.add(t0, t1), t2)), nr, sp, bp, outKind, zy, ys);
      if (right) qstoreRow(yc + px, quarter(i32x4.sub(i32x4.sub(s1, s2), s3)), quarter(i32x4.sub(i32x4.sub(t1, t2), t3)), nr, sp, bp, outKind, zy, ys);
      if (down) {
        qstoreRow(yc + rowBytes, quarter(i32x4.add(i32x4.add(d0, d1), d2)), quarter(i32x4.add(i32x4.add(e0, e1), e2)), nr, sp, bp, outKind, zy, ys);
        if (right) qstoreRow(yc + rowBytes + px, quarter(i32x4.sub(i32x4.sub(d1, d2), d3)), quarter(i32x4.sub(i32x4.sub(e1, e2), e3)), nr, sp, bp, outKind, zy, ys);
      }
    }
  } else {
    for (let c = 0; c < cout; c++) {
      const o = <usize>c << 2;
      const mc = m + o;
      const s0 = colSum(mc, mPos, 0), d0 = colDiff(mc, mPos, 0);
      const s1 = colSum(mc, mPos, 1), d1 = colDiff(mc, mPos, 1);
      const s2 = colSum(mc, mPos, 2), d2 = colDiff(mc, mPos, 2);
      const s3 = colSum(mc, mPos, 3), d3 = colDiff(mc, mPos, 3);
      qstoreOne(y00, c, (s0 + s1 + s2) >> 2, scale, fbias, outKind, zy, ys);
      if (right) qstoreOne(y00 + px, c, (s1 - s2 - s3) >> 2, scale, fbias, outKind, zy, ys);
      if (down) {
        qstoreOne(y00 + rowBytes, c, (d0 + d1 + d2) >> 2, scale, fbias, outKind, zy, ys);
        if (right) qstoreOne(y00 + rowBytes + px, c, (d1 - d2 - d3) >> 2, scale, fbias, outKind, zy, ys);
      }
    }
  }
}

@inline function quarter(v: v128): v128 {
  return i32x4.shr_s(v, 2);
}

@inline function colSumVec(m: usize, mPos: usize, j: i32): v128 {
  const p = m + <usize>j * mPos;
  return i32x4.add(i32x4.add(v128.load(p), v128.load(p + 4 * mPos)), v128.load(p + 8 * mPos));
}

@inline function colDiffVec(m: usize, mPos: usize, j: i32): v128 {
  const p = m + <usize>j * mPos;
  return i32x4.sub(i32x4.sub(v128.load(p + 4 * mPos), v128.load(p + 8 * mPos)), v128.load(p + 12 * mPos));
}

@inline function colSum(m: usize, mPos: usize, j: i32): i32 {
  const p = m + <usize>j * mPos;
  return load<i32>(p) + load<i32>(p + 4 * mPos) + load<i32>(p + 8 * mPos);
}

@inline function colDiff(m: usize, mPos: usize, j: i32): i32 {
  const p = m + <usize>j * mPos;
  return load<i32>(p + 4 * mPos) - load<i32>(p + 8 * mPos) - load<i32>(p + 12 * mPos);
}
