// Float64 references of the activations and elementwise math of src/ops/activation.ts and
// src/ops/elementwise.ts, written from their mathematical definitions (ONNX's operator text),
// sharing no code with the kernels. erf has no Math function: it is summed here from series that
// converge to float64 accuracy on their ranges.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf(x) = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (1 3 5 ... (2n+1)): all terms positive. */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** erfc(x) for x >= 2: the continued fraction e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
function erfcFraction(x: number): number {
  let f = x;
  for (let k = 120; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export function erfc64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc64(-x);
  return x >= 2 ? erfcFraction(x) : 1 - erfSeries(x);
}

export function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const r = a >= 2 ? 1 - erfcFraction(a) : erfSeries(a);
  return x < 0 ? -r : r;
}

function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;

/** The functions by the names the tests use; parameters as the ONNX attributes. */
export const REF = {
  elu: (x: number, alpha = 1) => (x < 0 ? alpha * Math.expm1(x) : x),
  selu: (x: number, alpha = SELU_ALPHA, gamma = SELU_GAMMA) => (x <= 0 ? gamma * alpha * Math.expm1(x) : gamma * x),
  celu: (x: number, alpha = 1) => Math.max(0, x) + Math.min(0, alpha * Math.expm1(x / alpha)),
  hardSigmoid: (x: number, alpha = 0.2, beta = 0.5) => Math.max(0, Math.min(1, alpha * x + beta)),
  hardSwish: (x: number) => x * Math.max(0, Math.min(1, x / 6 + 0.5)),
  softplus,
  softsign: (x: number) => x / (1 + Math.abs(x)),
  mish: (x: number) => x * Math.tanh(softplus(x)),
  gelu: (x: number) => (x < 0 ? 0.5 * x * erfc64(-x / Math.SQRT2) : 0.5 * x * (1 + erf64(x / Math.SQRT2))),
  // x/2 (1 + tanh(y)) written as x / (1 + e^(-2y)): the same function, without float64's own
  // cancellation in 1 + tanh(y) for y < -19.
  geluTanh: (x: number) => x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
  silu: (x: number) => x / (1 + Math.exp(-x)),
  erf: erf64,
  log: Math.log,
  exp: Math.exp,
  sqrt: Math.sqrt,
  reciprocal: (x: number) => 1 / x,
  neg: (x: number) => -x,
  abs: Math.abs,
  floor: Math.floor,
  ceil: Math.ceil,
  round: (x: number) => {
    // Half to even: Math.round rounds halves up.
    const f = Math.floor(x);
    const d = x - f;
    return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  },
  sign: (x: number) => (x > 0 ? 1 : x < 0 ? -1 : x),
  pow: (x: number, p: number) => Math.pow(x, p),
} as const;

export function logSoftmaxRef(x: ArrayLike<number>, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[r * cols + j] - mx);
    for (let j = 0; j < cols; j++) y[r * cols + j] = x[r * cols + j] - mx - Math.log(sum);
  }
  return y;
}
