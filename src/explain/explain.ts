import { ArgumentError } from "../errors.js";
import type { Model } from "../graph/model.js";
import type { OutputActivation } from "../io/metadata.js";
import { type Baseline, BASELINES, DEFAULT_BASELINE } from "./baseline.js";
import { type InputGeometry, batchOf } from "./geometry.js";
import { occlusion } from "./occlusion.js";
import { type HotRegion, hotRegion, scoreResolution } from "./region.js";
import { scoreCam } from "./scorecam.js";
import { type Target, explainedScore } from "./score.js";

/** How the heat is found: occluding patches, or Score-CAM over the last convolutional layer's maps. */
export type Method = "occlusion" | "scorecam";
export const METHODS: readonly Method[] = ["occlusion", "scorecam"];

export interface ExplainOptions {
  /** Default occlusion. */
  method?: Method;
  /** Default DEFAULT_BASELINE. */
  baseline?: Baseline;
  /** Occlusion's patch sides in input pixels; default 1/8 and 1/4 of the shorter side. */
  patches?: readonly number[];
  /** Occlusion's stride; default half of each patch. */
  stride?: number;
  /** Variants per inference when the model's batch dimension is free. */
  batch: number;
}

export interface Explanation {
  method: Method;
  /** Over the model's input (geo's height x width), in units of the explained score: its drop or gain. */
  heat: Float32Array;
  /** The explained score of the sample. */
  score: number;
  target: Target;
  /** Score-CAM's layer (the tensor whose maps it used) and its channels (one masked copy each). */
  layer?: string;
  channels?: number;
  /** Peak, box and flatness, in the heat map's pixels. */
  region: HotRegion;
}

/** Occlusion's default patch sides: 1/8 and 1/4 of the input's shorter side. */
export function defaultPatches(geo: InputGeometry): number[] {
  const side = Math.min(geo.height, geo.width);
  return [...new Set([Math.max(1, Math.round(side / 8)), Math.max(1, Math.round(side / 4))])];
}

/**
 * Where in the sample the model found the evidence for class `cls`, measured on the score before
 * the model's final Softmax or Sigmoid (score.ts), never on a probability.
 */
export function explain(model: Model, input: Float32Array, geo: InputGeometry, output: OutputActivation, cls: number, opts: ExplainOptions): Explanation {
  const { method = "occlusion", baseline = DEFAULT_BASELINE } = opts;
  if (!METHODS.includes(method)) throw new ArgumentError(`explain: method must be ${METHODS.join(" or ")}, got ${String(method)}`);
  if (!BASELINES.includes(baseline)) throw new ArgumentError(`explain: baseline must be ${BASELINES.join(", ")}, got ${String(baseline)}`);
  const target = explainedScore(model, output);
  const e = { model, geo, input, target, cls, batch: batchOf(model, geo, opts.batch) };
  const result = method === "scorecam"
    ? scoreCam(e, baseline)
    : occlusion(e, { patches: opts.patches ?? defaultPatches(geo), stride: opts.stride, baseline });
  const region = hotRegion(result.heat, geo.width, geo.height, scoreResolution(result.score));
  return { method, ...result, target, region };
}
