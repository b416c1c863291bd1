import { ACT_CLAMP, ACT_LEAKY, ACT_NONE, activateScalar, activateVec } from "./activation";
import { activateRows, loadPartial, storePartial } from "./tile_store";
import { transpose_f32_4x4 } from "./transpose";

// conv2d_f32_small_8x4: convolution with at most 8 output channels (an image model's RGB or mask
// output, a first layer on RGB), vectorised along the output pixels instead of the channels,
// where 8-channel panels would leave most lanes empty: a vector holds 4 neighbouring output
// pixels of one output channel, a weight is a pre-splatted vector, and a tile keeps every
// accumulator of 8 pixels x 3 or 4 channels, or 16 pixels x 1 or 2, in registers. More than 4
// channels run as groups of 4 and the rest, each over the whole row.
// The kernel reads its input zero-padded and row-planar, each padded image row holding its cin
// channel rows of wp floats one after another, so 4 pixels of a channel at stride 1 are one vector
// load. It makes that copy a band of output rows at a time in buf, and computes the band before
// the next: a copy of the whole image written, then read back, went through L2 or memory twice
// where the band stays in L1.
// x: one NHWC image [h][w][cin]; the convolution padded by pt rows on top, pl columns on the
//    left, to rows of wp floats; rows past the image's end read as zeros.
// buf: ((band - 1) * sh + span) padded rows of cin * wp floats, then 16 floats of slack (the
//    tiles read up to 15 floats past a band's last row, and use none of them); its columns
//    outside [pl, pl + w) zero (the kernel writes only the others). span: the padded rows one
//    output row reads, (kh - 1) * dh + 1.
// oy0, oh: the output rows computed, from oy0 (y and r point at row oy0).
// w: per channel group of G channels (4, then the rest), kk + 1 records of 16 + 16 G bytes: the
//    byte offset in a band of the product's input from the window's first input (u32, then 12
//    unused bytes), then each channel's weight splatted to 4 lanes; the first record holds the
//    bias (its offset unused), the others the window's kk = kh*kw*cin products in (ky, kx, ci)
//    order. The offset beside the weights is one pointer walked by the tile (pointer arithmetic
//    over three counters cost more instructions than the products), and a splatted weight is one
//    load. Tiles that read no offsets, a 3-wide window's taps at immediate offsets unrolled over a
//    window column or row, ran slower under V8 (README: their longer loop bodies).
// r: 0, or a residual of y's layout, added to each sum before the activation.
// y: NHWC [oh][ow][n].
// Each output is the bias plus its products in (ky, kx, ci) order, multiplied and added apart:
// the order of igemm_f32_4x8, so this path and the general one give the same bits. The SIMD
// build vectorises horizontal stride 1; other strides, and the scalar build, run the same sums
// one output at a time.
export function conv2d_f32_small_8x4(
  h: i32, w: i32, cin: i32, pt: i32, pl: i32, wp: i32, span: i32, oy0: i32, oh: i32, ow: i32, n: i32, kk: i32, sh: i32, sw: i32,
  band: i32, x: usize, buf: usize, wr: usize, r: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  const rowBytes = <usize>(cin * wp) << 2;
  const outRowBytes = <usize>(ow * n) << 2;
  // The padded rows buf holds, from `held`, and how many.
  let held = 0;
  let count = 0;
  for (let b0 = 0; b0 < oh; b0 += band) {
    const rows = min(band, oh - b0);
    const first = (oy0 + b0) * sh;
    const need = (rows - 1) * sh + span;
    // Rows the last band copied and this one reads again move to the top.
    const keep = max(0, min(held + count - first, need));
    if (keep > 0) memory.copy(buf, buf + <usize>(first - held) * rowBytes, <usize>keep * rowBytes);
    for (let i = keep; i < need; i++) {
      const iy = first + i - pt;
      const dst = buf + <usize>i * rowBytes;
      const src = x + (<usize>(iy * w * cin) << 2);
      if (iy < 0 || iy >= h) memory.fill(dst, 0, rowBytes);
      else if (cin == 1) memory.copy(dst + (<usize>pl << 2), src, <usize>w << 2);
      else transpose_f32_4x4(w, cin, 1, 1, 1, 1, src, cin, 0, 0, 0, 0, dst + (<usize>pl << 2), wp, 0, 0, 0, 0);
    }
    held = first;
    count = need;
    const yb = y + <usize>b0 * outRowBytes;
    const rb = r != 0 ? r + <usize>b0 * outRowBytes : 0;
    convRows(buf, rowBytes, rows, ow, n, kk, sh, sw, wr, rb, yb, act, p0, p1);
  }
}

// Output rows over a band held in buf.
function convRows(
  buf: usize, rowBytes: usize, oh: i32, ow: i32, n: i32, kk: i32, sh: i32, sw: i32,
  w: usize, r: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  // The residual is addressed by its distance from y.
  const res = r != 0;
  const rd = r - y;
  // Clamp, none and leaky relu are applied in the stores, by copies without a branch on the kind
  // per vector; the other kinds are applied to each output row once it is stored (tile_store.ts's
  // activateRows says why).
  // Constants reach the tiles as type arguments (A here, T for the tile's shape): a literal
  // argument of an inlined function becomes a local that other inlined copies also write, and
  // stays a variable in the loop.
  if (act == ACT_CLAMP) smallBody<u16>(buf, rowBytes, oh, ow, n, kk, sh, sw, w, res, rd, y, ACT_NONE, p0, p1);
  else if (act == ACT_LEAKY) smallBody<u32>(buf, rowBytes, oh, ow, n, kk, sh, sw, w, res, rd, y, ACT_NONE, p0, p1);
  else smallBody<u8>(buf, rowBytes, oh, ow, n, kk, sh, sw, w, res, rd, y, act, p0, p1);
}

// The activation applied in the stores, by the size of A: u8 none, u16 clamp, u32 leaky relu.
@inline function storeAct<A>(): i32 {
  return sizeof<A>() == 1 ? ACT_NONE : sizeof<A>() == 2 ? ACT_CLAMP : ACT_LEAKY;
}

@inline function smallBody<A>(
  x: usize, rowBytes: usize, oh: i32, ow: i32, n: i32, kk: i32, sh: i32, sw: i32,
  w: usize, res: bool, rd: usize, y: usize, post: i32, p0: f32, p1: f32,
): void {
  const pixBytes = <usize>n << 2;
  // A group of 4 channels' records.
  const group4 = <usize>(kk + 1) * 80;
  for (let oy = 0; oy < oh; oy++) {
    const row = x + <usize>(oy * sh) * rowBytes;
    const yRow = y + <usize>(oy * ow) * pixBytes;
    for (let j = 0; j < n; j += 4) {
      const g = min(n - j, 4);
      const wg = w + <usize>(j >> 2) * group4;
      if (ASC_FEATURE_SIMD && sw == 1) {
        channelsRow<A>(row, ow, kk, wg, res, rd, yRow + (<usize>j << 2), g, pixBytes, p0, p1);
      } else {
        scalarRow(row, ow, g, sw, kk, wg, res, rd, yRow + (<usize>j << 2), pixBytes, storeAct<A>(), p0, p1);
      }
    }
    if (post != ACT_NONE) activateRows(yRow, ow * n, post, p0, p1);
  }
}

// One output row of g channels in tiles of 4*P pixels, the last one partly stored. P keeps g*P
// accumulators, P pixel vectors and a weight within V8's 15 registers.
@inline function channelsRow<A>(
  row: usize, ow: i32, kk: i32, w: usize, res: bool, rd: usize, y: usize, g: i32, pixBytes: usize, p0: f32, p1: f32,
): void {
  if (g == 1) rowOf<u8, A>(row, ow, kk, w, res, rd, y, pixBytes, p0, p1);
  else if (g == 2) rowOf<u16, A>(row, ow, kk, w, res, rd, y, pixBytes, p0, p1);
  else if (g == 3) rowOf<u32, A>(row, ow, kk, w, res, rd, y, pixBytes, p0, p1);
  else rowOf<u64, A>(row, ow, kk, w, res, rd, y, pixBytes, p0, p1);
}

@inline function rowOf<T, A>(
  row: usize, ow: i32, kk: i32, w: usize, res: bool, rd: usize, y: usize, pixBytes: usize, p0: f32, p1: f32,
): void {
  const span = sizeof<T>() >= 4 ? 8 : 16;
  for (let ox = 0; ox < ow; ox += span) {
    tile<T, A>(row + (<usize>ox << 2), kk, w, res, rd, y + <usize>ox * pixBytes, pixBytes, ow - ox, p0, p1);
  }
}

// P vectors of 4 pixels x G channels, by the size of T: u8 1 channel x 4 vectors, u16 2 x 4,
// u32 3 x 2, u64 4 x 2; of which the first `rem` pixels are stored (pixels past
// the row's end read the next row's floats or x's slack, and are dropped).
@inline function tile<T, A>(
  a: usize, kk: i32, w: usize, res: bool, rd: usize, y: usize, pixBytes: usize, rem: i32, p0: f32, p1: f32,
): void {
  const G = sizeof<T>() == 8 ? 4 : sizeof<T>() == 4 ? 3 : <i32>sizeof<T>();
  const P = sizeof<T>() >= 4 ? 2 : 4;
  const R = <usize>(16 + 16 * G);
  const act = sizeof<A>() == 1 ? ACT_NONE : sizeof<A>() == 2 ? ACT_CLAMP : ACT_LEAKY;
  const z = f32x4.splat(0);
  let c00 = v128.load(w, 16);
  let c01 = G > 1 ? v128.load(w, 32) : z;
  let c02 = G > 2 ? v128.load(w, 48) : z;
  let c03 = G > 3 ? v128.load(w, 64) : z;
  let c10 = c00, c11 = c01, c12 = c02, c13 = c03;
  let c20 = c00, c21 = c01, c22 = c02, c23 = c03;
  let c30 = c00, c31 = c01, c32 = c02, c33 = c03;
  const end = w + <usize>(kk + 1) * R;
  for (let o = w + R; o < end; o += R) {
    const q = a + load<u32>(o);
    const x0 = v128.load(q);
    const x1 = P > 1 ? v128.load(q, 16) : z;
    const x2 = P > 2 ? v128.load(q, 32) : z;
    const x3 = P > 3 ? v128.load(q, 48) : z;
    let b = v128.load(o, 16);
    c00 = f32x4.add(c00, f32x4.mul(x0, b));
    if (P > 1) c10 = f32x4.add(c10, f32x4.mul(x1, b));
    if (P > 2) c20 = f32x4.add(c20, f32x4.mul(x2, b));
    if (P > 3) c30 = f32x4.add(c30, f32x4.mul(x3, b));
    if (G > 1) {
      b = v128.load(o, 32);
      c01 = f32x4.add(c01, f32x4.mul(x0, b));
      if (P > 1) c11 = f32x4.add(c11, f32x4.mul(x1, b));
      if (P > 2) c21 = f32x4.add(c21, f32x4.mul(x2, b));
      if (P > 3) c31 = f32x4.add(c31, f32x4.mul(x3, b));
    }
    if (G > 2) {
      b = v128.load(o, 48);
      c02 = f32x4.add(c02, f32x4.mul(x0, b));
      if (P > 1) c12 = f32x4.add(c12, f32x4.mul(x1, b));
      if (P > 2) c22 = f32x4.add(c22, f32x4.mul(x2, b));
      if (P > 3) c32 = f32x4.add(c32, f32x4.mul(x3, b));
    }
    if (G > 3) {
      b = v128.load(o, 64);
      c03 = f32x4.add(c03, f32x4.mul(x0, b));
      if (P > 1) c13 = f32x4.add(c13, f32x4.mul(x1, b));
      if (P > 2) c23 = f32x4.add(c23, f32x4.mul(x2, b));
      if (P > 3) c33 = f32x4.add(c33, f32x4.mul(x3, b));
    }
  }
  const pv = pixBytes << 2;
  storePixels(y, res, rd, pixBytes, c00, c01, c02, c03, G, rem, act, p0, p1);
  if (P > 1 && rem > 4) storePixels(y + pv, res, rd, pixBytes, c10, c11, c12, c13, G, rem - 4, act, p0, p1);
  if (P > 2 && rem > 8) storePixels(y + 2 * pv, res, rd, pixBytes, c20, c21, c22, c23, G, rem - 8, act, p0, p1);
  if (P > 3 && rem > 12) storePixels(y + 3 * pv, res, rd, pixBytes, c30, c31, c32, c33, G, rem - 12, act, p0, p1);
}

// Channels in vectors (lanes = 4 pixels) transposed to pixels (lanes = channels); the first
// `count` pixels' G channels are stored, each after its residual and activation. Four whole
// pixels of G channels only are 4G consecutive floats: G whole vectors.
@inline function storePixels(
  y: usize, res: bool, rd: usize, pixBytes: usize, a: v128, b: v128, c: v128, d: v128, G: i32, count: i32, act: i32, p0: f32, p1: f32,
): void {
  if (count >= 4 && G < 4 && pixBytes == <usize>(G << 2)) {
    if (G == 1) {
      storeVector(y, res, rd, a, act, p0, p1);
    } else if (G == 2) {
      storeVector(y, res, rd, i32x4.shuffle(a, b, 0, 4, 1, 5), act, p0, p1);
      storeVector(y + 16, res, rd, i32x4.shuffle(a, b, 2, 6, 3, 7), act, p0, p1);
    } else {
      // [a0 b0 c0 a1] [b1 c1 a2 b2] [c2 a3 b3 c3]
      const ab = i32x4.shuffle(a, b, 0, 4, 1, 5);
      storeVector(y, res, rd, i32x4.shuffle(ab, c, 0, 1, 4, 2), act, p0, p1);
      const bc = i32x4.shuffle(b, c, 1, 5, 2, 6);
      storeVector(y + 16, res, rd, i32x4.shuffle(bc, a, 0, 1, 6, 2), act, p0, p1);
      const ab3 = i32x4.shuffle(a, b, 3, 7, 3, 7);
      storeVector(y + 32, res, rd, i32x4.shuffle(c, ab3, 2, 4, 5, 3), act, p0, p1);
    }
    return;
  }
  const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  storeChannels(y, res, rd, i64x2.shuffle(ab01, cd01, 0, 2), G, act, p0, p1);
  if (count > 1) storeChannels(y + pixBytes, res, rd, i64x2.shuffle(ab01, cd01, 1, 3), G, act, p0, p1);
  if (count > 2) storeChannels(y + 2 * pixBytes, res, rd, i64x2.shuffle(ab23, cd23, 0, 2), G, act, p0, p1);
  if (count > 3) storeChannels(y + 3 * pixBytes, res, rd, i64x2.shuffle(ab23, cd23, 1, 3), G, act, p0, p1);
}

@inline function storeVector(p: usize, res: bool, rd: usize, v: v128, act: i32, p0: f32, p1: f32): void {
  if (res) v = f32x4.add(v, v128.load(p + rd));
  v128.store(p, activateVec(v, act, p0, p1));
}

@inline function storeChannels(p: usize, res: bool, rd: usize, v: v128, G: i32, act: i32, p0: f32, p1: f32): void {
  if (res) v = f32x4.add(v, G == 4 ? v128.load(p + rd) : loadPartial(p + rd, G));
  v = activateVec(v, act, p0, p1);
  if (G == 4) v128.store(p, v);
  else storePartial(p, v, G);
}

// The same sums one output at a time: the scalar build, and horizontal strides other than 1.
@inline function scalarRow(
  row: usize, ow: i32, g: i32, sw: i32, kk: i32, w: usize, res: bool, rd: usize, y: usize, pixBytes: usize, act: i32, p0: f32, p1: f32,
): void {
  const rec = <usize>(16 + 16 * g);
  const end = w + <usize>(kk + 1) * rec;
  for (let ox = 0; ox < ow; ox++) {
    const a = row + (<usize>(ox * sw) << 2);
    const yp = y + <usize>ox * pixBytes;
    for (let j = 0; j < g; j++) {
      const lane = <usize>(16 + 16 * j);
      let s = load<f32>(w + lane);
      for (let o = w + rec; o < end; o += rec) s = s + load<f32>(a + load<u32>(o)) * load<f32>(o + lane);
      const p = yp + (<usize>j << 2);
      if (res) s += load<f32>(p + rd);
      store<f32>(p, activateScalar(s, act, p0, p1));
    }
  }
}
