// Activations at throughput: ns per element of each kind as a standalone unary op and fused into
// a 3 -> 3 3x3 convolution at 256x256 (196K outputs, the small-channel kernel), in one run, with
// calls of all workloads alternating round after round so that a busy host slows them alike.
import { type Activation, type Tensor, init } from "../src/node.js";
import type { UnaryFn } from "../src/ops/elementwise.js";
import { parseFlags } from "./args.js";
import { random } from "./nets.js";

const USAGE = {
  script: "bench/activations.ts",
  synopsis: "npm run bench:activations -- [flags]",
  about: "ns per element of the activations, standalone and fused into a convolution, SIMD build, one thread.",
  flags: { quick: { type: "boolean", help: "shorter measurements (noisier)" } },
} as const;
const quick = parseFlags(USAGE).values.quick === true;

const e = await init({ backend: "simd" });
const hw = 256;
const c = 3;
const count = hw * hw * c;
const x = e.tensor(random(count, 1, 2), [1, hw, hw, c]);
const w = e.tensor(random(c * 9 * c, 2, 0.5), [c, 3, 3, c]);
const out = e.tensor(new Float32Array(count), [1, hw, hw, c]);
const kinds = ["relu", "sigmoid", "silu", "tanh", "gelu", "hardSwish"] as const;
const tasks: { name: string; run: () => void; ms: number[] }[] = [];
for (const k of kinds) tasks.push({ name: `unary ${k}`, run: () => e.unary(x, k as UnaryFn).dispose(), ms: [] });
tasks.push({ name: "conv none", run: convWith("none"), ms: [] });
for (const k of kinds) tasks.push({ name: `conv+${k}`, run: convWith(k), ms: [] });

function convWith(act: Activation): () => void {
  const op = e.prepareConv2d(w, { padding: "same", bias: random(c, 3, 0.5), activation: act });
  return () => void op.run(x as Tensor, out);
}

const rounds = quick ? 15 : 41;
for (let i = 0; i < 10; i++) for (const t of tasks) t.run();
for (let r = 0; r < rounds; r++) {
  for (const t of tasks) {
    const t0 = performance.now();
    t.run();
    t.ms.push(performance.now() - t0);
  }
}
const fastest = (v: number[]) => Math.min(...v);
const convNone = fastest(tasks.find((t) => t.name === "conv none")!.ms);
console.log("workload".padEnd(18), "ms".padStart(8), "ns/elem".padStart(8), "act ns/elem".padStart(12));
for (const t of tasks) {
  const ms = fastest(t.ms);
  const act = t.name.startsWith("conv+") ? ((ms - convNone) * 1e6) / count : (ms * 1e6) / count;
  console.log(t.name.padEnd(18), ms.toFixed(3).padStart(8), ((ms * 1e6) / count).toFixed(2).padStart(8), act.toFixed(2).padStart(12));
}
