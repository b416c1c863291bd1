import { ShapeError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import type { PreparedOp } from "./op.js";

/** Constant padding of the two spatial axes of NHWC. */
export class Pad implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private shape: readonly number[] = [];

  constructor(
    private readonly rt: Runtime,
    /** [top, left, bottom, right] */
    private readonly pads: readonly [number, number, number, number],
    private readonly value: number,
  ) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    const x = shapes[0];
    if (x.length !== 4) throw new ShapeError(`pad input: expected rank 4, got shape [${x.join(", ")}]`);
    const [pt, pl, pb, pr] = this.pads;
    return [x[0], x[1] + pt + pb, x[2] + pl + pr, x[3]];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.shape = shapes[0];
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const [n, h, w, c] = this.shape;
    const [pt, pl, pb, pr] = this.pads;
    this.rt.dispatch([{ fn: "pad_f32", args: { batch: n, h, w, c, pt, pl, pb, pr, x: inputs[0], y, value: this.value } }], "pad");
  }

  dispose(): void {}
}
