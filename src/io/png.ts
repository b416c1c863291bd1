// fast-png (pure ES modules over fflate: no Node built-in, polyfill or code generation), so that
// Node and browsers decode with the same code and a strict Content-Security-Policy holds; the
// browserified pngjs build it replaces carried polyfills built on the Function constructor.
// fast-png's Adam7 path handles only whole-byte pixels, so an interlaced image of 1, 2 or 4-bit
// samples is split here into its seven passes, each re-wrapped as a plain PNG for fast-png to
// unfilter. pngjs stays the tests' PNG writer.
import { decode, encode } from "fast-png";
import { unzlibSync, zlibSync } from "fflate";
import { ArgumentError, InputFormatError } from "../errors.js";
import { decoding } from "./decoding.js";
import type { Slice } from "./slice.js";

const COLOUR_TYPES: Record<number, string> = { 0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA" };
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7: [first column, first row, column step, row step] of each pass.
const PASSES = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

interface Chunk {
  type: string;
  data: Uint8Array;
}

/** Decodes a PNG of any colour type and bit depth, interlaced or not, to a slice at its full bit depth. */
export function decodePng(bytes: Uint8Array): Slice {
  return decoding("png", () => {
    const chunks = readChunks(bytes);
    const ihdr = chunks[0]?.type === "IHDR" && chunks[0].data.length === 13 ? chunks[0].data : undefined;
    if (!ihdr) throw new InputFormatError("png: the first chunk is not a 13-byte IHDR");
    const view = new DataView(ihdr.buffer, ihdr.byteOffset, 13);
    const width = view.getUint32(0);
    const height = view.getUint32(4);
    const [depth, colourType, , , interlace] = ihdr.subarray(8);
    const spp = SAMPLES[colourType];
    if (spp === undefined) throw new InputFormatError(`png: colour type ${colourType} does not exist`);
    if (width === 0 || height === 0 || width * height > 2 ** 28) throw new InputFormatError(`png: ${width} x ${height} pixels is not a size simdcnn reads`);
    // A tRNS chunk only concerns alpha, which is dropped, and fast-png misreads an RGB one.
    const plain = chunks.some((c) => c.type === "tRNS") ? png(chunks.filter((c) => c.type !== "tRNS" && c.type !== "IEND")) : bytes;
    const samples = interlace === 1 && depth < 8 ? deinterlaced(chunks, width, height, depth, spp) : unpack(decode(plain).data, width, height, spp, depth);
    const palette = colourType === 3 ? paletteOf(chunks) : undefined;
    const grey = colourType === 0 || colourType === 4;
    const channels = grey ? 1 : 3;
    const data = new Float32Array(width * height * channels);
    for (let p = 0, o = 0; p < width * height; p++) {
      if (palette) {
        const i = samples[p] * 3;
        if (i + 2 >= palette.length) throw new InputFormatError(`png: palette index ${samples[p]} is past the palette's ${palette.length / 3} entries`);
        data[o++] = palette[i];
        data[o++] = palette[i + 1];
        data[o++] = palette[i + 2];
      } else if (grey) {
        data[o++] = samples[p * spp];
      } else {
        data[o++] = samples[p * spp];
        data[o++] = samples[p * spp + 1];
        data[o++] = samples[p * spp + 2];
      }
    }
    // Palette entries are always 8-bit, whatever the index depth; alpha is dropped.
    const max = palette ? 255 : 2 ** depth - 1;
    return { width, height, channels, data, range: [0, max], source: `png ${depth}-bit ${COLOUR_TYPES[colourType]}${interlace ? " interlaced" : ""}` };
  });
}

// The file's chunks, each checked for its length and its CRC, up to and including IEND.
function readChunks(bytes: Uint8Array): Chunk[] {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) throw new InputFormatError("png: no PNG signature");
  const chunks: Chunk[] = [];
  let at = 8;
  for (;;) {
    if (at + 12 > bytes.length) throw new InputFormatError(`png: truncated at byte ${at} (no IEND chunk)`);
    const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
    if (at + 12 + length > bytes.length) throw new InputFormatError(`png: a chunk of ${length} bytes at ${at} runs past the end of the file`);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const crc = new DataView(bytes.buffer, bytes.byteOffset + at + 8 + length, 4).getUint32(0);
    if (crc !== crc32(bytes.subarray(at + 4, at + 8 + length))) throw new InputFormatError(`png: the ${type} chunk at byte ${at} fails its CRC`);
    chunks.push({ type, data: bytes.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
    if (type === "IEND") return chunks;
  }
}

function paletteOf(chunks: Chunk[]): Uint8Array {
  const plte = chunks.find((c) => c.type === "PLTE");
  if (!plte || plte.data.length % 3 !== 0) throw new InputFormatError("png: a palette image without a valid PLTE chunk");
  return plte.data;
}

// Each Adam7 pass of a sub-byte image becomes a plain PNG (its rows, still filtered, deflated
// again) that fast-png decodes; the pass's pixels are then scattered into the image.
function deinterlaced(chunks: Chunk[], width: number, height: number, depth: number, spp: number): Uint8Array {
  const idat = chunks.filter((c) => c.type === "IDAT");
  const stream = new Uint8Array(idat.reduce((n, c) => n + c.data.length, 0));
  let o = 0;
  for (const c of idat) {
    stream.set(c.data, o);
    o += c.data.length;
  }
  const raw = unzlibSync(stream);
  const out = new Uint8Array(width * height * spp);
  const ihdr = chunks[0].data;
  const plte = chunks.find((c) => c.type === "PLTE");
  let at = 0;
  for (const [x0, y0, dx, dy] of PASSES) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = 1 + Math.ceil((pw * spp * depth) / 8);
    if (at + ph * rowBytes > raw.length) throw new InputFormatError("png: the image data is shorter than its interlaced passes");
    const header = ihdr.slice();
    new DataView(header.buffer).setUint32(0, pw);
    new DataView(header.buffer).setUint32(4, ph);
    header[12] = 0;
    const pass = png([{ type: "IHDR", data: header }, ...(plte ? [plte] : []), { type: "IDAT", data: zlibSync(raw.subarray(at, at + ph * rowBytes)) }]);
    at += ph * rowBytes;
    const samples = unpack(decode(pass).data, pw, ph, spp, depth);
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        for (let s = 0; s < spp; s++) out[((y0 + y * dy) * width + x0 + x * dx) * spp + s] = samples[(y * pw + x) * spp + s];
      }
    }
  }
  return out;
}

function png(chunks: Chunk[]): Uint8Array {
  const all = [...chunks, { type: "IEND", data: new Uint8Array(0) }];
  const out = new Uint8Array(8 + all.reduce((n, c) => n + 12 + c.data.length, 0));
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  for (const c of all) {
    const view = new DataView(out.buffer);
    view.setUint32(at, c.data.length);
    for (let i = 0; i < 4; i++) out[at + 4 + i] = c.type.charCodeAt(i);
    out.set(c.data, at + 8);
    view.setUint32(at + 8 + c.data.length, crc32(out.subarray(at + 4, at + 8 + c.data.length)));
    at += 12 + c.data.length;
  }
  return out;
}

// Samples below 8 bits come packed, most significant bits first, each row starting on a byte.
function unpack(data: ArrayLike<number>, width: number, height: number, spp: number, depth: number): ArrayLike<number> {
  if (depth >= 8) return data;
  const perRow = width * spp;
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const out = new Uint8Array(perRow * height);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth;
      out[y * perRow + i] = (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

let table: Uint32Array | undefined;

/** The CRC-32 of PNG chunks (and of zlib's gzip): polynomial 0xEDB88320. */
export function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encodes 8-bit pixels (row-major) as a PNG: RGBA (4 bytes a pixel, the default) or grey (1 byte a pixel). */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 1 | 4 = 4): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ArgumentError(`encodePng: width and height must be positive integers, got ${width} x ${height}`);
  }
  if (channels !== 1 && channels !== 4) throw new ArgumentError(`encodePng: channels must be 1 (grey) or 4 (RGBA), got ${channels}`);
  if (!(pixels instanceof Uint8Array) || pixels.length !== width * height * channels) {
    throw new ArgumentError(`encodePng: expected a Uint8Array of ${width * height * channels} bytes (${channels === 4 ? "RGBA" : "grey"}), got ${pixels?.length}`);
  }
  return encode({ width, height, data: pixels, depth: 8, channels });
}
