// peak_f32: the arithmetic ceiling of one core for this build, for the benchmarks to compare
// kernels with: `iters` rounds of four pairs s = s + x * m, t = t + s * m (8 multiplies and 8 adds;
// SIMD build: 64 flop per round on 4 lanes, scalar: 16). A round's 16 operations need 4 cycles at
// 2 multiplies + 2 adds per cycle, and each accumulator's chain only 3, so the loop runs at the
// issue rate. (Six x = x * m, s = s + x chains, the earlier form, need exactly the issue rate and
// measured 3% lower here.) Returns a sum so that the work is not optimised away.
export function peak_f32(iters: i32): f32 {
  if (ASC_FEATURE_SIMD) {
    const m = f32x4.splat(1.0000001);
    const x = f32x4.splat(0.5);
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (let i = 0; i < iters; i++) {
      s0 = f32x4.add(s0, f32x4.mul(x, m));
      s1 = f32x4.add(s1, f32x4.mul(s0, m));
      s2 = f32x4.add(s2, f32x4.mul(x, m));
      s3 = f32x4.add(s3, f32x4.mul(s2, m));
      s4 = f32x4.add(s4, f32x4.mul(x, m));
      s5 = f32x4.add(s5, f32x4.mul(s4, m));
      s6 = f32x4.add(s6, f32x4.mul(x, m));
      s7 = f32x4.add(s7, f32x4.mul(s6, m));
    }
    const t = f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(f32x4.add(s4, s5), f32x4.add(s6, s7)));
    return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
  } else {
    const m: f32 = 1.0000001;
    const x: f32 = 0.5;
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (let i = 0; i < iters; i++) {
      s0 = s0 + x * m;
      s1 = s1 + s0 * m;
      s2 = s2 + x * m;
      s3 = s3 + s2 * m;
      s4 = s4 + x * m;
      s5 = s5 + s4 * m;
      s6 = s6 + x * m;
      s7 = s7 + s6 * m;
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
  }
}
