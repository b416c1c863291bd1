// Activations at throughput: ns per element of each kind as a standalone unary op, fused into a
// 3 -> 3 3x3 convolution at 256x256 (196K outputs, the small-channel kernel) and into a 3x3
// depthwise convolution of 64 channels at 56x56 (200K outputs), in one run, with calls of all
// workloads alternating round after round so that a busy host slows them alike. The activation's
// own cost is the fused row's time less the row without one.
import { type Activation, type Tensor, init } from "../src/node.js";
import type { UnaryFn } from "../src/ops/elementwise.js";
import { parseFlags } from "./args.js";
import { random } from "./nets.js";

const USAGE = {
  script: "bench/activations.ts",
  synopsis: "npm run bench:activations -- [flags]",
  about: "ns per element of the activations, standalone and fused into a convolution and a depthwise one, SIMD build, one thread.",
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
const dwHw = 56;
const dwC = 64;
const dwCount = dwHw * dwHw * dwC;
const dx = e.tensor(random(dwCount, 4, 2), [1, dwHw, dwHw, dwC]);
const dw = e.tensor(random(dwC * 9, 5, 0.5), [dwC, 3, 3, 1]);
const dout = e.tensor(new Float32Array(dwCount), [1, dwHw, dwHw, dwC]);
tasks.push({ name: "dw none", run: dwWith("none"), ms: [] });
for (const k of kinds) tasks.push({ name: `dw+${k}`, run: dwWith(k), ms: [] });

function convWith(act: Activation): () => void {
  const op = e.prepareConv2d(w, { padding: "same", bias: random(c, 3, 0.5), activation: act });
  return () => void op.run(x as Tensor, out);
}

function dwWith(act: Activation): () => void {
  const op = e.prepareConv2d(dw, { padding: "same", groups: dwC, bias: random(dwC, 6, 0.5), activation: act });
  return () => void op.run(dx, dout);
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
const none = (name: string) => fastest(tasks.find((t) => t.name === name)!.ms);
const convNone = none("conv none");
const dwNone = none("dw none");
console.log("workload".padEnd(18), "ms".padStart(8), "ns/elem".padStart(8), "act ns/elem".padStart(12));
for (const t of tasks) {
  const ms = fastest(t.ms);
  const n = t.name.startsWith("dw") ? dwCount : count;
  const base = t.name.startsWith("conv+") ? convNone : t.name.startsWith("dw+") ? dwNone : 0;
  console.log(t.name.padEnd(18), ms.toFixed(3).padStart(8), ((ms * 1e6) / n).toFixed(2).padStart(8), (((ms - base) * 1e6) / n).toFixed(2).padStart(12));
}
