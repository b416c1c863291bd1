#!/usr/bin/env node
// Measures phantom.onnx (or its int8 version, --model phantom.int8.onnx) with simdcnn on a fresh synthetic test set. A demonstration, not a
// clinical tool.
//
//   npm run build                                  # once: dist/ and build/*.wasm
//   node examples/phantom/evaluate.mjs [--start 50000] [--count 1000] [--model phantom.onnx] [--backend auto|simd|scalar]
//
// The test slices come from an index range that neither training (0..7999, validation
// 20000..20999) nor the samples (90000..90011) use. Each slice goes in the way the CLI's 'unit'
// normalisation of a 16-bit PNG sample gives it: the 12-bit value v is written to the PNG as
// round(v * 65535 / 4095), and pixel / 65535 is the model's input (so input = v/4095 to within
// 1e-5, as in training). The probabilities are the softmax of the logits (simdcnn:output).
// It also checks the sample PNGs in samples/ (decoded with pngjs) against their labels, and,
// when reference-logits.json (written by train.py) is there, simdcnn's logits against
// PyTorch's.

import { readFileSync, existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pngjs from "pngjs";
import { SIZE, evaluationSetup, testBatches } from "./evaluation.mjs";
import { phantomSlice, LABELS } from "./generate.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { start, count, modelPath, engine, model } = await evaluationSetup({ start: 50000, count: 1000, model: join(HERE, "phantom.onnx") });
const BATCH = 50;

function softmax2(l0, l1) {
  const m = Math.max(l0, l1);
  const e0 = Math.exp(l0 - m);
  const e1 = Math.exp(l1 - m);
  return e1 / (e0 + e1);
}

/** Runs a batch of [n, 1, 128, 128] inputs; returns the logits as [n][2]. */
function logitsOf(input, n) {
  const out = model.run({ slice: input }).logits;
  return Array.from({ length: n }, (_, i) => [out[2 * i], out[2 * i + 1]]);
}

// --- the fresh test set -------------------------------------------------------------------
let tp = 0, tn = 0, fp = 0, fn = 0;
const t0 = performance.now();
let inferMs = 0;
const missed = [];
for (const { first: b, n, input, truth } of testBatches(start, count, BATCH)) {
  const t = performance.now();
  const logits = logitsOf(input, n);
  inferMs += performance.now() - t;
  logits.forEach(([l0, l1], i) => {
    const pred = softmax2(l0, l1) >= 0.5 ? 1 : 0;
    const y = truth[i].label;
    if (y === 1 && pred === 1) tp++;
    else if (y === 0 && pred === 0) tn++;
    else if (y === 0) fp++;
    else {
      fn++;
      missed.push({ index: start + b + i, ...truth[i].lesion });
    }
  });
}
const pct = (a, b) => `${((100 * a) / b).toFixed(1)}%`;
console.log(`${basename(modelPath)} on ${count} fresh synthetic slices (indices ${start}..${start + count - 1}), simdcnn ${engine.backend} build:`);
console.log(`  accuracy    ${pct(tp + tn, count)} (${tp + tn}/${count})`);
console.log(`  sensitivity ${pct(tp, tp + fn)} (${tp}/${tp + fn} lesion slices found)`);
console.log(`  specificity ${pct(tn, tn + fp)} (${tn}/${tn + fp} normal slices called normal)`);
console.log(`  confusion   TP ${tp}  FN ${fn}  FP ${fp}  TN ${tn}`);
console.log(`  inference   ${(inferMs / count).toFixed(2)} ms per slice (batches of ${BATCH}); total ${((performance.now() - t0) / 1000).toFixed(1)} s incl. generation`);
if (missed.length) {
  const rs = missed.map((m) => m.r).sort((a, b) => a - b);
  console.log(`  missed lesions: ${missed.length}, radius median ${rs[Math.floor(rs.length / 2)]} px (range ${rs[0]}..${rs[rs.length - 1]})`);
}

// --- the sample PNGs ----------------------------------------------------------------------
const samplesFile = join(HERE, "samples", "samples.json");
if (existsSync(samplesFile)) {
  const { files } = JSON.parse(readFileSync(samplesFile, "utf8"));
  const names = Object.keys(files);
  const input = new Float32Array(names.length * SIZE * SIZE);
  names.forEach((name, i) => {
    const png = pngjs.PNG.sync.read(readFileSync(join(HERE, "samples", name)), { skipRescale: true });
    if (png.width !== SIZE || png.height !== SIZE || png.depth !== 16) throw new Error(`${name}: expected a 128x128 16-bit PNG`);
    const ch = png.data.length / (SIZE * SIZE); // pngjs expands grey to RGBA
    for (let p = 0; p < SIZE * SIZE; p++) input[i * SIZE * SIZE + p] = png.data[p * ch] / 65535;
  });
  const logits = logitsOf(input, names.length);
  let right = 0;
  console.log(`samples/ (${names.length} PNGs):`);
  names.forEach((name, i) => {
    const p = softmax2(...logits[i]);
    const pred = LABELS[p >= 0.5 ? 1 : 0];
    if (pred === files[name].label) right++;
    console.log(`  ${name.padEnd(24)} label ${files[name].label.padEnd(6)}  P(lesion) ${p.toFixed(3)}  ${pred === files[name].label ? "ok" : "WRONG"}`);
  });
  console.log(`  ${right}/${names.length} as labelled`);

  const refFile = join(HERE, "reference-logits.json");
  if (existsSync(refFile)) {
    const ref = JSON.parse(readFileSync(refFile, "utf8")).logits;
    // The same input PyTorch had (v/4095 from the generator), and the PNG path (pixel/65535).
    const raw = new Float32Array(names.length * SIZE * SIZE);
    names.forEach((name, i) => raw.set(Float32Array.from(phantomSlice(files[name].index, { size: SIZE }).pixels, (v) => v / 4095), i * SIZE * SIZE));
    const rawLogits = logitsOf(raw, names.length);
    let maxRaw = 0, maxPng = 0;
    names.forEach((name, i) => {
      const r = ref[String(files[name].index)];
      if (r) {
        for (let k = 0; k < 2; k++) {
          maxRaw = Math.max(maxRaw, Math.abs(r[k] - rawLogits[i][k]));
          maxPng = Math.max(maxPng, Math.abs(r[k] - logits[i][k]));
        }
      }
    });
    console.log(`  simdcnn vs PyTorch logits on the samples: max abs diff ${maxRaw.toExponential(2)} on the same input (v/4095), ${maxPng.toExponential(2)} from the PNGs (pixel/65535)`);
  }
}
model.dispose?.();
