// The ONNX operators simdcnn imports, with what each supports: the one list that the load-time
// check, the importer's handler table (typed over it), docs/onnx.md and the conformance test
// read. Default domain, and three com.microsoft ops (MICROSOFT_OPS); every op is read with the attributes of the version the model's
// opset selects.

export const MIN_OPSET = 1;
export const MAX_OPSET = 21;

export const ONNX_OPS = {
  Abs: "computed in the kernels",
  Add: "numpy broadcasting; fused into the producing convolution or GEMM as a residual when it can be",
  And: "bools (int32 0/1 at run time); numpy broadcasting; folded on constants",
  ArgMax: "over the channel axis of a 4-d activation or the last axis; keepdims, select_last_index; int32 indices",
  ArgMin: "as ArgMax",
  AveragePool: "2-d; pads, auto_pad, strides, ceil_mode, count_include_pad, dilations (opset 19); between a QDQ pair and QuantizeLinear (no ceil_mode or dilations) one integer step with onnxruntime's QLinearAveragePool arithmetic",
  BatchNormalization: "inference only (training outputs only when nothing reads them); folded into a preceding convolution, else a per-channel scale and shift",
  Cast: "folded on constants (to float, double, integers, bool); at run time between float32, int32 (every integer type: int64 is computed as int32) and bool (float to integer truncates toward zero, saturating; NaN gives 0); the i32 output of ConvInteger/MatMulInteger cast to float in onnxruntime's dynamic quantization",
  Ceil: "computed in the kernels",
  Celu: "alpha; fused as an activation",
  Clip: "min/max as attributes (opset < 11) or constant inputs; fused as an activation",
  Concat: "any axis; channel concatenation of activations stays NHWC",
  Constant: "value, value_float(s), value_int(s)",
  ConstantOfShape: "constant shape (folded at load); value of any type",
  Conv: "2-d; over a QDQ pair with DequantizeLinear'd 8-bit weights (group 1 or depthwise, per-tensor or per-output-channel) one 8-bit convolution; constant weights (weights fed as inputs are bound by value); pads, auto_pad, strides, dilations, group (depthwise included)",
  ConvInteger: "2-d, group 1 or depthwise (group = channels), constant int8/uint8 weights with per-tensor or per-channel zero points; input from DynamicQuantizeLinear, the chain to Cast and Mul by the scales fused into one 8-bit convolution",
  ConvTranspose: "2-d; constant weights; pads, auto_pad, output_padding, output_shape, strides, dilations, group (depthwise included); bias, a following activation and BatchNormalization fused",
  DepthToSpace: "4-d, DCR and CRD, blocksize; one strided copy (NHWC activations stay NHWC)",
  DequantizeLinear: "of a QuantizeLinear (a QDQ pair: fused into a following Conv/MatMul, else one fake-quantization step), or of int8/uint8/int32 constants (per tensor or per axis; 8-bit weights fused into Conv/MatMul)",
  Div: "numpy broadcasting",
  Dropout: "inference (identity); a mask output only when nothing reads it",
  DynamicQuantizeLinear: "uint8, scale and zero point as ONNX defines them (float32, round half to even); only feeding ConvInteger/MatMulInteger",
  Einsum: "two operands in matrix-product patterns (batch labels in both and the output, summed labels in both operands only; ellipsis), or one operand permuted; lowered to Transpose, Reshape and MatMul",
  Elu: "alpha; fused as an activation",
  Equal: "float or integer inputs, numpy broadcasting; folded on constants",
  Erf: "a polynomial approximation within 8 ulp, identical in every engine",
  Exp: "computed in the kernels, identical in every engine",
  Expand: "constant shape, numpy broadcasting; one broadcast copy (folded on constants)",
  Flatten: "any axis",
  Floor: "computed in the kernels",
  Gather: "any axis; constant indices (folded when the data is constant) or computed ones (int32, negative counted from the end; one still outside the axis reads zeros)",
  GatherElements: "any axis; indices of the data's shape except along the axis; negative indices; outside the axis reads 0",
  GatherND: "batch_dims; computed or constant int indices, negative ones from the end; a tuple outside the data reads a zero slice",
  Gelu: "opset 20; approximate none (erf) or tanh; fused as an activation, as is the Div/Erf/Add/Mul/Mul pattern exporters write before opset 20",
  Gemm: "alpha, beta, transA, transB, C of any broadcastable shape; B constant (or fed as an input: bound by value); a 2-d QDQ pair times DequantizeLinear'd 8-bit B (alpha, beta 1, no transA, C constant [N]) runs 8-bit",
  GlobalAveragePool: "4-d; between a QDQ pair and QuantizeLinear one integer step (exact i32 sums, onnxruntime's requantization)",
  GlobalMaxPool: "4-d; between QDQ pairs as MaxPool",
  Greater: "as Equal",
  GreaterOrEqual: "as Equal",
  GroupNormalization: "num_groups, epsilon; scale and bias per group (opset 18) or per channel (21), constant; reads NHWC activations as they are stored",
  HardSigmoid: "alpha, beta; fused as an activation",
  HardSwish: "fused as an activation",
  Identity: "",
  InstanceNormalization: "any rank >= 3, epsilon, constant scale and B; reads NHWC activations as they are stored; a following activation fused",
  LayerNormalization: "axis, epsilon, constant Scale and B (broadcast to the normalized shape); no Mean/InvStdDev outputs; a following activation fused",
  LeakyRelu: "fused as an activation",
  Less: "as Equal",
  LessOrEqual: "as Equal",
  Log: "computed in the kernels, identical in every engine",
  LogSoftmax: "as Softmax; (x - max) - log(sum exp(x - max))",
  LpNormalization: "p 1 or 2, any axis (the channels of an NHWC activation read as stored)",
  MatMul: "a QDQ pair times DequantizeLinear'd 8-bit [K, N] weights runs 8-bit; any rank with broadcast batch dimensions; a constant 2-d B is packed once",
  MatMulInteger: "constant 2-d B (int8/uint8, per-tensor or per-column zero points); A from DynamicQuantizeLinear, fused as for ConvInteger",
  Max: "variadic, numpy broadcasting; NaN propagates",
  MaxPool: "2-d; pads, auto_pad, strides, dilations, ceil_mode; an Indices output only when nothing reads it; between QDQ pairs the max of the 8-bit values (exact), the pair carried past it",
  Mean: "variadic, numpy broadcasting; the sum divided by the count",
  Min: "variadic, numpy broadcasting; NaN propagates",
  Mish: "fused as an activation",
  Mul: "numpy broadcasting; Mul(x, Sigmoid(x)), Mul(x, HardSigmoid(x)) (alpha 1/6, beta 1/2) and Mul(x, Tanh(Softplus(x))) are one SiLU, HardSwish and Mish, fused as activations",
  Neg: "computed in the kernels",
  NonMaxSuppression: "center_point_box 0/1; max_output_boxes_per_class, iou_threshold, score_threshold as constants; the output's row count is known only at run time: the graph holds an upper bound and the model returns the real rows",
  NonZero: "float, integer or bool input of rank 1 or more; folded on constants; the output's column count is known only at run time: the graph holds an upper bound and the model returns the real columns; readers: Transpose (perm [1, 0], then GatherND, Gather and row-wise ops), Gather of rows (axis 0), Cast, Identity",
  Not: "as And",
  Or: "as And",
  Pad: "constant mode; pads as attribute or input, axes (opset 18)",
  Pow: "a constant scalar exponent runs as one unary step (2, 3, 0.5, -1 exactly as x*x, x*x*x, sqrt, 1/x; else exp(p log|x|)); a tensor exponent with numpy broadcasting",
  PRelu: "slope broadcast to the input",
  QLinearAdd: "com.microsoft domain (onnxruntime's quantizer); numpy broadcasting; both inputs quantized activations, the sum computed in float on their dequantized values",
  QLinearConv: "2-d, group 1 or depthwise (group = channels); input quantized per tensor (QuantizeLinear or a QLinear op), 8-bit weights per tensor or per output channel, int32 bias; read only by DequantizeLinear or QLinear ops",
  QLinearAveragePool: "com.microsoft domain; channels_last 0, 2-d, no ceil_mode; onnxruntime's arithmetic on the integers (float sums of the dequantized taps; a window of the whole image as QLinearGlobalAveragePool)",
  QLinearGlobalAveragePool: "com.microsoft domain; channels_last 0; exact i32 sums requantized once as onnxruntime does",
  QLinearMatMul: "constant 2-d B, 8-bit, per tensor or per column; as QLinearConv",
  QuantizeLinear: "per tensor, uint8/int8, round half to even; read only by DequantizeLinear (QDQ) or QLinear ops; of a QDQ pair with the same parameters, the pair's own quantization",
  Range: "constant start, limit and delta (folded at load)",
  Reciprocal: "computed in the kernels",
  ReduceL1: "as ReduceSum",
  ReduceL2: "as ReduceSum",
  ReduceLogSumExp: "as ReduceSum; max-shifted, so large inputs do not overflow",
  ReduceMax: "as ReduceSum; NaN propagates",
  ReduceMean: "as ReduceSum",
  ReduceMin: "as ReduceSum; NaN propagates",
  ReduceProd: "as ReduceSum",
  ReduceSum: "any axes (attribute, or constant input from opset 13 for ReduceSum and 18 for the others), keepdims, noop_with_empty_axes; channel or spatial axes of NHWC activations read as stored, other axes that are not adjacent gathered by one transpose",
  ReduceSumSquare: "as ReduceSum",
  Relu: "fused as an activation",
  Reshape: "0 and -1, allowzero; the shape must be constant or computable at load (Shape chains fold)",
  Resize: "the two spatial axes of 4-d NCHW (or NHWC) tensors; nearest (every nearest_mode), linear, cubic (cubic_coeff_a, exclude_outside); every coordinate_transformation_mode; scales or sizes (constant or folded), roi, extrapolation_value, axes and keep_aspect_ratio_policy (opset 18); not antialias",
  Round: "half to even",
  ScatterND: "reduction none, add, mul (opset 16), max, min (opset 18; a NaN update never replaces a number, as onnxruntime's); computed or constant indices (negative from the end; a tuple outside the data writes nothing), repeated indices take the last update or accumulate in order",
  Selu: "alpha, gamma; fused as an activation",
  Shape: "start/end (opset 15); always folded",
  Sigmoid: "fused as an activation",
  Sign: "computed in the kernels",
  Slice: "constant starts/ends/axes/steps, negative steps",
  Softmax: "axis semantics before (2-d coercion) and after opset 13",
  Softplus: "fused as an activation",
  Softsign: "fused as an activation",
  SpaceToDepth: "4-d, blocksize; one strided copy (NHWC activations stay NHWC)",
  Split: "any axis; split as attribute (opset < 13) or constant input, equal parts otherwise (num_outputs, opset 18); a channel split of an NHWC activation stays NHWC",
  Sqrt: "computed in the kernels",
  Squeeze: "axes as attribute (opset < 13) or constant input",
  Sub: "numpy broadcasting",
  Sum: "variadic, numpy broadcasting",
  Tanh: "fused as an activation",
  Tile: "constant repeats, up to 4096 tiles of rank <= 6 (one strided copy each)",
  TopK: "float input, any axis, K constant (or attribute before opset 10), largest/smallest; always sorted, ties to the lower index",
  Transpose: "any permutation up to rank 6",
  Unsqueeze: "axes as attribute (opset < 13) or constant input",
  Upsample: "opsets 7-9: scales attribute or input over the spatial axes, nearest or linear",
  Where: "float or integer X and Y, numpy broadcasting of all three",
  Xor: "as And",
} as const;

export type OnnxOp = keyof typeof ONNX_OPS;

export const SUPPORTED_ONNX_OPS = Object.keys(ONNX_OPS) as OnnxOp[];

/** The ops of onnxruntime's com.microsoft domain in ONNX_OPS, which its quantizer emits; only in that domain. */
const MICROSOFT_OPS: ReadonlySet<string> = new Set(["QLinearAdd", "QLinearAveragePool", "QLinearGlobalAveragePool"]);

export function isSupportedOp(opType: string, domain = ""): opType is OnnxOp {
  if (domain === "com.microsoft") return MICROSOFT_OPS.has(opType);
  return (domain === "" || domain === "ai.onnx") && Object.hasOwn(ONNX_OPS, opType) && !MICROSOFT_OPS.has(opType);
}

/** The table of docs/onnx.md, made from ONNX_OPS. */
export function opsTable(): string {
  const rows = SUPPORTED_ONNX_OPS.map((op) => `| ${op} | ${ONNX_OPS[op] || "—"} |`);
  return ["| op | supported |", "| --- | --- |", ...rows].join("\n");
}
