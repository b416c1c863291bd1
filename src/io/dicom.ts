import dicomParser, { type DataSet } from "dicom-parser";
import { UnsupportedError } from "../errors.js";
import { InputFormatError } from "../errors.js";
import { decoding } from "./decoding.js";
import type { Slice } from "./slice.js";

const BIG_ENDIAN = "1.2.840.10008.1.2.2";
const UNCOMPRESSED = new Set(["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", BIG_ENDIAN]);

// The names of the transfer syntaxes that are not decoded, for the error that names them.
const TRANSFER_SYNTAXES: Record<string, string> = {
  "1.2.840.10008.1.2.1.98": "Encapsulated Uncompressed Explicit VR Little Endian",
  "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
  "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
  "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.91": "JPEG 2000 Image Compression",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
  "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
  "1.2.840.10008.1.2.4.101": "MPEG2 Main Profile / High Level",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
  "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
  "1.2.840.10008.1.2.5": "RLE Lossless",
};

/**
 * Decodes an uncompressed DICOM Part 10 file to one slice per frame, in modality units (Rescale
 * Slope/Intercept applied). A slice's range is `window` ([center, width]) if given, else the
 * frame's first Window Center/Width, else the smallest and largest value of all frames; the
 * window spans center - width/2 .. center + width/2. MONOCHROME1 frames are mirrored inside
 * that range, so that higher values always mean brighter. RGB frames keep their stored range.
 */
export function decodeDicom(bytes: Uint8Array, window?: readonly [number, number]): Slice[] {
  // dicom-parser reads values lazily: an attribute cut off by the end of the file throws when read.
  return decoding("dicom", () => decodeFrames(bytes, window));
}

function decodeFrames(bytes: Uint8Array, window?: readonly [number, number]): Slice[] {
  // The transfer syntax is checked before the data set is parsed: dicom-parser would otherwise
  // try to inflate a deflated data set with Node's zlib.
  const meta = dicomParser.readPart10Header(bytes);
  const syntax = meta.string("x00020010");
  if (!syntax) throw new InputFormatError("dicom: the file meta information has no Transfer Syntax UID (0002,0010)");
  if (!UNCOMPRESSED.has(syntax)) {
    throw new UnsupportedError(
      `dicom: transfer syntax ${syntax} (${TRANSFER_SYNTAXES[syntax] ?? "unknown"}) is not decoded; ` +
        "only uncompressed (implicit or explicit VR little endian, explicit VR big endian) pixel data is",
    );
  }
  const ds = dicomParser.parseDicom(bytes);

  const rows = ds.uint16("x00280010") ?? 0;
  const columns = ds.uint16("x00280011") ?? 0;
  const samples = ds.uint16("x00280002") ?? 1;
  const photometric = ds.string("x00280004") ?? (samples === 3 ? "RGB" : "MONOCHROME2");
  const allocated = ds.uint16("x00280100") ?? 0;
  const stored = ds.uint16("x00280101") ?? allocated;
  const highBit = ds.uint16("x00280102") ?? stored - 1;
  const signed = ds.uint16("x00280103") === 1;
  const planar = ds.uint16("x00280006") === 1;
  const frames = ds.intString("x00280008") ?? 1;
  const pixels = ds.elements.x7fe00010;

  if (rows < 1 || columns < 1) throw new InputFormatError(`dicom: Rows and Columns must be positive, got ${rows} x ${columns}`);
  if (!pixels) throw new InputFormatError("dicom: the file has no Pixel Data (7FE0,0010)");
  if (allocated !== 8 && allocated !== 16) throw new UnsupportedError(`dicom: Bits Allocated ${allocated} is not supported (only 8 and 16)`);
  if (stored < 1 || stored > allocated || highBit < stored - 1 || highBit >= allocated) {
    throw new InputFormatError(`dicom: Bits Stored ${stored} and High Bit ${highBit} do not fit Bits Allocated ${allocated}`);
  }
  const grey = photometric === "MONOCHROME1" || photometric === "MONOCHROME2";
  if (!grey && photometric !== "RGB") throw new UnsupportedError(`dicom: Photometric Interpretation ${photometric} is not supported`);
  if (samples !== (grey ? 1 : 3)) throw new InputFormatError(`dicom: ${photometric} needs ${grey ? 1 : 3} Samples per Pixel, got ${samples}`);
  if (!Number.isInteger(frames) || frames < 1) throw new InputFormatError(`dicom: Number of Frames must be a positive integer, got ${frames}`);

  const frameSamples = rows * columns * samples;
  const frameBytes = frameSamples * (allocated / 8);
  const available = Math.min(pixels.length, bytes.length - pixels.dataOffset);
  if (available < frames * frameBytes) {
    throw new InputFormatError(`dicom: Pixel Data holds ${Math.max(available, 0)} bytes, ${frames} frame(s) of ${rows} x ${columns} need ${frames * frameBytes}`);
  }

  const littleEndian = syntax !== BIG_ENDIAN;
  const view = new DataView(bytes.buffer, bytes.byteOffset + pixels.dataOffset, frames * frameBytes);
  // Explicit VR big endian byte-swaps OW words, so 8-bit samples in OW sit pairwise swapped.
  const swap8 = !littleEndian && pixels.vr === "OW" ? 1 : 0;
  const shift = highBit + 1 - stored;
  const mask = 2 ** stored - 1;
  const sign = 2 ** (stored - 1);

  const decoded: Float32Array[] = [];
  for (let f = 0; f < frames; f++) {
    const slope = grey ? frameValue(ds, f, "x00289145", "x00281053") ?? 1 : 1;
    const intercept = grey ? frameValue(ds, f, "x00289145", "x00281052") ?? 0 : 0;
    const data = new Float32Array(frameSamples);
    const plane = rows * columns;
    for (let i = 0; i < frameSamples; i++) {
      const at = f * frameSamples + (planar ? (i % 3) * plane + Math.floor(i / 3) : i);
      const raw = allocated === 8 ? view.getUint8(at ^ swap8) : view.getUint16(2 * at, littleEndian);
      let v = (raw >>> shift) & mask;
      if (signed && v >= sign) v -= 2 * sign;
      data[i] = v * slope + intercept;
      if (!Number.isFinite(data[i])) {
        throw new InputFormatError(`dicom: Rescale Slope ${slope} and Intercept ${intercept} take stored value ${v} to ${v * slope + intercept}, outside the range of float32`);
      }
    }
    decoded.push(data);
  }

  const modality = ds.string("x00080060");
  const dataRange = grey ? extent(decoded) : ([0, mask] as [number, number]);
  return decoded.map((data, f) => {
    let range = dataRange;
    if (grey) {
      const center = window?.[0] ?? frameValue(ds, f, "x00289132", "x00281050");
      const width = window?.[1] ?? frameValue(ds, f, "x00289132", "x00281051");
      if (center !== undefined && width !== undefined && width > 0) range = [center - width / 2, center + width / 2];
    }
    if (photometric === "MONOCHROME1") {
      const mirror = range[0] + range[1];
      for (let i = 0; i < data.length; i++) data[i] = mirror - data[i];
    }
    const parts = ["dicom", modality, `${stored}-bit`, photometric, frames > 1 ? `frame ${f + 1}/${frames}` : undefined];
    return { width: columns, height: rows, channels: grey ? 1 : 3, data, range, source: parts.filter(Boolean).join(" ") };
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

function extent(frames: Float32Array[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const data of frames) {
    for (const v of data) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}
