// What the Model's cache of plans saves a caller that alternates between two input shapes: the
// U-Net fixture at batch 2 and batch 3, run in turn by a model that keeps both plans, against
// the same two runs each planning first (a fresh model per pair, planned at load for batch 1
// only, as when one plan was kept and every switch re-planned).
import { readFileSync } from "node:fs";
import { Bench } from "tinybench";
import { type Model, init } from "../src/index.js";
import { parseFlags } from "./args.js";

const { values: flags } = parseFlags({
  script: "bench/bindings.ts",
  synopsis: "npm run bench:bindings -- [flags]",
  about:
    "Alternating input shapes (batch 2 and 3 of test/fixtures/unet/unet-deconv-bn-opset13.onnx,\n" +
    "SIMD build, one thread) with the plans kept, against each run planning first. Prints only.",
  flags: { quick: { type: "boolean", help: "fewer runs (noisier)" } },
});

const engine = await init({ backend: "simd", threads: 1 });
const bytes = new Uint8Array(readFileSync(new URL("../test/fixtures/unet/unet-deconv-bn-opset13.onnx", import.meta.url)));
const kept = await engine.loadOnnx(bytes);
const name = kept.inputs[0].name;
const two = { [name]: new Float32Array(2 * 64 * 64).fill(0.5) };
const three = { [name]: new Float32Array(3 * 64 * 64).fill(0.5) };
let fresh: Model | undefined;

const bench = new Bench({ iterations: flags.quick ? 5 : 20, time: 0, warmup: true });
bench.add("batch 2 then 3, plans kept", () => {
  kept.run(two);
  kept.run(three);
});
bench.add("batch 2 then 3, each planning", () => {
  fresh!.run(two);
  fresh!.run(three);
}, {
  beforeEach: async () => {
    fresh = await engine.loadOnnx(bytes);
  },
  afterEach: () => fresh?.dispose(),
});
await bench.run();
const mean = (i: number) => bench.tasks[i].result!.latency.mean;
for (const [i, t] of bench.tasks.entries()) console.log(`${t.name}: ${mean(i).toFixed(2)} ms a pair`);
console.log(`planning each time costs ${(mean(1) / mean(0)).toFixed(1)}x the pair with plans kept; plans built by the kept model: ${kept.plans} (batch 1 at load, 2 and 3)`);
kept.dispose();
engine.dispose();
