import { InputFormatError, SimdcnnError } from "../errors.js";

/**
 * Runs a third-party decoder and turns whatever it throws into an InputFormatError: fast-png throws
 * Errors, jpeg-js sometimes plain strings, and dicom-parser strings or `{ exception }` objects.
 */
export function decoding<T>(format: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof SimdcnnError) throw e;
    throw new InputFormatError(`${format}: ${describe(e)}`);
  }
}

/** What a thrown value says, whatever its kind. */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  if (typeof e === "object" && e !== null && "exception" in e) return describe(e.exception);
  return String(e);
}
