import { ACT_CLAMP, ACT_LEAKY, ACT_NONE, activateScalar, activateVec } from "./activation";
import { GEMM_NR, igemm_f32_4x8 } from "./igemm";
import { activateRows } from "./tile_store";

// Winograd minimal filtering F(2x2, 3x3) (Lavin & Gray 2015): a 3x3 stride-1 convolution computed
// per 2x2 output tile from the 4x4 input tile around it, as 16 elementwise products in the
// transformed domain instead of 36 direct ones. Over channels each of the 16 products is a GEMM
// (tiles x Cin times Cin x Cout), which igemm_f32_4x8 runs; this file holds the transforms:
//   input   V = B^T d B   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   weights U = G g G^T   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   output  Y = A^T M A   A^T = [1 1 1 0; 0 1 -1 -1]
// B and A hold only 0 and +-1, so the input and output transforms are additions. F(2x2, 3x3)
// rather than F(4x4, 3x3): simulated in float32 (npm run bench:winograd-error) this tiling's
// error is that of direct summation, the larger one's 3-4.5x its mean and 5-7x its worst error
// (1.4e-4 at 64 channels of unit-scale data), against the 1e-4 the U-Net tests allow against
// onnxruntime.

// Transformed positions per tile: one GEMM each.
const POS: i32 = 16;
// Floats between consecutive positions' blocks in the scratch beyond their rows: with power-of-two
// channel counts the 16 blocks would otherwise start a power of two apart, in the same L1 sets,
// and the transforms' 16 streams would evict one another.
const POS_PAD: i32 = 16;

// winograd_weights_f32_2x2k3: packs weights g (Cout x 3 x 3 x Cin floats, OHWI) into 16 GEMM
// weight sets, one per transformed position k = 4i + j, each laid out as pack_gemm_f32_8 lays out
// Cin x Cout: 8-column panels of [bias 8 (zeros)][Cin rows of 8], zero-padded past cout. The
// transform runs in float64 and rounds once, so U is the exact G g G^T rounded to float32.
export function winograd_weights_f32_2x2k3(cin: i32, cout: i32, g: usize, out: usize): void {
  const panels = (cout + GEMM_NR - 1) / GEMM_NR;
  const panelBytes = <usize>(cin + 1) * GEMM_NR * 4;
  const posBytes = <usize>panels * panelBytes;
  memory.fill(out, 0, posBytes * POS);
  for (let co = 0; co < cout; co++) {
    const colOff = <usize>(co / GEMM_NR) * panelBytes + GEMM_NR * 4 + (<usize>(co % GEMM_NR) << 2);
    for (let ci = 0; ci < cin; ci++) {
      // Tap (ky, kx) of this filter is at base + (3 ky + kx) s.
      const base = g + (<usize>(co * 9 * cin + ci) << 2);
      const s = <usize>cin << 2;
      // Rows of G g: for each column kx, the 4 combinations of the taps (0, kx), (1, kx), (2, kx).
      let r00: f64 = 0, r01: f64 = 0, r02: f64 = 0;
      let r10: f64 = 0, r11: f64 = 0, r12: f64 = 0;
      let r20: f64 = 0, r21: f64 = 0, r22: f64 = 0;
      let r30: f64 = 0, r31: f64 = 0, r32: f64 = 0;
      for (let kx = 0; kx < 3; kx++) {
        const g0 = <f64>load<f32>(base + <usize>kx * s);
        const g1 = <f64>load<f32>(base + <usize>(3 + kx) * s);
        const g2 = <f64>load<f32>(base + <usize>(6 + kx) * s);
        const a = g0;
        const b = (g0 + g1 + g2) * 0.5;
        const c = (g0 - g1 + g2) * 0.5;
        const d = g2;
        if (kx == 0) { r00 = a; r10 = b; r20 = c; r30 = d; }
        else if (kx == 1) { r01 = a; r11 = b; r21 = c; r31 = d; }
        else { r02 = a; r12 = b; r22 = c; r32 = d; }
      }
      const dst = out + colOff + (<usize>ci * GEMM_NR << 2);
      storeRowU(dst, posBytes, 0, r00, r01, r02);
      storeRowU(dst, posBytes, 1, r10, r11, r12);
      storeRowU(dst, posBytes, 2, r20, r21, r22);
      storeRowU(dst, posBytes, 3, r30, r31, r32);
    }
  }
}

// Row i of U = (G g) G^T, positions 4i .. 4i + 3.
@inline function storeRowU(dst: usize, posBytes: usize, i: i32, a: f64, b: f64, c: f64): void {
  const p = dst + <usize>(i * 4) * posBytes;
  store<f32>(p, <f32>a);
  store<f32>(p + posBytes, <f32>((a + b + c) * 0.5));
  store<f32>(p + 2 * posBytes, <f32>((a - b + c) * 0.5));
  store<f32>(p + 3 * posBytes, <f32>c);
}

// conv2d_f32_winograd_2x2k3: y = act(conv3x3(x) + bias (+ r)), stride 1, no dilation, for the
// output tiles [tile0, tile0 + tiles): tile t of image b covers output rows 2 ty, 2 ty + 1 and
// columns 2 tx, 2 tx + 1 (t = (b * tilesY + ty) * tilesX + tx, tilesY = ceil(oh / 2), tilesX =
// ceil(ow / 2)), and reads input rows 2 ty - pt .. + 3 and columns 2 tx - pl .. + 3, zeros outside.
// x: NHWC [., h, w, cin]; zero: at least cin zero floats; u: winograd_weights_f32_2x2k3's packing;
// bias: cout floats; r: a residual laid out as y, or 0; y: NHWC [., oh, ow, cout].
// scratch holds `block` tiles at a time, as [rows i32 row offsets][V: 16 x (rows x cin + 16)
// floats][M: 16 x (rows x cout + 16) floats], rows = block rounded up to 4 (each position's rows,
// then 16 floats of padding). Every output is the same function of its tile whatever the
// blocking, the range and the build: the transforms take fixed orders and the GEMM adds its
// products in k order.
export function conv2d_f32_winograd_2x2k3(
  h: i32, w: i32, cin: i32, cout: i32, oh: i32, ow: i32, pt: i32, pl: i32, tile0: i32, tiles: i32, block: i32,
  x: usize, zero: usize, u: usize, bias: usize, r: usize,
  scratch: usize, y: usize,
  act: i32, p0: f32, p1: f32,
): void {
  const rows = (block + 3) & ~3;
  const ind = scratch;
  const v = scratch + (<usize>rows << 2);
  const vPos = <usize>(rows * cin + POS_PAD) << 2;
  const m = v + vPos * POS;
  const mPos = <usize>(rows * cout + POS_PAD) << 2;
  const posBytes = <usize>((cout + GEMM_NR - 1) / GEMM_NR) * (cin + 1) * GEMM_NR * 4;
  const tilesX = (ow + 1) >> 1;
  const perImage = ((oh + 1) >> 1) * tilesX;
  const end = tile0 + tiles;
  for (let t0 = tile0; t0 < end; t0 += block) {
    const nb = min(block, end - t0);
    // Rows past nb (the last 4-row GEMM tile's padding) repeat a real row; their sums are not stored.
    for (let i = 0; i < rows; i++) store<i32>(ind + (<usize>i << 2), min(i, nb - 1) * cin * 4);
    for (let i = 0; i < nb; i++) {
      const t = t0 + i;
      const b = t / perImage;
      const q = t - b * perImage;
      const ty = q / tilesX;
      const iy = 2 * ty - pt;
      const ix = 2 * (q - ty * tilesX) - pl;
      inputTile(h, w, cin, b, iy, ix, x, zero, v + (<usize>i * cin << 2), vPos);
    }
    for (let k = 0; k < POS; k++) {
      igemm_f32_4x8(
        nb, cout, cin, 1, v + <usize>k * vPos, ind, 0, zero, u + <usize>k * posBytes, 0,
        m + <usize>k * mPos, cout, ACT_NONE, 0, 0,
      );
    }
    for (let i = 0; i < nb; i++) {
      const t = t0 + i;
      const b = t / perImage;
      const q = t - b * perImage;
      const ty = q / tilesX;
      const oy = 2 * ty;
      const ox = 2 * (q - ty * tilesX);
      const mt = m + (<usize>i * cout << 2);
      const y00 = y + (<usize>((b * oh + oy) * ow + ox) * cout << 2);
      const r00: usize = r == 0 ? 0 : r + (y00 - y);
      const right = ox + 1 < ow;
      const down = oy + 1 < oh;
      if (act == ACT_CLAMP) outputTile(cout, mt, mPos, bias, r00, y00, ow, right, down, ACT_CLAMP, p0, p1);
      else if (act == ACT_NONE) outputTile(cout, mt, mPos, bias, r00, y00, ow, right, down, ACT_NONE, p0, p1);
      else if (act == ACT_LEAKY) outputTile(cout, mt, mPos, bias, r00, y00, ow, right, down, ACT_LEAKY, p0, p1);
      else {
        // The other kinds out of line, after the stores (see activateRows).
        outputTile(cout, mt, mPos, bias, r00, y00, ow, right, down, ACT_NONE, p0, p1);
        const rowBytes = <usize>ow * cout << 2;
        activateRows(y00, cout * (right ? 2 : 1), act, p0, p1);
        if (down) activateRows(y00 + rowBytes, cout * (right ? 2 : 1), act, p0, p1);
      }
    }
  }
}

// V = B^T d B for one tile, every channel: d(i, j) is input pixel (iy + i, ix + j), zero outside;
// V(i, j) goes to v + (4 i + j) * vPos.
function inputTile(h: i32, w: i32, cin: i32, b: i32, iy: i32, ix: i32, x: usize, zero: usize, v: usize, vPos: usize): void {
  const px = <usize>cin << 2;
  const rowBytes = <usize>w * px;
  const img = x + <usize>(b * h) * rowBytes;
  // Row i's 4 pixels start at d[i] + j * px, or all at `zero` (stride 0) when the row is outside;
  // columns outside are handled by their own pointers below.
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
    for (; c + 4 <= cin; c += 4) {
      const o = <usize>c << 2;
      const d = v + o;
      // Row i of B^T d, then that row times B, stored to positions 4i .. 4i + 3.
      inRowVec(d, vPos,
        f32x4.sub(v128.load(c0 + o), v128.load(c8 + o)), f32x4.sub(v128.load(c1 + o), v128.load(c9 + o)),
        f32x4.sub(v128.load(c2 + o), v128.load(c10 + o)), f32x4.sub(v128.load(c3 + o), v128.load(c11 + o)));
      inRowVec(d + 4 * vPos, vPos,
        f32x4.add(v128.load(c4 + o), v128.load(c8 + o)), f32x4.add(v128.load(c5 + o), v128.load(c9 + o)),
        f32x4.add(v128.load(c6 + o), v128.load(c10 + o)), f32x4.add(v128.load(c7 + o), v128.load(c11 + o)));
      inRowVec(d + 8 * vPos, vPos,
        f32x4.sub(v128.load(c8 + o), v128.load(c4 + o)), f32x4.sub(v128.load(c9 + o), v128.load(c5 + o)),
        f32x4.sub(v128.load(c10 + o), v128.load(c6 + o)), f32x4.sub(v128.load(c11 + o), v128.load(c7 + o)));
      inRowVec(d + 12 * vPos, vPos,
        f32x4.sub(v128.load(c4 + o), v128.load(c12 + o)), f32x4.sub(v128.load(c5 + o), v128.load(c13 + o)),
        f32x4.sub(v128.load(c6 + o), v128.load(c14 + o)), f32x4.sub(v128.load(c7 + o), v128.load(c15 + o)));
    }
  }
  for (; c < cin; c++) {
    const o = <usize>c << 2;
    const d = v + o;
    inRowScalar(d, vPos,
      load<f32>(c0 + o) - load<f32>(c8 + o), load<f32>(c1 + o) - load<f32>(c9 + o),
      load<f32>(c2 + o) - load<f32>(c10 + o), load<f32>(c3 + o) - load<f32>(c11 + o));
    inRowScalar(d + 4 * vPos, vPos,
      load<f32>(c4 + o) + load<f32>(c8 + o), load<f32>(c5 + o) + load<f32>(c9 + o),
      load<f32>(c6 + o) + load<f32>(c10 + o), load<f32>(c7 + o) + load<f32>(c11 + o));
    inRowScalar(d + 8 * vPos, vPos,
      load<f32>(c8 + o) - load<f32>(c4 + o), load<f32>(c9 + o) - load<f32>(c5 + o),
      load<f32>(c10 + o) - load<f32>(c6 + o), load<f32>(c11 + o) - load<f32>(c7 + o));
    inRowScalar(d + 12 * vPos, vPos,
      load<f32>(c4 + o) - load<f32>(c12 + o), load<f32>(c5 + o) - load<f32>(c13 + o),
      load<f32>(c6 + o) - load<f32>(c14 + o), load<f32>(c7 + o) - load<f32>(c15 + o));
  }
}

// The address of input pixel (iy, ix) of one image, or `zero` outside it (the 8-bit Winograd
// reads its tiles the same way).
@inline export function pixelOr(img: usize, rowBytes: usize, px: usize, h: i32, w: i32, iy: i32, ix: i32, zero: usize): usize {
  return <u32>iy < <u32>h && <u32>ix < <u32>w ? img + <usize>iy * rowBytes + <usize>ix * px : zero;
}

// A row t0..t3 of B^T d times B: t0 - t2, t1 + t2, t2 - t1, t1 - t3.
@inline function inRowVec(d: usize, vPos: usize, t0: v128, t1: v128, t2: v128, t3: v128): void {
  v128.store(d, f32x4.sub(t0, t2));
  v128.store(d + vPos, f32x4.add(t1, t2));
  v128.store(d + 2 * vPos, f32x4.sub(t2, t1));
  v128.store(d + 3 * vPos, f32x4.sub(t1, t3));
}

@inline function inRowScalar(d: usize, vPos: usize, t0: f32, t1: f32, t2: f32, t3: f32): void {
  store<f32>(d, t0 - t2);
  store<f32>(d + vPos, t1 + t2);
  store<f32>(d + 2 * vPos, t2 - t1);
  store<f32>(d + 3 * vPos, t1 - t3);
}

// Y = A^T M A + bias (+ r), activated, for one tile: M(i, j) at m + (4 i + j) * mPos; Y(a, b) to
// y00 + (a * ow + b) * cout floats when that pixel is inside the output (right, down).
@inline function outputTile(
  cout: i32, m: usize, mPos: usize, bias: usize, r00: usize, y00: usize, ow: i32, right: bool, down: bool,
  act: i32, p0: f32, p1: f32,
): void {
  const rowBytes = <usize>ow * cout << 2;
  const px = <usize>cout << 2;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= cout; c += 4) {
      const o = <usize>c << 2;
      const mc = m + o;
      // Columns j of A^T M: s (= row 0) and d (= row 1).
      const s0 = colSumVec(mc, mPos, 0), d0 = colDiffVec(mc, mPos, 0);
      const s1 = colSumVec(mc, mPos, 1), d1 = colDiffVec(mc, mPos, 1);
      const s2 = colSumVec(mc, mPos, 2), d2 = colDiffVec(mc, mPos, 2);
      const s3 = colSumVec(mc, mPos, 3), d3 = colDiffVec(mc, mPos, 3);
      const bv = v128.load(bias + o);
      let y0 = f32x4.add(f32x4.add(f32x4.add(s0, s1), s2), bv);
      let y1 = f32x4.add(f32x4.sub(f32x4.sub(s1, s2), s3), bv);
      let y2 = f32x4.add(f32x4.add(f32x4.add(d0, d1), d2), bv);
      let y3 = f32x4.add(f32x4.sub(f32x4.sub(d1, d2), d3), bv);
      if (r00 != 0) {
        const rc = r00 + o;
        y0 = f32x4.add(y0, v128.load(rc));
        if (right) y1 = f32x4.add(y1, v128.load(rc + px));
        if (down) {
          y2 = f32x4.add(y2, v128.load(rc + rowBytes));
          if (right) y3 = f32x4.add(y3, v128.load(rc + rowBytes + px));
        }
      }
      const yc = y00 + o;
      v128.store(yc, activateVec(y0, act, p0, p1));
      if (right) v128.store(yc + px, activateVec(y1, act, p0, p1));
      if (down) {
        v128.store(yc + rowBytes, activateVec(y2, act, p0, p1));
        if (right) v128.store(yc + rowBytes + px, activateVec(y3, act, p0, p1));
      }
    }
  }
  for (; c < cout; c++) {
    const o = <usize>c << 2;
    const mc = m + o;
    const s0 = colSum(mc, mPos, 0), d0 = colDiff(mc, mPos, 0);
    const s1 = colSum(mc, mPos, 1), d1 = colDiff(mc, mPos, 1);
    const s2 = colSum(mc, mPos, 2), d2 = colDiff(mc, mPos, 2);
    const s3 = colSum(mc, mPos, 3), d3 = colDiff(mc, mPos, 3);
    const bv = load<f32>(bias + o);
    let y0 = s0 + s1 + s2 + bv;
    let y1 = s1 - s2 - s3 + bv;
    let y2 = d0 + d1 + d2 + bv;
    let y3 = d1 - d2 - d3 + bv;
    if (r00 != 0) {
      const rc = r00 + o;
      y0 += load<f32>(rc);
      if (right) y1 += load<f32>(rc + px);
      if (down) {
        y2 += load<f32>(rc + rowBytes);
        if (right) y3 += load<f32>(rc + rowBytes + px);
      }
    }
    const yc = y00 + o;
    store<f32>(yc, activateScalar(y0, act, p0, p1));
    if (right) store<f32>(yc + px, activateScalar(y1, act, p0, p1));
    if (down) {
      store<f32>(yc + rowBytes, activateScalar(y2, act, p0, p1));
      if (right) store<f32>(yc + rowBytes + px, activateScalar(y3, act, p0, p1));
    }
  }
}

// Column j of A^T M: M(0, j) + M(1, j) + M(2, j) and M(1, j) - M(2, j) - M(3, j).
@inline function colSumVec(m: usize, mPos: usize, j: i32): v128 {
  const p = m + <usize>j * mPos;
  return f32x4.add(f32x4.add(v128.load(p), v128.load(p + 4 * mPos)), v128.load(p + 8 * mPos));
}

@inline function colDiffVec(m: usize, mPos: usize, j: i32): v128 {
  const p = m + <usize>j * mPos;
  return f32x4.sub(f32x4.sub(v128.load(p + 4 * mPos), v128.load(p + 8 * mPos)), v128.load(p + 12 * mPos));
}

@inline function colSum(m: usize, mPos: usize, j: i32): f32 {
  const p = m + <usize>j * mPos;
  return load<f32>(p) + load<f32>(p + 4 * mPos) + load<f32>(p + 8 * mPos);
}

@inline function colDiff(m: usize, mPos: usize, j: i32): f32 {
  const p = m + <usize>j * mPos;
  return load<f32>(p + 4 * mPos) - load<f32>(p + 8 * mPos) - load<f32>(p + 12 * mPos);
}
