import type { Activation } from "../ops/activation.js";
import type { ReduceKind } from "../ops/reduce.js";
import type { BinaryOp, UnaryFn } from "../ops/elementwise.js";
import type { StridedCopyPlan } from "../ops/copy.js";
import type { ResizeSpec } from "../ops/resize.js";
import type { InputQuantization, QParams } from "../ops/qconv.js";
import type { CastKind } from "../ops/cast.js";
import type { CompareOp, LogicOp } from "../ops/compare.js";
import type { NmsOptions } from "../ops/nms.js";
import type { ScatterReduction } from "../ops/scatter.js";

/**
 * Element type of a value: float32, or int32, which also holds ONNX int64 (values outside int32
 * are refused when they become a value) and bool (0 or 1). Every element is 4 bytes either way, so
 * copies, aliases and the arena planner never look at it. "q16" is an 8-bit tensor of the
 * quantized chain (src/ops/qchain.ts) as its i16 operand, in the first half of its 4-byte slots:
 * only the chain's steps read it, never a copy or a graph output.
 */
export type DType = "f32" | "i32" | "q16";

/**
 * A tensor of the executable graph. Shapes are static (a graph is built per binding of the
 * model's input shapes) and are the stored shapes: NHWC for activations that convolutions
 * produce or read, the model's own order elsewhere.
 */
export interface Value {
  id: number;
  shape: number[];
  /** Where the data lives: planned in the arena, a constant, a model input, or another value's bytes. */
  storage: "arena" | "const" | "input";
  /** Constant data (storage "const"): floats, or `ints` for an i32 value. */
  data?: Float32Array;
  ints?: Int32Array;
  /** Absent: f32. */
  dtype?: DType;
  /** Set when this value is a reinterpretation of another's bytes (reshape, flatten, squeeze). */
  aliasOf?: Value;
  /** The model's name for it, when it has one. */
  name?: string;
}

export type Window = {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
};

/** One strided copy of a copy step (src/ops/copy.ts). */
export type CopyPlan = StridedCopyPlan;

export type Step =
  | {
      op: "conv";
      x: Value;
      y: Value;
      /** OHWI */
      w: Float32Array;
      wShape: [number, number, number, number];
      bias?: Float32Array;
      window: Window;
      groups: number;
      act: Activation;
      residual?: Value;
      /**
       * y is NCHW: a single-channel conv whose output is seen only as NCHW (x keeps its NHWC
       * shape, the same bytes), or a 1x1 conv over the planes of an NCHW x (src/ops/pointwise.ts), or
       * a depthwise one (src/ops/dwconv_planes.ts).
       */
      nchw?: boolean;
    }
  | {
      /** ONNX ConvTranspose, as src/ops/deconv2d.ts implements it. */
      op: "deconv";
      x: Value;
      y: Value;
      /** [Cin, kH, kW, Cout/groups] */
      w: Float32Array;
      wShape: [number, number, number, number];
      bias?: Float32Array;
      strides: [number, number];
      dilations: [number, number];
      /** Cropped from the full output: [top, left, bottom, right]. */
      pads: [number, number, number, number];
      outputPadding: [number, number];
      groups: number;
      act: Activation;
    }
  | {
      /** ONNX Gemm: y = act(alpha * A' B' + bias + beta * C), as src/ops/gemm.ts implements it. */
      op: "gemm";
      /** [M, K] ([K, M] with transA); a value of another rank is read as [size / K, K]. */
      a: Value;
      y: Value;
      /** Row-major, [K, N] ([N, K] with transB) */
      b: Float32Array;
      bShape: [number, number];
      transA: boolean;
      transB: boolean;
      alpha: number;
      beta: number;
      bias?: Float32Array;
      /** Broadcasts to [M, N]; a fused residual Add is C with beta = 1. */
      c?: Value;
      act: Activation;
    }
  | { op: "matmul"; a: Value; b: Value; y: Value; batch: number; m: number; k: number; n: number; aBatchStride: number; bBatchStride: number }
  /** Over NHWC, or with `nchw` over the planes of NCHW x and y (pooling before any NHWC op). */
  | { op: "pool"; max: boolean; x: Value; y: Value; window: Window; countIncludePad: boolean; ceil: boolean; nchw?: boolean }
  | { op: "globalPool"; max: boolean; x: Value; y: Value }
  | { op: "unary"; x: Value; y: Value; fn: UnaryFn }
  | { op: "binary"; a: Value; b: Value; y: Value; fn: BinaryOp }
  | { op: "softmax"; x: Value; y: Value; rows: number; cols: number; log?: boolean }
  /** Resize of an NHWC value over H and W. */
  | { op: "resize"; x: Value; y: Value; spec: ResizeSpec }
  /** Index of the maximum over the last axis of x read as [rows, cols]; y holds rows floats. */
  | { op: "argmax"; x: Value; y: Value; rows: number; cols: number; last: boolean; min: boolean }
  /** Reduction of x read as [outer, n, inner] over n (src/ops/reduce.ts); y holds outer * inner floats. */
  | { op: "reduce"; x: Value; y: Value; kind: ReduceKind; outer: number; n: number; inner: number }
  /** Normalization of x read as [outer, n, c] (src/ops/normalization.ts). */
  | { op: "norm"; x: Value; y: Value; dims: [number, number, number]; groups: number; perElement: boolean; scale: Float32Array; bias: Float32Array; epsilon: number; act: Activation }
  /** LpNormalization of x read as [outer, n, inner] over n. */
  | { op: "lpNorm"; x: Value; y: Value; dims: [number, number, number]; p: 1 | 2 }
  | {
      op: "copy";
      x: Value;
      y: Value;
      copies: CopyPlan[];
      fill?: number;
      /** Set when y is x (its stored shape) with its axes permuted: y's axis i is x's axis perm[i]. */
      perm?: number[];
    }
  | { op: "pad"; x: Value; y: Value; pads: [number, number, number, number]; value: number }
  | {
      /**
       * An 8-bit convolution, or over a 2-d x [M, K] a GEMM (src/ops/qconv.ts): x float, quantized
       * per run or with a fixed scale, or already a q16 value; y = f32(acc) * f32(xScale *
       * scales[j]) + bias[j], or that quantized with `output` into a q16 value.
       */
      op: "qconv";
      x: Value;
      y: Value;
      /** OHWI integers */
      w: number[];
      wShape: [number, number, number, number];
      zeroPoints: number[];
      scales: Float32Array;
      bias?: Float32Array;
      window: Window;
      input: InputQuantization;
      output?: QParams;
      /** One filter per channel (group = channels, wShape [C, kh, kw, 1]): src/ops/qdwconv.ts. */
      depthwise?: boolean;
    }
  /** QuantizeLinear of a float x into a q16 value (src/ops/qchain.ts). */
  | { op: "quantize"; x: Value; y: Value; p: QParams }
  /** DequantizeLinear of a q16 x into float. */
  | { op: "dequantize"; x: Value; y: Value; p: QParams }
  /**
   * Max or average pooling of a q16 x into a q16 y (src/ops/qpool.ts): x quantized with p, y with
   * py (p for a max); a global pool without a window.
   */
  | { op: "qpool"; x: Value; y: Value; max: boolean; window?: Window; countIncludePad: boolean; p: QParams; py: QParams }
  /** QuantizeLinear(DequantizeLinear(a) + DequantizeLinear(b)) on q16 values of one shape. */
  | { op: "qadd"; a: Value; b: Value; y: Value; pa: QParams; pb: QParams; py: QParams }
  | {
      /** DequantizeLinear(QuantizeLinear(x)) with one scale and zero point (src/ops/quantize.ts). */
      op: "fakeQuant";
      x: Value;
      y: Value;
      scale: number;
      zeroPoint: number;
      signed: boolean;
    }
  /** Comparison of two f32 or two i32 values into an i32 bool; b as for "binary". */
  | { op: "compare"; a: Value; b: Value; y: Value; fn: CompareOp }
  /** And/Or/Xor of i32 bools; b as for "binary". */
  | { op: "logic"; a: Value; b: Value; y: Value; fn: LogicOp }
  /** y = c ? a : b over values of one size. */
  | { op: "where"; c: Value; a: Value; b: Value; y: Value }
  | { op: "cast"; x: Value; y: Value; kind: CastKind }
  /** Along `axis` of x, by i32 indices computed at run time. */
  | { op: "gather"; x: Value; indices: Value; y: Value; axis: number }
  | { op: "gatherElements"; x: Value; indices: Value; y: Value; axis: number }
  | { op: "gatherND"; x: Value; indices: Value; y: Value; batchDims: number }
  | { op: "scatterND"; x: Value; indices: Value; updates: Value; y: Value; reduction?: ScatterReduction }
  /** The i32 positions of the k largest (smallest) values along `axis`, sorted. */
  | { op: "topk"; x: Value; y: Value; axis: number; k: number; largest: boolean }
  /** y: upper-bound rows [batch, class, box] then the count (src/ops/nms.ts). */
  | { op: "nms"; boxes: Value; scores: Value; y: Value; opts: NmsOptions }
  /** y: upper-bound indices, [rank, count] first, then the count (src/ops/nonzero.ts). */
  | { op: "nonZero"; x: Value; y: Value };

/** K and N of a gemm step. */
export function gemmDims(s: { bShape: [number, number]; transB: boolean }): { k: number; n: number } {
  const [r, c] = s.bShape;
  return s.transB ? { k: c, n: r } : { k: r, n: c };
}

/** The values a step reads, in order, and the one it writes. */
export function stepInputs(s: Step): Value[] {
  switch (s.op) {
    case "conv":
    case "deconv":
    case "pool":
    case "globalPool":
    case "unary":
    case "softmax":
    case "resize":
    case "argmax":
    case "reduce":
    case "norm":
    case "lpNorm":
    case "copy":
    case "pad":
    case "qconv":
    case "fakeQuant":
    case "quantize":
    case "dequantize":
    case "qpool":
    case "cast":
    case "topk":
    case "nonZero":
      return s.op === "conv" && s.residual ? [s.x, s.residual] : [s.x];
    case "gather":
    case "gatherElements":
    case "gatherND":
      return [s.x, s.indices];
    case "where":
      return [s.c, s.a, s.b];
    case "scatterND":
      return [s.x, s.indices, s.updates];
    case "nms":
      return [s.boxes, s.scores];
    case "compare":
    case "logic":
      return [s.a, s.b];
    case "gemm":
      return s.c ? [s.a, s.c] : [s.a];
    case "matmul":
    case "binary":
    case "qadd":
      return [s.a, s.b];
  }
}

export function rootOf(v: Value): Value {
  let r = v;
  while (r.aliasOf) r = r.aliasOf;
  return r;
}

export { sizeOfShape } from "../runtime/tensor.js";

/**
 * Where a step with a data-dependent output size (NonMaxSuppression, NonZero) writes how many rows
 * of its upper-bound output are real: an int32 element `offset` elements into `value`'s bytes.
 */
export interface RowCount {
  value: Value;
  offset: number;
  /**
   * The count is of the last axis, the real elements stored first as [..., count] (NonZero's
   * [rank, count]); absent: of the first axis.
   */
  lastAxis?: true;
}

/** A graph ready to plan: steps in execution order, the inputs it is fed and the outputs it returns. */
export interface ExecGraph {
  steps: Step[];
  inputs: { name: string; value: Value }[];
  /** With `count`, only that many rows of the value's first axis are the output. */
  outputs: { name: string; value: Value; count?: RowCount }[];
}

/** Whether v holds int32 (int64, bool) elements. */
export function isInt(v: Value): boolean {
  return rootOf(v).dtype === "i32" || v.dtype === "i32";
}
