import { DisposedError, ShapeError } from "../errors.js";
import { type Heap, copyOut } from "./heap.js";

// Largest element count a tensor may have: its byte size must stay a safe wasm32 offset.
const MAX_ELEMENTS = 2 ** 29;

/** Checks that every dimension is a positive integer and returns the element count. */
export function sizeOf(shape: readonly number[], what: string): number {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new ShapeError(`${what}: expected a non-empty array of dimensions, got ${JSON.stringify(shape)}`);
  }
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d <= 0) {
      throw new ShapeError(`${what}: every dimension must be a positive integer, got [${shape.join(", ")}]`);
    }
    size *= d;
    if (size > MAX_ELEMENTS) {
      throw new ShapeError(`${what}: [${shape.join(", ")}] has more than ${MAX_ELEMENTS} elements`);
    }
  }
  return size;
}

/** Element count of a shape already known to be valid. */
export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides (in elements) of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * A float32 tensor in the engine's memory. Activations are NHWC. The data stays in wasm memory
 * until dispose(); toArray() copies it out.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  private address: number;

  /** @internal Use engine.tensor() or an op to make one. */
  constructor(
    readonly heap: Heap,
    ptr: number,
    shape: readonly number[],
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape, "tensor shape");
    this.address = ptr;
  }

  get disposed(): boolean {
    return this.address === 0;
  }

  /** @internal The byte offset of the data; throws once disposed. */
  get ptr(): number {
    if (this.address === 0) throw new DisposedError(`tensor [${this.shape.join(", ")}] was used after dispose()`);
    return this.address;
  }

  get bytes(): number {
    return this.size * 4;
  }

  /** A copy of the data. */
  toArray(): Float32Array {
    const start = this.ptr / 4;
    return copyOut(this.heap.f32.subarray(start, start + this.size));
  }

  /** Frees the memory; a second dispose() does nothing. */
  dispose(): void {
    if (this.address === 0) return;
    this.heap.release(this.address);
    this.address = 0;
  }
}
