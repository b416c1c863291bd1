// Helpers that look at the engine's memory directly. Tests may use these internal handles: the
// engine's WebAssembly.Memory (engine.rt.heap.memory) and a tensor's byte offset (tensor.ptr).
import type { Engine, Tensor } from "../src/index.js";

/** A quiet NaN with a payload that no kernel produces: marks bytes that must not be written. */
export const SENTINEL = 0x7fc0dead;

export function memoryOf(e: Engine): WebAssembly.Memory {
  return (e as unknown as { rt: { heap: { memory: WebAssembly.Memory } } }).rt.heap.memory;
}

export function ptrOf(t: Tensor): number {
  return (t as unknown as { ptr: number }).ptr;
}

/** Bytes a tensor's allocation occupies (the allocator rounds up to 16). */
export function allocBytes(t: Tensor): number {
  return Math.max(16, Math.ceil(t.bytes / 16) * 16);
}

export function sentinelData(n: number): Float32Array {
  return new Float32Array(new Uint32Array(n).fill(SENTINEL).buffer);
}

/** A copy of every byte of the engine's memory. */
export function snapshot(e: Engine): Uint8Array {
  return new Uint8Array(memoryOf(e).buffer).slice();
}

/** Fills [start, end) of the memory (4-byte aligned) with the sentinel pattern. */
export function fillSentinel(e: Engine, start: number, end: number): void {
  new Uint32Array(memoryOf(e).buffer, start, (end - start) / 4).fill(SENTINEL);
}

export interface Range {
  start: number;
  end: number;
  what: string;
}

export function rangeOf(t: Tensor, what: string): Range {
  return { start: ptrOf(t), end: ptrOf(t) + t.bytes, what };
}

/**
 * Compares memory now with `before` over before's length; returns "" when every changed byte lies
 * in one of `allowed`, else where the first stray writes are and which known ranges they hit.
 */
export function strayWrites(e: Engine, before: Uint8Array, allowed: Range[], known: Range[] = []): string {
  const now = new Uint8Array(memoryOf(e).buffer);
  const stray: number[] = [];
  for (let i = 0; i < before.length; i++) {
    if (now[i] !== before[i] && !allowed.some((r) => i >= r.start && i < r.end)) {
      stray.push(i);
      if (stray.length > 64) break;
    }
  }
  if (stray.length === 0) return "";
  const where = (i: number) => known.find((r) => i >= r.start && i < r.end)?.what ?? "unallocated/other";
  return `${stray.length}${stray.length > 64 ? "+" : ""} bytes changed outside the output, first at ${stray
    .slice(0, 6)
    .map((i) => `${i} (${where(i)})`)
    .join(", ")}`;
}

/** Indices of elements of t that still hold the sentinel (were never written). */
export function unwritten(e: Engine, t: Tensor): number[] {
  const u = new Uint32Array(memoryOf(e).buffer, ptrOf(t), t.size);
  const idx: number[] = [];
  for (let i = 0; i < u.length; i++) if (u[i] === SENTINEL) idx.push(i);
  return idx;
}
