import type { OnnxNode } from "../model.js";
import type { OnnxOp } from "../ops.js";
import { activation, clip, gelu, math } from "./activation.js";
import { conv, convTranspose } from "./conv.js";
import { binary, pow, prelu, variadic } from "./elementwise.js";
import { gemm, matmul } from "./gemm.js";
import type { Importer } from "./importer.js";
import { batchNorm } from "./normalization.js";
import { globalPool, pool } from "./pool.js";
import {
  convInteger, dequantizeLinear, dynamicQuantizeLinear, matMulInteger, qdqConv, qdqMatMul, qlinearConv, qlinearMatMul, quantCast,
  quantMul, quantizeLinear,
} from "./quant.js";
import { softmax } from "./softmax.js";
import { argmax, resize, upsample } from "./resize.js";
import { cast, concat, constant, gather, identity, pad, reshape, shape, slice, squeeze, transpose } from "./tensor.js";

/** One importer per supported op: typed over SUPPORTED_ONNX_OPS, so the two cannot drift apart. */
export const HANDLERS: Record<OnnxOp, (im: Importer, n: OnnxNode) => void> = {
  Abs: (im) => math(im, "abs"),
  Add: (im) => binary(im, "Add"),
  ArgMax: (im) => argmax(im),
  AveragePool: (im) => pool(im, false),
  BatchNormalization: (im) => batchNorm(im),
  Cast: (im) => quantCast(im) || cast(im),
  Ceil: (im) => math(im, "ceil"),
  Celu: (im) => activation(im, { celu: im.float("alpha", 1) }),
  Clip: (im) => clip(im),
  Concat: (im) => concat(im),
  Constant: (im) => constant(im),
  Conv: (im) => qdqConv(im) || conv(im),
  ConvInteger: (im) => convInteger(im),
  ConvTranspose: (im) => convTranspose(im),
  DequantizeLinear: (im) => dequantizeLinear(im),
  Div: (im) => binary(im, "Div"),
  Dropout: (im, n) => identity(im, n),
  DynamicQuantizeLinear: (im) => dynamicQuantizeLinear(im),
  Elu: (im) => activation(im, { elu: im.float("alpha", 1) }),
  Erf: (im) => math(im, "erf"),
  Exp: (im) => math(im, "exp"),
  Flatten: (im) => reshape(im, true),
  Floor: (im) => math(im, "floor"),
  Gather: (im) => gather(im),
  Gelu: (im) => gelu(im),
  Gemm: (im) => gemm(im),
  GlobalAveragePool: (im) => globalPool(im, false),
  GlobalMaxPool: (im) => globalPool(im, true),
  HardSigmoid: (im) => activation(im, { hardSigmoid: [im.float("alpha", 0.2), im.float("beta", 0.5)] }),
  HardSwish: (im) => activation(im, "hardSwish"),
  Identity: (im, n) => identity(im, n),
  LeakyRelu: (im) => activation(im, { leakyRelu: im.float("alpha", 0.01) }),
  Log: (im) => math(im, "log"),
  LogSoftmax: (im) => softmax(im, true),
  MatMul: (im) => qdqMatMul(im) || matmul(im),
  MatMulInteger: (im) => matMulInteger(im),
  Max: (im) => variadic(im, "Max"),
  MaxPool: (im) => pool(im, true),
  Mean: (im) => variadic(im, "Mean"),
  Min: (im) => variadic(im, "Min"),
  Mish: (im) => activation(im, "mish"),
  Mul: (im) => quantMul(im) || binary(im, "Mul"),
  Neg: (im) => math(im, "neg"),
  Pad: (im) => pad(im),
  Pow: (im) => pow(im),
  PRelu: (im) => prelu(im),
  QLinearConv: (im) => qlinearConv(im),
  QLinearMatMul: (im) => qlinearMatMul(im),
  QuantizeLinear: (im) => quantizeLinear(im),
  Reciprocal: (im) => math(im, "reciprocal"),
  Relu: (im) => activation(im, "relu"),
  Reshape: (im) => reshape(im, false),
  Resize: (im) => resize(im),
  Round: (im) => math(im, "round"),
  Selu: (im) => activation(im, { selu: [im.float("alpha", 1.67326319217681884765625), im.float("gamma", 1.05070102214813232421875)] }),
  Shape: (im) => shape(im),
  Sigmoid: (im) => activation(im, "sigmoid"),
  Sign: (im) => math(im, "sign"),
  Slice: (im) => slice(im),
  Softmax: (im) => softmax(im),
  Softplus: (im) => activation(im, "softplus"),
  Softsign: (im) => activation(im, "softsign"),
  Sqrt: (im) => math(im, "sqrt"),
  Squeeze: (im) => squeeze(im, false),
  Sub: (im) => binary(im, "Sub"),
  Sum: (im) => variadic(im, "Sum"),
  Tanh: (im) => activation(im, "tanh"),
  Transpose: (im) => transpose(im),
  Unsqueeze: (im) => squeeze(im, true),
  Upsample: (im) => upsample(im),
};
