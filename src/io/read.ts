import { ArgumentError } from "../errors.js";
import { decodeDicom } from "./dicom.js";
import { InputFormatError } from "../errors.js";
import { decodeJpeg } from "./jpeg.js";
import { decodePng } from "./png.js";
import type { Slice } from "./slice.js";

export interface ReadOptions {
  /** [center, width]: the intensity window for DICOM slices, in modality units; overrides the file's. */
  window?: readonly [number, number];
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decodes a PNG, JPEG or DICOM Part 10 file, told apart by their leading bytes, to its slices:
 * one for an image, one per frame for a multi-frame DICOM file. Asynchronous because the codecs
 * of compressed DICOM are loaded when a file first needs them. A file that is none of these, or
 * truncated or corrupt, rejects with an InputFormatError; a DICOM encoding that is not decoded
 * (MPEG, HTJ2K and others) with an UnsupportedError that names it.
 */
export async function readSlices(bytes: Uint8Array, options: ReadOptions = {}): Promise<Slice[]> {
  if (!(bytes instanceof Uint8Array)) throw new ArgumentError("readSlices: expected the file's bytes as a Uint8Array");
  const { window } = options;
  if (window !== undefined && (!Array.isArray(window) || window.length !== 2 || !window.every(Number.isFinite) || !(window[1] > 0))) {
    throw new ArgumentError(`readSlices: window must be [center, width] with a positive width, got ${JSON.stringify(window)}`);
  }
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return [decodePng(bytes)];
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return [decodeJpeg(bytes)];
  if (String.fromCharCode(...bytes.subarray(128, 132)) === "DICM") return decodeDicom(bytes, window);
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new InputFormatError(`not a PNG, JPEG or DICOM Part 10 file (${bytes.length} bytes, starting ${head || "with nothing"})`);
}
