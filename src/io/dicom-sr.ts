import { ArgumentError } from "../errors.js";
import { type DataSet, code, dateTime, newUid, patientAndStudy, sourceUids, writePart10 } from "./dicom-write.js";

// A DICOM Comprehensive SR (PS3.3 A.35.3) of classifications: a finding per classified frame
// (the predicted class as text, its probability as a number, the frame it was inferred from),
// under the model's name and version. Comprehensive rather than Basic Text SR because a
// probability is a NUM content item, which Basic Text SR does not allow.

/** The classification of one frame of a source image (by its header, read with dicom-write.ts's readHeader). */
export interface SrFinding {
  source: DataSet;
  /** The frame's index (from 0) in a multi-frame source; 0 for a single-frame one. */
  frame: number;
  label: string;
  probability: number;
}

export interface SrOptions {
  /** The model: its name, and a version that tells it apart from others of that name (a hash of its file). */
  algorithm: { name: string; version: string };
  /** The content date and time written (default now). */
  now?: Date;
}

const COMPREHENSIVE_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.33";
// A coding scheme of our own (PS3.16 8.2: designators starting with 99 are private) for the one
// concept no standard code fits: a model's class probability.
const SCHEME = "99SIMDCNN";

const text = (concept: DataSet, value: string, relationship = "CONTAINS"): DataSet => ({
  RelationshipType: relationship, ValueType: "TEXT", ConceptNameCodeSequence: [concept], TextValue: value,
});

/**
 * The report of `findings` as a DICOM Part 10 file (explicit VR little endian), in the first
 * source's patient and study, listing every source instance as evidence.
 */
export async function writeDicomSr(findings: readonly SrFinding[], o: SrOptions): Promise<Uint8Array> {
  if (findings.length === 0) throw new ArgumentError("writeDicomSr: no findings");
  const first = findings[0].source;
  const { date, time } = dateTime(o.now ?? new Date());
  const content: DataSet[] = [
    text(code("111001", "DCM", "Algorithm Name"), o.algorithm.name),
    text(code("111003", "DCM", "Algorithm Version"), o.algorithm.version),
  ];
  for (const f of findings) {
    sourceUids(f.source, "a report");
    const image: DataSet = { ReferencedSOPClassUID: f.source.SOPClassUID, ReferencedSOPInstanceUID: f.source.SOPInstanceUID };
    if (Number(f.source.NumberOfFrames ?? 1) > 1) image.ReferencedFrameNumber = f.frame + 1;
    content.push({
      ...text(code("121071", "DCM", "Finding"), f.label),
      ContentSequence: [
        {
          RelationshipType: "HAS PROPERTIES", ValueType: "NUM", ConceptNameCodeSequence: [code("probability", SCHEME, "Class probability")],
          MeasuredValueSequence: [{ NumericValue: Number(f.probability.toPrecision(6)), MeasurementUnitsCodeSequence: [code("1", "UCUM", "no units")] }],
        },
        { RelationshipType: "INFERRED FROM", ValueType: "IMAGE", ReferencedSOPSequence: [image] },
      ],
    });
  }

  // Evidence: every instance referenced, by study and series.
  const studies = new Map<string, Map<string, Map<string, DataSet>>>();
  for (const f of findings) {
    const study = String(f.source.StudyInstanceUID ?? "");
    const series = String(f.source.SeriesInstanceUID ?? "");
    const s = studies.get(study) ?? new Map<string, Map<string, DataSet>>();
    const instances = s.get(series) ?? new Map<string, DataSet>();
    instances.set(String(f.source.SOPInstanceUID), { ReferencedSOPClassUID: f.source.SOPClassUID, ReferencedSOPInstanceUID: f.source.SOPInstanceUID });
    s.set(series, instances);
    studies.set(study, s);
  }
  const evidence = [...studies].map(([study, series]) => ({
    StudyInstanceUID: study,
    ReferencedSeriesSequence: [...series].map(([uid, instances]) => ({ SeriesInstanceUID: uid, ReferencedSOPSequence: [...instances.values()] })),
  }));

  const dataset: DataSet = {
    SpecificCharacterSet: "ISO_IR 192",
    SOPClassUID: COMPREHENSIVE_SR_STORAGE,
    SOPInstanceUID: newUid(),
    ContentDate: date,
    ContentTime: time,
    Modality: "SR",
    Manufacturer: "simdcnn",
    ...patientAndStudy(first),
    SeriesInstanceUID: newUid(),
    SeriesNumber: 1,
    SeriesDescription: `Classification by ${o.algorithm.name}`.slice(0, 64),
    ReferencedPerformedProcedureStepSequence: [],
    InstanceNumber: 1,
    CompletionFlag: "COMPLETE",
    VerificationFlag: "UNVERIFIED",
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: evidence,
    ValueType: "CONTAINER",
    ConceptNameCodeSequence: [code("18748-4", "LN", "Diagnostic imaging report")],
    ContinuityOfContent: "SEPARATE",
    ContentSequence: content,
  };
  return writePart10(dataset);
}
