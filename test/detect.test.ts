// Detection: box decoding, per-class non-maximum suppression and the mapping to slice pixels
// against values worked out by hand or by an independent reference (IoU by counting pixels of
// integer boxes, suppression by repeatedly taking the best remaining box), and `simdcnn detect`
// end to end in child processes on a hand-built detector whose boxes follow from its input.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, ModelFormatError, ShapeError } from "../src/node.js";
import { type Corners, iou, toCorners, toSlice } from "../src/detect/box.js";
import { type Candidate, candidates } from "../src/detect/decode.js";
import { detect } from "../src/detect/detect.js";
import { type DetectorLayout, detectorClasses, detectorLayout } from "../src/detect/layout.js";
import { suppress } from "../src/detect/nms.js";
import { overlayBoxes } from "../src/detect/overlay.js";
import { modelSettings } from "../src/io/metadata.js";
import type { Slice } from "../src/io/slice.js";
import { png, simdcnn } from "./cli-run.js";
import { onnxModel } from "./onnx-builder.js";

/** A seeded generator (mulberry32), so that every random case is the same in every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** IoU of boxes with integer corners, by counting the unit pixels each covers. */
function pixelIou(a: Corners, b: Corners): number {
  let inter = 0;
  let union = 0;
  const lo = Math.min(a[0], a[1], b[0], b[1]);
  const hi = Math.max(a[2], a[3], b[2], b[3]);
  for (let y = lo; y < hi; y++) {
    for (let x = lo; x < hi; x++) {
      const inA = x >= a[0] && x < a[2] && y >= a[1] && y < a[3];
      const inB = x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
      if (inA && inB) inter++;
      if (inA || inB) union++;
    }
  }
  return union === 0 ? 0 : inter / union;
}

/** Suppression as its definition reads: take the best remaining box (ties: class, then row), drop its class's boxes overlapping it, repeat. */
function referenceSuppress(found: Candidate[], threshold: number, maxBoxes: number): Candidate[] {
  const left = [...found];
  const kept: Candidate[] = [];
  while (left.length > 0 && kept.length < maxBoxes) {
    let best = 0;
    for (let i = 1; i < left.length; i++) {
      const [c, b] = [left[i], left[best]];
      if (c.score > b.score || (c.score === b.score && (c.class < b.class || (c.class === b.class && c.index < b.index)))) best = i;
    }
    const k = left.splice(best, 1)[0];
    kept.push(k);
    for (let i = left.length - 1; i >= 0; i--) if (left[i].class === k.class && pixelIou(left[i].box, k.box) > threshold) left.splice(i, 1);
  }
  return kept;
}

describe("boxes", () => {
  it("reads corners and centre-size boxes, in pixels or normalized, with corners in either order", () => {
    expect(toCorners(1, 2, 5, 9, "xyxy", "pixels", 64, 32)).toEqual([1, 2, 5, 9]);
    expect(toCorners(5, 9, 1, 2, "xyxy", "pixels", 64, 32)).toEqual([1, 2, 5, 9]);
    // Centre (0.5, 0.25), size (0.5, 0.25) of a 64 x 32 input: x 16..48, y 4..12.
    expect(toCorners(0.5, 0.25, 0.5, 0.25, "cxcywh", "normalized", 64, 32)).toEqual([16, 4, 48, 12]);
    expect(toCorners(10, 20, 4, 6, "cxcywh", "pixels", 64, 32)).toEqual([8, 17, 12, 23]);
  });

  it("computes IoU as pixel counting does, for integer boxes in every relative position", () => {
    expect(iou([0, 0, 2, 2], [1, 1, 3, 3])).toBe(1 / 7);
    expect(iou([0, 0, 2, 2], [2, 0, 4, 2])).toBe(0);
    expect(iou([3, 3, 3, 5], [3, 3, 3, 5])).toBe(0);
    const rand = random(15);
    const box = (): Corners => {
      const [x, y] = [Math.floor(rand() * 8), Math.floor(rand() * 8)];
      return [x, y, x + Math.floor(rand() * 6), y + Math.floor(rand() * 6)];
    };
    for (let i = 0; i < 400; i++) {
      const [a, b] = [box(), box()];
      // Both are quotients of the same two integers, however they were counted.
      expect(iou(a, b)).toBe(pixelIou(a, b));
    }
  });

  it("maps a box from the model's input to the slice it was stretched from, clipped to the slice", () => {
    // A 64 x 64 input stretched from a 128 x 96 slice: x scales by 2, y by 1.5.
    expect(toSlice([16, 16, 32, 48], 64, 64, 128, 96)).toEqual([32, 24, 64, 72]);
    expect(toSlice([-4, 60, 70, 66], 64, 64, 128, 96)).toEqual([0, 90, 128, 96]);
    expect(() => toSlice([0, 0, 1, 1], 0, 64, 128, 96)).toThrow(ArgumentError);
  });
});

describe("layouts", () => {
  const out = (name: string, shape: (number | string)[]) => ({ name, shape });

  it("take the layout from the output count unless the settings say, and the boxes by their last dimension", () => {
    expect(detectorLayout([out("s", ["N", 10, 3]), out("b", ["N", 10, 4])], {})).toEqual({ kind: "boxes-scores", boxes: "b", scores: "s", format: "xyxy", units: "pixels" });
    expect(detectorLayout([out("rows", [1, 20, 7])], {})).toEqual({ kind: "yolo", rows: "rows", rowLength: 7, format: "cxcywh", units: "pixels" });
    const selected = detectorLayout([out("b", [5, 4]), out("s", [5]), out("c", [5])], { boxFormat: "cxcywh", boxUnits: "normalized" });
    expect(selected).toEqual({ kind: "selected", boxes: "b", scores: "s", classes: "c", format: "cxcywh", units: "normalized" });
    // Every dimension symbolic: the declared order.
    expect(detectorLayout([out("b", ["N", "B", "F"]), out("s", ["N", "B", "C"])], {})).toMatchObject({ boxes: "b", scores: "s" });
  });

  it("give the class count the outputs declare", () => {
    const two = [out("b", ["N", 10, 4]), out("s", ["N", 10, 3])];
    expect(detectorClasses(two, detectorLayout(two, {}))).toBe(3);
    const one = [out("b", ["N", 10, 4]), out("s", ["N", 10])];
    expect(detectorClasses(one, detectorLayout(one, {}))).toBe(1);
    const rows = [out("r", ["N", 10, 8])];
    expect(detectorClasses(rows, detectorLayout(rows, {}))).toBe(3);
    const sel = [out("b", [5, 4]), out("s", [5]), out("c", [5])];
    expect(detectorClasses(sel, detectorLayout(sel, {}))).toBeUndefined();
  });

  it("refuse outputs that fit no layout, saying what was expected", () => {
    expect(() => detectorLayout([out("a", [1]), out("b", [1]), out("c", [1]), out("d", [1])], {})).toThrow(/one output \(YOLO rows\), two.*this model has 4/);
    expect(() => detectorLayout([out("rows", [1, 20, 5])], {})).toThrow(ShapeError);
    expect(() => detectorLayout([out("a", [1, 10, 3]), out("b", [1, 10, 2])], {})).toThrow(/ends in a dimension of 4/);
    expect(() => detectorLayout([out("a", [1, 10, 4])], { detection: "boxes-scores" })).toThrow(/'boxes-scores' detector has 2 outputs/);
  });

  it("leave outputs past a given layout's unread (an export that also returns NonMaxSuppression's indices)", () => {
    const outputs = [out("boxes", ["k", 4]), out("scores", ["k"]), out("labels", ["k"]), out("selected", ["k", 3])];
    expect(detectorLayout(outputs, { detection: "selected" })).toEqual({ kind: "selected", boxes: "boxes", scores: "scores", classes: "labels", format: "xyxy", units: "pixels" });
    expect(() => detectorLayout(outputs, {})).toThrow(/this model has 4/);
  });

  it("are read from simdcnn:detection, box_format and box_units, and a bad value names its key", () => {
    const s = modelSettings({ metadata: { "simdcnn:detection": "yolo", "simdcnn:box_format": "xyxy", "simdcnn:box_units": "normalized" } });
    expect([s.detection, s.boxFormat, s.boxUnits]).toEqual(["yolo", "xyxy", "normalized"]);
    expect(() => modelSettings({ metadata: { "simdcnn:box_format": "xywh" } })).toThrow(ModelFormatError);
    expect(() => modelSettings({ overrides: { detection: "ssd" } })).toThrow(/detection \(command-line override\): expected 'boxes-scores', 'yolo', 'selected'/);
  });
});

describe("decoding", () => {
  const input = { width: 100, height: 50 };

  it("scores every (box, class) pair of boxes + scores, above the threshold only", () => {
    const layout: DetectorLayout = { kind: "boxes-scores", boxes: "b", scores: "s", format: "xyxy", units: "normalized" };
    const b = Float32Array.of(0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1);
    const s = Float32Array.of(0.25, 0.75, 0.5, 0.125);
    expect(candidates(layout, { b, s }, input, 0.2)).toEqual([
      { class: 0, score: 0.25, box: [0, 0, 50, 25], index: 0 },
      { class: 1, score: 0.75, box: [0, 0, 50, 25], index: 0 },
      { class: 0, score: 0.5, box: [50, 25, 100, 50], index: 1 },
    ]);
    // A score equal to the threshold is dropped, as ONNX NonMaxSuppression drops it.
    expect(candidates(layout, { b, s }, input, 0.5).map((c) => c.score)).toEqual([0.75]);
  });

  it("scores a YOLO row by objectness times its best class, the lower index on a tie", () => {
    const layout: DetectorLayout = { kind: "yolo", rows: "r", rowLength: 7, format: "cxcywh", units: "pixels" };
    const r = Float32Array.of(10, 10, 4, 2, 0.5, 0.25, 0.75, /**/ 30, 20, 10, 10, 1, 0.5, 0.5, /**/ 0, 0, 1, 1, 0.25, 1, 0);
    expect(candidates(layout, { r }, input, 0.3)).toEqual([
      { class: 1, score: 0.375, box: [8, 9, 12, 11], index: 0 },
      { class: 0, score: 0.5, box: [25, 15, 35, 25], index: 1 },
    ]);
  });

  it("keeps a selecting model's own classes, and refuses boxes or classes that are not numbers of their kind", () => {
    const layout: DetectorLayout = { kind: "selected", boxes: "b", scores: "s", classes: "c", format: "xyxy", units: "pixels" };
    const b = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    expect(candidates(layout, { b, s: Float32Array.of(0.9, 0.1), c: Float32Array.of(3, 0) }, input, 0.5)).toEqual([{ class: 3, score: Math.fround(0.9), box: [1, 2, 3, 4], index: 0 }]);
    expect(() => candidates(layout, { b, s: Float32Array.of(0.9, 0.1), c: Float32Array.of(1.5, 0) }, input, 0.5)).toThrow(/class 0 is 1.5/);
    expect(() => candidates(layout, { b: Float32Array.of(0, 0, NaN, 1), s: Float32Array.of(0.9), c: Float32Array.of(0) }, input, 0.5)).toThrow(/not finite/);
    expect(() => candidates(layout, { b, s: Float32Array.of(0.9), c: Float32Array.of(0) }, input, 0.5)).toThrow(ShapeError);
  });
});

describe("non-maximum suppression", () => {
  const c = (cls: number, score: number, box: Corners, index: number): Candidate => ({ class: cls, score, box, index });

  it("drops a box overlapping a better one of its class, keeps other classes' and the better of a tie", () => {
    const a = c(0, 0.9, [0, 0, 10, 10], 0);
    // IoU with a: 81 / 119 = 0.68.
    const b = c(0, 0.8, [1, 1, 11, 11], 1);
    const far = c(0, 0.7, [20, 20, 30, 30], 2);
    const other = c(1, 0.85, [0, 0, 10, 10], 0);
    // IoU with far: 50 / 150 = 1/3, under 0.45.
    const half = c(0, 0.6, [25, 20, 35, 30], 3);
    expect(suppress([half, far, b, a, other], { iou: 0.45, maxBoxes: 10 })).toEqual([a, other, far, half]);
    expect(suppress([half, far, b, a, other], { iou: 0.3, maxBoxes: 10 })).toEqual([a, other, far]);
    expect(suppress([half, far, b, a, other], { iou: 0.45, maxBoxes: 2 })).toEqual([a, other]);
    const twin = c(0, 0.9, [0, 0, 10, 10], 5);
    expect(suppress([twin, a], { iou: 0.45, maxBoxes: 10 })).toEqual([a]);
  });

  it("agrees with the reference on random boxes with frequent ties, in any input order", () => {
    const rand = random(19);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(rand() * 30);
      const found = Array.from({ length: n }, (_, i) => {
        const [x, y] = [Math.floor(rand() * 12), Math.floor(rand() * 12)];
        return c(Math.floor(rand() * 3), Math.floor(rand() * 5) / 4, [x, y, x + 1 + Math.floor(rand() * 6), y + 1 + Math.floor(rand() * 6)], i);
      });
      const threshold = [0, 0.3, 0.45, 0.7, 1][trial % 5];
      const maxBoxes = 1 + Math.floor(rand() * 20);
      const want = referenceSuppress(found, threshold, maxBoxes);
      expect(suppress(found, { iou: threshold, maxBoxes })).toEqual(want);
      expect(suppress([...found].reverse(), { iou: threshold, maxBoxes })).toEqual(want);
    }
  });

  it("refuses thresholds out of range", () => {
    expect(() => suppress([], { iou: 1.5, maxBoxes: 1 })).toThrow(ArgumentError);
    expect(() => suppress([], { iou: 0.5, maxBoxes: 0 })).toThrow(ArgumentError);
  });
});

describe("detect", () => {
  it("thresholds, suppresses and maps to the slice in one pass, best first", () => {
    const layout: DetectorLayout = { kind: "boxes-scores", boxes: "b", scores: "s", format: "xyxy", units: "pixels" };
    const b = Float32Array.of(0, 0, 8, 8, 1, 1, 9, 9, 16, 16, 24, 24);
    const s = Float32Array.of(0.75, 0.875, 0.625);
    // A 32 x 32 input from a 64 x 16 slice: x doubles, y halves. Box 0 (IoU 49/79 with box 1) goes.
    expect(detect(layout, { b, s }, { width: 32, height: 32 }, 64, 16, { score: 0.5, iou: 0.45, maxBoxes: 5 })).toEqual([
      { class: 0, score: 0.875, box: [2, 0.5, 18, 4.5] },
      { class: 0, score: 0.625, box: [32, 8, 48, 12] },
    ]);
  });

  it("only ranks and caps boxes a model selected itself", () => {
    const layout: DetectorLayout = { kind: "selected", boxes: "b", scores: "s", classes: "c", format: "xyxy", units: "pixels" };
    const b = Float32Array.of(0, 0, 8, 8, 1, 1, 9, 9, 16, 16, 24, 24);
    const found = detect(layout, { b, s: Float32Array.of(0.75, 0.875, 0.625), c: Float32Array.of(0, 0, 1) }, { width: 32, height: 32 }, 32, 32, { score: 0.5, iou: 0.45, maxBoxes: 2 });
    expect(found.map((f) => [f.class, f.score])).toEqual([[0, 0.875], [0, 0.75]]);
  });
});

describe("box overlay", () => {
  it("outlines the pixels a box covers in its class's colour and leaves its inside grey", () => {
    const slice: Slice = { width: 40, height: 30, channels: 1, data: new Float32Array(40 * 30).fill(100), range: [0, 200], source: "test" };
    const rgba = overlayBoxes(slice, [{ class: 1, score: 0.5, box: [20.5, 20, 30, 25.5] }], { labels: ["a", "b"], colors: [[0, 0, 0], [10, 200, 30]] });
    const at = (x: number, y: number) => [...rgba.subarray(4 * (y * 40 + x), 4 * (y * 40 + x) + 4)];
    // Covered: columns 20..29, rows 20..25; the outline is one pixel outside them.
    for (const [x, y] of [[19, 22], [30, 22], [25, 19], [25, 26], [19, 19], [30, 26]]) expect(at(x, y)).toEqual([10, 200, 30, 255]);
    for (const [x, y] of [[20, 20], [29, 25], [25, 22], [31, 22], [25, 27]]) expect(at(x, y)).toEqual([128, 128, 128, 255]);
    expect(() => overlayBoxes(slice, [{ class: 2, score: 0.5, box: [0, 0, 1, 1] }], { labels: ["a", "b"], colors: [[0, 0, 0], [1, 1, 1]] })).toThrow(ArgumentError);
  });
});

describe("simdcnn detect", () => {
  let dir: string;
  let model: string;
  let slices: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "simdcnn-detect-"));
    // A detector over an 8 x 8 input: cell (i, j) (column i, row j) scores the pixel's value and
    // its box is the pixel, [i, j, i + 1, j + 1] in input pixels.
    const cells = Float32Array.from({ length: 64 * 4 }, (_, k) => {
      const [cell, side] = [Math.floor(k / 4), k % 4];
      return [cell % 8, Math.floor(cell / 8), (cell % 8) + 1, Math.floor(cell / 8) + 1][side];
    });
    model = join(dir, "cells.onnx");
    writeFileSync(model, onnxModel({
      inputs: [{ name: "slice", shape: ["N", 1, 8, 8] }],
      outputs: [{ name: "boxes", shape: ["N", 64, 4] }, { name: "scores", shape: ["N", 64, 1] }],
      nodes: [
        { op: "Reshape", inputs: ["slice", "shape"], outputs: ["scores"] },
        { op: "Mul", inputs: ["scores", "zero"], outputs: ["none"] },
        { op: "Add", inputs: ["none", "cells"], outputs: ["boxes"] },
      ],
      initializers: {
        shape: { dims: [3], data: BigInt64Array.of(-1n, 64n, 1n), dataType: 7 },
        zero: { dims: [1], data: Float32Array.of(0) },
        cells: { dims: [64, 4], data: cells },
      },
      metadata: { "simdcnn:labels": '["spot"]' },
    }));
    slices = join(dir, "slices");
    mkdirSync(slices);
    // 16 x 16: a white 2 x 2 block at columns 6..7, rows 10..11, which the half-pixel resize to
    // 8 x 8 makes input pixel (3, 5) of value 1 exactly, every other pixel 0.
    writeFileSync(join(slices, "a.png"), png(16, 16, (x, y) => (x >= 6 && x < 8 && y >= 10 && y < 12 ? 255 : 0)));
    writeFileSync(join(slices, "b-empty.png"), png(16, 16, () => 0));
    writeFileSync(join(slices, "c-corrupt.png"), png(16, 16, () => 9).subarray(0, 60));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes each slice's boxes in its own pixels, and the box image", async () => {
    const boxes = join(dir, "boxes");
    const r = await simdcnn(["detect", "--model", model, "--json", "--threads", "1", "--boxes", boxes, slices]);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as { file: string; detections?: unknown[]; boxes?: string; error?: string }[];
    expect(rows[0]).toEqual({
      file: join(slices, "a.png"), width: 16, height: 16, boxes: join(boxes, "a.boxes.png"),
      detections: [{ class: "spot", index: 0, score: 1, box: { x0: 6, y0: 10, x1: 8, y1: 12 } }],
    });
    expect(rows[1]).toMatchObject({ detections: [] });
    expect(rows[2].error).toMatch(/InputFormatError/);
    const image = PNG.sync.read(readFileSync(join(boxes, "a.boxes.png")));
    const at = (x: number, y: number) => [...image.data.subarray(4 * (y * 16 + x), 4 * (y * 16 + x) + 3)];
    // The box covers pixels 6..7 x 10..11 (white); its outline, in class 0's colour, surrounds them.
    expect(at(6, 10)).toEqual([255, 255, 255]);
    expect(at(5, 11)).toEqual([255, 59, 48]);
    expect(at(8, 12)).toEqual([255, 59, 48]);
  });

  it("reads boxes as the flags say, and prints a CSV line per box", async () => {
    const r = await simdcnn(["detect", "--model", model, "--csv", "--threads", "1", "--box-format", "cxcywh", join(slices, "a.png"), join(slices, "b-empty.png")]);
    expect(r.code).toBe(0);
    // [3, 5, 4, 6] as centre and size is x 1..5, y 2..8 in the input: doubled on the 16 x 16 slice.
    expect(r.stdout).toBe([
      "file,frame,width,height,class,class_index,score,x0,y0,x1,y1,boxes,error",
      `${join(slices, "a.png")},,16,16,spot,0,1,2,4,10,16,,`,
      `${join(slices, "b-empty.png")},,16,16,,,,,,,,,`,
      "",
    ].join("\n"));
  });

  it("refuses bad flags and models that are no detector before reading any input", async () => {
    for (const [args, message] of [
      [["--score", "2"], /--score expects a score in 0..1, got '2'/],
      [["--iou", "x"], /--iou expects an IoU in 0..1/],
      [["--max-boxes", "0"], /--max-boxes expects a positive integer/],
      [["--box-units", "cm"], /--box-units: expected 'pixels', 'normalized'/],
      [["--labels", "a,b"], /--labels: 2 class names but the detector scores 1 class$/m],
    ] as const) {
      const r = await simdcnn(["detect", "--model", model, ...args, slices]);
      expect(r.code, String(args)).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const r = await simdcnn(["detect", "--model", model, "--detection", "yolo", slices]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ShapeError: a 'yolo' detector has 1 output; this model has 2/);
  });
});
