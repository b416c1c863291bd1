import { copyRow } from "./row";

// strided_copy_f32: y[i0..i5] = x[i0..i5] over a 6-d index space s0 x .. x s5, where element
// (i0..i5) sits at x + sum(ik * xsk) and y + sum(ik * ysk) (strides in floats, any sign, 0 to
// repeat). One kernel for slices, concatenation, gathers and broadcasts (transposes have their
// own, assembly/transpose.ts); lower ranks pass size-1 dimensions.
export function strided_copy_f32(
  s0: i32, s1: i32, s2: i32, s3: i32, s4: i32, s5: i32,
  x: usize, xs0: i32, xs1: i32, xs2: i32, xs3: i32, xs4: i32, xs5: i32,
  y: usize, ys0: i32, ys1: i32, ys2: i32, ys3: i32, ys4: i32, ys5: i32,
): void {
  const contiguous = xs5 == 1 && ys5 == 1;
  for (let i0 = 0; i0 < s0; i0++) {
    const x0 = x + <usize>(i0 * xs0) * 4;
    const y0 = y + <usize>(i0 * ys0) * 4;
    for (let i1 = 0; i1 < s1; i1++) {
      const x1 = x0 + <usize>(i1 * xs1) * 4;
      const y1 = y0 + <usize>(i1 * ys1) * 4;
      for (let i2 = 0; i2 < s2; i2++) {
        const x2 = x1 + <usize>(i2 * xs2) * 4;
        const y2 = y1 + <usize>(i2 * ys2) * 4;
        for (let i3 = 0; i3 < s3; i3++) {
          const x3 = x2 + <usize>(i3 * xs3) * 4;
          const y3 = y2 + <usize>(i3 * ys3) * 4;
          for (let i4 = 0; i4 < s4; i4++) {
            const x4 = x3 + <usize>(i4 * xs4) * 4;
            const y4 = y3 + <usize>(i4 * ys4) * 4;
            if (contiguous) {
              copyRow(x4, y4, s5);
            } else {
              for (let i5 = 0; i5 < s5; i5++) {
                store<f32>(y4 + <usize>(i5 * ys5) * 4, load<f32>(x4 + <usize>(i5 * xs5) * 4));
              }
            }
          }
        }
      }
    }
  }
}
