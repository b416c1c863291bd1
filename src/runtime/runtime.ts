import { ArgumentError, DisposedError, ShapeError } from "../errors.js";
import type { Heap } from "./heap.js";
import { type Call, type Kernels, positional } from "./kernels.js";
import type { Backend } from "./load.js";
import { Tensor, sizeOf } from "./tensor.js";
import type { ThreadPool } from "./threads.js";

// Below this many multiply-adds a kernel call stays on one thread: waking the workers costs more
// than they save: LeNet's second convolution (154K) ran slower split (bench/threads.ts).
const PARALLEL_MIN_WORK = 1 << 18;

/**
 * The same for the memory-bound kernels (pooling, elementwise, softmax), in elements read (window
 * taps for pooling, elements times a cost factor for softmax's exp). One thread reads 2^16
 * elements (relu, add, a max pool's taps) in 0.7-0.9 times the time of 2^18 multiply-adds of a
 * convolution, so twice that is at least the time below which a convolution does not gain;
 * memory-bound work also gains less than compute from a second core.
 */
export const PARALLEL_MIN_ELEMENTS = 1 << 17;

/** What every op needs: the kernels, the memory they work on, threads, and tensor bookkeeping. */
export class Runtime {
  constructor(
    readonly kernels: Kernels,
    readonly heap: Heap,
    readonly backend: Backend,
    readonly pool?: ThreadPool,
  ) {}

  /** Threads a dispatch may use. */
  get threads(): number {
    return this.pool?.size ?? 1;
  }

  /**
   * Splits [0, total) into one contiguous range per thread (fewer when `work`, in multiply-adds
   * or the unit `minWork` is given in, is below `minWork`), with boundaries on multiples of
   * `grain`.
   */
  ranges(total: number, work: number, grain = 1, minWork = PARALLEL_MIN_WORK): [number, number][] {
    const parts = work < minWork ? 1 : Math.min(this.threads, Math.ceil(total / grain));
    const units = Math.ceil(total / grain);
    const out: [number, number][] = [];
    for (let p = 0; p < parts; p++) {
      const a = Math.min(total, Math.floor((units * p) / parts) * grain);
      const b = Math.min(total, Math.floor((units * (p + 1)) / parts) * grain);
      if (b > a) out.push([a, b]);
    }
    return out;
  }

  /** Runs kernel calls that write disjoint memory: on the pool when there are several. */
  dispatch(calls: Call[], what: string): void {
    // A snapshot, so that an op reusing its call objects could not change what was recorded.
    this.recording?.push({ calls: calls.map((c) => ({ fn: c.fn, args: { ...c.args } }) as Call), what });
    if (calls.length > 1 && this.pool) {
      this.pool.run(calls, what);
      return;
    }
    for (const c of calls) (this.kernels[c.fn] as (...a: number[]) => void)(...positional(c));
  }

  /** The dispatches of the `record` in progress. */
  private recording: { calls: Call[]; what: string }[] | undefined;

  /**
   * Runs `fn` once and returns a closure that makes the same kernel calls again, in order, with
   * none of `fn`'s own JavaScript: what a step computes to build its calls (ranges, offsets,
   * argument objects) is done once rather than every run, which on a small model costs more than
   * its kernels. Only for work whose calls depend on nothing but what is fixed when it is
   * recorded (offsets and bound shapes), never on the values in memory. Records do not nest.
   */
  record(fn: () => void): () => void {
    if (this.recording) throw new Error("internal: a record was started inside another");
    const groups: { calls: Call[]; what: string }[] = [];
    this.recording = groups;
    try {
      fn();
    } finally {
      this.recording = undefined;
    }
    const replays = groups.map(({ calls, what }) => {
      if (calls.length > 1 && this.pool) return () => this.dispatch(calls, what);
      const direct = calls.map((c) => {
        const kernel = this.kernels[c.fn] as (...a: number[]) => void;
        const args = positional(c);
        return () => kernel(...args);
      });
      return direct.length === 1 ? direct[0] : () => direct.forEach((d) => d());
    });
    return replays.length === 1 ? replays[0] : () => replays.forEach((r) => r());
  }

  /** A new tensor of `shape` with unspecified contents. */
  empty(shape: readonly number[]): Tensor {
    const size = sizeOf(shape, "tensor shape");
    return new Tensor(this.heap, this.heap.alloc(size * 4), shape);
  }

  /** A new tensor holding a copy of `data`. */
  fromArray(data: Float32Array, shape: readonly number[], what = "tensor"): Tensor {
    if (!(data instanceof Float32Array)) {
      throw new ArgumentError(`${what}: expected a Float32Array, got ${describe(data)}`);
    }
    const size = sizeOf(shape, `${what} shape`);
    if (data.length !== size) {
      throw new ShapeError(`${what}: shape [${shape.join(", ")}] holds ${size} elements, but the data has ${data.length}`);
    }
    const t = new Tensor(this.heap, this.heap.alloc(size * 4), shape);
    this.heap.f32.set(data, t.ptr / 4);
    return t;
  }

  /** Checks that `t` is a live tensor of this engine, optionally of rank `rank`. */
  check(t: unknown, what: string, rank?: number): Tensor {
    if (!(t instanceof Tensor)) throw new ArgumentError(`${what}: expected a Tensor, got ${describe(t)}`);
    if (t.heap !== this.heap) throw new DisposedError(`${what}: the tensor belongs to another engine`);
    if (t.disposed) throw new DisposedError(`${what}: the tensor [${t.shape.join(", ")}] was disposed`);
    if (rank !== undefined && t.shape.length !== rank) {
      throw new ShapeError(`${what}: expected rank ${rank}, got shape [${t.shape.join(", ")}]`);
    }
    return t;
  }

  /**
   * Checks a caller's `out` before anything is allocated: its shape, and that it does not overlap
   * an input the kernel reads while writing.
   */
  checkOut(shape: readonly number[], out: Tensor | undefined, inputs: readonly Tensor[]): void {
    if (out === undefined) return;
    this.check(out, "out");
    if (out.shape.length !== shape.length || out.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`out: expected shape [${shape.join(", ")}], got [${out.shape.join(", ")}]`);
    }
    for (const t of inputs) {
      if (out.ptr < t.ptr + t.bytes && t.ptr < out.ptr + out.bytes) {
        throw new ArgumentError("out: must not overlap an input of the same op");
      }
    }
  }

  zeros(bytes: number): number {
    const ptr = this.heap.alloc(bytes);
    this.heap.u8.fill(0, ptr, ptr + bytes);
    return ptr;
  }
}

/**
 * A short, safe rendering of a caller's value for an error message: never throws (bigints,
 * objects without prototypes, cycles) and never grows large (tensors, long arrays).
 */
export function show(v: unknown, depth = 0): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "symbol") return v.toString();
  if (typeof v !== "object" || v === null) return String(v);
  if (depth > 1) return Array.isArray(v) ? "[…]" : "{…}";
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((x) => show(x, depth + 1));
    return `[${items.join(", ")}${v.length > 8 ? ", …" : ""}]`;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return describe(v);
  const entries = Object.keys(v).slice(0, 4).map((k) => `${k}: ${show((v as Record<string, unknown>)[k], depth + 1)}`);
  return `{ ${entries.join(", ")}${Object.keys(v).length > 4 ? ", …" : ""} }`;
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return Object.getPrototypeOf(v)?.constructor?.name ?? "object";
  return typeof v;
}
