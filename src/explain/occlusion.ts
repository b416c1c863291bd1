import { ArgumentError } from "../errors.js";
import { type Baseline, baselineImage } from "./baseline.js";
import { type Explained, checkSample, scoreVariants } from "./geometry.js";

export interface OcclusionOptions {
  /** Patch sides in input pixels, one map each; the heat is their mean (small patches place, large ones catch evidence no small patch hides whole). */
  patches: readonly number[];
  /** Step between patch positions, in input pixels; default half of each patch. */
  stride?: number;
  /** What a patch shows instead of the sample (see baseline.ts). */
  baseline: Baseline;
}

/** A heat map over the model's input (height x width), in units of the explained score. */
export interface Heat {
  heat: Float32Array;
  /** The explained score of the unaltered sample. */
  score: number;
}

/** Patch origins along one axis: every stride, plus one flush with the far edge. */
function origins(size: number, patch: number, stride: number): number[] {
  const last = Math.max(size - patch, 0);
  const out: number[] = [];
  for (let p = 0; p < last; p += stride) out.push(p);
  out.push(last);
  return out;
}

/**
 * Occlusion sensitivity: for each patch size, a patch showing the baseline slides over the
 * sample and every pixel gets the mean drop of the explained score over the patches covering
 * it; the heat is the mean over patch sizes. Every position is one sample of a batched run. It
 * needs no gradients, so it works with any model.
 */
export function occlusion(e: Explained, opts: OcclusionOptions): Heat {
  checkSample(e);
  const { layout, channels: c, height: h, width: w } = e.geo;
  if (!Array.isArray(opts.patches) || opts.patches.length === 0) throw new ArgumentError("occlusion: patches must list at least one patch size");
  for (const v of [...opts.patches, ...(opts.stride === undefined ? [] : [opts.stride])]) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new ArgumentError(`occlusion: patch sizes and the stride must be positive integers, got ${v}`);
  }
  const plane = h * w;
  const at = layout === "NCHW" ? (ch: number, i: number) => ch * plane + i : (ch: number, i: number) => i * c + ch;
  const base = baselineImage(e.input, e.geo, opts.baseline);
  // Every patch of every size, and first the unaltered sample, in one stream of full batches.
  const patches = opts.patches.flatMap((side, scale) => {
    const patch = Math.min(side, h, w);
    const stride = opts.stride ?? Math.max(1, Math.ceil(patch / 2));
    return origins(h, patch, stride).flatMap((y0) => origins(w, patch, stride).map((x0) => ({ scale, patch, y0, x0 })));
  });
  const scores = scoreVariants(e, 1 + patches.length, (i, into) => {
    into.set(e.input);
    if (i === 0) return;
    const { patch, y0, x0 } = patches[i - 1];
    for (let y = y0; y < y0 + patch; y++) {
      for (let x = x0; x < x0 + patch; x++) for (let ch = 0; ch < c; ch++) into[at(ch, y * w + x)] = base[at(ch, y * w + x)];
    }
  });
  const score = scores[0];
  const heat = new Float64Array(plane);
  for (let scale = 0; scale < opts.patches.length; scale++) {
    const sum = new Float64Array(plane);
    const count = new Uint32Array(plane);
    patches.forEach(({ scale: s, patch, y0, x0 }, i) => {
      if (s !== scale) return;
      for (let y = y0; y < y0 + patch; y++) {
        for (let x = x0; x < x0 + patch; x++) {
          sum[y * w + x] += score - scores[i + 1];
          count[y * w + x]++;
        }
      }
    });
    for (let i = 0; i < plane; i++) heat[i] += sum[i] / count[i] / opts.patches.length;
  }
  return { heat: Float32Array.from(heat), score };
}
