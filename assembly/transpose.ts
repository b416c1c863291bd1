// Batched 2-D transposes: the one non-trivial pattern left once a permutation is reduced (size-1
// axes dropped, axes that stay adjacent merged). Data movement only, so the SIMD and scalar builds
// are identical by construction; the SIMD build moves 4x4 blocks through registers.

import { copyRow } from "./row";

// Cache blocks of BLOCK x BLOCK floats: one block of x and one of y (16 KiB each) stay in L1 while
// its tiles are moved, so every cache line of both is fetched once even when rows are far apart.
const BLOCK = 64;

// Rows of planes moved together by the strip walks (transpose2d): four 4x4 tiles, one cache line.
const STRIP = 16;

// transpose_f32_4x4: for every outer index (o0, o1, o2, o3) < (s0, s1, s2, s3), j < rows, i < cols:
//   y[o0*ys0 + .. + o3*ys3 + i*ldy + j] = x[o0*xs0 + .. + o3*xs3 + j*ldx + i]
// x and y are byte offsets; sizes and strides count floats. A row of x (fixed j) is contiguous
// along i, a row of y (fixed i) contiguous along j. NCHW -> NHWC is rows = C, cols = H*W,
// ldx = H*W, ldy = C, with the batch as an outer axis; the reverse swaps the roles. x and y must
// not overlap. Nothing outside the addressed elements is read or written.
export function transpose_f32_4x4(
  rows: i32, cols: i32, s0: i32, s1: i32, s2: i32, s3: i32,
  x: usize, ldx: i32, xs0: i32, xs1: i32, xs2: i32, xs3: i32,
  y: usize, ldy: i32, ys0: i32, ys1: i32, ys2: i32, ys3: i32,
): void {
  outerLoops(x, y, rows, cols, 1, ldx, ldy, s0, s1, s2, s3, xs0, xs1, xs2, xs3, ys0, ys1, ys2, ys3);
}

// transpose_f32_rows: the same over runs of `inner` floats that move together (the permutation
// keeps the last axis last): for every outer index, j < rows, i < cols, k < inner:
//   y[o0*ys0 + .. + o3*ys3 + i*ldy + j*inner + k] = x[o0*xs0 + .. + o3*xs3 + j*ldx + i*inner + k]
// Same conventions as transpose_f32_4x4.
export function transpose_f32_rows(
  rows: i32, cols: i32, inner: i32, s0: i32, s1: i32, s2: i32, s3: i32,
  x: usize, ldx: i32, xs0: i32, xs1: i32, xs2: i32, xs3: i32,
  y: usize, ldy: i32, ys0: i32, ys1: i32, ys2: i32, ys3: i32,
): void {
  outerLoops(x, y, rows, cols, inner, ldx, ldy, s0, s1, s2, s3, xs0, xs1, xs2, xs3, ys0, ys1, ys2, ys3);
}

// The outer axes of both kernels; inner = 1 is the single-float transpose of transpose_f32_4x4.
// @inline so that each export keeps only its own tile routine.
@inline
function outerLoops(
  x: usize, y: usize, rows: i32, cols: i32, inner: i32, ldx: i32, ldy: i32,
  s0: i32, s1: i32, s2: i32, s3: i32,
  xs0: i32, xs1: i32, xs2: i32, xs3: i32,
  ys0: i32, ys1: i32, ys2: i32, ys3: i32,
): void {
  for (let o0 = 0; o0 < s0; o0++) {
    const x0 = x + (<usize>(o0 * xs0) << 2);
    const y0 = y + (<usize>(o0 * ys0) << 2);
    for (let o1 = 0; o1 < s1; o1++) {
      const x1 = x0 + (<usize>(o1 * xs1) << 2);
      const y1 = y0 + (<usize>(o1 * ys1) << 2);
      for (let o2 = 0; o2 < s2; o2++) {
        const x2 = x1 + (<usize>(o2 * xs2) << 2);
        const y2 = y1 + (<usize>(o2 * ys2) << 2);
        for (let o3 = 0; o3 < s3; o3++) {
          const xt = x2 + (<usize>(o3 * xs3) << 2);
          const yt = y2 + (<usize>(o3 * ys3) << 2);
          if (inner == 1) transpose2d(xt, yt, rows, cols, ldx, ldy);
          else rows2d(xt, yt, rows, cols, inner, ldx, ldy);
        }
      }
    }
  }
}

// Tiles of t x t runs, t = 64 / inner: 256 bytes (four cache lines, for runs that divide a line)
// of each of t rows, on each side. Every line a tile touches, of x and of y, is used whole by that
// tile, so no line is fetched twice whatever the strides (rows a power of two apart share cache
// sets, and a half-used line of theirs would be evicted before the walk came back to it); a tile
// (at most 8 KiB a side) stays in L1; and the loop over tiles costs little next to the copies,
// where tiles of one line a side spent more on it than on the runs of 8 floats they moved. Tiles
// follow the rows of whichever side has them further apart.
function rows2d(x: usize, y: usize, rows: i32, cols: i32, inner: i32, ldx: i32, ldy: i32): void {
  const bx = <usize>ldx << 2;
  const by = <usize>ldy << 2;
  const t = max(1, 64 / inner);
  if (ldy > ldx) {
    for (let i0 = 0; i0 < cols; i0 += t) {
      const i1 = min(i0 + t, cols);
      for (let j0 = 0; j0 < rows; j0 += t) runTile(x, y, j0, min(j0 + t, rows), i0, i1, inner, bx, by);
    }
  } else {
    for (let j0 = 0; j0 < rows; j0 += t) {
      const j1 = min(j0 + t, rows);
      for (let i0 = 0; i0 < cols; i0 += t) runTile(x, y, j0, j1, i0, min(i0 + t, cols), inner, bx, by);
    }
  }
}

// Runs of 2, 4 and 8 floats get loops of straight-line copies: a loop over so short a run inside
// the tile's loop cost several times the copy itself.
function runTile(x: usize, y: usize, j0: i32, j1: i32, i0: i32, i1: i32, inner: i32, bx: usize, by: usize): void {
  const run = <usize>inner << 2;
  const xt = x + <usize>j0 * bx + <usize>i0 * run;
  const yt = y + <usize>i0 * by + <usize>j0 * run;
  const m = <usize>(j1 - j0);
  const n = <usize>(i1 - i0);
  if (ASC_FEATURE_SIMD && inner == 4) {
    for (let j: usize = 0; j < m; j++) {
      for (let i: usize = 0; i < n; i++) v128.store(yt + i * by + (j << 4), v128.load(xt + j * bx + (i << 4)));
    }
  } else if (ASC_FEATURE_SIMD && inner == 8) {
    for (let j: usize = 0; j < m; j++) {
      for (let i: usize = 0; i < n; i++) {
        const xi = xt + j * bx + (i << 5);
        const yi = yt + i * by + (j << 5);
        v128.store(yi, v128.load(xi));
        v128.store(yi, v128.load(xi, 16), 16);
      }
    }
  } else if (inner == 2) {
    for (let j: usize = 0; j < m; j++) {
      for (let i: usize = 0; i < n; i++) store<u64>(yt + i * by + (j << 3), load<u64>(xt + j * bx + (i << 3)));
    }
  } else {
    for (let j: usize = 0; j < m; j++) {
      for (let i: usize = 0; i < n; i++) copyRow(xt + j * bx + i * run, yt + i * by + j * run, inner);
    }
  }
}

function transpose2d(x: usize, y: usize, rows: i32, cols: i32, ldx: i32, ldy: i32): void {
  // Two or three rows into pixels of two or three channels (and back) would leave every 4x4 tile
  // short: they interleave whole vectors instead, when the short side is densely packed.
  if (ASC_FEATURE_SIMD) {
    if (rows == 3 && ldy == 3) return interleave3(x, y, cols, ldx);
    if (cols == 3 && ldx == 3) return deinterleave3(x, y, rows, ldy);
    if (rows == 2 && ldy == 2) return interleave2(x, y, cols, ldx);
    if (cols == 2 && ldx == 2) return deinterleave2(x, y, rows, ldy);
  }
  const bx = <usize>ldx << 2;
  const by = <usize>ldy << 2;
  // Planes (rows of one side far apart, not a multiple of 4 KiB) against pixels (the other side's
  // rows packed): the planes go in groups of STRIP walked end to end, so that only STRIP pages and
  // prefetch streams of them are live, and every tile moves 64 contiguous bytes (a cache line's
  // worth) of each of its pixels. Fewer planes than a strip, or planes a multiple of 4 KiB apart
  // (which share cache sets), keep the square blocks below. Strips start on the pixels' cache
  // lines (lineStart).
  if (ldx > ldy && rows >= STRIP && (bx & 4095) != 0) {
    const j0 = lineStart(y, ldy, rows);
    const jEnd = j0 + ((rows - j0) & ~(STRIP - 1));
    for (let j = j0; j < jEnd; j += STRIP) {
      stripOfXRows(x + <usize>j * bx, y + (<usize>j << 2), cols, bx, by);
    }
    if (j0 == 0) return blocks(x, y, jEnd, rows, 0, cols, bx, by);
    // The straddling strip: planes from jEnd of each pixel but the last, then those before j0 of
    // the next pixel; the two corners it leaves go through the blocks.
    const o = straddling(jEnd, rows, bx);
    const d1 = straddling(jEnd + 4, rows, bx) - o;
    const d2 = straddling(jEnd + 8, rows, bx) - o;
    const d3 = straddling(jEnd + 12, rows, bx) - o;
    straddlingStripOfXRows(x + o, d1, d2, d3, y + (<usize>jEnd << 2), cols - 1, bx, by);
    blocks(x, y, 0, j0, 0, 1, bx, by);
    return blocks(x, y, jEnd, rows, cols - 1, cols, bx, by);
  }
  if (ldy > ldx && cols >= STRIP && (by & 4095) != 0) {
    // Here the straddling strip stores 4 bytes off y's lines, splitting a quarter of its stores
    // across two: it pays only when the aligned strips are at least two of three.
    const i0 = cols >= 3 * STRIP ? lineStart(x, ldx, cols) : 0;
    const iEnd = i0 + ((cols - i0) & ~(STRIP - 1));
    for (let i = i0; i < iEnd; i += STRIP) {
      stripOfYRows(x + (<usize>i << 2), y + <usize>i * by, rows, bx, by);
    }
    if (i0 == 0) return blocks(x, y, 0, rows, iEnd, cols, bx, by);
    const o = straddling(iEnd, cols, by);
    const d1 = straddling(iEnd + 4, cols, by) - o;
    const d2 = straddling(iEnd + 8, cols, by) - o;
    const d3 = straddling(iEnd + 12, cols, by) - o;
    straddlingStripOfYRows(x + (<usize>iEnd << 2), y + o, d1, d2, d3, rows - 1, bx, by);
    blocks(x, y, 0, 1, 0, i0, bx, by);
    return blocks(x, y, rows - 1, rows, iEnd, cols, bx, by);
  }
  blocks(x, y, 0, rows, 0, cols, bx, by);
}

// Where the strips start among the n planes of packed pixels at p (ld floats apart). Pixels whole
// cache lines long that do not start on one (p 16-aligned, not 64: tensors are 16-aligned) put a
// line across every two pixels, and strips of planes from 0 would each take part of two lines of
// every pixel, so that each line is fetched twice (1x64x56x56 both ways: 58-66% of memcpy, 69-77%
// aligned). They start instead at the first plane on a line, and the planes left at the end of
// one pixel and those before the start at the next, which fill that line, make one more strip.
// @ts-ignore: decorator
@inline
function lineStart(p: usize, ld: i32, n: i32): i32 {
  return ld == n && (n & 15) == 0 && (p & 15) == 0 ? <i32>(((<usize>64 - (p & 63)) & 63) >> 2) : 0;
}

// The byte offset of plane k of pixel 0 in the straddling strip over n planes b bytes apart:
// planes from n are those of pixel 1.
// @ts-ignore: decorator
@inline
function straddling(k: i32, n: i32, b: usize): usize {
  return k < n ? <usize>k * b : <usize>(k - n) * b + 4;
}

// A strip of 16 rows of x, every column: tiles of 16 rows x 4 columns, each four pixels of y 64
// bytes long.
function stripOfXRows(x: usize, y: usize, cols: i32, bx: usize, by: usize): void {
  xRowsWith(x, bx << 2, bx << 3, 12 * bx, y, cols, bx, by);
}

// The same over 16 rows not one stride apart (a straddling strip): rows 4, 8 and 12 start d1, d2
// and d3 bytes after row 0 at x0.
function straddlingStripOfXRows(x0: usize, d1: usize, d2: usize, d3: usize, y: usize, cols: i32, bx: usize, by: usize): void {
  xRowsWith(x0, d1, d2, d3, y, cols, bx, by);
}

// Inlined into both, so that the plain strips keep their offsets as multiples of the stride: one
// function taking the offsets ran them 5-8% slower.
// @ts-ignore: decorator
@inline
function xRowsWith(x0: usize, d1: usize, d2: usize, d3: usize, y: usize, cols: i32, bx: usize, by: usize): void {
  let xp = x0;
  let yp = y;
  let i = 0;
  for (; i + 4 <= cols; i += 4) {
    tile4x4(xp, yp, bx, by);
    tile4x4(xp + d1, yp + 16, bx, by);
    tile4x4(xp + d2, yp + 32, bx, by);
    tile4x4(xp + d3, yp + 48, bx, by);
    xp += 16;
    yp += by << 2;
  }
  for (; i < cols; i++) {
    column4(xp, yp, bx);
    column4(xp + d1, yp + 16, bx);
    column4(xp + d2, yp + 32, bx);
    column4(xp + d3, yp + 48, bx);
    xp += 4;
    yp += by;
  }
}

// A strip of 16 columns of x (rows of y), every row: tiles of 4 rows x 16 columns, each four
// pixels of x 64 bytes long.
function stripOfYRows(x: usize, y: usize, rows: i32, bx: usize, by: usize): void {
  yRowsWith(x, y, by << 2, by << 3, 12 * by, rows, bx, by);
}

// The same into 16 rows of y not one stride apart (a straddling strip): rows 4, 8 and 12 start
// d1, d2 and d3 bytes after row 0 at y0.
function straddlingStripOfYRows(x: usize, y0: usize, d1: usize, d2: usize, d3: usize, rows: i32, bx: usize, by: usize): void {
  yRowsWith(x, y0, d1, d2, d3, rows, bx, by);
}

// Inlined into both, as xRowsWith.
// @ts-ignore: decorator
@inline
function yRowsWith(x: usize, y0: usize, d1: usize, d2: usize, d3: usize, rows: i32, bx: usize, by: usize): void {
  let xp = x;
  let yp = y0;
  let j = 0;
  for (; j + 4 <= rows; j += 4) {
    tile4x4(xp, yp, bx, by);
    tile4x4(xp + 16, yp + d1, bx, by);
    tile4x4(xp + 32, yp + d2, bx, by);
    tile4x4(xp + 48, yp + d3, bx, by);
    xp += bx << 2;
    yp += 16;
  }
  for (; j < rows; j++) {
    row4(xp, yp, by);
    row4(xp + 16, yp + d1, by);
    row4(xp + 32, yp + d2, by);
    row4(xp + 48, yp + d3, by);
    xp += bx;
    yp += 4;
  }
}

// Rows j0 <= j < j1 and columns i0 <= i < i1 in square blocks of BLOCK.
function blocks(x: usize, y: usize, j0: i32, j1: i32, i0: i32, i1: i32, bx: usize, by: usize): void {
  // Tiles walk along y's rows (stores in order, loads from as many rows of x as the block has),
  // which is the faster walk, unless x's rows are a multiple of 4 KiB apart and y's are closer:
  // such rows share cache sets, and a line of theirs left part-read while the tiles visit the
  // other rows of the block is evicted before they come back to it; the tiles then walk along
  // x's rows instead, four of them at a time, reading each line whole.
  const alongY = by > bx || (bx & 4095) != 0;
  for (let ib = i0; ib < i1; ib += BLOCK) {
    const ie = min(ib + BLOCK, i1);
    for (let jb = j0; jb < j1; jb += BLOCK) {
      const je = min(jb + BLOCK, j1);
      if (alongY) blockAlongY(x, y, jb, je, ib, ie, bx, by);
      else blockAlongX(x, y, jb, je, ib, ie, bx, by);
    }
  }
}

// A block with tiles in x's row order: four rows of x at a time, left to right.
function blockAlongX(x: usize, y: usize, j0: i32, j1: i32, i0: i32, i1: i32, bx: usize, by: usize): void {
  let j = j0;
  for (; j + 4 <= j1; j += 4) {
    const xr = x + <usize>j * bx;
    const yr = y + (<usize>j << 2);
    let i = i0;
    let xp = xr + (<usize>i << 2);
    let yp = yr + <usize>i * by;
    for (; i + 4 <= i1; i += 4) {
      tile4x4(xp, yp, bx, by);
      xp += 16;
      yp += by << 2;
    }
    for (; i < i1; i++) column4(xr + (<usize>i << 2), yr + <usize>i * by, bx);
  }
  for (; j < j1; j++) {
    const xr = x + <usize>j * bx;
    const yj = y + (<usize>j << 2);
    for (let i = i0; i < i1; i++) store<f32>(yj + <usize>i * by, load<f32>(xr + (<usize>i << 2)));
  }
}

// A block with tiles in y's row order: four rows of y at a time, left to right.
function blockAlongY(x: usize, y: usize, j0: i32, j1: i32, i0: i32, i1: i32, bx: usize, by: usize): void {
  const jEnd = j0 + ((j1 - j0) & ~3);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const xc = x + (<usize>i << 2);
    const yc = y + <usize>i * by;
    let xp = xc + <usize>j0 * bx;
    let yp = yc + (<usize>j0 << 2);
    for (let j = j0; j < jEnd; j += 4) {
      tile4x4(xp, yp, bx, by);
      xp += bx << 2;
      yp += 16;
    }
  }
  for (; i < i1; i++) {
    const xc = x + (<usize>i << 2);
    const yc = y + <usize>i * by;
    for (let j = j0; j < jEnd; j += 4) column4(xc + <usize>j * bx, yc + (<usize>j << 2), bx);
  }
  for (let j = jEnd; j < j1; j++) {
    const xr = x + <usize>j * bx;
    const yj = y + (<usize>j << 2);
    for (let c = i0; c < i1; c++) store<f32>(yj + <usize>c * by, load<f32>(xr + (<usize>c << 2)));
  }
}

// One column of four rows of x (stride bx) into four consecutive floats of y.
// @ts-ignore: decorator
@inline
function column4(x: usize, y: usize, bx: usize): void {
  store<f32>(y, load<f32>(x));
  store<f32>(y, load<f32>(x + bx), 4);
  store<f32>(y, load<f32>(x + 2 * bx), 8);
  store<f32>(y, load<f32>(x + 3 * bx), 12);
}

// Four consecutive floats of x into one column of four rows of y (stride by).
// @ts-ignore: decorator
@inline
function row4(x: usize, y: usize, by: usize): void {
  store<f32>(y, load<f32>(x));
  store<f32>(y + by, load<f32>(x, 4));
  store<f32>(y + 2 * by, load<f32>(x, 8));
  store<f32>(y + 3 * by, load<f32>(x, 12));
}

// Rows a, b, c, d of 4 floats at x (row stride bx) become columns at y (row stride by).
// @ts-ignore: decorator
@inline
function tile4x4(x: usize, y: usize, bx: usize, by: usize): void {
  if (ASC_FEATURE_SIMD) {
    const a = v128.load(x);
    const b = v128.load(x + bx);
    const c = v128.load(x + 2 * bx);
    const d = v128.load(x + 3 * bx);
    const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
    const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
    const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
    const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
    v128.store(y, i64x2.shuffle(ab01, cd01, 0, 2));
    v128.store(y + by, i64x2.shuffle(ab01, cd01, 1, 3));
    v128.store(y + 2 * by, i64x2.shuffle(ab23, cd23, 0, 2));
    v128.store(y + 3 * by, i64x2.shuffle(ab23, cd23, 1, 3));
  } else {
    for (let i: usize = 0; i < 4; i++) {
      const xi = x + (i << 2);
      const yi = y + i * by;
      store<f32>(yi, load<f32>(xi));
      store<f32>(yi, load<f32>(xi + bx), 4);
      store<f32>(yi, load<f32>(xi + 2 * bx), 8);
      store<f32>(yi, load<f32>(xi + 3 * bx), 12);
    }
  }
}

// Three rows a, b, c (stride ldx) into cols pixels a b c, packed: 4 pixels (3 vectors) a step.
// Every shuffle takes two lanes of one operand then two of the other, or interleaves halves, the
// forms that compile to one instruction (shufps, unpck) where an arbitrary one costs several.
function interleave3(x: usize, y: usize, cols: i32, ldx: i32): void {
  const bx = <usize>ldx << 2;
  let i = 0;
  for (; i + 4 <= cols; i += 4) {
    const xi = x + (<usize>i << 2);
    const a = v128.load(xi);
    const b = v128.load(xi + bx);
    const c = v128.load(xi + 2 * bx);
    const yi = y + <usize>i * 12;
    const c0a1 = i32x4.shuffle(c, a, 0, 0, 5, 5);
    const c2a3 = i32x4.shuffle(c, a, 2, 2, 7, 7);
    v128.store(yi, i32x4.shuffle(i32x4.shuffle(a, b, 0, 4, 1, 5), c0a1, 0, 1, 4, 6));
    v128.store(yi, i32x4.shuffle(i32x4.shuffle(b, c, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7), 2, 3, 4, 5), 16);
    v128.store(yi, i32x4.shuffle(c2a3, i32x4.shuffle(b, c, 2, 6, 3, 7), 0, 2, 6, 7), 32);
  }
  for (; i < cols; i++) {
    const xi = x + (<usize>i << 2);
    const yi = y + <usize>i * 12;
    store<f32>(yi, load<f32>(xi));
    store<f32>(yi, load<f32>(xi + bx), 4);
    store<f32>(yi, load<f32>(xi + 2 * bx), 8);
  }
}

// Packed pixels a b c (rows of them) into three rows a, b, c (stride ldy): 4 pixels a step, with
// the one-instruction shuffle forms of interleave3.
function deinterleave3(x: usize, y: usize, rows: i32, ldy: i32): void {
  const by = <usize>ldy << 2;
  let j = 0;
  for (; j + 4 <= rows; j += 4) {
    const xj = x + <usize>j * 12;
    const p = v128.load(xj);
    const q = v128.load(xj, 16);
    const r = v128.load(xj, 32);
    const yj = y + (<usize>j << 2);
    v128.store(yj, i32x4.shuffle(p, i32x4.shuffle(q, r, 2, 2, 5, 5), 0, 3, 4, 6));
    v128.store(yj + by, i32x4.shuffle(i32x4.shuffle(p, q, 1, 1, 4, 4), i32x4.shuffle(q, r, 3, 3, 6, 6), 0, 2, 4, 6));
    v128.store(yj + 2 * by, i32x4.shuffle(i32x4.shuffle(p, q, 2, 2, 5, 5), r, 0, 2, 4, 7));
  }
  for (; j < rows; j++) {
    const xj = x + <usize>j * 12;
    const yj = y + (<usize>j << 2);
    store<f32>(yj, load<f32>(xj));
    store<f32>(yj + by, load<f32>(xj, 4));
    store<f32>(yj + 2 * by, load<f32>(xj, 8));
  }
}

// Two rows a, b (stride ldx) into cols pairs a b: 4 pairs (2 vectors) a step.
function interleave2(x: usize, y: usize, cols: i32, ldx: i32): void {
  const bx = <usize>ldx << 2;
  let i = 0;
  for (; i + 4 <= cols; i += 4) {
    const xi = x + (<usize>i << 2);
    const a = v128.load(xi);
    const b = v128.load(xi + bx);
    const yi = y + (<usize>i << 3);
    v128.store(yi, i32x4.shuffle(a, b, 0, 4, 1, 5));
    v128.store(yi, i32x4.shuffle(a, b, 2, 6, 3, 7), 16);
  }
  for (; i < cols; i++) {
    const xi = x + (<usize>i << 2);
    const yi = y + (<usize>i << 3);
    store<f32>(yi, load<f32>(xi));
    store<f32>(yi, load<f32>(xi + bx), 4);
  }
}

// Packed pairs a b (rows of them) into two rows a, b (stride ldy): 4 pairs a step.
function deinterleave2(x: usize, y: usize, rows: i32, ldy: i32): void {
  const by = <usize>ldy << 2;
  let j = 0;
  for (; j + 4 <= rows; j += 4) {
    const xj = x + (<usize>j << 3);
    const p = v128.load(xj);
    const q = v128.load(xj, 16);
    const yj = y + (<usize>j << 2);
    v128.store(yj, i32x4.shuffle(p, q, 0, 2, 4, 6));
    v128.store(yj + by, i32x4.shuffle(p, q, 1, 3, 5, 7));
  }
  for (; j < rows; j++) {
    const xj = x + (<usize>j << 3);
    const yj = y + (<usize>j << 2);
    store<f32>(yj, load<f32>(xj));
    store<f32>(yj + by, load<f32>(xj, 4));
  }
}
