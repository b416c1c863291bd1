// gemm against the float64 reference over a generated grid of sizes and every option combination,
// in both builds, and bit identity between the builds.
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine, GemmOptions } from "../src/index.js";
import {
  ACTIVATIONS, API_MODES, BACKENDS, SIZES, runInMode, activationRtol, compare, compareBits, dotBound, engines, roundRobin, TINY, type BackendName,
} from "./grid.js";
import { type Act, type GemmParams, Rng, activationSlope, gemmRef } from "./reference.js";

const C_SHAPES = ["none", "N", "1xN", "1", "1x1", "MxN", "Mx1"] as const;
type CShape = (typeof C_SHAPES)[number];
const ALPHAS = [1, 0.5, -1.75, 0, 3];
const BETAS = [1, 0.25, -2, 0];
const BIAS = ["none", "array", "tensor"] as const;
const APIS = API_MODES;

interface GemmCase extends GemmParams {
  id: number;
  c: CShape;
  bias: (typeof BIAS)[number];
  api: (typeof APIS)[number];
  activation: Act;
}

function cShapeOf(c: CShape, m: number, n: number): number[] | undefined {
  switch (c) {
    case "none": return undefined;
    case "N": return [n];
    case "1xN": return [1, n];
    case "1": return [1];
    case "1x1": return [1, 1];
    case "MxN": return [m, n];
    case "Mx1": return [m, 1];
  }
}

// Sizes beyond 17: a mid-size case with remainders everywhere, one whose packed B spans several
// of the kernel's 512 KiB panel blocks (K = 2100: 7 panels per block, N = 70: 9 panels), one with
// a single panel per block (K = 17000: one panel is > 512 KiB), and a few square/tall shapes.
const LARGE: [number, number, number][] = [[33, 70, 129], [7, 70, 2100], [3, 17, 17000], [100, 9, 300], [64, 64, 64], [1, 129, 33], [129, 1, 5]];
const COUNT = 320;

function makeGrid(): GemmCase[] {
  const rng = new Rng(0x6e33);
  const cases: GemmCase[] = [];
  const total = COUNT + LARGE.length * 4;
  for (let i = 0; i < total; i++) {
    let m: number, n: number, k: number;
    if (i < COUNT) {
      m = roundRobin(SIZES, i, 1);
      n = roundRobin(SIZES, i, 3, 5);
      k = roundRobin(SIZES, i, 7, 11);
    } else [m, n, k] = LARGE[(i - COUNT) % LARGE.length];
    const trans = roundRobin([[false, false], [true, false], [false, true], [true, true]] as const, i, 1, Math.floor(i / 17));
    cases.push({
      id: i, m, n, k,
      transA: trans[0], transB: trans[1],
      alpha: roundRobin(ALPHAS, i, 2, Math.floor(i / 5)),
      beta: roundRobin(BETAS, i, 3, Math.floor(i / 7)),
      c: roundRobin(C_SHAPES, i, 1, Math.floor(i / 7) * 3),
      bias: rng.pick(BIAS),
      api: rng.pick(APIS),
      activation: rng.pick(ACTIVATIONS) as Act,
    });
    cases[i].cShape = cShapeOf(cases[i].c, m, n);
  }
  return cases;
}

const CASES = makeGrid();

function label(c: GemmCase): string {
  return `#${c.id} M${c.m} N${c.n} K${c.k}${c.transA ? " transA" : ""}${c.transB ? " transB" : ""} alpha ${c.alpha} beta ${c.beta} `
    + `c ${c.c} bias ${c.bias} act ${JSON.stringify(c.activation)} ${c.api}`;
}

interface Data {
  a: Float32Array;
  b: Float32Array;
  bias?: Float32Array;
  c?: Float32Array;
}

function dataFor(c: GemmCase): Data {
  const rng = new Rng(5000 + c.id);
  return {
    a: rng.f32(c.m * c.k),
    b: rng.f32(c.k * c.n),
    bias: c.bias === "none" ? undefined : rng.f32(c.n),
    c: c.cShape ? rng.f32(c.cShape.reduce((x, y) => x * y, 1), -2, 2) : undefined,
  };
}

function runGemm(e: Engine, c: GemmCase, d: Data): { y: Float32Array; shape: number[] } {
  const before = e.memoryBytes;
  const a = e.tensor(d.a, c.transA ? [c.k, c.m] : [c.m, c.k]);
  const b = e.tensor(d.b, c.transB ? [c.n, c.k] : [c.k, c.n]);
  const biasT = c.bias === "tensor" ? e.tensor(d.bias!, [c.n]) : undefined;
  const cT = c.cShape ? e.tensor(d.c!, c.cShape) : undefined;
  const opts: GemmOptions = {
    transA: c.transA, transB: c.transB, alpha: c.alpha, beta: c.beta, activation: c.activation,
    bias: c.bias === "array" ? d.bias : biasT,
    c: cT,
  };
  const y = runInMode(e, c.api, a, [c.m, c.n], () => e.gemm(a, b, opts), () => e.prepareGemm(b, opts));
  const result = { y: y.toArray(), shape: [...y.shape] };
  for (const t of [a, b, biasT, cT, y]) t?.dispose();
  expect(e.memoryBytes, "memory held after disposing everything").toBe(before);
  return result;
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("gemm grid coverage", () => {
  it("covers M, N, K in 1..17, every transpose, alpha, beta, c shape, bias kind and activation", () => {
    for (const s of SIZES) {
      expect(CASES.some((c) => c.m === s), `M = ${s}`).toBe(true);
      expect(CASES.some((c) => c.n === s), `N = ${s}`).toBe(true);
      expect(CASES.some((c) => c.k === s), `K = ${s}`).toBe(true);
    }
    for (const ta of [false, true]) for (const tb of [false, true]) expect(CASES.some((c) => c.transA === ta && c.transB === tb)).toBe(true);
    for (const a of ALPHAS) expect(CASES.some((c) => c.alpha === a)).toBe(true);
    for (const b of BETAS) expect(CASES.some((c) => c.beta === b && c.c !== "none")).toBe(true);
    for (const s of C_SHAPES) for (const b of BETAS) expect(CASES.some((c) => c.c === s && c.beta === b), `c ${s} beta ${b}`).toBe(true);
    for (const b of BIAS) expect(CASES.some((c) => c.bias === b)).toBe(true);
    for (const a of ACTIVATIONS) expect(CASES.some((c) => JSON.stringify(c.activation) === JSON.stringify(a))).toBe(true);
  });
});

describe("gemm: both builds against the float64 reference, bit-identical", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const d = dataFor(c);
    const ref = gemmRef(d.a, d.b, d.bias, d.c, c);
    const slope = activationSlope(c.activation);
    const rtol = activationRtol(c.activation);
    const bound = (i: number) => dotBound(c.k, ref.mag[i], slope) + rtol * Math.abs(ref.value[i]) + TINY;
    const got: Partial<Record<BackendName, Float32Array>> = {};
    for (const b of BACKENDS) {
      const { y, shape } = runGemm(E[b], c, d);
      expect(shape).toEqual([c.m, c.n]);
      expect(compare(y, ref.value, bound, b)).toBe("");
      got[b] = y;
    }
    expect(compareBits(got.simd!, got.scalar!)).toBe("");
  });
});

describe("gemm prepared op over several M", () => {
  it.each([false, true])("transA %s: re-plans per M and gives reference results, bit-identically", (transA) => {
    const rng = new Rng(transA ? 91 : 90);
    const k = 13;
    const n = 19;
    const bData = rng.f32(k * n);
    const bias = rng.f32(n);
    const cRow = rng.f32(n);
    const ms = [1, 6, 17, 6, 40, 3];
    const as = ms.map((m) => rng.f32(m * k));
    const outs: Record<string, Float32Array[]> = {};
    for (const be of BACKENDS) {
      const e = E[be];
      const before = e.memoryBytes;
      const b = e.tensor(bData, [k, n]);
      const cT = e.tensor(cRow, [1, n]);
      const op = e.prepareGemm(b, { transA, bias, c: cT, beta: 0.5, alpha: -2, activation: "tanh" });
      outs[be] = [];
      ms.forEach((m, i) => {
        const a = e.tensor(as[i], transA ? [k, m] : [m, k]);
        const y = op.run(a);
        const ref = gemmRef(as[i], bData, bias, cRow, { m, k, n, transA, transB: false, alpha: -2, beta: 0.5, cShape: [1, n], activation: "tanh" });
        expect(compare(y.toArray(), ref.value, (j) => dotBound(k, ref.mag[j], 1) + activationRtol("tanh") * Math.abs(ref.value[j]) + TINY, `${be} M=${m}`)).toBe("");
        outs[be].push(y.toArray());
        a.dispose();
        y.dispose();
      });
      op.dispose();
      for (const t of [b, cT]) t.dispose();
      expect(e.memoryBytes).toBe(before);
    }
    outs.simd.forEach((y, i) => expect(compareBits(y, outs.scalar[i])).toBe(""));
  });
});
