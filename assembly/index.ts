// The kernel ABI: every export takes byte offsets into the imported memory and plain sizes;
// nothing allocates and nothing keeps state between calls. The constants the host must agree on
// are exported as immutable globals, which the host checks against its own view when it loads
// the module (src/runtime/kernels.ts).
export { SIMDCNN_BUILD_SIMD } from "./build";
export {
  ACT_NONE, ACT_CLAMP, ACT_LEAKY, ACT_SIGMOID, ACT_TANH, ACT_EXP, ACT_ELU, ACT_SELU, ACT_CELU, ACT_HARDSIGMOID, ACT_HARDSWISH,
  ACT_SOFTPLUS, ACT_SOFTSIGN, ACT_MISH, ACT_GELU, ACT_GELU_TANH, ACT_SILU, ACT_ERF, ACT_LOG, ACT_SQRT, ACT_RECIPROCAL, ACT_NEG,
  ACT_ABS, ACT_FLOOR, ACT_CEIL, ACT_ROUND, ACT_SIGN, ACT_POW
} from "./activation";
export { GEMM_MR, GEMM_NR, igemm_f32_4x8, pack_gemm_f32_8 } from "./igemm";
export { pack_planes_f32_8 } from "./pointwise";
export { conv2d_f32_ci1_4x8, conv2d_f32_ci1_4x8_nchw } from "./conv_ci1";
export { conv2d_f32_small_8x4 } from "./conv_small";
export { conv2d_f32_winograd_2x2k3, winograd_weights_f32_2x2k3 } from "./winograd";
export { conv2d_indirection, conv2d_tap_runs } from "./indirection";
export { DWCONV_CB, dwconv_f32, pack_dwconv_f32 } from "./dwconv";
export { dwconv_f32_nchw_4 } from "./dwconv_planes";
export { maxpool2d_f32, avgpool2d_f32, globalpool_f32 } from "./pool";
export { maxpool2d_f32_nchw, avgpool2d_f32_nchw } from "./pool_planes";
export { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_PRELU, BIN_MIN, BIN_MAX, BIN_POW, unary_f32, binary_f32 } from "./elementwise";
export { transpose_f32_4x4, transpose_f32_rows } from "./transpose";
export { pad_f32 } from "./pad";
export { strided_copy_f32 } from "./copy";
export { softmax_f32, log_softmax_f32 } from "./softmax";
export { resize_nearest_f32, resize_taps_f32 } from "./resize";
export { argmax_f32 } from "./argmax";
export { RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD, RED_L1, RED_L2, RED_SUMSQUARE, RED_LOGSUMEXP, reduce_f32 } from "./reduce";
export { norm_f32, lpnorm_f32 } from "./norm";
export {
  CMP_EQ, CMP_GT, CMP_GE, CMP_LT, CMP_LE, LOGIC_AND, LOGIC_OR, LOGIC_XOR, CAST_F32_I32, CAST_I32_F32, CAST_F32_BOOL, CAST_I32_BOOL,
  compare_f32, compare_i32, logic_i32, where_x32, cast_x32
} from "./compare";
export { gather_x32, gather_elements_x32, gather_nd_x32, scatter_nd_x32 } from "./gather";
export { SCATTER_ADD, SCATTER_MUL, SCATTER_MAX, SCATTER_MIN, scatter_nd_reduce_x32 } from "./scatter_reduce";
export { topk_f32, nms_f32 } from "./select";
export { nonzero_x32 } from "./nonzero";
export { peak_f32, peak_tile_f32 } from "./peak";
export { deconv2d_indirection, deconv_f32_4x8 } from "./deconv";
export { QOUT_I32, QOUT_F32, QOUT_U8, QOUT_I8, QOUT_Q16U8, QOUT_Q16I8, qgemm_q8_4x8, pack_qgemm_q8_8, quantize_f32_q8, quantize_f32_q8_i16, fake_quantize_f32, minmax_f32 } from "./qgemm";
export { conv2d_q16_winograd_2x2k3, winograd_weights_q16_2x2k3 } from "./qwinograd";
export { dequantize_q16_f32, qadd_q16, pad_channels_q16 } from "./qchain";
export { QDWCONV_CB, dwconv_q16_8 } from "./qdwconv";
export { maxpool2d_q16, avgpool2d_q16, globalpool_q16 } from "./qpool";
