import { ArgumentError } from "../errors.js";
import type { InputGeometry } from "./geometry.js";

/**
 * What replaces hidden evidence. `mean` (the default) fills with each channel's mean over the
 * sample: an intensity the slice has, whatever the input normalisation, and no structure of its
 * own. On the phantom it pointed at the lesion more often than blur and a little less often than
 * zero (README), but zero's meaning changes with the model's normalisation, mean's does not. `blur`
 * is the sample blurred with a Gaussian of sigma = 1/8 of its shorter side: the local brightness
 * stays, but bright edges (a body's fat rim) smear into the patch, which a detector of bright
 * spots can read as evidence. `zero` is 0 in the model's input: black after 0..1 scaling (a hole
 * in tissue no training image had), the data set's mean after z-score normalisation.
 */
export type Baseline = "blur" | "mean" | "zero";
export const BASELINES: readonly Baseline[] = ["blur", "mean", "zero"];
export const DEFAULT_BASELINE: Baseline = "mean";

/** The baseline image for `input` (one sample in geo's layout), same size and layout. */
export function baselineImage(input: Float32Array, geo: InputGeometry, kind: Baseline): Float32Array {
  const { channels: c, height: h, width: w } = geo;
  const plane = h * w;
  if (input.length !== c * plane) throw new ArgumentError(`baseline: the sample holds ${input.length} values, expected ${c * plane}`);
  if (kind === "zero") return new Float32Array(input.length);
  const at = geo.layout === "NCHW" ? (ch: number, i: number) => ch * plane + i : (ch: number, i: number) => i * c + ch;
  const out = new Float32Array(input.length);
  const channel = new Float64Array(plane);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < plane; i++) channel[i] = input[at(ch, i)];
    if (kind === "mean") {
      let sum = 0;
      for (const v of channel) sum += v;
      for (let i = 0; i < plane; i++) out[at(ch, i)] = sum / plane;
      continue;
    }
    const blurred = gaussianBlur(channel, w, h, Math.min(w, h) / 8);
    for (let i = 0; i < plane; i++) out[at(ch, i)] = blurred[i];
  }
  return out;
}

/**
 * Separable Gaussian blur; at the borders the kernel is cut to the image and renormalised, so a
 * flat image stays flat (no darkening from an assumed zero outside).
 */
export function gaussianBlur(src: Float64Array, w: number, h: number, sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const pass = (from: Float64Array, n: number, lines: number, step: number, stride: number) => {
    const to = new Float64Array(from.length);
    for (let l = 0; l < lines; l++) {
      for (let i = 0; i < n; i++) {
        let sum = 0;
        let weight = 0;
        for (let j = Math.max(0, i - r); j <= Math.min(n - 1, i + r); j++) {
          sum += k[j - i + r] * from[l * stride + j * step];
          weight += k[j - i + r];
        }
        to[l * stride + i * step] = sum / weight;
      }
    }
    return to;
  };
  return pass(pass(src, w, h, 1, w), h, w, w, 1);
}
