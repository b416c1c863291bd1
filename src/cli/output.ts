import type { Method } from "../explain/explain.js";
import type { Prediction } from "../explain/predict.js";
import type { Box } from "../explain/region.js";

/** Where the heat map of a slice is hottest, in the slice's pixels, and its value (a drop or gain of the explained score). */
export interface Peak {
  x: number;
  y: number;
  value: number;
}

/** One line of output: a classified slice, or an input that could not be classified and why. */
export type Result =
  | {
      file: string;
      frame?: number;
      top: Prediction[];
      /** The region around the heat's peak, in the slice's pixels; absent when the heat is flat. */
      box?: Box;
      peak?: Peak;
      heatmap?: string;
      /** How the heat map was made and what score it measures. */
      explanation?: { method: Method; score: string; value: number; layer?: string; flat: boolean; note?: string };
    }
  | { file: string; frame?: number; error: string };

const fmt = (p: number) => p.toFixed(4);

// A table row is one line: control characters (a newline in a file name or a reason) are escaped.
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

export function table(results: Result[]): string {
  const rows = results.map((r) => {
    const name = r.frame === undefined ? r.file : `${r.file} [frame ${r.frame}]`;
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

export function csv(results: Result[]): string {
  const lines = ["file,frame,class,probability,top_k,box,peak,heatmap,error"];
  for (const r of results) {
    const frame = r.frame === undefined ? "" : String(r.frame);
    if ("error" in r) {
      lines.push([r.file, frame, "", "", "", "", "", "", r.error].map(csvField).join(","));
      continue;
    }
    const topK = r.top.map((p) => `${p.label}:${fmt(p.probability)}`).join(" ");
    const box = r.box ? `${r.box.x} ${r.box.y} ${r.box.width} ${r.box.height}` : "";
    const peak = r.peak ? `${r.peak.x} ${r.peak.y} ${r.peak.value}` : "";
    lines.push([r.file, frame, r.top[0].label, fmt(r.top[0].probability), topK, box, peak, r.heatmap ?? "", ""].map(csvField).join(","));
  }
  return `${lines.join("\n")}\n`;
}
