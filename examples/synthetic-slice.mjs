// The demo until the slice classifier ships: a small CNN (three conv+relu+maxpool blocks, global
// average pool, dense, softmax) with seeded random weights, run on a generated 256x256 greyscale
// slice in both builds. Prints the outputs, the time per build and the SIMD speedup.
//   npm run demo
import { init } from "simdcnn";

function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// An MR-like phantom: an elliptical body with a smooth intensity bias, a brighter round organ, a
// small lesion and noise, values in 0..1.
function phantomSlice(size) {
  const rand = seeded(7);
  const img = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x - size / 2) / (size * 0.42);
      const v = (y - size / 2) / (size * 0.34);
      let value = 0;
      if (u * u + v * v < 1) {
        value = 0.45 + 0.15 * (x / size);
        const ox = (x - size * 0.38) / (size * 0.12);
        const oy = (y - size * 0.45) / (size * 0.1);
        if (ox * ox + oy * oy < 1) value += 0.25;
        const lx = x - size * 0.62;
        const ly = y - size * 0.55;
        if (lx * lx + ly * ly < 36) value += 0.3;
      }
      img[y * size + x] = Math.min(1, Math.max(0, value + 0.04 * (rand() - 0.5)));
    }
  }
  return img;
}

function weights(engine, shape, seed) {
  const rand = seeded(seed);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const scale = Math.sqrt(2 / fanIn);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * scale);
  return engine.tensor(data, shape);
}

async function build(backend) {
  const engine = await init({ backend });
  const blocks = [
    [16, 1],
    [32, 16],
    [64, 32],
  ].map(([cout, cin], i) => engine.prepareConv2d(weights(engine, [cout, 3, 3, cin], i + 1), { padding: "same", activation: "relu" }));
  const dense = engine.prepareGemm(weights(engine, [64, 2], 9), { bias: new Float32Array([0.1, -0.1]) });
  const slice = engine.tensor(phantomSlice(256), [1, 256, 256, 1]);
  const run = () => {
    let x = slice;
    for (const conv of blocks) {
      const y = conv.run(x);
      if (x !== slice) x.dispose();
      x = engine.maxPool2d(y, { kernel: 2 });
      y.dispose();
    }
    const pooled = engine.globalAvgPool(x);
    x.dispose();
    const features = engine.tensor(pooled.toArray(), [1, 64]);
    pooled.dispose();
    const logits = dense.run(features);
    features.dispose();
    const probs = engine.softmax(logits);
    logits.dispose();
    const out = probs.toArray();
    probs.dispose();
    return out;
  };
  return { engine, run };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const results = {};
for (const backend of ["simd", "scalar"]) {
  const { engine, run } = await build(backend);
  run();
  const times = [];
  let out;
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    out = run();
    times.push(performance.now() - t0);
  }
  results[backend] = { ms: median(times), out, memory: engine.memoryBytes };
}

console.log("simdcnn demo: 3 x (conv 3x3 + relu + maxpool 2x2), global average pool, dense 64->2, softmax");
console.log("input: generated 256x256 greyscale slice; weights: seeded random (not a trained model)\n");
for (const [backend, r] of Object.entries(results)) {
  console.log(
    `${backend.padEnd(7)} output [${Array.from(r.out, (v) => v.toFixed(6)).join(", ")}]  ${r.ms.toFixed(2)} ms per inference (median of 15)  ${(r.memory / 1024).toFixed(0)} KiB in use`,
  );
}
const same = results.simd.out.every((v, i) => Object.is(v, results.scalar.out[i]));
console.log(`\nSIMD speedup: ${(results.scalar.ms / results.simd.ms).toFixed(2)}x; outputs ${same ? "bit-identical" : "DIFFER"} between builds`);
