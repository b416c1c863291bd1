import jpeg from "jpeg-js";
import { decoding } from "./decoding.js";
import { jpegFrameHeader } from "./jpeg-header.js";
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
  // jpeg-js does not say how many components the image had: the frame header does.
  const frame = jpegFrameHeader(bytes);
  const grey = frame.components === 1;
  // jpeg-js writes a grey image as R = G = B; keeping one of the three keeps it grey.
  const data = grey ? Float32Array.from({ length: width * height }, (_, i) => image.data[3 * i]) : Float32Array.from(image.data);
  return {
    width, height, channels: grey ? 1 : 3, data, range: [0, 255],
    source: `jpeg ${PROCESSES[frame.marker]} ${grey ? "grey" : "RGB"}`,
  };
}
