import { expScalar, expVec } from "./activation";
import { logScalar } from "./math";

// softmax_f32: each of `rows` rows of `cols` floats: y = exp(x - max) / sum (expSum's).
export function softmax_f32(rows: i32, cols: i32, x: usize, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * cols) << 2);
    const yr = y + (<usize>(r * cols) << 2);
    const mx = rowMax(xr, cols);
    const sum = expSum(xr, yr, cols, mx, true);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(sum);
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j << 2;
        v128.store(yr + o, f32x4.div(v128.load(yr + o), vs));
      }
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(yr + o) / sum);
    }
  }
}

// log_softmax_f32: each row: y = (x - max) - log(sum of exp(x - max)), the sum as softmax_f32's;
// never the log of a quotient, so probabilities far below float32's range keep their logs.
export function log_softmax_f32(rows: i32, cols: i32, x: usize, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * cols) << 2);
    const yr = y + (<usize>(r * cols) << 2);
    const mx = rowMax(xr, cols);
    const ls = logScalar(expSum(xr, yr, cols, mx, false));
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(mx);
      const vl = f32x4.splat(ls);
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j << 2;
        v128.store(yr + o, f32x4.sub(f32x4.sub(v128.load(xr + o), vm), vl));
      }
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - mx) - ls);
    }
  }
}

@inline function rowMax(xr: usize, cols: i32): f32 {
  let mx: f32 = -Infinity;
  for (let j = 0; j < cols; j++) mx = max(mx, load<f32>(xr + (<usize>j << 2)));
  return mx;
}

// The sum of exp(x - mx) over a row, stored to yr as well when keep. The sum is kept in four
// lanes over the first cols & ~3 elements, folded as (l0 + l1) + (l2 + l3), then the tail is
// added in order; the scalar build keeps the same four partial sums, so both agree to the bit.
@inline function expSum(xr: usize, yr: usize, cols: i32, mx: f32, keep: bool): f32 {
  const c4 = cols & ~3;
  let l0: f32 = 0, l1: f32 = 0, l2: f32 = 0, l3: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(mx);
    let acc = f32x4.splat(0);
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      const e = expVec(f32x4.sub(v128.load(xr + o), vm));
      if (keep) v128.store(yr + o, e);
      acc = f32x4.add(acc, e);
    }
    l0 = f32x4.extract_lane(acc, 0);
    l1 = f32x4.extract_lane(acc, 1);
    l2 = f32x4.extract_lane(acc, 2);
    l3 = f32x4.extract_lane(acc, 3);
  } else {
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      const e0 = expScalar(load<f32>(xr + o) - mx);
      const e1 = expScalar(load<f32>(xr + o, 4) - mx);
      const e2 = expScalar(load<f32>(xr + o, 8) - mx);
      const e3 = expScalar(load<f32>(xr + o, 12) - mx);
      if (keep) {
        store<f32>(yr + o, e0);
        store<f32>(yr + o, e1, 4);
        store<f32>(yr + o, e2, 8);
        store<f32>(yr + o, e3, 12);
      }
      l0 = l0 + e0;
      l1 = l1 + e1;
      l2 = l2 + e2;
      l3 = l3 + e3;
    }
  }
  let sum = (l0 + l1) + (l2 + l3);
  for (let j = c4; j < cols; j++) {
    const o = <usize>j << 2;
    const e = expScalar(load<f32>(xr + o) - mx);
    if (keep) store<f32>(yr + o, e);
    sum = sum + e;
  }
  return sum;
}
