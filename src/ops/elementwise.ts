import { ArgumentError, ShapeError } from "../errors.js";
import { ACT, BIN } from "../runtime/kernels.js";
import { type Runtime, show } from "../runtime/runtime.js";
import { Tensor } from "../runtime/tensor.js";
import { finite } from "./options.js";

export type UnaryOp = "relu" | "sigmoid" | "tanh" | "exp";

const UNARY: Record<UnaryOp, number> = { relu: ACT.clamp, sigmoid: ACT.sigmoid, tanh: ACT.tanh, exp: ACT.exp };

function unaryCall(rt: Runtime, x: Tensor, kind: number, p0: number, p1: number, what: string): Tensor {
  rt.check(x, `${what} input`);
  const y = rt.empty(x.shape);
  rt.kernels.unary_f32(x.ptr, x.size, y.ptr, kind, p0, p1);
  return y;
}

export function unary(rt: Runtime, x: Tensor, op: UnaryOp): Tensor {
  return unaryCall(rt, x, UNARY[op], 0, Infinity, op);
}

export function clip(rt: Runtime, x: Tensor, min: number, max: number): Tensor {
  for (const [v, name] of [[min, "min"], [max, "max"]] as const) {
    if (typeof v !== "number" || Number.isNaN(v)) throw new ArgumentError(`clip: ${name} must be a number (±Infinity allowed), got ${show(v)}`);
  }
  if (min > max) throw new ArgumentError(`clip: min ${min} is greater than max ${max}`);
  return unaryCall(rt, x, ACT.clamp, min, max, "clip");
}

export function leakyRelu(rt: Runtime, x: Tensor, alpha: number): Tensor {
  return unaryCall(rt, x, ACT.leaky, finite(alpha, 0.01, "leakyRelu alpha"), 0, "leakyRelu");
}

export type BinaryOp = keyof typeof BIN;

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
  const y = rt.empty(a.shape);
  rt.kernels.binary_f32(a.ptr, b.ptr, y.ptr, a.size, same ? a.size : b.size === 1 ? 1 : last, BIN[op]);
  return y;
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
