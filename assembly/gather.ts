// Gathers with indices computed at run time, over 32-bit elements of any type. An index may be
// negative (counted from the end of the axis, as ONNX says); one still outside the axis reads
// zeros, since a kernel cannot throw: the op documents it.

@inline function wrap(j: i32, len: i32): i32 {
  const w = j < 0 ? j + len : j;
  return w >= 0 && w < len ? w : -1;
}

// The element offset of the k-value int32 tuple at t over axes whose sizes and element strides
// are the k int32 at `dims` and `strides` (negative values from the end), or -1 when the tuple is
// outside them.
@inline export function tupleOffset(t: usize, k: i32, dims: usize, strides: usize): isize {
  let off: isize = 0;
  for (let j = 0; j < k; j++) {
    const w = wrap(load<i32>(t + (<usize>j << 2)), load<i32>(dims + (<usize>j << 2)));
    if (w < 0) return -1;
    off += <isize>w * <isize>load<i32>(strides + (<usize>j << 2));
  }
  return off;
}

// gather_x32: x is [outer, axisLen, inner], idx holds `count` int32 indices, y is
// [outer, count, inner]: y[o, q, :] = x[o, idx[q], :].
export function gather_x32(outer: i32, axisLen: i32, inner: i32, count: i32, x: usize, idx: usize, y: usize): void {
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const xo = x + <usize>o * <usize>axisLen * rowBytes;
    const yo = y + <usize>o * <usize>count * rowBytes;
    for (let q = 0; q < count; q++) {
      const j = wrap(load<i32>(idx + (<usize>q << 2)), axisLen);
      const to = yo + <usize>q * rowBytes;
      if (j < 0) memory.fill(to, 0, rowBytes);
      else memory.copy(to, xo + <usize>j * rowBytes, rowBytes);
    }
  }
}

// gather_elements_x32: x is [outer, axisX, inner], idx and y are [outer, axisI, inner]:
// y[o, q, k] = x[o, idx[o, q, k], k].
export function gather_elements_x32(outer: i32, axisX: i32, axisI: i32, inner: i32, x: usize, idx: usize, y: usize): void {
  for (let o = 0; o < outer; o++) {
    const xo = x + (<usize>o * <usize>axisX * <usize>inner << 2);
    const base = <usize>o * <usize>axisI * <usize>inner;
    for (let q = 0; q < axisI; q++) {
      for (let k = 0; k < inner; k++) {
        const at = (base + <usize>q * <usize>inner + <usize>k) << 2;
        const j = wrap(load<i32>(idx + at), axisX);
        store<i32>(y + at, j < 0 ? 0 : load<i32>(xo + ((<usize>j * <usize>inner + <usize>k) << 2)));
      }
    }
  }
}

// gather_nd_x32: x is `batches` blocks of xBatch elements; idx is [batches, count, k] int32
// tuples over the block's first k axes, whose sizes and element strides are the k int32 at `dims`
// and `strides`; y is [batches, count, slice]: each tuple's slice of `slice` elements.
export function gather_nd_x32(
  batches: i32, count: i32, k: i32, slice: i32, x: usize, xBatch: i32, dims: usize, strides: usize, idx: usize, y: usize,
): void {
  const sliceBytes = <usize>slice << 2;
  for (let b = 0; b < batches; b++) {
    const xb = x + (<usize>b * <usize>xBatch << 2);
    for (let q = 0; q < count; q++) {
      const off = tupleOffset(idx + (<usize>(b * count + q) * <usize>k << 2), k, dims, strides);
      const to = y + <usize>(b * count + q) * sliceBytes;
      if (off >= 0) memory.copy(to, xb + (<usize>off << 2), sliceBytes);
      else memory.fill(to, 0, sliceBytes);
    }
  }
}

// scatter_nd_x32: y = x (n elements), then for each of `count` int32 tuples of k values at idx
// (over x's first k axes, whose sizes and element strides are the k int32 at `dims` and
// `strides`) y's slice of `slice` elements there = the tuple's slice of upd, in order (a later
// tuple wins); a tuple outside x writes nothing.
export function scatter_nd_x32(
  n: i32, count: i32, k: i32, slice: i32, x: usize, dims: usize, strides: usize, idx: usize, upd: usize, y: usize,
): void {
  if (y != x) memory.copy(y, x, <usize>n << 2);
  const sliceBytes = <usize>slice << 2;
  for (let q = 0; q < count; q++) {
    const off = tupleOffset(idx + (<usize>q * <usize>k << 2), k, dims, strides);
    if (off >= 0) memory.copy(y + (<usize>off << 2), upd + <usize>q * sliceBytes, sliceBytes);
  }
}
