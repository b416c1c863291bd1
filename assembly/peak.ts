// peak_f32: the arithmetic ceiling of one core for this build, for the benchmark to compare
// kernels with: `iters` rounds of 6 independent chains, each x = x * m then s = s + x, so that
// multiplies and adds issue in equal numbers and no chain's latency bounds the loop. SIMD build:
// 48 flop per round on 4 lanes; scalar: 12. Returns a sum so that the work is not optimised away.
// (Chains of dependent mul-then-add on one accumulator measured 6% lower here: latency-bound.)
export function peak_f32(iters: i32): f32 {
  if (ASC_FEATURE_SIMD) {
    const m = f32x4.splat(0.9999999);
    let x0 = f32x4.splat(1), x1 = f32x4.splat(2), x2 = f32x4.splat(3);
    let x3 = f32x4.splat(4), x4 = f32x4.splat(5), x5 = f32x4.splat(6);
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0;
    for (let i = 0; i < iters; i++) {
      x0 = f32x4.mul(x0, m);
      s0 = f32x4.add(s0, x0);
      x1 = f32x4.mul(x1, m);
      s1 = f32x4.add(s1, x1);
      x2 = f32x4.mul(x2, m);
      s2 = f32x4.add(s2, x2);
      x3 = f32x4.mul(x3, m);
      s3 = f32x4.add(s3, x3);
      x4 = f32x4.mul(x4, m);
      s4 = f32x4.add(s4, x4);
      x5 = f32x4.mul(x5, m);
      s5 = f32x4.add(s5, x5);
    }
    const t = f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(s4, s5));
    return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
  } else {
    const m: f32 = 0.9999999;
    let x0: f32 = 1, x1: f32 = 2, x2: f32 = 3, x3: f32 = 4, x4: f32 = 5, x5: f32 = 6;
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0;
    for (let i = 0; i < iters; i++) {
      x0 = x0 * m;
      s0 = s0 + x0;
      x1 = x1 * m;
      s1 = s1 + x1;
      x2 = x2 * m;
      s2 = s2 + x2;
      x3 = x3 * m;
      s3 = s3 + x3;
      x4 = x4 * m;
      s4 = s4 + x4;
      x5 = x5 * m;
      s5 = s5 + x5;
    }
    return ((s0 + s1) + (s2 + s3)) + (s4 + s5);
  }
}
