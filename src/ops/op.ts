import type { Runtime } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";

/**
 * The one contract by which anything runs a kernel: the compiled graph (src/graph/compile.ts)
 * and the engine's eager methods alike.
 *
 * - construct: validate the options, pack the weights (once);
 * - `outputShape(shapes)`: check input shapes, allocate nothing;
 * - `bind(shapes)`: the same, then plan for those shapes (scratch, indirection tables), kept
 *   while the shapes stay the same;
 * - `exec(inputs, y)`: run the bound plan on byte offsets of the inputs (in the order of the
 *   shapes) and of the output, always through `rt.dispatch`, so that an op that can split its
 *   work over threads does; it allocates nothing; its calls depend only on the plan and the
 *   offsets, so that a compiled graph records them once and replays them (`rt.record`), unless
 *   `readsValues` says it reads values from memory to decide them; each call's args are one
 *   literal with every field named (V8 rebuilds a spread followed by more fields on every call,
 *   which the eager API pays where a replay does not);
 * - `bytes`: packed weights and the current plan's scratch;
 * - `dispose()`: free both; a second call does nothing.
 */
export interface PreparedOp {
  outputShape(shapes: readonly (readonly number[])[]): number[];
  bind(shapes: readonly (readonly number[])[]): number[];
  exec(inputs: readonly number[], y: number): void;
  /** True when exec reads tensor values to decide its calls: a graph runs it whole every time. */
  readonly readsValues?: boolean;
  readonly bytes: { weights: number; scratch: number };
  dispose(): void;
}

/**
 * Runs an op once on tensors: the checks, then bind, then exec into `out` or a new tensor.
 * Nothing is allocated before every check has passed.
 */
export function runOn(rt: Runtime, op: PreparedOp, inputs: readonly Tensor[], out?: Tensor): Tensor {
  const shapes = inputs.map((t) => t.shape);
  const shape = op.outputShape(shapes);
  rt.checkOut(shape, out, inputs);
  op.bind(shapes);
  const y = out ?? rt.empty(shape);
  op.exec(inputs.map((t) => t.ptr), y.ptr);
  return y;
}

/** An eager call: prepare, run, dispose. */
export function once(rt: Runtime, op: PreparedOp, inputs: readonly Tensor[]): Tensor {
  try {
    return runOn(rt, op, inputs);
  } finally {
    op.dispose();
  }
}
