// Reductions and normalizations give the bits of one thread on 1-4 threads, and each dispatch is
// split over all of them (so the comparison is not one thread against itself): by rows, and with
// fewer rows than threads by runs of columns (reductions) or of groups (normalizations).
import { describe, expect, it } from "vitest";
import type { Engine, Tensor } from "../src/node.js";
import { PARALLEL_MIN_ELEMENTS } from "../src/runtime/runtime.js";
import { Rng, prod } from "./reference.js";
import { bits, threadEngines, widest } from "./threading.js";

const counts = [1, 2, 3, 4];
const engines = threadEngines(counts);


const rng = new Rng(17);
const big = PARALLEL_MIN_ELEMENTS * 2;

function eager(shape: number[], op: (e: Engine, x: Tensor) => Tensor): (e: Engine) => Float32Array {
  const data = rng.f32(prod(shape), -2, 3);
  return (e) => {
    const x = e.tensor(data, shape);
    const y = op(e, x);
    const out = y.toArray();
    x.dispose();
    y.dispose();
    return out;
  };
}

const ones = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 7) / 7);
const zeros = (n: number) => Float32Array.from({ length: n }, (_, i) => (i % 5) / 10 - 0.2);

const CASES: [string, number[], (e: Engine, x: Tensor) => Tensor][] = [
  ["reduce mean over channels (rows split)", [Math.ceil(big / 37) + 5, 37], (e, x) => e.reduce(x, "mean", { axes: [1] })],
  ["reduce logSumExp over 333 rows of one image (columns split)", [1, 333, Math.ceil(big / 333) + 3], (e, x) => e.reduce(x, "logSumExp", { axes: [1] })],
  ["reduce sum over H*W of one image, 61 channels (columns split)", [1, Math.ceil(big / 61) + 2, 61], (e, x) => e.reduce(x, "sum", { axes: [1] })],
  ["instance norm of one image, 67 channels (groups split)", [1, Math.ceil(big / 67) + 1, 67], (e, x) => e.groupNorm(x, { scale: ones(67), bias: zeros(67), activation: "relu" })],
  ["group norm of one image, 6 groups of 11 (groups split)", [1, Math.ceil(big / 66) + 1, 66], (e, x) => e.groupNorm(x, { groups: 6, scale: ones(66), bias: zeros(66) })],
  ["instance norm of 5 images (rows split)", [5, 1999, 29], (e, x) => e.groupNorm(x, { scale: ones(29), bias: zeros(29) })],
  ["layer norm over 131 (rows split)", [Math.ceil(big / 131) + 7, 131], (e, x) => e.layerNorm(x, { scale: ones(131), bias: zeros(131) })],
  ["lpNorm p 2 over 45 (rows split)", [Math.ceil(big / 45) + 7, 45], (e, x) => e.lpNorm(x)],
];

describe("reductions and normalizations on threads", () => {
  it.each(CASES)("%s [%s] gives the same bits on 1-4 threads, split", (name, shape, op) => {
    const f = eager(shape, op);
    const results = counts.map((n) => {
      const e = engines.get(n)!;
      const { result, calls } = widest(e, () => f(e));
      expect(calls, `${name}: ${n} threads split the work into ${calls} calls`).toBe(n);
      return bits(result);
    });
    for (const [i, r] of results.entries()) expect(r === results[0], `${name}: ${counts[i]} threads differ from 1`).toBe(true);
  });
});
