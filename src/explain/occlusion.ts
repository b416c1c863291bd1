import { ArgumentError } from "../errors.js";
import type { Model } from "../graph/model.js";

export interface OcclusionOptions {
  /** Side of the square patch, in input pixels. */
  patch: number;
  /** Step between patch positions, in input pixels. */
  stride: number;
  /** Occluded copies per inference (1 when the model's batch dimension is fixed). */
  batch: number;
}

/** Where the input sample sits: one image of the model's input, in its layout. */
export interface InputGeometry {
  name: string;
  layout: "NCHW" | "NHWC";
  channels: number;
  height: number;
  width: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface OcclusionResult {
  /** Mean drop of the class's score when a patch covers each input pixel (height x width). */
  heat: Float32Array;
  /** The region of the largest drops: pixels within half of the maximum, connected to it. */
  box: Box | null;
  /** The class's score on the unoccluded input. */
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
 * Occlusion sensitivity: slides a patch filled with the sample's per-channel mean over the input
 * and records how much the score of class `cls` drops, running many occluded copies per
 * inference. It needs no gradients, so it works with any classifier.
 */
export function occlusion(
  model: Model,
  input: Float32Array,
  geo: InputGeometry,
  scores: (output: Float32Array) => Float32Array,
  cls: number,
  opts: OcclusionOptions,
): OcclusionResult {
  const { channels: c, height: h, width: w } = geo;
  const plane = h * w;
  if (input.length !== c * plane) throw new ArgumentError(`occlusion: the sample holds ${input.length} values, expected ${c * plane}`);
  for (const [k, v] of Object.entries(opts)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new ArgumentError(`occlusion: ${k} must be a positive integer, got ${v}`);
  }
  const at = geo.layout === "NCHW" ? (ch: number, i: number) => ch * plane + i : (ch: number, i: number) => i * c + ch;
  const mean = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += input[at(ch, i)];
    mean[ch] = sum / plane;
  }
  const outName = model.outputs[0].name;
  const classes = (out: Float32Array, n: number) => out.length / n;
  const patch = Math.min(opts.patch, h, w);
  const positions = origins(h, patch, opts.stride).flatMap((y) => origins(w, patch, opts.stride).map((x) => [y, x] as const));
  const fixedBatch = model.inputs.find((i) => i.name === geo.name)?.shape[0];
  const batch = typeof fixedBatch === "number" ? fixedBatch : opts.batch;
  const heat = new Float64Array(plane);
  const count = new Uint32Array(plane);
  const data = new Float32Array(batch * input.length);
  for (let b = 0; b < batch; b++) data.set(input, b * input.length);
  const base = model.run({ [geo.name]: data })[outName];
  const score = scores(base.subarray(0, classes(base, batch)))[cls];

  for (let start = 0; start < positions.length; start += batch) {
    const n = Math.min(batch, positions.length - start);
    for (let b = 0; b < n; b++) {
      const copy = data.subarray(b * input.length, (b + 1) * input.length);
      copy.set(input);
      const [y0, x0] = positions[start + b];
      for (let y = y0; y < y0 + patch; y++) {
        for (let x = x0; x < x0 + patch; x++) for (let ch = 0; ch < c; ch++) copy[at(ch, y * w + x)] = mean[ch];
      }
    }
    // A short last chunk is padded with the unoccluded sample: one batch size, one memory plan.
    for (let b = n; b < batch; b++) data.set(input, b * input.length);
    const out = model.run({ [geo.name]: data })[outName];
    const k = classes(out, batch);
    for (let b = 0; b < n; b++) {
      const drop = score - scores(out.subarray(b * k, (b + 1) * k))[cls];
      const [y0, x0] = positions[start + b];
      for (let y = y0; y < y0 + patch; y++) {
        for (let x = x0; x < x0 + patch; x++) {
          heat[y * w + x] += drop;
          count[y * w + x]++;
        }
      }
    }
  }
  const map = Float32Array.from(heat, (v, i) => (count[i] ? v / count[i] : 0));
  return { heat: map, box: hottestRegion(map, w, h), score };
}

/** Bounding box of the pixels at or above half the maximum that connect (4-way) to it. */
function hottestRegion(heat: Float32Array, w: number, h: number): Box | null {
  let best = 0;
  for (let i = 1; i < heat.length; i++) if (heat[i] > heat[best]) best = i;
  const max = heat[best];
  if (!(max > 0)) return null;
  const seen = new Uint8Array(heat.length);
  const stack = [best];
  seen[best] = 1;
  let [x0, y0, x1, y1] = [w, h, -1, -1];
  while (stack.length) {
    const i = stack.pop()!;
    const x = i % w;
    const y = (i - x) / w;
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
    for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
      const j = ny * w + nx;
      if (nx >= 0 && ny >= 0 && nx < w && ny < h && !seen[j] && heat[j] >= max / 2) {
        seen[j] = 1;
        stack.push(j);
      }
    }
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}
