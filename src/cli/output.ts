import type { Method } from "../explain/explain.js";
import type { Prediction } from "../explain/predict.js";
import type { Box } from "../explain/region.js";
import type { ClassArea } from "../io/segmentation.js";

/**
 * Where a result's slice is in a volume: the series (its Series Instance UID, for DICOM), the
 * axis, the slice's index along it (from 0, in order of increasing position) and its position in
 * mm (RAS: along S for axial, A for coronal, R for sagittal).
 */
export interface VolumePlace {
  series?: string;
  axis?: string;
  slice?: number;
  position?: number;
}

/** Which slice a line is about: its file, and its frame in a multi-frame file or its place in a volume. */
export type Where = { file: string; frame?: number } & VolumePlace;

/** Where the heat map of a slice is hottest, in the slice's pixels, and its value (a drop or gain of the explained score). */
export interface Peak {
  x: number;
  y: number;
  value: number;
}

/** An input, or a slice of it, that could not be processed, and why. */
export type Failure = Where & { error: string };

/** One line of classify's output: a classified slice, or a failure. */
export type Result =
  | (Where & {
      top: Prediction[];
      /** The region around the heat's peak, in the slice's pixels; absent when the heat is flat. */
      box?: Box;
      peak?: Peak;
      heatmap?: string;
      /** How the heat map was made and what score it measures. */
      explanation?: { method: Method; score: string; value: number; layer?: string; flat: boolean; note?: string };
      /** The DICOM SR written with the input's results (--sr), and its URL once stored (--store). */
      sr?: string;
      stored?: string;
    })
  | Failure;

/** One line of segment's output: a segmented slice (its size, its classes' shares, the files written), or a failure. */
export type SegmentResult = (Where & { width: number; height: number; classes: ClassArea[]; mask: string; overlay?: string; seg?: string; stored?: string }) | Failure;

/** A box a detector found on a slice: its class (name and index), score, and corners in the slice's pixels (pixel i spans i..i+1). */
export interface DetectedBox {
  class: string;
  index: number;
  score: number;
  box: { x0: number; y0: number; x1: number; y1: number };
}

/** One line of detect's output: a slice's size, its boxes (highest score first) and the box PNG written, or a failure. */
export type DetectResult = (Where & { width: number; height: number; detections: DetectedBox[]; boxes?: string }) | Failure;

const fmt = (p: number) => p.toFixed(4);

// A table row is one line: control characters (a newline in a file name or a reason) are escaped.
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

function place(r: VolumePlace): string {
  const series = r.series === undefined ? [] : [`series ${r.series}`];
  const slice = r.slice === undefined ? [] : [`${r.axis} ${r.slice} @ ${r.position} mm`];
  return [...series, ...slice].join(", ");
}

const fromVolume = (r: VolumePlace) => r.slice !== undefined || r.series !== undefined;

const where = (r: Where) => (r.frame !== undefined ? `${r.file} [frame ${r.frame}]` : fromVolume(r) ? `${r.file} [${place(r)}]` : r.file);

// When any line comes from a volume, the CSV formats end in these columns; otherwise they are left out.
const VOLUME_COLUMNS = ["series", "axis", "slice", "position_mm"];

function volumeColumns(results: readonly Where[]): { header: string[]; values(r: Where): string[] } {
  if (!results.some(fromVolume)) return { header: [], values: () => [] };
  return {
    header: VOLUME_COLUMNS,
    values: (r) => [r.series ?? "", r.axis ?? "", r.slice === undefined ? "" : String(r.slice), r.position === undefined ? "" : String(r.position)],
  };
}

// Columns padded to their widest cell; `right` is the column aligned right.
function columns(header: string[], rows: string[][], right: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === right ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function table(results: Result[]): string {
  const rows = results.map((r) => {
    if ("error" in r) return [where(r), "ERROR", "", r.error].map(oneLine);
    const [best, ...rest] = r.top;
    return [where(r), best.label, fmt(best.probability), rest.map((p) => `${p.label} ${fmt(p.probability)}`).join(", ")].map(oneLine);
  });
  return columns(["file", "class", "probability", "next"], rows, 2);
}

/** A row per slice: its size and each non-background class found, with its pixels, share and area. */
export function segmentTable(results: SegmentResult[], background: number): string {
  const rows = results.map((r) => {
    if ("error" in r) return [where(r), "ERROR", r.error].map(oneLine);
    const found = r.classes.filter((c) => c.index !== background && c.pixels > 0);
    const area = (c: ClassArea) => (c.area_mm2 === undefined ? "" : `, ${c.area_mm2.toFixed(1)} mm2`);
    const text = found.map((c) => `${c.label} ${c.pixels} px (${(100 * c.fraction).toFixed(2)}%${area(c)})`).join("; ");
    return [where(r), `${r.width}x${r.height}`, text || "none"].map(oneLine);
  });
  return columns(["file", "size", "classes found"], rows, -1);
}

const corners = (b: DetectedBox["box"]) => `${b.x0} ${b.y0} ${b.x1} ${b.y1}`;

/** A row per box (class, score, corners x0 y0 x1 y1 in the slice's pixels); a slice without boxes has a row saying none. */
export function detectTable(results: DetectResult[]): string {
  const rows = results.flatMap((r) => {
    if ("error" in r) return [[where(r), "ERROR", "", r.error].map(oneLine)];
    if (r.detections.length === 0) return [[where(r), "none", "", ""].map(oneLine)];
    return r.detections.map((d) => [where(r), d.class, fmt(d.score), corners(d.box)].map(oneLine));
  });
  return columns(["file", "class", "score", "box (x0 y0 x1 y1)"], rows, 2);
}

export function json(results: object[]): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * A line per slice: file, frame, size, the files written, then pixels, fraction and area (empty
 * without a pixel spacing) of each class, named `pixels:<label>` and so on, the error, and when
 * any slice comes from a volume, its series, axis, slice and position_mm.
 */
export function segmentCsv(results: SegmentResult[], labels: readonly string[]): string {
  const perClass = labels.flatMap((l) => [`pixels:${l}`, `fraction:${l}`, `area_mm2:${l}`]);
  const volume = volumeColumns(results);
  const lines = [["file", "frame", "width", "height", "mask", "overlay", ...perClass, "error", ...volume.header].map(csvField).join(",")];
  for (const r of results) {
    const frame = r.frame === undefined ? "" : String(r.frame);
    if ("error" in r) {
      lines.push([r.file, frame, "", "", "", "", ...perClass.map(() => ""), r.error, ...volume.values(r)].map(csvField).join(","));
      continue;
    }
    const values = r.classes.flatMap((c) => [String(c.pixels), c.fraction.toFixed(6), c.area_mm2 === undefined ? "" : c.area_mm2.toFixed(3)]);
    lines.push([r.file, frame, String(r.width), String(r.height), r.mask, r.overlay ?? "", ...values, "", ...volume.values(r)].map(csvField).join(","));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A line per box: file, frame, slice size, class, class index, score, x0, y0, x1, y1 (slice
 * pixels), the box PNG, the error, and the volume columns when any slice comes from a volume. A
 * slice without boxes has one line with the box columns empty.
 */
export function detectCsv(results: DetectResult[]): string {
  const volume = volumeColumns(results);
  const lines = [["file", "frame", "width", "height", "class", "class_index", "score", "x0", "y0", "x1", "y1", "boxes", "error", ...volume.header].join(",")];
  for (const r of results) {
    const frame = r.frame === undefined ? "" : String(r.frame);
    if ("error" in r) {
      lines.push([r.file, frame, "", "", "", "", "", "", "", "", "", "", r.error, ...volume.values(r)].map(csvField).join(","));
      continue;
    }
    const size = [String(r.width), String(r.height)];
    const rows = r.detections.length > 0 ? r.detections : [undefined];
    for (const d of rows) {
      const box = d ? [d.class, String(d.index), String(d.score), String(d.box.x0), String(d.box.y0), String(d.box.x1), String(d.box.y1)] : ["", "", "", "", "", "", ""];
      lines.push([r.file, frame, ...size, ...box, r.boxes ?? "", "", ...volume.values(r)].map(csvField).join(","));
    }
  }
  return `${lines.join("\n")}\n`;
}

/** CSV with a header line; when any result comes from a volume, the columns series, axis, slice and position_mm follow the others. */
export function csv(results: Result[]): string {
  const volume = volumeColumns(results);
  const lines = [["file", "frame", "class", "probability", "top_k", "box", "peak", "heatmap", "error", ...volume.header].join(",")];
  for (const r of results) {
    const frame = r.frame === undefined ? "" : String(r.frame);
    if ("error" in r) {
      lines.push([r.file, frame, "", "", "", "", "", "", r.error, ...volume.values(r)].map(csvField).join(","));
      continue;
    }
    const topK = r.top.map((p) => `${p.label}:${fmt(p.probability)}`).join(" ");
    const box = r.box ? `${r.box.x} ${r.box.y} ${r.box.width} ${r.box.height}` : "";
    const peak = r.peak ? `${r.peak.x} ${r.peak.y} ${r.peak.value}` : "";
    lines.push([r.file, frame, r.top[0].label, fmt(r.top[0].probability), topK, box, peak, r.heatmap ?? "", "", ...volume.values(r)].map(csvField).join(","));
  }
  return `${lines.join("\n")}\n`;
}
