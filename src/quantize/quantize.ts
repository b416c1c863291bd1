// Static quantization of a float ONNX model end to end: plan which tensors are quantized,
// calibrate their ranges by running the float model on sample inputs, write the QDQ graph, in as
// few bytes as its values allow.
import type { Model } from "../graph/model.js";
import type { OnnxModel } from "../onnx/model.js";
import { type CalibrationOptions, calibrate } from "./calibrate.js";
import { compactModel } from "./compact.js";
import type { ActivationType } from "./params.js";
import { type QuantizationPlan, planQuantization, writeQdq } from "./qdq.js";

export interface QuantizeOptions extends CalibrationOptions {
  /** The activations' 8-bit type (default uint8, which onnxruntime's x86 kernels prefer). */
  activations?: ActivationType;
}

/** What was quantized: weighted ops and quantized activation tensors. */
export interface QuantizeSummary {
  ops: number;
  activations: number;
}

/**
 * `onnx` (the decoded float model that `model` was loaded from) in the QDQ format, calibrated on
 * `samples`, each one input item without the batch dimension.
 */
export function quantizeModel(
  model: Model, onnx: OnnxModel, samples: readonly Float32Array[], options: QuantizeOptions = {}, plan: QuantizationPlan = planQuantization(onnx),
): { model: OnnxModel; summary: QuantizeSummary } {
  const ranges = calibrate(model, samples, plan.ranges, options);
  return { model: compactModel(writeQdq(plan, ranges, options.activations ?? "uint8")), summary: { ops: plan.weighted.size, activations: plan.sources.size } };
}
