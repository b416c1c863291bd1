// Calibration: the range of each tensor to quantize, over the float model's runs on sample inputs,
// read as intermediate outputs of the model itself. Min-max takes the extremes; the percentile
// method drops the rarest values at each end (outliers that would otherwise stretch the scale
// for every other value), from a histogram built in a second pass over the samples.
import { ArgumentError, UnsupportedError } from "../errors.js";
import { type Model, outputFloats } from "../graph/model.js";
import type { Range } from "./qdq.js";

export interface CalibrationOptions {
  /** Drop each tensor's largest and smallest (100 - percentile)% of values (e.g. 99.99); default: min-max. */
  percentile?: number;
  /** Samples per run when the model's batch dimension is not fixed (default 8). */
  batch?: number;
}

/** Histogram bins per tensor for the percentile method. */
const BINS = 2048;

/**
 * The range of every tensor in `tensors` over the model's runs on `samples`, each one input item
 * (the model's single input without its batch dimension).
 */
export function calibrate(model: Model, samples: readonly Float32Array[], tensors: readonly string[], options: CalibrationOptions = {}): Map<string, Range> {
  const p = options.percentile;
  if (p !== undefined && !(p > 50 && p <= 100)) throw new ArgumentError(`percentile must be above 50 and at most 100, got ${p}`);
  if (model.inputs.length !== 1) throw new UnsupportedError(`calibration feeds one input; this model takes ${model.inputs.length}`);
  if (samples.length === 0) throw new ArgumentError("calibration needs at least one sample");
  const input = model.inputs[0];
  const size = samples[0].length;
  const bad = samples.findIndex((s) => s.length !== size);
  if (bad >= 0) throw new ArgumentError(`calibration sample ${bad} has ${samples[bad].length} values; sample 0 has ${size}, and every sample must have the model input's size`);
  const fixed = typeof input.shape[0] === "number" ? input.shape[0] : undefined;
  const batch = fixed ?? options.batch ?? 8;
  // A short last batch is padded with copies of its first sample (the model keeps one plan);
  // only the real samples' share of each output is counted.
  const each = (visit: (name: string, values: Float32Array) => void) => {
    for (let s = 0; s < samples.length; s += batch) {
      const n = Math.min(batch, samples.length - s);
      const data = new Float32Array(batch * size);
      for (let i = 0; i < batch; i++) data.set(samples[s + Math.min(i, n - 1)], i * size);
      const out = model.run({ [input.name]: data }, { outputs: tensors });
      for (const name of tensors) {
        const v = outputFloats(out[name]);
        visit(name, v.subarray(0, (v.length / batch) * n));
      }
    }
  };
  const ranges = new Map<string, Range>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  each((name, v) => {
    const r = ranges.get(name)!;
    for (const x of v) {
      if (x < r.min) r.min = x;
      if (x > r.max) r.max = x;
    }
  });
  if (p === undefined || p === 100) return ranges;
  const hist = new Map(tensors.map((t) => [t, new Float64Array(BINS)]));
  each((name, v) => {
    const { min, max } = ranges.get(name)!;
    const h = hist.get(name)!;
    const k = max > min ? BINS / (max - min) : 0;
    for (const x of v) h[Math.min(BINS - 1, Math.floor((x - min) * k))]++;
  });
  return new Map(tensors.map((t) => [t, percentileRange(hist.get(t)!, ranges.get(t)!, p)]));
}

/** The bin edges that drop at most (100 - p)% of the counts at each end. */
function percentileRange(h: Float64Array, { min, max }: Range, p: number): Range {
  const total = h.reduce((a, b) => a + b, 0);
  const drop = Math.floor((total * (100 - p)) / 100);
  const edge = (b: number) => min + ((max - min) * b) / BINS;
  let lo = 0;
  for (let seen = 0; lo < BINS - 1 && seen + h[lo] <= drop; lo++) seen += h[lo];
  let hi = BINS - 1;
  for (let seen = 0; hi > lo && seen + h[hi] <= drop; hi--) seen += h[hi];
  return { min: lo === 0 ? min : edge(lo), max: hi === BINS - 1 ? max : edge(hi + 1) };
}
