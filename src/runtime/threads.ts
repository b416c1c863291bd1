import { BackendError } from "../errors.js";
import type { Heap } from "./heap.js";
import { type Call, type KernelName, type Kernels, SIGNATURES, positional } from "./kernels.js";
import { WORKER_SOURCE } from "./worker-source.js";


// Control block in the shared memory: [generation, done count, error flag, pad] as i32, then one
// slot per worker: [state, kernel index, argument count, pad] as i32 and MAX_ARGS f64 arguments.
const HEADER = 16;
const MAX_ARGS = 24;
const SLOT = 16 + 8 * MAX_ARGS;

export interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/**
 * Worker threads running the same kernel module over the engine's shared memory. A dispatch
 * writes one call per worker into its slot, bumps the generation word and wakes the workers with
 * Atomics.notify; the calling thread runs its own share and then waits (Atomics.wait) for the
 * done count. No message is posted per op.
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
    const ctrl = heap.alloc(HEADER + (n - 1) * SLOT);
    heap.u8.fill(0, ctrl, ctrl + HEADER + (n - 1) * SLOT);
    const workers: WorkerLike[] = [];
    try {
      for (let w = 0; w < n - 1; w++) {
        const worker = spawner();
        workers.push(worker.handle);
        worker.handle.postMessage({ module, memory: heap.memory, ctrl, slot: ctrl + HEADER + w * SLOT, names });
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
   * Runs calls[0] on this thread and the others on workers (at most one each), and returns when
   * all are done. The calls must write disjoint memory.
   */
  run(calls: Call[], what: string): void {
    const i32 = this.heap.i32;
    const f64 = new Float64Array(this.heap.memory.buffer);
    const gen = this.ctrl >> 2;
    for (let w = 1; w < calls.length; w++) {
      const slot = this.ctrl + HEADER + (w - 1) * SLOT;
      const fn = calls[w].fn;
      const args = positional(calls[w]);
      if (args.length > MAX_ARGS) throw new BackendError(`internal: ${fn} takes ${args.length} arguments, slots hold ${MAX_ARGS}`);
      i32[(slot >> 2) + 1] = this.names.indexOf(fn);
      i32[(slot >> 2) + 2] = args.length;
      f64.set(args, (slot >> 3) + 2);
      Atomics.store(i32, slot >> 2, 1);
    }
    Atomics.store(i32, gen + 1, 0);
    Atomics.add(i32, gen, 1);
    Atomics.notify(i32, gen);
    const own = calls[0];
    (this.kernels[own.fn] as (...a: number[]) => void)(...positional(own));
    const workers = this.workers.length;
    for (let spin = 0; ; spin++) {
      const done = Atomics.load(i32, gen + 1);
      if (done >= workers) break;
      // The workers' shares end about when this thread's does: spin first, then sleep.
      if (spin > 20000) Atomics.wait(i32, gen + 1, done);
    }
    if (Atomics.exchange(i32, gen + 2, 0) !== 0) throw new BackendError(`${what}: a worker thread failed while running ${calls.map((c) => c.fn).join(", ")}`);
  }

  dispose(): void {
    const i32 = this.heap.i32;
    const gen = this.ctrl >> 2;
    Atomics.store(i32, gen, -1);
    Atomics.notify(i32, gen);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.heap.release(this.ctrl);
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
