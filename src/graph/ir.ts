import type { Activation, ActivationCode } from "../ops/activation.js";

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

/** Six dimensions and the strides (in floats) of source and destination, for strided_copy_f32. */
export interface CopyPlan {
  sizes: number[];
  from: number[];
  to: number[];
  /** Offsets in floats into source and destination. */
  fromOffset: number;
  toOffset: number;
}

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
      op: "gemm";
      a: Value;
      y: Value;
      /** [K, N] row-major */
      b: Float32Array;
      k: number;
      n: number;
      bias?: Float32Array;
      act: Activation;
      residual?: Value;
    }
  | { op: "matmul"; a: Value; b: Value; y: Value; batch: number; m: number; k: number; n: number; aBatchStride: number; bBatchStride: number }
  | { op: "pool"; max: boolean; x: Value; y: Value; window: Window; countIncludePad: boolean }
  | { op: "globalPool"; max: boolean; x: Value; y: Value }
  | { op: "unary"; x: Value; y: Value; act: ActivationCode }
  | { op: "binary"; a: Value; b: Value; y: Value; kind: number; /** b's period: a.size, C, or 1 */ period: number }
  | { op: "softmax"; x: Value; y: Value; rows: number; cols: number }
  | {
      op: "copy";
      x: Value;
      y: Value;
      copies: CopyPlan[];
      fill?: number;
      /** Set when y is x (its stored shape) with its axes permuted: y's axis i is x's axis perm[i]. */
      perm?: number[];
    }
  | { op: "pad"; x: Value; y: Value; pads: [number, number, number, number]; value: number };

/** The values a step reads, in order, and the one it writes. */
export function stepInputs(s: Step): Value[] {
  switch (s.op) {
    case "conv":
    case "pool":
    case "globalPool":
    case "unary":
    case "softmax":
    case "copy":
    case "pad":
      return s.op === "conv" && s.residual ? [s.x, s.residual] : [s.x];
    case "gemm":
      return s.residual ? [s.a, s.residual] : [s.a];
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

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A graph ready to plan: steps in execution order, the inputs it is fed and the outputs it returns. */
export interface ExecGraph {
  steps: Step[];
  inputs: { name: string; value: Value }[];
  outputs: { name: string; value: Value }[];
}
