// Plain float64 reference implementations of every simdcnn op, written from the op definitions
// (ONNX-style semantics, NHWC activations, OHWI weights) and not from the engine's code. Every
// reference takes and returns plain arrays; all accumulation is in float64, so for float32
// inputs a reference result is the exact real result up to ~1e-16 relative: the float32 engine
// is compared against it with error bounds derived in test/grid.ts.
//
// Besides each value, conv2d and gemm also return `mag`: the sum of the absolute values of every
// term that was added into that output (|bias| + sum |x*w| (+ |beta*c|)), which the tolerance of a
// float32 dot product is proportional to.

export type Pad4 = [number, number, number, number];
export type PaddingSpec = "valid" | "same" | Pad4;
export type Act =
  | "none" | "relu" | "relu6" | "sigmoid" | "tanh"
  | { clip: [number, number] } | { leakyRelu: number };

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  /** n float32 values uniform in [lo, hi). */
  f32(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.uniform(lo, hi);
    return a;
  }
}

export function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// Activations (float64)

export function activate(v: number, act: Act | undefined): number {
  if (act === undefined || act === "none") return v;
  if (act === "relu") return v > 0 ? v : 0;
  if (act === "relu6") return v < 0 ? 0 : v > 6 ? 6 : v;
  if (act === "sigmoid") return 1 / (1 + Math.exp(-v));
  if (act === "tanh") return Math.tanh(v);
  if ("clip" in act) return v < act.clip[0] ? act.clip[0] : v > act.clip[1] ? act.clip[1] : v;
  if ("leakyRelu" in act) return v < 0 ? v * act.leakyRelu : v;
  throw new Error(`reference: unknown activation ${JSON.stringify(act)}`);
}

/** The largest slope of the activation: how much an error before it can grow after it. */
export function activationSlope(act: Act | undefined): number {
  if (act && typeof act === "object" && "leakyRelu" in act) return Math.max(1, Math.abs(act.leakyRelu));
  if (act === "sigmoid") return 0.25;
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Windows and padding

/**
 * Padding [top, left, bottom, right] for one input size. 'same': the output has ceil(size /
 * stride) pixels, and the total padding this needs is split with the odd pixel at the end.
 */
export function padsFor(
  padding: PaddingSpec | undefined, h: number, w: number,
  kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
): Pad4 {
  if (padding === undefined || padding === "valid") return [0, 0, 0, 0];
  if (padding === "same") {
    const need = (size: number, k: number, s: number, d: number) => {
      const out = Math.ceil(size / s);
      const extent = (k - 1) * d + 1; // pixels one window covers
      const total = (out - 1) * s + extent - size;
      return total > 0 ? total : 0;
    };
    const th = need(h, kh, sh, dh);
    const tw = need(w, kw, sw, dw);
    const top = Math.floor(th / 2);
    const left = Math.floor(tw / 2);
    return [top, left, th - top, tw - left];
  }
  return [padding[0], padding[1], padding[2], padding[3]];
}

/** Output size along one axis, or 0 when the window does not fit the padded input. */
export function outSize(size: number, k: number, s: number, d: number, padA: number, padB: number): number {
  const extent = (k - 1) * d + 1;
  const padded = size + padA + padB;
  if (extent > padded) return 0;
  return Math.floor((padded - extent) / s) + 1;
}

// ---------------------------------------------------------------------------------------------
// conv2d: x NHWC [N,H,W,Cin], w OHWI [Cout,kH,kW,Cin/groups], y NHWC [N,OH,OW,Cout]

export interface ConvParams {
  n: number; h: number; w: number; cin: number; cout: number;
  kh: number; kw: number;
  strides: [number, number];
  dilations: [number, number];
  padding: PaddingSpec;
  groups: number;
  activation?: Act;
}

export interface RefResult {
  shape: number[];
  value: Float64Array;
  /** Sum of |terms| that went into each output (see the file comment). */
  mag: Float64Array;
}

export function conv2dRef(x: ArrayLike<number>, wt: ArrayLike<number>, bias: ArrayLike<number> | undefined, p: ConvParams): RefResult {
  const { n, h, w, cin, cout, kh, kw, groups } = p;
  const [sh, sw] = p.strides;
  const [dh, dw] = p.dilations;
  const [pt, pl, pb, pr] = padsFor(p.padding, h, w, kh, kw, sh, sw, dh, dw);
  const oh = outSize(h, kh, sh, dh, pt, pb);
  const ow = outSize(w, kw, sw, dw, pl, pr);
  if (oh === 0 || ow === 0) throw new Error("reference: window does not fit");
  const cinG = cin / groups;
  const coutG = cout / groups;
  const value = new Float64Array(n * oh * ow * cout);
  const mag = new Float64Array(value.length);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let co = 0; co < cout; co++) {
          const g = Math.floor(co / coutG);
          let s = bias ? bias[co] : 0;
          let m = Math.abs(s);
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cinG; ci++) {
                const xv = x[((b * h + iy) * w + ix) * cin + g * cinG + ci];
                const wv = wt[((co * kh + ky) * kw + kx) * cinG + ci];
                s += xv * wv;
                m += Math.abs(xv * wv);
              }
            }
          }
          const o = ((b * oh + oy) * ow + ox) * cout + co;
          value[o] = activate(s, p.activation);
          mag[o] = m;
        }
      }
    }
  }
  return { shape: [n, oh, ow, cout], value, mag };
}

// ---------------------------------------------------------------------------------------------
// conv2dTranspose (ONNX ConvTranspose): x NHWC [N,H,W,Cin], w [Cin,kH,kW,Cout/groups], y NHWC.
// Every input pixel (iy, ix) scatters x * w to output (iy*sh - pt + ky*dh, ix*sw - pl + kx*dw):
// the definition itself, with none of the engine's decomposition into phases.

export interface ConvTransposeParams {
  n: number; h: number; w: number; cin: number; cout: number;
  kh: number; kw: number;
  strides: [number, number];
  dilations: [number, number];
  /** Explicit [top, left, bottom, right] cropped from the full output, or 'same' (output = input * stride). */
  padding: "valid" | "same" | Pad4;
  outputPadding: [number, number];
  groups: number;
  activation?: Act;
}

/** Output size and the rows cropped at the start, per axis, from the ONNX ConvTranspose formulas. */
export function convTransposeGeometry(p: ConvTransposeParams): { oh: number; ow: number; pt: number; pl: number } {
  const axis = (size: number, k: number, s: number, d: number, op: number, i: 0 | 1) => {
    const full = s * (size - 1) + op + (k - 1) * d + 1;
    if (p.padding === "same") {
      // ONNX auto_pad SAME_UPPER: output = input * stride, the smaller half of the total padding first.
      const total = full - size * s;
      return { out: size * s, begin: Math.floor(Math.max(total, 0) / 2) };
    }
    const pads = p.padding === "valid" ? [0, 0, 0, 0] : p.padding;
    return { out: full - pads[i] - pads[i + 2], begin: pads[i] };
  };
  const y = axis(p.h, p.kh, p.strides[0], p.dilations[0], p.outputPadding[0], 0);
  const x = axis(p.w, p.kw, p.strides[1], p.dilations[1], p.outputPadding[1], 1);
  return { oh: y.out, ow: x.out, pt: y.begin, pl: x.begin };
}

export function convTranspose2dRef(x: ArrayLike<number>, wt: ArrayLike<number>, bias: ArrayLike<number> | undefined, p: ConvTransposeParams): RefResult {
  const { n, h, w, cin, cout, kh, kw, groups } = p;
  const [sh, sw] = p.strides;
  const [dh, dw] = p.dilations;
  const { oh, ow, pt, pl } = convTransposeGeometry(p);
  if (oh < 1 || ow < 1) throw new Error("reference: empty output");
  const cinG = cin / groups;
  const coutG = cout / groups;
  const sum = new Float64Array(n * oh * ow * cout);
  const mag = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const b = bias ? bias[i % cout] : 0;
    sum[i] = b;
    mag[i] = Math.abs(b);
  }
  for (let b = 0; b < n; b++) {
    for (let iy = 0; iy < h; iy++) {
      for (let ix = 0; ix < w; ix++) {
        for (let ci = 0; ci < cin; ci++) {
          const g = Math.floor(ci / cinG);
          const xv = x[((b * h + iy) * w + ix) * cin + ci];
          for (let ky = 0; ky < kh; ky++) {
            const oy = iy * sh - pt + ky * dh;
            if (oy < 0 || oy >= oh) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ox = ix * sw - pl + kx * dw;
              if (ox < 0 || ox >= ow) continue;
              for (let j = 0; j < coutG; j++) {
                const t = xv * wt[((ci * kh + ky) * kw + kx) * coutG + j];
                const o = ((b * oh + oy) * ow + ox) * cout + g * coutG + j;
                sum[o] += t;
                mag[o] += Math.abs(t);
              }
            }
          }
        }
      }
    }
  }
  const value = sum.map((v) => activate(v, p.activation));
  return { shape: [n, oh, ow, cout], value, mag };
}

// ---------------------------------------------------------------------------------------------
// gemm: y = act(alpha * op(a) op(b) + bias + beta * c)

export interface GemmParams {
  m: number; k: number; n: number;
  transA: boolean; transB: boolean;
  alpha: number; beta: number;
  /** c's shape, broadcast to [M, N]: [N], [1, N], [1], [1, 1], [M, N] or [M, 1]. */
  cShape?: number[];
  activation?: Act;
}

export function gemmRef(
  a: ArrayLike<number>, b: ArrayLike<number>, bias: ArrayLike<number> | undefined, c: ArrayLike<number> | undefined, p: GemmParams,
): RefResult {
  const { m, k, n, alpha, beta } = p;
  const A = (i: number, kk: number) => (p.transA ? a[kk * m + i] : a[i * k + kk]);
  const B = (kk: number, j: number) => (p.transB ? b[j * k + kk] : b[kk * n + j]);
  const C = (i: number, j: number) => {
    if (!c || !p.cShape) return 0;
    const s = p.cShape;
    const rows = s.length === 2 ? s[0] : 1;
    const cols = s.length === 2 ? s[1] : s[0];
    return c[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)];
  };
  const value = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      let dmag = 0;
      for (let kk = 0; kk < k; kk++) {
        const t = A(i, kk) * B(kk, j);
        dot += t;
        dmag += Math.abs(t);
      }
      const bv = bias ? bias[j] : 0;
      const cv = beta * C(i, j);
      value[i * n + j] = activate(alpha * dot + bv + cv, p.activation);
      mag[i * n + j] = Math.abs(alpha) * dmag + Math.abs(bv) + Math.abs(cv);
    }
  }
  return { shape: [m, n], value, mag };
}

// ---------------------------------------------------------------------------------------------
// Pooling over NHWC

export interface PoolParams {
  n: number; h: number; w: number; c: number;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: PaddingSpec;
  countIncludePad?: boolean;
}

export interface PoolRef {
  shape: number[];
  value: Float64Array;
  /** Number of in-image taps per output (the terms an average sums). */
  taps: Float64Array;
  /** avg: what the sum is divided by (taps, or the taps inside the padded extent). */
  divisor: Float64Array;
  /** avg: sum of |x| over the summed taps. */
  mag: Float64Array;
}

function pool(x: ArrayLike<number>, p: PoolParams, isMax: boolean): PoolRef {
  const { n, h, w, c } = p;
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.strides;
  const [dh, dw] = p.dilations;
  const [pt, pl, pb, pr] = padsFor(p.padding, h, w, kh, kw, sh, sw, dh, dw);
  const oh = outSize(h, kh, sh, dh, pt, pb);
  const ow = outSize(w, kw, sw, dw, pl, pr);
  if (oh === 0 || ow === 0) throw new Error("reference: window does not fit");
  const value = new Float64Array(n * oh * ow * c);
  const taps = new Float64Array(value.length);
  const divisor = new Float64Array(value.length);
  const mag = new Float64Array(value.length);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let sum = 0;
          let abs = 0;
          let inside = 0; // taps inside the image
          let padded = 0; // taps inside [-pt, h + pb) x [-pl, w + pr)
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (iy >= -pt && iy < h + pb && ix >= -pl && ix < w + pr) padded++;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x[((b * h + iy) * w + ix) * c + ch];
              inside++;
              if (v > best) best = v;
              sum += v;
              abs += Math.abs(v);
            }
          }
          const o = ((b * oh + oy) * ow + ox) * c + ch;
          const count = p.countIncludePad ? padded : inside;
          if (isMax) value[o] = best; // -Infinity when the window holds no pixel of the image
          else value[o] = count === 0 ? 0 : sum / count;
          taps[o] = inside;
          divisor[o] = count;
          mag[o] = abs;
        }
      }
    }
  }
  return { shape: [n, oh, ow, c], value, taps, divisor, mag };
}

export function maxPoolRef(x: ArrayLike<number>, p: PoolParams): PoolRef {
  return pool(x, p, true);
}

export function avgPoolRef(x: ArrayLike<number>, p: PoolParams): PoolRef {
  return pool(x, p, false);
}

export function globalPoolRef(x: ArrayLike<number>, shape: readonly number[], isMax: boolean): { shape: number[]; value: Float64Array; mag: Float64Array } {
  const [n, h, w, c] = shape;
  const value = new Float64Array(n * c);
  const mag = new Float64Array(n * c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let best = -Infinity;
      let sum = 0;
      let abs = 0;
      for (let i = 0; i < h * w; i++) {
        const v = x[(b * h * w + i) * c + ch];
        if (v > best) best = v;
        sum += v;
        abs += Math.abs(v);
      }
      value[b * c + ch] = isMax ? best : sum / (h * w);
      mag[b * c + ch] = abs;
    }
  }
  return { shape: [n, 1, 1, c], value, mag };
}

// ---------------------------------------------------------------------------------------------
// Elementwise and softmax

export type UnaryName = "relu" | "sigmoid" | "tanh" | "exp";

export function unaryRef(x: ArrayLike<number>, op: UnaryName): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = op === "relu" ? (v > 0 ? v : 0) : op === "sigmoid" ? 1 / (1 + Math.exp(-v)) : op === "tanh" ? Math.tanh(v) : Math.exp(v);
  }
  return y;
}

export function clipRef(x: ArrayLike<number>, lo: number, hi: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
  return y;
}

export function leakyReluRef(x: ArrayLike<number>, alpha: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] < 0 ? alpha * x[i] : x[i];
  return y;
}

export type BinaryName = "add" | "sub" | "mul" | "div";

/** a op b with b of a's shape, [C] over a's last axis, or one element. */
export function binaryRef(a: ArrayLike<number>, aShape: readonly number[], b: ArrayLike<number>, bShape: readonly number[], op: BinaryName): Float64Array {
  const last = aShape[aShape.length - 1];
  const bSize = prod(bShape);
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const bv = bSize === 1 ? b[0] : bSize === a.length && bShape.length === aShape.length ? b[i] : b[i % last];
    const av = a[i];
    y[i] = op === "add" ? av + bv : op === "sub" ? av - bv : op === "mul" ? av * bv : av / bv;
  }
  return y;
}

export function softmaxRef(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const cols = shape[shape.length - 1];
  const rows = x.length / cols;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[r * cols + j] - mx);
    for (let j = 0; j < cols; j++) y[r * cols + j] = Math.exp(x[r * cols + j] - mx) / sum;
  }
  return y;
}
