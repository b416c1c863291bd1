// The simdcnn command end to end, in child processes, on a model and slices made here.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PNG } from "pngjs";
import { beforeAll, describe, expect, it } from "vitest";
import { layers } from "../src/index.js";
import { networkGraph } from "../src/layers/layers.js";
import { encodeModel } from "../src/onnx/encode.js";
import { EXPLICIT_LE, dicomFile, greyImage, words } from "./io-helpers.js";
import { Rng } from "./reference.js";

const run = promisify(execFile);
const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;
const TSX = new URL("../node_modules/.bin/tsx", import.meta.url).pathname;

async function simdcnn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(TSX, [CLI, ...args], { encoding: "utf8" });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function png(width: number, height: number, value: (x: number, y: number) => number): Buffer {
  const p = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) p.data[y * width + x] = value(x, y);
  return PNG.sync.write(p, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}

let dir: string;
let model: string;
let slices: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "simdcnn-cli-"));
  const rng = new Rng(5);
  const x = layers.input([32, 32, 1]);
  let t = layers.conv2d({ filters: 4, kernel: 3, padding: "same", weights: rng.f32(36, -0.5, 0.5), activation: "relu" }).apply(x);
  t = layers.globalAvgPool2d().apply(layers.maxPool2d({ kernel: 2 }).apply(t));
  t = layers.dense({ units: 3, weights: rng.f32(12, -1, 1), bias: Float32Array.of(0.1, 0, -0.1) }).apply(t);
  const g = networkGraph([x], [t]);
  g.metadata = { "simdcnn:labels": '["alpha","beta","gamma"]', "simdcnn:output": "softmax" };
  model = join(dir, "m.onnx");
  writeFileSync(model, encodeModel(g));
  slices = join(dir, "slices");
  mkdirSync(slices);
  writeFileSync(join(slices, "a.png"), png(40, 40, (x, y) => (x * 7 + y * 3) % 256));
  writeFileSync(join(slices, "b.png"), png(20, 30, (x) => x * 12));
  writeFileSync(join(slices, "c-corrupt.png"), png(16, 16, () => 9).subarray(0, 60));
  const jpeg2000 = dicomFile("1.2.840.10008.1.2.4.90", [...greyImage({ rows: 4, columns: 4, allocated: 16, stored: 16 }), [0x7fe00010, "OB", new Uint8Array(16)]]);
  writeFileSync(join(slices, "d-compressed.dcm"), jpeg2000);
  const frames = dicomFile(EXPLICIT_LE, [
    ...greyImage({ rows: 8, columns: 8, allocated: 16, stored: 12, frames: 2 }),
    [0x7fe00010, "OW", words(Array.from({ length: 128 }, (_, i) => (i * 37) % 4096))],
  ]);
  writeFileSync(join(slices, "e-frames.dcm"), frames);
  writeFileSync(join(slices, "notes.txt"), "not a slice; passed over in a folder");
}, 60_000);

describe("simdcnn classify", () => {
  it("prints a table of every slice, reports the bad files with their reason, and exits 1", async () => {
    const before = Object.fromEntries(readdirSync(slices).map((f) => [f, readFileSync(join(slices, f))]));
    const r = await simdcnn(["classify", "--model", model, slices]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^file\s+class\s+probability/);
    expect(lines).toHaveLength(1 + 6);
    expect(lines[1]).toMatch(/a\.png\s+(alpha|beta|gamma)\s+0\.\d{4}/);
    expect(lines[3]).toMatch(/c-corrupt\.png\s+ERROR.*InputFormatError/);
    expect(lines[4]).toMatch(/d-compressed\.dcm\s+ERROR.*UnsupportedError.*1\.2\.840\.10008\.1\.2\.4\.90/);
    expect(lines[5]).toMatch(/e-frames\.dcm \[frame 1\]/);
    expect(lines[6]).toMatch(/e-frames\.dcm \[frame 2\]/);
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(slices, f)).equals(bytes), `${f} unchanged`).toBe(true);
  });

  it("writes JSON whose probabilities are a softmax over the model's labels, and CSV with one line per slice", async () => {
    const j = await simdcnn(["classify", "--model", model, "--json", "--top-k", "3", join(slices, "a.png"), join(slices, "b.png")]);
    expect(j.code).toBe(0);
    const results = JSON.parse(j.stdout) as { file: string; top: { label: string; probability: number }[] }[];
    expect(results.map((x) => x.file)).toEqual([join(slices, "a.png"), join(slices, "b.png")]);
    for (const x of results) {
      expect(x.top.map((p) => p.label).sort()).toEqual(["alpha", "beta", "gamma"]);
      expect(x.top.reduce((a, p) => a + p.probability, 0)).toBeCloseTo(1, 5);
      expect(x.top[0].probability).toBeGreaterThanOrEqual(x.top[1].probability);
    }
    const out = join(dir, "out.csv");
    const c = await simdcnn(["classify", "--model", model, "--csv", "--out", out, slices]);
    expect(c.code).toBe(1);
    expect(c.stdout).toBe("");
    const rows = readFileSync(out, "utf8").trim().split("\n");
    expect(rows[0]).toBe("file,frame,class,probability,top_k,box,heatmap,error");
    expect(rows).toHaveLength(7);
    expect(rows[3]).toMatch(/c-corrupt\.png,,,,,,,InputFormatError/);
  });

  it("writes an occlusion heatmap PNG per slice (batched) with its box in the JSON", async () => {
    const hm = join(dir, "heat");
    const r = await simdcnn(["classify", "--model", model, "--json", "--heatmap", hm, "--batch", "4", join(slices, "a.png"), join(slices, "e-frames.dcm")]);
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout) as { heatmap: string; box?: { x: number; y: number; width: number; height: number } }[];
    expect(readdirSync(hm).sort()).toEqual(["a.png", "e-frames-frame1.png", "e-frames-frame2.png"]);
    const img = PNG.sync.read(readFileSync(results[0].heatmap));
    expect([img.width, img.height]).toEqual([40, 40]);
    for (const x of results) if (x.box) expect(x.box.x + x.box.width).toBeLessThanOrEqual(40);
    const mtime = statSync(results[0].heatmap).mtimeMs;
    const again = await simdcnn(["classify", "--model", model, "--heatmap", hm, "--skip-existing", join(slices, "a.png")]);
    expect(again.code).toBe(0);
    expect(statSync(results[0].heatmap).mtimeMs).toBe(mtime);
  });

  it("exits 2 with a one-line error and the usage for a missing model, an unknown flag or a bad value", async () => {
    for (const args of [
      ["classify", "--model", join(dir, "missing.onnx"), slices],
      ["classify", "--model", model, "--frobnicate", slices],
      ["classify", "--model", model, "--batch", "0", slices],
      ["classify", "--model", model, "--window", "40", slices],
      ["classify", slices],
      ["transmogrify"],
    ]) {
      const r = await simdcnn(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(/^simdcnn: /);
      expect(r.stderr).toMatch(/usage:/);
    }
  });

  it("info prints inputs, outputs, layers, parameters, FLOPs and planned memory", async () => {
    const r = await simdcnn(["info", model]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inputs: input \[N, 32, 32, 1\]/);
    expect(r.stdout).toMatch(/conv 3x3 1->4 \+relu/);
    expect(r.stdout).toMatch(/parameters: \d+, FLOPs: \d+/);
    expect(r.stdout).toMatch(/memory: weights/);
  });
});
