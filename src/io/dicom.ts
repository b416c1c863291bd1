import dicomParser, { type DataSet } from "dicom-parser";
import { inflateSync } from "fflate";
import { InputFormatError, UnsupportedError } from "../errors.js";
import { codec, type DecodedFrame } from "./codecs.js";
import { decoding, describe } from "./decoding.js";
import { encapsulatedFrames, type Fragment } from "./encapsulated.js";
import { decodeRle } from "./rle.js";
import type { Slice } from "./slice.js";
import { type PixelEncoding, type TransferSyntax, decodedSyntaxes, transferSyntax } from "./transfer-syntax.js";

// Colour a codec hands back as RGB: JPEG and JPEG 2000 decoders undo their own colour transforms.
const DECODED_AS_RGB: Partial<Record<PixelEncoding, string[]>> = {
  jpeg: ["YBR_FULL_422", "YBR_FULL"],
  "jpeg-2000": ["YBR_ICT", "YBR_RCT"],
};

/**
 * Decodes a DICOM Part 10 file to one slice per frame, in modality units (Rescale Slope/Intercept
 * applied). Uncompressed, deflated, RLE, JPEG (baseline and 8-bit extended), JPEG Lossless,
 * JPEG-LS and JPEG 2000 pixel data are decoded, the codecs loaded when a file first needs them. A
 * slice's range is `window` ([center, width]) if given, else the frame's first Window
 * Center/Width, else the smallest and largest value of all frames; the window spans
 * center - width/2 .. center + width/2. MONOCHROME1 frames are mirrored inside that range, so
 * that higher values always mean brighter. RGB frames keep their stored range.
 */
export async function decodeDicom(bytes: Uint8Array, window?: readonly [number, number]): Promise<Slice[]> {
  return (await decodeDicomImage(bytes, window)).slices;
}

/** decodeDicom's slices with the file's geometry, for a series (series.ts) from one parse. */
export async function decodeDicomImage(bytes: Uint8Array, window?: readonly [number, number]): Promise<{ slices: Slice[]; geometry: DicomGeometry }> {
  // dicom-parser reads values lazily: an attribute cut off by the end of the file throws when read.
  const file = decoding("dicom", () => parse(bytes));
  const raw = await frames(file);
  return decoding("dicom", () => ({ slices: slices(file, raw, window), geometry: geometryOf(file.ds) }));
}

/**
 * Where a DICOM image lies in patient space and which series it belongs to: what a series is
 * grouped, sorted and checked by (series.ts). Positions and orientations are DICOM's, in LPS
 * millimetres; attributes the file lacks, or holds malformed, are left out.
 */
export interface DicomGeometry {
  seriesUid?: string;
  instanceNumber?: number;
  /** Image Position (Patient): the centre of the first transmitted pixel. */
  position?: [number, number, number];
  /** Image Orientation (Patient): the direction cosines of a row, then of a column. */
  orientation?: [number, number, number, number, number, number];
  /** Pixel Spacing: between rows, then between columns. */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  /** The first Window Center/Width, when the file has one. */
  window?: [number, number];
  modality?: string;
  rows: number;
  columns: number;
  frames: number;
}

/**
 * The geometry of a DICOM Part 10 file, read from its attributes up to the Pixel Data (which
 * need not be there: the head of a file is enough). A file that is not DICOM, or whose header is
 * cut off, is an InputFormatError.
 */
export function dicomGeometry(bytes: Uint8Array): DicomGeometry {
  return decoding("dicom", () => {
    const meta = dicomParser.readPart10Header(bytes);
    const syntax = transferSyntax(meta.string("x00020010") ?? "");
    const options = syntax.deflated ? { inflater: (all: Uint8Array, at: number) => inflated(all, at), untilTag: "x7fe00010" } : { untilTag: "x7fe00010" };
    let ds: DataSet;
    try {
      ds = dicomParser.parseDicom(bytes, options);
    } catch (e) {
      const partial = typeof e === "object" && e !== null && "dataSet" in e ? (e as { dataSet: DataSet }).dataSet : undefined;
      if (!partial) throw e;
      ds = partial;
    }
    return geometryOf(ds);
  });
}

function geometryOf(ds: DataSet): DicomGeometry {
  const numbers = (tag: string, n: number) => {
    const text = ds.string(tag);
    if (text === undefined) return undefined;
    const values = text.split("\\").map(Number);
    return values.length === n && values.every(Number.isFinite) ? values : undefined;
  };
  const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : undefined);
  const center = finite(ds.floatString("x00281050"));
  const width = finite(ds.floatString("x00281051"));
  const g: DicomGeometry = {
    rows: ds.uint16("x00280010") ?? 0,
    columns: ds.uint16("x00280011") ?? 0,
    frames: ds.intString("x00280008") ?? 1,
  };
  const uid = ds.string("x0020000e");
  if (uid) g.seriesUid = uid;
  const instance = finite(ds.intString("x00200013"));
  if (instance !== undefined) g.instanceNumber = instance;
  const position = numbers("x00200032", 3);
  if (position) g.position = position as DicomGeometry["position"];
  const orientation = numbers("x00200037", 6);
  if (orientation) g.orientation = orientation as DicomGeometry["orientation"];
  const spacing = numbers("x00280030", 2);
  if (spacing && spacing.every((v) => v > 0)) g.pixelSpacing = spacing as [number, number];
  const thickness = finite(ds.floatString("x00180050"));
  if (thickness !== undefined && thickness > 0) g.sliceThickness = thickness;
  if (center !== undefined && width !== undefined && width > 0) g.window = [center, width];
  const modality = ds.string("x00080060");
  if (modality) g.modality = modality;
  return g;
}

interface Parsed {
  ds: DataSet;
  syntax: TransferSyntax;
  rows: number;
  columns: number;
  samples: number;
  photometric: string;
  allocated: number;
  stored: number;
  highBit: number;
  signed: boolean;
  planar: boolean;
  frames: number;
  grey: boolean;
}

function parse(bytes: Uint8Array): Parsed {
  // The transfer syntax is checked before the data set is parsed, so that an unsupported one is
  // named even when dicom-parser could not read the rest.
  const meta = dicomParser.readPart10Header(bytes);
  const uid = meta.string("x00020010");
  if (!uid) throw new InputFormatError("dicom: the file meta information has no Transfer Syntax UID (0002,0010)");
  const syntax = transferSyntax(uid);
  if (!syntax.encoding) {
    throw new UnsupportedError(`dicom: transfer syntax ${uid} (${syntax.name}) is not decoded; these are: ${decodedSyntaxes().join(", ")}`);
  }
  const ds = dataSet(bytes, syntax);

  const rows = ds.uint16("x00280010") ?? 0;
  const columns = ds.uint16("x00280011") ?? 0;
  const samples = ds.uint16("x00280002") ?? 1;
  const photometric = ds.string("x00280004") ?? (samples === 3 ? "RGB" : "MONOCHROME2");
  const allocated = ds.uint16("x00280100") ?? 0;
  const stored = ds.uint16("x00280101") ?? allocated;
  const highBit = ds.uint16("x00280102") ?? stored - 1;
  const frames = ds.intString("x00280008") ?? 1;

  if (rows < 1 || columns < 1) throw new InputFormatError(`dicom: Rows and Columns must be positive, got ${rows} x ${columns}`);
  if (!ds.elements.x7fe00010) throw new InputFormatError("dicom: the file has no Pixel Data (7FE0,0010)");
  if (allocated !== 8 && allocated !== 16) throw new UnsupportedError(`dicom: Bits Allocated ${allocated} is not supported (only 8 and 16)`);
  if (stored < 1 || stored > allocated || highBit < stored - 1 || highBit >= allocated) {
    throw new InputFormatError(`dicom: Bits Stored ${stored} and High Bit ${highBit} do not fit Bits Allocated ${allocated}`);
  }
  const grey = photometric === "MONOCHROME1" || photometric === "MONOCHROME2";
  const rgb = photometric === "RGB" || (DECODED_AS_RGB[syntax.encoding]?.includes(photometric) ?? false);
  if (!grey && !rgb) throw new UnsupportedError(`dicom: Photometric Interpretation ${photometric} is not supported under ${syntax.name}`);
  if (samples !== (grey ? 1 : 3)) throw new InputFormatError(`dicom: ${photometric} needs ${grey ? 1 : 3} Samples per Pixel, got ${samples}`);
  if (!Number.isInteger(frames) || frames < 1) throw new InputFormatError(`dicom: Number of Frames must be a positive integer, got ${frames}`);
  if (syntax.encoding === "jpeg" && stored > 8 && !grey) {
    throw new UnsupportedError(`dicom: ${syntax.name} (${uid}) with ${stored} bits stored in ${photometric} is not decoded; 12-bit lossy JPEG is decoded in greyscale only`);
  }
  return {
    ds, syntax, rows, columns, samples, photometric, allocated, stored, highBit, frames, grey,
    signed: ds.uint16("x00280103") === 1,
    planar: ds.uint16("x00280006") === 1,
  };
}

function dataSet(bytes: Uint8Array, syntax: TransferSyntax): DataSet {
  try {
    // A deflated data set is inflated here (raw deflate, PS3.5 A.5) rather than by dicom-parser,
    // which would reach for Node's zlib; it parses what the inflater returns from its start.
    return dicomParser.parseDicom(bytes, syntax.deflated ? { inflater: (all: Uint8Array, at: number) => inflated(all, at) } : undefined);
  } catch (e) {
    // A file cut off inside its encapsulated pixel data fails the parse after the fragments were
    // listed: the partial data set goes on, so that the fragment at fault is named.
    const partial = typeof e === "object" && e !== null && "dataSet" in e ? (e as { dataSet: DataSet }).dataSet : undefined;
    if (partial?.elements.x7fe00010?.encapsulatedPixelData && syntax.encoding !== "native") return partial;
    if (e instanceof InputFormatError) throw e;
    throw new InputFormatError(`dicom ${syntax.name} (${syntax.uid}): ${describe(e)}`);
  }
}

function inflated(all: Uint8Array, at: number): Uint8Array {
  try {
    return inflateSync(all.subarray(at));
  } catch (e) {
    throw new InputFormatError(`dicom: the deflated data set (${transferSyntax("1.2.840.10008.1.2.1.99").name}) does not inflate: ${describe(e)}`);
  }
}

/** Every frame's samples, interleaved, as stored (masking, sign and rescale come later). */
type RawFrame = ArrayLike<number>;

async function frames(p: Parsed): Promise<RawFrame[]> {
  const { ds, syntax, rows, columns, samples, frames: count } = p;
  const pixels = ds.elements.x7fe00010;
  const data = ds.byteArray;
  const where = (f: number) => `dicom ${syntax.name} (${syntax.uid}): ${count > 1 ? `frame ${f + 1}/${count}: ` : ""}`;

  if (syntax.encoding === "native") {
    if (pixels.encapsulatedPixelData) throw new InputFormatError(`dicom: the Pixel Data is encapsulated, which ${syntax.name} (${syntax.uid}) does not allow`);
    return decoding("dicom", () => nativeFrames(p, data, pixels.dataOffset, pixels.length, pixels.vr));
  }
  if (!pixels.encapsulatedPixelData || !pixels.fragments) {
    throw new InputFormatError(`dicom ${syntax.name} (${syntax.uid}): the Pixel Data is not encapsulated (no fragments), which this transfer syntax needs`);
  }
  let compressed: Uint8Array[];
  try {
    compressed = encapsulatedFrames(data, pixels.fragments as Fragment[], count, pixels.basicOffsetTable, startsFrame(syntax.encoding!)?.test);
  } catch (e) {
    throw new InputFormatError(`dicom ${syntax.name} (${syntax.uid}): ${describe(e)}`);
  }

  const starts = startsFrame(syntax.encoding!);
  const bad = starts ? compressed.findIndex((frame) => !starts.test(frame)) : -1;
  if (bad >= 0) throw new InputFormatError(`${where(bad)}the frame's data does not begin with ${starts!.what}`);

  const plane = rows * columns;
  if (syntax.encoding === "rle") {
    return compressed.map((frame, f) => {
      try {
        return decodeRle(frame, plane, samples, p.allocated === 8 ? 1 : 2);
      } catch (e) {
        throw new InputFormatError(where(f) + describe(e));
      }
    });
  }
  // libjpeg-turbo's build takes 8-bit samples; 12-bit lossy JPEG has a decoder of its own.
  const decode = await codec(syntax.encoding === "jpeg" && p.stored > 8 ? "jpeg-12" : syntax.encoding!);
  return compressed.map((frame, f) => {
    let out: DecodedFrame;
    try {
      out = decode(frame);
    } catch (e) {
      throw new InputFormatError(where(f) + describe(e));
    }
    if (out.width !== columns || out.height !== rows || out.components !== samples) {
      throw new InputFormatError(
        `${where(f)}the codestream is ${out.width} x ${out.height} with ${out.components} component(s); the data set says ${columns} x ${rows} with ${samples}`,
      );
    }
    if (out.bits > p.allocated) throw new InputFormatError(`${where(f)}the codestream has ${out.bits}-bit samples, more than Bits Allocated ${p.allocated}`);
    if (out.samples.length !== plane * samples) {
      throw new InputFormatError(`${where(f)}the decoder gave ${out.samples.length} samples for ${columns} x ${rows} pixels of ${samples} sample(s)`);
    }
    return out.samples;
  });
}

// How a frame's codestream begins: a JPEG start-of-image marker, a JPEG 2000 codestream or JP2
// signature. It tells frames apart in files without an offset table whose frames span several
// fragments, and it turns data that is no codestream away before a codec sees it.
function startsFrame(encoding: PixelEncoding): { test: (b: Uint8Array) => boolean; what: string } | undefined {
  if (encoding === "jpeg" || encoding === "jpeg-lossless" || encoding === "jpeg-ls") {
    return { test: (b) => b[0] === 0xff && b[1] === 0xd8, what: "a JPEG Start Of Image marker (FF D8)" };
  }
  if (encoding === "jpeg-2000") {
    return {
      test: (b) => (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) || (b[3] === 0x0c && b[4] === 0x6a && b[5] === 0x50),
      what: "a JPEG 2000 codestream (FF 4F FF 51) or JP2 signature",
    };
  }
  return undefined;
}

function nativeFrames(p: Parsed, data: Uint8Array, offset: number, length: number, vr: string | undefined): RawFrame[] {
  const { rows, columns, samples, allocated, frames, planar } = p;
  const frameSamples = rows * columns * samples;
  const frameBytes = frameSamples * (allocated / 8);
  const available = Math.min(length, data.length - offset);
  if (available < frames * frameBytes) {
    throw new InputFormatError(`dicom: Pixel Data holds ${Math.max(available, 0)} bytes, ${frames} frame(s) of ${rows} x ${columns} need ${frames * frameBytes}`);
  }
  const littleEndian = !p.syntax.bigEndian;
  const view = new DataView(data.buffer, data.byteOffset + offset, frames * frameBytes);
  // Explicit VR big endian byte-swaps OW words, so 8-bit samples in OW sit pairwise swapped.
  const swap8 = !littleEndian && vr === "OW" ? 1 : 0;
  const plane = rows * columns;
  const out: RawFrame[] = [];
  // Interleaved little-endian samples on a little-endian host are the machine's own words: copied as they are.
  if (!planar && littleEndian && new Uint8Array(Uint16Array.of(1).buffer)[0] === 1) {
    for (let f = 0; f < frames; f++) {
      // A copy into a buffer of its own (a Node Buffer's slice would be a view into a shared pool).
      const bytes = new Uint8Array(data.subarray(offset + f * frameBytes, offset + (f + 1) * frameBytes));
      out.push(allocated === 8 ? bytes : new Uint16Array(bytes.buffer, 0, frameSamples));
    }
    return out;
  }
  for (let f = 0; f < frames; f++) {
    const raw = allocated === 8 ? new Uint8Array(frameSamples) : new Uint16Array(frameSamples);
    for (let i = 0; i < frameSamples; i++) {
      const at = f * frameSamples + (planar ? (i % 3) * plane + Math.floor(i / 3) : i);
      raw[i] = allocated === 8 ? view.getUint8(at ^ swap8) : view.getUint16(2 * at, littleEndian);
    }
    out.push(raw);
  }
  return out;
}

function slices(p: Parsed, raw: RawFrame[], window?: readonly [number, number]): Slice[] {
  const { ds, grey, stored, photometric, frames } = p;
  // Native samples sit at High Bit inside their word, and RLE keeps that word (its segments are
  // the bytes of the composite pixel code, PS3.5 G.2); the image codecs hand back bare values.
  const shift = p.syntax.encoding === "native" || p.syntax.encoding === "rle" ? p.highBit + 1 - stored : 0;
  const mask = 2 ** stored - 1;
  const sign = 2 ** (stored - 1);

  const decoded = raw.map((samples, f) => {
    const slope = grey ? frameValue(ds, f, "x00289145", "x00281053") ?? 1 : 1;
    const intercept = grey ? frameValue(ds, f, "x00289145", "x00281052") ?? 0 : 0;
    const data = new Float32Array(samples.length);
    const signed = p.signed;
    for (let i = 0; i < samples.length; i++) {
      let v = (samples[i] >>> shift) & mask;
      if (signed && v >= sign) v -= 2 * sign;
      data[i] = v * slope + intercept;
    }
    // The rescale is linear: only when the extreme stored values leave float32 can a pixel have.
    const extremes = signed ? [-sign, sign - 1] : [0, mask];
    if (!extremes.every((v) => Number.isFinite(Math.fround(v * slope + intercept)))) {
      const at = data.findIndex((x) => !Number.isFinite(x));
      if (at >= 0) {
        let stored = (samples[at] >>> shift) & mask;
        if (signed && stored >= sign) stored -= 2 * sign;
        throw new InputFormatError(`dicom: Rescale Slope ${slope} and Intercept ${intercept} take stored value ${stored} to ${stored * slope + intercept}, outside the range of float32`);
      }
    }
    return data;
  });

  const modality = ds.string("x00080060");
  // The extent is a pass over every frame: taken only when a frame has no window to use.
  let dataRange: [number, number] | undefined = grey ? undefined : [0, mask];
  return decoded.map((data, f) => {
    let windowed: [number, number] | undefined;
    if (grey) {
      const center = window?.[0] ?? frameValue(ds, f, "x00289132", "x00281050");
      const width = window?.[1] ?? frameValue(ds, f, "x00289132", "x00281051");
      if (center !== undefined && width !== undefined && width > 0) windowed = [center - width / 2, center + width / 2];
    }
    const range = windowed ?? (dataRange ??= extent(decoded));
    if (photometric === "MONOCHROME1") {
      const mirror = range[0] + range[1];
      for (let i = 0; i < data.length; i++) data[i] = mirror - data[i];
    }
    const spacing = pixelSpacing(ds, f);
    const parts = ["dicom", modality, `${stored}-bit`, grey ? photometric : "RGB", frames > 1 ? `frame ${f + 1}/${frames}` : undefined];
    return { width: p.columns, height: p.rows, channels: grey ? 1 : 3, data, range, ...(spacing ? { spacing } : {}), source: parts.filter(Boolean).join(" ") };
  });
}

// Enhanced multi-frame objects keep rescale and window per frame in functional groups (per-frame,
// then shared) and classic objects at the top level; the first that has the value wins.
function frameValue(ds: DataSet, frame: number, group: string, tag: string): number | undefined {
  const groups = [ds.elements.x52009230?.items?.[frame]?.dataSet, ds.elements.x52009229?.items?.[0]?.dataSet];
  for (const holder of [...groups.map((g) => g?.elements[group]?.items?.[0]?.dataSet), ds]) {
    const v = holder?.floatString(tag);
    if (v !== undefined && Number.isFinite(v)) return v;
  }
  return undefined;
}

// Pixel Spacing (row, column) in the frame's Pixel Measures (enhanced objects) or at the top level,
// else Imager Pixel Spacing (projection radiography: at the detector); only two positive numbers count.
function pixelSpacing(ds: DataSet, frame: number): [number, number] | undefined {
  const groups = [ds.elements.x52009230?.items?.[frame]?.dataSet, ds.elements.x52009229?.items?.[0]?.dataSet];
  const holders = [...groups.map((g) => g?.elements.x00289110?.items?.[0]?.dataSet), ds];
  for (const [holder, tag] of [...holders.map((h) => [h, "x00280030"] as const), [ds, "x00181164"] as const]) {
    if (!holder?.elements[tag]) continue;
    const pair = [holder.floatString(tag, 0), holder.floatString(tag, 1)];
    if (pair.every((v) => v !== undefined && Number.isFinite(v) && v > 0)) return pair as [number, number];
  }
  return undefined;
}

function extent(frames: Float32Array[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const data of frames) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}
