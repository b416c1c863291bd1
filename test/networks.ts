// Shared machinery of the network-level tests (onnx-models, layers, graph): a small graph builder
// over test/onnx-builder.ts with He-scaled random weights (so that activations stay O(1) through
// a deep stack and an absolute tolerance means the same thing at every depth), and the harness that
// runs one ONNX model in onnxruntime-web and in both simdcnn builds, fused and unfused, and
// reports every disagreement.
import { expect } from "vitest";
import type { Engine, Model, OutputData } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { BACKENDS, type BackendName, TRANSCENDENTAL_RTOL, U, compare, compareBits } from "./grid.js";
import { type AttributeValue, type ModelSpec, type NodeSpec, type TensorSpec, type ValueSpec, f, onnxModel } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng, prod } from "./reference.js";

// ---------------------------------------------------------------------------------------------
// Building graphs

/** Accumulates nodes and initializers with generated names. */
export class Net {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: Record<string, TensorSpec> = {};
  private n = 0;

  constructor(readonly rng: Rng) {}

  private fresh(prefix: string): string {
    return `${prefix}${this.n++}`;
  }

  /** He-uniform weights: U(-a, a) with a = sqrt(6 / fanIn), variance 2 / fanIn. */
  weight(dims: number[], fanIn = prod(dims.slice(1))): string {
    const a = Math.sqrt(6 / fanIn);
    return this.constant(dims, this.rng.f32(prod(dims), -a, a));
  }

  /** Uniform random floats in [lo, hi). */
  random(dims: number[], lo = -1, hi = 1): string {
    return this.constant(dims, this.rng.f32(prod(dims), lo, hi));
  }

  constant(dims: number[], data: Float32Array | readonly number[], name = this.fresh("c")): string {
    this.initializers[name] = { dims, data: data instanceof Float32Array ? data : Float32Array.from(data) };
    return name;
  }

  int64(dims: number[], data: readonly number[], name = this.fresh("i")): string {
    this.initializers[name] = { dims, data, dataType: DataType.INT64 };
    return name;
  }

  /** An 8-bit integer constant (int8 when signed, else uint8). */
  int8(dims: number[], data: readonly number[], signed: boolean, name = this.fresh("q")): string {
    this.initializers[name] = { dims, data, dataType: signed ? DataType.INT8 : DataType.UINT8 };
    return name;
  }

  /** One node; returns its (first) output's name. */
  op(op: string, inputs: string[], attrs?: Record<string, AttributeValue>, name = this.fresh(op.toLowerCase()), outputs = [`${name}_out`]): string {
    this.nodes.push({ op, inputs, outputs, attrs, name });
    return outputs[0];
  }

  /** The last node writes the graph output `y`. */
  output(out: string, name = "y"): void {
    const node = this.nodes.find((n) => n.outputs[0] === out);
    if (!node) {
      this.nodes.push({ op: "Identity", inputs: [out], outputs: [name], name: "output" });
      return;
    }
    node.outputs[0] = name;
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === out ? name : i));
  }

  /** Conv with He weights and a small random bias. */
  conv(x: string, cin: number, cout: number, k: number | [number, number], attrs: Record<string, AttributeValue> = {}, bias = true): string {
    const [kh, kw] = typeof k === "number" ? [k, k] : k;
    const group = typeof attrs.group === "number" ? attrs.group : 1;
    const w = this.weight([cout, cin / group, kh, kw]);
    const inputs = bias ? [x, w, this.random([cout], -0.1, 0.1)] : [x, w];
    return this.op("Conv", inputs, { kernel_shape: [kh, kw], ...attrs });
  }

  /** BatchNormalization with statistics that move the values visibly (scale 0.5..1.5, var 0.5..2). */
  batchNorm(x: string, c: number, epsilon?: number): string {
    const inputs = [x, this.random([c], 0.5, 1.5), this.random([c], -0.2, 0.2), this.random([c], -0.2, 0.2), this.random([c], 0.5, 2)];
    return this.op("BatchNormalization", inputs, epsilon === undefined ? {} : { epsilon: f32attr(epsilon) });
  }

  gemm(a: string, k: number, n: number, attrs: Record<string, AttributeValue> = {}): string {
    return this.op("Gemm", [a, this.weight([n, k], k), this.random([n], -0.1, 0.1)], { transB: 1, ...attrs });
  }

  model(spec: Omit<ModelSpec, "nodes" | "initializers">): Uint8Array {
    return onnxModel({ ...spec, nodes: this.nodes, initializers: this.initializers });
  }
}

/** A float attribute from any number (the builder writes integral numbers as INT). */
export function f32attr(v: number): AttributeValue {
  return f(v);
}

// ---------------------------------------------------------------------------------------------
// Tolerances (see the comment in test/onnx-models.test.ts for the derivation)

export interface Tol {
  /** |got - ort| <= atol + rtol * |ort| */
  atol: number;
  rtol: number;
}

/** Data movement, relu/clip/leaky relu, max pooling, +-*\/: both runtimes round the same real result once. */
export const EXACT: Tol = { atol: 0, rtol: 0 };

// ---------------------------------------------------------------------------------------------
// Running a model in ORT and simdcnn

export interface Feed {
  data: Float32Array;
  dims: number[];
}

export interface OrtCase {
  name: string;
  bytes: Uint8Array;
  /** One or more sets of inputs (e.g. batch 1 and batch 3 of a model with a symbolic batch). */
  feeds: Record<string, Feed>[];
  tol: Tol;
}

export interface CaseResult {
  problems: string[];
  /** The worst |got - ort| / (atol + rtol |ort|)-style ratio seen, err / (1 + |ort|), for calibration. */
  worst: number;
  /** summary() per optimize setting, from the simd build. */
  summaries: Record<"fused" | "unfused", string>;
}

/** Random inputs in [-1, 1) for a case's declared shapes. */
/** Names of the steps in a model summary (the first column of its rows). */
export function steps(summary: string): string[] {
  const lines = summary.split("\n");
  const start = lines.findIndex((l) => l.startsWith("step")) + 1;
  const end = lines.findIndex((l) => l.startsWith("parameters:"));
  return lines.slice(start, end).map((l) => l.split(/\s{2,}/)[0].trim());
}

export function feed(rng: Rng, dims: number[]): Feed {
  return { data: rng.f32(prod(dims)), dims };
}

const ortCache = new WeakMap<Uint8Array, Map<number, Promise<Record<string, { data: Float32Array; dims: number[] }>>>>();

export function ortOutputs(c: OrtCase, i: number) {
  let m = ortCache.get(c.bytes);
  if (!m) ortCache.set(c.bytes, (m = new Map()));
  let p = m.get(i);
  if (!p) m.set(i, (p = runOrt(c.bytes, c.feeds[i])));
  return p;
}

/**
 * Loads the case's bytes in both builds, with and without the fusions, runs every feed set and
 * compares each output with ORT's within the case's tolerance; the two builds must agree to the bit.
 */
export async function checkCase(E: Record<BackendName, Engine>, c: OrtCase): Promise<CaseResult> {
  const problems: string[] = [];
  let worst = 0;
  const summaries = { fused: "", unfused: "" };
  const refs = [];
  for (let i = 0; i < c.feeds.length; i++) refs.push(await ortOutputs(c, i));
  for (const optimize of [true, false]) {
    const label = optimize ? "fused" : "unfused";
    const got: Partial<Record<BackendName, Record<string, OutputData>[]>> = {};
    for (const backend of BACKENDS) {
      let model: Model | undefined;
      try {
        model = await E[backend].loadOnnx(c.bytes, { optimize });
        const runs: Record<string, OutputData>[] = [];
        for (const [i, feeds] of c.feeds.entries()) {
          const out = model.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data])));
          runs.push(out);
          for (const [name, ref] of Object.entries(refs[i])) {
            const where = `${c.name} ${label} ${backend} feed ${i} output ${name} [${ref.dims}]`;
            const g = out[name];
            if (!g) {
              problems.push(`${where}: missing`);
              continue;
            }
            const shape = model.outputShapes[name];
            if (prod(shape) !== prod(ref.dims)) problems.push(`${where}: shape [${shape}]`);
            const p = compare(g, ref.data, (k) => c.tol.atol + c.tol.rtol * Math.abs(ref.data[k]), where);
            if (p) problems.push(p);
            for (let k = 0; k < g.length && k < ref.data.length; k++) worst = Math.max(worst, Math.abs(g[k] - ref.data[k]) / (1 + Math.abs(ref.data[k])));
          }
        }
        if (backend === "simd") summaries[label] = model.summary();
        got[backend] = runs;
      } catch (e) {
        problems.push(`${c.name} ${label} ${backend}: ${(e as Error).name}: ${(e as Error).message}`);
      } finally {
        model?.dispose();
      }
    }
    if (got.simd && got.scalar) {
      for (const [i, run] of got.simd.entries()) {
        for (const name of Object.keys(run)) {
          const p = compareBits(run[name], got.scalar[i][name], `${c.name} ${label} feed ${i} output ${name}: simd vs scalar`);
          if (p) problems.push(p);
        }
      }
    }
  }
  return { problems, worst, summaries };
}

/** checkCase, then expect no problems. */
export async function expectMatchesOrt(E: Record<BackendName, Engine>, c: OrtCase): Promise<CaseResult> {
  const r = await checkCase(E, c);
  expect(r.problems, c.name).toEqual([]);
  return r;
}

export type { ValueSpec };

// ---------------------------------------------------------------------------------------------
// A float64 reference of the layers API (NHWC activations, OHWI conv weights, dense [in, out]),
// written from the layer definitions. Each value carries, per element, a bound `e` on the error a
// float32 engine may make computing it, propagated layer by layer, and `m`, the magnitude the
// rounding errors of the op that produced it scale with:
//  - a dot product of K terms (conv, dense) is within gamma * mag of its real value with
//    gamma = (K + 8) u: K roundings of the sum and products, bias, the folded BatchNorm scale in
//    the weights, the residual add and the activation (test/grid.ts derives (K + 4) u for the
//    plain op); mag = |bias| + sum |w| (|x| + e_x). An input error e_x reaches the output as
//    sum |w| e_x, times the activation's largest slope.
//  - BatchNorm (y = s x + t, s = gamma / sqrt(var + eps)): |s| e_x + 4 u (|s| m_x + |t|), whether
//    folded into the conv before it (the weights rounded once more) or run as a multiply and an add.
//  - average pooling: the mean of the errors plus (count + 1) u mean(|x| + e); max pooling, relu,
//    relu6, concat, flatten and dropout pass errors through; add: e_a + e_b + u |sum|.
//  - sigmoid/tanh: slope (1/4, 1) times e plus TRANSCENDENTAL_RTOL |y| (the polynomials' own
//    error); softmax: y_i (2 max_j e_j + TRANSCENDENTAL_RTOL + (n + 4) u).
// The checks are |got - v| <= e per element: derived bounds, not tuned ones.


export interface RT {
  /** With the batch: [N, H, W, C] or [N, F]. */
  shape: number[];
  v: Float64Array;
  e: Float64Array;
  m: Float64Array;
}

export function rtInput(data: Float32Array, shape: number[]): RT {
  return { shape, v: Float64Array.from(data), e: new Float64Array(data.length), m: Float64Array.from(data, Math.abs) };
}

export type RefAct = "none" | "relu" | "relu6" | "sigmoid" | "tanh" | { leakyRelu: number } | { clip: [number, number] };

function actApply(t: RT, act: RefAct | undefined): RT {
  if (!act || act === "none") return t;
  const v = new Float64Array(t.v.length);
  const e = new Float64Array(t.v.length);
  for (let i = 0; i < v.length; i++) {
    const x = t.v[i];
    if (act === "relu") [v[i], e[i]] = [Math.max(x, 0), t.e[i]];
    else if (act === "relu6") [v[i], e[i]] = [Math.min(Math.max(x, 0), 6), t.e[i]];
    else if (act === "sigmoid") {
      v[i] = 1 / (1 + Math.exp(-x));
      e[i] = 0.25 * t.e[i] + TRANSCENDENTAL_RTOL * v[i];
    } else if (act === "tanh") {
      v[i] = Math.tanh(x);
      e[i] = t.e[i] + TRANSCENDENTAL_RTOL * Math.abs(v[i]);
    } else if ("leakyRelu" in act) {
      v[i] = x < 0 ? x * act.leakyRelu : x;
      e[i] = Math.max(1, Math.abs(act.leakyRelu)) * t.e[i] + 2 * U * Math.abs(v[i]);
    } else {
      v[i] = Math.min(Math.max(x, act.clip[0]), act.clip[1]);
      e[i] = t.e[i];
    }
  }
  return { shape: t.shape, v, e, m: v.map((x, i) => Math.abs(x) + e[i]) };
}

export interface RefConv {
  w: Float32Array;
  bias?: Float32Array;
  cout: number;
  kernel: [number, number];
  strides?: [number, number];
  dilations?: [number, number];
  /** [top, left, bottom, right] */
  pads?: [number, number, number, number];
  groups?: number;
  act?: RefAct;
}

export function rtConv(x: RT, p: RefConv): RT {
  const [n, h, w, cin] = x.shape;
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.strides ?? [1, 1];
  const [dh, dw] = p.dilations ?? [1, 1];
  const [pt, pl, pb, pr] = p.pads ?? [0, 0, 0, 0];
  const g = p.groups ?? 1;
  const cg = cin / g;
  const og = p.cout / g;
  const oh = Math.floor((h + pt + pb - ((kh - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((w + pl + pr - ((kw - 1) * dw + 1)) / sw) + 1;
  const size = n * oh * ow * p.cout;
  const v = new Float64Array(size);
  const e = new Float64Array(size);
  const m = new Float64Array(size);
  const gamma = (kh * kw * cg + 8) * U;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let o = 0; o < p.cout; o++) {
          const grp = Math.floor(o / og);
          const bias = p.bias ? p.bias[o] : 0;
          let s = bias;
          let mag = Math.abs(bias);
          let err = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= w) continue;
              for (let q = 0; q < cg; q++) {
                const xi = ((b * h + iy) * w + ix) * cin + grp * cg + q;
                const wv = p.w[((o * kh + ky) * kw + kx) * cg + q];
                s += x.v[xi] * wv;
                mag += Math.abs(wv) * (Math.abs(x.v[xi]) + x.e[xi]);
                err += Math.abs(wv) * x.e[xi];
              }
            }
          }
          const i = ((b * oh + oy) * ow + ox) * p.cout + o;
          v[i] = s;
          e[i] = err + gamma * mag;
          m[i] = mag;
        }
  const pre: RT = { shape: [n, oh, ow, p.cout], v, e, m };
  return withSlope(pre, p.act);
}

/** An activation after a dot product: its slope scales e; the pre-activation magnitude stays in m for BN-style folds. */
function withSlope(pre: RT, act: RefAct | undefined): RT {
  if (!act || act === "none") return pre;
  return actApply(pre, act);
}

export function rtDense(x: RT, w: Float32Array, bias: Float32Array | undefined, units: number, act?: RefAct): RT {
  const k = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const n = x.shape[0];
  const v = new Float64Array(n * units);
  const e = new Float64Array(n * units);
  const m = new Float64Array(n * units);
  const gamma = (k + 8) * U;
  for (let b = 0; b < n; b++)
    for (let j = 0; j < units; j++) {
      let s = bias ? bias[j] : 0;
      let mag = Math.abs(s);
      let err = 0;
      for (let i = 0; i < k; i++) {
        const wv = w[i * units + j];
        s += x.v[b * k + i] * wv;
        mag += Math.abs(wv) * (Math.abs(x.v[b * k + i]) + x.e[b * k + i]);
        err += Math.abs(wv) * x.e[b * k + i];
      }
      v[b * units + j] = s;
      e[b * units + j] = err + gamma * mag;
      m[b * units + j] = mag;
    }
  return withSlope({ shape: [n, units], v, e, m }, act);
}

export interface RefBn {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** BatchNorm over the last axis, then an optional activation. */
export function rtBatchNorm(x: RT, p: RefBn, act?: RefAct): RT {
  const c = x.shape[x.shape.length - 1];
  const v = new Float64Array(x.v.length);
  const e = new Float64Array(x.v.length);
  const m = new Float64Array(x.v.length);
  for (let i = 0; i < v.length; i++) {
    const ch = i % c;
    const s = p.gamma[ch] / Math.sqrt(p.variance[ch] + p.epsilon);
    const t = p.beta[ch] - p.mean[ch] * s;
    v[i] = s * x.v[i] + t;
    m[i] = Math.abs(s) * x.m[i] + Math.abs(t);
    e[i] = Math.abs(s) * x.e[i] + 4 * U * m[i];
  }
  return withSlope({ shape: x.shape, v, e, m }, act);
}

export function rtAct(x: RT, act: RefAct): RT {
  return actApply(x, act);
}

export function rtPool(x: RT, max: boolean, kernel: [number, number], strides: [number, number], pads: [number, number, number, number] = [0, 0, 0, 0], countIncludePad = false): RT {
  const [n, h, w, c] = x.shape;
  const [pt, pl, pb, pr] = pads;
  const oh = Math.floor((h + pt + pb - kernel[0]) / strides[0]) + 1;
  const ow = Math.floor((w + pl + pr - kernel[1]) / strides[1]) + 1;
  const size = n * oh * ow * c;
  const v = new Float64Array(size);
  const e = new Float64Array(size);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let bestE = 0;
          let sum = 0;
          let sumE = 0;
          let mag = 0;
          let count = 0;
          let padded = 0;
          for (let ky = 0; ky < kernel[0]; ky++)
            for (let kx = 0; kx < kernel[1]; kx++) {
              const iy = oy * strides[0] - pt + ky;
              const ix = ox * strides[1] - pl + kx;
              if (iy >= -pt && iy < h + pb && ix >= -pl && ix < w + pr) padded++;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const xi = ((b * h + iy) * w + ix) * c + ch;
              if (x.v[xi] > best) best = x.v[xi];
              bestE = Math.max(bestE, x.e[xi]);
              sum += x.v[xi];
              sumE += x.e[xi];
              mag += Math.abs(x.v[xi]) + x.e[xi];
              count++;
            }
          const i = ((b * oh + oy) * ow + ox) * c + ch;
          const div = countIncludePad ? padded : count;
          if (max) [v[i], e[i]] = [best, bestE];
          else {
            v[i] = sum / div;
            e[i] = sumE / div + ((count + 2) * U * mag) / div;
          }
        }
  return { shape: [n, oh, ow, c], v, e, m: v.map((q, i) => Math.abs(q) + e[i]) };
}

export function rtGlobalAvg(x: RT): RT {
  const [n, h, w, c] = x.shape;
  const p = rtPool(x, false, [h, w], [1, 1]);
  return { ...p, shape: [n, c] };
}

export function rtAdd(a: RT, b: RT): RT {
  const v = a.v.map((x, i) => x + b.v[i]);
  const e = v.map((x, i) => a.e[i] + b.e[i] + U * (Math.abs(x) + a.e[i] + b.e[i]));
  return { shape: a.shape, v, e, m: v.map((x, i) => Math.abs(x) + e[i]) };
}

/** Concatenation on the last axis. */
export function rtConcat(parts: RT[]): RT {
  const rows = parts[0].v.length / parts[0].shape[parts[0].shape.length - 1];
  const cs = parts.map((p) => p.shape[p.shape.length - 1]);
  const c = cs.reduce((a, b) => a + b, 0);
  const out = { shape: [...parts[0].shape.slice(0, -1), c], v: new Float64Array(rows * c), e: new Float64Array(rows * c), m: new Float64Array(rows * c) };
  for (let r = 0; r < rows; r++) {
    let off = 0;
    parts.forEach((p, k) => {
      for (let j = 0; j < cs[k]; j++) {
        out.v[r * c + off + j] = p.v[r * cs[k] + j];
        out.e[r * c + off + j] = p.e[r * cs[k] + j];
        out.m[r * c + off + j] = p.m[r * cs[k] + j];
      }
      off += cs[k];
    });
  }
  return out;
}

export function rtFlatten(x: RT): RT {
  return { ...x, shape: [x.shape[0], x.v.length / x.shape[0]] };
}

export function rtSoftmax(x: RT): RT {
  const n = x.shape[x.shape.length - 1];
  const rows = x.v.length / n;
  const v = new Float64Array(x.v.length);
  const e = new Float64Array(x.v.length);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    let maxE = 0;
    for (let j = 0; j < n; j++) {
      mx = Math.max(mx, x.v[r * n + j]);
      maxE = Math.max(maxE, x.e[r * n + j]);
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(x.v[r * n + j] - mx);
    for (let j = 0; j < n; j++) {
      const y = Math.exp(x.v[r * n + j] - mx) / sum;
      v[r * n + j] = y;
      e[r * n + j] = y * (Math.expm1(2 * maxE) + TRANSCENDENTAL_RTOL + (n + 4) * U);
    }
  }
  return { shape: x.shape, v, e, m: v.map((q, i) => q + e[i]) };
}

/** "" when every |got - v| <= e, else the worst elements (test/grid.ts's compare). */
export function compareRt(got: Float32Array, ref: RT, label = ""): string {
  return compare(got, ref.v, (i) => ref.e[i], label);
}

/** The worst |got - v| / e over the elements (how close the engine comes to its bound). */
export function worstRatio(got: Float32Array, ref: RT): number {
  let r = 0;
  for (let i = 0; i < got.length; i++) r = Math.max(r, Math.abs(got[i] - ref.v[i]) / ref.e[i]);
  return r;
}
