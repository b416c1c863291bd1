// IEEE 754 binary16 (float16) and bfloat16 bit patterns <-> float32 values. Widening is exact
// (every half and bfloat16 value is a float32); narrowing float32 -> float16 rounds to nearest,
// ties to even, as IEEE 754 and every fp16 exporter do, overflowing to infinity and keeping NaN.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Every half's float32 value by its bits, built at first use: widening is then one lookup. */
let halves: Float32Array | undefined;

function halfTable(): Float32Array {
  if (halves) return halves;
  halves = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    halves[h] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m === 0 ? sign * Infinity : NaN) : sign * (1024 + m) * 2 ** (e - 25);
  }
  return halves;
}

/** The float32 value of each float16 bit pattern. */
export function halfBitsToFloats(bits: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** The float32 value of each bfloat16 bit pattern (the high half of a float32). */
export function bfloat16BitsToFloats(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const wide = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) wide[i] = bits[i] << 16;
  return out;
}

/** The float16 bit pattern nearest to a float32 value (ties to even). */
export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  // NaN stays NaN (quiet, with the top of its payload); infinity stays infinity.
  if (exp === 0xff) return sign | 0x7c00 | (mant === 0 ? 0 : 0x200 | (mant >>> 13));
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e >= 1) {
    // A carry out of the mantissa rounds into the exponent, up to infinity: both are right.
    const h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    return sign | (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h);
  }
  // Below the smallest normal half: the result counts units of 2^-24. The full significand
  // (mant | 2^23) weighs 2^(exp - 150), so the count is it shifted right by 126 - exp.
  const shift = 126 - exp;
  if (shift > 24) return sign;
  const m = mant | 0x800000;
  const q = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (rest > half || (rest === half && (q & 1) === 1) ? q + 1 : q);
}

/** floatToHalfBits over an array. */
export function floatsToHalfBits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalfBits(values[i]);
  return out;
}

/**
 * An array of float16 values as JavaScript has it: a Float16Array where the engine has one
 * (typed by the bits' array, which TypeScript's libraries know), else a Uint16Array of the bits.
 */
export type HalfArray = Uint16Array;

const Float16Array = (globalThis as { Float16Array?: new (buffer: ArrayBuffer) => HalfArray }).Float16Array;

/** Whether `x` holds float16 values: a Float16Array, or a Uint16Array of their bits. */
export function isHalfArray(x: unknown): x is HalfArray {
  return x instanceof Uint16Array || (Float16Array !== undefined && x instanceof Float16Array);
}

/** The float32 values of a HalfArray. */
export function halfArrayToFloats(x: HalfArray): Float32Array {
  return x instanceof Uint16Array ? halfBitsToFloats(x) : Float32Array.from(x);
}

/** Float32 values rounded to float16, as a HalfArray. */
export function floatsToHalfArray(values: Float32Array): HalfArray {
  const bits = floatsToHalfBits(values);
  return Float16Array === undefined ? bits : new Float16Array(bits.buffer as ArrayBuffer);
}
