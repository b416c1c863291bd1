// peak_f32: the machine's arithmetic ceiling for this build, for the benchmark to compare kernels
// with: `iters` rounds of 12 independent multiply-add chains on 4 lanes (SIMD build: 96 flop per
// round) or 1 lane (scalar: 24). Returns a sum so that the work is not optimised away.
export function peak_f32(iters: i32): f32 {
  if (ASC_FEATURE_SIMD) {
    const m = f32x4.splat(0.999999);
    const d = f32x4.splat(1e-7);
    let a0 = f32x4.splat(1), a1 = f32x4.splat(2), a2 = f32x4.splat(3), a3 = f32x4.splat(4);
    let a4 = f32x4.splat(5), a5 = f32x4.splat(6), a6 = f32x4.splat(7), a7 = f32x4.splat(8);
    let a8 = f32x4.splat(9), a9 = f32x4.splat(10), a10 = f32x4.splat(11), a11 = f32x4.splat(12);
    for (let i = 0; i < iters; i++) {
      a0 = f32x4.add(f32x4.mul(a0, m), d);
      a1 = f32x4.add(f32x4.mul(a1, m), d);
      a2 = f32x4.add(f32x4.mul(a2, m), d);
      a3 = f32x4.add(f32x4.mul(a3, m), d);
      a4 = f32x4.add(f32x4.mul(a4, m), d);
      a5 = f32x4.add(f32x4.mul(a5, m), d);
      a6 = f32x4.add(f32x4.mul(a6, m), d);
      a7 = f32x4.add(f32x4.mul(a7, m), d);
      a8 = f32x4.add(f32x4.mul(a8, m), d);
      a9 = f32x4.add(f32x4.mul(a9, m), d);
      a10 = f32x4.add(f32x4.mul(a10, m), d);
      a11 = f32x4.add(f32x4.mul(a11, m), d);
    }
    const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
    const t = f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
    return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
  } else {
    const m: f32 = 0.999999;
    const d: f32 = 1e-7;
    let a0: f32 = 1, a1: f32 = 2, a2: f32 = 3, a3: f32 = 4, a4: f32 = 5, a5: f32 = 6;
    let a6: f32 = 7, a7: f32 = 8, a8: f32 = 9, a9: f32 = 10, a10: f32 = 11, a11: f32 = 12;
    for (let i = 0; i < iters; i++) {
      a0 = a0 * m + d;
      a1 = a1 * m + d;
      a2 = a2 * m + d;
      a3 = a3 * m + d;
      a4 = a4 * m + d;
      a5 = a5 * m + d;
      a6 = a6 * m + d;
      a7 = a7 * m + d;
      a8 = a8 * m + d;
      a9 = a9 * m + d;
      a10 = a10 * m + d;
      a11 = a11 * m + d;
    }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
  }
}
