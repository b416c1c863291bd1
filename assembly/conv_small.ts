import { ACT_CLAMP, ACT_LEAKY, ACT_NONE, activateScalar, activateVec } from "./activation";
import { activateRows, loadPartial, storePartial } from "./tile_store";

// conv2d_f32_small_8x4: convolution with at most 4 output channels (an image model's RGB or mask
// output, a first layer on RGB), vectorised along the output pixels instead of the channels,
// where 8-channel panels would leave most lanes empty: a vector holds 4 neighbouring output
// pixels of one output channel, a weight is broadcast, and a tile keeps every accumulator of
// 8 pixels x 3 or 4 channels, or 16 pixels x 1 or 2, in registers.
// x: the input zero-padded to hp x wp, stored row-planar: [batch][hp][cin][wp], each padded
//    image row holding its cin channel rows one after another, so 4 pixels of a channel at stride
//    1 are one vector load. Up to 15 floats past the last row are read (and not used): x needs
//    that slack after it.
// offs: the byte offset in x of each of a window's kk = kh*kw*cin products from its first input,
//    in (ky, kx, ci) order (one table walked by every tile, where pointer arithmetic over three
//    counters cost more instructions than the products).
// w: one pack_gemm_f32_8 panel (n <= 4) with K = kk in the same order, bias first.
// r: 0, or a residual of y's layout, added to each sum before the activation.
// y: NHWC [batch][oh][ow][n].
// Each output is the bias plus its products in (ky, kx, ci) order, multiplied and added apart:
// the order of igemm_f32_4x8, so this path and the general one give the same bits. The SIMD
// build vectorises horizontal stride 1; other strides, and the scalar build, run the same sums
// one output at a time.
export function conv2d_f32_small_8x4(
  batch: i32, hp: i32, wp: i32, cin: i32, oh: i32, ow: i32, n: i32, kk: i32, sh: i32, sw: i32,
  x: usize, offs: usize, w: usize, r: usize, y: usize, act: i32, p0: f32, p1: f32,
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
  if (act == ACT_CLAMP) smallBody<u16>(batch, hp, wp, cin, oh, ow, n, kk, sh, sw, x, offs, w, res, rd, y, ACT_NONE, p0, p1);
  else if (act == ACT_LEAKY) smallBody<u32>(batch, hp, wp, cin, oh, ow, n, kk, sh, sw, x, offs, w, res, rd, y, ACT_NONE, p0, p1);
  else smallBody<u8>(batch, hp, wp, cin, oh, ow, n, kk, sh, sw, x, offs, w, res, rd, y, act, p0, p1);
}

// The activation applied in the stores, by the size of A: u8 none, u16 clamp, u32 leaky relu.
@inline function storeAct<A>(): i32 {
  return sizeof<A>() == 1 ? ACT_NONE : sizeof<A>() == 2 ? ACT_CLAMP : ACT_LEAKY;
}

@inline function smallBody<A>(
  batch: i32, hp: i32, wp: i32, cin: i32, oh: i32, ow: i32, n: i32, kk: i32, sh: i32, sw: i32,
  x: usize, offs: usize, w: usize, res: bool, rd: usize, y: usize, post: i32, p0: f32, p1: f32,
): void {
  const rowBytes = <usize>(cin * wp) << 2;
  const pixBytes = <usize>n << 2;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>(b * hp) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      const row = xb + <usize>(oy * sh) * rowBytes;
      const yRow = y + <usize>((b * oh + oy) * ow) * pixBytes;
      if (ASC_FEATURE_SIMD && sw == 1) {
        channelsRow<A>(row, ow, kk, offs, w, res, rd, yRow, n, p0, p1);
      } else {
        scalarRow(row, ow, n, sw, kk, offs, w, res, rd, yRow, storeAct<A>(), p0, p1);
      }
      if (post != ACT_NONE) activateRows(yRow, ow * n, post, p0, p1);
    }
  }
}

// One output row of n channels in tiles of 4*P pixels, the last one partly stored. P keeps n*P
// accumulators, P pixel vectors and n weights within V8's 15 registers.
@inline function channelsRow<A>(
  row: usize, ow: i32, kk: i32, offs: usize, w: usize, res: bool, rd: usize, y: usize, n: i32, p0: f32, p1: f32,
): void {
  if (n == 1) rowOf<u8, A>(row, ow, kk, offs, w, res, rd, y, p0, p1);
  else if (n == 2) rowOf<u16, A>(row, ow, kk, offs, w, res, rd, y, p0, p1);
  else if (n == 3) rowOf<u32, A>(row, ow, kk, offs, w, res, rd, y, p0, p1);
  else rowOf<u64, A>(row, ow, kk, offs, w, res, rd, y, p0, p1);
}

@inline function rowOf<T, A>(
  row: usize, ow: i32, kk: i32, offs: usize, w: usize, res: bool, rd: usize, y: usize, p0: f32, p1: f32,
): void {
  const pixBytes = <usize>(sizeof<T>() == 8 ? 16 : sizeof<T>() == 4 ? 12 : sizeof<T>() << 2);
  const span = sizeof<T>() >= 4 ? 8 : 16;
  for (let ox = 0; ox < ow; ox += span) {
    tile<T, A>(row + (<usize>ox << 2), kk, offs, w, res, rd, y + <usize>ox * pixBytes, pixBytes, ow - ox, p0, p1);
  }
}

// P vectors of 4 pixels x G = n channels, by the size of T: u8 1 channel x 4 vectors, u16 2 x 4,
// u32 3 x 2, u64 4 x 2; of which the first `rem` pixels are stored (pixels past
// the row's end read the next row's floats or x's slack, and are dropped).
@inline function tile<T, A>(
  a: usize, kk: i32, offs: usize, w: usize, res: bool, rd: usize, y: usize, pixBytes: usize, rem: i32, p0: f32, p1: f32,
): void {
  const G = sizeof<T>() == 8 ? 4 : sizeof<T>() == 4 ? 3 : <i32>sizeof<T>();
  const P = sizeof<T>() >= 4 ? 2 : 4;
  const act = sizeof<A>() == 1 ? ACT_NONE : sizeof<A>() == 2 ? ACT_CLAMP : ACT_LEAKY;
  const z = f32x4.splat(0);
  let c00 = v128.load32_splat(w);
  let c01 = G > 1 ? v128.load32_splat(w, 4) : z;
  let c02 = G > 2 ? v128.load32_splat(w, 8) : z;
  let c03 = G > 3 ? v128.load32_splat(w, 12) : z;
  let c10 = c00, c11 = c01, c12 = c02, c13 = c03;
  let c20 = c00, c21 = c01, c22 = c02, c23 = c03;
  let c30 = c00, c31 = c01, c32 = c02, c33 = c03;
  let wk = w + 32;
  const end = offs + (<usize>kk << 2);
  for (let o = offs; o < end; o += 4) {
    const q = a + load<u32>(o);
    const x0 = v128.load(q);
    const x1 = P > 1 ? v128.load(q, 16) : z;
    const x2 = P > 2 ? v128.load(q, 32) : z;
    const x3 = P > 3 ? v128.load(q, 48) : z;
    let b = v128.load32_splat(wk);
    c00 = f32x4.add(c00, f32x4.mul(x0, b));
    if (P > 1) c10 = f32x4.add(c10, f32x4.mul(x1, b));
    if (P > 2) c20 = f32x4.add(c20, f32x4.mul(x2, b));
    if (P > 3) c30 = f32x4.add(c30, f32x4.mul(x3, b));
    if (G > 1) {
      b = v128.load32_splat(wk, 4);
      c01 = f32x4.add(c01, f32x4.mul(x0, b));
      if (P > 1) c11 = f32x4.add(c11, f32x4.mul(x1, b));
      if (P > 2) c21 = f32x4.add(c21, f32x4.mul(x2, b));
      if (P > 3) c31 = f32x4.add(c31, f32x4.mul(x3, b));
    }
    if (G > 2) {
      b = v128.load32_splat(wk, 8);
      c02 = f32x4.add(c02, f32x4.mul(x0, b));
      if (P > 1) c12 = f32x4.add(c12, f32x4.mul(x1, b));
      if (P > 2) c22 = f32x4.add(c22, f32x4.mul(x2, b));
      if (P > 3) c32 = f32x4.add(c32, f32x4.mul(x3, b));
    }
    if (G > 3) {
      b = v128.load32_splat(wk, 12);
      c03 = f32x4.add(c03, f32x4.mul(x0, b));
      if (P > 1) c13 = f32x4.add(c13, f32x4.mul(x1, b));
      if (P > 2) c23 = f32x4.add(c23, f32x4.mul(x2, b));
      if (P > 3) c33 = f32x4.add(c33, f32x4.mul(x3, b));
    }
    wk += 32;
  }
  const pv = pixBytes << 2;
  storePixels(y, res, rd, pixBytes, c00, c01, c02, c03, G, rem, act, p0, p1);
  if (P > 1 && rem > 4) storePixels(y + pv, res, rd, pixBytes, c10, c11, c12, c13, G, rem - 4, act, p0, p1);
  if (P > 2 && rem > 8) storePixels(y + 2 * pv, res, rd, pixBytes, c20, c21, c22, c23, G, rem - 8, act, p0, p1);
  if (P > 3 && rem > 12) storePixels(y + 3 * pv, res, rd, pixBytes, c30, c31, c32, c33, G, rem - 12, act, p0, p1);
}

// Channels in vectors (lanes = 4 pixels) transposed to pixels (lanes = channels); the first
// `count` pixels' G channels are stored, each after its residual and activation. Four whole
// pixels are 4G consecutive floats: G whole vectors.
@inline function storePixels(
  y: usize, res: bool, rd: usize, pixBytes: usize, a: v128, b: v128, c: v128, d: v128, G: i32, count: i32, act: i32, p0: f32, p1: f32,
): void {
  if (count >= 4 && G < 4) {
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
  row: usize, ow: i32, n: i32, sw: i32, kk: i32, offs: usize, w: usize, res: bool, rd: usize, y: usize, act: i32, p0: f32, p1: f32,
): void {
  for (let ox = 0; ox < ow; ox++) {
    const a = row + (<usize>(ox * sw) << 2);
    for (let j = 0; j < n; j++) {
      const wj = w + (<usize>j << 2);
      let s = load<f32>(wj);
      let wk = wj + 32;
      for (let k = 0; k < kk; k++) {
        s = s + load<f32>(a + load<u32>(offs + (<usize>k << 2))) * load<f32>(wk);
        wk += 32;
      }
      const p = y + (<usize>(ox * n + j) << 2);
      if (res) s += load<f32>(p + rd);
      store<f32>(p, activateScalar(s, act, p0, p1));
    }
  }
}
