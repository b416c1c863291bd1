import { ACT_SIGMOID, activateScalar, activateVec, transcendentalRun } from "./activation";
import { powScalar, powVec } from "./math";

export const BIN_ADD: i32 = 0;
export const BIN_SUB: i32 = 1;
export const BIN_MUL: i32 = 2;
export const BIN_DIV: i32 = 3;
export const BIN_PRELU: i32 = 4; // a < 0 ? a * b : a
export const BIN_MIN: i32 = 5; // NaN if either is NaN; -0 < +0
export const BIN_MAX: i32 = 6;
export const BIN_POW: i32 = 7; // a^b (math.ts's powScalar)

// pow is out of line: inlined into both loops of binary_f32 it would be four copies of exp and log.
function powOutScalar(a: f32, b: f32): f32 {
  return powScalar(a, b);
}

function powOutVec(a: v128, b: v128): v128 {
  return powVec(a, b);
}

// unary_f32: y[i] = f(x[i]) for the activation kinds of activation.ts; y may equal x.
export function unary_f32(n: i32, x: usize, y: usize, kind: i32, p0: f32, p1: f32): void {
  if (kind >= ACT_SIGMOID) {
    transcendentalRun(n, x, y, kind, p0, p1);
    return;
  }
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, activateVec(v128.load(x + o), kind, p0, p1));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, activateScalar(load<f32>(x + o), kind, p0, p1));
  }
}

@inline function opScalar(a: f32, b: f32, op: i32): f32 {
  if (op == BIN_ADD) return a + b;
  if (op == BIN_SUB) return a - b;
  if (op == BIN_MUL) return a * b;
  if (op == BIN_DIV) return a / b;
  if (op == BIN_PRELU) return a < 0 ? a * b : a;
  if (op == BIN_MIN) return min(a, b);
  if (op == BIN_MAX) return max(a, b);
  return powOutScalar(a, b);
}

@inline function opVec(a: v128, b: v128, op: i32): v128 {
  if (op == BIN_ADD) return f32x4.add(a, b);
  if (op == BIN_SUB) return f32x4.sub(a, b);
  if (op == BIN_MUL) return f32x4.mul(a, b);
  if (op == BIN_DIV) return f32x4.div(a, b);
  if (op == BIN_PRELU) return v128.bitselect(f32x4.mul(a, b), a, f32x4.lt(a, f32x4.splat(0)));
  if (op == BIN_MIN) return f32x4.min(a, b);
  if (op == BIN_MAX) return f32x4.max(a, b);
  return powOutVec(a, b);
}

// binary_f32: y[i] = a[i] op b[i % bn] for i < n, where bn divides n (bn = n: same shape, bn = C:
// a [C] operand over the last axis, bn = 1: a scalar). y may equal a or b.
export function binary_f32(n: i32, bn: i32, a: usize, b: usize, y: usize, op: i32): void {
  if (bn == 1) {
    const s = load<f32>(b);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(y + o, opVec(v128.load(a + o), vs, op));
      }
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(y + o, opScalar(load<f32>(a + o), s, op));
    }
    return;
  }
  const rows = n / bn;
  const rowBytes = <usize>bn << 2;
  for (let r = 0; r < rows; r++) {
    const ar = a + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= bn; j += 4) {
        const o = <usize>j << 2;
        v128.store(yr + o, opVec(v128.load(ar + o), v128.load(b + o), op));
      }
    }
    for (; j < bn; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, opScalar(load<f32>(ar + o), load<f32>(b + o), op));
    }
  }
}
