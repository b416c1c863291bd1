// Throughput of `simdcnn classify` on a folder of demo slices, and on a DICOM series (one volume,
// split into slabs over the worker processes: src/cli/volumes.ts), with --threads 1 and 2 (two
// worker processes: src/cli/pool.ts), classification only (no heatmaps). Generates the slices
// once into a temporary folder with the phantom generator.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXPLICIT_LE, dicomFile, greyImage, words } from "../test/io-helpers.js";
import { parseFlags, usageError } from "./args.js";

const USAGE = {
  script: "bench/slices.ts",
  synopsis: "npm run bench:slices -- [flags]",
  about:
    "Throughput of `simdcnn classify` on generated demo slices, and on a generated DICOM series,\n" +
    "with --threads 1 and 2. Prints slices per second; writes nothing under bench/results.",
  flags: {
    count: { type: "string", arg: "N", help: "how many slices to generate and classify (default 1000)" },
    series: { type: "string", arg: "N", help: "slices of the 512x512 CT-like DICOM series (default 200)" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const count = Number(flags.count ?? 1000);
if (!(Number.isSafeInteger(count) && count >= 1)) usageError(USAGE, `--count expects a positive integer, got '${flags.count}'`);
const seriesCount = Number(flags.series ?? 200);
if (!(Number.isSafeInteger(seriesCount) && seriesCount >= 1)) usageError(USAGE, `--series expects a positive integer, got '${flags.series}'`);
const root = new URL("../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "simdcnn-slices-"));
try {
  execFileSync("node", [join(root, "examples/phantom/generate.mjs"), "--out", dir, "--count", String(count), "--start", "100000", "--format", "png"]);
  const cli = join(root, "dist/cli/main.js");
  const model = join(root, "examples/phantom/phantom.onnx");
  console.log(`${count} slices (128x128 16-bit PNG), examples/phantom/phantom.onnx, batch 8`);
  for (const threads of ["1", "2", "1", "2"]) {
    const t0 = performance.now();
    execFileSync("node", [cli, "classify", "--model", model, "--threads", threads, "--csv", "--out", join(dir, "out.csv"), dir]);
    const s = (performance.now() - t0) / 1000;
    console.log(`threads ${threads}: ${(count / s).toFixed(0)} slices/s (${s.toFixed(2)} s, process start included)`);
  }

  // The series: the generator's slices at 512 x 512 as 12-bit CT files of one series, axial,
  // 1.25 mm apart, written in shuffled order, with the window that maps 0..4095 as the PNGs do.
  const size = 512;
  const raw = join(dir, "raw");
  execFileSync("node", [join(root, "examples/phantom/generate.mjs"), "--out", raw, "--count", String(seriesCount), "--start", "200000", "--size", String(size), "--format", "raw"]);
  const f32 = readFileSync(join(raw, "slices.f32"));
  const values = new Float32Array(f32.buffer, f32.byteOffset, f32.length / 4);
  const series = join(dir, "series");
  mkdirSync(series);
  for (let k = 0; k < seriesCount; k++) {
    const stored = Array.from(values.subarray(k * size * size, (k + 1) * size * size), (v) => Math.round(v * 4095));
    const file = dicomFile(EXPLICIT_LE, [
      [0x00080018, "UI", `1.2.826.0.1.3680043.10.1178.1.${k + 1}`],
      [0x00080060, "CS", "CT"],
      [0x0020000e, "UI", "1.2.826.0.1.3680043.10.1178.1"],
      [0x00200013, "IS", String(k + 1)],
      [0x00200032, "DS", `-179.2\\-179.2\\${(k * 1.25).toFixed(2)}`],
      [0x00200037, "DS", "1\\0\\0\\0\\1\\0"],
      [0x00280030, "DS", "0.7\\0.7"],
      [0x00281050, "DS", "2047.5"],
      [0x00281051, "DS", "4095"],
      ...greyImage({ rows: size, columns: size, allocated: 16, stored: 12 }),
      [0x7fe00010, "OW", words(stored)],
    ]);
    writeFileSync(join(series, `${((k * 7919) % 100003).toString(36)}.dcm`), file);
  }
  console.log(`\n1 DICOM series of ${seriesCount} slices (${size}x${size} 12-bit CT), axial, batch 8`);
  for (const threads of ["1", "2", "1", "2"]) {
    const t0 = performance.now();
    execFileSync("node", [cli, "classify", "--model", model, "--threads", threads, "--csv", "--out", join(dir, "series.csv"), series]);
    const s = (performance.now() - t0) / 1000;
    console.log(`threads ${threads}: ${(seriesCount / s).toFixed(0)} slices/s (${s.toFixed(2)} s, process start included)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
