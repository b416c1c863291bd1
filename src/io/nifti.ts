import { gunzipSync } from "fflate";
import { InputFormatError, UnsupportedError } from "../errors.js";
import { describe } from "./decoding.js";
import { type Volume, extent } from "./volume.js";

type NiftiReader = typeof import("nifti-reader-js");

// The reader is loaded when a NIfTI file first needs it, so that bundles without volumes never fetch it.
let reader: Promise<NiftiReader> | undefined;
const niftiReader = () => (reader ??= import("nifti-reader-js"));

// NIfTI datatype codes (nifti1.h) that are read, with their size and how to read one value.
const DATATYPES: Record<number, { name: string; bytes: number; read: (v: DataView, at: number, le: boolean) => number }> = {
  2: { name: "uint8", bytes: 1, read: (v, at) => v.getUint8(at) },
  4: { name: "int16", bytes: 2, read: (v, at, le) => v.getInt16(at, le) },
  8: { name: "int32", bytes: 4, read: (v, at, le) => v.getInt32(at, le) },
  16: { name: "float32", bytes: 4, read: (v, at, le) => v.getFloat32(at, le) },
  64: { name: "float64", bytes: 8, read: (v, at, le) => v.getFloat64(at, le) },
  512: { name: "uint16", bytes: 2, read: (v, at, le) => v.getUint16(at, le) },
};
// The other codes nifti1.h defines: named in the error rather than called unknown.
const UNREAD: Record<number, string> = {
  1: "binary", 32: "complex64", 128: "RGB24", 256: "int8", 768: "uint32", 1024: "int64", 1280: "uint64",
  1536: "float128", 1792: "complex128", 2048: "complex256", 2304: "RGBA32",
};

/** The geometry a NIfTI header gives: what a caller needs to plan work on the volume before reading its voxels. */
export interface NiftiHeader {
  version: "nifti-1" | "nifti-2";
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: number[][];
}

/**
 * Reads the header of an uncompressed NIfTI-1 or NIfTI-2 file, which is all `bytes` need to hold
 * (its first 540 bytes), with readNifti's checks of datatype and dimensions and its affine.
 */
export async function readNiftiHeader(bytes: Uint8Array): Promise<NiftiHeader> {
  return (await header(bytes)).geometry;
}

async function header(raw: Uint8Array) {
  const nifti = await niftiReader();
  const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  if (!nifti.isNIFTI(buffer)) throw new InputFormatError(`nifti: not a NIfTI-1 or NIfTI-2 single file (no 'n+1' or 'n+2' magic in ${raw.length} bytes)`);
  let header: ReturnType<NiftiReader["readHeader"]>;
  try {
    header = nifti.readHeader(buffer);
  } catch (e) {
    throw new InputFormatError(`nifti: the header does not read: ${describe(e)}`);
  }
  const version = nifti.isNIFTI2(buffer) ? "nifti-2" : "nifti-1";
  const type = DATATYPES[header.datatypeCode];
  if (!type) {
    const name = UNREAD[header.datatypeCode];
    if (name) throw new UnsupportedError(`nifti: datatype ${header.datatypeCode} (${name}) is not read; these are: ${Object.values(DATATYPES).map((t) => t.name).join(", ")}`);
    throw new InputFormatError(`nifti: datatype code ${header.datatypeCode} is not one NIfTI defines`);
  }
  const rank = header.dims[0];
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= 7)) throw new InputFormatError(`nifti: dim[0] must be 1..7, got ${rank}`);
  const dims = [1, 2, 3].map((d) => (d <= rank ? header.dims[d] : 1)) as [number, number, number];
  if (!dims.every((d) => Number.isInteger(d) && d >= 1)) throw new InputFormatError(`nifti: dimensions must be positive, got ${dims.join(" x ")}`);
  const extra = header.dims.slice(4, rank + 1).filter((d) => d !== 1);
  if (extra.length > 0) throw new UnsupportedError(`nifti: a ${rank}-D image of ${header.dims.slice(1, rank + 1).join(" x ")}; only 3-D volumes are read`);
  const spacing = [1, 2, 3].map((d) => Math.abs(header.pixDims[d]) || 1) as [number, number, number];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const geometry: NiftiHeader = { version, dims, spacing, affine: affineOf(header, view, version, spacing) };
  return { header, type, geometry };
}

/**
 * Reads a NIfTI-1 or NIfTI-2 single file (.nii, or gzipped .nii.gz) to a Volume. The affine is
 * the sform when its code is set, else the qform (quaternion, pixdim and qfac), else pixdim
 * scaling alone (NIfTI's "method 1"); both are RAS+ already. Values are scaled by scl_slope and
 * scl_inter when the slope is set. The range is [cal_min, cal_max] when the header sets one,
 * else the extent of the values. Datatypes read: uint8, int16, uint16, int32, float32, float64;
 * another is an UnsupportedError naming it, a code NIfTI does not define an InputFormatError, as
 * is a truncated or malformed file. Only 3-D volumes (a 4th dimension of 1) are read.
 */
export async function readNifti(bytes: Uint8Array): Promise<Volume> {
  let raw = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes);
    } catch (e) {
      throw new InputFormatError(`nifti: the gzip stream does not inflate: ${describe(e)}`);
    }
  }
  const { header: h, type, geometry } = await header(raw);
  const { dims, version } = geometry;
  const count = dims[0] * dims[1] * dims[2];
  const offset = Math.round(h.vox_offset);
  const need = offset + count * type.bytes;
  if (raw.length < need) throw new InputFormatError(`nifti: ${dims.join(" x ")} ${type.name} voxels from byte ${offset} need ${need} bytes, the file has ${raw.length}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = h.littleEndian;
  const scaled = Number.isFinite(h.scl_slope) && h.scl_slope !== 0;
  const slope = scaled ? h.scl_slope : 1;
  const inter = scaled && Number.isFinite(h.scl_inter) ? h.scl_inter : 0;
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = type.read(view, offset + i * type.bytes, le) * slope + inter;

  const { cal_min: lo, cal_max: hi } = h as { cal_min: number; cal_max: number };
  return {
    dims, spacing: geometry.spacing, affine: geometry.affine, data,
    range: Number.isFinite(lo) && Number.isFinite(hi) && hi > lo ? [lo, hi] : extent(data),
    source: `${version} ${type.name} ${dims.join("x")}`,
  };
}

interface Header {
  qform_code: number;
  sform_code: number;
  quatern_b: number;
  quatern_c: number;
  quatern_d: number;
  qoffset_x: number;
  qoffset_y: number;
  qoffset_z: number;
  pixDims: number[];
  littleEndian: boolean;
}

// The reader fills its own `affine` from the qform or the sform by rules that differ between its
// NIfTI-1 and NIfTI-2 code; the srow rows are read here from their fixed offsets instead.
function affineOf(h: Header, view: DataView, version: string, pix: [number, number, number]): number[][] {
  if (h.sform_code > 0) {
    const rows = [0, 1, 2].map((r) =>
      [0, 1, 2, 3].map((c) => (version === "nifti-2" ? view.getFloat64(400 + (r * 4 + c) * 8, h.littleEndian) : view.getFloat32(280 + (r * 4 + c) * 4, h.littleEndian))),
    );
    return [...rows, [0, 0, 0, 1]];
  }
  if (h.qform_code > 0) {
    const [b, c, d] = [h.quatern_b, h.quatern_c, h.quatern_d];
    const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
    const rotation = [
      [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
      [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
      [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
    ];
    const qfac = h.pixDims[0] < 0 ? -1 : 1;
    const scale = [pix[0], pix[1], pix[2] * qfac];
    const offset = [h.qoffset_x, h.qoffset_y, h.qoffset_z];
    return [...rotation.map((row, r) => [...row.map((v, col) => v * scale[col]), offset[r]]), [0, 0, 0, 1]];
  }
  return [[pix[0], 0, 0, 0], [0, pix[1], 0, 0], [0, 0, pix[2], 0], [0, 0, 0, 1]];
}
