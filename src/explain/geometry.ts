import { ArgumentError } from "../errors.js";
import { type Model, asFloats } from "../graph/model.js";
import { type Target, scoreOf } from "./score.js";

/** Where the input sample sits: one image of the model's input, in its layout. */
export interface InputGeometry {
  name: string;
  layout: "NCHW" | "NHWC";
  channels: number;
  height: number;
  width: number;
}

/** One explanation's fixed parts: the model, its input, the score explained and the batch size. */
export interface Explained {
  model: Model;
  geo: InputGeometry;
  /** One sample, in geo's layout. */
  input: Float32Array;
  target: Target;
  cls: number;
  /** Samples per inference (the model's own batch size when it is fixed). */
  batch: number;
}

/** The explanation's batch: the model's fixed batch dimension, else the one asked for. */
export function batchOf(model: Model, geo: InputGeometry, asked: number): number {
  if (!Number.isSafeInteger(asked) || asked <= 0) throw new ArgumentError(`explain: batch must be a positive integer, got ${asked}`);
  const fixed = model.inputs.find((i) => i.name === geo.name)?.shape[0];
  return typeof fixed === "number" ? fixed : asked;
}

export function checkSample(e: Explained): void {
  const { channels: c, height: h, width: w } = e.geo;
  if (e.input.length !== c * h * w) throw new ArgumentError(`explain: the sample holds ${e.input.length} values, expected ${c * h * w}`);
}

/**
 * Scores `count` variants of the sample, `batch` per inference: fill(i, into) writes variant i.
 * A short last batch is padded with the sample itself, so the model keeps one memory plan.
 */
export function scoreVariants(e: Explained, count: number, fill: (i: number, into: Float32Array) => void): Float64Array {
  const size = e.input.length;
  const data = new Float32Array(e.batch * size);
  const scores = new Float64Array(count);
  for (let start = 0; start < count; start += e.batch) {
    const n = Math.min(e.batch, count - start);
    for (let b = 0; b < n; b++) fill(start + b, data.subarray(b * size, (b + 1) * size));
    for (let b = n; b < e.batch; b++) data.set(e.input, b * size);
    const out = asFloats(e.model.run({ [e.geo.name]: data }, { outputs: [e.target.tensor] })[e.target.tensor]);
    const k = out.length / e.batch;
    for (let b = 0; b < n; b++) scores[start + b] = scoreOf(e.target, out.subarray(b * k, (b + 1) * k), e.cls);
  }
  return scores;
}
