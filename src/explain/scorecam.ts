import { UnsupportedError } from "../errors.js";
import { type Model, asFloats } from "../graph/model.js";
import { resize } from "../io/preprocess.js";
import { type Baseline, baselineImage } from "./baseline.js";
import { type Explained, checkSample, scoreVariants } from "./geometry.js";
import type { Heat } from "./occlusion.js";

/** Elementwise nodes a convolution's maps pass through before the next layer reads them. */
const MAP_ACTIVATIONS = new Set(["Relu", "LeakyRelu", "Clip", "BatchNormalization", "PRelu", "Elu", "Sigmoid", "Tanh"]);

/**
 * The convolutional layers whose maps Score-CAM may use, last first: each Conv's output followed
 * through the activations (and BatchNorm) that only it feeds, so the maps are what the next layer
 * reads.
 */
export function convLayers(model: Model): string[] {
  const readers = new Map<string, number>();
  for (const n of model.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const byInput = new Map(model.nodes.map((n) => [n.inputs[0], n] as const));
  const out: string[] = [];
  for (const n of model.nodes) {
    if (n.op !== "Conv") continue;
    let name = n.outputs[0];
    for (let next = byInput.get(name); next && MAP_ACTIVATIONS.has(next.op) && readers.get(name) === 1; next = byInput.get(name)) name = next.outputs[0];
    out.push(name);
  }
  return out.reverse();
}

/**
 * Score-CAM (Wang et al., 2020) over the last convolutional layer with more than one map pixel:
 * each channel's map, upsampled to the input (bilinear) and scaled to 0..1, is a mask that shows
 * the sample where it is high and the baseline elsewhere; the channel's weight is how much that
 * raises the explained score over the baseline alone, and the heat is the weighted sum of the
 * masks (so it is in score units, like occlusion's). Forward passes only, one per channel,
 * batched. The weights are the score gains themselves, not their softmax as in the paper: on an
 * unbounded score a softmax keeps only the largest channel.
 */
export function scoreCam(e: Explained, baseline: Baseline): Heat & { layer: string; channels: number } {
  checkSample(e);
  const { model, geo } = e;
  const { layout, channels: c, height: h, width: w } = geo;
  const plane = h * w;
  const at = layout === "NCHW" ? (ch: number, i: number) => ch * plane + i : (ch: number, i: number) => i * c + ch;
  const data = new Float32Array(e.batch * e.input.length);
  for (let b = 0; b < e.batch; b++) data.set(e.input, b * e.input.length);
  let found: { layer: string; maps: Float32Array; k: number; mh: number; mw: number } | undefined;
  for (const layer of convLayers(model)) {
    const maps = asFloats(model.run({ [geo.name]: data }, { outputs: [layer] })[layer]);
    const shape = model.outputShapes[layer];
    if (shape.length === 4 && shape[2] * shape[3] > 1) {
      found = { layer, maps: maps.subarray(0, maps.length / e.batch), k: shape[1], mh: shape[2], mw: shape[3] };
      break;
    }
  }
  if (!found) throw new UnsupportedError("Score-CAM needs a convolutional layer whose maps are larger than 1 x 1; this model has none (use occlusion)");
  const { layer, maps, k, mh, mw } = found;
  const mask = (ch: number): Float32Array | undefined => {
    const up = resize(maps.slice(ch * mh * mw, (ch + 1) * mh * mw), mw, mh, 1, w, h, "bilinear");
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of up) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // A constant map shows nothing of where: no mask.
    if (!(hi > lo)) return undefined;
    return up.map((v) => (v - lo) / (hi - lo));
  };
  const base = baselineImage(e.input, geo, baseline);
  // The sample, the baseline, then one masked copy per channel, in one stream of full batches.
  const scores = scoreVariants(e, 2 + k, (v, into) => {
    if (v < 2) return into.set(v === 0 ? e.input : base);
    const m = mask(v - 2);
    if (!m) return into.set(base);
    for (let i = 0; i < plane; i++) for (let j = 0; j < c; j++) into[at(j, i)] = base[at(j, i)] + m[i] * (e.input[at(j, i)] - base[at(j, i)]);
  });
  const [score, baseScore] = scores;
  const heat = new Float64Array(plane);
  // The masks are made again rather than kept: k of them at input size can be hundreds of MB.
  for (let ch = 0; ch < k; ch++) {
    const m = mask(ch);
    if (!m) continue;
    const g = scores[2 + ch] - baseScore;
    for (let i = 0; i < plane; i++) heat[i] += g * m[i];
  }
  return { heat: Float32Array.from(heat), score, layer, channels: k };
}
