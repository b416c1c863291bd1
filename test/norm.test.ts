// engine.groupNorm (instance and group normalization, channels last), engine.layerNorm and
// engine.lpNorm against float64 references over grids with remainders in every dimension (the
// SIMD build's 16- and 4-channel blocks, 4-lane partial sums and their tails); both builds
// identical to the bit; guard bytes; errors.
//
// Bound of y = ((x - mean) * rstd) * s + b (u = 2^-24, m = elements per group, A = mean |x|):
// - the mean's sum has |err| <= (m + 2) u sum|x|, the division one more rounding:
//   dm = (m + 3) u A;
// - sum (x - mean')^2 rounds each difference, square and addition: relative (m + 6) u, and
//   exceeds m var by m dm^2 (mean' off by dm); + eps, sqrt and 1 / each round once, so rstd has
//   relative error er = ((m + 7) u + dm^2 / (var + eps)) / 2 + 3 u;
// - y: |s| rstd (dm + |x - mean| (er + 3 u)) + 2 u (|y| + |b|) (the difference, two products
//   and the final addition each round once).
// LpNorm: the norm's sum as reduce's ((m + 2) u, or (m + 3) u for squares, halved by sqrt),
// then one division: relative (m + 3) u + 2 u.
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine, ShapeError } from "../src/index.js";
import { BACKENDS, TRANSCENDENTAL_RTOL, U, compare, compareBits, engines, type BackendName } from "./grid.js";
import { allocBytes, fillSentinel, ptrOf, rangeOf, snapshot, strayWrites } from "./memory.js";
import { Rng, prod } from "./reference.js";

/**
 * x read as [outer, n, groups * cg]: each (outer, group) normalized over n * cg elements;
 * scale index per channel, or per element of [n, c] when perElement.
 */
export function normRef(
  x: Float32Array, outer: number, n: number, c: number, groups: number, scale: Float32Array, bias: Float32Array, eps: number, perElement: boolean,
): { ref: Float64Array; tol: Float64Array } {
  const cg = c / groups;
  const m = n * cg;
  const ref = new Float64Array(x.length);
  const tol = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let g = 0; g < groups; g++) {
      const at: number[] = [];
      for (let k = 0; k < n; k++) for (let j = 0; j < cg; j++) at.push((o * n + k) * c + g * cg + j);
      const mean = at.reduce((a, i) => a + x[i], 0) / m;
      const v = at.reduce((a, i) => a + (x[i] - mean) ** 2, 0) / m;
      const rstd = 1 / Math.sqrt(v + Math.fround(eps));
      const dm = (m + 3) * U * (at.reduce((a, i) => a + Math.abs(x[i]), 0) / m);
      const er = ((m + 7) * U + dm ** 2 / (v + eps)) / 2 + 3 * U;
      for (const i of at) {
        const s = perElement ? i % (n * c) : i % c;
        const y = (x[i] - mean) * rstd * scale[s] + bias[s];
        ref[i] = y;
        tol[i] = Math.abs(scale[s]) * rstd * (dm + Math.abs(x[i] - mean) * (er + 3 * U)) + 2 * U * (Math.abs(y) + Math.abs(bias[s]));
      }
    }
  }
  return { ref, tol };
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

/** Runs f on both builds, compares each with the reference, and the builds with each other. */
function check(label: string, data: Float32Array, shape: number[], f: (e: Engine, x: ReturnType<Engine["tensor"]>) => ReturnType<Engine["tensor"]>, r: { ref: Float64Array; tol: Float64Array }): void {
  const got: Partial<Record<BackendName, Float32Array>> = {};
  for (const b of BACKENDS) {
    const x = E[b].tensor(data, shape);
    const y = f(E[b], x);
    expect([...y.shape]).toEqual(shape);
    got[b] = y.toArray();
    expect(compare(got[b]!, r.ref, (i) => r.tol[i], `${b} ${label}`)).toBe("");
    x.dispose();
    y.dispose();
  }
  expect(compareBits(got.simd!, got.scalar!, `simd vs scalar ${label}`)).toBe("");
}

describe("normalization: both builds against float64", () => {
  it("instance normalization of [N, HW, C]: channels 1-37 (16- and 4-blocks, tails), 1-17 positions", () => {
    const rng = new Rng(1);
    for (const nb of [1, 2]) {
      for (const hw of [1, 2, 3, 8, 17]) {
        for (const c of [1, 3, 4, 5, 15, 16, 17, 20, 33, 37]) {
          const shape = [nb, hw, c];
          // Offset from 0, so that subtracting the mean matters.
          const data = rng.f32(prod(shape), 1, 3);
          const scale = rng.f32(c, -2, 2);
          const bias = rng.f32(c, -1, 1);
          const eps = hw === 1 ? 1e-3 : 1e-5;
          const r = normRef(data, nb, hw, c, c, scale, bias, eps, false);
          check(`instance [${shape}]`, data, shape, (e, x) => e.groupNorm(x, { scale, bias, epsilon: eps }), r);
        }
      }
    }
  });

  it("group normalization: 2-16 groups of 2-16 channels (lanes and tails)", () => {
    const rng = new Rng(2);
    for (const [c, groups] of [[4, 2], [6, 2], [8, 2], [20, 4], [35, 5], [32, 2], [27, 3], [36, 4], [18, 9]]) {
      for (const hw of [1, 3, 10]) {
        const shape = [2, hw, c];
        const data = rng.f32(prod(shape), -1, 3);
        const scale = rng.f32(c, -2, 2);
        const bias = rng.f32(c, -1, 1);
        const r = normRef(data, 2, hw, c, groups, scale, bias, 1e-5, false);
        check(`group ${groups} [${shape}]`, data, shape, (e, x) => e.groupNorm(x, { groups, scale, bias }), r);
      }
    }
  });

  it("layer normalization over the last axis and over trailing axes", () => {
    const rng = new Rng(3);
    for (const rows of [1, 3]) {
      for (const m of [1, 2, 3, 4, 5, 7, 8, 17, 33, 67]) {
        const shape = [rows, m];
        const data = rng.f32(prod(shape), -2, 4);
        const scale = rng.f32(m, -2, 2);
        const bias = rng.f32(m, -1, 1);
        const r = normRef(data, rows, 1, m, 1, scale, bias, 1e-5, true);
        check(`layer [${shape}]`, data, shape, (e, x) => e.layerNorm(x, { scale, bias }), r);
      }
    }
    const shape = [2, 3, 5, 7];
    const data = rng.f32(prod(shape), -2, 4);
    const scale = rng.f32(105, -2, 2);
    const bias = rng.f32(105, -1, 1);
    check("layer axis 1 [2, 3, 5, 7]", data, shape, (e, x) => e.layerNorm(x, { axis: 1, scale, bias }), normRef(data, 2, 1, 105, 1, scale, bias, 1e-5, true));
  });

  // The activation runs as a pass of its own over each group's output: relu and leakyRelu are exact
  // on the normalized value (slope <= 1, leaky's product one rounding: 2 u); sigmoid has slope
  // <= 1/4 and its own TRANSCENDENTAL_RTOL.
  it("a fused activation: relu, leakyRelu, sigmoid on instance, group and layer normalization", () => {
    const rng = new Rng(5);
    const acts = [["relu", (v: number) => Math.max(v, 0), 1, 0], [{ leakyRelu: 0.1 }, (v: number) => (v < 0 ? v * Math.fround(0.1) : v), 1, 2 * U], ["sigmoid", (v: number) => 1 / (1 + Math.exp(-v)), 0.25, TRANSCENDENTAL_RTOL]] as const;
    for (const [act, fn, slope, rtol] of acts) {
      for (const [shape, groups, perElement] of [[[2, 9, 21], 21, false], [[1, 5, 36], 4, false], [[3, 1, 37], 1, true]] as [number[], number, boolean][]) {
        const [outer, n, c] = shape;
        const data = rng.f32(prod(shape), -1, 3);
        const scale = rng.f32(perElement ? n * c : c, -2, 2);
        const bias = rng.f32(perElement ? n * c : c, -1, 1);
        const r = normRef(data, outer, n, c, groups, scale, bias, 1e-5, perElement);
        const ref = r.ref.map(fn);
        const tol = r.tol.map((t, i) => slope * t + rtol * Math.abs(ref[i]));
        check(`${JSON.stringify(act)} groups ${groups} [${shape}]`, data, shape, (e, x) =>
          perElement ? e.layerNorm(x, { scale, bias, activation: act }) : e.groupNorm(x, { groups, scale, bias, activation: act }), { ref, tol });
      }
    }
  });

  it("LpNormalization p 1 and 2 over contiguous and strided axes, a zero norm giving 0", () => {
    const rng = new Rng(4);
    for (const p of [1, 2] as const) {
      for (const [outer, n, inner] of [[3, 1, 1], [2, 7, 1], [4, 33, 1], [2, 5, 9], [1, 17, 20], [3, 4, 1]]) {
        const shape = [outer, n, inner];
        const data = rng.f32(prod(shape), -2, 2);
        data.fill(0, 0, n * inner);
        const ref = new Float64Array(data.length);
        const tol = new Float64Array(data.length);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const at = Array.from({ length: n }, (_, k) => (o * n + k) * inner + i);
            const norm = p === 1 ? at.reduce((a, j) => a + Math.abs(data[j]), 0) : Math.sqrt(at.reduce((a, j) => a + data[j] ** 2, 0));
            for (const j of at) {
              ref[j] = norm === 0 ? 0 : data[j] / norm;
              tol[j] = ((n + 3) * U + 2 * U) * Math.abs(ref[j]);
            }
          }
        }
        check(`lp ${p} [${shape}]`, data, shape, (e, x) => e.lpNorm(x, { axis: 1, p }), { ref, tol });
      }
    }
  });

  // The normalizations copy their scale and bias into the memory (and free them after): a first
  // call puts them where the checked call writes them again, identical.
  it("writes only its output", () => {
    for (const b of BACKENDS) {
      const e = E[b];
      const cases: [number[], (x: ReturnType<Engine["tensor"]>) => ReturnType<Engine["tensor"]>][] = [
        [[2, 7, 37], (x) => e.groupNorm(x, { scale: new Float32Array(37).fill(1), bias: new Float32Array(37) })],
        [[2, 7, 36], (x) => e.groupNorm(x, { groups: 4, scale: new Float32Array(36).fill(1), bias: new Float32Array(36) })],
        [[3, 37], (x) => e.layerNorm(x, { scale: new Float32Array(37).fill(1), bias: new Float32Array(37) })],
        [[3, 5, 7], (x) => e.lpNorm(x, { axis: 1 })],
        [[3, 37], (x) => e.lpNorm(x, { p: 1 })],
      ];
      for (const [shape, f] of cases) {
        const x = e.tensor(new Rng(3).f32(prod(shape)), shape);
        const end = ptrOf(x) + allocBytes(x);
        fillSentinel(e, end, end + 4096);
        f(x).dispose();
        const before = snapshot(e);
        const y = f(x);
        expect(strayWrites(e, before, [rangeOf(y, "output")], [rangeOf(x, "input")])).toBe("");
        x.dispose();
        y.dispose();
      }
    }
  });

  it("rejects bad options with what was expected", () => {
    const e = E.simd;
    const x = e.tensor(new Float32Array(24), [2, 3, 4]);
    const four = new Float32Array(4);
    expect(() => e.groupNorm(x, { groups: 3, scale: four, bias: four })).toThrow(ShapeError);
    expect(() => e.groupNorm(x, { groups: 3, scale: four, bias: four })).toThrow(/4 channels do not split into 3 groups/);
    expect(() => e.groupNorm(x, { scale: new Float32Array(3), bias: new Float32Array(3) })).toThrow(/need 4 values/);
    expect(() => e.groupNorm(x, { scale: four, bias: four, epsilon: -1 })).toThrow(/epsilon must be a finite number >= 0/);
    expect(() => e.groupNorm(x, { scale: [1, 1, 1, 1] as never, bias: four })).toThrow(ArgumentError);
    expect(() => e.layerNorm(x, { axis: 3, scale: four, bias: four })).toThrow(/axis 3 is out of range for rank 3/);
    expect(() => e.lpNorm(x, { p: 3 as never })).toThrow(/p must be 1 or 2/);
    expect(() => e.groupNorm(x, { scale: four, bias: four, activation: "swish" as never })).toThrow(ArgumentError);
    x.dispose();
    expect(e.memoryBytes).toBe(0);
  });
});
