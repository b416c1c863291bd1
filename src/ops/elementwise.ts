import { ArgumentError, ShapeError } from "../errors.js";
import { ACT, BIN, type Call } from "../runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime, show } from "../runtime/runtime.js";
import { Tensor, sizeOfShape } from "../runtime/tensor.js";
import { ACTIVATION_NAMES, type Activation, type ActivationCode, activationCode } from "./activation.js";
import { type PreparedOp, once } from "./op.js";
import { finite } from "./options.js";

/** Elementwise math that no kernel fuses into its store. Round is half to even. */
export type MathFn =
  | "exp" | "erf" | "log" | "sqrt" | "reciprocal" | "neg" | "abs" | "floor" | "ceil" | "round" | "sign"
  /** x^p for a constant p: 2, 3, 0.5, -1 exactly as x*x, x*x*x, sqrt, 1/x; else exp(p log|x|) */
  | { pow: number };

/** What a unary op computes: an activation, or elementwise math. */
export type UnaryFn = Activation | MathFn;

const MATH = ["exp", "erf", "log", "sqrt", "reciprocal", "neg", "abs", "floor", "ceil", "round", "sign"] as const;

export function unaryCode(fn: UnaryFn, what: string): ActivationCode {
  if (typeof fn === "string" && (MATH as readonly string[]).includes(fn)) return { kind: ACT[fn as (typeof MATH)[number]], p0: 0, p1: 0 };
  if (typeof fn === "string" && !ACTIVATION_NAMES.includes(fn)) {
    throw new ArgumentError(`${what}: unknown function ${show(fn)}; expected an activation (${ACTIVATION_NAMES.join(", ")}, or one with parameters), ${MATH.join(", ")} or { pow: p }`);
  }
  if (typeof fn === "object" && fn !== null && "pow" in fn) {
    if (typeof fn.pow !== "number" || Number.isNaN(fn.pow)) throw new ArgumentError(`${what}: pow expects a number exponent, got ${show(fn.pow)}`);
    return { kind: ACT.pow, p0: fn.pow, p1: 0 };
  }
  return activationCode(fn as Activation, what);
}

// Elementwise ranges start on multiples of 16 floats (a cache line), so each thread's SIMD
// loop covers whole vectors of its own.
const GRAIN = 16;

/**
 * The output shape of an elementwise op of two operands as the kernels broadcast them: b the
 * size of a, of a's last axis, or one element.
 */
export function lastAxisOperands(op: string, shapes: readonly (readonly number[])[]): number[] {
  const [a, b] = shapes;
  const bn = sizeOfShape(b);
  if (bn !== sizeOfShape(a) && bn !== a[a.length - 1] && bn !== 1) {
    throw new ShapeError(`${op}: b [${b.join(", ")}] holds ${bn} elements; expected ${sizeOfShape(a)} (a's), ${a[a.length - 1]} (a's last axis) or 1`);
  }
  return [...a];
}

/** y = f(x) elementwise, any shape. */
export class Unary implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private readonly code: ActivationCode;
  private n = 0;

  constructor(
    private readonly rt: Runtime,
    fn: UnaryFn,
    private readonly what = "unary",
  ) {
    this.code = unaryCode(fn, what);
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...shapes[0]];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    this.n = sizeOfShape(shapes[0]);
    return [...shapes[0]];
  }

  exec(inputs: readonly number[], y: number): void {
    const { kind, p0, p1 } = this.code;
    const x = inputs[0];
    const calls = this.rt.ranges(this.n, this.n, GRAIN, PARALLEL_MIN_ELEMENTS).map(([a, b]): Call => ({
      fn: "unary_f32",
      args: { n: b - a, x: x + a * 4, y: y + a * 4, kind, p0, p1 },
    }));
    this.rt.dispatch(calls, this.what);
  }

  dispose(): void {}
}

export type BinaryOp = keyof typeof BIN;

/**
 * y = a op b, where b has a's element count, or repeats over a's last axis (b holds as many
 * elements as that axis), or is one element.
 */
export class Binary implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private n = 0;
  private bn = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly op: BinaryOp,
  ) {
    if (!Object.hasOwn(BIN, op)) throw new ArgumentError(`binary: unknown operation ${show(op)}; expected one of ${Object.keys(BIN).join(", ")}`);
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return lastAxisOperands(this.op, shapes);
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.n = sizeOfShape(shapes[0]);
    this.bn = sizeOfShape(shapes[1]);
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const [a, b] = inputs;
    this.rt.dispatch(binaryCalls(this.rt, "binary_f32", BIN[this.op], this.n, this.bn, a, b, y), this.op);
  }

  dispose(): void {}
}

/**
 * The calls of a kernel with binary_f32's arguments (y = a op b over n 4-byte elements, b of bn
 * elements: n, one, or a period repeating over a's last axis), split over the runtime's threads.
 */
export function binaryCalls(rt: Runtime, fn: "binary_f32" | "compare_f32" | "compare_i32" | "logic_i32", op: number, n: number, bn: number, a: number, b: number, y: number): Call[] {
  if (bn === n || bn === 1) {
    const step = bn === 1 ? 0 : 4;
    return rt.ranges(n, n, GRAIN, PARALLEL_MIN_ELEMENTS).map(([i, j]) => ({
      fn,
      args: { n: j - i, bn: bn === 1 ? 1 : j - i, a: a + i * 4, b: b + i * step, y: y + i * 4, op },
    }));
  }
  // Whole rows of b's period, so each thread's rows start at b's first element.
  return rt.ranges(n / bn, n, 1, PARALLEL_MIN_ELEMENTS).map(([r0, r1]) => ({
    fn,
    args: { n: (r1 - r0) * bn, bn, a: a + r0 * bn * 4, b, y: y + r0 * bn * 4, op },
  }));
}

export function unary(rt: Runtime, x: Tensor, op: UnaryFn): Tensor {
  const what = typeof op === "string" ? op : "unary";
  rt.check(x, `${what} input`);
  return once(rt, new Unary(rt, op, what), [x]);
}

export function clip(rt: Runtime, x: Tensor, min: number, max: number): Tensor {
  for (const [v, name] of [[min, "min"], [max, "max"]] as const) {
    if (typeof v !== "number" || Number.isNaN(v)) throw new ArgumentError(`clip: ${name} must be a number (±Infinity allowed), got ${show(v)}`);
  }
  if (min > max) throw new ArgumentError(`clip: min ${min} is greater than max ${max}`);
  rt.check(x, "clip input");
  return once(rt, new Unary(rt, { clip: [min, max] }, "clip"), [x]);
}

export function leakyRelu(rt: Runtime, x: Tensor, alpha: number): Tensor {
  const a = finite(alpha, 0.01, "leakyRelu alpha");
  rt.check(x, "leakyRelu input");
  return once(rt, new Unary(rt, { leakyRelu: a }, "leakyRelu"), [x]);
}

/**
 * a op b, where b has a's shape, is [C] for a's last axis C, holds one element, or is a number
 * (rounded to float32, as a tensor's element would be).
 */
export function binary(rt: Runtime, a: Tensor, b: Tensor | number, op: BinaryOp): Tensor {
  if (typeof b === "number") return binaryNumber(rt, a, b, op);
  rt.check(a, `${op} a`);
  if (!(b instanceof Tensor)) throw new ArgumentError(`${op} b: expected a Tensor or a number, got ${show(b)}`);
  rt.check(b, `${op} b`);
  const last = a.shape[a.shape.length - 1];
  const same = b.shape.length === a.shape.length && b.shape.every((d, i) => d === a.shape[i]);
  const perChannel = b.shape.length === 1 && b.shape[0] === last;
  if (!same && !perChannel && b.size !== 1) {
    throw new ShapeError(
      `${op}: b must have a's shape [${a.shape.join(", ")}], be [${last}] (over the last axis) or hold one element; got [${b.shape.join(", ")}]`,
    );
  }
  return once(rt, new Binary(rt, op), [a, b]);
}

// The kernel reads its operand from memory, so a number goes in as a one-element tensor that
// lives for the call only.
function binaryNumber(rt: Runtime, a: Tensor, b: number, op: BinaryOp): Tensor {
  rt.check(a, `${op} a`);
  if (Number.isNaN(b)) throw new ArgumentError(`${op} b: expected a Tensor or a number (±Infinity allowed), got NaN`);
  const scalar = rt.fromArray(new Float32Array([b]), [1], `${op} b`);
  try {
    return binary(rt, a, scalar, op);
  } finally {
    scalar.dispose();
  }
}
