import { BackendError } from "../errors.js";

/**
 * The kernel ABI as the TypeScript sees it: every export of assembly/index.ts with its
 * parameters in order, and the constants both sides must agree on. It is stated here once and
 * checked, not trusted: `checkKernels` compares it with a module's exports when the module is
 * loaded (names, arity, constant values), and test/abi.test.ts compares the parameter names
 * with the AssemblyScript source.
 *
 * Units, for every kernel: a pointer (a parameter of type usize in assembly/) is a byte offset
 * into the memory, 0 meaning "none" where a kernel allows it; sizes, counts and strides are in
 * elements (floats), except where a parameter's name says Bytes. Each kernel's layout is
 * described in the comment above it in assembly/.
 *
 * Order, for every kernel: the sizes and geometry first, then the arrays read (each pointer
 * followed by its own strides), then the array written (with its strides), then the operation's
 * parameters (activation kind and its constants, scale factors, fill values). TypeScript names
 * the arguments (`Call`), so this order is stated here and nowhere else.
 */
export const SIGNATURES = {
  igemm_f32_4x8: ["m", "n", "kc", "ks", "a", "ind", "runs", "zero", "w", "r", "c", "ldc", "act", "p0", "p1"],
  pack_gemm_f32_8: ["k", "n", "b", "sk", "sn", "bias", "out", "alpha"],
  pack_planes_f32_8: ["k", "n", "x", "ldx", "out"],
  conv2d_f32_ci1_4x8: [
    "batch", "hp", "wp", "oh", "ow", "n", "kh", "kw", "sh", "sw", "dh", "dw", "x", "w", "y", "act", "p0", "p1",
  ],
  conv2d_f32_ci1_4x8_nchw: [
    "batch", "hp", "wp", "oh", "ow", "n", "kh", "kw", "sh", "sw", "dh", "dw", "x", "w", "y", "plane", "act", "p0", "p1",
  ],
  conv2d_f32_small_8x4: [
    "h", "w", "cin", "pt", "pl", "wp", "span", "oy0", "oh", "ow", "n", "kk", "sh", "sw", "band", "x", "buf", "wr", "r", "y", "act", "p0", "p1",
  ],
  conv2d_f32_winograd_2x2k3: [
    "h", "w", "cin", "cout", "oh", "ow", "pt", "pl", "tile0", "tiles", "block", "x", "zero", "u", "bias", "r", "scratch", "y", "act", "p0", "p1",
  ],
  winograd_weights_f32_2x2k3: ["cin", "cout", "g", "out"],
  conv2d_indirection: ["batch", "h", "w", "pixelStride", "oh", "ow", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "mr", "ind"],
  conv2d_tap_runs: ["tiles", "ks", "mr", "stepBytes", "ind", "runs"],
  dwconv_f32: ["m", "c", "ks", "a", "ind", "zero", "w", "out", "act", "p0", "p1"],
  pack_dwconv_f32: ["ks", "c", "wsrc", "bias", "out"],
  dwconv_f32_nchw_4: ["c", "h", "w", "oh", "ow", "kh", "kw", "sh", "sw", "pt", "pl", "x", "zero", "wts", "y", "act", "p0", "p1"],
  maxpool2d_f32: ["batch", "h", "w", "c", "oh", "ow", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "x", "y"],
  avgpool2d_f32: [
    "batch", "h", "w", "c", "oh", "ow", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "pb", "pr", "x", "y", "includePad",
  ],
  maxpool2d_f32_nchw: ["planes", "h", "w", "oh", "ow", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "x", "y"],
  avgpool2d_f32_nchw: [
    "planes", "h", "w", "oh", "ow", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "pb", "pr", "x", "y", "includePad",
  ],
  globalpool_f32: ["batch", "hw", "c", "x", "y", "isMax"],
  unary_f32: ["n", "x", "y", "kind", "p0", "p1"],
  binary_f32: ["n", "bn", "a", "b", "y", "op"],
  transpose_f32_4x4: [
    "rows", "cols", "s0", "s1", "s2", "s3", "x", "ldx", "xs0", "xs1", "xs2", "xs3", "y", "ldy", "ys0", "ys1", "ys2", "ys3",
  ],
  transpose_f32_rows: [
    "rows", "cols", "inner", "s0", "s1", "s2", "s3", "x", "ldx", "xs0", "xs1", "xs2", "xs3", "y", "ldy", "ys0", "ys1", "ys2", "ys3",
  ],
  pad_f32: ["batch", "h", "w", "c", "pt", "pl", "pb", "pr", "x", "y", "value"],
  strided_copy_f32: [
    "s0", "s1", "s2", "s3", "s4", "s5", "x", "xs0", "xs1", "xs2", "xs3", "xs4", "xs5", "y", "ys0", "ys1", "ys2", "ys3", "ys4", "ys5",
  ],
  softmax_f32: ["rows", "cols", "x", "y"],
  log_softmax_f32: ["rows", "cols", "x", "y"],
  peak_f32: ["iters", "p"],
  peak_tile_f32: ["tiles", "k", "p", "out"],
  deconv2d_indirection: [
    "nty", "ntx", "batch", "h", "w", "pixelStride", "oh", "ow", "outPixelStride", "oy0", "ox0", "qh", "qw", "sh", "sw", "dh", "dw", "pt", "pl", "mr",
    "taps", "ind", "out",
  ],
  deconv_f32_4x8: ["m", "n", "kc", "ks", "a", "ind", "runs", "zero", "w", "out", "c", "act", "p0", "p1"],
  resize_nearest_f32: ["h", "w", "c", "oh", "ow", "g0", "g1", "x", "rows", "cols", "y", "fill"],
  resize_taps_f32: ["h", "w", "c", "oh", "ow", "taps", "g0", "g1", "x", "rows", "cols", "scratch", "y", "fill"],
  argmax_f32: ["rows", "cols", "x", "y", "last", "isMin"],
  reduce_f32: ["outer", "n", "inner", "cols", "x", "y", "kind"],
  norm_f32: ["outer", "n", "groups", "gcount", "cg", "x", "scale", "bias", "y", "perElement", "eps", "act", "p0", "p1"],
  lpnorm_f32: ["outer", "n", "inner", "cols", "x", "y", "p"],
  compare_f32: ["n", "bn", "a", "b", "y", "op"],
  compare_i32: ["n", "bn", "a", "b", "y", "op"],
  logic_i32: ["n", "bn", "a", "b", "y", "op"],
  where_x32: ["n", "c", "a", "b", "y"],
  cast_x32: ["n", "x", "y", "kind"],
  gather_x32: ["outer", "axisLen", "inner", "count", "x", "idx", "y"],
  gather_elements_x32: ["outer", "axisX", "axisI", "inner", "x", "idx", "y"],
  gather_nd_x32: ["batches", "count", "k", "slice", "x", "xBatch", "dims", "strides", "idx", "y"],
  scatter_nd_x32: ["n", "count", "k", "slice", "x", "dims", "strides", "idx", "upd", "y"],
  scatter_nd_reduce_x32: ["n", "count", "k", "slice", "x", "dims", "strides", "idx", "upd", "y", "op", "isInt"],
  topk_f32: ["outer", "axisLen", "inner", "k", "x", "scratch", "y", "largest"],
  nonzero_x32: ["rank", "n", "x", "dims", "y", "isInt"],
  nms_f32: [
    "batches", "classes", "n", "maxOut", "rows", "boxes", "scores", "scratch", "y", "centerPointBox", "iou", "scoreThreshold", "useScore",
  ],
  qgemm_q8_4x8: [
    "m", "n", "kc", "ks", "a", "ind", "runs", "zero", "w", "scale", "fbias", "c", "ldc", "outKind", "zy", "ys",
  ],
  pack_qgemm_q8_8: ["kc", "ks", "n", "b", "st", "sk", "sn", "wzp", "out", "wSigned"],
  conv2d_q16_winograd_2x2k3: [
    "h", "w", "cin", "cout", "oh", "ow", "pt", "pl", "tile0", "tiles", "block", "x", "zero", "u", "scale", "fbias", "scratch", "y", "outKind", "zy", "ys",
  ],
  winograd_weights_q16_2x2k3: ["cin", "cout", "g", "wzp", "out", "wSigned"],
  quantize_f32_q8: ["n", "x", "y", "scale", "zp", "ySigned"],
  quantize_f32_q8_i16: ["n", "x", "y", "scale", "zp", "ySigned"],
  minmax_f32: ["n", "x", "y"],
  fake_quantize_f32: ["n", "x", "y", "scale", "zp", "ySigned"],
  dequantize_q16_f32: ["n", "x", "y", "scale"],
  qadd_q16: ["n", "a", "b", "y", "sa", "sb", "sy", "lo", "hi"],
  pad_channels_q16: ["n", "c", "x", "y"],
  dwconv_q16_8: ["m", "c", "ks", "a", "ind", "zero", "w", "scale", "fbias", "y", "outKind", "zy", "ys"],
  maxpool2d_q16: ["batch", "h", "w", "c", "oh", "ow", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "x", "y"],
  avgpool2d_q16: [
    "batch", "h", "w", "c", "oh", "ow", "kh", "kw", "sh", "sw", "pt", "pl", "x", "y", "includePad", "sx", "sy", "zy", "ySigned",
  ],
  globalpool_q16: ["batch", "hw", "c", "x", "y", "isMax", "scale", "zy", "ySigned"],
} as const;

/** Tile rows of igemm_f32_4x8 and columns of its packed weight panels. */
export const GEMM_MR = 4;
export const GEMM_NR = 8;
/** Channels per packed block of dwconv_f32. */
export const DWCONV_CB = 4;
/** Channels per packed weight block of dwconv_q16_8. */
export const QDWCONV_CB = 8;
/** Activation kinds (assembly/activation.ts). */
export const ACT = {
  none: 0, clamp: 1, leaky: 2, sigmoid: 3, tanh: 4, exp: 5, elu: 6, selu: 7, celu: 8, hardsigmoid: 9, hardswish: 10, softplus: 11,
  softsign: 12, mish: 13, gelu: 14, gelu_tanh: 15, silu: 16, erf: 17, log: 18, sqrt: 19, reciprocal: 20, neg: 21, abs: 22, floor: 23,
  ceil: 24, round: 25, sign: 26, pow: 27,
} as const;
/** Binary operations (assembly/elementwise.ts). */
export const BIN = { add: 0, sub: 1, mul: 2, div: 3, prelu: 4, min: 5, max: 6, pow: 7 } as const;
/** Reductions of reduce_f32 (assembly/reduce.ts). */
export const RED = { sum: 0, mean: 1, max: 2, min: 3, prod: 4, l1: 5, l2: 6, sumSquare: 7, logSumExp: 8 } as const;
/** Comparisons, logic ops and casts (assembly/compare.ts). */
export const CMP = { eq: 0, gt: 1, ge: 2, lt: 3, le: 4 } as const;
export const LOGIC = { and: 0, or: 1, xor: 2 } as const;
export const CAST = { f32_i32: 0, i32_f32: 1, f32_bool: 2, i32_bool: 3 } as const;
/**
 * Output kinds of qgemm_q8_4x8 (assembly/qgemm.ts): raw i32, dequantized f32, requantized u8 or
 * i8, or quantized for the next 8-bit op as its i16 operand (assembly/qchain.ts).
 */
export const QOUT = { i32: 0, f32: 1, u8: 2, i8: 3, q16u8: 4, q16i8: 5 } as const;
/** Reductions of scatter_nd_reduce_x32 (assembly/scatter_reduce.ts). */
export const SCATTER = { add: 1, mul: 2, max: 3, min: 4 } as const;

/** Every constant global a module exports, with the value this TypeScript expects. */
export const CONSTANTS: Readonly<Record<string, number>> = {
  GEMM_MR, GEMM_NR, DWCONV_CB, QDWCONV_CB,
  ...Object.fromEntries(Object.entries(ACT).map(([k, v]) => [`ACT_${k.toUpperCase()}`, v])),
  ...Object.fromEntries(Object.entries(BIN).map(([k, v]) => [`BIN_${k.toUpperCase()}`, v])),
  ...Object.fromEntries(Object.entries(RED).map(([k, v]) => [`RED_${k.toUpperCase()}`, v])),
  ...Object.fromEntries(Object.entries(QOUT).map(([k, v]) => [`QOUT_${k.toUpperCase()}`, v])),
  ...Object.fromEntries(Object.entries(CMP).map(([k, v]) => [`CMP_${k.toUpperCase()}`, v])),
  ...Object.fromEntries(Object.entries(LOGIC).map(([k, v]) => [`LOGIC_${k.toUpperCase()}`, v])),
  ...Object.fromEntries(Object.entries(CAST).map(([k, v]) => [`CAST_${k.toUpperCase()}`, v])),
  ...Object.fromEntries(Object.entries(SCATTER).map(([k, v]) => [`SCATTER_${k.toUpperCase()}`, v])),
};

export type KernelName = keyof typeof SIGNATURES;

/** A kernel's arguments by parameter name. */
export type KernelArgs<K extends KernelName> = { readonly [P in (typeof SIGNATURES)[K][number]]: number };

/** A kernel call: the export's name and its arguments by name. */
export type Call = { [K in KernelName]: { fn: K; args: KernelArgs<K> } }[KernelName];

/** The call's arguments in the export's order. */
export function positional(call: Call): number[] {
  const args = call.args as Readonly<Record<string, number>>;
  return SIGNATURES[call.fn].map((p) => args[p]);
}

type Numbers<P extends readonly string[]> = { [I in keyof P]: number };

/** The exports of build/simdcnn.{simd,scalar}.wasm. */
export type Kernels = { [K in Exclude<KernelName, "peak_f32" | "peak_tile_f32">]: (...args: Numbers<(typeof SIGNATURES)[K]>) => void } & {
  peak_f32(...args: Numbers<(typeof SIGNATURES)["peak_f32"]>): number;
  peak_tile_f32(...args: Numbers<(typeof SIGNATURES)["peak_tile_f32"]>): number;
  SIMDCNN_BUILD_SIMD: WebAssembly.Global;
};

/**
 * Checks a module's exports against this view of the ABI: every kernel present with its arity,
 * every constant present with its value. A module of another version fails here, with what
 * differs, rather than computing garbage later.
 */
export function checkKernels(exports: WebAssembly.Exports): Kernels {
  const wrong: string[] = [];
  for (const [name, params] of Object.entries(SIGNATURES)) {
    const f = exports[name];
    if (typeof f !== "function") wrong.push(`kernel ${name} is missing`);
    else if (f.length !== params.length) wrong.push(`kernel ${name} takes ${f.length} arguments, expected ${params.length}`);
  }
  for (const [name, value] of Object.entries(CONSTANTS)) {
    const g = exports[name];
    if (!(g instanceof WebAssembly.Global)) wrong.push(`constant ${name} is missing`);
    else if (g.value !== value) wrong.push(`constant ${name} is ${g.value}, expected ${value}`);
  }
  if (wrong.length > 0) throw new BackendError(`the kernel module does not match this version of simdcnn: ${wrong.join("; ")}`);
  return exports as unknown as Kernels;
}
