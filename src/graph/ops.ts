import { Conv2d } from "../ops/conv2d.js";
import { ConvTranspose2d } from "../ops/deconv2d.js";
import { StridedCopy } from "../ops/copy.js";
import { Transpose } from "../ops/transpose.js";
import { Binary, Unary } from "../ops/elementwise.js";
import { Gemm } from "../ops/gemm.js";
import { MatMul } from "../ops/matmul.js";
import type { PreparedOp } from "../ops/op.js";
import { Pad } from "../ops/pad.js";
import { PointwiseConvNchw } from "../ops/pointwise.js";
import { DepthwiseConvNchw } from "../ops/dwconv_planes.js";
import { QConv2d } from "../ops/qconv.js";
import { QDwConv2d } from "../ops/qdwconv.js";
import { QPool2d } from "../ops/qpool.js";
import { Dequantize, QAdd, Quantize } from "../ops/qchain.js";
import { FakeQuantize } from "../ops/quantize.js";
import { GlobalPool, Pool2d } from "../ops/pool.js";
import { Softmax } from "../ops/softmax.js";
import { Resize } from "../ops/resize.js";
import { ArgMax } from "../ops/argmax.js";
import { Cast } from "../ops/cast.js";
import { Compare } from "../ops/compare.js";
import { Gather, GatherElements, GatherND } from "../ops/gather.js";
import { NonMaxSuppression } from "../ops/nms.js";
import { NonZero } from "../ops/nonzero.js";
import { LpNorm, Normalize } from "../ops/normalization.js";
import { Reduce } from "../ops/reduce.js";
import { ScatterND } from "../ops/scatter.js";
import { TopK } from "../ops/topk.js";
import { Where } from "../ops/where.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";
import { type Step, type Value, gemmDims, isInt, rootOf, sizeOfShape } from "./ir.js";

/** A step's prepared op, the values it reads (in exec's order) and the shapes to bind it to. */
export interface Prepared {
  op: PreparedOp;
  inputs: Value[];
  shapes: number[][];
}

export type Prepare<S extends Step> = (rt: Runtime, s: S) => Prepared;

/** Weights given as data become a tensor for the op's construction (it packs its own copy). */
function withTensor<T>(rt: Runtime, data: Float32Array, shape: number[], f: (t: Tensor) => T): T {
  const t = rt.fromArray(data, shape);
  try {
    return f(t);
  } finally {
    t.dispose();
  }
}

/** C known at load that does not vary by row is folded into the packed bias. */
function foldsIntoBias(c: Value): boolean {
  return rootOf(c).storage === "const" && (c.shape.length === 1 || (c.shape.length === 2 && c.shape[0] === 1));
}

/** How each step kind of the IR becomes a prepared op of src/ops/: the graph's only binding. */
export const PREPARE: { [K in Step["op"]]: Prepare<Extract<Step, { op: K }>> } = {
  conv: (rt, s) => {
    // An NCHW conv over more than one input channel is a 1x1 one over the planes, or a depthwise one.
    const op = withTensor(rt, s.w, s.wShape, (w) =>
      s.nchw && s.wShape[3] > 1
        ? new PointwiseConvNchw(rt, w, { bias: s.bias, activation: s.act })
        : s.nchw && s.groups > 1
        ? new DepthwiseConvNchw(rt, w, { bias: s.bias, strides: s.window.strides, padding: s.window.pads, activation: s.act })
        : new Conv2d(rt, w, { bias: s.bias, strides: s.window.strides, dilations: s.window.dilations, padding: s.window.pads, groups: s.groups, activation: s.act }, s.nchw ? "nchw" : "nhwc"),
    );
    const inputs = s.residual ? [s.x, s.residual] : [s.x];
    return { op, inputs, shapes: inputs.map((v) => v.shape) };
  },
  deconv: (rt, s) => {
    const op = withTensor(rt, s.w, s.wShape, (w) =>
      new ConvTranspose2d(rt, w, {
        bias: s.bias, strides: s.strides, dilations: s.dilations, padding: s.pads, outputPadding: s.outputPadding, groups: s.groups, activation: s.act,
      }),
    );
    return { op, inputs: [s.x], shapes: [s.x.shape] };
  },
  gemm: (rt, s) => {
    const { k, n } = gemmDims(s);
    const aShape = s.transA ? s.a.shape : [sizeOfShape(s.a.shape) / k, k];
    const m = s.transA ? s.a.shape[1] : aShape[0];
    const fold = s.c !== undefined && foldsIntoBias(s.c);
    const c = fold ? rt.fromArray(constData(s.c!), s.c!.shape) : undefined;
    let op: Gemm;
    try {
      op = withTensor(rt, s.b, s.bShape, (b) =>
        new Gemm(rt, b, { transA: s.transA, transB: s.transB, alpha: s.alpha, beta: s.beta, bias: s.bias, c, activation: s.act }),
      );
    } finally {
      c?.dispose();
    }
    if (s.c === undefined || fold) return { op, inputs: [s.a], shapes: [aShape] };
    // A fused residual has the output's shape, which may have more than two dimensions.
    const cShape = sizeOfShape(s.c.shape) === m * n ? [m, n] : s.c.shape;
    return { op, inputs: [s.a, s.c], shapes: [aShape, cShape] };
  },
  matmul: (rt, s) => ({
    op: new MatMul(rt),
    inputs: [s.a, s.b],
    shapes: [
      [s.aBatchStride === 0 ? 1 : s.batch, s.m, s.k],
      [s.bBatchStride === 0 ? 1 : s.batch, s.k, s.n],
    ],
  }),
  pool: (rt, s) => ({
    op: new Pool2d(rt, { max: s.max, ...s.window, padding: s.window.pads, countIncludePad: s.countIncludePad, ceil: s.ceil }, s.nchw ? "nchw" : "nhwc"),
    inputs: [s.x],
    shapes: [s.x.shape],
  }),
  globalPool: (rt, s) => ({ op: new GlobalPool(rt, s.max), inputs: [s.x], shapes: [s.x.shape] }),
  unary: (rt, s) => ({ op: new Unary(rt, s.fn), inputs: [s.x], shapes: [s.x.shape] }),
  binary: (rt, s) => ({ op: new Binary(rt, s.fn), inputs: [s.a, s.b], shapes: [s.a.shape, s.b.shape] }),
  softmax: (rt, s) => ({ op: new Softmax(rt, s.log), inputs: [s.x], shapes: [[s.rows, s.cols]] }),
  resize: (rt, s) => ({ op: new Resize(rt, s.spec), inputs: [s.x], shapes: [s.x.shape] }),
  argmax: (rt, s) => ({ op: new ArgMax(rt, s.last, true, s.min), inputs: [s.x], shapes: [[s.rows, s.cols]] }),
  reduce: (rt, s) => ({ op: new Reduce(rt, s.kind, 1, 1), inputs: [s.x], shapes: [[s.outer, s.n, s.inner]] }),
  norm: (rt, s) => ({
    op: new Normalize(rt, { groups: s.groups, perElement: s.perElement, scale: s.scale, bias: s.bias, epsilon: s.epsilon, activation: s.act }),
    inputs: [s.x],
    shapes: [s.dims],
  }),
  lpNorm: (rt, s) => ({ op: new LpNorm(rt, s.p), inputs: [s.x], shapes: [s.dims] }),
  pad: (rt, s) => ({ op: new Pad(rt, s.pads, s.value), inputs: [s.x], shapes: [s.x.shape] }),
  qconv: (rt, s) => {
    const opts = {
      weights: s.w, wShape: s.wShape, weightZeroPoints: s.zeroPoints, weightScales: s.scales, bias: s.bias,
      strides: s.window.strides, dilations: s.window.dilations, padding: s.window.pads, input: s.input, output: s.output,
    };
    return { op: s.depthwise ? new QDwConv2d(rt, opts) : new QConv2d(rt, opts), inputs: [s.x], shapes: [s.x.shape] };
  },
  fakeQuant: (rt, s) => ({ op: new FakeQuantize(rt, s.scale, s.zeroPoint, s.signed), inputs: [s.x], shapes: [s.x.shape] }),
  quantize: (rt, s) => ({ op: new Quantize(rt, s.p), inputs: [s.x], shapes: [s.x.shape] }),
  dequantize: (rt, s) => ({ op: new Dequantize(rt, s.p), inputs: [s.x], shapes: [s.x.shape] }),
  qadd: (rt, s) => ({ op: new QAdd(rt, s.pa, s.pb, s.py), inputs: [s.a, s.b], shapes: [s.a.shape, s.b.shape] }),
  qpool: (rt, s) => ({
    op: new QPool2d(rt, { max: s.max, window: s.window, countIncludePad: s.countIncludePad, input: s.p, output: s.py }),
    inputs: [s.x],
    shapes: [s.x.shape],
  }),
  compare: (rt, s) => ({ op: new Compare(rt, s.fn, isInt(s.a) ? "i32" : "f32"), inputs: [s.a, s.b], shapes: [s.a.shape, s.b.shape] }),
  logic: (rt, s) => ({ op: new Compare(rt, s.fn, "bool"), inputs: [s.a, s.b], shapes: [s.a.shape, s.b.shape] }),
  where: (rt, s) => ({ op: new Where(rt), inputs: [s.c, s.a, s.b], shapes: [s.c.shape, s.a.shape, s.b.shape] }),
  cast: (rt, s) => ({ op: new Cast(rt, s.kind), inputs: [s.x], shapes: [s.x.shape] }),
  gather: (rt, s) => ({ op: new Gather(rt, s.axis), inputs: [s.x, s.indices], shapes: [s.x.shape, s.indices.shape] }),
  gatherElements: (rt, s) => ({ op: new GatherElements(rt, s.axis), inputs: [s.x, s.indices], shapes: [s.x.shape, s.indices.shape] }),
  gatherND: (rt, s) => ({ op: new GatherND(rt, s.batchDims), inputs: [s.x, s.indices], shapes: [s.x.shape, s.indices.shape] }),
  scatterND: (rt, s) => ({ op: new ScatterND(rt, s.reduction, s.y.dtype === "i32"), inputs: [s.x, s.indices, s.updates], shapes: [s.x.shape, s.indices.shape, s.updates.shape] }),
  topk: (rt, s) => ({ op: new TopK(rt, s.axis, s.k, s.largest), inputs: [s.x], shapes: [s.x.shape] }),
  nms: (rt, s) => ({ op: new NonMaxSuppression(rt, s.opts), inputs: [s.boxes, s.scores], shapes: [s.boxes.shape, s.scores.shape] }),
  nonZero: (rt, s) => ({ op: new NonZero(rt, isInt(s.x)), inputs: [s.x], shapes: [s.x.shape] }),
  copy: (rt, s) => ({
    op: s.perm ? new Transpose(rt, s.x.shape, s.perm) : new StridedCopy(rt, s.copies, s.y.shape, s.fill, isInt(s.y)),
    inputs: [s.x],
    shapes: [s.x.shape],
  }),
};

function constData(v: Value): Float32Array {
  return rootOf(v).data!;
}
