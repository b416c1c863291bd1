import { ArgumentError } from "../errors.js";
import { CMP, LOGIC } from "../runtime/kernels.js";
import { type Runtime, show } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import { binaryCalls, lastAxisOperands } from "./elementwise.js";
import type { PreparedOp } from "./op.js";

export type CompareOp = keyof typeof CMP;
export type LogicOp = keyof typeof LOGIC;

/**
 * The ops that write bools (int32 0 or 1): a comparison of float32 or int32 elements, or And/Or/Xor
 * of bools. b is a's shape, a vector over a's last axis or one element, as for Binary
 * (src/ops/elementwise.ts); the graph materialises other broadcasts.
 */
export class Compare implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private n = 0;
  private bn = 0;
  private readonly fn: "compare_f32" | "compare_i32" | "logic_i32";
  private readonly code: number;

  /** `on`: the elements compared (f32 or i32), or "bool" for a logic op. */
  constructor(
    private readonly rt: Runtime,
    private readonly op: CompareOp | LogicOp,
    on: "f32" | "i32" | "bool",
  ) {
    if (on === "bool") {
      if (!Object.hasOwn(LOGIC, op)) throw new ArgumentError(`logic: unknown operation ${show(op)}; expected one of ${Object.keys(LOGIC).join(", ")}`);
      this.fn = "logic_i32";
      this.code = LOGIC[op as LogicOp];
    } else {
      if (!Object.hasOwn(CMP, op)) throw new ArgumentError(`compare: unknown operation ${show(op)}; expected one of ${Object.keys(CMP).join(", ")}`);
      this.fn = on === "f32" ? "compare_f32" : "compare_i32";
      this.code = CMP[op as CompareOp];
    }
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return lastAxisOperands(this.op, shapes);
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.n = sizeOfShape(shapes[0]);
    this.bn = sizeOfShape(shapes[1]);
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const [a, b] = inputs;
    this.rt.dispatch(binaryCalls(this.rt, this.fn, this.code, this.n, this.bn, a, b, y), this.op);
  }

  dispose(): void {}
}
