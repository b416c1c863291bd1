import { expScalar, expVec } from "./activation";

// log, log1p, erf/erfc and pow, computed here (not with JS Math) so that every engine gives the
// same bits; each scalar form runs the vector form's operations in the same order.

const SQRT2: f32 = 1.41421356;
const LN2_HI: f32 = 0.693145752; // 15 significant bits: e * LN2_HI is exact for |e| < 256
const LN2_LO: f32 = 1.42860677e-6;
const MIN_NORMAL: f32 = 1.17549435e-38;
const TWO23: f32 = 8388608.0;
// 2 atanh(s) = 2s + 2s^3/3 + 2s^5/5 + ...: with |s| <= 3 - 2 sqrt(2) = 0.172 the first omitted
// term, 2s^11/11, is below 2^-30 of the result.
const L3: f32 = 0.666666667;
const L5: f32 = 0.4;
const L7: f32 = 0.285714286;
const L9: f32 = 0.222222222;

// log(x) = e ln2 + log(m), x = 2^e m with m in [sqrt(1/2), sqrt(2)); log(m) = 2 atanh(s), s =
// (m - 1)/(m + 1). Measured <= 2.8 ulp over normal and subnormal x (test/activation.test.ts).
@inline export function logScalar(x: f32): f32 {
  const sub = x < MIN_NORMAL;
  const xs = sub ? x * TWO23 : x;
  const bits = reinterpret<i32>(xs);
  let e = (bits >> 23) - 127;
  let m = reinterpret<f32>((bits & 0x7fffff) | 0x3f800000);
  const big = m > SQRT2;
  m = big ? m * 0.5 : m;
  e = big ? e + 1 : e;
  const ef = <f32>(sub ? e - 23 : e);
  const s = (m - 1.0) / (m + 1.0);
  const z = s * s;
  let p = z * L9 + L7;
  p = p * z + L5;
  p = p * z + L3;
  const lm = (p * z) * s + (s + s);
  let r = ef * LN2_HI + (lm + ef * LN2_LO);
  r = x == Infinity ? x : r;
  r = x == 0 ? -Infinity : r;
  return x < 0 || x != x ? NaN : r;
}

@inline export function logVec(x: v128): v128 {
  const sub = f32x4.lt(x, f32x4.splat(MIN_NORMAL));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(TWO23)), x, sub);
  let e = i32x4.sub(i32x4.shr_s(xs, 23), i32x4.splat(127));
  let m = v128.or(v128.and(xs, i32x4.splat(0x7fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f32x4.splat(SQRT2));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big); // a true lane is -1
  e = v128.bitselect(i32x4.sub(e, i32x4.splat(23)), e, sub);
  const ef = f32x4.convert_i32x4_s(e);
  const one = f32x4.splat(1.0);
  const s = f32x4.div(f32x4.sub(m, one), f32x4.add(m, one));
  const z = f32x4.mul(s, s);
  let p = f32x4.add(f32x4.mul(z, f32x4.splat(L9)), f32x4.splat(L7));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(L5));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(L3));
  const lm = f32x4.add(f32x4.mul(f32x4.mul(p, z), s), f32x4.add(s, s));
  let r = f32x4.add(f32x4.mul(ef, f32x4.splat(LN2_HI)), f32x4.add(lm, f32x4.mul(ef, f32x4.splat(LN2_LO))));
  r = v128.bitselect(x, r, f32x4.eq(x, f32x4.splat(Infinity)));
  r = v128.bitselect(f32x4.splat(-Infinity), r, f32x4.eq(x, f32x4.splat(0)));
  const nan = v128.or(f32x4.lt(x, f32x4.splat(0)), f32x4.ne(x, x));
  return v128.bitselect(f32x4.splat(NaN), r, nan);
}

// log(1 + u) = log(w) * u / (w - 1), w = 1 + u rounded: the quotient corrects the rounding of w
// (Goldberg's trick), so small u keep their relative accuracy. For u >= 0.
@inline export function log1pScalar(u: f32): f32 {
  const w = u + 1.0;
  const d = w - 1.0;
  return d == 0 ? u : logScalar(w) * (u / d);
}

@inline export function log1pVec(u: v128): v128 {
  const w = f32x4.add(u, f32x4.splat(1.0));
  const d = f32x4.sub(w, f32x4.splat(1.0));
  return v128.bitselect(u, f32x4.mul(logVec(w), f32x4.div(u, d)), f32x4.eq(d, f32x4.splat(0)));
}

// erf below ERF_SMALL: its odd Taylor series x (c0 + c1 x^2 + ... + c6 x^12), c_k = 2/sqrt(pi)
// (-1)^k / (k! (2k + 1)); the first omitted term is below 2^-25 of erf there.
const ERF_SMALL: f32 = 0.5;
const E0: f32 = 1.12837917;
const E1: f32 = -0.376126389;
const E2: f32 = 0.112837917;
const E3: f32 = -0.0268661706;
const E4: f32 = 0.00522397762;
const E5: f32 = -0.000854832702;
const E6: f32 = 0.000120553329;
// erfc(a) = exp(-a^2) R(t), t = 1/(1 + a/2), for a >= 0.5: R is a degree-8 polynomial fitted
// here (iteratively reweighted least squares over a in [0.5, 10]) to relative error 4.5e-8;
// evaluated in float32 it is within 7 ulp of R, and erfc within about (8 + 3 a^2) ulp (exp's
// argument -a^2 carries the roundings of a and a^2; measured 59 ulp at a = 4.1 through GELU). Past ERFC_HI, a^2 > 104 and exp's result is exactly 0, as erfc is in float32.
const ERFC_HI: f32 = 10.5;
const R8: f32 = 0.0407523997;
const R7: f32 = -0.052092135;
const R6: f32 = -0.161914706;
const R5: f32 = 0.250848919;
const R4: f32 = 0.0896490067;
const R3: f32 = 0.272815585;
const R2: f32 = 0.277521729;
const R1: f32 = 0.282533079;
const R0: f32 = -1.76303602e-5;

@inline function erfSmallScalar(x: f32): f32 {
  const z = x * x;
  let p = z * E6 + E5;
  p = p * z + E4;
  p = p * z + E3;
  p = p * z + E2;
  p = p * z + E1;
  p = p * z + E0;
  return p * x;
}

@inline function erfSmallVec(x: v128): v128 {
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(z, f32x4.splat(E6)), f32x4.splat(E5));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E4));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(E0));
  return f32x4.mul(p, x);
}

/** erfc(a) for a >= 0 (meant for a >= ERF_SMALL). */
@inline export function erfcPosScalar(a: f32): f32 {
  a = min(a, ERFC_HI);
  const t: f32 = 1.0 / (a * 0.5 + 1.0);
  let p = t * R8 + R7;
  p = p * t + R6;
  p = p * t + R5;
  p = p * t + R4;
  p = p * t + R3;
  p = p * t + R2;
  p = p * t + R1;
  p = p * t + R0;
  return p * expScalar(-(a * a));
}

@inline export function erfcPosVec(a: v128): v128 {
  a = f32x4.min(a, f32x4.splat(ERFC_HI));
  const t = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.mul(a, f32x4.splat(0.5)), f32x4.splat(1.0)));
  let p = f32x4.add(f32x4.mul(t, f32x4.splat(R8)), f32x4.splat(R7));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(R6));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(R5));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(R4));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(R3));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(R2));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(R1));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(R0));
  return f32x4.mul(p, expVec(f32x4.neg(f32x4.mul(a, a))));
}

@inline export function erfScalar(x: f32): f32 {
  const a = abs(x);
  const r: f32 = a < ERF_SMALL ? erfSmallScalar(a) : 1.0 - erfcPosScalar(a);
  return copysign(r, x);
}

@inline export function erfVec(x: v128): v128 {
  const a = f32x4.abs(x);
  const r = v128.bitselect(erfSmallVec(a), f32x4.sub(f32x4.splat(1.0), erfcPosVec(a)), f32x4.lt(a, f32x4.splat(ERF_SMALL)));
  const sign = i32x4.splat(0x80000000);
  return v128.or(v128.and(x, sign), v128.andnot(r, sign));
}

const INV_SQRT2: f32 = 0.707106781;

// 1 + erf(x / sqrt(2)): for x < 0 computed as erfc(|x| / sqrt(2)) itself, so GELU keeps its
// relative accuracy in the negative tail instead of cancelling 1 - (1 - erfc).
@inline export function onePlusErfScalar(x: f32): f32 {
  const a = abs(x) * INV_SQRT2;
  if (a < ERF_SMALL) return 1.0 + copysign(erfSmallScalar(a), x);
  const q = erfcPosScalar(a);
  return x < 0 ? q : 2.0 - q;
}

@inline export function onePlusErfVec(x: v128): v128 {
  const a = f32x4.mul(f32x4.abs(x), f32x4.splat(INV_SQRT2));
  const sign = i32x4.splat(0x80000000);
  const small = f32x4.add(f32x4.splat(1.0), v128.or(v128.and(x, sign), erfSmallVec(a)));
  const q = erfcPosVec(a);
  const large = v128.bitselect(q, f32x4.sub(f32x4.splat(2.0), q), f32x4.lt(x, f32x4.splat(0)));
  return v128.bitselect(small, large, f32x4.lt(a, f32x4.splat(ERF_SMALL)));
}

// x^p = exp(p log|x|), with the sign of x for odd integer p and NaN for finite x < 0 and p not
// an integer (-inf^p is then inf^p, as IEEE pow has it); exp(p log|x|) has the relative error of the product p log|x| (<= (2 + 2 |p log|x||)
// ulp) on top of exp's, so large |p log|x|| lose accuracy in proportion.
@inline export function powScalar(x: f32, p: f32): f32 {
  const r = expScalar(p * logScalar(abs(x)));
  const isInt = floor(p) == p;
  const h = p * 0.5;
  const odd = isInt && floor(h) != h;
  const neg: f32 = odd ? -r : r;
  const signed: f32 = isInt ? neg : x == -Infinity ? r : NaN;
  const y: f32 = x < 0 ? signed : r;
  return p == 0 ? 1.0 : y;
}

@inline export function powVec(x: v128, p: v128): v128 {
  const r = expVec(f32x4.mul(p, logVec(f32x4.abs(x))));
  const isInt = f32x4.eq(f32x4.floor(p), p);
  const h = f32x4.mul(p, f32x4.splat(0.5));
  const odd = v128.and(isInt, f32x4.ne(f32x4.floor(h), h));
  const neg = v128.bitselect(f32x4.neg(r), r, odd);
  const other = v128.bitselect(r, f32x4.splat(NaN), f32x4.eq(x, f32x4.splat(-Infinity)));
  const signed = v128.bitselect(neg, other, isInt);
  const y = v128.bitselect(signed, r, f32x4.lt(x, f32x4.splat(0)));
  return v128.bitselect(f32x4.splat(1.0), y, f32x4.eq(p, f32x4.splat(0)));
}
