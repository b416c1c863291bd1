import { expScalar, expVec } from "./activation";

// Reductions (ONNX Reduce*). x is read as [outer, n, inner]: each output y[o * inner + i] reduces
// the n floats x[(o * n + k) * inner + i], k = 0..n-1. A call handles `cols` of the inner
// positions starting at x (and y), so threads can split the inner axis; `inner` stays the stride.
export const RED_SUM: i32 = 0;
export const RED_MEAN: i32 = 1;
export const RED_MAX: i32 = 2;
export const RED_MIN: i32 = 3;
export const RED_PROD: i32 = 4;
export const RED_L1: i32 = 5;
export const RED_L2: i32 = 6;
export const RED_SUMSQUARE: i32 = 7;
export const RED_LOGSUMEXP: i32 = 8;

// Each kind is a map applied to every element, a way of combining them, and a map of the result.
const PRE_NONE = 0;
const PRE_ABS = 1;
const PRE_SQUARE = 2;
const PRE_EXP = 3; // exp(x - shift), shift the output's maximum

const COMB_ADD = 0;
const COMB_MUL = 1;
const COMB_MAX = 2;
const COMB_MIN = 3;

const POST_NONE = 0;
const POST_MEAN = 1;
const POST_SQRT = 2;
const POST_LOG = 3; // log(s) + shift

// reduce_f32: the order of combination, the same in both builds:
// - inner == 1 (the reduced floats are contiguous): four partial results, lane q taking the
//   elements k = q mod 4 below n & ~3 in order, folded as (l0 . l1) . (l2 . l3), then the
//   remaining elements in order;
// - inner > 1: each output combines its n elements in order of k (the SIMD build holds 16, then
//   4 outputs in lanes, the scalar build one at a time).
// Max and min propagate NaN (wasm's f32.max / f32x4.max, in both builds).
// LogSumExp takes two passes: the maximum m first (into y), then log(sum exp(x - m)) + m, with m
// replaced by 0 where it is infinite or NaN so that +inf, all -inf and NaN come out as +inf, -inf
// and NaN rather than inf - inf.
export function reduce_f32(outer: i32, n: i32, inner: i32, cols: i32, x: usize, y: usize, kind: i32): void {
  if (kind == RED_SUM) reduceWith(outer, n, inner, cols, x, y, PRE_NONE, COMB_ADD, POST_NONE);
  else if (kind == RED_MEAN) reduceWith(outer, n, inner, cols, x, y, PRE_NONE, COMB_ADD, POST_MEAN);
  else if (kind == RED_MAX) reduceWith(outer, n, inner, cols, x, y, PRE_NONE, COMB_MAX, POST_NONE);
  else if (kind == RED_MIN) reduceWith(outer, n, inner, cols, x, y, PRE_NONE, COMB_MIN, POST_NONE);
  else if (kind == RED_PROD) reduceWith(outer, n, inner, cols, x, y, PRE_NONE, COMB_MUL, POST_NONE);
  else if (kind == RED_L1) reduceWith(outer, n, inner, cols, x, y, PRE_ABS, COMB_ADD, POST_NONE);
  else if (kind == RED_L2) reduceWith(outer, n, inner, cols, x, y, PRE_SQUARE, COMB_ADD, POST_SQRT);
  else if (kind == RED_SUMSQUARE) reduceWith(outer, n, inner, cols, x, y, PRE_SQUARE, COMB_ADD, POST_NONE);
  else {
    reduceWith(outer, n, inner, cols, x, y, PRE_NONE, COMB_MAX, POST_NONE);
    reduceWith(outer, n, inner, cols, x, y, PRE_EXP, COMB_ADD, POST_LOG);
  }
}

// The whole loop nest per (pre, comb, post), so that each kind's inner loop is free of branches
// on the kind once these constants are inlined.
@inline function reduceWith(outer: i32, n: i32, inner: i32, cols: i32, x: usize, y: usize, pre: i32, comb: i32, post: i32): void {
  const init = initOf(comb);
  const fn = <f32>n;
  if (inner == 1) {
    const n4 = n & ~3;
    for (let o = 0; o < outer; o++) {
      const xo = x + (<usize>o * <usize>n << 2);
      const yo = y + (<usize>o << 2);
      const shift: f32 = pre == PRE_EXP ? shiftOf(load<f32>(yo)) : 0;
      let l0 = init, l1 = init, l2 = init, l3 = init;
      if (ASC_FEATURE_SIMD) {
        const vs = f32x4.splat(shift);
        let acc = f32x4.splat(init);
        for (let k = 0; k < n4; k += 4) acc = combVec(acc, preVec(v128.load(xo + (<usize>k << 2)), pre, vs), comb);
        l0 = f32x4.extract_lane(acc, 0);
        l1 = f32x4.extract_lane(acc, 1);
        l2 = f32x4.extract_lane(acc, 2);
        l3 = f32x4.extract_lane(acc, 3);
      } else {
        for (let k = 0; k < n4; k += 4) {
          const p = xo + (<usize>k << 2);
          l0 = combScalar(l0, preScalar(load<f32>(p), pre, shift), comb);
          l1 = combScalar(l1, preScalar(load<f32>(p, 4), pre, shift), comb);
          l2 = combScalar(l2, preScalar(load<f32>(p, 8), pre, shift), comb);
          l3 = combScalar(l3, preScalar(load<f32>(p, 12), pre, shift), comb);
        }
      }
      let t = combScalar(combScalar(l0, l1, comb), combScalar(l2, l3, comb), comb);
      for (let k = n4; k < n; k++) t = combScalar(t, preScalar(load<f32>(xo + (<usize>k << 2)), pre, shift), comb);
      store<f32>(yo, postScalar(t, post, shift, fn));
    }
    return;
  }
  const step = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const xo = x + (<usize>o * <usize>n * <usize>inner << 2);
    const yo = y + (<usize>o * <usize>inner << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vi = f32x4.splat(init);
      for (; i + 16 <= cols; i += 16) {
        const pi = yo + (<usize>i << 2);
        const s0 = pre == PRE_EXP ? shiftVec(v128.load(pi)) : vi;
        const s1 = pre == PRE_EXP ? shiftVec(v128.load(pi, 16)) : vi;
        const s2 = pre == PRE_EXP ? shiftVec(v128.load(pi, 32)) : vi;
        const s3 = pre == PRE_EXP ? shiftVec(v128.load(pi, 48)) : vi;
        let a0 = vi, a1 = vi, a2 = vi, a3 = vi;
        let p = xo + (<usize>i << 2);
        for (let k = 0; k < n; k++) {
          a0 = combVec(a0, preVec(v128.load(p), pre, s0), comb);
          a1 = combVec(a1, preVec(v128.load(p, 16), pre, s1), comb);
          a2 = combVec(a2, preVec(v128.load(p, 32), pre, s2), comb);
          a3 = combVec(a3, preVec(v128.load(p, 48), pre, s3), comb);
          p += step;
        }
        storePostVec(pi, a0, post, s0, fn);
        storePostVec(pi + 16, a1, post, s1, fn);
        storePostVec(pi + 32, a2, post, s2, fn);
        storePostVec(pi + 48, a3, post, s3, fn);
      }
      for (; i + 4 <= cols; i += 4) {
        const pi = yo + (<usize>i << 2);
        const s0 = pre == PRE_EXP ? shiftVec(v128.load(pi)) : vi;
        let a0 = vi;
        let p = xo + (<usize>i << 2);
        for (let k = 0; k < n; k++) {
          a0 = combVec(a0, preVec(v128.load(p), pre, s0), comb);
          p += step;
        }
        storePostVec(pi, a0, post, s0, fn);
      }
    }
    for (; i < cols; i++) {
      const pi = yo + (<usize>i << 2);
      const shift: f32 = pre == PRE_EXP ? shiftOf(load<f32>(pi)) : 0;
      let a = init;
      let p = xo + (<usize>i << 2);
      for (let k = 0; k < n; k++) {
        a = combScalar(a, preScalar(load<f32>(p), pre, shift), comb);
        p += step;
      }
      store<f32>(pi, postScalar(a, post, shift, fn));
    }
  }
}

@inline function initOf(comb: i32): f32 {
  if (comb == COMB_MUL) return 1;
  if (comb == COMB_MAX) return -Infinity;
  if (comb == COMB_MIN) return Infinity;
  return 0;
}

@inline function shiftOf(m: f32): f32 {
  return m - m == 0 ? m : 0;
}

@inline function shiftVec(m: v128): v128 {
  return v128.and(m, f32x4.eq(f32x4.sub(m, m), f32x4.splat(0)));
}

@inline function preScalar(v: f32, pre: i32, shift: f32): f32 {
  if (pre == PRE_ABS) return abs<f32>(v);
  if (pre == PRE_SQUARE) return v * v;
  if (pre == PRE_EXP) return expScalar(v - shift);
  return v;
}

@inline function preVec(v: v128, pre: i32, shift: v128): v128 {
  if (pre == PRE_ABS) return f32x4.abs(v);
  if (pre == PRE_SQUARE) return f32x4.mul(v, v);
  if (pre == PRE_EXP) return expVec(f32x4.sub(v, shift));
  return v;
}

@inline function combScalar(a: f32, b: f32, comb: i32): f32 {
  if (comb == COMB_MUL) return a * b;
  if (comb == COMB_MAX) return max<f32>(a, b);
  if (comb == COMB_MIN) return min<f32>(a, b);
  return a + b;
}

@inline function combVec(a: v128, b: v128, comb: i32): v128 {
  if (comb == COMB_MUL) return f32x4.mul(a, b);
  if (comb == COMB_MAX) return f32x4.max(a, b);
  if (comb == COMB_MIN) return f32x4.min(a, b);
  return f32x4.add(a, b);
}

@inline function postScalar(s: f32, post: i32, shift: f32, n: f32): f32 {
  if (post == POST_MEAN) return s / n;
  if (post == POST_SQRT) return sqrt<f32>(s);
  if (post == POST_LOG) return logScalar(s) + shift;
  return s;
}

@inline function storePostVec(p: usize, s: v128, post: i32, shift: v128, n: f32): void {
  if (post == POST_LOG) {
    store<f32>(p, logScalar(f32x4.extract_lane(s, 0)) + f32x4.extract_lane(shift, 0));
    store<f32>(p, logScalar(f32x4.extract_lane(s, 1)) + f32x4.extract_lane(shift, 1), 4);
    store<f32>(p, logScalar(f32x4.extract_lane(s, 2)) + f32x4.extract_lane(shift, 2), 8);
    store<f32>(p, logScalar(f32x4.extract_lane(s, 3)) + f32x4.extract_lane(shift, 3), 12);
    return;
  }
  if (post == POST_MEAN) s = f32x4.div(s, f32x4.splat(n));
  else if (post == POST_SQRT) s = f32x4.sqrt(s);
  v128.store(p, s);
}

const LN2: f32 = 0.693147182;
const SQRT_HALF: f32 = 0.707106781;
const L3: f32 = 0.666666667;
const L5: f32 = 0.4;
const L7: f32 = 0.285714298;
const L9: f32 = 0.222222224;

// Natural log: x = 2^e f with f in [sqrt(1/2), sqrt(2)), log f = 2 atanh(s), s = (f - 1) / (f + 1),
// |s| <= 0.172, by its odd series to s^9 (the next term is below 2^-28 of the result), then
// e ln2 added: a few ulp of log(x) (test/reduce.test.ts bounds it by 4 ulp through LogSumExp).
// Subnormals are scaled by 2^23 first; 0 gives -inf, negatives and NaN give NaN, +inf gives +inf.
export function logScalar(x: f32): f32 {
  if (!(x > 0)) return x == 0 ? -Infinity : NaN;
  if (x == Infinity) return x;
  let bits = reinterpret<i32>(x);
  let e: i32 = 0;
  if (bits < 0x00800000) {
    bits = reinterpret<i32>(x * 8388608.0);
    e = -23;
  }
  e += (bits >> 23) - 127;
  let f = reinterpret<f32>((bits & 0x007fffff) | 0x3f800000);
  if (f > SQRT_HALF * 2) {
    f = f * 0.5;
    e++;
  }
  const s = (f - 1) / (f + 1);
  const s2 = s * s;
  let p = s2 * L9 + L7;
  p = p * s2 + L5;
  p = p * s2 + L3;
  const logf = (s + s) + (s * s2) * p;
  return <f32>e * LN2 + logf;
}
