import type { Engine } from "../engine.js";
import type { OutputActivation } from "../io/metadata.js";

export interface Prediction {
  label: string;
  probability: number;
}

/**
 * Outputs to probabilities as the model's settings say, through the engine's own softmax or
 * sigmoid, so that the numbers are the same in every JavaScript engine.
 */
export function probabilities(engine: Engine, output: OutputActivation): (logits: Float32Array) => Float32Array {
  if (output === "logits") return (l) => l;
  return (l) => {
    const t = engine.tensor(Float32Array.from(l), [1, l.length]);
    const p = output === "softmax" ? engine.softmax(t) : engine.sigmoid(t);
    const out = p.toArray();
    t.dispose();
    p.dispose();
    return out;
  };
}

/** Every class with its score, best first; unnamed classes are class_0, class_1, … */
export function ranked(scores: Float32Array, labels: readonly string[] | undefined): Prediction[] {
  return [...scores].map((p, i) => ({ label: labels?.[i] ?? `class_${i}`, probability: p })).sort((a, b) => b.probability - a.probability);
}

/** A heat map scaled to 0..1 by its largest value (rises in score count as 0). */
export function unitHeat(heat: Float32Array): Float32Array {
  let max = 0;
  for (const v of heat) max = Math.max(max, v);
  return heat.map((v) => (max > 0 ? Math.max(0, v) / max : 0));
}
