#!/usr/bin/env node
// The pointing game for simdcnn's explanations (src/explain): does the heat's peak, and the box
// around it, fall on the evidence the model should use? A demonstration, not a clinical tool.
//
//   npm run build                                  # once: dist/ and build/*.wasm
//   node examples/phantom/pointing.mjs [--start 100000] [--count 1000] [--methods occlusion,scorecam] [--baseline mean|blur|zero] [--batch 32]
//
// (a) phantom lesion slices: the lesion slices of indices start..start+count-1 (half of them; the
// range is disjoint from training 0..7999, validation 20000..20999, the test set 50000..50999 and
// the samples 90000..90011), explained for the class "lesion" by phantom.onnx. A hit: the peak
// within r + 8 px of the lesion's centre (r its radius; 8 px = 1/16 of the slice, the usual
// pointing-game tolerance of 15 px at 224 scaled to 128); also given: the peak inside the lesion
// (within r), and the box containing the lesion's centre.
// (b) the saturated detector of saturated.mjs on 200 placements of its two squares: a hit is the
// peak on the strong square (within its 5 x 5 pixels) and a box that holds the strong square's
// centre and not the weak one's.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, layers } from "../../dist/index.js";
import { explain } from "../../dist/explain/explain.js";
import { phantomSlice, to16bit } from "./generate.mjs";
import { SIZE as DSIZE, saturatedDetector, saturatedImage } from "./saturated.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const start = Number(opt("start", 100000));
const count = Number(opt("count", 1000));
const methods = opt("methods", "occlusion,scorecam").split(",");
const baseline = opt("baseline", "mean");
const batch = Number(opt("batch", 32));
const SIZE = 128;
const TOLERANCE = 8;

const engine = await init({ backend: "auto" });
const pct = (a, b) => `${((100 * a) / b).toFixed(1)}%`;

// (a) phantom lesions
const model = await engine.loadOnnx(new Uint8Array(readFileSync(join(HERE, "phantom.onnx"))));
const geo = { name: "slice", layout: "NCHW", channels: 1, height: SIZE, width: SIZE };
const lesions = [];
for (let i = start; i < start + count; i++) {
  const s = phantomSlice(i, { size: SIZE });
  if (s.label === 1) lesions.push({ index: i, s });
}
for (const method of methods) {
  let hit = 0, inside = 0, boxed = 0, flat = 0;
  const t0 = performance.now();
  for (const { s } of lesions) {
    const input = Float32Array.from(s.pixels, (v) => to16bit(v) / 65535);
    const { region } = explain(model, input, geo, "softmax", 1, { method, baseline, batch });
    const { x, y, r } = s.lesion;
    const d = Math.hypot(region.peak.x - x, region.peak.y - y);
    if (d <= r + TOLERANCE) hit++;
    if (d <= r) inside++;
    const b = region.box;
    if (!b) flat++;
    else if (x >= b.x - 0.5 && x <= b.x + b.width - 0.5 && y >= b.y - 0.5 && y <= b.y + b.height - 0.5) boxed++;
  }
  const n = lesions.length;
  console.log(
    `(a) phantom, ${method} (baseline ${baseline}), ${n} lesion slices of ${start}..${start + count - 1}: ` +
      `peak within r+${TOLERANCE} px ${pct(hit, n)} (${hit}/${n}), inside the lesion ${pct(inside, n)}, box holds the centre ${pct(boxed, n)}, flat ${flat}; ` +
      `${((performance.now() - t0) / n).toFixed(0)} ms a slice`,
  );
}
model.dispose();

// (b) the saturated detector
const detector = saturatedDetector(engine, layers);
const dgeo = { name: detector.inputs[0].name, layout: "NHWC", channels: 1, height: DSIZE, width: DSIZE };
let state = 12345;
const rand = (n) => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state >>> 8) % n;
};
const cases = [];
while (cases.length < 200) {
  const strong = [rand(DSIZE - 5), rand(DSIZE - 5)];
  const weak = [rand(DSIZE - 5), rand(DSIZE - 5)];
  // The squares keep 8 px apart, so hiding one never hides the other.
  if (Math.max(Math.abs(strong[0] - weak[0]), Math.abs(strong[1] - weak[1])) >= 13) cases.push({ strong, weak });
}
for (const method of methods) {
  let hit = 0, boxed = 0, saturated = 0;
  for (const { strong, weak } of cases) {
    const img = saturatedImage(strong, weak);
    const p = detector.run({ [dgeo.name]: img })[detector.outputs[0].name][0];
    if (p === 1) saturated++;
    const { region } = explain(detector, img, dgeo, "logits", 0, { method, baseline, batch });
    const on = (pt, [x0, y0]) => pt.x >= x0 && pt.x < x0 + 5 && pt.y >= y0 && pt.y < y0 + 5;
    if (on(region.peak, strong)) hit++;
    const b = region.box;
    const holds = (x, y) => b && x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height;
    if (holds(strong[0] + 2, strong[1] + 2) && !holds(weak[0] + 2, weak[1] + 2)) boxed++;
  }
  const n = cases.length;
  console.log(`(b) saturated detector, ${method} (baseline ${baseline}), ${n} placements (probability exactly 1 in ${saturated}): peak on the strong square ${pct(hit, n)}, box on it and not on the weak one ${pct(boxed, n)}`);
}
detector.dispose();
engine.dispose();
