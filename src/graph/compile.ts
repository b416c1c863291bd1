import { MemoryError } from "../errors.js";
import type { PreparedOp } from "../ops/op.js";
import type { Runtime } from "../runtime/runtime.js";
import { type ExecGraph, type Step, type Value, rootOf, sizeOfShape } from "./ir.js";
import { PREPARE, type Prepare } from "./ops.js";
import { planArena } from "./planner.js";

export interface MemoryReport {
  /** Packed weights and constants. */
  weights: number;
  /** The planned arena of intermediate activations. */
  activations: number;
  /** Per-op scratch (indirection tables, padded copies) and input buffers. */
  scratch: number;
  /** What the activations would take with one buffer each. */
  naiveActivations: number;
}

/**
 * An ExecGraph made runnable: the arena and constants allocated, every op prepared, and each step
 * turned into a closure over fixed byte offsets, so that run() allocates nothing.
 */
export class Compiled {
  readonly memory: MemoryReport;
  private readonly run: (() => void)[] = [];
  private replays: (() => void)[] | undefined;
  private readonly owned: number[] = [];
  private readonly ops: PreparedOp[] = [];
  private readonly ptrs = new Map<Value, number>();
  private constBytes = 0;

  constructor(
    private readonly rt: Runtime,
    readonly graph: ExecGraph,
  ) {
    const heap = rt.heap;
    const plan = planArena(graph);
    const room = heap.limitBytes - heap.bytesInUse;
    if (plan.bytes > room) {
      throw new MemoryError(
        `the model's planned activations need ${plan.bytes} bytes for inputs [${graph.inputs.map((i) => i.value.shape.join("x")).join("], [")}], but the engine may use only ${room} more (its limit is ${heap.limitBytes} bytes: init's maxMemoryBytes, at most wasm32's 4 GiB)`,
      );
    }
    let weights = 0;
    let scratch = 0;
    try {
      const arena = plan.bytes > 0 ? this.alloc(plan.bytes) : 0;
      for (const [v, off] of plan.offsets) this.ptrs.set(v, arena + off);
      for (const { value } of graph.inputs) {
        const r = rootOf(value);
        if (!this.ptrs.has(r)) {
          this.ptrs.set(r, this.alloc(sizeOfShape(r.shape) * 4));
          scratch += heap.sizeOf(this.ptrs.get(r)!);
        }
      }
      for (const s of graph.steps) {
        const { fn, op } = this.compileStep(s);
        this.run.push(fn);
        this.ops.push(op);
        weights += op.bytes.weights;
        scratch += op.bytes.scratch;
      }
      weights += this.constBytes;
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.memory = { weights, activations: plan.bytes, scratch, naiveActivations: plan.naiveBytes };
  }

  private alloc(bytes: number): number {
    const p = this.rt.heap.alloc(bytes);
    this.owned.push(p);
    return p;
  }

  /** A constant an op reads, copied into the memory the first time one does (else undefined). */
  private constant(v: Value): number | undefined {
    const r = rootOf(v);
    if (r.storage !== "const") return undefined;
    let p = this.ptrs.get(r);
    if (p === undefined) {
      if (r.ints) {
        p = this.alloc(r.ints.length * 4);
        this.rt.heap.i32.set(r.ints, p / 4);
      } else {
        p = this.alloc(r.data!.length * 4);
        this.rt.heap.f32.set(r.data!, p / 4);
      }
      this.ptrs.set(r, p);
      this.constBytes += this.rt.heap.sizeOf(p);
    }
    return p;
  }

  ptr(v: Value): number {
    const p = this.ptrs.get(rootOf(v));
    if (p === undefined) throw new Error(`internal: value ${v.id} has no storage`);
    return p;
  }

  /** Prepares the op of a step and turns it into a closure over fixed byte offsets. */
  private compileStep(s: Step): { fn: () => void; op: PreparedOp } {
    const { op, inputs, shapes } = (PREPARE[s.op] as Prepare<Step>)(this.rt, s);
    try {
      op.bind(shapes);
      const ptrs = inputs.map((v) => this.constant(v) ?? this.ptr(v));
      const y = this.ptr(s.y);
      return { fn: () => op.exec(ptrs, y), op };
    } catch (e) {
      op.dispose();
      throw e;
    }
  }

  /**
   * Runs every step in order. The first run records each step's kernel calls (offsets are fixed
   * here), later runs replay them; a step whose calls depend on the values it reads runs whole.
   */
  execute(): void {
    if (this.replays) {
      for (const fn of this.replays) fn();
      return;
    }
    const replays: (() => void)[] = [];
    for (let i = 0; i < this.run.length; i++) {
      const fn = this.run[i];
      if (this.ops[i].readsValues) {
        fn();
        replays.push(fn);
      } else replays.push(this.rt.record(fn));
    }
    this.replays = replays;
  }

  dispose(): void {
    for (const op of this.ops) op.dispose();
    this.ops.length = 0;
    for (const p of this.owned) this.rt.heap.release(p);
    this.owned.length = 0;
    this.run.length = 0;
    this.replays = undefined;
  }
}
