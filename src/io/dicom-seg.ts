import { ArgumentError } from "../errors.js";
import { type DataSet, cielab, code, dateTime, newUid, patientAndStudy, sourceUids, writePart10 } from "./dicom-write.js";

// A DICOM Segmentation (PS3.3 A.51), binary: one segment per class but the background, each with
// one frame per source frame (empty frames included, so that every segment covers the whole
// source), in the geometry of the source frame it was derived from.

/** One frame of a source image (by its header, read with dicom-write.ts's readHeader) and its label map. */
export interface SegFrame {
  source: DataSet;
  /** The frame's index (from 0) in a multi-frame source; 0 for a single-frame one. */
  frame: number;
  /** A class index per pixel of the source frame, row-major, Rows x Columns. */
  labels: Uint8Array;
}

/** What a segmentation says about its classes and who made it. */
export interface SegOptions {
  labels: readonly string[];
  colors: readonly (readonly [number, number, number])[];
  /** The class that is no segment. */
  background: number;
  /** The model: its name, and a version that tells it apart from others of that name (a hash of its file). */
  algorithm: { name: string; version: string };
  /** The content date and time written (default now). */
  now?: Date;
}

const SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4";
// A coding scheme of our own (PS3.16 8.2: designators starting with 99 are private): a model's
// class names have no standard code, and a standard one would claim a meaning the model does not.
const SCHEME = "99SIMDCNN";

const item = (v: unknown): DataSet | undefined => (Array.isArray(v) ? v[0] : (v as DataSet | undefined));
const numbers = (v: unknown): number[] | undefined => (v === undefined || v === "" ? undefined : (Array.isArray(v) ? v : [v]).map(Number));

/** Where a source frame lies: from its file's per-frame or shared functional groups (multi-frame), else its top-level attributes. */
function plane(source: DataSet, frame: number): { position?: number[]; orientation?: number[]; spacing?: number[]; thickness?: number } {
  const perFrame = item((source.PerFrameFunctionalGroupsSequence as DataSet[] | undefined)?.[frame]);
  const shared = item(source.SharedFunctionalGroupsSequence);
  const group = (key: string) => item(perFrame?.[key]) ?? item(shared?.[key]);
  const measures = group("PixelMeasuresSequence");
  return {
    position: numbers(item(perFrame?.PlanePositionSequence)?.ImagePositionPatient ?? source.ImagePositionPatient),
    orientation: numbers(group("PlaneOrientationSequence")?.ImageOrientationPatient ?? source.ImageOrientationPatient),
    spacing: numbers(measures?.PixelSpacing ?? source.PixelSpacing),
    thickness: numbers(measures?.SliceThickness ?? source.SliceThickness)?.[0],
  };
}

/**
 * The segmentation of `frames` as a DICOM Part 10 file (explicit VR little endian), in the
 * source's patient, study and frame of reference, referencing every source instance. All frames
 * must be of one size and (when they have one) one orientation.
 */
export async function writeDicomSeg(frames: readonly SegFrame[], o: SegOptions): Promise<Uint8Array> {
  if (frames.length === 0) throw new ArgumentError("writeDicomSeg: no frames");
  const first = frames[0].source;
  const rows = Number(first.Rows);
  const columns = Number(first.Columns);
  const planes = frames.map((f) => plane(f.source, f.frame));
  for (const [i, f] of frames.entries()) {
    sourceUids(f.source, "a Segmentation");
    if (Number(f.source.Rows) !== rows || Number(f.source.Columns) !== columns || f.labels.length !== rows * columns) {
      throw new ArgumentError(`writeDicomSeg: frame ${i} is ${f.source.Columns} x ${f.source.Rows} with ${f.labels.length} labels; the first is ${columns} x ${rows}`);
    }
  }
  const located = planes.every((p) => p.position?.length === 3 && p.orientation?.length === 6);
  const orientation = planes[0].orientation;
  if (located && planes.some((p) => p.orientation!.some((c, k) => Math.abs(c - orientation![k]) > 1e-4))) {
    throw new ArgumentError("writeDicomSeg: the source frames differ in orientation");
  }
  const classes = o.labels.map((_, c) => c).filter((c) => c !== o.background);
  const { date, time } = dateTime(o.now ?? new Date());
  const frameOfReference = first.FrameOfReferenceUID ?? (located ? newUid() : undefined);

  const segments: DataSet[] = [];
  for (const [s, c] of classes.entries()) {
    segments.push({
      SegmentNumber: s + 1,
      SegmentLabel: o.labels[c].slice(0, 64),
      SegmentedPropertyCategoryCodeSequence: [code("class", SCHEME, "Model output class")],
      SegmentedPropertyTypeCodeSequence: [code(String(c), SCHEME, o.labels[c].slice(0, 64))],
      SegmentAlgorithmType: "AUTOMATIC",
      SegmentAlgorithmName: o.algorithm.name.slice(0, 64),
      RecommendedDisplayCIELabValue: await cielab(o.colors[c] ?? [255, 255, 255]),
    });
  }

  const perFrame: DataSet[] = [];
  for (const [s] of classes.entries()) {
    for (const [i, f] of frames.entries()) {
      const source: DataSet = { ReferencedSOPClassUID: f.source.SOPClassUID, ReferencedSOPInstanceUID: f.source.SOPInstanceUID };
      if (Number(f.source.NumberOfFrames ?? 1) > 1) source.ReferencedFrameNumber = f.frame + 1;
      perFrame.push({
        DerivationImageSequence: [{
          SourceImageSequence: [{ ...source, PurposeOfReferenceCodeSequence: [code("121322", "DCM", "Source image for image processing operation")] }],
          DerivationCodeSequence: [code("113076", "DCM", "Segmentation")],
        }],
        FrameContentSequence: [{ DimensionIndexValues: [s + 1, i + 1] }],
        ...(located ? { PlanePositionSequence: [{ ImagePositionPatient: planes[i].position }] } : {}),
        SegmentIdentificationSequence: [{ ReferencedSegmentNumber: s + 1 }],
      });
    }
  }

  const dimensionUid = newUid();
  // Frames are indexed by segment, then by where the source frame is: its position when every
  // frame has one, else its place in the source order.
  const secondIndex = located
    ? { DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: "ImagePositionPatient" }
    : { DimensionIndexPointer: 0x00209057, FunctionalGroupPointer: 0x00209111, DimensionDescriptionLabel: "InStackPositionNumber" };
  if (!located) perFrame.forEach((g, k) => Object.assign(item(g.FrameContentSequence)!, { StackID: "1", InStackPositionNumber: (k % frames.length) + 1 }));

  const spacing = planes[0].spacing;
  const shared: DataSet = {};
  if (located) shared.PlaneOrientationSequence = [{ ImageOrientationPatient: orientation }];
  if (spacing?.length === 2) shared.PixelMeasuresSequence = [{ PixelSpacing: spacing, SliceThickness: planes[0].thickness ?? spacing[0] }];

  const seriesInstances = new Map<string, DataSet[]>();
  for (const f of frames) {
    const series = String(f.source.SeriesInstanceUID ?? "");
    const list = seriesInstances.get(series) ?? [];
    if (!list.some((r) => r.ReferencedSOPInstanceUID === f.source.SOPInstanceUID)) list.push({ ReferencedSOPClassUID: f.source.SOPClassUID, ReferencedSOPInstanceUID: f.source.SOPInstanceUID });
    seriesInstances.set(series, list);
  }

  const sop = newUid();
  const dataset: DataSet = {
    SpecificCharacterSet: "ISO_IR 192",
    ImageType: ["DERIVED", "PRIMARY"],
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: sop,
    ContentDate: date,
    ContentTime: time,
    Modality: "SEG",
    Manufacturer: "simdcnn",
    ManufacturerModelName: "simdcnn segment",
    DeviceSerialNumber: "1",
    SoftwareVersions: o.algorithm.version.slice(0, 64),
    ...patientAndStudy(first),
    SeriesInstanceUID: newUid(),
    SeriesNumber: 1,
    SeriesDescription: `Segmentation by ${o.algorithm.name}`.slice(0, 64),
    InstanceNumber: 1,
    ...(frameOfReference ? { FrameOfReferenceUID: frameOfReference, PositionReferenceIndicator: "" } : {}),
    // Type 2C: empty when the frames have no plane orientation to say where the patient is.
    ...(located ? {} : { PatientOrientation: "" }),
    ContentLabel: "SEGMENTATION",
    ContentDescription: `${o.algorithm.name}`.slice(0, 64),
    ContentCreatorName: "",
    SamplesPerPixel: 1,
    PhotometricInterpretation: "MONOCHROME2",
    NumberOfFrames: classes.length * frames.length,
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: "00",
    SegmentationType: "BINARY",
    SegmentSequence: segments,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionUid }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimensionUid, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: "ReferencedSegmentNumber" },
      { DimensionOrganizationUID: dimensionUid, ...secondIndex },
    ],
    SharedFunctionalGroupsSequence: [shared],
    PerFrameFunctionalGroupsSequence: perFrame,
    ReferencedSeriesSequence: [...seriesInstances].map(([series, instances]) => ({ SeriesInstanceUID: series, ReferencedInstanceSequence: instances })),
    PixelData: packedFrames(frames, classes),
  };
  return writePart10(dataset, { PixelData: "OB" });
}

/**
 * The frames of every class in turn as DICOM's 1-bit pixel data: pixel p of the concatenated
 * frames is bit p % 8 (least significant first) of byte p / 8, frames following each other with
 * no padding, the whole padded to an even length.
 */
function packedFrames(frames: readonly SegFrame[], classes: readonly number[]): ArrayBuffer[] {
  const all = classes.flatMap((c) => frames.map((f) => ({ labels: f.labels, c })));
  const total = all.reduce((n, f) => n + f.labels.length, 0);
  const out = new Uint8Array(Math.ceil(Math.ceil(total / 8) / 2) * 2);
  let p = 0;
  for (const { labels, c } of all) {
    for (let i = 0; i < labels.length; i++, p++) if (labels[i] === c) out[p >> 3] |= 1 << (p & 7);
  }
  return [out.buffer];
}
