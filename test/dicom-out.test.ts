// DICOM results: the Segmentation (segment --seg) and Comprehensive SR (classify --sr) objects,
// read back by independent tools: dciodvfy (dicom3tools) for the IOD, dcmdump (dcmtk) for the
// encoding, and dicom-parser (not dcmjs, which writes them) for the content, which is checked
// against masks and predictions placed with this file's own geometry arithmetic.
// Without dciodvfy or dcmdump the tool checks are skipped with a message; under CI=true that
// is a failure.
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import dicomParser, { type DataSet } from "dicom-parser";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDicomSeg } from "../src/io/dicom-seg.js";
import { readHeader } from "../src/io/dicom-write.js";
import { SERIES, lpsOf } from "./fixtures/volumes/geometry.js";
import { EXPLICIT_LE, type Element, dicomFile, greyImage, words } from "./io-helpers.js";
import { simdcnn } from "./cli-run.js";

const run = promisify(execFile);
const FIX = new URL("./fixtures/volumes/", import.meta.url).pathname;
const SEG_MODEL = new URL("../examples/phantom-seg/phantom-seg.onnx", import.meta.url).pathname;
const MODEL = new URL("../examples/phantom/phantom.onnx", import.meta.url).pathname;
const DCIODVFY = "/usr/bin/dciodvfy";
const DCMDUMP = "/usr/bin/dcmdump";
const REQUIRE = process.env.CI === "true";
const tools = existsSync(DCIODVFY) && existsSync(DCMDUMP);

// dciodvfy warnings accepted, and why:
const ACCEPTED = [
  // The fixtures have no Study Date, Time or ID (and the multi-frame one no Patient ID): type 2
  // in the source, copied empty, as the standard allows; only a DICOMDIR would need them.
  /^Warning - Missing attribute or value that would be needed to build DICOMDIR - (Study Date|Study Time|Study ID|Patient ID)$/,
  // Our private coding scheme (PS3.16 8.2: designators starting with 99) for model classes,
  // which no standard code names; dciodvfy knows only the registered schemes.
  /^Warning - Unrecognized defined term <99SIMDCNN> for value 1 of attribute <Coding Scheme Designator>$/,
];

/** dciodvfy's verdict: the IOD it recognised, its errors and the warnings not accepted above. */
async function verify(path: string): Promise<{ iod: string; errors: string[]; warnings: string[] }> {
  // dciodvfy exits non-zero on errors; its messages are on stderr, the IOD name on stdout.
  const r = await run(DCIODVFY, [path], { encoding: "utf8" }).catch((e: { stdout: string; stderr: string }) => e);
  const lines = `${r.stdout}\n${r.stderr}`.split("\n").map((l) => l.trim()).filter(Boolean);
  return {
    iod: lines.filter((l) => !/^(Error|Warning)/.test(l)).join(" "),
    errors: lines.filter((l) => l.startsWith("Error")),
    warnings: lines.filter((l) => l.startsWith("Warning") && !ACCEPTED.some((a) => a.test(l))),
  };
}

/** dcmdump's text of the file; it fails the test on any message on stderr (E: or W:). */
async function dump(path: string): Promise<string> {
  const r = await run(DCMDUMP, [path], { encoding: "utf8", maxBuffer: 1 << 26 });
  expect(r.stderr).toBe("");
  return r.stdout;
}

const parse = (path: string) => dicomParser.parseDicom(new Uint8Array(readFileSync(path)));
const items = (ds: DataSet, tag: string) => ds.elements[tag]?.items?.map((i) => i.dataSet!) ?? [];

/** A SEG's frames as read by dicom-parser: each frame's segment, source instance, position and bits. */
function segFrames(path: string) {
  const ds = parse(path);
  const rows = ds.uint16("x00280010")!;
  const columns = ds.uint16("x00280011")!;
  const frames = Number(ds.string("x00280008"));
  const pixels = ds.elements.x7fe00010;
  const bytes = ds.byteArray.subarray(pixels.dataOffset, pixels.dataOffset + pixels.length);
  const perFrame = items(ds, "x52009230");
  expect(perFrame).toHaveLength(frames);
  const size = rows * columns;
  return {
    ds, rows, columns,
    segments: items(ds, "x00620002").map((s) => ({ number: s.uint16("x00620004"), label: s.string("x00620005") })),
    frames: perFrame.map((g, f) => {
      const source = items(items(g, "x00089124")[0], "x00082112")[0];
      const position = items(g, "x00209113")[0]?.string("x00200032")?.split("\\").map(Number);
      const bits = new Uint8Array(size);
      // Bit p of the concatenated frames is bit p % 8 of byte p / 8, frames back to back.
      for (let i = 0; i < size; i++) {
        const p = f * size + i;
        bits[i] = (bytes[p >> 3] >> (p & 7)) & 1;
      }
      return { segment: items(g, "x0062000a")[0].uint16("x0062000b")!, source: source.string("x00081155")!, position, bits };
    }),
  };
}

/** A series fixture's files with their SOP Instance UID and slice index k along the normal (from its geometry). */
function sourceFiles(folder: string, uid: string) {
  const s = SERIES.find((x) => x.uid === uid)!;
  return readdirSync(join(FIX, folder)).sort().flatMap((name) => {
    const ds = parse(join(FIX, folder, name));
    if (ds.string("x0020000e") !== uid) return [];
    const z = ds.string("x00200032")!.split("\\").map(Number);
    // k: the slice whose first pixel is at this position.
    const k = [...Array(s.slices).keys()].find((kk) => lpsOf(s, 0, 0, kk).every((v, w) => Math.abs(v - z[w]) < 1e-3))!;
    return [{ name, path: join(FIX, folder, name), sop: ds.string("x00080018")!, k, position: z }];
  });
}

const maskOf = (path: string) => {
  const p = PNG.sync.read(readFileSync(path));
  return Uint8Array.from({ length: p.width * p.height }, (_, i) => p.data[4 * i]);
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "simdcnn-dicom-out-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeDicomSeg", () => {
  it("packs each class's frames bit by bit, back to back, in the sources' geometry (60-pixel frames: not whole bytes)", async () => {
    const s = SERIES[4];
    const files = sourceFiles("mixed", s.uid);
    const size = s.rows * s.columns;
    // Labels 0..3 that differ per pixel and per file, class 2 left out of file 1.
    const labelsOf = (k: number) => Uint8Array.from({ length: size }, (_, p) => (k === 1 && (p * 7 + k) % 4 === 2 ? 0 : (p * 7 + k) % 4));
    const frames = await Promise.all(files.map(async (f) => ({ source: await readHeader(new Uint8Array(readFileSync(f.path)), f.name), frame: 0, labels: labelsOf(f.k) })));
    const path = join(dir, "unit.seg.dcm");
    const bytes = await writeDicomSeg(frames, {
      labels: ["bg", "a", "b", "c"], colors: [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], background: 0, algorithm: { name: "test", version: "1" },
    });
    writeFileSync(path, bytes);
    const seg = segFrames(path);
    expect([seg.rows, seg.columns]).toEqual([s.rows, s.columns]);
    expect(seg.segments).toEqual([{ number: 1, label: "a" }, { number: 2, label: "b" }, { number: 3, label: "c" }]);
    expect(seg.frames).toHaveLength(3 * files.length);
    for (const fr of seg.frames) {
      const f = files.find((x) => x.sop === fr.source)!;
      expect(fr.position).toEqual(f.position);
      const expected = labelsOf(f.k).map((l) => (l === fr.segment ? 1 : 0));
      expect(fr.bits).toEqual(expected);
    }
    expect(seg.ds.string("x0020000d")).toBe("1.2.826.0.1.3680043.10.1177");
    expect(seg.ds.string("x00620001")).toBe("BINARY");
  });
});

describe.runIf(tools)("SEG and SR read back by dciodvfy and dcmdump", () => {
  it("segment --seg: a series sliced coronally gives a SEG whose frames are the masks put back in place", async () => {
    const s = SERIES[0];
    const out = join(dir, "coronal");
    const r = await simdcnn(["segment", "--model", SEG_MODEL, "--json", "--threads", "1", "--axis", "coronal", "--out", join(out, "masks"), "--seg", join(out, "seg"), join(FIX, "axial")]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { slice: number; mask: string; seg: string; classes: { pixels: number; area_mm2: number }[] }[];
    const path = join(out, "seg", "axial.seg.dcm");
    // A coronal pixel spans a slice step (rows, along S) by a column's spacing (along R).
    for (const c of rows.flatMap((x) => x.classes)) expect(c.area_mm2).toBeCloseTo(c.pixels * s.step * s.pixelSpacing[1], 9);
    expect(rows.every((x) => x.seg === path)).toBe(true);
    expect(await verify(path)).toEqual({ iod: "Segmentation", errors: [], warnings: [] });
    expect(await dump(path)).toMatch(/SegmentationStorage/);
    const seg = segFrames(path);
    expect(seg.segments.map((x) => x.label)).toEqual(["body", "organ", "lesion"]);
    const files = sourceFiles("axial", s.uid);
    const masks = rows.map((x) => maskOf(x.mask));
    // Coronal slices, by this file's arithmetic: slice a stacks along A (RAS), its columns run
    // toward L and its rows toward I; each is ranked among the series' voxels by RAS position.
    const ras = (i: number, j: number, k: number) => {
      const p = lpsOf(s, i, j, k);
      return [-p[0], -p[1], p[2]];
    };
    const rank = (values: number[]) => (v: number) => [...new Set(values.map((x) => x.toFixed(3)))].map(Number).sort((a, b) => a - b).indexOf(Number(v.toFixed(3)));
    const aRank = rank([...Array(s.rows).keys()].map((j) => ras(0, j, 0)[1]));
    const lRank = rank([...Array(s.columns).keys()].map((i) => -ras(i, 0, 0)[0]));
    const iRank = rank([...Array(s.slices).keys()].map((k) => -ras(0, 0, k)[2]));
    let set = 0;
    for (const fr of seg.frames) {
      const f = files.find((x) => x.sop === fr.source)!;
      for (let j = 0; j < s.rows; j++) {
        for (let i = 0; i < s.columns; i++) {
          const [, a, sup] = ras(i, j, f.k);
          const label = masks[aRank(a)][iRank(-sup) * s.columns + lRank(-ras(i, j, f.k)[0])];
          expect(fr.bits[j * s.columns + i]).toBe(label === fr.segment ? 1 : 0);
          set += fr.bits[j * s.columns + i];
        }
      }
    }
    expect(set).toBeGreaterThan(0);
  });

  it("segment --seg: a series' SEG frame of each file is that file's own mask, and a file alone gets its own SEG", async () => {
    const s = SERIES[0];
    const out = join(dir, "axial");
    const r = await simdcnn(["segment", "--model", SEG_MODEL, "--json", "--threads", "1", "--out", join(out, "masks"), "--seg", join(out, "seg"), join(FIX, "axial")]);
    expect(r.code).toBe(0);
    const series = segFrames(join(out, "seg", "axial.seg.dcm"));
    // Three files (first, a middle one, last along the normal) keep the child processes few.
    for (const f of sourceFiles("axial", s.uid).filter((x) => [0, 3, s.slices - 1].includes(x.k))) {
      mkdirSync(join(out, "single", f.name), { recursive: true });
      copyFileSync(f.path, join(out, "single", f.name, f.name));
      const alone = await simdcnn(["segment", "--model", SEG_MODEL, "--json", "--threads", "1", "--out", join(out, "single-masks", f.name), "--seg", join(out, "single-seg", f.name), join(out, "single", f.name, f.name)]);
      expect(alone.code).toBe(0);
      const [line] = JSON.parse(alone.stdout) as { mask: string; seg: string }[];
      const mask = maskOf(line.mask);
      const own = segFrames(line.seg);
      expect(await verify(line.seg)).toEqual({ iod: "Segmentation", errors: [], warnings: [] });
      for (const fr of [...series.frames.filter((x) => x.source === f.sop), ...own.frames]) {
        expect(fr.bits).toEqual(mask.map((l) => (l === fr.segment ? 1 : 0)));
      }
    }
  });

  it("classify --sr: a Comprehensive SR with each slice's class and probability, referencing that slice's file", async () => {
    const s = SERIES[0];
    const out = join(dir, "sr");
    const r = await simdcnn(["classify", "--model", MODEL, "--json", "--threads", "1", "--sr", out, join(FIX, "axial")]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { slice: number; top: { label: string; probability: number }[]; sr: string }[];
    const path = join(out, "axial.sr.dcm");
    expect(rows.every((x) => x.sr === path)).toBe(true);
    expect(await verify(path)).toEqual({ iod: "ComprehensiveSR", errors: [], warnings: [] });
    expect(await dump(path)).toMatch(/ComprehensiveSRStorage/);
    const ds = parse(path);
    const content = items(ds, "x0040a730");
    const text = (d: DataSet) => [items(d, "x0040a043")[0].string("x00080104"), d.string("x0040a160")];
    expect(text(content[0])).toEqual(["Algorithm Name", "phantom"]);
    expect(text(content[1])[1]).toMatch(/^sha256:[0-9a-f]{16}$/);
    const findings = content.slice(2);
    expect(findings).toHaveLength(s.slices);
    const files = sourceFiles("axial", s.uid);
    for (const [k, d] of findings.entries()) {
      expect(text(d)).toEqual(["Finding", rows[k].top[0].label]);
      const [num, image] = items(d, "x0040a730");
      const value = Number(items(num, "x0040a300")[0].string("x0040a30a"));
      expect(value).toBeCloseTo(rows[k].top[0].probability, 5);
      // Slice k (in order of increasing S) is the file at slice k of the geometry: the axial series' normal is +S.
      expect(items(image, "x00081199")[0].string("x00081155")).toBe(files.find((f) => f.k === k)!.sop);
    }
  });

  it("segment --seg of a multi-frame file without geometry: a frame per source frame, by its frame number, and a line for a file without UIDs", async () => {
    const [rows, columns, frames] = [7, 13, 3];
    const pixels = Array.from({ length: frames * rows * columns }, (_, p) => (p * 997) % 4096);
    const uids: Element[] = [
      [0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7.3"], // Multi-frame Grayscale Word Secondary Capture
      [0x00080018, "UI", "1.2.826.0.1.3680043.10.1177.9.1"],
      [0x00080060, "CS", "OT"],
      [0x0020000d, "UI", "1.2.826.0.1.3680043.10.1177.9"],
      [0x0020000e, "UI", "1.2.826.0.1.3680043.10.1177.9.2"],
    ];
    const image = [...greyImage({ rows, columns, allocated: 16, stored: 12, frames }), [0x7fe00010, "OW", words(pixels)] as Element];
    const input = join(dir, "mf-in");
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, "mf.dcm"), dicomFile(EXPLICIT_LE, [...uids, ...image]));
    // The same image without a Series Instance UID.
    writeFileSync(join(input, "nouid.dcm"), dicomFile(EXPLICIT_LE, [...uids.slice(0, 4), ...image]));
    const out = join(dir, "mf-out");
    const r = await simdcnn(["segment", "--model", SEG_MODEL, "--json", "--threads", "1", "--out", join(out, "masks"), "--seg", join(out, "seg"), input]);
    expect(r.code).toBe(1);
    const lines = JSON.parse(r.stdout) as { file: string; frame?: number; mask?: string; error?: string }[];
    expect(lines.filter((l) => l.error)).toEqual([{ file: join(input, "nouid.dcm"), error: "InputFormatError: the source has no SeriesInstanceUID, by which a Segmentation references it" }]);
    const path = join(out, "seg", "mf.seg.dcm");
    expect(await verify(path)).toEqual({ iod: "Segmentation", errors: [], warnings: [] });
    await dump(path);
    const seg = segFrames(path);
    expect(seg.frames).toHaveLength(3 * frames);
    const frameOf = seg.ds.elements.x52009230.items!.map((i) => Number(items(items(i.dataSet!, "x00089124")[0], "x00082112")[0].string("x00081160")));
    expect(frameOf).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
    const masks = lines.filter((l) => l.file === join(input, "mf.dcm")).sort((a, b) => a.frame! - b.frame!).map((l) => maskOf(l.mask!));
    for (const [n, fr] of seg.frames.entries()) {
      expect(fr.position).toBeUndefined();
      expect(fr.bits).toEqual(masks[frameOf[n] - 1].map((l) => (l === fr.segment ? 1 : 0)));
    }
  });

  it("gives a NIfTI or PNG input a line saying a SEG needs DICOM, and writes the others", async () => {
    const out = join(dir, "mixed-inputs");
    const r = await simdcnn(["segment", "--model", SEG_MODEL, "--json", "--threads", "1", "--out", join(out, "masks"), "--seg", join(out, "seg"), join(FIX, "nifti", "volume.nii.gz"), join(FIX, "mixed")]);
    expect(r.code).toBe(1);
    const lines = JSON.parse(r.stdout) as { file: string; error?: string }[];
    expect(lines.filter((l) => l.error)).toEqual([{ file: join(FIX, "nifti", "volume.nii.gz"), error: expect.stringMatching(/^UnsupportedError: .*NIfTI.*DICOM inputs only/) }]);
    expect(readdirSync(join(out, "seg", "mixed")).sort()).toEqual(["series-1.seg.dcm", "series-2.seg.dcm"]);
    for (const f of ["series-1.seg.dcm", "series-2.seg.dcm"]) expect((await verify(join(out, "seg", "mixed", f))).errors).toEqual([]);
  });
});

if (!tools) {
  const missing = `test/dicom-out.test.ts: ${DCIODVFY} or ${DCMDUMP} is missing (Debian: dicom3tools, dcmtk)`;
  if (REQUIRE) it("has dciodvfy and dcmdump (CI=true)", () => { throw new Error(missing); });
  else it.skip(missing, () => {});
}

describe("--seg, --sr and --store on the command line", () => {
  it("refuses --store without --dicomweb, and without the folder the objects are written to", async () => {
    const a = await simdcnn(["segment", "--model", SEG_MODEL, "--seg", join(dir, "x"), "--store", join(FIX, "axial")]);
    expect([a.code, a.stderr]).toEqual([2, expect.stringMatching(/--store needs --dicomweb URL/)]);
    const b = await simdcnn(["classify", "--model", MODEL, "--store", join(FIX, "axial")]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringMatching(/--store needs --sr DIR/)]);
  });
});
