import jpeg from "jpeg-js";
import { InputFormatError } from "../errors.js";
import { decoding } from "./decoding.js";
import type { Slice } from "./slice.js";

// The frame types jpeg-js decodes; it rejects the others (lossless, hierarchical, arithmetic).
const PROCESSES: Record<number, string> = { 0xc0: "baseline", 0xc1: "extended", 0xc2: "progressive" };

/** Decodes a baseline or progressive JPEG (grey, YCbCr, CMYK or Adobe RGB) to an 8-bit slice. */
export function decodeJpeg(bytes: Uint8Array): Slice {
  // Not tolerant: a truncated scan is an error here, not an image with missing blocks.
  const image = decoding("jpeg", () =>
    jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false }),
  );
  const { width, height } = image;
  const frame = frameHeader(bytes);
  const grey = frame.components === 1;
  // jpeg-js writes a grey image as R = G = B; keeping one of the three keeps it grey.
  const data = grey ? Float32Array.from({ length: width * height }, (_, i) => image.data[3 * i]) : Float32Array.from(image.data);
  return {
    width, height, channels: grey ? 1 : 3, data, range: [0, 255],
    source: `jpeg ${frame.process} ${grey ? "grey" : "RGB"}`,
  };
}

// jpeg-js does not say how many components the image had, so the frame header (SOFn) is read
// here; the decoder has already accepted the file, so its segments are well formed.
function frameHeader(bytes: Uint8Array): { process: string; components: number } {
  let at = 2;
  while (at + 9 < bytes.length) {
    const marker = bytes[at + 1];
    if (bytes[at] !== 0xff || marker === 0xff) {
      at++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { process: PROCESSES[marker], components: bytes[at + 9] };
    }
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  }
  throw new InputFormatError("jpeg: no frame header");
}
