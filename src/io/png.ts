// pngjs's main entry needs Node's zlib and stream, which browser bundlers do not provide; its
// browserified build carries pure-JS copies of them and runs unchanged in Node, so both
// environments decode through the same code. It reads Buffers, hence the `buffer` package
// (Node's own module in Node, the npm package of the same name in a browser bundle).
import pngjs from "pngjs/browser.js";
import { Buffer } from "buffer";
import { ArgumentError } from "../errors.js";
import { decoding } from "./decoding.js";
import type { Slice } from "./slice.js";

const { PNG } = pngjs;

const COLOUR_TYPES: Record<number, string> = { 0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA" };

/** Decodes a PNG of any colour type and bit depth, interlaced or not, to a slice at its full bit depth. */
export function decodePng(bytes: Uint8Array): Slice {
  // skipRescale keeps 16-bit (and 1/2/4-bit) samples at their own depth instead of scaling them
  // to 8 bits; pngjs always returns 4 samples a pixel, RGBA, with palettes already expanded.
  const png = decoding("png", () => PNG.sync.read(Buffer.from(withoutTransparency(bytes)), { skipRescale: true }));
  const { width, height, depth } = png;
  const colorType: number = png.colorType;
  const grey = colorType === 0 || colorType === 4;
  const channels = grey ? 1 : 3;
  const rgba = png.data as unknown as ArrayLike<number>;
  const data = new Float32Array(width * height * channels);
  for (let p = 0, o = 0; o < data.length; p += 4) {
    data[o++] = rgba[p];
    if (!grey) {
      data[o++] = rgba[p + 1];
      data[o++] = rgba[p + 2];
    }
  }
  // Palette entries are always 8-bit, whatever the index depth.
  const max = colorType === 3 ? 255 : 2 ** depth - 1;
  const interlaced = png.interlace ? " interlaced" : "";
  return { width, height, channels, data, range: [0, max], source: `png ${depth}-bit ${COLOUR_TYPES[colorType]}${interlaced}` };
}

// pngjs applies a tRNS chunk of a grey or RGB image by zeroing all four samples of every pixel of
// the transparent colour, which would change pixel values; alpha is dropped anyway, so the chunk
// is removed before decoding.
function withoutTransparency(bytes: Uint8Array): Uint8Array {
  const kept: Uint8Array[] = [bytes.subarray(0, 8)];
  let found = false;
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
    const end = at + 12 + length;
    if (end > bytes.length) break;
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    if (type === "tRNS") found = true;
    else kept.push(bytes.subarray(at, end));
    at = end;
  }
  if (!found) return bytes;
  kept.push(bytes.subarray(at));
  const out = new Uint8Array(kept.reduce((n, part) => n + part.length, 0));
  let o = 0;
  for (const part of kept) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/** Encodes 8-bit RGBA pixels (row-major, 4 bytes a pixel) as a PNG. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ArgumentError(`encodePng: width and height must be positive integers, got ${width} x ${height}`);
  }
  if (!(rgba instanceof Uint8Array) || rgba.length !== width * height * 4) {
    throw new ArgumentError(`encodePng: expected a Uint8Array of ${width * height * 4} bytes (RGBA), got ${rgba?.length}`);
  }
  const png = new PNG({ width, height });
  png.data.set(rgba);
  const out = PNG.sync.write(png, { colorType: 6 });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
