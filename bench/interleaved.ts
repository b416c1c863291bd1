// The harness of the Winograd crossover benchmarks (bench/winograd.ts, bench/qwinograd.ts): their
// one flag and engine, the float operands of a 3x3 convolution per shape, and calls of the sides
// alternated, each side's fastest counting: on a shared host the fastest of many calls is the one
// no other process interrupted.
import { type Engine, type Tensor, init } from "../src/node.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { parseFlags } from "./args.js";
import { random } from "./nets.js";

/**
 * Parses the flags of bench/<name>.ts (--quick, --help) and starts the SIMD build, one thread;
 * returns it, its runtime (for prepared ops) and how many timed calls each side gets.
 */
export async function crossoverBench(name: string, about: string): Promise<{ e: Engine; rt: Runtime; calls: number }> {
  const { values } = parseFlags({
    script: `bench/${name}.ts`, synopsis: `npm run bench:${name} -- [flags]`, about, flags: { quick: { type: "boolean", help: "fewer calls (noisier)" } },
  });
  const e = await init({ backend: "simd" });
  return { e, rt: (e as unknown as { rt: Runtime }).rt, calls: values.quick ? 20 : 80 };
}

/** Runs the sides in turn, 3 untimed rounds and then `calls` timed ones; returns each side's fastest call in ms. */
export function fastestInterleaved(sides: readonly (() => void)[], calls: number): number[] {
  const best = sides.map(() => Infinity);
  for (let i = 0; i < calls + 3; i++) {
    for (const [k, run] of sides.entries()) {
      const t = performance.now();
      run();
      if (i >= 3) best[k] = Math.min(best[k], performance.now() - t);
    }
  }
  return best;
}

/** A 3x3 convolution's operands: an NHWC input [1, H, W, Cin], OHWI weights, an output [1, H, W, Cout] and a bias. */
export function conv3x3Operands(e: Engine, h: number, w: number, cin: number, cout: number): { x: Tensor; wt: Tensor; y: Tensor; bias: Float32Array; dispose: () => void } {
  const x = e.tensor(random(h * w * cin, 3, 0.5), [1, h, w, cin]);
  const wt = e.tensor(random(cout * 9 * cin, 4, 0.5), [cout, 3, 3, cin]);
  const y = e.tensor(new Float32Array(h * w * cout), [1, h, w, cout]);
  const dispose = () => {
    for (const t of [x, wt, y]) t.dispose();
  };
  return { x, wt, y, bias: random(cout, 5, 0.5), dispose };
}
