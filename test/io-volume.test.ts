// Series and volumes: DICOM series (test/fixtures/volumes/*, written by make.ts from geometry.ts)
// sorted and placed in patient space, NIfTI volumes read against their writer's numbers and
// against nibabel's reading of a public test volume, and slices along each patient axis checked
// against positions computed here from the fixtures' own geometry (not with src/io's arithmetic).
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InputFormatError, UnsupportedError } from "../src/errors.js";
import { readNifti } from "../src/io/nifti.js";
import { type SeriesMember, type SeriesPlan, planSeries, readSeries } from "../src/io/series.js";
import { AXES, type Axis, type Volume, type VolumeSlice, volumeSlices } from "../src/io/volume.js";
import { NIFTI, SERIES, lpsOf, voxelOf, voxelValue } from "./fixtures/volumes/geometry.js";
import { nifti1 } from "./fixtures/volumes/make.js";

const root = new URL("./fixtures/volumes/", import.meta.url);
const folder = (name: string) =>
  readdirSync(new URL(`${name}/`, root)).sort().map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(new URL(`${name}/${f}`, root))) }));
const nifti = (name: string) => new Uint8Array(readFileSync(new URL(`nifti/${name}`, root)));
const spec = (uid: string) => SERIES.find((s) => s.uid === uid)!;
const ras = (p: readonly number[]) => [-p[0], -p[1], p[2]];

async function series(name: string) {
  const out = await readSeries(folder(name));
  for (const r of out) if ("error" in r) throw r.error;
  return out as { plan: SeriesPlan; volume: Volume }[];
}

// Which RAS axis a slice along `axis` stacks along, and where its columns and rows must head:
// [RAS axis, sign] (radiological display: patient's right on the left, head at the top).
const EXPECT: Record<Axis, { normal: number; column: [number, number]; row: [number, number] }> = {
  axial: { normal: 2, column: [0, -1], row: [1, -1] },
  coronal: { normal: 1, column: [0, -1], row: [2, -1] },
  sagittal: { normal: 0, column: [1, -1], row: [2, -1] },
};

/**
 * Checks slices along `axis` by where each pixel lies in patient space, `worldOf` telling the RAS
 * position of a voxel value: together they hold every voxel once; within a slice the columns and
 * rows head in the displayed directions (their step's largest component is that axis, with that
 * sign); slices come in increasing position, which is the mean position of their pixels along the axis.
 */
function checkSlices(slices: VolumeSlice[], axis: Axis, voxels: number, worldOf: (value: number) => number[]) {
  const e = EXPECT[axis];
  const seen = new Set<number>();
  let last = -Infinity;
  for (const [n, s] of slices.entries()) {
    expect(s.index).toBe(n);
    const at = (c: number, r: number) => worldOf(s.data[r * s.width + c]);
    let mean = 0;
    for (let r = 0; r < s.height; r++) {
      for (let c = 0; c < s.width; c++) {
        seen.add(s.data[r * s.width + c]);
        mean += at(c, r)[e.normal] / (s.width * s.height);
        for (const [dc, dr, [w, sign]] of [[1, 0, e.column], [0, 1, e.row]] as const) {
          if (c + dc >= s.width || r + dr >= s.height) continue;
          const step = [0, 1, 2].map((k) => at(c + dc, r + dr)[k] - at(c, r)[k]);
          const largest = step.reduce((best, v, k) => (Math.abs(v) > Math.abs(step[best]) ? k : best), 0);
          expect(largest).toBe(w);
          expect(Math.sign(step[w])).toBe(sign);
        }
      }
    }
    // The fixtures write positions with 6 decimals (DS), so they and the means differ by up to ~1e-6.
    expect(s.position).toBeCloseTo(mean, 5);
    expect(s.position).toBeGreaterThan(last);
    last = s.position;
  }
  expect(seen.size).toBe(voxels);
}

describe("DICOM series", () => {
  it("orders a shuffled series by position along the normal, not by name or instance number, and places it in RAS", async () => {
    const [{ plan, volume }] = await series("axial");
    const s = SERIES[0];
    expect(plan.sortedBy).toBe("position");
    expect(plan.warnings).toEqual([]);
    expect(volume.dims).toEqual([s.columns, s.rows, s.slices]);
    for (let k = 0; k < s.slices; k++) {
      for (let j = 0; j < s.rows; j++) for (let i = 0; i < s.columns; i++) expect(volume.data[(k * s.rows + j) * s.columns + i]).toBe(voxelValue(i, j, k));
    }
    // The affine takes voxel (i, j, k) to the LPS position written in the files, with x and y negated.
    for (const [i, j, k] of [[0, 0, 0], [15, 0, 0], [0, 11, 0], [3, 5, 7], [15, 11, 7]]) {
      const want = ras(lpsOf(s, i, j, k));
      const got = [0, 1, 2].map((r) => volume.affine[r][0] * i + volume.affine[r][1] * j + volume.affine[r][2] * k + volume.affine[r][3]);
      got.forEach((g, r) => expect(g).toBeCloseTo(want[r], 6));
    }
    expect(volume.range).toEqual([s.window[0] - s.window[1] / 2, s.window[0] + s.window[1] / 2]);
  });

  it.each(["axial", "tilted"])("slices the %s series along every patient axis by where its voxels lie", async (name) => {
    const [{ plan, volume }] = await series(name);
    const s = spec(plan.uid);
    const worldOf = (v: number) => ras(lpsOf(s, ...voxelOf(v)));
    for (const axis of AXES) checkSlices(volumeSlices(volume, axis), axis, s.columns * s.rows * s.slices, worldOf);
    // Axial slices of an axial (or slightly tilted) series are its files, in order.
    const axial = volumeSlices(volume, "axial");
    expect(axial.length).toBe(s.slices);
    expect(axial.map((x) => voxelOf(x.data[0])[2])).toEqual([...Array(s.slices).keys()]);
  });

  it.each(["axial", "tilted"])("gives each slice of the %s series the distance between its rows and between its columns", async (name) => {
    const [{ plan, volume }] = await series(name);
    const s = spec(plan.uid);
    const worldOf = (v: number) => lpsOf(s, ...voxelOf(v));
    const distance = (a: number, b: number) => Math.hypot(...worldOf(a).map((c, w) => c - worldOf(b)[w]));
    for (const axis of AXES) {
      for (const x of volumeSlices(volume, axis)) {
        // Neighbouring pixels' voxels, by the positions the fixture's geometry gives them. To 4
        // decimals: the files hold positions as decimal strings (DS, 16 characters at most), so the
        // step a tilted series is planned with is off in the 6th or 7th.
        expect(x.spacing![0]).toBeCloseTo(distance(x.data[0], x.data[x.width]), 4);
        expect(x.spacing![1]).toBeCloseTo(distance(x.data[0], x.data[1]), 4);
      }
    }
  });

  it("warns of a missing slice with the gap, and keeps every slice's true position", async () => {
    const [{ plan, volume }] = await series("gap");
    const s = SERIES[2];
    expect(volume.dims[2]).toBe(s.slices - 1);
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings[0]).toMatch(/a gap of 4 mm between '.*' at 4 mm and '.*' at 8 mm, where the spacing is 2 mm \(1 slice missing\?\)/);
    const slices = volumeSlices(volume, "axial");
    expect(slices.map((x) => x.position)).toEqual([0, 1, 2, 4, 5].map((k) => lpsOf(s, (s.columns - 1) / 2, (s.rows - 1) / 2, k)[2]));
    checkSlices(slices, "axial", s.columns * s.rows * (s.slices - 1), (v) => ras(lpsOf(s, ...voxelOf(v))));
  });

  it("splits a folder of two series by Series Instance UID, each in its own orientation", async () => {
    const out = await series("mixed");
    expect(out.map((r) => r.plan.uid).sort()).toEqual([SERIES[3].uid, SERIES[4].uid]);
    for (const { plan, volume } of out) {
      const s = spec(plan.uid);
      expect(volume.dims).toEqual([s.columns, s.rows, s.slices]);
      for (const axis of AXES) checkSlices(volumeSlices(volume, axis), axis, s.columns * s.rows * s.slices, (v) => ras(lpsOf(s, ...voxelOf(v))));
    }
    // The coronal series' files are coronal slices: as many, and its axial slices are its rows.
    const coronal = out.find((r) => r.plan.uid === SERIES[4].uid)!.volume;
    expect(volumeSlices(coronal, "coronal").length).toBe(SERIES[4].slices);
    expect(volumeSlices(coronal, "axial").length).toBe(SERIES[4].rows);
  });

  const member = (name: string, instance: number | undefined, extra: Partial<SeriesMember["geometry"]> = {}): SeriesMember => ({
    name, geometry: { seriesUid: "9.9", rows: 4, columns: 4, frames: 1, ...(instance === undefined ? {} : { instanceNumber: instance }), ...extra },
  });

  it("falls back to Instance Number, then to the name, when a file has no position, and says so", () => {
    const [byNumber] = planSeries([member("a", 3), member("b", 1), member("c", 2, { position: [0, 0, 1], orientation: [1, 0, 0, 0, 1, 0] })]) as SeriesPlan[];
    expect(byNumber.files).toEqual(["b", "c", "a"]);
    expect(byNumber.sortedBy).toBe("instance number");
    expect(byNumber.warnings[0]).toMatch(/2 of 3 files lack Image Position\/Orientation \(Patient\); slices are ordered by instance number/);
    const [byName] = planSeries([member("z", undefined), member("x", 2), member("y", 1)]) as SeriesPlan[];
    expect(byName.files).toEqual(["x", "y", "z"]);
    expect(byName.sortedBy).toBe("name");
  });

  it("warns of two slices at one position and of uneven spacing that is no whole missing slice", () => {
    const at = (name: string, z: number) => member(name, undefined, { position: [0, 0, z], orientation: [1, 0, 0, 0, 1, 0] });
    const [p] = planSeries([at("a", 0), at("b", 2), at("c", 2), at("d", 4), at("e", 6), at("f", 9)]) as SeriesPlan[];
    expect(p.warnings.some((w) => /two slices at one position: '[bc]' at 2 mm and '[bc]' at 2 mm/.test(w))).toBe(true);
    expect(p.warnings.some((w) => /a gap of 3 mm between 'e' at 6 mm and 'f' at 9 mm, where the spacing is 2 mm$/.test(w))).toBe(true);
  });

  it("fails a series whose files differ in size or orientation, and not the other series", () => {
    const out = planSeries([
      member("a", 1), member("b", 2, { rows: 8 }),
      { name: "c", geometry: { seriesUid: "7.7", rows: 4, columns: 4, frames: 1, position: [0, 0, 0], orientation: [1, 0, 0, 0, 1, 0] } },
      { name: "d", geometry: { seriesUid: "7.7", rows: 4, columns: 4, frames: 1, position: [0, 0, 1], orientation: [0, 1, 0, 0, 0, -1] } },
      { name: "e", geometry: { seriesUid: "8.8", rows: 4, columns: 4, frames: 1 } },
    ]);
    const by = new Map(out.map((r) => [r.uid, r]));
    expect("error" in by.get("9.9")! && by.get("9.9")!.error).toBeInstanceOf(InputFormatError);
    expect(("error" in by.get("9.9")! && by.get("9.9")!.error.message) || "").toMatch(/'b' is 4 x 8 pixels, 'a' 4 x 4; one volume needs one size/);
    expect(("error" in by.get("7.7")! && by.get("7.7")!.error.message) || "").toMatch(/one volume needs one orientation/);
    expect("files" in by.get("8.8")! && !("error" in by.get("8.8")!)).toBe(true);
  });

  it("fails the series of a file that does not decode, and reads the rest", async () => {
    const files = folder("mixed");
    const broken = files.map((f, i) => (i === 0 ? { name: f.name, bytes: f.bytes.subarray(0, 200) } : f));
    const out = await readSeries(broken);
    expect(out.filter((r) => "error" in r).map((r) => r.files)).toEqual([[files[0].name]]);
    expect(out.filter((r) => !("error" in r))).toHaveLength(2);
  });
});

describe("NIfTI", () => {
  const world = (i: number, j: number, k: number) => [0, 1, 2].map((r) => NIFTI.affine[r][0] * i + NIFTI.affine[r][1] * j + NIFTI.affine[r][2] * k + NIFTI.affine[r][3]);
  const voxelOfValue = (v: number): [number, number, number] => {
    const s = Math.round((v - NIFTI.inter) / NIFTI.slope) + 50;
    return [s % 10, Math.floor((s % 100) / 10), Math.floor(s / 100)];
  };

  it.each([
    ["volume.nii.gz", "nifti-1", "sform"],
    ["qform-only.nii", "nifti-1", "qform"],
    ["volume.nifti2.nii", "nifti-2", "sform"],
  ])("reads %s (%s, %s) with the writer's affine and scaled values", async (file, version) => {
    const v = await readNifti(nifti(file));
    expect(v.source).toBe(`${version} int16 7x6x5`);
    expect(v.dims).toEqual(NIFTI.dims);
    // float32 header fields (NIfTI-1) hold these numbers exactly; the qform's quaternion rounds to ~1e-7.
    v.affine.forEach((row, r) => row.forEach((x, c) => expect(x).toBeCloseTo(NIFTI.affine[r][c], 6)));
    const [nx, ny, nz] = NIFTI.dims;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) expect(v.data[(k * ny + j) * nx + i]).toBe(NIFTI.stored(i, j, k) * NIFTI.slope + NIFTI.inter);
    }
    for (const axis of AXES) checkSlices(volumeSlices(v, axis), axis, nx * ny * nz, (value) => world(...voxelOfValue(value)));
  });

  it.each([
    [2, "uint8", 8, (v: DataView, at: number, x: number) => v.setUint8(at, x), (n: number) => (n * 37) % 256],
    [4, "int16", 16, (v: DataView, at: number, x: number) => v.setInt16(at, x, true), (n: number) => (n % 2 ? -32768 + n : 32767 - n)],
    [512, "uint16", 16, (v: DataView, at: number, x: number) => v.setUint16(at, x, true), (n: number) => 65535 - n * 97],
    [8, "int32", 32, (v: DataView, at: number, x: number) => v.setInt32(at, x, true), (n: number) => (n % 2 ? -1 : 1) * (2 ** 31 - 1 - n * 1000003)],
    [16, "float32", 32, (v: DataView, at: number, x: number) => v.setFloat32(at, x, true), (n: number) => Math.fround((n - 100) / 7)],
    [64, "float64", 64, (v: DataView, at: number, x: number) => v.setFloat64(at, x, true), (n: number) => (n - 100) / 7 + 1e-9],
  ] as const)("reads datatype %i (%s) voxels, scaled by scl_slope and scl_inter", async (code, name, bits, write, value) => {
    const count = NIFTI.dims[0] * NIFTI.dims[1] * NIFTI.dims[2];
    const voxels = new Uint8Array((count * bits) / 8);
    const view = new DataView(voxels.buffer);
    for (let n = 0; n < count; n++) write(view, (n * bits) / 8, value(n));
    const v = await readNifti(nifti1({ sform: true, qform: false, datatype: code, bitpix: bits, voxels }));
    expect(v.source).toBe(`nifti-1 ${name} 7x6x5`);
    // Each value through the file's slope and intercept in float64, then stored as float32.
    for (let n = 0; n < count; n++) expect(v.data[n]).toBe(Math.fround(value(n) * NIFTI.slope + NIFTI.inter));
  });

  it("reads nibabel's big-endian anatomical.nii as nibabel does", async () => {
    const want = JSON.parse(readFileSync(new URL("nifti/anatomical.expected.json", root), "utf8")) as {
      shape: number[]; affine: number[][]; sum: number; min: number; max: number; probes: number[][];
    };
    const v = await readNifti(nifti("anatomical.nii"));
    expect(v.dims).toEqual(want.shape);
    expect(v.affine).toEqual(want.affine);
    expect(v.data.reduce((a, b) => a + b, 0)).toBe(want.sum);
    expect(v.range).toEqual([want.min, want.max]);
    for (const [i, j, k, value] of want.probes) expect(v.data[(k * want.shape[1] + j) * want.shape[0] + i]).toBe(value);
    expect(volumeSlices(v, "axial")).toHaveLength(want.shape[2]);
  });

  it("names what it does not read: an unknown datatype, complex voxels, a 4-D image, a truncated or foreign file", async () => {
    await expect(readNifti(nifti("bad-datatype.nii"))).rejects.toThrow(new InputFormatError("nifti: datatype code 999 is not one NIfTI defines"));
    await expect(readNifti(nifti("complex.nii"))).rejects.toThrow(UnsupportedError);
    await expect(readNifti(nifti("complex.nii"))).rejects.toThrow(/datatype 32 \(complex64\) is not read; these are: uint8, int16, int32, float32, float64, uint16/);
    await expect(readNifti(nifti("example_nifti2.nii.gz"))).rejects.toThrow(/a 4-D image of 32 x 20 x 12 x 2; only 3-D volumes are read/);
    const whole = nifti("qform-only.nii");
    await expect(readNifti(whole.subarray(0, whole.length - 1))).rejects.toThrow(new InputFormatError("nifti: 7 x 6 x 5 int16 voxels from byte 352 need 772 bytes, the file has 771"));
    await expect(readNifti(new Uint8Array(400))).rejects.toThrow(InputFormatError);
    await expect(readNifti(nifti("volume.nii.gz").subarray(0, 60))).rejects.toThrow(/nifti: the gzip stream does not inflate/);
  });
});
