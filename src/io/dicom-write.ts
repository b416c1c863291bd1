import { InputFormatError } from "../errors.js";

// What the DICOM objects simdcnn writes (dicom-seg.ts, dicom-sr.ts) share: the header of a source
// image, read and written with dcmjs. dcmjs is loaded with import() on first use, so that it (some
// hundreds of kB) enters no bundle and no process that does not write DICOM.

/** A DICOM data set by attribute keyword, as dcmjs "naturalizes" it: sequences are arrays of data sets. */
export type DataSet = Record<string, unknown>;

type Dcmjs = (typeof import("dcmjs"))["default"];
let loaded: Promise<Dcmjs> | undefined;
const dcmjs = () => (loaded ??= import("dcmjs").then((m) => m.default));

/**
 * The attributes of a DICOM Part 10 file up to its Pixel Data (which is not read), by keyword. A
 * file that is not DICOM, or whose header is cut off, is an InputFormatError naming `name`.
 */
export async function readHeader(bytes: Uint8Array, name: string): Promise<DataSet> {
  const { data } = await dcmjs();
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const file = data.DicomMessage.readFile(buffer, { untilTag: "7FE00010", includeUntilTagValue: false });
    const ds = data.DicomMetaDictionary.naturalizeDataset(file.dict);
    delete ds.PixelData;
    delete ds._vrMap;
    return ds;
  } catch (e) {
    throw new InputFormatError(`'${name}' is not a readable DICOM Part 10 file: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * A DICOM Part 10 file of `dataset` in explicit VR little endian. `vr` gives the VR of attributes
 * whose VR the dictionary leaves open (Pixel Data: OB or OW).
 */
export async function writePart10(dataset: DataSet, vr: Record<string, string> = {}): Promise<Uint8Array> {
  const { data } = await dcmjs();
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_UID,
    ImplementationVersionName: "SIMDCNN",
  };
  const dict = new data.DicomDict(data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = data.DicomMetaDictionary.denaturalizeDataset({ ...dataset, _vrMap: vr });
  return new Uint8Array(dict.write());
}

const EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1";
// A UID under 2.25 (ISO/IEC 9834-8: a UUID as one decimal number) needs no registered root.
const IMPLEMENTATION_UID = "2.25.173526794150383071916312003626473905429";

/** A new UID: 2.25 and a random UUID as a decimal number (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomUUID().replaceAll("-", "")}`).toString()}`;
}

/** DICOM DA and TM of `date` (UTC): YYYYMMDD, HHMMSS. */
export function dateTime(date: Date): { date: string; time: string } {
  const iso = date.toISOString();
  return { date: iso.slice(0, 10).replaceAll("-", ""), time: iso.slice(11, 19).replaceAll(":", "") };
}

/**
 * The Patient and General Study attributes of a source image, copied into a derived object of the
 * same study: the type 2 ones present (empty when the source lacks them), the Study Instance UID
 * new only when the source has none.
 */
export function patientAndStudy(source: DataSet): DataSet {
  const keep = (k: string) => source[k] ?? "";
  return {
    PatientName: keep("PatientName"), PatientID: keep("PatientID"), PatientBirthDate: keep("PatientBirthDate"), PatientSex: keep("PatientSex"),
    StudyInstanceUID: source.StudyInstanceUID ?? newUid(), StudyDate: keep("StudyDate"), StudyTime: keep("StudyTime"),
    ReferringPhysicianName: keep("ReferringPhysicianName"), StudyID: keep("StudyID"), AccessionNumber: keep("AccessionNumber"),
  };
}

/**
 * The UIDs a derived object references its source by, checked: a source without a SOP Class,
 * SOP Instance or Series Instance UID cannot be referenced, and is an InputFormatError naming `what`.
 */
export function sourceUids(source: DataSet, what: string): { sopClass: string; sop: string; series: string } {
  const uid = (k: string) => (typeof source[k] === "string" && source[k] !== "" ? (source[k] as string) : undefined);
  const missing = ["SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID"].filter((k) => uid(k) === undefined);
  if (missing.length > 0) throw new InputFormatError(`the source has no ${missing.join(", ")}, by which ${what} references it`);
  return { sopClass: uid("SOPClassUID")!, sop: uid("SOPInstanceUID")!, series: uid("SeriesInstanceUID")! };
}

/** A coded concept: Code Sequence item. */
export const code = (value: string, scheme: string, meaning: string): DataSet => ({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });

/** A display colour (sRGB, 0..255) as DICOM's Recommended Display CIELab Value. */
export async function cielab(rgb: readonly [number, number, number]): Promise<number[]> {
  const { data } = await dcmjs();
  return data.Colors.rgb2DICOMLAB(rgb.map((c) => c / 255)).map((v) => Math.max(0, Math.min(65535, Math.round(v))));
}
