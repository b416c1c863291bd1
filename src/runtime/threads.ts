import { BackendError } from "../errors.js";
import type { Heap } from "./heap.js";
import { type Call, type KernelName, type Kernels, SIGNATURES, positional } from "./kernels.js";
import { WORKER_SOURCE } from "./worker-source.js";


// Control block in the shared memory, as i32: [generation, claim word, finished count, error flag],
// then a table of MAX_CALLS calls of [kernel index, argument count, pad, pad] and MAX_ARGS f64
// arguments. The claim word packs the calls' count (bits 8-15) and the next unclaimed index
// (bits 0-7), so that one compare-and-swap both checks and takes a call of the current dispatch.
const GEN = 0;
const CLAIM = 1;
const FINISHED = 2;
const ERROR = 3;
const GEN_MASK = 0x3fffffff;
const HEADER = 16;
const MAX_ARGS = 24;
const SLOT = 16 + 8 * MAX_ARGS;
const MAX_CALLS = 64;

export interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/**
 * Worker threads running the same kernel module over the engine's shared memory. A dispatch
 * writes its calls into the table, bumps the generation word and wakes the workers with
 * Atomics.notify; every thread, the calling one included, then takes calls until none is left,
 * and the calling thread waits (Atomics.wait) for the finished count. A thread that is not
 * scheduled in time (a busy host) leaves its calls to the others instead of holding them all up.
 * No message is posted per op.
 */
export class ThreadPool {
  private constructor(
    private readonly heap: Heap,
    private readonly kernels: Kernels,
    private readonly names: KernelName[],
    private readonly workers: WorkerLike[],
    private readonly ctrl: number,
  ) {}

  /** Threads that share each dispatch, the calling one included. */
  get size(): number {
    return this.workers.length + 1;
  }

  static async create(n: number, module: WebAssembly.Module, heap: Heap, kernels: Kernels): Promise<ThreadPool> {
    const names = (Object.keys(SIGNATURES) as KernelName[]).sort();
    const ctrl = heap.alloc(HEADER + MAX_CALLS * SLOT);
    heap.u8.fill(0, ctrl, ctrl + HEADER + MAX_CALLS * SLOT);
    const workers: WorkerLike[] = [];
    try {
      for (let w = 0; w < n - 1; w++) {
        const worker = spawner();
        workers.push(worker.handle);
        worker.handle.postMessage({ module, memory: heap.memory, ctrl, table: ctrl + HEADER, slot: SLOT, names });
        await worker.ready;
      }
    } catch (e) {
      for (const w of workers) w.terminate();
      heap.release(ctrl);
      throw e;
    }
    return new ThreadPool(heap, kernels, names, workers, ctrl);
  }

  /**
   * Runs the calls, in any order and on any of the threads (calls[0] on this one), and returns
   * when all are done. The calls must write disjoint memory.
   */
  run(calls: Call[], what: string): void {
    for (let i = 0; i < calls.length; i += MAX_CALLS) this.batch(calls.slice(i, i + MAX_CALLS), what);
  }

  private batch(calls: Call[], what: string): void {
    const i32 = this.heap.i32;
    const f64 = new Float64Array(this.heap.memory.buffer);
    const ctrl = this.ctrl >> 2;
    const n = calls.length;
    for (let k = 1; k < n; k++) {
      const slot = this.ctrl + HEADER + k * SLOT;
      const fn = calls[k].fn;
      const args = positional(calls[k]);
      if (args.length > MAX_ARGS) throw new BackendError(`internal: ${fn} takes ${args.length} arguments, slots hold ${MAX_ARGS}`);
      i32[slot >> 2] = this.names.indexOf(fn);
      i32[(slot >> 2) + 1] = args.length;
      f64.set(args, (slot >> 3) + 2);
    }
    // Call 0 is this thread's before any worker could take it; the workers start at call 1.
    Atomics.store(i32, ctrl + FINISHED, 0);
    Atomics.store(i32, ctrl + CLAIM, (n << 8) | 1);
    if (n > 1) {
      // Only this thread writes the generation; it wraps before 2^30 so that it never reads as the
      // negative value that stops the workers.
      Atomics.store(i32, ctrl + GEN, (Atomics.load(i32, ctrl + GEN) + 1) & GEN_MASK);
      Atomics.notify(i32, ctrl + GEN, n - 1);
    }
    // Calls this thread took (or, after a failure, closed), so that it waits only for the workers'.
    let own = 0;
    let failure: unknown;
    try {
      for (let k = 0; k < n; k = this.claim(i32)) {
        own++;
        (this.kernels[calls[k].fn] as (...a: number[]) => void)(...positional(calls[k]));
      }
    } catch (e) {
      failure = e;
      // Closes the dispatch: no worker takes a call after this, and the ones taken are waited for.
      for (let v = Atomics.load(i32, ctrl + CLAIM); (v & 0xff) < n; v = Atomics.load(i32, ctrl + CLAIM)) {
        if (Atomics.compareExchange(i32, ctrl + CLAIM, v, (n << 8) | n) === v) own += n - (v & 0xff);
      }
    }
    for (let spin = 0; ; spin++) {
      const done = Atomics.load(i32, ctrl + FINISHED);
      if (done + own >= n) break;
      // A worker's call ends about when this thread's last one does: spin first, then sleep.
      if (spin > 20000) Atomics.wait(i32, ctrl + FINISHED, done);
    }
    const workerFailed = Atomics.exchange(i32, ctrl + ERROR, 0) !== 0;
    if (failure !== undefined || workerFailed) {
      // Any thread may have taken the failing call, so all failures say the same.
      throw new BackendError(`${what}: a thread failed while running ${calls.map((c) => c.fn).join(", ")}`, { cause: failure });
    }
  }

  /** Takes the next call of the dispatch in progress: its index, or the count when none is left. */
  private claim(i32: Int32Array): number {
    const at = (this.ctrl >> 2) + CLAIM;
    for (;;) {
      const v = Atomics.load(i32, at);
      const next = v & 0xff;
      if (next >= v >> 8) return next;
      if (Atomics.compareExchange(i32, at, v, v + 1) === v) return next;
    }
  }

  dispose(): void {
    const i32 = this.heap.i32;
    const ctrl = this.ctrl >> 2;
    Atomics.store(i32, ctrl + GEN, -1);
    Atomics.notify(i32, ctrl + GEN);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    // The control block is not released: a terminated worker may still be between two reads of
    // the claim word, and must never find a tensor's bytes there.
  }
}

export interface Spawned {
  handle: WorkerLike;
  ready: Promise<void>;
}

/** Starts one worker running WORKER_SOURCE; the Node entry installs a worker_threads one. */
export type Spawner = () => Spawned;

let spawner: Spawner = () => {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url);
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new BackendError(`a worker thread could not start: ${e.message || "blocked (Content-Security-Policy worker-src?)"}`));
  });
  return { handle: worker, ready };
};

export function setSpawner(s: Spawner): void {
  spawner = s;
}
