import { UnsupportedError } from "../errors.js";
import type { Model } from "../graph/model.js";
import type { OutputActivation } from "../io/metadata.js";

/**
 * What an explanation measures: a tensor of the graph, asked of the model by name, and how one
 * sample's values of it give the explained class's score. Never a probability: a confident
 * model's probability is 1.0 in float32 with or without the evidence, so its drop says nothing.
 */
export interface Target {
  tensor: string;
  /**
   * - `log-odds`: the tensor holds softmax logits z; the score of class c is
   *   z_c - log(sum_{j != c} exp z_j), the log-odds log(p_c / (1 - p_c)). It is monotone in
   *   p_c, linear in z_c, for two classes exactly z_1 - z_0, and does not saturate.
   * - `logit`: the tensor holds the logit itself (the input of a final Sigmoid), the score is z_c.
   * - `raw`: no final Softmax or Sigmoid was found and the settings name none: the output as it is.
   */
  kind: "log-odds" | "logit" | "raw";
  /** One line for the output: what the heat is a drop of. */
  description: string;
}

/** Nodes that only reshape: the class axis keeps its values and order through them. */
const SHAPE_ONLY = new Set(["Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze", "Dropout"]);

/**
 * The score an explanation of `model` measures: the input of the model's final Softmax or
 * Sigmoid, found by walking back from its first output through shape-only nodes; when the graph
 * ends without one, the output itself read as `output` (the model's settings) says.
 */
export function explainedScore(model: Model, output: OutputActivation): Target {
  const producer = new Map(model.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const out = model.outputs[0].name;
  let name = out;
  for (let n = producer.get(name); n; n = producer.get(name)) {
    if (n.op === "Softmax" || n.op === "LogSoftmax") {
      return { tensor: n.inputs[0], kind: "log-odds", description: `log-odds of the class from the logits '${n.inputs[0]}' before the model's ${n.op}` };
    }
    if (n.op === "Sigmoid") return { tensor: n.inputs[0], kind: "logit", description: `logit '${n.inputs[0]}' before the model's Sigmoid` };
    if (!SHAPE_ONLY.has(n.op)) break;
    name = n.inputs[0];
  }
  if (output === "softmax") return { tensor: out, kind: "log-odds", description: `log-odds of the class from the logits '${out}' (softmax applied outside the graph)` };
  if (output === "sigmoid") return { tensor: out, kind: "logit", description: `logit '${out}' (sigmoid applied outside the graph)` };
  return { tensor: out, kind: "raw", description: `output '${out}' as it is (no final Softmax or Sigmoid found)` };
}

/** The score of class `cls` from one sample's values of the target tensor. */
export function scoreOf(target: Target, values: Float32Array, cls: number): number {
  if (!(cls >= 0 && cls < values.length)) {
    throw new UnsupportedError(`the explained tensor '${target.tensor}' holds ${values.length} values per sample; class ${cls} is not among them`);
  }
  if (target.kind !== "log-odds" || values.length === 1) return values[cls];
  // log-sum-exp of the other classes in float64, shifted by their maximum.
  let max = -Infinity;
  for (let j = 0; j < values.length; j++) if (j !== cls) max = Math.max(max, values[j]);
  let sum = 0;
  for (let j = 0; j < values.length; j++) if (j !== cls) sum += Math.exp(values[j] - max);
  return values[cls] - (max + Math.log(sum));
}
