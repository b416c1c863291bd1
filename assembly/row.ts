// Copying one contiguous run of floats, for the kernels that copy many of them.

// Runs at least this long (in floats) go through memory.copy; shorter ones would spend more on
// its call than on the bytes, and are copied a vector at a time instead.
export const LONG_ROW: i32 = 256;

// n floats from x to y (byte offsets, not overlapping), as 32-bit words: the bits are kept.
// @ts-ignore: decorator
@inline
export function copyRow(x: usize, y: usize, n: i32): void {
  if (n >= LONG_ROW) {
    memory.copy(y, x, <usize>n << 2);
    return;
  }
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), v128.load(x + (<usize>i << 2)));
  }
  for (; i + 2 <= n; i += 2) store<u64>(y + (<usize>i << 2), load<u64>(x + (<usize>i << 2)));
  if (i < n) store<u32>(y + (<usize>i << 2), load<u32>(x + (<usize>i << 2)));
}
