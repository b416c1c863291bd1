import type { SegmentResult } from "./output.js";

/** One volume's classes in millilitres, summed over its slices. */
export interface ClassVolumes {
  file: string;
  series?: string;
  classes: { label: string; ml: number }[];
}

/**
 * Each segmented volume's class volumes: every slice's class areas (mm2) times the thickness it
 * stands for, the distance between the midpoints to its neighbours' positions (so a missing
 * slice's share goes half to each neighbour, and the end slices reach as far beyond as to their
 * one neighbour). Volumes of one slice, or whose slices lack areas (no pixel spacing), have none.
 */
export function classVolumes(results: readonly SegmentResult[]): ClassVolumes[] {
  const groups = new Map<string, Extract<SegmentResult, { classes: unknown }>[]>();
  for (const r of results) {
    if ("error" in r || r.slice === undefined || r.position === undefined) continue;
    const key = `${r.file}\u0000${r.series ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: ClassVolumes[] = [];
  for (const lines of groups.values()) {
    const sorted = [...lines].sort((a, b) => a.slice! - b.slice!);
    if (sorted.length < 2 || sorted.some((l) => l.classes.some((c) => c.area_mm2 === undefined))) continue;
    const at = sorted.map((l) => l.position!);
    const mm3 = sorted[0].classes.map(() => 0);
    for (const [i, l] of sorted.entries()) {
      const before = i > 0 ? (at[i] - at[i - 1]) / 2 : (at[1] - at[0]) / 2;
      const after = i < at.length - 1 ? (at[i + 1] - at[i]) / 2 : (at[i] - at[i - 1]) / 2;
      l.classes.forEach((c, k) => (mm3[k] += c.area_mm2! * Math.abs(before + after)));
    }
    out.push({
      file: sorted[0].file,
      ...(sorted[0].series !== undefined ? { series: sorted[0].series } : {}),
      classes: sorted[0].classes.map((c, k) => ({ label: c.label, ml: mm3[k] / 1000 })),
    });
  }
  return out;
}
