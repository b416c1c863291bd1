// Which build this module is: 1 for SIMD128, 0 for scalar. Exported as a global constant so the
// host can check that it loaded the module it asked for.
export const SIMDCNN_BUILD_SIMD: i32 = ASC_FEATURE_SIMD ? 1 : 0;
