import type { Box } from "../explain/occlusion.js";
import type { Prediction } from "../explain/predict.js";

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

/** One line of output: a classified slice, or an input that could not be classified and why. */
export type Result =
  | ({ file: string; frame?: number; top: Prediction[]; box?: Box; heatmap?: string } & VolumePlace)
  | ({ file: string; frame?: number; error: string } & VolumePlace);

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

export function table(results: Result[]): string {
  const rows = results.map((r) => {
    const name = r.frame !== undefined ? `${r.file} [frame ${r.frame}]` : r.slice !== undefined || r.series !== undefined ? `${r.file} [${place(r)}]` : r.file;
    if ("error" in r) return [name, "ERROR", "", r.error].map(oneLine);
    const [best, ...rest] = r.top;
    return [name, best.label, fmt(best.probability), rest.map((p) => `${p.label} ${fmt(p.probability)}`).join(", ")].map(oneLine);
  });
  const header = ["file", "class", "probability", "next"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function json(results: Result[]): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** CSV with a header line; when any result comes from a volume, the columns series, axis, slice and position_mm follow the others. */
export function csv(results: Result[]): string {
  const volumes = results.some((r) => r.slice !== undefined || r.series !== undefined);
  const lines = [`file,frame,class,probability,top_k,box,heatmap,error${volumes ? ",series,axis,slice,position_mm" : ""}`];
  const where = (r: Result) => (volumes ? [r.series ?? "", r.axis ?? "", r.slice === undefined ? "" : String(r.slice), r.position === undefined ? "" : String(r.position)] : []);
  for (const r of results) {
    const frame = r.frame === undefined ? "" : String(r.frame);
    if ("error" in r) {
      lines.push([r.file, frame, "", "", "", "", "", r.error, ...where(r)].map(csvField).join(","));
      continue;
    }
    const topK = r.top.map((p) => `${p.label}:${fmt(p.probability)}`).join(" ");
    const box = r.box ? `${r.box.x} ${r.box.y} ${r.box.width} ${r.box.height}` : "";
    lines.push([r.file, frame, r.top[0].label, fmt(r.top[0].probability), topK, box, r.heatmap ?? "", "", ...where(r)].map(csvField).join(","));
  }
  return `${lines.join("\n")}\n`;
}
