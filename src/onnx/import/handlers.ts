import type { OnnxNode } from "../model.js";
import type { OnnxOp } from "../ops.js";
import { activation, clip, exp } from "./activation.js";
import { conv, convTranspose } from "./conv.js";
import { binary, prelu } from "./elementwise.js";
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
import { gatherDynamic, gatherElements, gatherND, scatterND } from "./gather.js";
import { compare, logic, not, where } from "./logic.js";
import { nonMaxSuppression, topk } from "./select.js";
import { constantOfShape, depthToSpace, expand, range, split, tile } from "./movement.js";
import { einsum } from "./einsum.js";

/** One importer per supported op: typed over SUPPORTED_ONNX_OPS, so the two cannot drift apart. */
export const HANDLERS: Record<OnnxOp, (im: Importer, n: OnnxNode) => void> = {
  Add: (im) => binary(im, "Add"),
  And: (im) => logic(im, "and"),
  ArgMax: (im) => argmax(im),
  AveragePool: (im) => pool(im, false),
  BatchNormalization: (im) => batchNorm(im),
  Cast: (im) => quantCast(im) || cast(im),
  Clip: (im) => clip(im),
  Concat: (im) => concat(im),
  Constant: (im) => constant(im),
  ConstantOfShape: (im) => constantOfShape(im),
  Conv: (im) => qdqConv(im) || conv(im),
  ConvInteger: (im) => convInteger(im),
  ConvTranspose: (im) => convTranspose(im),
  DepthToSpace: (im) => depthToSpace(im, true),
  DequantizeLinear: (im) => dequantizeLinear(im),
  Div: (im) => binary(im, "Div"),
  Dropout: (im, n) => identity(im, n),
  DynamicQuantizeLinear: (im) => dynamicQuantizeLinear(im),
  Einsum: (im) => einsum(im),
  Equal: (im) => compare(im, "eq"),
  Exp: (im) => exp(im),
  Expand: (im) => expand(im),
  Flatten: (im) => reshape(im, true),
  Gather: (im) => gatherDynamic(im) || gather(im),
  GatherElements: (im) => gatherElements(im),
  GatherND: (im) => gatherND(im),
  Gemm: (im) => gemm(im),
  GlobalAveragePool: (im) => globalPool(im, false),
  GlobalMaxPool: (im) => globalPool(im, true),
  Greater: (im) => compare(im, "gt"),
  GreaterOrEqual: (im) => compare(im, "ge"),
  Identity: (im, n) => identity(im, n),
  LeakyRelu: (im) => activation(im, { leakyRelu: im.float("alpha", 0.01) }),
  Less: (im) => compare(im, "lt"),
  LessOrEqual: (im) => compare(im, "le"),
  MatMul: (im) => qdqMatMul(im) || matmul(im),
  MatMulInteger: (im) => matMulInteger(im),
  MaxPool: (im) => pool(im, true),
  Mul: (im) => quantMul(im) || binary(im, "Mul"),
  NonMaxSuppression: (im) => nonMaxSuppression(im),
  Not: (im) => not(im),
  Or: (im) => logic(im, "or"),
  Pad: (im) => pad(im),
  PRelu: (im) => prelu(im),
  QLinearConv: (im) => qlinearConv(im),
  QLinearMatMul: (im) => qlinearMatMul(im),
  QuantizeLinear: (im) => quantizeLinear(im),
  Range: (im) => range(im),
  Relu: (im) => activation(im, "relu"),
  Reshape: (im) => reshape(im, false),
  Resize: (im) => resize(im),
  ScatterND: (im) => scatterND(im),
  Shape: (im) => shape(im),
  Sigmoid: (im) => activation(im, "sigmoid"),
  Slice: (im) => slice(im),
  Softmax: (im) => softmax(im),
  SpaceToDepth: (im) => depthToSpace(im, false),
  Split: (im) => split(im),
  Squeeze: (im) => squeeze(im, false),
  Sub: (im) => binary(im, "Sub"),
  Tanh: (im) => activation(im, "tanh"),
  Tile: (im) => tile(im),
  TopK: (im) => topk(im),
  Transpose: (im) => transpose(im),
  Unsqueeze: (im) => squeeze(im, true),
  Upsample: (im) => upsample(im),
  Where: (im) => where(im),
  Xor: (im) => logic(im, "xor"),
};
