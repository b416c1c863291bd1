// Layout at load: Transposes that cancel leave no step, a transpose of a transpose is one step, a
// Transpose that moves only size-1 axes is an alias, and summary() shows every copy left with the
// bytes it moves. Results against onnxruntime-web, both builds bit-identical (test/networks.ts).
//
// Tolerances: EXACT for data movement and relu (one float32 operation or none, rounded alike by
// both runtimes); ONE_LAYER = 1e-6 + 1e-6 |ref| for the one 3x3 convolution (K = 72 terms of O(1)
// inputs and He-scaled weights: see test/onnx-models.test.ts for the derivation).
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { type BackendName, engines } from "./grid.js";
import { EXACT, Net, type Tol, checkCase, feed, steps } from "./networks.js";
import { Rng } from "./reference.js";

const ONE_LAYER: Tol = { atol: 1e-6, rtol: 1e-6 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

async function run(name: string, n: Net, dims: number[], tol: Tol, seed: number) {
  const bytes = n.model({ inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y" }] });
  const r = await checkCase(E, { name, bytes, feeds: [{ x: feed(new Rng(seed), dims) }], tol });
  expect(r.problems, name).toEqual([]);
  return r;
}

describe("Transposes that cancel are removed at load", () => {
  it("a pair on a 5-d tensor leaves only the op between input and output", async () => {
    const n = new Net(new Rng(1));
    const p = [4, 2, 0, 3, 1];
    const inv = p.map((_, i) => p.indexOf(i));
    const t = n.op("Transpose", [n.op("Transpose", ["x"], { perm: p })], { perm: inv });
    n.output(n.op("Relu", [t]));
    const r = await run("5-d pair", n, [2, 3, 4, 5, 6], EXACT, 1);
    expect(steps(r.summaries.fused)).toEqual(["unary"]);
    expect(steps(r.summaries.unfused)).toEqual(["unary"]);
  });

  it("NCHW -> NHWC -> NCHW on the model's input costs nothing", async () => {
    const n = new Net(new Rng(2));
    const t = n.op("Transpose", [n.op("Transpose", ["x"], { perm: [0, 2, 3, 1] })], { perm: [0, 3, 1, 2] });
    n.output(n.op("Relu", [t]));
    const r = await run("nchw pair", n, [2, 8, 9, 11], EXACT, 2);
    expect(steps(r.summaries.fused)).toEqual(["unary"]);
  });

  it("tf2onnx-style NHWC model: the transposes around each NCHW op leave only the ops", async () => {
    const n = new Net(new Rng(3));
    let t = n.op("Transpose", ["x"], { perm: [0, 3, 1, 2] });
    t = n.conv(t, 8, 8, 3, { pads: [1, 1, 1, 1] });
    t = n.op("Transpose", [t], { perm: [0, 2, 3, 1] });
    t = n.op("Relu", [t]);
    t = n.op("Transpose", [t], { perm: [0, 3, 1, 2] });
    t = n.op("MaxPool", [t], { kernel_shape: [2, 2], strides: [2, 2] });
    n.output(n.op("Transpose", [t], { perm: [0, 2, 3, 1] }));
    const r = await run("tf2onnx", n, [1, 10, 12, 8], ONE_LAYER, 3);
    expect(steps(r.summaries.fused)).toEqual(["conv 3x3 8->8 +relu", "maxpool 2x2"]);
  });

  it("a transpose of a transpose that does not cancel is one transpose", async () => {
    const n = new Net(new Rng(4));
    const t = n.op("Transpose", [n.op("Transpose", [n.op("Relu", ["x"])], { perm: [1, 0, 2] })], { perm: [0, 2, 1] });
    n.output(t);
    const r = await run("composed", n, [5, 6, 7], EXACT, 4);
    // y's axis i is x's axis [1, 0, 2][[0, 2, 1][i]].
    expect(steps(r.summaries.fused)).toEqual(["unary", "transpose [1,2,0]"]);
  });

  it("the first transpose stays when something else reads it", async () => {
    const n = new Net(new Rng(5));
    const a = n.op("Transpose", [n.op("Relu", ["x"])], { perm: [2, 0, 1] });
    const b = n.op("Transpose", [a], { perm: [1, 2, 0] });
    n.output(n.op("Add", [b, n.op("Transpose", [n.op("Relu", [a])], { perm: [1, 2, 0] })]));
    const r = await run("shared", n, [3, 4, 5], EXACT, 5);
    expect(steps(r.summaries.fused)).toEqual(["unary", "transpose [2,0,1]", "unary", "transpose [1,2,0]", "binary"]);
  });
});

describe("a Transpose that moves only size-1 axes is an alias", () => {
  it("Transpose -> Reshape", async () => {
    const n = new Net(new Rng(6));
    const t = n.op("Transpose", [n.op("Relu", ["x"])], { perm: [2, 0, 1, 3] });
    n.output(n.op("Reshape", [t, n.int64([2], [8, 5])]));
    const r = await run("unit axes", n, [1, 8, 1, 5], EXACT, 6);
    expect(steps(r.summaries.fused)).toEqual(["unary"]);
  });
});

describe("a layout-neutral chain before NHWC readers runs NHWC: the input's conversion comes first", () => {
  it("per-channel normalisation before a convolution needs no broadcast copies", async () => {
    const n = new Net(new Rng(8));
    const mean = n.random([1, 3, 1, 1], -0.5, 0.5);
    const std = n.random([1, 3, 1, 1], 0.5, 2);
    const t = n.op("Div", [n.op("Sub", ["x", mean]), std]);
    n.output(n.conv(n.op("Relu", [t]), 3, 8, 3));
    const r = await run("normalise", n, [1, 3, 12, 14], ONE_LAYER, 8);
    expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "binary", "binary", "unary", "conv 3x3 3->8", "transpose NHWC->NCHW"]);
  });

  it("but not when the chain's result is also an output", async () => {
    const n = new Net(new Rng(9));
    const t = n.op("Mul", ["x", n.random([1, 3, 1, 1])], {}, "scaled", ["scaled"]);
    // 1x2: a 1x1 convolution would read the planes where they lie (src/ops/pointwise.ts).
    n.output(n.conv(t, 3, 4, [1, 2]));
    const bytes = n.model({ inputs: [{ name: "x", shape: [1, 3, 5, 6] }], outputs: [{ name: "y" }, { name: "scaled" }] });
    const r = await checkCase(E, { name: "also output", bytes, feeds: [{ x: feed(new Rng(9), [1, 3, 5, 6]) }], tol: ONE_LAYER });
    expect(r.problems).toEqual([]);
    expect(steps(r.summaries.fused)).toEqual(["copy", "binary", "transpose NCHW->NHWC", "conv 1x2 3->4", "transpose NHWC->NCHW"]);
  });
});

describe("summary() shows every copy left with the bytes it moves", () => {
  it("a one-op NCHW convolution: a transpose in, a transpose out", async () => {
    const n = new Net(new Rng(7));
    n.output(n.conv("x", 16, 8, 3, { pads: [1, 1, 1, 1] }));
    const r = await run("conv", n, [1, 16, 12, 12], { atol: 1e-5, rtol: 1e-5 }, 7);
    const s = r.summaries.fused;
    // Read + written: 2 x 4 bytes per element; 16*12*12 in, 8*12*12 out.
    const inKiB = (2 * 4 * 16 * 12 * 12) / 1024;
    const outKiB = (2 * 4 * 8 * 12 * 12) / 1024;
    expect(s).toMatch(new RegExp(`transpose NCHW->NHWC\\s+\\[1, 12, 12, 16\\]\\s+0\\s+0\\s+${inKiB.toFixed(1)} KiB`));
    expect(s).toMatch(/conv 3x3 16->8\s+\[1, 12, 12, 8\]\s+\d+\s+\d+\n/);
    expect(s).toMatch(new RegExp(`transpose NHWC->NCHW\\s+\\[1, 8, 12, 12\\]\\s+0\\s+0\\s+${outKiB.toFixed(1)} KiB`));
    expect(s).toContain(`copies: 2 (2 transposes), moving ${(inKiB + outKiB).toFixed(1)} KiB a run`);
  });
});

describe("pooling an NCHW input runs on its planes: no layout copy", () => {
  for (const [op, attrs] of [
    ["MaxPool", { kernel_shape: [2, 2], strides: [2, 2] }],
    ["AveragePool", { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }],
    ["MaxPool", { kernel_shape: [3, 2], strides: [1, 2], ceil_mode: 1 }],
  ] as const) {
    it(`${op} ${JSON.stringify(attrs)}`, async () => {
      const n = new Net(new Rng(7));
      n.output(n.op(op, ["x"], attrs));
      const r = await run(op, n, [2, 16, 12, 13], op === "MaxPool" ? EXACT : { atol: 1e-6, rtol: 1e-6 }, 7);
      const name = `${op === "MaxPool" ? "max" : "avg"}pool ${attrs.kernel_shape.join("x")} nchw`;
      expect(steps(r.summaries.fused)).toEqual([name]);
      expect(r.summaries.fused).toContain("copies: 0 (0 transposes), moving 0.0 KiB a run");
    });
  }

  it("a convolution after the pool converts the pooled output, the smaller tensor", async () => {
    const n = new Net(new Rng(11));
    // 1x2: a 1x1 convolution would read the pooled planes where they lie (src/ops/pointwise.ts).
    n.output(n.conv(n.op("MaxPool", ["x"], { kernel_shape: [2, 2], strides: [2, 2] }), 8, 4, [1, 2]));
    const r = await run("pool conv", n, [1, 8, 10, 10], ONE_LAYER, 11);
    expect(steps(r.summaries.fused)).toEqual(["maxpool 2x2 nchw", "transpose NCHW->NHWC", "conv 1x2 8->4", "transpose NHWC->NCHW"]);
  });

  it("an input already converted for a convolution is pooled NHWC", async () => {
    const n = new Net(new Rng(12));
    const c = n.conv("x", 8, 8, 1);
    n.output(n.op("Add", [c, n.op("MaxPool", ["x"], { kernel_shape: [1, 1] })]));
    const r = await run("shared input", n, [1, 8, 6, 7], ONE_LAYER, 12);
    expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 1x1 8->8", "maxpool 1x1", "binary", "transpose NHWC->NCHW"]);
  });

  it("other windows, slower on planes than the two conversions cost, pool NHWC", async () => {
    const n = new Net(new Rng(13));
    n.output(n.op("MaxPool", ["x"], { kernel_shape: [3, 3], strides: [2, 2] }));
    const r = await run("maxpool 3x3", n, [1, 8, 11, 12], EXACT, 13);
    expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "maxpool 3x3", "transpose NHWC->NCHW"]);
  });

  it("one channel, any window: the planes kernel", async () => {
    const n = new Net(new Rng(10));
    n.output(n.op("MaxPool", ["x"], { kernel_shape: [3, 3], strides: [1, 1] }));
    const r = await run("maxpool c1", n, [1, 1, 16, 18], EXACT, 10);
    expect(steps(r.summaries.fused)).toEqual(["maxpool 3x3 nchw"]);
    expect(r.summaries.fused).toContain("copies: 0 (0 transposes), moving 0.0 KiB a run");
  });
});

describe("a flattened NHWC activation feeds a GEMM as it lies: the weights' K axis is permuted at load", () => {
  // Tolerance: a 3x3 convolution (K = 36) then a GEMM over its 200 outputs, the GEMM's K in
  // another order than onnxruntime's: STACK of test/onnx-models.test.ts.
  const STACK: Tol = { atol: 1e-5, rtol: 1e-5 };
  for (const [name, head] of [
    ["Flatten -> Gemm", (n: Net, t: string) => n.gemm(n.op("Flatten", [t], { axis: 1 }), 200, 7)],
    ["Flatten -> Gemm, B not transposed", (n: Net, t: string) => n.op("Gemm", [n.op("Flatten", [t], { axis: 1 }), n.random([200, 7]), n.random([7])])],
    ["Reshape -> MatMul", (n: Net, t: string) => n.op("MatMul", [n.op("Reshape", [t, n.int64([2], [2, 200])]), n.random([200, 5])])],
  ] as const) {
    it(name, async () => {
      const n = new Net(new Rng(14));
      n.output(head(n, n.op("Relu", [n.conv("x", 4, 8, 3, { pads: [1, 1, 1, 1] })])));
      const r = await run(name, n, [2, 4, 5, 5], STACK, 14);
      // The input's conversion is the only copy left.
      for (const s of [r.summaries.fused, r.summaries.unfused]) {
        expect(steps(s).filter((x) => x.startsWith("transpose") || x === "copy")).toEqual(["transpose NCHW->NHWC"]);
      }
    });
  }

  it("a flatten that is not one image per row keeps its transpose", async () => {
    const n = new Net(new Rng(15));
    const t = n.op("Reshape", [n.conv("x", 4, 8, 3, { pads: [1, 1, 1, 1] }), n.int64([2], [8, 25])]);
    n.output(n.op("MatMul", [t, n.random([25, 3])]));
    const r = await run("per channel", n, [1, 4, 5, 5], STACK, 15);
    expect(steps(r.summaries.fused)).toContain("transpose NHWC->NCHW");
  });
});
