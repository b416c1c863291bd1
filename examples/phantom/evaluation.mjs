// What the three phantom demos' evaluate.mjs share: their command-line options, the engine and
// model, and the fresh test slices, in batches, as the CLI gives a 16-bit PNG sample to a model
// (the 12-bit value v is stored as round(v * 65535 / 4095) and pixel / 65535 is the input).

import { readFileSync } from "node:fs";
import { init } from "../../dist/index.js";
import { phantomSlice, to16bit } from "./generate.mjs";

export const SIZE = 128;

/** Reads --start, --count, --model and --backend (with the given defaults), starts simdcnn and loads the model. */
export async function evaluationSetup({ start, count, model }) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const modelPath = opt("model", model);
  const backend = opt("backend", "auto");
  const engine = await init({ backend });
  return {
    start: Number(opt("start", start)),
    count: Number(opt("count", count)),
    modelPath,
    backend,
    engine,
    model: await engine.loadOnnx(new Uint8Array(readFileSync(modelPath))),
  };
}

/** The slices [start, start + count) in batches of `batch`: { first, n, input [n,1,SIZE,SIZE], truth: the generator's slices }. */
export function* testBatches(start, count, batch) {
  for (let b = 0; b < count; b += batch) {
    const n = Math.min(batch, count - b);
    const input = new Float32Array(n * SIZE * SIZE);
    const truth = [];
    for (let i = 0; i < n; i++) {
      const s = phantomSlice(start + b + i, { size: SIZE });
      for (let p = 0; p < SIZE * SIZE; p++) input[i * SIZE * SIZE + p] = to16bit(s.pixels[p]) / 65535;
      truth.push(s);
    }
    yield { first: b, n, input, truth };
  }
}
