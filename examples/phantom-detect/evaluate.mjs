#!/usr/bin/env node
// Measures phantom-detect.onnx with simdcnn on a fresh synthetic test set: mAP@0.5 of its lesion
// boxes against the generator's known lesions. A demonstration, not a clinical tool.
//
//   npm run build                                  # once: dist/ and build/*.wasm
//   node examples/phantom-detect/evaluate.mjs [--start 250000] [--count 500] [--model phantom-detect.onnx] [--backend auto|simd|scalar]
//
// The test slices come from an index range that neither training (200000..203999), validation
// (220000..220249), the other demos nor the samples (90000..90011) use. Each slice goes in as the
// CLI gives a 16-bit PNG sample to the model: the 12-bit value v is stored as
// round(v * 65535 / 4095) and pixel / 65535 is the input. The boxes are the CLI's own: detect()
// (src/detect) with the model's layout from its metadata, per-class NMS at IoU 0.45, here with a
// score threshold of 0.01 so that the precision-recall curve reaches low scores (the CLI's
// default, 0.5, is reported too). A lesion's true box is its disc's bounding box in pixel-edge
// coordinates: centre (x + 0.5, y + 0.5), side 2r.
//
// AP@0.5 (one class, so mAP = AP): every box of the set, best score first, is a true positive
// when its IoU with a not yet matched lesion of its slice is at least 0.5, else a false positive;
// AP is the area under the precision-recall curve with precision made monotone (all-point
// interpolation, as PASCAL VOC since 2010 and COCO's per-threshold AP without its 101-point
// sampling).

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { iou } from "../../dist/detect/box.js";
import { detect } from "../../dist/detect/detect.js";
import { detectorLayout } from "../../dist/detect/layout.js";
import { modelSettings } from "../../dist/io/index.js";
import { SIZE, evaluationSetup, testBatches } from "../phantom/evaluation.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { start, count, backend, engine, model } = await evaluationSetup({ start: 250000, count: 500, model: join(HERE, "phantom-detect.onnx") });
const BATCH = 25;
const LOW = 0.01;
const CLI_SCORE = 0.5;
const IOU = 0.45;

// A detector's settings: its metadata and input; its first output is boxes, not class scores.
const settings = modelSettings({ metadata: model.metadata, inputShape: model.inputs[0].shape });
const layout = detectorLayout(model.outputs, settings);

/** Area under the precision-recall curve of `boxes` ({ score, slice, box }) against `truth` (a box or null per slice). */
function averagePrecision(boxes, truth) {
  const positives = truth.filter((t) => t !== null).length;
  const matched = new Set();
  const sorted = [...boxes].sort((a, b) => b.score - a.score || a.slice - b.slice);
  let tp = 0;
  const points = sorted.map((d, rank) => {
    const t = truth[d.slice];
    if (t !== null && !matched.has(d.slice) && iou(d.box, t) >= 0.5) {
      matched.add(d.slice);
      tp++;
    }
    return { recall: tp / positives, precision: tp / (rank + 1) };
  });
  for (let i = points.length - 2; i >= 0; i--) points[i].precision = Math.max(points[i].precision, points[i + 1].precision);
  let ap = 0;
  let recall = 0;
  for (const p of points) {
    ap += (p.recall - recall) * p.precision;
    recall = p.recall;
  }
  return { ap, recall: tp / positives, precision: sorted.length ? tp / sorted.length : 1 };
}

const truth = [];
const boxes = [];
let inferMs = 0;
for (const { first: b, n, input, truth: slices } of testBatches(start, count, BATCH)) {
  for (const { lesion: l } of slices) truth.push(l ? [l.x + 0.5 - l.r, l.y + 0.5 - l.r, l.x + 0.5 + l.r, l.y + 0.5 + l.r] : null);
  const t = performance.now();
  const out = model.run({ [model.inputs[0].name]: input });
  inferMs += performance.now() - t;
  for (let i = 0; i < n; i++) {
    const mine = Object.fromEntries(Object.entries(out).map(([name, o]) => [name, o.subarray((i * o.length) / n, ((i + 1) * o.length) / n)]));
    for (const d of detect(layout, mine, settings.input, SIZE, SIZE, { score: LOW, iou: IOU, maxBoxes: 100 })) boxes.push({ ...d, slice: b + i });
  }
}
model.dispose();
engine.dispose();

const lesions = truth.filter((t) => t !== null).length;
const all = averagePrecision(boxes, truth);
const cli = averagePrecision(boxes.filter((d) => d.score > CLI_SCORE), truth);
const falseOnNormal = new Set(boxes.filter((d) => d.score > CLI_SCORE && truth[d.slice] === null).map((d) => d.slice)).size;
console.log(`phantom-detect.onnx on ${count} fresh slices (indices ${start}..${start + count - 1}; ${lesions} with a lesion), backend ${backend === "auto" ? "auto" : backend}:`);
console.log(`  mAP@0.5 ${all.ap.toFixed(4)} (boxes scoring above ${LOW}, NMS at IoU ${IOU}; recall ${all.recall.toFixed(4)})`);
console.log(`  at the CLI's --score ${CLI_SCORE}: recall ${cli.recall.toFixed(4)}, precision ${cli.precision.toFixed(4)}; normal slices with a box: ${falseOnNormal}/${count - lesions}`);
console.log(`  inference ${(inferMs / count).toFixed(2)} ms per slice (batches of ${BATCH})`);
