// Shared machinery of the network-level tests (onnx-models, layers, graph): a small graph builder
// over test/onnx-builder.ts with He-scaled random weights (so that activations stay O(1) through
// a deep stack and an absolute tolerance means the same thing at every depth), and the harness that
// runs one ONNX model in onnxruntime-web and in both simdcnn builds, fused and unfused, and
// reports every disagreement.
import { expect } from "vitest";
import type { Engine, Model } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { BACKENDS, type BackendName, compare, compareBits } from "./grid.js";
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
    const got: Partial<Record<BackendName, Record<string, Float32Array>[]>> = {};
    for (const backend of BACKENDS) {
      let model: Model | undefined;
      try {
        model = await E[backend].loadOnnx(c.bytes, { optimize });
        const runs: Record<string, Float32Array>[] = [];
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
