// Where a convolution's time goes: the whole call, then each kernel call of one run replayed
// alone, with its input warm (the same call repeated) and cold (40 MiB read between calls, more
// than this host's caches hold, so input, scratch and output come from memory). The rows: the
// bars, 16 -> 32 at 128x128 and 16 -> 16 at 256x256 on the direct GEMM (Winograd off) and
// 16 -> 16 on the path the engine chooses, then small-channel layers on their kernel.
import { type Tensor, init } from "../src/node.js";
import { Conv2d } from "../src/ops/conv2d.js";
import type { Call } from "../src/runtime/kernels.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { parseFlags, usageError } from "./args.js";
import { random } from "./nets.js";

const USAGE = {
  script: "bench/small-conv-profile.ts",
  synopsis: "npm run bench:small-conv-profile -- [flags] [HW,CIN,COUT ...]",
  about: "3x3 'same' convolutions with a fused relu, SIMD build, one thread: each kernel call of a run timed alone, input warm and cold.",
  flags: {},
  positionals: "HW,CIN,COUT: small-channel layers to profile instead of the default rows (256,3,3 256,1,3 256,4,4 256,8,3)",
} as const;
const args = parseFlags(USAGE).positionals;
const shapes = (args.length > 0 ? args : ["256,3,3", "256,1,3", "256,4,4", "256,8,3"]).map((s) => {
  const v = s.split(",").map(Number);
  if (v.length !== 3 || !v.every((n) => Number.isInteger(n) && n > 0) || v[2] > 8) {
    usageError(USAGE, `expected HW,CIN,COUT as three positive integers with COUT at most 8, got ${s}`);
  }
  return v;
});

const e = await init({ backend: "simd" });
const rt = (e as unknown as { rt: Runtime }).rt;
const tensor = (shape: number[], seed: number): Tensor => e.tensor(random(shape.reduce((a, b) => a * b, 1), seed, 0.5), shape);
const flushJs = new Float32Array(6 << 20);
const flushHeap = e.tensor(new Float32Array(4 << 20), [4 << 20]);
function evict(): void {
  for (let i = 0; i < flushJs.length; i += 16) flushJs[i] += 1;
  rt.dispatch([{ fn: "unary_f32", args: { n: 4 << 20, x: flushHeap.ptr, y: flushHeap.ptr, kind: 0, p0: 0, p1: 0 } }], "profile");
}
const ROUNDS = 25;
function fastest(run: () => void, cold: boolean): number {
  for (let i = 0; i < 5; i++) run();
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    if (cold) evict();
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function profile(hw: number, cin: number, cout: number, label: string, small?: boolean, winograd?: boolean): void {
  const x = tensor([1, hw, hw, cin], 1);
  const w = tensor([cout, 3, 3, cin], 2);
  const out = e.tensor(new Float32Array(hw * hw * cout), [1, hw, hw, cout]);
  const op = new Conv2d(rt, w, { padding: "same", bias: random(cout, 3, 0.5), activation: "relu" }, "nhwc", winograd, small);
  op.run(x, out);
  const calls: Call[] = [];
  const dispatch = rt.dispatch.bind(rt);
  rt.dispatch = (c: Call[], what: string) => {
    calls.push(...c);
    dispatch(c, what);
  };
  op.run(x, out);
  rt.dispatch = dispatch;
  const flop = 2 * hw * hw * cout * cin * 9;
  const line = (name: string, run: () => void) => {
    const [warm, cold] = [fastest(run, false), fastest(run, true)];
    const rate = (ms: number) => (flop / ms / 1e6).toFixed(1).padStart(6);
    console.log(`  ${name.padEnd(28)} warm ${warm.toFixed(3).padStart(7)} ms ${rate(warm)} GFLOP/s   cold ${cold.toFixed(3).padStart(7)} ms ${rate(cold)} GFLOP/s`);
  };
  console.log(`${hw}x${hw} ${cin}->${cout} ${label}`);
  line("whole call", () => op.run(x, out));
  for (const c of calls) line(c.fn, () => dispatch([c], "profile"));
  op.dispose();
  for (const t of [x, w, out]) t.dispose();
}

if (args.length === 0) {
  profile(128, 16, 32, "direct GEMM (the bar)", false, false);
  profile(256, 16, 16, "direct GEMM", false, false);
  profile(256, 16, 16, "as chosen");
}
for (const [hw, cin, cout] of shapes) profile(hw, cin, cout, "small-channel kernel", true);
