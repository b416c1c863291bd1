// Writers for the io tests: PNGs of the kinds pngjs cannot write (palette, 1/2/4-bit, Adam7
// interlaced, tRNS) and DICOM Part 10 files, byte by byte, so that every pixel value is known.
import { deflateSync } from "node:zlib";
import { crc32 } from "../src/io/png.js";


function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

export interface RawPng {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Samples row-major, SAMPLES_PER_PIXEL[colorType] a pixel (palette indices for colour type 3). */
  samples: number[];
  interlace?: boolean;
  palette?: number[][];
  trns?: number[];
}

/** A PNG with filter type 0 on every row, deflated by Node's zlib. */
export function rawPng(o: RawPng): Uint8Array {
  const spp = SAMPLES_PER_PIXEL[o.colorType];
  const passes = o.interlace ? ADAM7 : [[0, 0, 1, 1]];
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const xs: number[] = [];
    for (let x = x0; x < o.width; x += dx) xs.push(x);
    if (xs.length === 0) continue;
    for (let y = y0; y < o.height; y += dy) {
      rows.push(0);
      let acc = 0;
      let bits = 0;
      for (const x of xs) {
        for (let k = 0; k < spp; k++) {
          const v = o.samples[(y * o.width + x) * spp + k];
          if (o.bitDepth === 16) rows.push(v >> 8, v & 255);
          else if (o.bitDepth === 8) rows.push(v);
          else {
            acc = (acc << o.bitDepth) | v;
            bits += o.bitDepth;
            if (bits === 8) {
              rows.push(acc);
              acc = 0;
              bits = 0;
            }
          }
        }
      }
      if (bits > 0) rows.push(acc << (8 - bits));
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, o.width);
  view.setUint32(4, o.height);
  ihdr.set([o.bitDepth, o.colorType, 0, 0, o.interlace ? 1 : 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)];
  if (o.palette) parts.push(chunk("PLTE", new Uint8Array(o.palette.flat())));
  if (o.trns) parts.push(chunk("tRNS", new Uint8Array(o.trns)));
  parts.push(chunk("IDAT", new Uint8Array(deflateSync(new Uint8Array(rows)))), chunk("IEND", new Uint8Array(0)));
  return concat(parts);
}

export const IMPLICIT_LE = "1.2.840.10008.1.2";
export const EXPLICIT_LE = "1.2.840.10008.1.2.1";
export const EXPLICIT_BE = "1.2.840.10008.1.2.2";

/** A data element: tag as 0xGGGGEEEE, VR, and a value (strings as text, US as numbers, OB/OW as bytes, SQ as items). */
export type Element = [tag: number, vr: string, value: string | number[] | Uint8Array | Element[][]];

const LONG_VRS = new Set(["OB", "OW", "OF", "SQ", "UT", "UN"]);

function encodeElements(elements: Element[], syntax: string): Uint8Array {
  const little = syntax !== EXPLICIT_BE;
  const explicit = syntax !== IMPLICIT_LE;
  const parts: Uint8Array[] = [];
  for (const [tag, vr, value] of [...elements].sort((a, b) => a[0] - b[0])) {
    const body = encodeValue(vr, value, syntax);
    const long = LONG_VRS.has(vr);
    const head = new Uint8Array(explicit ? (long ? 12 : 8) : 8);
    const view = new DataView(head.buffer);
    view.setUint16(0, tag >>> 16, little);
    view.setUint16(2, tag & 0xffff, little);
    if (!explicit) view.setUint32(4, body.length, little);
    else {
      head[4] = vr.charCodeAt(0);
      head[5] = vr.charCodeAt(1);
      if (long) view.setUint32(8, body.length, little);
      else view.setUint16(6, body.length, little);
    }
    parts.push(head, body);
  }
  return concat(parts);
}

function encodeValue(vr: string, value: Element[2], syntax: string): Uint8Array {
  const little = syntax !== EXPLICIT_BE;
  if (value instanceof Uint8Array) return value;
  if (vr === "SQ") {
    return concat((value as Element[][]).map((item) => {
      const body = encodeElements(item, syntax);
      const head = new Uint8Array(8);
      const view = new DataView(head.buffer);
      view.setUint16(0, 0xfffe, little);
      view.setUint16(2, 0xe000, little);
      view.setUint32(4, body.length, little);
      return concat([head, body]);
    }));
  }
  if (vr === "US") {
    const out = new Uint8Array(2 * (value as number[]).length);
    (value as number[]).forEach((v, i) => new DataView(out.buffer).setUint16(2 * i, v, little));
    return out;
  }
  let text = value as string;
  if (text.length % 2) text += vr === "UI" ? "\0" : " ";
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * A DICOM Part 10 file: preamble, DICM, explicit VR little endian meta group 2, then the data set.
 * The meta group's SOP Instance UID is the data set's (0008,0018) when it has one, as a PACS checks.
 */
export function dicomFile(syntax: string, elements: Element[]): Uint8Array {
  const instance = elements.find((e) => e[0] === 0x00080018)?.[2];
  const meta = encodeElements([
    [0x00020001, "OB", new Uint8Array([0, 1])],
    [0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.7"],
    [0x00020003, "UI", typeof instance === "string" ? instance : "1.2.3.4.5"],
    [0x00020010, "UI", syntax],
  ], EXPLICIT_LE);
  const length = encodeElements([[0x00020000, "UL", new Uint8Array(new Uint32Array([meta.length]).buffer)]], EXPLICIT_LE);
  return concat([new Uint8Array(128), Uint8Array.from("DICM", (c) => c.charCodeAt(0)), length, meta, encodeElements(elements, syntax)]);
}

/** Stored 16-bit sample words (already masked and two's-complemented) in the file's byte order. */
export function words(values: number[], littleEndian = true): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v & 0xffff, littleEndian));
  return out;
}

/** The image pixel module for a grey image. */
export function greyImage(o: { rows: number; columns: number; allocated: number; stored: number; signed?: boolean; photometric?: string; frames?: number; highBit?: number }): Element[] {
  const els: Element[] = [
    [0x00280002, "US", [1]],
    [0x00280004, "CS", o.photometric ?? "MONOCHROME2"],
    [0x00280010, "US", [o.rows]],
    [0x00280011, "US", [o.columns]],
    [0x00280100, "US", [o.allocated]],
    [0x00280101, "US", [o.stored]],
    [0x00280102, "US", [o.highBit ?? o.stored - 1]],
    [0x00280103, "US", [o.signed ? 1 : 0]],
  ];
  if (o.frames !== undefined) els.push([0x00280008, "IS", String(o.frames)]);
  return els;
}
