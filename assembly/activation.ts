// Activations and exp, computed here rather than imported from JS Math so that results do not
// depend on the engine. The SIMD and scalar forms run the same operations in the same order
// (separate mul and add, no fused ops), so both builds give identical bits.

export const ACT_NONE: i32 = 0;
// x < p0 ? p0 : (p1 < x ? p1 : x): relu, relu6, clip. Written as pmax/pmin, which are one maxps /
// minps each, where wasm's min/max cost V8 a compare-and-blend sequence; NaN still passes through.
export const ACT_CLAMP: i32 = 1;
export const ACT_LEAKY: i32 = 2; // x < 0 ? x * p0 : x
export const ACT_SIGMOID: i32 = 3;
export const ACT_TANH: i32 = 4;
export const ACT_EXP: i32 = 5; // not fusable into kernels; only for the unary op

const LOG2E: f32 = 1.44269504;
const LN2_HI: f32 = 0.693145752;
const LN2_LO: f32 = 1.42860677e-6;
const EXP_LO: f32 = -104.0;
const EXP_HI: f32 = 89.0;
const C2: f32 = 0.5;
const C3: f32 = 0.166666672;
const C4: f32 = 0.0416666679;
const C5: f32 = 0.00833333377;
const C6: f32 = 0.00138888892;
const C7: f32 = 0.000198412701;
// Below this |x|, tanh = 1 - 2/(e^2x + 1) cancels badly; an odd Taylor series is exact to f32.
const TANH_SMALL: f32 = 0.3;
const T3: f32 = -0.333333343;
const T5: f32 = 0.13333334;
const T7: f32 = -0.0539682545;
const T9: f32 = 0.0218694881;

// exp(x) = 2^n * p(r), r = x - n ln2 in [-ln2/2, ln2/2]; 2^n applied as two halves so that
// results down to the subnormal range and overflow to +inf come out right.
@inline export function expScalar(x: f32): f32 {
  x = min(max(x, EXP_LO), EXP_HI);
  const n = nearest(x * LOG2E);
  const r = (x - n * LN2_HI) - n * LN2_LO;
  let p = r * C7 + C6;
  p = p * r + C5;
  p = p * r + C4;
  p = p * r + C3;
  p = p * r + C2;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const ni = <i32>n;
  const n1 = ni >> 1;
  const n2 = ni - n1;
  const s1 = reinterpret<f32>((n1 + 127) << 23);
  const s2 = reinterpret<f32>((n2 + 127) << 23);
  return (p * s1) * s2;
}

@inline export function expVec(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.add(f32x4.mul(r, f32x4.splat(C7)), f32x4.splat(C6));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

@inline function sigmoidScalar(x: f32): f32 {
  return 1.0 / (1.0 + expScalar(-x));
}

@inline function sigmoidVec(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, expVec(f32x4.neg(x))));
}

@inline function tanhScalar(x: f32): f32 {
  const a = abs(x);
  let r: f32;
  if (a < TANH_SMALL) {
    const x2 = a * a;
    let p = x2 * T9 + T7;
    p = p * x2 + T5;
    p = p * x2 + T3;
    r = (p * x2) * a + a;
  } else {
    r = 1.0 - 2.0 / (expScalar(a + a) + 1.0);
  }
  return copysign(r, x);
}

@inline function tanhVec(x: v128): v128 {
  const a = f32x4.abs(x);
  const x2 = f32x4.mul(a, a);
  let p = f32x4.add(f32x4.mul(x2, f32x4.splat(T9)), f32x4.splat(T7));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(T5));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(T3));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, x2), a), a);
  const one = f32x4.splat(1.0);
  const large = f32x4.sub(one, f32x4.div(f32x4.splat(2.0), f32x4.add(expVec(f32x4.add(a, a)), one)));
  const r = v128.bitselect(small, large, f32x4.lt(a, f32x4.splat(TANH_SMALL)));
  const sign = i32x4.splat(0x80000000);
  return v128.or(v128.and(x, sign), v128.andnot(r, sign));
}

// The transcendental kinds stay out of line: they are rare in hot stores, and inlining them into
// every store path of every kernel would double the module's size.
function transcendentalScalar(x: f32, kind: i32): f32 {
  if (kind == ACT_SIGMOID) return sigmoidScalar(x);
  if (kind == ACT_TANH) return tanhScalar(x);
  return expScalar(x);
}

function transcendentalVec(x: v128, kind: i32): v128 {
  if (kind == ACT_SIGMOID) return sigmoidVec(x);
  if (kind == ACT_TANH) return tanhVec(x);
  return expVec(x);
}

@inline export function activateScalar(x: f32, kind: i32, p0: f32, p1: f32): f32 {
  if (kind == ACT_CLAMP) {
    const lo = x < p0 ? p0 : x;
    return p1 < lo ? p1 : lo;
  }
  if (kind == ACT_LEAKY) return x < 0 ? x * p0 : x;
  if (kind >= ACT_SIGMOID) return transcendentalScalar(x, kind);
  return x;
}

@inline export function activateVec(x: v128, kind: i32, p0: f32, p1: f32): v128 {
  if (kind == ACT_CLAMP) return f32x4.pmin(f32x4.pmax(x, f32x4.splat(p0)), f32x4.splat(p1));
  if (kind == ACT_LEAKY) {
    return v128.bitselect(f32x4.mul(x, f32x4.splat(p0)), x, f32x4.lt(x, f32x4.splat(0)));
  }
  if (kind >= ACT_SIGMOID) return transcendentalVec(x, kind);
  return x;
}
