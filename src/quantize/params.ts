// The arithmetic of static quantization: an activation's scale and zero point from its calibrated
// range, and float weights to int8 per output channel. Scales are float32 values, as they are
// stored in the model, so what is computed here is exactly what a runtime reads back.

/** The 8-bit type of the quantized activations. */
export type ActivationType = "uint8" | "int8";

/** A per-tensor scale and zero point. */
export interface ActivationParams {
  scale: number;
  zeroPoint: number;
  type: ActivationType;
}

/** Round half to even, the rounding ONNX's QuantizeLinear specifies; -0 comes out as 0 (it is stored as an integer). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

const LIMITS: Record<ActivationType, [number, number]> = { uint8: [0, 255], int8: [-128, 127] };

/**
 * Asymmetric parameters covering [min, max] widened to hold 0, so that 0 (padding, a ReLU's
 * floor) is exactly representable; a range that is all 0 gets scale 1.
 */
export function activationParams(min: number, max: number, type: ActivationType): ActivationParams {
  const [qmin, qmax] = LIMITS[type];
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? Math.fround((hi - lo) / (qmax - qmin)) : 1;
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - lo / scale)));
  return { scale, zeroPoint, type };
}

/** Float weights quantized per channel along `axis`: int8 values, one scale per channel, zero points 0. */
export interface ChannelWeights {
  values: number[];
  scales: number[];
}

/**
 * Symmetric int8 per channel over [-127, 127]: -128 is left out so that a weight and its negation
 * are both exact, and so that every product with a 7-bit magnitude stays within the range the
 * relaxed SIMD dot product computes exactly.
 */
export function quantizeWeights(w: Float32Array, dims: number[], axis: number): ChannelWeights {
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const absMax = new Array<number>(channels).fill(0);
  w.forEach((v, i) => {
    absMax[channelOf(i)] = Math.max(absMax[channelOf(i)], Math.abs(v));
  });
  const scales = absMax.map((m) => (m > 0 ? Math.fround(m / 127) : 1));
  const values = Array.from(w, (v, i) => Math.max(-127, Math.min(127, roundHalfEven(v / scales[channelOf(i)]))));
  return { values, scales };
}

/**
 * A float bias as int32 at the scale the integer accumulator has (input scale times each
 * channel's weight scale), as QLinearConv adds it; undefined when a value would not fit in int32.
 */
export function quantizeBias(b: Float32Array, inputScale: number, weightScales: number[]): { values: number[]; scales: number[] } | undefined {
  const scales = Array.from(b, (_, j) => Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : j]));
  const values = Array.from(b, (v, j) => roundHalfEven(v / scales[j]));
  return values.every((v) => Math.abs(v) <= 2 ** 31 - 1) ? { values, scales } : undefined;
}
