// Keras layers as tf2onnx exports them, against onnxruntime-web, fused (the default) and unfused
// ({ optimize: false }): Dense as MatMul + Add (+ Relu), BatchNormalization as Mul + Add by
// per-channel constants, in NCHW and in the NHWC form tf2onnx writes (Transposes around each
// Conv). The fused path must also have fewer steps (summary).
//
// Tolerances (|simdcnn - ORT| <= atol + rtol |ORT|): the fused graph folds the scale into the
// weights and the shift into the bias, so each product is rounded once more (w * s) and the
// bias is summed first instead of last: a few float32 ulp of a dot product's magnitude, as for
// BatchNormalization folding. ONE_LAYER (1e-6 + 1e-6 |ref|) for one conv or dense layer with
// K <= 100 over inputs in [-1, 1) (see test/onnx-models.test.ts for the derivation); STACK
// (1e-5 + 1e-5 |ref|) for the small classifier, whose errors pass through its layers.
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { type BackendName, engines } from "./grid.js";
import { EXACT, Net, type Tol, checkCase, feed, steps } from "./networks.js";
import { Rng } from "./reference.js";

const ONE_LAYER: Tol = { atol: 1e-6, rtol: 1e-6 };
const STACK: Tol = { atol: 1e-5, rtol: 1e-5 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

async function check(name: string, n: Net, inputs: { name: string; shape: (number | string)[] }[], out: (number | string)[], feeds: Record<string, number[]>[], tol: Tol) {
  const bytes = n.model({ opset: 13, inputs, outputs: [{ name: "y", shape: out }] });
  const r = await checkCase(E, { name, bytes, tol, feeds: feeds.map((f) => Object.fromEntries(Object.entries(f).map(([k, d]) => [k, feed(n.rng, d)]))) });
  expect(r.problems, name).toEqual([]);
  return { fused: steps(r.summaries.fused), unfused: steps(r.summaries.unfused) };
}

/** Keras Dense: MatMul by [K, N] weights, Add of an [N] bias, an optional Relu. */
function dense(n: Net, x: string, k: number, units: number, relu: boolean, biasDims = [units]): string {
  const y = n.op("Add", [n.op("MatMul", [x, n.weight([k, units], k)]), n.random(biasDims, -0.5, 0.5)]);
  return relu ? n.op("Relu", [y]) : y;
}

/** Keras BatchNormalization as tf2onnx writes it: Mul by a scale, Add of a shift, per channel. */
function affine(n: Net, x: string, dims: number[]): string {
  return n.op("Add", [n.op("Mul", [x, n.random(dims, 0.5, 1.5)]), n.random(dims, -0.5, 0.5)]);
}

describe("Keras Dense (MatMul + Add + Relu)", () => {
  it("becomes one gemm with bias and activation, batch 1 and 3, K and N with remainders", async () => {
    const n = new Net(new Rng(71));
    n.output(dense(n, dense(n, "x", 37, 13, true), 13, 5, false, [1, 5]));
    const s = await check("dense", n, [{ name: "x", shape: ["N", 37] }], ["N", 5], [{ x: [1, 37] }, { x: [3, 37] }], ONE_LAYER);
    expect(s.fused).toEqual(["gemm 37->13 +relu", "gemm 13->5"]);
    expect(s.unfused).toHaveLength(5);
  });

  it("on a 3-d input (the leading dimensions fold into M)", async () => {
    const n = new Net(new Rng(72));
    n.output(dense(n, "x", 19, 6, true));
    const s = await check("dense-3d", n, [{ name: "x", shape: [2, 3, 19] }], [2, 3, 6], [{ x: [2, 3, 19] }], ONE_LAYER);
    expect(s.fused).toEqual(["gemm 19->6 +relu"]);
  });

  it("keeps the Add when the MatMul's output is read elsewhere too, or the bias varies by row", async () => {
    const n = new Net(new Rng(73));
    const mm = n.op("MatMul", ["x", n.weight([11, 7], 11)]);
    const byRow = n.op("Add", [mm, n.random([4, 1])]);
    n.output(n.op("Add", [n.op("Add", [mm, n.random([7])]), byRow]));
    const s = await check("dense-shared", n, [{ name: "x", shape: [4, 11] }], [4, 7], [{ x: [4, 11] }], ONE_LAYER);
    expect(s.fused.filter((t) => t === "binary")).toHaveLength(3);
  });
});

describe("Keras BatchNormalization as Mul + Add", () => {
  it("folds into the preceding conv (NCHW, constants [1, C, 1, 1] and [C, 1, 1]), then its Relu", async () => {
    const n = new Net(new Rng(74));
    const c = n.conv("x", 3, 6, 3, { pads: [1, 1, 1, 1] });
    const y = n.op("Add", [n.op("Mul", [c, n.random([1, 6, 1, 1], 0.5, 1.5)]), n.random([6, 1, 1], -0.5, 0.5)]);
    n.output(n.op("Relu", [y]));
    const s = await check("conv-mul-add", n, [{ name: "x", shape: [1, 3, 9, 7] }], [1, 6, 9, 7], [{ x: [1, 3, 9, 7] }], ONE_LAYER);
    expect(s.fused).toEqual(["transpose NCHW->NHWC", "conv 3x3 3->6 +relu", "transpose NHWC->NCHW"]);
    expect(s.unfused.filter((t) => t === "binary")).toHaveLength(2);
  });

  it("folds into the preceding conv in tf2onnx's NHWC form (Transposes around the Conv, constants [C])", async () => {
    const n = new Net(new Rng(75));
    const nchw = n.op("Transpose", ["x"], { perm: [0, 3, 1, 2] });
    const c = n.op("Transpose", [n.conv(nchw, 5, 6, 3, {}, false)], { perm: [0, 2, 3, 1] });
    n.output(n.op("Relu", [affine(n, c, [6])]));
    const s = await check("nhwc-conv-mul-add", n, [{ name: "x", shape: [2, 9, 7, 5] }], [2, 7, 5, 6], [{ x: [2, 9, 7, 5] }], ONE_LAYER);
    expect(s.fused).toEqual(["conv 3x3 5->6 +relu"]);
    expect(s.unfused.length).toBeGreaterThan(s.fused.length + 2);
  });

  it("folds into a Dense layer's gemm", async () => {
    const n = new Net(new Rng(76));
    n.output(n.op("Relu", [affine(n, dense(n, "x", 21, 9, false), [9])]));
    const s = await check("dense-mul-add", n, [{ name: "x", shape: [3, 21] }], [3, 9], [{ x: [3, 21] }], ONE_LAYER);
    expect(s.fused).toEqual(["gemm 21->9 +relu"]);
  });

  it("is not folded past an activation, into a conv with a second reader, or along another axis", async () => {
    const n = new Net(new Rng(77));
    const c = n.conv("x", 3, 4, 3);
    const afterRelu = affine(n, n.op("Relu", [c]), [1, 4, 1, 1]);
    const shared = n.op("Add", [n.op("Mul", [c, n.random([1, 4, 1, 1], 0.5, 1.5)]), c]);
    const byRow = n.op("Mul", [n.conv("x", 3, 4, 3), n.random([1, 1, 5, 1], 0.5, 1.5)]);
    n.output(n.op("Add", [n.op("Add", [afterRelu, shared]), byRow]));
    const s = await check("not-folded", n, [{ name: "x", shape: [1, 3, 7, 6] }], [1, 4, 5, 4], [{ x: [1, 3, 7, 6] }], ONE_LAYER);
    // The Mul/Add after the Relu is one affine step (below); the other two stay binary steps.
    expect(s.fused.filter((t) => t.startsWith("conv"))).toEqual(["conv 3x3 3->4", "conv 3x3 3->4", "conv 1x1 4->4 g4"]);
    expect(s.fused.filter((t) => t === "binary")).toHaveLength(5);
  });
});

describe("Mul + Add by per-channel constants that cannot fold", () => {
  // EXACT: one depthwise 1x1 step computes t + x * s, the product rounded and then the sum, as
  // ORT's Mul then Add do.
  it("after a Relu on an NHWC input is one affine step (a depthwise 1x1 conv) taking the next Relu too", async () => {
    const n = new Net(new Rng(78));
    n.output(n.op("Relu", [affine(n, n.op("Relu", ["x"]), [7])]));
    const s = await check("relu-mul-add", n, [{ name: "x", shape: ["N", 5, 3, 7] }], ["N", 5, 3, 7], [{ x: [1, 5, 3, 7] }, { x: [2, 5, 3, 7] }], EXACT);
    expect(s.fused).toEqual(["unary", "conv 1x1 7->7 g7 +relu"]);
    expect(s.unfused).toEqual(["unary", "binary", "binary", "unary"]);
  });

  it("BatchNormalization on an input (no conv to fold into) is one affine step", async () => {
    const n = new Net(new Rng(79));
    n.output(n.batchNorm("x", 6));
    const s = await check("bn-affine", n, [{ name: "x", shape: [2, 6, 5, 3] }], [2, 6, 5, 3], [{ x: [2, 6, 5, 3] }], ONE_LAYER);
    expect(s.fused).toEqual(["transpose NCHW->NHWC", "conv 1x1 6->6 g6", "transpose NHWC->NCHW"]);
  });
});
