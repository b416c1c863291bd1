import { GEMM_NR } from "./igemm";

// pack_planes_f32_8: packs X, k rows of n floats ldx apart (the channel planes of an NCHW image),
// into the 8-column panels igemm_f32_4x8 reads as B, each panel [zeros 8][ones 8][k rows of 8],
// zero-padded past n. The zero row is the kernel's bias row and the ones row the first of its
// kc = k + 1 rows: a 1x1 convolution whose A rows are [bias, weights] then adds the bias first and
// the products in channel order after it, the sums of the NHWC path, with no bias per column.
export function pack_planes_f32_8(k: i32, n: i32, x: usize, ldx: i32, out: usize): void {
  const full = n / GEMM_NR;
  const panels = (n + GEMM_NR - 1) / GEMM_NR;
  const rowBytes = <usize>ldx << 2;
  for (let p = 0; p < panels; p++) {
    const col = p * GEMM_NR;
    const src = x + (<usize>col << 2);
    if (ASC_FEATURE_SIMD) {
      v128.store(out, f32x4.splat(0));
      v128.store(out, f32x4.splat(0), 16);
      v128.store(out, f32x4.splat(1), 32);
      v128.store(out, f32x4.splat(1), 48);
    } else {
      for (let j = 0; j < GEMM_NR; j++) {
        store<f32>(out + (<usize>j << 2), 0);
        store<f32>(out + (<usize>j << 2), 1, 32);
      }
    }
    out += 2 * GEMM_NR * 4;
    if (p < full) {
      for (let kk = 0; kk < k; kk++) {
        const s = src + <usize>kk * rowBytes;
        if (ASC_FEATURE_SIMD) {
          v128.store(out, v128.load(s));
          v128.store(out, v128.load(s, 16), 16);
        } else {
          for (let j = 0; j < GEMM_NR; j++) store<f32>(out + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
        }
        out += GEMM_NR * 4;
      }
    } else {
      const nr = n - col;
      for (let kk = 0; kk < k; kk++) {
        const s = src + <usize>kk * rowBytes;
        for (let j = 0; j < GEMM_NR; j++) store<f32>(out + (<usize>j << 2), j < nr ? load<f32>(s + (<usize>j << 2)) : 0);
        out += GEMM_NR * 4;
      }
    }
  }
}
