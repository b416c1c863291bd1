/** Every failure a caller can cause is one of these; `instanceof SimdcnnError` catches them all. */
export class SimdcnnError extends Error {
  // Spelled out rather than taken from the constructor's name, which minifiers rename.
  override name = "SimdcnnError";
}

/** A tensor's rank, dimensions or element count is not what the operation needs. */
export class ShapeError extends SimdcnnError {
  override name = "ShapeError";
}

/** An option or argument value is invalid (NaN, out of range, unknown name). */
export class ArgumentError extends SimdcnnError {
  override name = "ArgumentError";
}

/** A tensor or prepared op was used after dispose(), or belongs to another engine. */
export class DisposedError extends SimdcnnError {
  override name = "DisposedError";
}

/** The engine's memory cannot hold what was asked for. */
export class MemoryError extends SimdcnnError {
  override name = "MemoryError";
}

/** The WebAssembly build asked for cannot run here. */
export class BackendError extends SimdcnnError {
  override name = "BackendError";
}

/** A model file is malformed: truncated, inconsistent, or not what its header says. */
export class ModelFormatError extends SimdcnnError {
  override name = "ModelFormatError";
}

/** A model uses operators, attribute values or data types that simdcnn does not support. */
export class UnsupportedError extends SimdcnnError {
  override name = "UnsupportedError";
}

/** An image file is not a PNG, JPEG or DICOM Part 10 file, or is truncated or corrupt. */
export class InputFormatError extends SimdcnnError {
  override name = "InputFormatError";
}
