// Reduce*, ArgMin and the normalizations (Instance-, Layer-, Group-, LpNormalization) as single-op
// ONNX models, on plain inputs and on the NHWC output of a convolution, loaded in both builds
// (with and without fusions) and compared with onnxruntime-web. Cases marked `inPlace` read the
// NHWC activation as it is stored: their compiled model has no layout copy before the op.
//
// Tolerances: max, min and the indices are exact (both select). Sums and normalizations add in
// different orders in the two runtimes: a few ulps of the terms' magnitudes, so
// |err| <= 1e-5 + 1e-4 |ort| for outputs of magnitude about 1 (the inputs are in [-1, 1] or conv
// outputs of that size; normalized outputs are O(1)).
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, ModelFormatError, UnsupportedError } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { engines, type BackendName } from "./grid.js";
import { EXACT, Net, type OrtCase, type Tol, checkCase, f32attr, feed } from "./networks.js";
import { Rng } from "./reference.js";

const SUM: Tol = { atol: 1e-5, rtol: 1e-4 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

interface Case {
  name: string;
  opset: number;
  x: number[];
  build: (n: Net) => string;
  tol: Tol;
  indices?: boolean;
  /** The op reads the conv's NHWC output without a layout copy before it. */
  inPlace?: boolean;
  /** A line of the fused model's summary (an activation fused into the op). */
  fused?: string;
}

const viaConv = (n: Net, c = 6) => n.conv("x", 3, c, 3, { pads: [1, 1, 1, 1] });
const axes = (n: Net, a: number[]) => n.int64([a.length], a);
const X = [2, 3, 7, 5];
const P = [3, 5, 9];

const REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"];
// Max and min select, exact on the model's input; after a conv they inherit its rounding.
const exact = (op: string) => (op === "ReduceMax" || op === "ReduceMin" ? EXACT : SUM);

const CASES: Case[] = [
  ...REDUCE_OPS.flatMap((op): Case[] => [
    { name: `${op}-13 over channels of a conv output, keepdims`, opset: 13, x: X, build: (n) => (op === "ReduceSum" ? n.op(op, [viaConv(n), axes(n, [1])]) : n.op(op, [viaConv(n)], { axes: [1] })), tol: SUM, inPlace: true },
    { name: `${op}-18 over H and W of a conv output, keepdims 0`, opset: 18, x: X, build: (n) => n.op(op, [viaConv(n), axes(n, [-1, 2])], { keepdims: 0 }), tol: SUM, inPlace: true },
    { name: `${op}-11 over axes 0 and 2 of a plain tensor (not adjacent)`, opset: 11, x: P, build: (n) => n.op(op, ["x"], { axes: [0, 2] }), tol: exact(op) },
    { name: `${op}-18 all axes (none given), keepdims 0`, opset: 18, x: P, build: (n) => n.op(op, ["x"], { keepdims: 0 }), tol: exact(op) },
  ]),
  { name: "ReduceMean-13 over N of a conv output, keepdims 0 (stored order differs)", opset: 13, x: X, build: (n) => n.op("ReduceMean", [viaConv(n)], { axes: [0], keepdims: 0 }), tol: SUM },
  { name: "ReduceMean-13 over C, H, W of a conv output (a global mean per image)", opset: 13, x: X, build: (n) => n.op("ReduceMean", [viaConv(n)], { axes: [1, 2, 3] }), tol: SUM, inPlace: true },
  { name: "ReduceSum-13 empty axes with noop_with_empty_axes", opset: 13, x: P, build: (n) => n.op("ReduceSum", ["x", n.int64([0], [])], { noop_with_empty_axes: 1 }), tol: EXACT },
  { name: "ReduceMax-1 over the last axis", opset: 1, x: P, build: (n) => n.op("ReduceMax", ["x"], { axes: [-1] }), tol: EXACT },
  // ArgMin: ties come from Relu's zeros.
  { name: "ArgMin axis 1 after conv+relu (ties), keepdims", opset: 13, x: X, build: (n) => n.op("ArgMin", [n.op("Relu", [viaConv(n)])], { axis: 1 }), tol: EXACT, indices: true, inPlace: true },
  { name: "ArgMin axis 1, keepdims 0, select_last_index (ties)", opset: 13, x: X, build: (n) => n.op("ArgMin", [n.op("Relu", [viaConv(n)])], { axis: 1, keepdims: 0, select_last_index: 1 }), tol: EXACT, indices: true },
  { name: "ArgMin axis -1 on a plain tensor", opset: 11, x: P, build: (n) => n.op("ArgMin", ["x"], { axis: -1 }), tol: EXACT, indices: true },
  // Normalizations.
  { name: "InstanceNormalization of a conv output, then Relu (fused)", opset: 13, x: X, build: (n) => n.op("Relu", [n.op("InstanceNormalization", [viaConv(n, 20), n.random([20], 0.5, 1.5), n.random([20])], { epsilon: f32attr(1e-3) })]), tol: SUM, inPlace: true, fused: "instancenorm +relu" },
  { name: "InstanceNormalization of an NCHW input (17 channels)", opset: 6, x: [2, 17, 4, 3], build: (n) => n.op("InstanceNormalization", ["x", n.random([17], 0.5, 1.5), n.random([17])]), tol: SUM },
  { name: "InstanceNormalization of a per-channel Mul of the input (the Mul runs NHWC)", opset: 13, x: [2, 5, 6, 7], build: (n) => n.op("InstanceNormalization", [n.op("Mul", ["x", n.random([5, 1, 1], 0.5, 2)]), n.random([5], 0.5, 1.5), n.random([5])]), tol: SUM },
  { name: "InstanceNormalization of [N, C, L]", opset: 13, x: [2, 5, 11], build: (n) => n.op("InstanceNormalization", ["x", n.random([5], 0.5, 1.5), n.random([5])]), tol: SUM },
  { name: "LayerNormalization over the last axis", opset: 17, x: [2, 5, 33], build: (n) => n.op("LayerNormalization", ["x", n.random([33], 0.5, 1.5), n.random([33])]), tol: SUM },
  { name: "LayerNormalization over C, H, W of a conv output, scale only", opset: 17, x: X, build: (n) => n.op("LayerNormalization", [viaConv(n), n.random([6, 7, 5], 0.5, 1.5)], { axis: 1, epsilon: f32attr(1e-4) }), tol: SUM, inPlace: true },
  { name: "LayerNormalization over the last two axes, broadcast scale", opset: 17, x: [3, 4, 6], build: (n) => n.op("LayerNormalization", ["x", n.random([6], 0.5, 1.5), n.random([4, 1])], { axis: -2 }), tol: SUM },
  { name: "GroupNormalization-18 of a conv output, scale per group", opset: 18, x: X, build: (n) => n.op("GroupNormalization", [viaConv(n, 12), n.random([3], 0.5, 1.5), n.random([3])], { num_groups: 3 }), tol: SUM, inPlace: true },
  { name: "GroupNormalization-21 of a conv output, scale per channel", opset: 21, x: X, build: (n) => n.op("GroupNormalization", [viaConv(n, 12), n.random([12], 0.5, 1.5), n.random([12])], { num_groups: 4 }), tol: SUM, inPlace: true },
  { name: "LpNormalization p 2 over channels of a conv output", opset: 13, x: X, build: (n) => n.op("LpNormalization", [viaConv(n)], { axis: 1 }), tol: SUM, inPlace: true },
  { name: "LpNormalization p 1 over the last axis", opset: 13, x: P, build: (n) => n.op("LpNormalization", ["x"], { axis: -1, p: 1 }), tol: SUM },
  { name: "LpNormalization p 2 over axis 1 of a plain tensor", opset: 13, x: P, build: (n) => n.op("LpNormalization", ["x"], { axis: 1 }), tol: SUM },
];

async function run(c: Case, seed: number): Promise<void> {
  const rng = new Rng(700 + seed);
  const n = new Net(rng);
  n.output(c.build(n));
  const bytes = n.model({ opset: c.opset, inputs: [{ name: "x", shape: c.x }], outputs: [{ name: "y", ...(c.indices ? { elemType: DataType.INT64 } : {}) }] });
  const oc: OrtCase = { name: c.name, bytes, feeds: [{ x: feed(rng, c.x) }], tol: c.tol };
  const r = await checkCase(E, oc);
  expect(r.problems, c.name).toEqual([]);
  if (c.fused) expect(r.summaries.fused).toContain(c.fused);
  if (c.inPlace) {
    // Copies are the model input's NCHW -> NHWC before the conv and the output's after the op.
    for (const s of [r.summaries.fused, r.summaries.unfused]) {
      const lines = s.split("\n");
      const between = lines.slice(lines.findIndex((l) => l.startsWith("conv")), lines.findIndex((l) => /^(reduce|instancenorm|layernorm|groupnorm|lp. norm|argmax)/.test(l)));
      expect(between.length, s).toBeGreaterThan(0);
      expect(between.filter((l) => /^(transpose|copy) /.test(l)), `${c.name}: no layout copy between the conv and the op\n${s}`).toEqual([]);
    }
  }
}

describe("reductions and normalizations against onnxruntime-web", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_n, c, i) => run(c, i));
});

describe("reductions and normalizations: models simdcnn refuses, with the reason", () => {
  const load = (build: (n: Net) => string, opset: number, x: number[]) => {
    const n = new Net(new Rng(9));
    n.output(build(n));
    const bytes = n.model({ opset, inputs: [{ name: "x", shape: x }], outputs: [{ name: "y" }] });
    return E.simd.loadOnnx(bytes);
  };
  it.each([
    ["GroupNormalization with 5 groups of 12 channels", (n: Net) => n.op("GroupNormalization", ["x", n.random([5]), n.random([5])], { num_groups: 5 }), 18, X.map((d, i) => (i === 1 ? 12 : d)), ModelFormatError, /num_groups 5 must be a positive divisor of the 12 channels/],
    ["GroupNormalization-21 with a scale per group", (n: Net) => n.op("GroupNormalization", ["x", n.random([2]), n.random([2])], { num_groups: 2 }), 21, [2, 4, 3, 3], ModelFormatError, /must each hold 4 floats \(one per channel\)/],
    ["LpNormalization p 3", (n: Net) => n.op("LpNormalization", ["x"], { p: 3 }), 13, P, UnsupportedError, /p = 3; ONNX defines p = 1 and 2/],
    ["ReduceSum-13 with axes as an attribute", (n: Net) => n.op("ReduceSum", ["x"], { axes: [1] }), 13, P, ModelFormatError, /axes is an input from opset 13/],
    ["ReduceMean with an axis twice", (n: Net) => n.op("ReduceMean", ["x"], { axes: [1, -2] }), 13, P, ModelFormatError, /name an axis twice/],
    ["InstanceNormalization of a 2-d input", (n: Net) => n.op("InstanceNormalization", ["x", n.random([5]), n.random([5])]), 13, [3, 5], ModelFormatError, /must be \[N, C, D1, \.\.\.\]/],
    ["LayerNormalization with a Scale that does not broadcast", (n: Net) => n.op("LayerNormalization", ["x", n.random([4])]), 17, P, ModelFormatError, /\[4\] does not broadcast to the normalized shape \[9\]/],
  ] as const)("%s", async (_name, build, opset, x, type, message) => {
    await expect(load(build, opset, [...x])).rejects.toThrow(type);
    await expect(load(build, opset, [...x])).rejects.toThrow(message);
  });

  it("LayerNormalization whose Mean output is read", async () => {
    const n = new Net(new Rng(9));
    n.op("LayerNormalization", ["x", n.random([9])], {}, "ln", ["y", "mean"]);
    const bytes = n.model({ opset: 17, inputs: [{ name: "x", shape: P }], outputs: [{ name: "y" }, { name: "mean" }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/the Mean and InvStdDev outputs are not supported/);
  });
});
