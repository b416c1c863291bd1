#!/usr/bin/env node
// Measures phantom-seg.onnx with simdcnn on a fresh synthetic test set: Dice per class against
// the generator's masks. A demonstration, not a clinical tool.
//
//   npm run build                                  # once: dist/ and build/*.wasm
//   node examples/phantom-seg/evaluate.mjs [--start 150000] [--count 500] [--model phantom-seg.onnx] [--backend auto|simd|scalar]
//
// The test slices come from an index range that neither training (100000..), validation
// (120000..120499) nor the samples (90000..90011) use. Each slice goes in as the CLI gives a
// 16-bit PNG sample to the model: the 12-bit value v is stored as round(v * 65535 / 4095) and
// pixel / 65535 is the input. The mask is simdcnn's labelMap of the scores (the CLI's own: the
// argmax per pixel; the scores are already the slice's size). Dice is pooled over all slices
// (2|A∩B| / (|A| + |B|) over every pixel of the set), and for lesions also averaged per lesion
// slice. When reference/ (written by train.py) is there, simdcnn's masks of the sample PNGs are
// compared with PyTorch's.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pngjs from "pngjs";
import { labelMap, readSlices, toInput } from "../../dist/io/index.js";
import { SIZE, evaluationSetup, testBatches } from "../phantom/evaluation.mjs";
import { MASK_LABELS } from "../phantom/generate.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const SAMPLES = join(HERE, "..", "phantom", "samples");
const { start, count, engine, model } = await evaluationSetup({ start: 150000, count: 500, model: join(HERE, "phantom-seg.onnx") });
const BATCH = 25;
const CLASSES = MASK_LABELS.length;
const MAP = { layout: "NCHW", channels: CLASSES, height: SIZE, width: SIZE };
const masksOf = (input, n) => {
  const out = model.run({ slice: input }).scores;
  const k = CLASSES * SIZE * SIZE;
  return Array.from({ length: n }, (_, i) => labelMap(out.subarray(i * k, (i + 1) * k), MAP, SIZE, SIZE));
};

// --- the fresh test set -------------------------------------------------------------------
const inter = new Array(CLASSES).fill(0);
const sums = new Array(CLASSES).fill(0);
const lesionDice = [];
let found = 0;
let falseAlarms = 0;
let lesionSlices = 0;
let inferMs = 0;
for (const { n, input, truth } of testBatches(start, count, BATCH)) {
  const t = performance.now();
  const masks = masksOf(input, n);
  inferMs += performance.now() - t;
  masks.forEach((pred, i) => {
    const want = truth[i].mask;
    let li = 0;
    let lp = 0;
    let lt = 0;
    for (let p = 0; p < pred.length; p++) {
      sums[pred[p]]++;
      sums[want[p]]++;
      if (pred[p] === want[p]) inter[pred[p]]++;
      if (pred[p] === 3) lp++;
      if (want[p] === 3) lt++;
      if (pred[p] === 3 && want[p] === 3) li++;
    }
    if (truth[i].label === 1) {
      lesionSlices++;
      lesionDice.push((2 * li) / (lp + lt));
      if (li > 0) found++;
    } else if (lp > 0) falseAlarms++;
  });
}
const dice = inter.map((x, c) => (2 * x) / sums[c]);
const mean = lesionDice.reduce((a, d) => a + d, 0) / lesionDice.length;
const median = [...lesionDice].sort((a, b) => a - b)[Math.floor(lesionDice.length / 2)];

console.log(`phantom-seg.onnx on ${count} fresh slices (indices ${start}..${start + count - 1}; ${lesionSlices} with a lesion), backend ${engine.backend}:`);
for (let c = 1; c < CLASSES; c++) console.log(`  Dice ${MASK_LABELS[c].padEnd(6)} ${dice[c].toFixed(4)} (pooled over the set)`);
console.log(`  lesion Dice per lesion slice: mean ${mean.toFixed(4)}, median ${median.toFixed(4)}`);
console.log(`  lesions found (any overlap): ${found}/${lesionSlices}; normal slices with lesion pixels: ${falseAlarms}/${count - lesionSlices}`);
console.log(`  inference ${(inferMs / count).toFixed(1)} ms per slice (batches of ${BATCH})`);

// --- the samples against PyTorch ----------------------------------------------------------
const refDir = join(HERE, "reference");
if (existsSync(join(refDir, "reference.json"))) {
  const { ties } = JSON.parse(readFileSync(join(refDir, "reference.json"), "utf8"));
  let differ = 0;
  let atTies = 0;
  let pixels = 0;
  for (const [stem, tied] of Object.entries(ties)) {
    const [slice] = await readSlices(new Uint8Array(readFileSync(join(SAMPLES, `${stem}.png`))));
    const input = toInput(slice, { layout: "NCHW", channels: 1, height: SIZE, width: SIZE, resize: "bilinear", normalize: "unit" });
    const [mask] = masksOf(input, 1);
    const ref = pngjs.PNG.sync.read(readFileSync(join(refDir, `${stem}.mask.png`)));
    const tie = new Set(tied);
    for (let p = 0; p < mask.length; p++) {
      pixels++;
      if (mask[p] !== ref.data[4 * p]) {
        if (tie.has(p)) atTies++;
        else differ++;
      }
    }
  }
  console.log(`  samples against PyTorch's masks: ${differ} of ${pixels} pixels differ (plus ${atTies} at near-ties)`);
}
