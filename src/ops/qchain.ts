import { ArgumentError, ShapeError } from "../errors.js";
import { PARALLEL_MIN_ELEMENTS, type Runtime } from "../runtime/runtime.js";
import { sizeOfShape } from "../runtime/tensor.js";
import type { PreparedOp } from "./op.js";
import type { QParams } from "./qconv.js";

// The steps of the quantized chain around QConv2d: a tensor between 8-bit ops stays quantized, as
// the i16 operand qgemm_q8_4x8 reads (q - zero point; "q16"), and is converted only where a float
// op reads it. Each step computes what the ONNX ops it replaces define, in the same float32 steps
// (assembly/qchain.ts), so a chain gives the float path's values to the bit.

function check(p: QParams, what: string): void {
  const [lo, hi] = p.signed ? [-128, 127] : [0, 255];
  if (!(p.scale > 0) || !Number.isFinite(p.scale)) throw new ArgumentError(`${what}: scale must be positive and finite, got ${p.scale}`);
  if (!Number.isInteger(p.zeroPoint) || p.zeroPoint < lo || p.zeroPoint > hi) throw new ArgumentError(`${what}: zero point ${p.zeroPoint} is not a ${p.signed ? "int8" : "uint8"}`);
}

/** An elementwise step over n elements, split into ranges for the threads. */
abstract class Elementwise implements PreparedOp {
  readonly bytes = { weights: 0, scratch: 0 };
  protected n = 0;

  constructor(protected readonly rt: Runtime) {}

  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...shapes[0]];
  }

  bind(shapes: readonly (readonly number[])[]): number[] {
    this.n = sizeOfShape(shapes[0]);
    return [...shapes[0]];
  }

  protected ranges(): [number, number][] {
    return this.rt.ranges(this.n, this.n, 16, PARALLEL_MIN_ELEMENTS);
  }

  abstract exec(inputs: readonly number[], y: number): void;

  dispose(): void {}
}

/** QuantizeLinear of a float tensor into a q16 tensor. */
export class Quantize extends Elementwise {
  constructor(rt: Runtime, private readonly p: QParams) {
    super(rt);
    check(p, "quantize");
  }

  exec(inputs: readonly number[], y: number): void {
    const { scale, zeroPoint: zp, signed } = this.p;
    this.rt.dispatch(
      this.ranges().map(([a, b]) => ({
        fn: "quantize_f32_q8_i16" as const,
        args: { n: b - a, x: inputs[0] + a * 4, y: y + a * 2, scale, zp, ySigned: signed ? 1 : 0 },
      })),
      "quantize",
    );
  }
}

/** DequantizeLinear of a q16 tensor into float. */
export class Dequantize extends Elementwise {
  constructor(rt: Runtime, private readonly p: QParams) {
    super(rt);
    check(p, "dequantize");
  }

  exec(inputs: readonly number[], y: number): void {
    const { scale } = this.p;
    this.rt.dispatch(
      this.ranges().map(([a, b]) => ({ fn: "dequantize_q16_f32" as const, args: { n: b - a, x: inputs[0] + a * 2, y: y + a * 4, scale } })),
      "dequantize",
    );
  }
}

/**
 * QuantizeLinear(DequantizeLinear(a) + DequantizeLinear(b)) on q16 tensors of one shape, the QDQ
 * Add that onnxruntime fuses into QLinearAdd, here in the float steps of its definition.
 */
export class QAdd extends Elementwise {
  constructor(
    rt: Runtime,
    private readonly pa: QParams,
    private readonly pb: QParams,
    private readonly py: QParams,
  ) {
    super(rt);
    check(pa, "qadd input a");
    check(pb, "qadd input b");
    check(py, "qadd output");
  }

  override outputShape(shapes: readonly (readonly number[])[]): number[] {
    if (shapes[0].join() !== shapes[1].join()) throw new ShapeError(`qadd: inputs [${shapes[0].join(", ")}] and [${shapes[1].join(", ")}] must have one shape`);
    return [...shapes[0]];
  }

  override bind(shapes: readonly (readonly number[])[]): number[] {
    const out = this.outputShape(shapes);
    this.n = sizeOfShape(out);
    return out;
  }

  exec(inputs: readonly number[], y: number): void {
    const { pa, pb, py } = this;
    const lo = (py.signed ? -128 : 0) - py.zeroPoint;
    const hi = (py.signed ? 127 : 255) - py.zeroPoint;
    this.rt.dispatch(
      this.ranges().map(([s, e]) => ({
        fn: "qadd_q16" as const,
        args: { n: e - s, a: inputs[0] + s * 2, b: inputs[1] + s * 2, y: y + s * 2, sa: pa.scale, sb: pb.scale, sy: py.scale, lo, hi },
      })),
      "qadd",
    );
  }
}
