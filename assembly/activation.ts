// Activations and exp, computed here rather than imported from JS Math so that results do not
// depend on the engine. The SIMD and scalar forms run the same operations in the same order
// (separate mul and add, no fused ops), so both builds give identical bits.
import { erfScalar, erfVec, log1pScalar, log1pVec, logScalar, logVec, onePlusErfScalar, onePlusErfVec, powScalar, powVec } from "./math";

export const ACT_NONE: i32 = 0;
// x < p0 ? p0 : (p1 < x ? p1 : x): relu, relu6, clip. Written as pmax/pmin, which are one maxps /
// minps each, where wasm's min/max cost V8 a compare-and-blend sequence; NaN still passes through.
export const ACT_CLAMP: i32 = 1;
export const ACT_LEAKY: i32 = 2; // x < 0 ? x * p0 : x
export const ACT_SIGMOID: i32 = 3;
export const ACT_TANH: i32 = 4;
export const ACT_EXP: i32 = 5; // not fusable into kernels; only for the unary op
// The kinds below run in the shared out-of-line path (transcendentalVec), so they add no copy of
// any kernel's store. p0 and p1 are the ONNX attributes named beside each.
export const ACT_ELU: i32 = 6; // p0 alpha
export const ACT_SELU: i32 = 7; // p0 alpha, p1 gamma
export const ACT_CELU: i32 = 8; // p0 alpha
export const ACT_HARDSIGMOID: i32 = 9; // p0 alpha, p1 beta
export const ACT_HARDSWISH: i32 = 10; // x * hardsigmoid(x): p0 alpha, p1 beta
export const ACT_SOFTPLUS: i32 = 11;
export const ACT_SOFTSIGN: i32 = 12;
export const ACT_MISH: i32 = 13;
export const ACT_GELU: i32 = 14; // x/2 (1 + erf(x / sqrt 2))
export const ACT_GELU_TANH: i32 = 15; // x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
export const ACT_SILU: i32 = 16; // x * sigmoid(x)
export const ACT_ERF: i32 = 17;
export const ACT_LOG: i32 = 18;
export const ACT_SQRT: i32 = 19;
export const ACT_RECIPROCAL: i32 = 20;
export const ACT_NEG: i32 = 21;
export const ACT_ABS: i32 = 22;
export const ACT_FLOOR: i32 = 23;
export const ACT_CEIL: i32 = 24;
export const ACT_ROUND: i32 = 25; // half to even
export const ACT_SIGN: i32 = 26;
export const ACT_POW: i32 = 27; // x^p0

const LOG2E: f32 = 1.44269504;
const LN2_HI: f32 = 0.693145752;
const LN2_LO: f32 = 1.42860677e-6;
const EXP_LO: f32 = -104.0;
const EXP_HI: f32 = 89.0;
const EXP_SHIFTER: f32 = 12582912.0; // 1.5 * 2^23
const EXP_SHIFTER_BITS: i32 = 0x4b400000;
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
  // n is a whole number of magnitude below 2^22, so n + 1.5 * 2^23 is exact and its low bits hold
  // n: the same integer as the scalar form's conversion, in two instructions, where V8 lowers
  // trunc_sat (its saturation and NaN handling) to a sequence.
  const ni = i32x4.sub(f32x4.add(n, f32x4.splat(EXP_SHIFTER)), i32x4.splat(EXP_SHIFTER_BITS));
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

// The kinds from sigmoid on stay out of line, in one function every kernel's store shares: they
// are rare in hot stores, and inlining them into every store path of every kernel would multiply
// the module's size. Each case is the scalar twin of transcendentalVec's, operation for operation.
function transcendentalScalar(x: f32, kind: i32, p0: f32, p1: f32): f32 {
  switch (kind) {
    case ACT_SIGMOID: return sigmoidScalar(x);
    case ACT_TANH: return tanhScalar(x);
    case ACT_EXP: return expScalar(x);
    case ACT_ELU: return x < 0 ? p0 * (expScalar(x) - 1.0) : x;
    case ACT_SELU: return x <= 0 ? p1 * (p0 * (expScalar(x) - 1.0)) : p1 * x;
    case ACT_CELU: return x < 0 ? p0 * (expScalar(x / p0) - 1.0) : x;
    case ACT_HARDSIGMOID: return hardSigmoidScalar(x, p0, p1);
    case ACT_HARDSWISH: return x * hardSigmoidScalar(x, p0, p1);
    case ACT_SOFTPLUS: return max(x, <f32>0) + log1pScalar(expScalar(-abs(x)));
    case ACT_SOFTSIGN: return x / (abs(x) + 1.0);
    case ACT_MISH: {
      // tanh(log(1 + e^x)) = n / (n + 2), n = e^x (e^x + 2); past x = 20, n / (n + 2) rounds to 1.
      const u = expScalar(min(x, MISH_HI));
      const n = u * (u + 2.0);
      return x * (n / (n + 2.0));
    }
    case ACT_GELU: return (x * 0.5) * onePlusErfScalar(x);
    case ACT_GELU_TANH: {
      // x/2 (1 + tanh(y)) = x sigmoid(2y), without tanh's cancellation for negative y.
      const y2 = (x * (x * x) * GELU_C + x) * GELU_K2;
      return x / (expScalar(-y2) + 1.0);
    }
    case ACT_SILU: return x / (expScalar(-x) + 1.0);
    case ACT_ERF: return erfScalar(x);
    case ACT_LOG: return logScalar(x);
    case ACT_SQRT: return sqrt(x);
    case ACT_RECIPROCAL: return 1.0 / x;
    case ACT_NEG: return -x;
    case ACT_ABS: return abs(x);
    case ACT_FLOOR: return floor(x);
    case ACT_CEIL: return ceil(x);
    case ACT_ROUND: return nearest(x);
    case ACT_SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
    default: return powConstScalar(x, p0);
  }
}

function transcendentalVec(x: v128, kind: i32, p0: f32, p1: f32): v128 {
  return transcendentalVecInline(x, kind, p0, p1);
}

// The block loop's body: with kind a constant at each use, the switch folds away.
@inline function transcendentalVecInline(x: v128, kind: i32, p0: f32, p1: f32): v128 {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1.0);
  switch (kind) {
    case ACT_SIGMOID: return sigmoidVec(x);
    case ACT_TANH: return tanhVec(x);
    case ACT_EXP: return expVec(x);
    case ACT_ELU: {
      const e = f32x4.mul(f32x4.splat(p0), f32x4.sub(expVec(x), one));
      return v128.bitselect(e, x, f32x4.lt(x, zero));
    }
    case ACT_SELU: {
      const g = f32x4.splat(p1);
      const e = f32x4.mul(g, f32x4.mul(f32x4.splat(p0), f32x4.sub(expVec(x), one)));
      return v128.bitselect(e, f32x4.mul(g, x), f32x4.le(x, zero));
    }
    case ACT_CELU: {
      const a = f32x4.splat(p0);
      const e = f32x4.mul(a, f32x4.sub(expVec(f32x4.div(x, a)), one));
      return v128.bitselect(e, x, f32x4.lt(x, zero));
    }
    case ACT_HARDSIGMOID: return hardSigmoidVec(x, p0, p1);
    case ACT_HARDSWISH: return f32x4.mul(x, hardSigmoidVec(x, p0, p1));
    case ACT_SOFTPLUS: return f32x4.add(f32x4.max(x, zero), log1pVec(expVec(f32x4.neg(f32x4.abs(x)))));
    case ACT_SOFTSIGN: return f32x4.div(x, f32x4.add(f32x4.abs(x), one));
    case ACT_MISH: {
      const u = expVec(f32x4.min(x, f32x4.splat(MISH_HI)));
      const n = f32x4.mul(u, f32x4.add(u, f32x4.splat(2.0)));
      return f32x4.mul(x, f32x4.div(n, f32x4.add(n, f32x4.splat(2.0))));
    }
    case ACT_GELU: return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), onePlusErfVec(x));
    case ACT_GELU_TANH: {
      const y2 = f32x4.mul(f32x4.add(f32x4.mul(f32x4.mul(x, f32x4.mul(x, x)), f32x4.splat(GELU_C)), x), f32x4.splat(GELU_K2));
      return f32x4.div(x, f32x4.add(expVec(f32x4.neg(y2)), one));
    }
    case ACT_SILU: return f32x4.div(x, f32x4.add(expVec(f32x4.neg(x)), one));
    case ACT_ERF: return erfVec(x);
    case ACT_LOG: return logVec(x);
    case ACT_SQRT: return f32x4.sqrt(x);
    case ACT_RECIPROCAL: return f32x4.div(one, x);
    case ACT_NEG: return f32x4.neg(x);
    case ACT_ABS: return f32x4.abs(x);
    case ACT_FLOOR: return f32x4.floor(x);
    case ACT_CEIL: return f32x4.ceil(x);
    case ACT_ROUND: return f32x4.nearest(x);
    case ACT_SIGN: {
      const s = v128.bitselect(f32x4.splat(-1.0), x, f32x4.lt(x, zero));
      return v128.bitselect(one, s, f32x4.gt(x, zero));
    }
    default: return powConstVec(x, p0);
  }
}

const MISH_HI: f32 = 20.0;
const GELU_C: f32 = 0.044715;
const GELU_K2: f32 = 1.59576912; // 2 sqrt(2/pi)

@inline function hardSigmoidScalar(x: f32, alpha: f32, beta: f32): f32 {
  const v = x * alpha + beta;
  const lo: f32 = v < 0 ? 0 : v;
  return <f32>1.0 < lo ? 1.0 : lo;
}

@inline function hardSigmoidVec(x: v128, alpha: f32, beta: f32): v128 {
  const v = f32x4.add(f32x4.mul(x, f32x4.splat(alpha)), f32x4.splat(beta));
  return f32x4.pmin(f32x4.pmax(v, f32x4.splat(0)), f32x4.splat(1.0));
}

// The exponents models use most get their exact (or cheaper) forms; p is the same for every
// element, so the branch is predicted.
@inline function powConstScalar(x: f32, p: f32): f32 {
  if (p == 2) return x * x;
  if (p == 3) return (x * x) * x;
  if (p == 0.5) return sqrt(x);
  if (p == -1) return 1.0 / x;
  if (p == 1) return x;
  return powScalar(x, p);
}

@inline function powConstVec(x: v128, p: f32): v128 {
  if (p == 2) return f32x4.mul(x, x);
  if (p == 3) return f32x4.mul(f32x4.mul(x, x), x);
  if (p == 0.5) return f32x4.sqrt(x);
  if (p == -1) return f32x4.div(f32x4.splat(1.0), x);
  if (p == 1) return x;
  return powVec(x, f32x4.splat(p));
}

@inline export function activateScalar(x: f32, kind: i32, p0: f32, p1: f32): f32 {
  if (kind == ACT_CLAMP) {
    const lo = x < p0 ? p0 : x;
    return p1 < lo ? p1 : lo;
  }
  if (kind == ACT_LEAKY) return x < 0 ? x * p0 : x;
  if (kind >= ACT_SIGMOID) return transcendentalScalar(x, kind, p0, p1);
  return x;
}

@inline export function activateVec(x: v128, kind: i32, p0: f32, p1: f32): v128 {
  if (kind == ACT_CLAMP) return f32x4.pmin(f32x4.pmax(x, f32x4.splat(p0)), f32x4.splat(p1));
  if (kind == ACT_LEAKY) {
    return v128.bitselect(f32x4.mul(x, f32x4.splat(p0)), x, f32x4.lt(x, f32x4.splat(0)));
  }
  if (kind >= ACT_SIGMOID) return transcendentalVec(x, kind, p0, p1);
  return x;
}

// transcendentalRun: y[i] = f(x[i]) for n floats and a kind from sigmoid on; y may equal x. One
// call per vector leaves each vector's exp and division a serial chain with nothing beside it
// (and a call costs its caller its live vectors); here four independent vectors go through each
// step, so their chains overlap. Per element the operations are transcendentalVec's, so results
// keep their bits. erf, log and pow (large inlined, and rare as activations) go a vector a call.
export function transcendentalRun(n: i32, x: usize, y: usize, kind: i32, p0: f32, p1: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    switch (kind) {
      case ACT_SIGMOID: i = blockLoop(n, x, y, ACT_SIGMOID, p0, p1); break;
      case ACT_TANH: i = blockLoop(n, x, y, ACT_TANH, p0, p1); break;
      case ACT_EXP: i = blockLoop(n, x, y, ACT_EXP, p0, p1); break;
      case ACT_ELU: i = blockLoop(n, x, y, ACT_ELU, p0, p1); break;
      case ACT_SELU: i = blockLoop(n, x, y, ACT_SELU, p0, p1); break;
      case ACT_CELU: i = blockLoop(n, x, y, ACT_CELU, p0, p1); break;
      case ACT_HARDSIGMOID: i = blockLoop(n, x, y, ACT_HARDSIGMOID, p0, p1); break;
      case ACT_HARDSWISH: i = blockLoop(n, x, y, ACT_HARDSWISH, p0, p1); break;
      case ACT_SOFTPLUS: i = blockLoop(n, x, y, ACT_SOFTPLUS, p0, p1); break;
      case ACT_SOFTSIGN: i = blockLoop(n, x, y, ACT_SOFTSIGN, p0, p1); break;
      case ACT_MISH: i = blockLoop(n, x, y, ACT_MISH, p0, p1); break;
      case ACT_GELU: i = blockLoop(n, x, y, ACT_GELU, p0, p1); break;
      case ACT_GELU_TANH: i = blockLoop(n, x, y, ACT_GELU_TANH, p0, p1); break;
      case ACT_SILU: i = blockLoop(n, x, y, ACT_SILU, p0, p1); break;
      case ACT_SQRT: i = blockLoop(n, x, y, ACT_SQRT, p0, p1); break;
      case ACT_RECIPROCAL: i = blockLoop(n, x, y, ACT_RECIPROCAL, p0, p1); break;
      case ACT_NEG: i = blockLoop(n, x, y, ACT_NEG, p0, p1); break;
      case ACT_ABS: i = blockLoop(n, x, y, ACT_ABS, p0, p1); break;
      case ACT_FLOOR: i = blockLoop(n, x, y, ACT_FLOOR, p0, p1); break;
      case ACT_CEIL: i = blockLoop(n, x, y, ACT_CEIL, p0, p1); break;
      case ACT_ROUND: i = blockLoop(n, x, y, ACT_ROUND, p0, p1); break;
      case ACT_SIGN: i = blockLoop(n, x, y, ACT_SIGN, p0, p1); break;
      default: break;
    }
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, transcendentalVec(v128.load(x + o), kind, p0, p1));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, transcendentalScalar(load<f32>(x + o), kind, p0, p1));
  }
}

// Whole blocks of four vectors from the start; returns how many floats it did. All four loads
// come before the stores, so y = x is safe.
@inline function blockLoop(n: i32, x: usize, y: usize, kind: i32, p0: f32, p1: f32): i32 {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    const a = v128.load(x + o);
    const b = v128.load(x + o, 16);
    const c = v128.load(x + o, 32);
    const d = v128.load(x + o, 48);
    const ra = transcendentalVecInline(a, kind, p0, p1);
    const rb = transcendentalVecInline(b, kind, p0, p1);
    const rc = transcendentalVecInline(c, kind, p0, p1);
    const rd = transcendentalVecInline(d, kind, p0, p1);
    v128.store(y + o, ra);
    v128.store(y + o, rb, 16);
    v128.store(y + o, rc, 32);
    v128.store(y + o, rd, 48);
  }
  return i;
}
