import type { Activation } from "../ops/activation.js";
import type { ReduceKind } from "../ops/reduce.js";
import type { BinaryOp, UnaryFn } from "../ops/elementwise.js";
import type { StridedCopyPlan } from "../ops/copy.js";
import type { ResizeSpec } from "../ops/resize.js";
import type { InputQuantization } from "../ops/qconv.js";

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
  /** Constant data (storage "const"). */
  data?: Float32Array;
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
  | { op: "pool"; max: boolean; x: Value; y: Value; window: Window; countIncludePad: boolean; ceil: boolean }
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
       * An 8-bit convolution, or over a 2-d x [M, K] a GEMM, with float x and y (src/ops/qconv.ts):
       * x quantized per run or with a fixed scale, y = f32(acc) * f32(xScale * scales[j]) + bias[j].
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
    }
  | {
      /** DequantizeLinear(QuantizeLinear(x)) with one scale and zero point (src/ops/quantize.ts). */
      op: "fakeQuant";
      x: Value;
      y: Value;
      scale: number;
      zeroPoint: number;
      signed: boolean;
    };

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
      return s.op === "conv" && s.residual ? [s.x, s.residual] : [s.x];
    case "gemm":
      return s.c ? [s.a, s.c] : [s.a];
    case "matmul":
    case "binary":
      return [s.a, s.b];
  }
}

export function rootOf(v: Value): Value {
  let r = v;
  while (r.aliasOf) r = r.aliasOf;
  return r;
}

export { sizeOfShape } from "../runtime/tensor.js";

/** A graph ready to plan: steps in execution order, the inputs it is fed and the outputs it returns. */
export interface ExecGraph {
  steps: Step[];
  inputs: { name: string; value: Value }[];
  outputs: { name: string; value: Value }[];
}
