// The ONNX operators simdcnn imports, with what each supports: the one list that the load-time
// check, the importer's handler table (typed over it), docs/onnx.md and the conformance test
// read. Default domain only; every op is read with the attributes of the version the model's
// opset selects.

export const MIN_OPSET = 1;
export const MAX_OPSET = 21;

export const ONNX_OPS = {
  Add: "numpy broadcasting; fused into the producing convolution or GEMM as a residual when it can be",
  ArgMax: "over the channel axis of a 4-d activation or the last axis; keepdims, select_last_index; indices as float32 values",
  AveragePool: "2-d; pads, auto_pad, strides, ceil_mode, count_include_pad, dilations (opset 19)",
  BatchNormalization: "inference only; folded into a preceding convolution, else a per-channel scale and shift",
  Cast: "folded on constants (to float, double, integers, bool); an activation cast to float or double is itself",
  Clip: "min/max as attributes (opset < 11) or constant inputs; fused as an activation",
  Concat: "any axis; channel concatenation of activations stays NHWC",
  Constant: "value, value_float(s), value_int(s)",
  Conv: "2-d; constant weights (weights fed as inputs are bound by value); pads, auto_pad, strides, dilations, group (depthwise included)",
  ConvTranspose: "2-d; constant weights; pads, auto_pad, output_padding, output_shape, strides, dilations, group (depthwise included); bias, a following activation and BatchNormalization fused",
  Div: "numpy broadcasting",
  Dropout: "inference (identity); no mask output",
  Exp: "computed in the kernels, identical in every engine",
  Flatten: "any axis",
  Gather: "constant indices; folded when the data is constant",
  Gemm: "alpha, beta, transA, transB, C of any broadcastable shape; B constant (or fed as an input: bound by value)",
  GlobalAveragePool: "4-d",
  GlobalMaxPool: "4-d",
  Identity: "",
  LeakyRelu: "fused as an activation",
  MatMul: "any rank with broadcast batch dimensions; a constant 2-d B is packed once",
  MaxPool: "2-d; pads, auto_pad, strides, dilations, ceil_mode; no Indices output",
  Mul: "numpy broadcasting",
  Pad: "constant mode; pads as attribute or input, axes (opset 18)",
  PRelu: "slope broadcast to the input",
  Relu: "fused as an activation",
  Reshape: "0 and -1, allowzero; the shape must be constant or computable at load (Shape chains fold)",
  Resize: "the two spatial axes of 4-d NCHW (or NHWC) tensors; nearest (every nearest_mode), linear, cubic (cubic_coeff_a, exclude_outside); every coordinate_transformation_mode; scales or sizes (constant or folded), roi, extrapolation_value, axes and keep_aspect_ratio_policy (opset 18); not antialias",
  Shape: "start/end (opset 15); always folded",
  Sigmoid: "fused as an activation",
  Slice: "constant starts/ends/axes/steps, negative steps",
  Softmax: "axis semantics before (2-d coercion) and after opset 13",
  Squeeze: "axes as attribute (opset < 13) or constant input",
  Sub: "numpy broadcasting",
  Tanh: "fused as an activation",
  Transpose: "any permutation up to rank 6",
  Unsqueeze: "axes as attribute (opset < 13) or constant input",
  Upsample: "opsets 7-9: scales attribute or input over the spatial axes, nearest or linear",
} as const;

export type OnnxOp = keyof typeof ONNX_OPS;

export const SUPPORTED_ONNX_OPS = Object.keys(ONNX_OPS) as OnnxOp[];

export function isSupportedOp(opType: string, domain = ""): opType is OnnxOp {
  return (domain === "" || domain === "ai.onnx") && Object.hasOwn(ONNX_OPS, opType);
}

/** The table of docs/onnx.md, made from ONNX_OPS. */
export function opsTable(): string {
  const rows = SUPPORTED_ONNX_OPS.map((op) => `| ${op} | ${ONNX_OPS[op] || "—"} |`);
  return ["| op | supported |", "| --- | --- |", ...rows].join("\n");
}
