import { ArgumentError } from "../errors.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";

/**
 * DequantizeLinear(QuantizeLinear(x)) with one scale and zero point, on float values in one pass
 * (fake_quantize_f32): a QDQ pair whose reader has no 8-bit kernel (an Add, a pool) runs as the
 * ONNX definition says, each value moved to the nearest step of the 8-bit grid.
 */
export class FakeQuantize implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  private n = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly scale: number,
    private readonly zeroPoint: number,
    private readonly signed: boolean,
  ) {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new ArgumentError(`fakeQuantize: scale must be positive and finite, got ${scale}`);
    const [lo, hi] = signed ? [-128, 127] : [0, 255];
    if (!Number.isInteger(zeroPoint) || zeroPoint < lo || zeroPoint > hi) throw new ArgumentError(`fakeQuantize: zero point ${zeroPoint} is not a ${signed ? "int8" : "uint8"}`);
  }

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...shapes[0]];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    this.n = sizeOfShape(shapes[0]);
    return [...shapes[0]];
  }

  exec(inputs: readonly number[], y: number): void {
    const { n, scale, zeroPoint: zp } = this;
    const ySigned = this.signed ? 1 : 0;
    this.rt.dispatch(
      this.rt.ranges(n, n, 16, PARALLEL_MIN_ELEMENTS).map(([a, b]) => ({
        fn: "fake_quantize_f32" as const,
        args: { n: b - a, x: inputs[0] + a * 4, y: y + a * 4, scale, zp, ySigned },
      })),
      "fakeQuantize",
    );
  }

  dispose(): void {}
}
