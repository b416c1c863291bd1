// NonZero: the positions of the non-zero elements, whose number only the data says; the output is
// an upper bound with the count after it, as nms_f32's.

// nonzero_x32: for x of n elements, row-major over `rank` axes whose sizes are the int32 at dims,
// with `count` non-zero elements: y is [rank, n], y[j * n + q] = the index along axis j of the
// q-th non-zero element (row-major order) for q < count, zero for q >= count; then y[rank * n] =
// count. Each row keeps the bound's stride n, so a reader that moves whole columns (a Transpose
// to [n, rank], a Gather of rows) sees a fixed-shape tensor whose first count columns are real
// and whose others are valid indices (zeros). isInt: x holds int32 (zero is 0); else float32
// (zero is +0 or -0, NaN is not zero).
export function nonzero_x32(rank: i32, n: i32, x: usize, dims: usize, y: usize, isInt: i32): void {
  // Float zeros are the two bit patterns with every bit but the sign clear.
  const mask: u32 = isInt ? 0xffffffff : 0x7fffffff;
  let q = 0;
  for (let i = 0; i < n; i++) {
    if ((load<u32>(x + (<usize>i << 2)) & mask) == 0) continue;
    let rest = i;
    for (let j = rank - 1; j >= 0; j--) {
      const d = load<i32>(dims + (<usize>j << 2));
      store<i32>(y + (<usize>(j * n + q) << 2), rest % d);
      rest /= d;
    }
    q++;
  }
  const rowBytes = <usize>n << 2;
  const used = <usize>q << 2;
  for (let j = 0; j < rank; j++) memory.fill(y + <usize>j * rowBytes + used, 0, rowBytes - used);
  store<i32>(y + <usize>rank * rowBytes, q);
}
