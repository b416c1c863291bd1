// peak_f32: the arithmetic ceiling of one core for this build, for the benchmarks to compare
// kernels with. `iters` steps of a GEMM micro-kernel held in L1: 8 accumulators, each step adding
// products of values loaded from the first or the second 64 bytes at p, in turn, so that nothing
// is loop-invariant. p must be 128-byte aligned: the turn is q ^ 64, which then stays inside the
// 128 bytes, and no load straddles a cache line. Multiplies never wait on an addition and loads
// are cheap, so a step runs at the issue rate of 2 multiplies + 2 adds per cycle: 64 flop per
// step in the SIMD build, 16 in the scalar. Here this measured 42.5-42.7 GFLOP/s, where chained
// multiply-add forms measured 40.3-41.4. Returns a sum so that the work is not optimised away.
export function peak_f32(iters: i32, p: usize): f32 {
  let q = p;
  if (ASC_FEATURE_SIMD) {
    let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (let i = 0; i < iters; i++) {
      const b0 = v128.load(q);
      const b1 = v128.load(q, 16);
      let a = v128.load32_splat(q, 32);
      c0 = f32x4.add(c0, f32x4.mul(a, b0));
      c1 = f32x4.add(c1, f32x4.mul(a, b1));
      a = v128.load32_splat(q, 36);
      c2 = f32x4.add(c2, f32x4.mul(a, b0));
      c3 = f32x4.add(c3, f32x4.mul(a, b1));
      a = v128.load32_splat(q, 40);
      c4 = f32x4.add(c4, f32x4.mul(a, b0));
      c5 = f32x4.add(c5, f32x4.mul(a, b1));
      a = v128.load32_splat(q, 44);
      c6 = f32x4.add(c6, f32x4.mul(a, b0));
      c7 = f32x4.add(c7, f32x4.mul(a, b1));
      q ^= 64;
    }
    const t = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
    return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (let i = 0; i < iters; i++) {
      const a0 = load<f32>(q, 16), a1 = load<f32>(q, 20);
      const b0 = load<f32>(q), b1 = load<f32>(q, 4), b2 = load<f32>(q, 8), b3 = load<f32>(q, 12);
      s0 = s0 + a0 * b0;
      s1 = s1 + a0 * b1;
      s2 = s2 + a0 * b2;
      s3 = s3 + a0 * b3;
      s4 = s4 + a1 * b0;
      s5 = s5 + a1 * b1;
      s6 = s6 + a1 * b2;
      s7 = s7 + a1 * b3;
      q ^= 64;
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
  }
}
