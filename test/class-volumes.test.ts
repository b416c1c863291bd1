// Per-class volumes (mL) of segmented volumes: a series' class areas times the slice spacing its
// geometry was written with, and the share of a missing slice.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classVolumes } from "../src/cli/class-volumes.js";
import type { SegmentResult } from "../src/cli/output.js";
import { simdcnn } from "./cli-run.js";
import { SERIES } from "./fixtures/volumes/geometry.js";

const SEG_MODEL = new URL("../examples/phantom-seg/phantom-seg.onnx", import.meta.url).pathname;
const FIX = new URL("./fixtures/volumes/", import.meta.url).pathname;

const line = (slice: number, position: number, areas: number[]): SegmentResult => ({
  file: "v", series: "1.2", axis: "axial", slice, position, width: 1, height: 1, mask: "m",
  classes: areas.map((a, index) => ({ index, label: `c${index}`, pixels: 0, fraction: 0, area_mm2: a })),
});

describe("classVolumes", () => {
  it("gives each slice the thickness between its neighbours' midpoints, a missing slice's half to each side", () => {
    // Slices at 0, 2, 6 mm (the one at 4 missing): thicknesses 2, 3, 4 (the ends reach as far out as in).
    const v = classVolumes([line(0, 0, [100, 10]), line(1, 2, [200, 0]), line(2, 6, [300, 5]), { file: "x", error: "E" }]);
    expect(v).toEqual([{ file: "v", series: "1.2", classes: [{ label: "c0", ml: (100 * 2 + 200 * 3 + 300 * 4) / 1000 }, { label: "c1", ml: (10 * 2 + 5 * 4) / 1000 }] }]);
  });

  it("gives none for a volume of one slice, loose slices, or slices without areas", () => {
    const noArea = { ...line(1, 2, [1]), classes: [{ index: 0, label: "c0", pixels: 1, fraction: 1 }] } as SegmentResult;
    expect(classVolumes([line(0, 0, [1])])).toEqual([]);
    expect(classVolumes([{ ...line(0, 0, [1]), slice: undefined, position: undefined }, { ...line(0, 0, [1]), slice: undefined, position: undefined }])).toEqual([]);
    expect(classVolumes([line(0, 0, [1]), noArea])).toEqual([]);
  });
});

describe("segment on a series", () => {
  it("prints each class's volume in mL: its pixels times the pixel spacing times the slice step", async () => {
    const s = SERIES[0];
    const out = mkdtempSync(join(tmpdir(), "simdcnn-class-volumes-"));
    const r = await simdcnn(["segment", "--model", SEG_MODEL, "--json", "--threads", "1", "--out", out, join(FIX, "axial")]);
    rmSync(out, { recursive: true, force: true });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { classes: { label: string; pixels: number }[] }[];
    const ml = (k: number) => (rows.reduce((n, x) => n + x.classes[k].pixels, 0) * s.pixelSpacing[0] * s.pixelSpacing[1] * s.step) / 1000;
    const labels = rows[0].classes.map((c) => c.label);
    const want = labels.slice(1).map((label, k) => `${label} ${ml(k + 1).toFixed(2)} mL`).join(", ");
    expect(r.stderr).toContain(`${join(FIX, "axial")} [series ${s.uid}]: ${want}\n`);
    expect(ml(1)).toBeGreaterThan(0);
  });
});
