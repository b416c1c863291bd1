// The bundled detection demo: examples/phantom-detect/phantom-detect.onnx gives onnxruntime-web's
// boxes and scores on the sample slices (the input the CLI gives it), the same bits in both
// builds, and `simdcnn detect` boxes every sample lesion (IoU >= 0.5 with its true box, the
// generator's disc in pixel-edge coordinates) and nothing on the normal samples, with the boxes
// that onnxruntime's outputs give through the same decoding.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { init } from "../src/node.js";
import { iou } from "../src/detect/box.js";
import { detect } from "../src/detect/detect.js";
import { detectorLayout } from "../src/detect/layout.js";
import { modelSettings } from "../src/io/metadata.js";
import { toInput } from "../src/io/preprocess.js";
import { readSlices } from "../src/io/read.js";
import { COMMAND } from "./cli-run.js";
import { runOrt } from "./ort.js";

const run = promisify(execFile);
const root = new URL("../", import.meta.url).pathname;
const samples = join(root, "examples/phantom/samples");
const modelPath = join(root, "examples/phantom-detect/phantom-detect.onnx");
const meta = JSON.parse(readFileSync(join(samples, "samples.json"), "utf8")) as { files: Record<string, { lesion: { x: number; y: number; r: number } | null }> };
const names = Object.keys(meta.files).sort();
const truth = (name: string) => {
  const l = meta.files[name].lesion;
  return l && ([l.x + 0.5 - l.r, l.y + 0.5 - l.r, l.x + 0.5 + l.r, l.y + 0.5 + l.r] as const);
};

// Float32 convolutions summed in another order: the scores (sigmoids, 0..1) differ by a few
// float32 ulps of 1, the boxes (up to 128 px, a sigmoid times 8 or 32 plus a cell offset) by as
// many ulps of 128 (measured on the samples: 1.8e-7 and 7.6e-6); the bounds leave room for a
// model retrained with other weights.
const SCORE_TOLERANCE = 1e-5;
const BOX_TOLERANCE = 1e-4;

describe("phantom detection demo", () => {
  it("gives onnxruntime's boxes and scores on the samples, the same bits in both builds", async () => {
    const bytes = new Uint8Array(readFileSync(modelPath));
    const outputs: Record<string, Record<string, Float32Array>> = {};
    for (const backend of ["simd", "scalar"] as const) {
      const engine = await init({ backend });
      const model = await engine.loadOnnx(bytes);
      const spec = modelSettings({ metadata: model.metadata, inputShape: model.inputs[0].shape }).input!;
      for (const name of names) {
        const [slice] = await readSlices(new Uint8Array(readFileSync(join(samples, name))));
        const out = model.run({ slice: toInput(slice, spec) });
        if (backend === "simd") outputs[name] = { boxes: out.boxes.slice(), scores: out.scores.slice() };
        else {
          expect(Buffer.from(out.boxes.buffer, out.boxes.byteOffset, out.boxes.byteLength).equals(Buffer.from(outputs[name].boxes.buffer))).toBe(true);
          expect(Buffer.from(out.scores.buffer, out.scores.byteOffset, out.scores.byteLength).equals(Buffer.from(outputs[name].scores.buffer))).toBe(true);
        }
      }
      model.dispose();
      engine.dispose();
    }
    const engine = await init();
    const model = await engine.loadOnnx(bytes);
    // A detector's settings: its metadata and input (its first output is boxes, not class scores).
    const settings = modelSettings({ metadata: model.metadata, inputShape: model.inputs[0].shape });
    const input = settings.input!;
    const layout = detectorLayout(model.outputs, settings);
    model.dispose();
    engine.dispose();
    for (const name of names) {
      const [slice] = await readSlices(new Uint8Array(readFileSync(join(samples, name))));
      const ort = await runOrt(bytes, { slice: { data: toInput(slice, input), dims: [1, 1, 128, 128] } });
      expect(ort.boxes.dims).toEqual([1, 256, 4]);
      expect(ort.scores.dims).toEqual([1, 256, 1]);
      let boxDiff = 0;
      let scoreDiff = 0;
      ort.boxes.data.forEach((v, i) => (boxDiff = Math.max(boxDiff, Math.abs(v - outputs[name].boxes[i]))));
      ort.scores.data.forEach((v, i) => (scoreDiff = Math.max(scoreDiff, Math.abs(v - outputs[name].scores[i]))));
      expect(boxDiff, name).toBeLessThanOrEqual(BOX_TOLERANCE);
      expect(scoreDiff, name).toBeLessThanOrEqual(SCORE_TOLERANCE);
      // The same decoding of both runtimes' outputs keeps the same boxes.
      const options = { score: 0.5, iou: 0.45, maxBoxes: 100 };
      const ours = detect(layout, outputs[name], input, slice.width, slice.height, options);
      const theirs = detect(layout, { boxes: ort.boxes.data, scores: ort.scores.data }, input, slice.width, slice.height, options);
      expect(ours.map((d) => d.class)).toEqual(theirs.map((d) => d.class));
      ours.forEach((d, i) => d.box.forEach((v, k) => expect(Math.abs(v - theirs[i].box[k])).toBeLessThanOrEqual(BOX_TOLERANCE)));
    }
  }, 120_000);

  it("simdcnn detect boxes every sample lesion and nothing on the normal samples", async () => {
    const { stdout } = await run(
      process.execPath,
      [COMMAND, "detect", "--json", "--threads", "2", "--model", modelPath, samples],
      { encoding: "utf8" },
    );
    const rows = JSON.parse(stdout) as { file: string; width: number; detections: { class: string; box: { x0: number; y0: number; x1: number; y1: number } }[] }[];
    expect(rows.map((r) => r.file)).toEqual(names.map((n) => join(samples, n)));
    for (const [i, name] of names.entries()) {
      const want = truth(name);
      const found = rows[i].detections;
      if (!want) {
        expect(found, name).toEqual([]);
        continue;
      }
      expect(found.map((d) => d.class), name).toEqual(["lesion"]);
      const { x0, y0, x1, y1 } = found[0].box;
      expect(iou([x0, y0, x1, y1], want), name).toBeGreaterThanOrEqual(0.5);
    }
  }, 120_000);
});
