/** Every failure a caller can cause is one of these; `instanceof SimdcnnError` catches them all. */
export class SimdcnnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor's rank, dimensions or element count is not what the operation needs. */
export class ShapeError extends SimdcnnError {}

/** An option or argument value is invalid (NaN, out of range, unknown name). */
export class ArgumentError extends SimdcnnError {}

/** A tensor or prepared op was used after dispose(), or belongs to another engine. */
export class DisposedError extends SimdcnnError {}

/** The engine's memory cannot hold what was asked for. */
export class MemoryError extends SimdcnnError {}

/** The WebAssembly build asked for cannot run here. */
export class BackendError extends SimdcnnError {}

/** A model file is malformed: truncated, inconsistent, or not what its header says. */
export class ModelFormatError extends SimdcnnError {}

/** A model uses operators, attribute values or data types that simdcnn does not support. */
export class UnsupportedError extends SimdcnnError {}
