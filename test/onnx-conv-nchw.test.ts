// A convolution of one input channel whose output is seen only as NCHW (a graph output, directly
// or through activations) stores NCHW planes (conv2d_f32_ci1_4x8_nchw): no layout copy at all in
// a one-op 1 -> C model; so does a 1x1 convolution of an NCHW input (src/ops/pointwise.ts), and
// a depthwise 3x3 convolution of an NCHW input at stride 1 or 2 (src/ops/dwconv_planes.ts), also
// when a 1x1 convolution on the planes reads it.
// Results against onnxruntime-web, both builds bit-identical (test/networks.ts). Tolerance
// ONE_LAYER = 1e-6 + 1e-6 |ref|: one convolution of at most 25 O(1) terms, whose float32 rounding
// (~K u |terms|) stays well below it, while one wrong or misplaced product is O(0.1). POINTWISE =
// 1e-5 + 1e-5 |ref| for 1x1 convolutions of up to 24 input channels: each runtime's sum is within
// K u |terms| of the exact one, so they differ by at most 2 * 25 * 6e-8 * |terms| (He weights and
// inputs in [-1, 1) keep |terms| below 3), 9e-6. DEPTHWISE = POINTWISE for windows of up to 3x3:
// at most 10 terms (the bias and 9 taps, He weights below sqrt(6/9)), |terms| <= 7.5, so the two
// sums differ by at most 2 * 10 * 6e-8 * 7.5 = 9e-6. TWO_LAYERS = 2e-4 + 2e-4 |ref| for a
// depthwise 3x3 then a 1x1 over 8 channels: the first layer's outputs (below 7.5) differ by at
// most 9e-6, which the 1x1's weights (below sqrt(6/8)) carry to 8 * 0.87 * 9e-6 = 6.3e-5, and
// the 1x1's own sums (|terms| <= 8 * 0.87 * 7.5 = 52) add at most 2 * 9 * 6e-8 * 52 = 5.6e-5.
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { type BackendName, engines } from "./grid.js";
import { Net, type Tol, checkCase, feed, steps } from "./networks.js";
import { Rng } from "./reference.js";

const ONE_LAYER: Tol = { atol: 1e-6, rtol: 1e-6 };
const POINTWISE: Tol = { atol: 1e-5, rtol: 1e-5 };
const DEPTHWISE: Tol = POINTWISE;
const TWO_LAYERS: Tol = { atol: 2e-4, rtol: 2e-4 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

async function run(name: string, n: Net, dims: number[], seed: number, tol = ONE_LAYER) {
  const bytes = n.model({ inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y" }] });
  const r = await checkCase(E, { name, bytes, feeds: [{ x: feed(new Rng(seed), dims) }], tol });
  expect(r.problems, name).toEqual([]);
  return r;
}

describe("a single-channel convolution seen only as NCHW stores NCHW: no layout copy", () => {
  for (const [cout, k, attrs, dims] of [
    [16, 3, { pads: [1, 1, 1, 1] }, [1, 1, 37, 42]],
    [13, 5, { strides: [2, 2], pads: [2, 1, 0, 2] }, [2, 1, 19, 23]],
    [5, 3, { strides: [1, 3], dilations: [2, 1] }, [1, 1, 11, 30]],
  ] as const) {
    it(`1->${cout} ${k}x${k} ${JSON.stringify(attrs)} on [${dims}]`, async () => {
      const n = new Net(new Rng(cout));
      n.output(n.conv("x", 1, cout, k, attrs));
      const r = await run(`conv 1->${cout}`, n, [...dims], cout);
      expect(steps(r.summaries.fused)).toEqual([`conv ${k}x${k} 1->${cout} nchw`]);
      expect(steps(r.summaries.unfused)).toEqual([`conv ${k}x${k} 1->${cout} nchw`]);
      expect(r.summaries.fused).toContain("copies: 0 (0 transposes), moving 0.0 KiB a run");
    });
  }

  it("through activations: fused into the store, or a unary step without fusions", async () => {
    const n = new Net(new Rng(21));
    n.output(n.op("Sigmoid", [n.op("Relu", [n.conv("x", 1, 16, 3, { pads: [1, 1, 1, 1] })])]));
    const r = await run("conv relu sigmoid", n, [1, 1, 20, 21], 21);
    expect(steps(r.summaries.fused)).toEqual(["conv 3x3 1->16 +relu nchw", "unary"]);
    expect(steps(r.summaries.unfused)).toEqual(["conv 3x3 1->16 nchw", "unary", "unary"]);
    expect(r.summaries.fused).toContain("copies: 0 (0 transposes)");
  });

  it("through Identity and Dropout, as exporters end graphs", async () => {
    const n = new Net(new Rng(24));
    n.output(n.op("Identity", [n.op("Dropout", [n.op("Relu", [n.conv("x", 1, 16, 3, { pads: [1, 1, 1, 1] })])])]));
    const r = await run("conv relu dropout identity", n, [1, 1, 17, 19], 24);
    expect(steps(r.summaries.fused)).toEqual(["conv 3x3 1->16 +relu nchw"]);
    expect(r.summaries.fused).toContain("copies: 0 (0 transposes)");
  });

  it("a convolution after it keeps the first one NHWC", async () => {
    const n = new Net(new Rng(22));
    n.output(n.conv(n.conv("x", 1, 8, 3, { pads: [1, 1, 1, 1] }), 8, 4, 1));
    const r = await run("conv conv", n, [1, 1, 12, 14], 22);
    expect(steps(r.summaries.fused)).toEqual(["conv 3x3 1->8", "conv 1x1 8->4", "transpose NHWC->NCHW"]);
  });

  it("an output also read by a convolution stays NHWC", async () => {
    const n = new Net(new Rng(23));
    const c = n.conv("x", 1, 8, 3, { pads: [1, 1, 1, 1] });
    n.output(n.conv(c, 8, 4, 1), "y");
    n.output(c, "z");
    const bytes = n.model({ inputs: [{ name: "x", shape: [1, 1, 9, 10] }], outputs: [{ name: "y" }, { name: "z" }] });
    const r = await checkCase(E, { name: "shared", bytes, feeds: [{ x: feed(new Rng(23), [1, 1, 9, 10]) }], tol: ONE_LAYER });
    expect(r.problems).toEqual([]);
    expect(steps(r.summaries.fused)[0]).toBe("conv 3x3 1->8");
  });
});

describe("a 1x1 convolution of an NCHW input seen only as NCHW is one GEMM on the planes: no layout copy", () => {
  for (const [cin, cout, dims] of [
    [13, 21, [1, 13, 9, 11]],
    [24, 8, [2, 24, 7, 5]],
    [2, 3, [1, 2, 1, 1]],
  ] as const) {
    it(`${cin}->${cout} on [${dims}]`, async () => {
      const n = new Net(new Rng(cin * cout));
      n.output(n.op("Relu", [n.conv("x", cin, cout, 1)]));
      const r = await run(`pointwise ${cin}->${cout}`, n, [...dims], cin, POINTWISE);
      expect(steps(r.summaries.fused)).toEqual([`conv 1x1 ${cin}->${cout} +relu nchw`]);
      expect(steps(r.summaries.unfused)).toEqual([`conv 1x1 ${cin}->${cout} nchw`, "unary"]);
      expect(r.summaries.fused).toContain("copies: 0 (0 transposes), moving 0.0 KiB a run");
    });
  }

  it("followed by Sigmoid and Identity: fused, or a second step on the planes without fusions", async () => {
    const n = new Net(new Rng(31));
    n.output(n.op("Identity", [n.op("Sigmoid", [n.conv("x", 16, 12, 1)])]));
    const r = await run("pointwise sigmoid", n, [1, 16, 6, 13], 31, POINTWISE);
    expect(steps(r.summaries.fused)).toEqual(["conv 1x1 16->12 +sigmoid nchw"]);
    expect(steps(r.summaries.unfused)).toEqual(["conv 1x1 16->12 nchw", "unary"]);
    expect(r.summaries.unfused).toContain("copies: 0 (0 transposes)");
  });

  it("strided, or read by a convolution, it stays NHWC", async () => {
    const strided = new Net(new Rng(32));
    strided.output(strided.conv("x", 6, 5, 1, { strides: [2, 2] }));
    const a = await run("pointwise strided", strided, [1, 6, 9, 8], 32, POINTWISE);
    expect(steps(a.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 1x1 6->5", "transpose NHWC->NCHW"]);
    const chained = new Net(new Rng(33));
    chained.output(chained.conv(chained.conv("x", 6, 5, 1), 5, 4, 3, { pads: [1, 1, 1, 1] }));
    const b = await run("pointwise then conv", chained, [1, 6, 9, 8], 33, POINTWISE);
    expect(steps(b.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 1x1 6->5", "conv 3x3 5->4", "transpose NHWC->NCHW"]);
  });
});

describe("a depthwise 3x3 convolution of an NCHW input at stride 1 or 2 runs on the planes: no layout copy", () => {
  for (const [c, k, attrs, dims] of [
    [13, 3, { pads: [1, 1, 1, 1] }, [1, 13, 17, 22]],
    [6, 3, { pads: [2, 0, 1, 3] }, [2, 6, 9, 11]],
    [4, 3, {}, [1, 4, 5, 3]],
    [32, 3, { pads: [1, 1, 1, 1], strides: [2, 1] }, [1, 32, 12, 28]],
    [16, 3, { pads: [0, 0, 1, 1], strides: [2, 2] }, [1, 16, 24, 31]],
    [5, 3, { pads: [1, 1, 1, 1], strides: [1, 2] }, [2, 5, 7, 9]],
  ] as const) {
    it(`${c} channels ${JSON.stringify(k)} ${JSON.stringify(attrs)} on [${dims}]`, async () => {
      const n = new Net(new Rng(c * 7));
      n.output(n.op("Relu", [n.conv("x", c, c, k, { ...attrs, group: c })]));
      const r = await run(`depthwise ${c}`, n, [...dims], c, DEPTHWISE);
      expect(steps(r.summaries.fused)).toEqual([`conv 3x3 ${c}->${c} g${c} +relu nchw`]);
      expect(steps(r.summaries.unfused)).toEqual([`conv 3x3 ${c}->${c} g${c} nchw`, "unary"]);
      expect(r.summaries.fused).toContain("copies: 0 (0 transposes), moving 0.0 KiB a run");
    });
  }

  it("read by a 1x1 convolution on the planes: both steps on the planes", async () => {
    const n = new Net(new Rng(41));
    n.output(n.conv(n.op("Relu", [n.conv("x", 8, 8, 3, { pads: [1, 1, 1, 1], group: 8 })]), 8, 12, 1));
    const r = await run("depthwise then pointwise", n, [1, 8, 19, 23], 41, TWO_LAYERS);
    expect(steps(r.summaries.fused)).toEqual(["conv 3x3 8->8 g8 +relu nchw", "conv 1x1 8->12 nchw"]);
    expect(r.summaries.fused).toContain("copies: 0 (0 transposes)");
  });

  it("at stride 3, dilated, another window, or read by another convolution, it stays NHWC", async () => {
    const strided = new Net(new Rng(42));
    strided.output(strided.conv("x", 8, 8, 3, { pads: [1, 1, 1, 1], strides: [3, 3], group: 8 }));
    const a = await run("depthwise strided", strided, [1, 8, 13, 16], 42, DEPTHWISE);
    expect(steps(a.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->8 g8", "transpose NHWC->NCHW"]);
    const wide = new Net(new Rng(45));
    wide.output(wide.conv("x", 8, 8, [3, 2], { group: 8 }));
    const w = await run("depthwise 3x2", wide, [1, 8, 9, 11], 45, DEPTHWISE);
    expect(steps(w.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x2 8->8 g8", "transpose NHWC->NCHW"]);
    const dilated = new Net(new Rng(43));
    dilated.output(dilated.conv("x", 8, 8, 3, { pads: [2, 2, 2, 2], dilations: [2, 2], group: 8 }));
    const b = await run("depthwise dilated", dilated, [1, 8, 13, 16], 43, DEPTHWISE);
    expect(steps(b.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->8 g8", "transpose NHWC->NCHW"]);
    const chained = new Net(new Rng(44));
    chained.output(chained.conv(chained.conv("x", 8, 8, 3, { pads: [1, 1, 1, 1], group: 8 }), 8, 4, 3, { pads: [1, 1, 1, 1] }));
    const d = await run("depthwise then conv", chained, [1, 8, 9, 10], 44, TWO_LAYERS);
    expect(steps(d.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->8 g8", "conv 3x3 8->4", "transpose NHWC->NCHW"]);
  });
});
