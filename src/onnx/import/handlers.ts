import type { OnnxNode } from "../model.js";
import type { OnnxOp } from "../ops.js";
import { activation, clip, exp } from "./activation.js";
import { conv, convTranspose } from "./conv.js";
import { binary, prelu } from "./elementwise.js";
import { gemm, matmul } from "./gemm.js";
import type { Importer } from "./importer.js";
import { batchNorm, groupNorm, instanceNorm, layerNorm, lpNorm } from "./normalization.js";
import { globalPool, pool } from "./pool.js";
import {
  convInteger, dequantizeLinear, dynamicQuantizeLinear, matMulInteger, qdqConv, qdqMatMul, qdqMaxPool, qlinearAdd, qlinearConv,
  qlinearGlobalAveragePool, qlinearMatMul, quantCast, quantMul, quantizeLinear,
} from "./quant.js";
import { reduce } from "./reduce.js";
import { softmax } from "./softmax.js";
import { argmax, resize, upsample } from "./resize.js";
import { cast, concat, constant, gather, identity, pad, reshape, shape, slice, squeeze, transpose } from "./tensor.js";

/** One importer per supported op: typed over SUPPORTED_ONNX_OPS, so the two cannot drift apart. */
export const HANDLERS: Record<OnnxOp, (im: Importer, n: OnnxNode) => void> = {
  Add: (im) => binary(im, "Add"),
  ArgMax: (im) => argmax(im),
  ArgMin: (im) => argmax(im, true),
  AveragePool: (im) => pool(im, false),
  BatchNormalization: (im) => batchNorm(im),
  Cast: (im) => quantCast(im) || cast(im),
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
  Exp: (im) => exp(im),
  Flatten: (im) => reshape(im, true),
  Gather: (im) => gather(im),
  Gemm: (im) => gemm(im),
  GlobalAveragePool: (im) => globalPool(im, false),
  GlobalMaxPool: (im) => qdqMaxPool(im, true) || globalPool(im, true),
  GroupNormalization: (im) => groupNorm(im),
  Identity: (im, n) => identity(im, n),
  InstanceNormalization: (im) => instanceNorm(im),
  LayerNormalization: (im) => layerNorm(im),
  LeakyRelu: (im) => activation(im, { leakyRelu: im.float("alpha", 0.01) }),
  LpNormalization: (im) => lpNorm(im),
  MatMul: (im) => qdqMatMul(im) || matmul(im),
  MatMulInteger: (im) => matMulInteger(im),
  MaxPool: (im) => qdqMaxPool(im, false) || pool(im, true),
  Mul: (im) => quantMul(im) || binary(im, "Mul"),
  Pad: (im) => pad(im),
  PRelu: (im) => prelu(im),
  QLinearAdd: (im) => qlinearAdd(im),
  QLinearConv: (im) => qlinearConv(im),
  QLinearGlobalAveragePool: (im) => qlinearGlobalAveragePool(im),
  QLinearMatMul: (im) => qlinearMatMul(im),
  QuantizeLinear: (im) => quantizeLinear(im),
  ReduceL1: (im) => reduce(im, "l1"),
  ReduceL2: (im) => reduce(im, "l2"),
  ReduceLogSumExp: (im) => reduce(im, "logSumExp"),
  ReduceMax: (im) => reduce(im, "max"),
  ReduceMean: (im) => reduce(im, "mean"),
  ReduceMin: (im) => reduce(im, "min"),
  ReduceProd: (im) => reduce(im, "prod"),
  ReduceSum: (im) => reduce(im, "sum"),
  ReduceSumSquare: (im) => reduce(im, "sumSquare"),
  Relu: (im) => activation(im, "relu"),
  Reshape: (im) => reshape(im, false),
  Resize: (im) => resize(im),
  Shape: (im) => shape(im),
  Sigmoid: (im) => activation(im, "sigmoid"),
  Slice: (im) => slice(im),
  Softmax: (im) => softmax(im),
  Squeeze: (im) => squeeze(im, false),
  Sub: (im) => binary(im, "Sub"),
  Tanh: (im) => activation(im, "tanh"),
  Transpose: (im) => transpose(im),
  Unsqueeze: (im) => squeeze(im, true),
  Upsample: (im) => upsample(im),
};
