// A convolution of one input channel whose output is seen only as NCHW (a graph output, directly
// or through activations) stores NCHW planes (conv2d_f32_ci1_4x8_nchw): no layout copy at all in
// a one-op 1 -> C model. Results against onnxruntime-web, both builds bit-identical
// (test/networks.ts). Tolerance ONE_LAYER = 1e-6 + 1e-6 |ref|: one convolution of at most 25
// O(1) terms, whose float32 rounding (~K u |terms|) stays well below it, while one wrong or
// misplaced product is O(0.1).
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { type BackendName, engines } from "./grid.js";
import { Net, type Tol, checkCase, feed, steps } from "./networks.js";
import { Rng } from "./reference.js";

const ONE_LAYER: Tol = { atol: 1e-6, rtol: 1e-6 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

async function run(name: string, n: Net, dims: number[], seed: number) {
  const bytes = n.model({ inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y" }] });
  const r = await checkCase(E, { name, bytes, feeds: [{ x: feed(new Rng(seed), dims) }], tol: ONE_LAYER });
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
