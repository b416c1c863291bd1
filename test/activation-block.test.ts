// The activations from sigmoid on run four vectors per step (assembly/activation.ts,
// transcendentalRun), then single vectors, then a scalar tail. A mistake in that grouping (a lane
// or vector taken from the wrong place, a block overrunning its row, a remainder skipped) shows
// here: every element is distinct and is checked bit for bit against the same function evaluated
// on that element alone (a one-element tensor, which only the scalar form touches), over lengths
// on both sides of every block and vector boundary: standalone (with guard bytes around the
// output), and fused into a convolution's rows and a depthwise convolution's pixels, activated in
// place after their stores. Exact equality: per element the block runs the same operations as the
// scalar form, which the grids of activation.test.ts and elementwise.test.ts hold to the float64
// references and to the scalar build's bits.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, type UnaryFn, init } from "../src/index.js";
import { compareBits } from "./grid.js";
import { rangeOf, snapshot, strayWrites } from "./memory.js";

let E: Engine;
beforeAll(async () => {
  E = await init({ backend: "simd" });
});

const KINDS: [string, UnaryFn][] = [
  ["sigmoid", "sigmoid"], ["tanh", "tanh"], ["exp", "exp"], ["silu", "silu"], ["hardSwish", "hardSwish"],
  ["hardSigmoid", { hardSigmoid: [0.2, 0.5] }], ["gelu", "gelu"], ["geluTanh", "geluTanh"], ["mish", "mish"],
  ["elu", { elu: 0.7 }], ["selu", { selu: [1.67, 1.05] }], ["celu", { celu: 1.5 }], ["softplus", "softplus"],
  ["softsign", "softsign"], ["erf", "erf"], ["log", "log"], ["sqrt", "sqrt"], ["reciprocal", "reciprocal"],
  ["neg", "neg"], ["abs", "abs"], ["floor", "floor"], ["ceil", "ceil"], ["round", "round"], ["sign", "sign"],
];
const LENGTHS = [1, 3, 4, 5, 12, 15, 16, 17, 19, 20, 28, 31, 32, 33, 36, 47, 48, 49, 63, 64, 65, 67];
const POSITIVE = new Set(["log", "sqrt"]);
/** The kinds that are also activations a convolution can fuse (the rest are elementwise math). */
const MATH = new Set(["exp", "erf", "log", "sqrt", "reciprocal", "neg", "abs", "floor", "ceil", "round", "sign"]);

/** n distinct values in (-4, 4) (in (0, 8) for log and sqrt), scrambled so neighbours differ. */
function distinct(n: number, name: string): Float32Array {
  const lo = POSITIVE.has(name) ? 0 : -4;
  return Float32Array.from({ length: n }, (_, i) => lo + (8 * (((i * 37) % n) + 0.5)) / n + i * 1e-4);
}

/** The function applied to each element on its own. */
function oneByOne(data: Float32Array, fn: UnaryFn): Float32Array {
  return Float32Array.from(data, (v) => {
    const t = E.tensor(Float32Array.of(v), [1]);
    const y = E.unary(t, fn);
    const r = y.toArray()[0];
    t.dispose();
    y.dispose();
    return r;
  });
}

describe.each(KINDS)("%s in blocks of four vectors: each element as if alone", (name, fn) => {
  it("standalone, every length around the block and vector boundaries, guard bytes untouched", () => {
    for (const n of LENGTHS) {
      const data = distinct(n, name);
      const want = oneByOne(data, fn);
      const x = E.tensor(data, [n]);
      const before = snapshot(E);
      const y = E.unary(x, fn);
      expect(strayWrites(E, before, [rangeOf(y, "output")], [rangeOf(x, "input")]), `${name} n=${n}`).toBe("");
      expect(compareBits(y.toArray(), want, `${name} n=${n}`)).toBe("");
      x.dispose();
      y.dispose();
    }
  });
});

describe.each(KINDS.filter(([name]) => !MATH.has(name)))("%s fused into a convolution's store: each element as if alone", (name, fn) => {
  it("fused into a 1x1 identity convolution: rows activated in place", () => {
    // Identity weights give each output exactly its input (the other products are zeros), so the
    // fused result must equal the function of the input element by element.
    for (const [w, c] of [[5, 3], [6, 3], [7, 3], [3, 8], [5, 8], [9, 2], [4, 20], [3, 17]]) {
      const data = distinct(2 * w * c, name);
      const want = oneByOne(data, fn);
      const eye = new Float32Array(c * c);
      for (let i = 0; i < c; i++) eye[i * c + i] = 1;
      const x = E.tensor(data, [1, 2, w, c]);
      const wt = E.tensor(eye, [c, 1, 1, c]);
      const op = E.prepareConv2d(wt, { activation: fn as never });
      const y = op.run(x);
      expect(compareBits(y.toArray(), want, `${name} ${w}x${c} fused`)).toBe("");
      for (const t of [x, wt, y]) t.dispose();
      op.dispose();
    }
  });

  it("fused into a 1x1 depthwise convolution of weight 1: each pixel's channels activated in place", () => {
    for (const c of [3, 4, 8, 13, 16, 20, 37, 64]) {
      const data = distinct(3 * c, name);
      const want = oneByOne(data, fn);
      const x = E.tensor(data, [1, 1, 3, c]);
      const wt = E.tensor(new Float32Array(c).fill(1), [c, 1, 1, 1]);
      const op = E.prepareConv2d(wt, { groups: c, activation: fn as never });
      const y = op.run(x);
      expect(compareBits(y.toArray(), want, `${name} depthwise c=${c} fused`)).toBe("");
      for (const t of [x, wt, y]) t.dispose();
      op.dispose();
    }
  });
});
