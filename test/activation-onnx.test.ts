// The ONNX operators of issue 17's activations and elementwise math, in models built in code,
// run by engine.loadOnnx (both builds, with and without the fusions) and by onnxruntime-web.
//
// Tolerance (TOL): |simdcnn - ORT| <= 1e-6 + 2e-5 |ORT|. The two runtimes approximate exp, log,
// erf and tanh differently (ORT with its own float32 routines, simdcnn with
// assembly/activation.ts and math.ts): each within a few tens of ulp (6e-8 relative each) of the
// real value on these ranges (test/activation.test.ts bounds simdcnn's), so they differ by <= 2e-5
// relative; an atol of 1e-6 covers results that cancel to near 0 (elu, gelu's and hardSwish's
// zero crossings). After a conv, both sums of <= 27 products (ORT in another order) differ by
// ~27 u |terms| ~ 2e-6 as in test/onnx-deconv.test.ts: CONV_TOL. Exact ops (Neg, Abs, Floor,
// Ceil, Round, Sign, Sqrt, Reciprocal, Min, Max, Sum of two) round the same real result once:
// EXACT. A wrong formula or attribute moves results by 1e-3 or more.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { type BackendName, engines } from "./grid.js";
import { EXACT, Net, type OrtCase, type Tol, checkCase, f32attr, steps } from "./networks.js";
import type { AttributeValue } from "./onnx-builder.js";
import { Rng, prod } from "./reference.js";

const TOL: Tol = { atol: 1e-6, rtol: 2e-5 };
const CONV_TOL: Tol = { atol: 1e-5, rtol: 1e-4 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

interface Case {
  name: string;
  /** The graph inputs and the range their values are drawn from. */
  inputs: Record<string, { dims: number[]; lo: number; hi: number }>;
  build: (n: Net) => string;
  opset?: number;
  tol?: Tol;
  /** Step names the fused graph must contain, and no separate unary or binary step. */
  steps?: string[];
}

const X = (lo = -4, hi = 4, dims = [2, 3, 4, 5]) => ({ x: { dims, lo, hi } });
const unary = (op: string, attrs?: Record<string, AttributeValue>) => (n: Net) => n.op(op, ["x"], attrs);

const CASES: Case[] = [
  { name: "Elu", inputs: X(), build: unary("Elu") },
  { name: "Elu alpha 0.5", inputs: X(), build: unary("Elu", { alpha: 0.5 }) },
  { name: "Selu", inputs: X(), build: unary("Selu") },
  { name: "Selu alpha, gamma", inputs: X(), build: unary("Selu", { alpha: 1.5, gamma: f32attr(2) }) },
  { name: "Celu alpha 2", inputs: X(), build: unary("Celu", { alpha: f32attr(2) }), opset: 12 },
  { name: "HardSigmoid", inputs: X(), build: unary("HardSigmoid") },
  { name: "HardSigmoid alpha, beta", inputs: X(), build: unary("HardSigmoid", { alpha: 0.3, beta: 0.4 }) },
  { name: "HardSwish", inputs: X(), build: unary("HardSwish"), opset: 14 },
  { name: "Softplus", inputs: X(-30, 30), build: unary("Softplus") },
  { name: "Softsign", inputs: X(-30, 30), build: unary("Softsign") },
  { name: "Mish", inputs: X(-10, 10), build: unary("Mish"), opset: 18 },
  { name: "Gelu (opset 20)", inputs: X(-6, 6), build: unary("Gelu"), opset: 20 },
  { name: "Gelu tanh (opset 20)", inputs: X(-6, 6), build: unary("Gelu", { approximate: "tanh" }), opset: 20 },
  { name: "Erf", inputs: X(-3, 3), build: unary("Erf") },
  { name: "Log", inputs: X(1e-3, 100), build: unary("Log") },
  { name: "Sqrt", inputs: X(0, 100), build: unary("Sqrt"), tol: EXACT },
  { name: "Reciprocal", inputs: X(), build: unary("Reciprocal"), tol: EXACT },
  { name: "Neg", inputs: X(), build: unary("Neg"), tol: EXACT },
  { name: "Abs", inputs: X(), build: unary("Abs"), tol: EXACT },
  { name: "Floor", inputs: X(), build: unary("Floor"), tol: EXACT },
  { name: "Ceil", inputs: X(), build: unary("Ceil"), tol: EXACT },
  { name: "Round (half to even)", inputs: X(), build: (n) => n.op("Round", [n.op("Mul", ["x", n.constant([], [2.5])])]), tol: EXACT },
  { name: "Sign", inputs: X(), build: (n) => n.op("Sign", [n.op("Floor", ["x"])]), tol: EXACT },
  ...[2, 3, 0.5, -1, 1.7, -2.5, 4].map((p): Case => ({
    name: `Pow by the constant ${p}`, inputs: X(p === 0.5 || !Number.isInteger(p) ? 0.1 : -4, 4), build: (n) => n.op("Pow", ["x", n.constant([], [p])]),
    tol: p === 2 || p === 0.5 || p === -1 ? EXACT : TOL,
  })),
  { name: "Pow, int64 exponent", inputs: X(), build: (n) => n.op("Pow", ["x", n.int64([], [3])]), opset: 15 },
  { name: "Pow by a tensor [5]", inputs: X(0.1, 4), build: (n) => n.op("Pow", ["x", n.random([5], -2, 2)]) },
  { name: "Pow of a tensor [4, 1] by x", inputs: X(-2, 2), build: (n) => n.op("Pow", [n.random([4, 1], 0.5, 2), "x"]) },
  {
    name: "Sum of three, broadcast", inputs: { a: { dims: [2, 3, 4, 5], lo: -1, hi: 1 }, b: { dims: [4, 1], lo: -1, hi: 1 }, c: { dims: [5], lo: -1, hi: 1 } },
    build: (n) => n.op("Sum", ["a", "b", "c"]),
  },
  { name: "Sum of two", inputs: { a: { dims: [3, 5], lo: -1, hi: 1 }, b: { dims: [3, 5], lo: -1, hi: 1 } }, build: (n) => n.op("Sum", ["a", "b"]), tol: EXACT },
  { name: "Sum of one", inputs: X(), build: (n) => n.op("Sum", ["x"]), tol: EXACT },
  {
    name: "Mean of three, broadcast", inputs: { a: { dims: [2, 3, 4, 5], lo: -1, hi: 1 }, b: { dims: [1, 3, 1, 1], lo: -1, hi: 1 }, c: { dims: [2, 3, 4, 5], lo: -1, hi: 1 } },
    build: (n) => n.op("Mean", ["a", "b", "c"]),
  },
  {
    name: "Min of three with a constant", inputs: { a: { dims: [2, 3, 4, 5], lo: -1, hi: 1 }, b: { dims: [5], lo: -1, hi: 1 } },
    build: (n) => n.op("Min", ["a", "b", n.random([4, 1], -0.5, 0.5)]), tol: EXACT,
  },
  { name: "Max of two, broadcast", inputs: { a: { dims: [3, 1], lo: -1, hi: 1 }, b: { dims: [2, 3, 7], lo: -1, hi: 1 } }, build: (n) => n.op("Max", ["a", "b"]), tol: EXACT },
  { name: "LogSoftmax axis -1", inputs: X(-10, 10), build: unary("LogSoftmax") },
  { name: "LogSoftmax axis 1 of NCHW", inputs: X(-10, 10), build: unary("LogSoftmax", { axis: 1 }) },
  { name: "LogSoftmax axis 1, opset 11 (2-d coercion)", inputs: X(-10, 10), build: unary("LogSoftmax", { axis: 1 }), opset: 11 },
  { name: "LogSoftmax axis 2", inputs: X(-10, 10), build: unary("LogSoftmax", { axis: 2 }) },
  // Fusions.
  ...([
    ["Elu", { alpha: 0.5 }, '+{"elu":0.5}'], ["Selu", {}, "+{\"selu\""], ["Celu", {}, '+{"celu":1}'], ["HardSigmoid", {}, '+{"hardSigmoid"'],
    ["HardSwish", {}, "+hardSwish"], ["Softplus", {}, "+softplus"], ["Softsign", {}, "+softsign"], ["Mish", {}, "+mish"], ["Gelu", {}, "+gelu"],
  ] as const).map(([op, attrs, step]): Case => ({
    name: `Conv + ${op} (fused)`, inputs: X(-1, 1, [1, 3, 6, 7]), build: (n) => n.op(op, [n.conv("x", 3, 4, 3, { pads: [1, 1, 1, 1] })], attrs),
    opset: op === "Gelu" ? 20 : 18, tol: CONV_TOL, steps: [`conv 3x3 3->4 ${step}`],
  })),
  {
    name: "Gemm + Gelu tanh (fused)", inputs: X(-1, 1, [3, 10]), build: (n) => n.op("Gelu", [n.gemm("x", 10, 6)], { approximate: "tanh" }),
    opset: 20, tol: CONV_TOL, steps: ["gemm 10->6 +geluTanh"],
  },
  {
    name: "Conv, Mul(x, Sigmoid(x)) (SiLU, fused)", inputs: X(-1, 1, [1, 3, 6, 7]), tol: CONV_TOL, steps: ["conv 3x3 3->5 +silu"],
    build: (n) => {
      const c = n.conv("x", 3, 5, 3, { pads: [1, 1, 1, 1] });
      return n.conv(n.op("Mul", [n.op("Sigmoid", [c]), c]), 5, 2, 1);
    },
  },
  {
    name: "GELU as PyTorch writes it (Div, Erf, Add, Mul, Mul) after a Conv (fused)", inputs: X(-1, 1, [1, 3, 6, 7]), tol: CONV_TOL,
    steps: ["conv 3x3 3->4 +gelu"],
    build: (n) => {
      const c = n.conv("x", 3, 4, 3, { pads: [1, 1, 1, 1] });
      const erf = n.op("Erf", [n.op("Div", [c, n.constant([], [Math.SQRT2])])]);
      return n.op("Mul", [n.op("Mul", [c, n.op("Add", [erf, n.constant([], [1])])]), n.constant([], [0.5])]);
    },
  },
  {
    name: "GELU with the half applied to x first, of an input: one step", inputs: X(-6, 6), steps: ["unary"],
    build: (n) => {
      const erf = n.op("Erf", [n.op("Mul", ["x", n.constant([], [Math.SQRT1_2])])]);
      return n.op("Mul", [n.op("Mul", ["x", n.constant([], [0.5])]), n.op("Add", [n.constant([], [1]), erf])]);
    },
  },
  {
    name: "GELU's chain with its Erf read elsewhere: runs as its ops", inputs: X(-6, 6),
    build: (n) => {
      const erf = n.op("Erf", [n.op("Div", ["x", n.constant([], [Math.SQRT2])])]);
      const g = n.op("Mul", [n.op("Mul", ["x", n.op("Add", [erf, n.constant([], [1])])]), n.constant([], [0.5])]);
      return n.op("Add", [g, erf]);
    },
  },
  {
    name: "Conv, Mul(x, HardSigmoid(x) 1/6, 1/2) (HardSwish, fused)", inputs: X(-2, 2, [1, 3, 6, 7]), tol: CONV_TOL, steps: ["conv 3x3 3->4 +hardSwish"],
    build: (n) => {
      const c = n.conv("x", 3, 4, 3, { pads: [1, 1, 1, 1] });
      return n.op("Mul", [c, n.op("HardSigmoid", [c], { alpha: f32attr(1 / 6), beta: 0.5 })]);
    },
  },
  {
    name: "Gemm, Mul(Tanh(Softplus(x)), x) (Mish, fused)", inputs: X(-2, 2, [3, 10]), tol: CONV_TOL, steps: ["gemm 10->6 +mish"],
    build: (n) => {
      const g = n.gemm("x", 10, 6);
      return n.op("Mul", [n.op("Tanh", [n.op("Softplus", [g])]), g]);
    },
  },
  {
    name: "Mul(x, HardSigmoid(x)) with other constants: runs as its ops", inputs: X(-4, 4),
    build: (n) => n.op("Mul", ["x", n.op("HardSigmoid", ["x"], { alpha: 0.25, beta: 0.5 })]),
  },
  {
    name: "Mul(x, Sigmoid(x)) of an input: one step", inputs: X(-8, 8), steps: ["unary"],
    build: (n) => n.op("Mul", ["x", n.op("Sigmoid", ["x"])]),
  },
  {
    name: "Conv, Mul(x, Sigmoid(x)) where x is also read elsewhere: not fused into the conv", inputs: X(-1, 1, [1, 3, 6, 7]), tol: CONV_TOL,
    build: (n) => {
      const c = n.conv("x", 3, 5, 3, { pads: [1, 1, 1, 1] });
      return n.op("Add", [n.op("Mul", [c, n.op("Sigmoid", [c])]), c]);
    },
  },
];

function ortCase(c: Case, seed: number): OrtCase {
  const rng = new Rng(7000 + seed);
  const n = new Net(rng);
  n.output(c.build(n));
  const names = Object.keys(c.inputs);
  const bytes = n.model({ opset: c.opset ?? 13, inputs: names.map((name) => ({ name, shape: c.inputs[name].dims })), outputs: [{ name: "y" }] });
  const feeds = Object.fromEntries(names.map((name) => {
    const { dims, lo, hi } = c.inputs[name];
    return [name, { data: rng.f32(prod(dims), lo, hi), dims }];
  }));
  return { name: c.name, bytes, feeds: [feeds], tol: c.tol ?? TOL };
}

describe("activations and elementwise math against onnxruntime-web", () => {
  for (const [i, c] of CASES.entries()) {
    it(c.name, async () => {
      const r = await checkCase(E, ortCase(c, i));
      expect(r.problems).toEqual([]);
      if (c.steps) {
        const s = steps(r.summaries.fused);
        for (const name of c.steps) expect(s.some((x) => x.startsWith(name)), `${name} in\n${r.summaries.fused}`).toBe(true);
        if (!c.steps.includes("unary")) expect(s.filter((x) => x === "unary" || x === "binary"), r.summaries.fused).toEqual([]);
        else expect(s.filter((x) => x === "unary" || x === "binary"), r.summaries.fused).toEqual(["unary"]);
      }
    });
  }
});

describe("PyTorch exports at opset 13 (test/fixtures/activations/make.py): the patterns fuse into the convolutions and the GEMM", () => {
  const FIXTURES = [["gelu", "+gelu"], ["silu", "+silu"], ["hardswish", "+hardSwish"], ["mish", "+mish"], ["elu", '+{"elu":1}'], ["selu", '+{"selu"']] as const;
  it.each(FIXTURES)("%s", async (name, act) => {
    const bytes = new Uint8Array(readFileSync(new URL(`fixtures/activations/${name}.onnx`, import.meta.url)));
    const rng = new Rng(name.length);
    const r = await checkCase(E, { name, bytes, feeds: [{ x: { data: rng.f32(3 * 36, -2, 2), dims: [1, 3, 6, 6] } }], tol: CONV_TOL });
    expect(r.problems).toEqual([]);
    const s = steps(r.summaries.fused);
    expect(s.filter((x) => x.startsWith("conv") && x.includes(act)).length, r.summaries.fused).toBe(2);
    expect(s.filter((x) => x.startsWith("gemm") && x.includes(act)).length, r.summaries.fused).toBe(1);
    expect(s.filter((x) => x === "unary" || x === "binary"), r.summaries.fused).toEqual([]);
  });
});
