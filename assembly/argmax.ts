// argmax_f32: for each of `rows` rows of `cols` floats (NHWC pixels: the channel axis), y[r] is
// the index of the row's maximum, written as a float (exact below 2^24). Ties go to the first
// index, or with last = 1 to the last one (ONNX select_last_index). NaN never wins: the maximum
// is taken over the other values, and a row of NaNs gives index 0. With isMin = 1 it is ArgMin:
// the argmax of -x, each value's sign flipped as it is loaded (exact, and ties and NaN keep
// their meaning).
//
// The SIMD build keeps the best value and its index per lane for channels j, j+4, j+8, ... and
// then takes the best lane; an index is a function of the row's values alone, so both builds, in
// any order of comparisons, give the same index.
export function argmax_f32(rows: i32, cols: i32, x: usize, y: usize, last: i32, isMin: i32): void {
  const flip: i32 = isMin ? 0x80000000 : 0;
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * cols) << 2);
    let best: f32 = NaN;
    let at = 0;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      if (cols >= 8) {
        const vflip = i32x4.splat(flip);
        let bv = v128.xor(v128.load(xr), vflip);
        let bi = i32x4(0, 1, 2, 3);
        let ji = i32x4(4, 5, 6, 7);
        const four = i32x4.splat(4);
        for (j = 4; j + 4 <= cols; j += 4) {
          const v = v128.xor(v128.load(xr + (<usize>j << 2)), vflip);
          // v wins where it is greater (or equal, for the last index), or where the lane holds a
          // NaN so far and v does not.
          const better = last ? f32x4.ge(v, bv) : f32x4.gt(v, bv);
          const take = v128.or(better, v128.andnot(f32x4.eq(v, v), f32x4.eq(bv, bv)));
          bv = v128.bitselect(v, bv, take);
          bi = v128.bitselect(ji, bi, take);
          ji = i32x4.add(ji, four);
        }
        best = f32x4.extract_lane(bv, 0);
        at = i32x4.extract_lane(bi, 0);
        for (let l = 1; l < 4; l++) {
          const v = l == 1 ? f32x4.extract_lane(bv, 1) : l == 2 ? f32x4.extract_lane(bv, 2) : f32x4.extract_lane(bv, 3);
          const i = l == 1 ? i32x4.extract_lane(bi, 1) : l == 2 ? i32x4.extract_lane(bi, 2) : i32x4.extract_lane(bi, 3);
          if (wins(v, i, best, at, last)) {
            best = v;
            at = i;
          }
        }
      }
    }
    // Indices only grow from here, so a tie is taken exactly when the last index wins; selects,
    // not branches, since which element wins is data-dependent.
    const tie = last != 0 ? 1 : 0;
    for (; j < cols; j++) {
      const v = reinterpret<f32>(load<i32>(xr + (<usize>j << 2)) ^ flip);
      const take = <i32>(v > best) | (tie & <i32>(v == best)) | (<i32>(best != best) & <i32>(v == v));
      best = select<f32>(v, best, take != 0);
      at = select<i32>(j, at, take != 0);
    }
    store<f32>(y + (<usize>r << 2), <f32>at);
  }
}

// Whether value v at index i beats the best so far (b at index a), by the rule above.
@inline function wins(v: f32, i: i32, b: f32, a: i32, last: i32): bool {
  if (v != v) return false;
  if (b != b || v > b) return true;
  return v == b && (last ? i > a : i < a);
}
