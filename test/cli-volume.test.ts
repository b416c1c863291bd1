// `simdcnn classify` and `simdcnn segment` on DICOM series and NIfTI volumes, end to end in child
// processes, with the demo models: slice order and positions against the fixtures' geometry
// (geometry.ts), each series slice against the same file classified (or segmented) on its own,
// slabs across worker processes against one process, and errors confined to their volume.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIFTI, SERIES, type SeriesSpec, lpsOf } from "./fixtures/volumes/geometry.js";
import { seriesFiles } from "./fixtures/volumes/make.js";
import { simdcnn } from "./cli-run.js";

const MODEL = new URL("../examples/phantom/phantom.onnx", import.meta.url).pathname;
const SEG_MODEL = new URL("../examples/phantom-seg/phantom-seg.onnx", import.meta.url).pathname;
const FIX = new URL("./fixtures/volumes/", import.meta.url).pathname;

type Row = { file: string; series?: string; axis?: string; slice?: number; position?: number; top?: { label: string; probability: number }[]; error?: string; heatmap?: string };
const classify = async (args: string[]) => {
  const r = await simdcnn(["classify", "--model", MODEL, "--json", ...args]);
  return { ...r, rows: r.code === 2 ? [] : (JSON.parse(r.stdout) as Row[]) };
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "simdcnn-cli-volume-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("classify on volumes", () => {
  it("gives one result per slice of a shuffled series, in position order, each as its file alone would", async () => {
    const s = SERIES[0];
    const { code, rows } = await classify(["--threads", "1", join(FIX, "axial")]);
    expect(code).toBe(0);
    expect(rows.map((r) => [r.series, r.axis, r.slice])).toEqual([...Array(s.slices).keys()].map((k) => [s.uid, "axial", k]));
    // Positions: S of each slice's centre, from the geometry the files were written with.
    rows.forEach((r, k) => expect(r.position).toBeCloseTo(lpsOf(s, 0, 0, k)[2], 3));
    // Each file copied into a folder of its own is a loose slice; slice k of the series is the file at position k.
    const files = seriesFiles(s);
    for (const f of files) {
      mkdirSync(join(dir, "single", f.name), { recursive: true });
      writeFileSync(join(dir, "single", f.name, f.name), f.bytes);
    }
    const alone = await classify(["--threads", "1", ...files.map((f) => join(dir, "single", f.name, f.name))]);
    expect(alone.rows.every((r) => r.slice === undefined)).toBe(true);
    for (const [k, f] of files.entries()) {
      expect(rows[k].top).toEqual(alone.rows[k].top);
      expect(alone.rows[k].file.endsWith(f.name)).toBe(true);
    }
  });

  it("slices a NIfTI volume along each patient axis, with positions from its affine", async () => {
    // The fixture's affine: i runs toward P (2 mm), j toward R (1.5 mm), k toward S (3 mm).
    const centre = NIFTI.dims.map((d) => (d - 1) / 2);
    const along = (w: number, voxel: number, count: number) =>
      [...Array(count).keys()].map((n) => {
        const ijk = [...centre];
        ijk[voxel] = n;
        return NIFTI.affine[w][0] * ijk[0] + NIFTI.affine[w][1] * ijk[1] + NIFTI.affine[w][2] * ijk[2] + NIFTI.affine[w][3];
      }).sort((a, b) => a - b);
    const expected: Record<string, number[]> = { axial: along(2, 2, 5), coronal: along(1, 0, 7), sagittal: along(0, 1, 6) };
    const hm = join(dir, "heat");
    for (const axis of ["axial", "coronal", "sagittal"]) {
      const { code, rows } = await classify(["--threads", "1", "--axis", axis, "--heatmap", hm, "--patch", "64", "--stride", "64", join(FIX, "nifti/volume.nii.gz")]);
      expect(code).toBe(0);
      expect(rows.map((r) => r.slice)).toEqual(expected[axis].map((_, i) => i));
      rows.forEach((r, i) => expect(r.position).toBeCloseTo(expected[axis][i], 4));
      expect(rows.map((r) => r.heatmap)).toEqual(expected[axis].map((_, i) => join(hm, `volume-${axis}${i}.png`)));
    }
    expect(readdirSync(hm)).toHaveLength(5 + 7 + 6);
  });

  it("splits a large series into slabs over worker processes with the results of one process", async () => {
    const s: SeriesSpec = { ...SERIES[1], folder: "big", uid: "1.2.826.0.1.3680043.10.1177.9", slices: 40 };
    mkdirSync(join(dir, "big"));
    for (const f of seriesFiles(s)) writeFileSync(join(dir, "big", f.name), f.bytes);
    for (const axis of ["axial", "coronal"]) {
      const one = await classify(["--threads", "1", "--axis", axis, join(dir, "big")]);
      const two = await classify(["--threads", "2", "--axis", axis, join(dir, "big")]);
      expect(one.code).toBe(0);
      expect(two.rows).toEqual(one.rows);
      expect(one.rows).toHaveLength(axis === "axial" ? 40 : s.rows);
    }
    const csv = await simdcnn(["classify", "--model", MODEL, "--csv", "--threads", "2", join(dir, "big")]);
    const lines = csv.stdout.trim().split("\n");
    expect(lines[0]).toBe("file,frame,class,probability,top_k,box,peak,heatmap,error,series,axis,slice,position_mm");
    expect(lines).toHaveLength(41);
    expect(lines[40].endsWith(`,${s.uid},axial,39,${Number(lpsOf(s, 4.5, 3.5, 39)[2].toFixed(3))}`)).toBe(true);
  });

  it("reports a bad volume or series on its own line and classifies the rest", async () => {
    mkdirSync(join(dir, "broken"));
    for (const f of readdirSync(join(FIX, "axial"))) copyFileSync(join(FIX, "axial", f), join(dir, "broken", f));
    const victim = readdirSync(join(dir, "broken")).sort()[2];
    const bytes = seriesFiles(SERIES[0]).find((f) => f.name === victim)!.bytes;
    writeFileSync(join(dir, "broken", victim), bytes.subarray(0, bytes.length - 100));
    const { code, rows, stderr } = await classify([
      "--threads", "1", join(FIX, "nifti/bad-datatype.nii"), join(dir, "broken"), join(FIX, "gap"), join(FIX, "nifti/volume.nifti2.nii"),
    ]);
    expect(code).toBe(1);
    expect(rows[0]).toEqual({ file: join(FIX, "nifti/bad-datatype.nii"), error: "InputFormatError: nifti: datatype code 999 is not one NIfTI defines" });
    expect(rows[1].file).toBe(join(dir, "broken"));
    expect(rows[1].error).toMatch(new RegExp(`^InputFormatError: '.*${victim}': dicom`));
    expect(rows.slice(2, 7).map((r) => r.slice)).toEqual([0, 1, 2, 3, 4]);
    expect(rows.slice(7).map((r) => r.slice)).toEqual([0, 1, 2, 3, 4]);
    expect(stderr).toMatch(/warning: .*gap: series .*: a gap of 4 mm between .* at 4 mm and .* at 8 mm, where the spacing is 2 mm \(1 slice missing\?\)/);
  });

  it("refuses an unknown --axis as a usage error", async () => {
    const r = await simdcnn(["classify", "--model", MODEL, "--axis", "oblique", join(FIX, "axial")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--axis expects axial, coronal, sagittal, got 'oblique'/);
  });
});

describe("segment on volumes", () => {
  type SegRow = Row & { mask?: string; width?: number; height?: number };
  const segment = async (args: string[]) => {
    const r = await simdcnn(["segment", "--model", SEG_MODEL, "--json", ...args]);
    return { ...r, rows: r.code === 2 ? [] : (JSON.parse(r.stdout) as SegRow[]) };
  };

  it("writes a mask per slice of a series, named by axis and index, each as its file alone would get", async () => {
    const s = SERIES[0];
    const out = join(dir, "masks");
    const { code, rows } = await segment(["--threads", "1", "--out", out, join(FIX, "axial")]);
    expect(code).toBe(0);
    expect(rows.map((r) => [r.series, r.axis, r.slice])).toEqual([...Array(s.slices).keys()].map((k) => [s.uid, "axial", k]));
    expect(rows.map((r) => r.mask)).toEqual(rows.map((_, k) => join(out, `axial-axial${k}.mask.png`)));
    const files = seriesFiles(s);
    for (const f of files) {
      mkdirSync(join(dir, "seg-single", f.name), { recursive: true });
      writeFileSync(join(dir, "seg-single", f.name, f.name), f.bytes);
    }
    const alone = await segment(["--threads", "1", "--out", join(dir, "masks-alone"), ...files.map((f) => join(dir, "seg-single", f.name, f.name))]);
    expect(alone.code).toBe(0);
    for (const k of files.keys()) {
      expect([rows[k].width, rows[k].height]).toEqual([alone.rows[k].width, alone.rows[k].height]);
      expect(readFileSync(rows[k].mask!)).toEqual(readFileSync(alone.rows[k].mask!));
    }
  });

  it("segments a NIfTI volume along --axis, in worker processes as in one", async () => {
    const one = await segment(["--threads", "1", "--axis", "coronal", "--out", join(dir, "nifti-1"), join(FIX, "nifti/volume.nii.gz")]);
    const two = await segment(["--threads", "2", "--axis", "coronal", "--out", join(dir, "nifti-2"), join(FIX, "nifti/volume.nii.gz"), join(FIX, "axial")]);
    expect(one.code).toBe(0);
    expect(one.rows.map((r) => r.slice)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const first = two.rows.slice(0, 7);
    expect(first.map(({ mask: _mask, ...r }) => r)).toEqual(one.rows.map(({ mask: _mask, ...r }) => r));
    for (const [k, r] of first.entries()) expect(readFileSync(r.mask!)).toEqual(readFileSync(one.rows[k].mask!));
  });
});
