/** The exports of build/simdcnn.{simd,scalar}.wasm: pointers are byte offsets into the memory. */
export interface Kernels {
  SIMDCNN_BUILD_SIMD: WebAssembly.Global;
  igemm_f32_4x8(
    m: number, n: number, kc: number, ks: number,
    a: number, ind: number, runs: number, zero: number, w: number,
    c: number, ldc: number, r: number,
    act: number, p0: number, p1: number,
  ): void;
  pack_gemm_f32_8(k: number, n: number, b: number, sk: number, sn: number, alpha: number, bias: number, out: number): void;
  conv2d_f32_ci1_4x8(
    x: number, batch: number, hp: number, wp: number, oh: number, ow: number, n: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
    w: number, y: number, act: number, p0: number, p1: number,
  ): void;
  conv2d_indirection(
    ind: number, batch: number, h: number, w: number, pixelStride: number,
    oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
    pt: number, pl: number, mr: number,
  ): void;
  conv2d_tap_runs(ind: number, tiles: number, ks: number, mr: number, stepBytes: number, runs: number): void;
  dwconv_f32(
    m: number, c: number, ks: number, a: number, ind: number, zero: number, w: number, out: number,
    act: number, p0: number, p1: number,
  ): void;
  pack_dwconv_f32(ks: number, c: number, w: number, bias: number, out: number): void;
  maxpool2d_f32(
    x: number, batch: number, h: number, w: number, c: number, oh: number, ow: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, pt: number, pl: number, y: number,
  ): void;
  avgpool2d_f32(
    x: number, batch: number, h: number, w: number, c: number, oh: number, ow: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
    pt: number, pl: number, pb: number, pr: number, includePad: number, y: number,
  ): void;
  globalpool_f32(x: number, batch: number, hw: number, c: number, isMax: number, y: number): void;
  unary_f32(x: number, n: number, y: number, kind: number, p0: number, p1: number): void;
  binary_f32(a: number, b: number, y: number, n: number, bn: number, op: number): void;
  transpose_f32_4x4(
    x: number, y: number, rows: number, cols: number, ldx: number, ldy: number,
    s0: number, s1: number, s2: number, s3: number,
    xs0: number, xs1: number, xs2: number, xs3: number,
    ys0: number, ys1: number, ys2: number, ys3: number,
  ): void;
  transpose_f32_rows(
    x: number, y: number, rows: number, cols: number, inner: number, ldx: number, ldy: number,
    s0: number, s1: number, s2: number, s3: number,
    xs0: number, xs1: number, xs2: number, xs3: number,
    ys0: number, ys1: number, ys2: number, ys3: number,
  ): void;
  pad_f32(
    x: number, batch: number, h: number, w: number, c: number,
    pt: number, pl: number, pb: number, pr: number, value: number, y: number,
  ): void;
  strided_copy_f32(
    x: number, y: number,
    s0: number, s1: number, s2: number, s3: number, s4: number, s5: number,
    xs0: number, xs1: number, xs2: number, xs3: number, xs4: number, xs5: number,
    ys0: number, ys1: number, ys2: number, ys3: number, ys4: number, ys5: number,
  ): void;
  softmax_f32(x: number, rows: number, cols: number, y: number): void;
  peak_f32(p: number, iters: number): number;
}

/** Tile rows of igemm_f32_4x8 and columns of its packed weight panels. */
export const GEMM_MR = 4;
export const GEMM_NR = 8;
/** Channels per packed block of dwconv_f32. */
export const DWCONV_CB = 4;

/** Activation kinds as assembly/activation.ts numbers them. */
export const ACT = { none: 0, clamp: 1, leaky: 2, sigmoid: 3, tanh: 4, exp: 5 } as const;
/** Binary operations as assembly/elementwise.ts numbers them. */
export const BIN = { add: 0, sub: 1, mul: 2, div: 3, prelu: 4 } as const;
