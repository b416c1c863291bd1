import { activateScalar, activateVec } from "./activation";
import { unary_f32 } from "./elementwise";

// Stores shared by the GEMM-shaped kernels: one row of an 8-column tile, plus the optional
// residual row (0 for none), then the activation; rows narrower than 8 never touch the rest.

// Loads the first `count` (< 4) floats at p into lanes 0.. of a zeroed vector.
@inline export function loadPartial(p: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  if (count & 2) {
    v = v128.load64_lane(p, v, 0);
    if (count & 1) v = v128.load32_lane(p, v, 2, 8);
  } else if (count & 1) {
    v = v128.load32_lane(p, v, 0);
  }
  return v;
}

@inline export function storePartial(p: usize, v: v128, count: i32): void {
  if (count & 2) {
    v128.store64_lane(p, v, 0);
    if (count & 1) v128.store32_lane(p, v, 2, 8);
  } else if (count & 1) {
    v128.store32_lane(p, v, 0);
  }
}

@inline export function finishRow(c: usize, r: usize, v0: v128, v1: v128, nr: i32, act: i32, p0: f32, p1: f32): void {
  if (nr == 8) {
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

@inline export function finishScalar(c: usize, r: usize, j: i32, v: f32, act: i32, p0: f32, p1: f32): void {
  const o = <usize>j << 2;
  if (r != 0) v += load<f32>(r + o);
  store<f32>(c + o, activateScalar(v, act, p0, p1));
}


// Up to four consecutive results of the scalar build's 2x4 sub-tiles.
@inline export function finishScalar4(c: usize, r: usize, s0: f32, s1: f32, s2: f32, s3: f32, count: i32, act: i32, p0: f32, p1: f32): void {
  finishScalar(c, r, 0, s0, act, p0, p1);
  if (count > 1) finishScalar(c, r, 1, s1, act, p0, p1);
  if (count > 2) finishScalar(c, r, 2, s2, act, p0, p1);
  if (count > 3) finishScalar(c, r, 3, s3, act, p0, p1);
}

// The kinds from sigmoid on are applied to a tile's rows after its stores, not inside them: the
// activation is out of line, and a call per stored vector makes V8 save the accumulators around
// each one (a sigmoid fused into a 3-channel convolution ran at half the convolution's speed,
// slower than the convolution and a separate sigmoid). The same function of the same stored
// values: the same bits.
@inline export function activateRows(p: usize, count: i32, act: i32, p0: f32, p1: f32): void {
  unary_f32(count, p, p, act, p0, p1);
}
