// `simdcnn segment` end to end, in child processes, on fully convolutional models and slices made
// here whose masks follow from their geometry: a slice bright on its left half and dark on its
// right, through a model whose class scores are linear in the (max-pooled) intensity, has the
// class boundary exactly at the half (see `halves`).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, ModelFormatError, layers } from "../src/node.js";
import { modelSettings } from "../src/io/metadata.js";
import { overlayMask } from "../src/io/mask-overlay.js";
import { classAreas, labelMap } from "../src/io/segmentation.js";
import { networkGraph } from "../src/layers/layers.js";
import { encodeModel } from "../src/onnx/encode.js";
import { png, simdcnn } from "./cli-run.js";
import { EXPLICIT_LE, dicomFile, greyImage, words } from "./io-helpers.js";
import { onnxModel } from "./onnx-builder.js";

/** A PNG's pixels: grey values for an 8-bit grey PNG (pngjs expands them to RGBA; R is the value). */
function readPng(path: string): { width: number; height: number; rgba: Uint8Array; grey: Uint8Array } {
  const p = PNG.sync.read(readFileSync(path));
  const rgba = new Uint8Array(p.data);
  return { width: p.width, height: p.height, rgba, grey: rgba.filter((_, i) => i % 4 === 0) };
}

// Slices bright (255) left of column w/2 and dark (0) right of it. With the 16 x 16 input and
// the 2x2 max-pool of the 3-class model, the score map's columns 0..3 see only bright pixels and
// 4..7 only dark ones (for widths that are multiples of 16), the bright-minus-background score is
// +1 and -1 there, and its bilinear resize back to the slice crosses 0 exactly half-way: the mask
// is 1 left of w/2 and 0 from it on.
const halves = (w: number) => (x: number) => (x < w / 2 ? 255 : 0);
const expectedHalves = (w: number, h: number) => Uint8Array.from({ length: w * h }, (_, i) => (i % w < w / 2 ? 1 : 0));

type Row = { file: string; frame?: number; width: number; height: number; classes: { index: number; label: string; pixels: number; fraction: number; area_mm2?: number }[]; mask: string; overlay?: string; error?: string };

let dir: string;
let fcn: string;
let binary: string;
let slices: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "simdcnn-segment-"));
  // 3 classes (NHWC): background 0.5 - v, bright v - 0.5, never -1, on the 2x2 max-pooled input.
  const x = layers.input([16, 16, 1]);
  let t = layers.maxPool2d({ kernel: 2 }).apply(x);
  t = layers.conv2d({ filters: 3, kernel: 1, weights: Float32Array.of(-1, 1, 0), bias: Float32Array.of(0.5, -0.5, -1) }).apply(t);
  const g = networkGraph([x], [t]);
  g.metadata = { "simdcnn:labels": '["background","bright","never"]', "simdcnn:colors": '["#000000","#ff0000","#00ff00"]' };
  fcn = join(dir, "fcn.onnx");
  writeFileSync(fcn, encodeModel(g));
  // One channel (NCHW), a logit 10 v - 5 per pixel of an 8 x 8 input.
  binary = join(dir, "binary.onnx");
  writeFileSync(binary, onnxModel({
    inputs: [{ name: "slice", shape: ["N", 1, 8, 8] }],
    outputs: [{ name: "logit", shape: ["N", 1, 8, 8] }],
    nodes: [{ op: "Conv", inputs: ["slice", "w", "b"], outputs: ["logit"], attrs: { kernel_shape: [1, 1] } }],
    initializers: { w: { dims: [1, 1, 1, 1], data: Float32Array.of(10) }, b: { dims: [1], data: Float32Array.of(-5) } },
  }));

  slices = join(dir, "slices");
  mkdirSync(slices);
  writeFileSync(join(slices, "a-wide.png"), png(64, 40, halves(64)));
  writeFileSync(join(slices, "b-small.png"), png(32, 16, halves(32)));
  const jpg = Buffer.alloc(48 * 32 * 4);
  for (let i = 0; i < 48 * 32; i++) jpg.fill(halves(48)(i % 48), 4 * i, 4 * i + 3).fill(255, 4 * i + 3, 4 * i + 4);
  writeFileSync(join(slices, "c-photo.jpg"), jpeg.encode({ width: 48, height: 32, data: jpg }, 95).data);
  writeFileSync(join(slices, "d-corrupt.png"), png(16, 16, () => 9).subarray(0, 60));
  // 16 x 16, 12-bit, with Pixel Spacing 0.5 mm between rows and 0.8 mm between columns.
  writeFileSync(join(slices, "e-spaced.dcm"), dicomFile(EXPLICIT_LE, [
    ...greyImage({ rows: 16, columns: 16, allocated: 16, stored: 12 }),
    [0x00280030, "DS", "0.5\\0.8"],
    [0x7fe00010, "OW", words(Array.from({ length: 256 }, (_, i) => (i % 16 < 8 ? 4095 : 0)))],
  ]));
  // Two frames 16 x 16: the first the halves, the second all dark.
  writeFileSync(join(slices, "f-frames.dcm"), dicomFile(EXPLICIT_LE, [
    ...greyImage({ rows: 16, columns: 16, allocated: 16, stored: 12, frames: 2 }),
    [0x7fe00010, "OW", words(Array.from({ length: 512 }, (_, i) => (i < 256 && i % 16 < 8 ? 4095 : 0)))],
  ]));
  const mpeg2 = dicomFile("1.2.840.10008.1.2.4.100", [...greyImage({ rows: 4, columns: 4, allocated: 16, stored: 16 }), [0x7fe00010, "OB", new Uint8Array(16)]]);
  writeFileSync(join(slices, "g-unsupported.dcm"), mpeg2);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("simdcnn segment", () => {
  it("writes a mask of each slice's own size for PNG, JPEG and DICOM (per frame), and a line for each bad file; exit 1", async () => {
    const out = join(dir, "out-json");
    const r = await simdcnn(["segment", "--model", fcn, "--json", "--threads", "1", "--out", out, slices]);
    expect(r.code, r.stderr).toBe(1);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((x) => [x.file.slice(slices.length + 1), x.frame])).toEqual([
      ["a-wide.png", undefined], ["b-small.png", undefined], ["c-photo.jpg", undefined], ["d-corrupt.png", undefined],
      ["e-spaced.dcm", undefined], ["f-frames.dcm", 1], ["f-frames.dcm", 2], ["g-unsupported.dcm", undefined],
    ]);
    expect(rows[3].error).toMatch(/^InputFormatError: png/);
    expect(rows[7].error).toMatch(/^UnsupportedError: dicom: transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100/);
    expect(readdirSync(out).sort()).toEqual(["a-wide.mask.png", "b-small.mask.png", "c-photo.mask.png", "e-spaced.mask.png", "f-frames-frame1.mask.png", "f-frames-frame2.mask.png"]);

    const sizes: Record<string, [number, number]> = { "a-wide": [64, 40], "b-small": [32, 16], "e-spaced": [16, 16], "f-frames-frame1": [16, 16] };
    for (const [name, [w, h]] of Object.entries(sizes)) {
      const row = rows.find((x) => x.mask === join(out, `${name}.mask.png`))!;
      expect([row.width, row.height], name).toEqual([w, h]);
      const m = readPng(row.mask);
      expect([m.width, m.height], name).toEqual([w, h]);
      expect(m.grey, name).toEqual(expectedHalves(w, h));
      expect(row.classes, name).toEqual([
        { index: 0, label: "background", pixels: (w * h) / 2, fraction: 0.5, ...(name === "e-spaced" ? { area_mm2: (w * h * 0.4) / 2 } : {}) },
        { index: 1, label: "bright", pixels: (w * h) / 2, fraction: 0.5, ...(name === "e-spaced" ? { area_mm2: (w * h * 0.4) / 2 } : {}) },
        { index: 2, label: "never", pixels: 0, fraction: 0, ...(name === "e-spaced" ? { area_mm2: 0 } : {}) },
      ]);
    }
    // JPEG's ringing may move the boundary's neighbours; the outer columns are certain.
    const photo = readPng(join(out, "c-photo.mask.png"));
    expect([photo.width, photo.height]).toEqual([48, 32]);
    for (let y = 0; y < 32; y++) expect([photo.grey[y * 48], photo.grey[y * 48 + 47]]).toEqual([1, 0]);
    const dark = rows.find((x) => x.frame === 2)!;
    expect(dark.classes.map((c) => c.pixels)).toEqual([256, 0, 0]);
    expect(readPng(dark.mask).grey.every((v) => v === 0)).toBe(true);
  });

  it("writes CSV with one line per slice and per-class columns, and a table naming the classes found", async () => {
    const out = join(dir, "out-csv");
    const r = await simdcnn(["segment", "--model", fcn, "--csv", "--threads", "1", "--out", out, join(slices, "e-spaced.dcm"), join(slices, "d-corrupt.png")]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    const header = ["file", "frame", "width", "height", "mask", "overlay", ...["background", "bright", "never"].flatMap((l) => [`pixels:${l}`, `fraction:${l}`, `area_mm2:${l}`]), "error"];
    expect(lines[0]).toBe(header.join(","));
    expect(lines).toHaveLength(3);
    const cells = Object.fromEntries(lines[1].split(",").map((v, i) => [header[i], v]));
    expect(cells).toMatchObject({ width: "16", height: "16", "pixels:bright": "128", "fraction:bright": "0.500000", "area_mm2:bright": "51.200", "pixels:never": "0", error: "" });
    expect(lines[2]).toMatch(/d-corrupt\.png,,,,,,(,){9}"?InputFormatError: png/);

    const t = await simdcnn(["segment", "--model", fcn, "--threads", "1", "--out", out, join(slices, "e-spaced.dcm")]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/e-spaced\.dcm\s+16x16\s+bright 128 px \(50\.00%, 51\.2 mm2\)/);
    expect(t.stderr).toBe(`1 mask in ${out}\n`);
  });

  it("--overlay draws the slice in grey, each non-background class blended in its colour, and a legend", async () => {
    const out = join(dir, "out-overlay");
    const r = await simdcnn(["segment", "--model", fcn, "--json", "--overlay", "--out", out, join(slices, "a-wide.png")]);
    expect(r.code, r.stderr).toBe(0);
    const [row] = JSON.parse(r.stdout) as Row[];
    expect(row.overlay).toBe(join(out, "a-wide.overlay.png"));
    const o = readPng(row.overlay!);
    expect([o.width, o.height]).toEqual([64, 40]);
    const at = (x: number, y: number) => [...o.rgba.subarray(4 * (y * 64 + x), 4 * (y * 64 + x) + 4)];
    // Below the legend: bright pixels half white, half red (opacity 0.5); dark background stays black.
    expect(at(5, 39)).toEqual([255, 128, 128, 255]);
    expect(at(60, 39)).toEqual([0, 0, 0, 255]);
    // The legend lists bright and never (not the background): swatches in their colours, white text.
    expect(at(3, 3)).toEqual([255, 0, 0, 255]);
    expect(at(3, 13)).toEqual([0, 255, 0, 255]);
    let white = 0;
    for (let y = 0; y < 20; y++) for (let x = 10; x < 50; x++) if (at(x, y).slice(0, 3).every((v) => v === 255)) white++;
    expect(white).toBeGreaterThan(40);
  });

  it("thresholds a one-channel model's sigmoid at 0.5 or --threshold", async () => {
    // An 8 x 8 ramp, v = (32 x + 16) / 255 by column; the model's probability sigmoid(10 v - 5)
    // is above T where v > 0.5 + logit(T) / 10.
    const file = join(dir, "ramp.png");
    writeFileSync(file, png(8, 8, (x) => 32 * x + 16));
    const v = Array.from({ length: 8 }, (_, x) => (32 * x + 16) / 255);
    for (const threshold of [undefined, "0.2", "0.9"]) {
      const t = threshold === undefined ? 0.5 : Number(threshold);
      const out = join(dir, `out-threshold-${threshold}`);
      const r = await simdcnn(["segment", "--model", binary, "--json", "--out", out, ...(threshold ? ["--threshold", threshold] : []), file]);
      expect(r.code, r.stderr).toBe(0);
      const [row] = JSON.parse(r.stdout) as Row[];
      const ones = v.filter((x) => x > 0.5 + Math.log(t / (1 - t)) / 10).length;
      expect(ones, `threshold ${t}`).toBe({ 0.5: 4, 0.2: 5, 0.9: 2 }[t]);
      expect(row.classes.map((c) => [c.label, c.pixels])).toEqual([["class_0", 8 * (8 - ones)], ["class_1", 8 * ones]]);
      expect(readPng(row.mask).grey).toEqual(Uint8Array.from({ length: 64 }, (_, i) => (i % 8 >= 8 - ones ? 1 : 0)));
    }
  });

  it("worker processes write the same masks, overlays and lines as one process", async () => {
    const outs: { stdout: string; files: Record<string, string> }[] = [];
    for (const threads of ["1", "2"]) {
      const out = join(dir, `out-pool-${threads}`);
      const r = await simdcnn(["segment", "--model", fcn, "--json", "--overlay", "--threads", threads, "--out", out, slices]);
      expect(r.code, r.stderr).toBe(1);
      const files = Object.fromEntries(readdirSync(out).sort().map((f) => [f, readFileSync(join(out, f)).toString("base64")]));
      outs.push({ stdout: r.stdout.replaceAll(out, "OUT"), files });
    }
    expect(Object.keys(outs[0].files)).toHaveLength(12);
    expect(outs[1]).toEqual(outs[0]);
  });

  it("reads a model ending in ArgMax as class indices, resized by nearest neighbour; it needs labels", async () => {
    // Scores [v - 0.5, 0.5 - v] per pixel of an 8 x 8 input; ArgMax over them: class 1 where v < 0.5.
    const argmax = (metadata: Record<string, string>) => onnxModel({
      inputs: [{ name: "slice", shape: ["N", 1, 8, 8] }],
      outputs: [{ name: "label", shape: ["N", 8, 8], elemType: 7 }],
      nodes: [
        { op: "Conv", inputs: ["slice", "w", "b"], outputs: ["scores"], attrs: { kernel_shape: [1, 1] } },
        { op: "ArgMax", inputs: ["scores"], outputs: ["label"], attrs: { axis: 1, keepdims: 0 } },
      ],
      initializers: { w: { dims: [2, 1, 1, 1], data: Float32Array.of(1, -1) }, b: { dims: [2], data: Float32Array.of(-0.5, 0.5) } },
      metadata,
    });
    const file = join(dir, "argmax-slice.png");
    // 32 x 16: dark left half, bright right half; each model input pixel sees 4 x 2 slice pixels of one half.
    writeFileSync(file, png(32, 16, (x) => (x < 16 ? 0 : 255)));
    const labelled = join(dir, "argmax.onnx");
    writeFileSync(labelled, argmax({ "simdcnn:labels": '["bright","dark"]' }));
    const out = join(dir, "out-argmax");
    const r = await simdcnn(["segment", "--model", labelled, "--json", "--out", out, file]);
    expect(r.code, r.stderr).toBe(0);
    const [row] = JSON.parse(r.stdout) as Row[];
    expect(row.classes.map((c) => [c.label, c.pixels])).toEqual([["bright", 256], ["dark", 256]]);
    expect(readPng(row.mask).grey).toEqual(Uint8Array.from({ length: 512 }, (_, i) => (i % 32 < 16 ? 1 : 0)));

    const unlabelled = join(dir, "argmax-nolabels.onnx");
    writeFileSync(unlabelled, argmax({}));
    const u = await simdcnn(["segment", "--model", unlabelled, "--out", out, file]);
    expect([u.code, u.stderr.split("\n")[0]]).toEqual([1, "simdcnn: UnsupportedError: this model outputs class indices (it ends in ArgMax), so its class count is unknown: give its class names with simdcnn:labels or --labels"]);
    const given = await simdcnn(["segment", "--model", unlabelled, "--labels", "a,b", "--json", "--out", out, file]);
    expect(given.code, given.stderr).toBe(0);
  });

  it("exit 2 for a bad command line, exit 1 for a model that is not a segmentation model; nothing written", async () => {
    const out = join(dir, "out-bad");
    const file = join(slices, "a-wide.png");
    for (const [args, message] of [
      [["--threshold", "1.5"], "--threshold expects a probability in 0..1, got '1.5'"],
      [["--json", "--csv"], "--json and --csv exclude each other"],
      [["--background", "3"], "--background: class 3 but the model has 3 classes (0..2)"],
      [["--colors", "#ff0000"], "--colors: 1 colours but the model has 3 classes"],
      [["--colors", "red,blue,green"], "--colors: expected a list of colours as #rrggbb"],
      [["--overlay=yes"], "--overlay takes no value"],
    ] as const) {
      const r = await simdcnn(["segment", "--model", fcn, "--out", out, ...args, file]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain(`simdcnn: ${message}`);
    }
    const asFile = join(dir, "a-file");
    writeFileSync(asFile, "");
    const r = await simdcnn(["segment", "--model", fcn, "--out", asFile, file]);
    expect([r.code, r.stderr.split("\n")[0]]).toEqual([2, `simdcnn: --out '${asFile}' is a file; expected a folder`]);

    const classifier = join(dir, "classifier.onnx");
    const x = layers.input([8, 8, 1]);
    const y = layers.dense({ units: 2, weights: new Float32Array(128), bias: new Float32Array(2) }).apply(layers.flatten().apply(x));
    writeFileSync(classifier, encodeModel(networkGraph([x], [y])));
    const c = await simdcnn(["segment", "--model", classifier, "--out", out, file]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^simdcnn: ShapeError: a segmentation model outputs \[N, C, H, W\] or \[N, H, W, C\] scores/);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe("label maps, areas and overlays", () => {
  it("takes the best class per pixel (the lowest index on a tie) the same from NCHW and NHWC scores", () => {
    // 2 x 2 map, 3 classes; pixel 3 ties classes 1 and 2.
    const nhwc = Float32Array.of(3, 1, 0, 0, 2, 1, 0, 0, 5, 0, 4, 4);
    const nchw = Float32Array.from({ length: 12 }, (_, i) => nhwc[(i % 4) * 3 + Math.floor(i / 4)]);
    const expected = Uint8Array.of(0, 1, 2, 1);
    expect(labelMap(nhwc, { layout: "NHWC", channels: 3, height: 2, width: 2 }, 2, 2)).toEqual(expected);
    expect(labelMap(nchw, { layout: "NCHW", channels: 3, height: 2, width: 2 }, 2, 2)).toEqual(expected);
    expect(() => labelMap(nhwc, { layout: "NHWC", channels: 3, height: 2, width: 3 }, 2, 2)).toThrow(ArgumentError);
  });

  it("resizes class indices by nearest neighbour and refuses values that are not indices", () => {
    const map = { layout: "NCHW" as const, channels: 1, height: 1, width: 2, indices: true };
    expect(labelMap(Float32Array.of(2, 0), map, 4, 2)).toEqual(Uint8Array.of(2, 2, 0, 0, 2, 2, 0, 0));
    expect(() => labelMap(Float32Array.of(0.5, 0), map, 2, 1)).toThrow(/class indices 0\.\.255, got 0\.5/);
  });

  it("counts pixels per class, with areas from the pixel spacing", () => {
    const areas = classAreas(Uint8Array.of(0, 1, 1, 2), ["a", "b", "c"], [0.5, 2]);
    expect(areas).toEqual([
      { index: 0, label: "a", pixels: 1, fraction: 0.25, area_mm2: 1 },
      { index: 1, label: "b", pixels: 2, fraction: 0.5, area_mm2: 2 },
      { index: 2, label: "c", pixels: 1, fraction: 0.25, area_mm2: 1 },
    ]);
    expect(classAreas(Uint8Array.of(1), ["a", "b"])[1]).toEqual({ index: 1, label: "b", pixels: 1, fraction: 1 });
    expect(() => classAreas(Uint8Array.of(2), ["a", "b"])).toThrow(ArgumentError);
  });

  it("blends only non-background classes; a background class other than 0 is left grey", () => {
    const slice = { width: 2, height: 1, channels: 1 as const, data: Float32Array.of(0, 100), range: [0, 100] as [number, number], source: "test" };
    const colors: [number, number, number][] = [[10, 20, 30], [200, 0, 0]];
    // 40 x 40, so that the corner checked lies outside the legend's panel.
    const tall = { ...slice, width: 40, height: 40, data: new Float32Array(1600).fill(100) };
    const mask = new Uint8Array(1600).fill(1);
    const rgba = overlayMask(tall, mask, { labels: ["bg", "x"], colors, background: 1, opacity: 0.25 });
    expect([...rgba.subarray(4 * 1599, 4 * 1600)]).toEqual([255, 255, 255, 255]);
    mask.fill(0);
    const coloured = overlayMask(tall, mask, { labels: ["bg", "x"], colors, background: 1, opacity: 0.25 });
    expect([...coloured.subarray(4 * 1599, 4 * 1600)]).toEqual([Math.round(0.75 * 255 + 0.25 * 10), Math.round(0.75 * 255 + 0.25 * 20), Math.round(0.75 * 255 + 0.25 * 30), 255]);
    expect(() => overlayMask(slice, Uint8Array.of(0), { labels: ["bg"], colors })).toThrow(ArgumentError);
  });

  it("reads background and colors from metadata, sidecar and flags, checked against the class count", () => {
    const s = modelSettings({ metadata: { "simdcnn:colors": '["#000000", "#FF8000"]', "simdcnn:background": "1" }, outputSize: 2 });
    expect([s.colors, s.background]).toEqual([[[0, 0, 0], [255, 128, 0]], 1]);
    expect(modelSettings({ sidecar: { "simdcnn:colors": ["#010203"] }, outputSize: 1 }).colors).toEqual([[1, 2, 3]]);
    expect(() => modelSettings({ metadata: { "simdcnn:background": "2" }, outputSize: 2 })).toThrow(ModelFormatError);
    expect(() => modelSettings({ metadata: { "simdcnn:colors": '["#000000"]' }, outputSize: 2 })).toThrow(/1 colours but the model has 2 classes/);
    expect(() => modelSettings({ overrides: { background: "-1" } })).toThrow(ArgumentError);
  });
});
