// ScatterND with a reduction (ONNX opset 16 add and mul, 18 max and min): each index tuple combines
// its slice of the updates with the output's slice there instead of replacing it.

import { tupleOffset } from "./gather";

export const SCATTER_ADD: i32 = 1;
export const SCATTER_MUL: i32 = 2;
export const SCATTER_MAX: i32 = 3;
export const SCATTER_MIN: i32 = 4;

// scatter_nd_reduce_x32: y = x (n elements), then for each of `count` int32 tuples of k values at
// idx (over x's first k axes, whose sizes and element strides are the k int32 at `dims` and
// `strides`; negative values from the end) each of the `slice` elements there becomes
// f(y, update), tuples in order, so repeated tuples accumulate. f by `op` (SCATTER_*) on float32
// or, with isInt, int32 values (add and mul wrap). max and min keep y unless the update compares
// greater (smaller): onnxruntime's std::max / std::min, so a NaN update never replaces a number.
// A tuple outside x changes nothing.
export function scatter_nd_reduce_x32(
  n: i32, count: i32, k: i32, slice: i32, x: usize, dims: usize, strides: usize, idx: usize, upd: usize, y: usize,
  op: i32, isInt: i32,
): void {
  if (y != x) memory.copy(y, x, <usize>n << 2);
  const sliceBytes = <usize>slice << 2;
  for (let q = 0; q < count; q++) {
    const off = tupleOffset(idx + (<usize>q * <usize>k << 2), k, dims, strides);
    if (off < 0) continue;
    const dst = y + (<usize>off << 2);
    const src = upd + <usize>q * sliceBytes;
    if (isInt) combineInts(dst, src, slice, op);
    else combineFloats(dst, src, slice, op);
  }
}

@inline function combineFloats(dst: usize, src: usize, count: i32, op: i32): void {
  for (let i = 0; i < count; i++) {
    const p = dst + (<usize>i << 2);
    const a = load<f32>(p);
    const b = load<f32>(src + (<usize>i << 2));
    let r: f32;
    if (op == SCATTER_ADD) r = a + b;
    else if (op == SCATTER_MUL) r = a * b;
    else if (op == SCATTER_MAX) r = a < b ? b : a;
    else r = b < a ? b : a;
    store<f32>(p, r);
  }
}

@inline function combineInts(dst: usize, src: usize, count: i32, op: i32): void {
  for (let i = 0; i < count; i++) {
    const p = dst + (<usize>i << 2);
    const a = load<i32>(p);
    const b = load<i32>(src + (<usize>i << 2));
    let r: i32;
    if (op == SCATTER_ADD) r = a + b;
    else if (op == SCATTER_MUL) r = a * b;
    else if (op == SCATTER_MAX) r = a < b ? b : a;
    else r = b < a ? b : a;
    store<i32>(p, r);
  }
}
