import { type ExecGraph, type Value, rootOf, sizeOfShape, stepInputs } from "./ir.js";

export interface ArenaPlan {
  /** Byte offset in the arena of every planned value's root. */
  offsets: Map<Value, number>;
  /** Bytes the arena needs. */
  bytes: number;
  /** Bytes every planned value would need without reuse. */
  naiveBytes: number;
}

const ALIGN = 16;

/**
 * Gives every arena value an offset from its lifetime (first write to last read, aliases
 * counted as their root): values whose lifetimes overlap never share bytes, others may. Greedy
 * by size, largest first, each at the lowest offset that fits between the values already placed
 * that are live at the same time (the arena planner of TFLite works this way).
 */
export function planArena(g: ExecGraph): ArenaPlan {
  const first = new Map<Value, number>();
  const last = new Map<Value, number>();
  const touch = (v: Value, i: number) => {
    const r = rootOf(v);
    if (r.storage !== "arena") return;
    if (!first.has(r) || i < first.get(r)!) first.set(r, i);
    if (!last.has(r) || i > last.get(r)!) last.set(r, i);
  };
  g.steps.forEach((s, i) => {
    for (const v of stepInputs(s)) touch(v, i);
    touch(s.y, i);
  });
  for (const o of g.outputs) {
    touch(o.value, g.steps.length);
    if (o.count) touch(o.count.value, g.steps.length);
  }

  const values = [...first.keys()].sort((a, b) => sizeOfShape(b.shape) - sizeOfShape(a.shape) || a.id - b.id);
  const placed: { v: Value; start: number; end: number; lo: number; hi: number }[] = [];
  const offsets = new Map<Value, number>();
  let bytes = 0;
  let naiveBytes = 0;
  for (const v of values) {
    const size = Math.ceil((sizeOfShape(v.shape) * 4) / ALIGN) * ALIGN;
    naiveBytes += size;
    const lo = first.get(v)!;
    const hi = last.get(v)!;
    const busy = placed.filter((p) => p.lo <= hi && lo <= p.hi).sort((a, b) => a.start - b.start);
    let offset = 0;
    for (const p of busy) {
      if (offset + size <= p.start) break;
      offset = Math.max(offset, p.end);
    }
    placed.push({ v, start: offset, end: offset + size, lo, hi });
    offsets.set(v, offset);
    bytes = Math.max(bytes, offset + size);
  }
  return { offsets, bytes, naiveBytes };
}
