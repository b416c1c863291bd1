// Comparisons, boolean logic, Where and Cast over 32-bit elements: float32 or int32, bool as int32
// 0 or 1. Every result is exact (a comparison or a bit pattern), so the two builds agree to the bit
// by construction; the SIMD build does four lanes at a time with the same scalar rule for the rest.

export const CMP_EQ: i32 = 0;
export const CMP_GT: i32 = 1;
export const CMP_GE: i32 = 2;
export const CMP_LT: i32 = 3;
export const CMP_LE: i32 = 4;

export const LOGIC_AND: i32 = 0;
export const LOGIC_OR: i32 = 1;
export const LOGIC_XOR: i32 = 2;

export const CAST_F32_I32: i32 = 0; // truncation toward zero, saturating, NaN -> 0
export const CAST_I32_F32: i32 = 1; // round to nearest even above 2^24
export const CAST_F32_BOOL: i32 = 2; // x != 0 (NaN is true)
export const CAST_I32_BOOL: i32 = 3;

@inline function cmpF(a: f32, b: f32, op: i32): i32 {
  if (op == CMP_EQ) return <i32>(a == b);
  if (op == CMP_GT) return <i32>(a > b);
  if (op == CMP_GE) return <i32>(a >= b);
  if (op == CMP_LT) return <i32>(a < b);
  return <i32>(a <= b);
}

@inline function cmpFVec(a: v128, b: v128, op: i32): v128 {
  let m: v128;
  if (op == CMP_EQ) m = f32x4.eq(a, b);
  else if (op == CMP_GT) m = f32x4.gt(a, b);
  else if (op == CMP_GE) m = f32x4.ge(a, b);
  else if (op == CMP_LT) m = f32x4.lt(a, b);
  else m = f32x4.le(a, b);
  return v128.and(m, i32x4.splat(1));
}

@inline function cmpI(a: i32, b: i32, op: i32): i32 {
  if (op == CMP_EQ) return <i32>(a == b);
  if (op == CMP_GT) return <i32>(a > b);
  if (op == CMP_GE) return <i32>(a >= b);
  if (op == CMP_LT) return <i32>(a < b);
  return <i32>(a <= b);
}

@inline function cmpIVec(a: v128, b: v128, op: i32): v128 {
  let m: v128;
  if (op == CMP_EQ) m = i32x4.eq(a, b);
  else if (op == CMP_GT) m = i32x4.gt_s(a, b);
  else if (op == CMP_GE) m = i32x4.ge_s(a, b);
  else if (op == CMP_LT) m = i32x4.lt_s(a, b);
  else m = i32x4.le_s(a, b);
  return v128.and(m, i32x4.splat(1));
}

@inline function logic(a: i32, b: i32, op: i32): i32 {
  if (op == LOGIC_AND) return a & b;
  if (op == LOGIC_OR) return a | b;
  return a ^ b;
}

@inline function logicVec(a: v128, b: v128, op: i32): v128 {
  if (op == LOGIC_AND) return v128.and(a, b);
  if (op == LOGIC_OR) return v128.or(a, b);
  return v128.xor(a, b);
}

// The three binary kernels below share binary_f32's broadcast: y[i] = a[i] op b[i % bn] for i < n,
// where bn divides n (bn = n: same shape, bn = the last axis: a vector over it, bn = 1: a scalar).
// `kind` picks the element rule: 0 float comparison, 1 int32 comparison, 2 logic on 0/1 values.
@inline function ruleScalar(a: i32, b: i32, op: i32, kind: i32): i32 {
  if (kind == 0) return cmpF(reinterpret<f32>(a), reinterpret<f32>(b), op);
  if (kind == 1) return cmpI(a, b, op);
  return logic(a, b, op);
}

@inline function ruleVec(a: v128, b: v128, op: i32, kind: i32): v128 {
  if (kind == 0) return cmpFVec(a, b, op);
  if (kind == 1) return cmpIVec(a, b, op);
  return logicVec(a, b, op);
}

@inline function broadcastRule(n: i32, bn: i32, a: usize, b: usize, y: usize, op: i32, kind: i32): void {
  if (bn == 1) {
    const sb = load<i32>(b);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vb = i32x4.splat(sb);
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(y + o, ruleVec(v128.load(a + o), vb, op, kind));
      }
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<i32>(y + o, ruleScalar(load<i32>(a + o), sb, op, kind));
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
        v128.store(yr + o, ruleVec(v128.load(ar + o), v128.load(b + o), op, kind));
      }
    }
    for (; j < bn; j++) {
      const o = <usize>j << 2;
      store<i32>(yr + o, ruleScalar(load<i32>(ar + o), load<i32>(b + o), op, kind));
    }
  }
}

// compare_f32: y[i] = a[i] op b[i % bn] as int32 1 or 0 (CMP_*); NaN compares false (unequal).
export function compare_f32(n: i32, bn: i32, a: usize, b: usize, y: usize, op: i32): void {
  broadcastRule(n, bn, a, b, y, op, 0);
}

// compare_i32: the same over int32 elements, signed.
export function compare_i32(n: i32, bn: i32, a: usize, b: usize, y: usize, op: i32): void {
  broadcastRule(n, bn, a, b, y, op, 1);
}

// logic_i32: y[i] = a[i] op b[i % bn] (LOGIC_*) over bools stored as int32 0 or 1; Not is Xor with 1.
export function logic_i32(n: i32, bn: i32, a: usize, b: usize, y: usize, op: i32): void {
  broadcastRule(n, bn, a, b, y, op, 2);
}

// where_x32: y[i] = c[i] != 0 ? a[i] : b[i] over n 32-bit elements of any type (bits move whole).
export function where_x32(n: i32, c: usize, a: usize, b: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = i32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const take = v128.not(i32x4.eq(v128.load(c + o), zero));
      v128.store(y + o, v128.bitselect(v128.load(a + o), v128.load(b + o), take));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<i32>(y + o, select<i32>(load<i32>(a + o), load<i32>(b + o), load<i32>(c + o) != 0));
  }
}

// i32x4.trunc_sat_f32x4_s for one lane, written out.
@inline function truncSat(v: f32): i32 {
  if (v != v) return 0;
  if (v >= 2147483648.0) return i32.MAX_VALUE;
  if (v < -2147483648.0) return i32.MIN_VALUE;
  return <i32>v;
}

@inline function castScalar(v: i32, kind: i32): i32 {
  if (kind == CAST_F32_I32) return truncSat(reinterpret<f32>(v));
  if (kind == CAST_I32_F32) return reinterpret<i32>(<f32>v);
  if (kind == CAST_F32_BOOL) return <i32>(reinterpret<f32>(v) != 0);
  return <i32>(v != 0);
}

@inline function castVec(v: v128, kind: i32): v128 {
  if (kind == CAST_F32_I32) return i32x4.trunc_sat_f32x4_s(v);
  if (kind == CAST_I32_F32) return f32x4.convert_i32x4_s(v);
  const one = i32x4.splat(1);
  if (kind == CAST_F32_BOOL) return v128.andnot(one, f32x4.eq(v, f32x4.splat(0)));
  return v128.andnot(one, i32x4.eq(v, i32x4.splat(0)));
}

// cast_x32: y[i] = x[i] converted by `kind` (CAST_*); y may equal x.
export function cast_x32(n: i32, x: usize, y: usize, kind: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, castVec(v128.load(x + o), kind));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<i32>(y + o, castScalar(load<i32>(x + o), kind));
  }
}
