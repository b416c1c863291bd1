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

/**
 * A model uses operators, attribute values or data types that simdcnn does not support.
 * `problems` has one line per problem: a model's load reports all it finds at once.
 */
export class UnsupportedError extends SimdcnnError {
  override name = "UnsupportedError";
  readonly problems: readonly string[];

  constructor(message: string, problems?: readonly string[]) {
    super(message);
    this.problems = problems ?? [message];
  }
}

/** An image file is not a PNG, JPEG or DICOM Part 10 file, or is truncated or corrupt. */
export class InputFormatError extends SimdcnnError {
  override name = "InputFormatError";
}

/**
 * A file or folder cannot be read or written: missing, a folder where a file was expected, a
 * file where a folder was expected, no permission, no space. `path` is the one at fault; `code`
 * is the system's error code (ENOENT, EISDIR, ...) when there is one.
 */
export class FileError extends SimdcnnError {
  override name = "FileError";
  constructor(
    message: string,
    readonly path: string,
    readonly code?: string,
  ) {
    super(message);
  }

  /** The system error `e` met while doing `action` ('read', 'write', 'create') on `path`, in words. */
  static from(e: unknown, path: string, action: string): FileError {
    const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
    const p = `'${path}'`;
    const why: Record<string, string> = {
      ENOENT: `${p} does not exist`,
      EISDIR: `${p} is a folder; expected a file`,
      ENOTDIR: `a part of the path ${p} is a file, not a folder`,
      EACCES: `no permission to ${action} ${p}`,
      EPERM: `no permission to ${action} ${p}`,
      EROFS: `cannot ${action} ${p}: the file system is read-only`,
      ENOSPC: `cannot ${action} ${p}: no space left on the device`,
      ENAMETOOLONG: `cannot ${action} ${p}: the name is too long`,
      ELOOP: `cannot ${action} ${p}: too many symbolic links (a loop?)`,
      EMFILE: `cannot ${action} ${p}: too many open files`,
    };
    const message = (code !== undefined ? why[code] : undefined) ?? `cannot ${action} ${p}: ${e instanceof Error ? e.message : String(e)}`;
    return new FileError(message, path, code);
  }
}

/**
 * A DICOMweb server (a PACS) refused a request, answered something that is not what was asked
 * for, or did not answer in time. `url` is the request; `status` the HTTP status when there was one.
 */
export class DicomwebError extends SimdcnnError {
  override name = "DicomwebError";
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
