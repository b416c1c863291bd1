import { ArgumentError } from "../errors.js";
import { iou } from "./box.js";
import type { Candidate } from "./decode.js";

export interface SuppressionOptions {
  /** A box is dropped when its IoU with a kept box of its class is above this. */
  iou: number;
  /** The most boxes kept per slice, over all classes. */
  maxBoxes: number;
}

/** Highest score first; equal scores by class, then by row, so that the order never depends on the sort. */
export function byScore(a: Candidate, b: Candidate): number {
  return b.score - a.score || a.class - b.class || a.index - b.index;
}

/**
 * Greedy per-class non-maximum suppression: in order of score (byScore), a candidate is kept
 * unless it overlaps a kept box of its own class by IoU above `o.iou`; at most `o.maxBoxes` boxes
 * are kept. Returns the kept candidates in that order. Deterministic: IoU is computed in float64,
 * and the order is total.
 */
export function suppress(found: readonly Candidate[], o: SuppressionOptions): Candidate[] {
  if (!(o.iou >= 0 && o.iou <= 1)) throw new ArgumentError(`suppress: iou must be in 0..1, got ${o.iou}`);
  if (!(Number.isSafeInteger(o.maxBoxes) && o.maxBoxes > 0)) throw new ArgumentError(`suppress: maxBoxes must be a positive integer, got ${o.maxBoxes}`);
  const kept: Candidate[] = [];
  const keptByClass = new Map<number, Candidate[]>();
  for (const c of [...found].sort(byScore)) {
    if (kept.length === o.maxBoxes) break;
    const same = keptByClass.get(c.class) ?? [];
    if (same.some((k) => iou(k.box, c.box) > o.iou)) continue;
    same.push(c);
    keptByClass.set(c.class, same);
    kept.push(c);
  }
  return kept;
}
