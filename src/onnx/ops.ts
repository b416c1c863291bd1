// The ONNX operators simdcnn imports: the one list the load-time check, the docs and the
// conformance test read. Default domain only; opsets 1 to 21 (each op read with the attributes
// of the version the model's opset selects).

export const MIN_OPSET = 1;
export const MAX_OPSET = 21;

export const SUPPORTED_ONNX_OPS = [
  "Add",
  "AveragePool",
  "BatchNormalization",
  "Clip",
  "Concat",
  "Constant",
  "Conv",
  "Div",
  "Dropout",
  "Exp",
  "Flatten",
  "Gather",
  "Gemm",
  "GlobalAveragePool",
  "GlobalMaxPool",
  "Identity",
  "LeakyRelu",
  "MatMul",
  "MaxPool",
  "Mul",
  "Pad",
  "PRelu",
  "Relu",
  "Reshape",
  "Shape",
  "Sigmoid",
  "Slice",
  "Softmax",
  "Squeeze",
  "Sub",
  "Tanh",
  "Transpose",
  "Unsqueeze",
] as const;

export type OnnxOp = (typeof SUPPORTED_ONNX_OPS)[number];

export function isSupportedOp(opType: string, domain = ""): opType is OnnxOp {
  return (domain === "" || domain === "ai.onnx") && (SUPPORTED_ONNX_OPS as readonly string[]).includes(opType);
}
