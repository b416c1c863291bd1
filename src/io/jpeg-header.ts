import { InputFormatError } from "../errors.js";

/** A JPEG frame header (SOFn): the marker's second byte names the process. */
export interface JpegFrameHeader {
  marker: number;
  precision: number;
  height: number;
  width: number;
  components: number;
}

/**
 * The first frame header of a JPEG stream. Reads segment lengths only as far as the bytes go, so
 * that a stream no decoder has seen yet cannot send it out of bounds.
 */
export function jpegFrameHeader(bytes: Uint8Array): JpegFrameHeader {
  let at = 2;
  while (at + 9 < bytes.length) {
    const marker = bytes[at + 1];
    if (bytes[at] !== 0xff || marker === 0xff) {
      at++;
      continue;
    }
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC), which share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return {
        marker,
        precision: bytes[at + 4],
        height: (bytes[at + 5] << 8) | bytes[at + 6],
        width: (bytes[at + 7] << 8) | bytes[at + 8],
        components: bytes[at + 9],
      };
    }
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  }
  throw new InputFormatError("jpeg: no frame header");
}
