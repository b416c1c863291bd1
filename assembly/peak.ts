import { ACT_CLAMP, activateScalar, activateVec } from "./activation";

// peak_f32: the arithmetic ceiling of one core for this build, for the benchmarks to compare
// kernels with. `iters` steps of a GEMM micro-kernel held in L1: 8 accumulators, each step adding
// products of values loaded from the first or the second 64 bytes at p, in turn, so that nothing
// is loop-invariant. p must be 128-byte aligned: the turn is q ^ 64, which then stays inside the
// 128 bytes, and no load straddles a cache line. Multiplies never wait on an addition and loads
// are cheap, so a step runs at the issue rate of 2 multiplies + 2 adds per cycle: 64 flop per
// step in the SIMD build, 16 in the scalar (chained multiply-add forms ran slower: README,
// "Measured"). Returns a sum so that the work is not optimised away.
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

// peak_tile_f32: what the ceiling leaves for a kernel whose tiles see only k products per output
// (k = 9 Cin for a 3x3 window over Cin channels): peak_f32's step k times from accumulators
// started at a bias, then the tile's finish as a fused relu makes it (clamped to [0, +inf),
// stored), `tiles` times. Everything stays in L1 and no address is computed beyond peak_f32's,
// so no kernel with such tiles can run faster on this build. p as for peak_f32, with the bias at
// p + 96 .. p + 111; out: 1 KiB, 16-byte aligned, which the stores rotate through. Returns one of
// the stored values so that the work is not optimised away. The step is written out again rather
// than shared with peak_f32: sharing an inline body with it changes peak_f32's machine code, and
// every table's "% of the ceiling" was measured with peak_f32 as it is.
export function peak_tile_f32(tiles: i32, k: i32, p: usize, out: usize): f32 {
  const inf = f32.POSITIVE_INFINITY;
  if (ASC_FEATURE_SIMD) {
    for (let t = 0; t < tiles; t++) {
      let q = p;
      let c0 = v128.load32_splat(p, 96), c1 = v128.load32_splat(p, 100), c2 = v128.load32_splat(p, 104), c3 = v128.load32_splat(p, 108);
      let c4 = c0, c5 = c1, c6 = c2, c7 = c3;
      for (let i = 0; i < k; i++) {
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
      const o = out + (<usize>(t & 7) << 7);
      v128.store(o, activateVec(c0, ACT_CLAMP, 0, inf));
      v128.store(o, activateVec(c1, ACT_CLAMP, 0, inf), 16);
      v128.store(o, activateVec(c2, ACT_CLAMP, 0, inf), 32);
      v128.store(o, activateVec(c3, ACT_CLAMP, 0, inf), 48);
      v128.store(o, activateVec(c4, ACT_CLAMP, 0, inf), 64);
      v128.store(o, activateVec(c5, ACT_CLAMP, 0, inf), 80);
      v128.store(o, activateVec(c6, ACT_CLAMP, 0, inf), 96);
      v128.store(o, activateVec(c7, ACT_CLAMP, 0, inf), 112);
    }
  } else {
    for (let t = 0; t < tiles; t++) {
      let q = p;
      let s0 = load<f32>(p, 96), s1 = load<f32>(p, 100), s2 = load<f32>(p, 104), s3 = load<f32>(p, 108);
      let s4 = s0, s5 = s1, s6 = s2, s7 = s3;
      for (let i = 0; i < k; i++) {
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
      const o = out + (<usize>(t & 7) << 5);
      store<f32>(o, activateScalar(s0, ACT_CLAMP, 0, inf));
      store<f32>(o, activateScalar(s1, ACT_CLAMP, 0, inf), 4);
      store<f32>(o, activateScalar(s2, ACT_CLAMP, 0, inf), 8);
      store<f32>(o, activateScalar(s3, ACT_CLAMP, 0, inf), 12);
      store<f32>(o, activateScalar(s4, ACT_CLAMP, 0, inf), 16);
      store<f32>(o, activateScalar(s5, ACT_CLAMP, 0, inf), 20);
      store<f32>(o, activateScalar(s6, ACT_CLAMP, 0, inf), 24);
      store<f32>(o, activateScalar(s7, ACT_CLAMP, 0, inf), 28);
    }
  }
  return load<f32>(out);
}
