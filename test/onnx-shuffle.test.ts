// ShuffleNet's channel shuffle (Reshape -> Transpose (0, 2, 1, 3, 4) -> Reshape on NCHW) of an NHWC
// activation is one transpose of each pixel's channels, and channel slices of an NHWC activation
// read it directly: no layout copy in between. Results against onnxruntime-web, both builds
// bit-identical (test/networks.ts).
//
// Tolerances: the shuffle and the slices move floats exactly; the error is the one 3x3
// convolution's (K = 72 terms, as ONE_LAYER in test/onnx-layout.test.ts), doubled where two of its
// outputs are added.
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { type BackendName, engines } from "./grid.js";
import { Net, type Tol, checkCase, feed, steps } from "./networks.js";
import { Rng } from "./reference.js";

const ONE_LAYER: Tol = { atol: 1e-6, rtol: 1e-6 };
const ONE_LAYER_ADDED: Tol = { atol: 2e-6, rtol: 2e-6 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

/** torchvision's channel_shuffle as exported: view(n, g, c/g, h, w), transpose(1, 2), view(n, c, h, w). */
function shuffle(n: Net, x: string, [b, c, h, w]: number[], g: number): string {
  const split = n.op("Reshape", [x, n.int64([5], [b, g, c / g, h, w])]);
  const t = n.op("Transpose", [split], { perm: [0, 2, 1, 3, 4] });
  return n.op("Reshape", [t, n.int64([4], [b, -1, h, w])]);
}

async function run(name: string, n: Net, dims: number[], tol: Tol, seed: number) {
  const bytes = n.model({ inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y" }] });
  const r = await checkCase(E, { name, bytes, feeds: [{ x: feed(new Rng(seed), dims) }], tol });
  expect(r.problems, name).toEqual([]);
  return r;
}

describe("a channel shuffle of an NHWC activation is one transpose of its channels", () => {
  for (const [g, c, h, w] of [[2, 8, 5, 7], [3, 12, 4, 3], [4, 8, 1, 9]]) {
    it(`groups ${g}, ${c} channels, ${h}x${w}`, async () => {
      const n = new Net(new Rng(20 + g));
      const t = n.conv("x", 8, c, 3, { pads: [1, 1, 1, 1] });
      n.output(shuffle(n, t, [2, c, h, w], g));
      const r = await run(`shuffle g${g}`, n, [2, 8, h, w], ONE_LAYER, 20 + g);
      const expected = ["transpose NCHW->NHWC", `conv 3x3 8->${c}`, "transpose [0,2,1]", "transpose NHWC->NCHW"];
      expect(steps(r.summaries.fused)).toEqual(expected);
      expect(steps(r.summaries.unfused)).toEqual(expected);
    });
  }

  it("a Reshape -> Transpose -> Reshape that is no channel shuffle keeps its copies", async () => {
    const n = new Net(new Rng(30));
    const t = n.conv("x", 4, 8, 1);
    const split = n.op("Reshape", [t, n.int64([5], [1, 2, 4, 3, 5])]);
    const p = n.op("Transpose", [split], { perm: [0, 1, 3, 2, 4] });
    n.output(n.op("Reshape", [p, n.int64([4], [1, 8, 3, 5])]));
    const r = await run("not a shuffle", n, [1, 4, 3, 5], ONE_LAYER, 30);
    expect(steps(r.summaries.fused)).toContain("transpose NHWC->NCHW");
  });
});

describe("channel slices of an NHWC activation read it directly", () => {
  it("ShuffleNet's halves after a shuffle: two slices, no layout copy", async () => {
    const n = new Net(new Rng(31));
    const dims = [1, 8, 6, 5];
    const s = shuffle(n, n.conv("x", 8, 8, 3, { pads: [1, 1, 1, 1] }), dims, 2);
    const starts = (a: number) => n.int64([1], [a]);
    const lo = n.op("Slice", [s, starts(0), starts(4), starts(1)]);
    const hi = n.op("Slice", [s, starts(4), starts(8), starts(1)]);
    n.output(n.op("Add", [lo, hi]));
    const r = await run("halves", n, dims, ONE_LAYER_ADDED, 31);
    expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->8", "transpose [0,2,1]", "copy", "copy", "binary", "transpose NHWC->NCHW"]);
  });

  it("strided and negative-step slices over every axis", async () => {
    const n = new Net(new Rng(32));
    const t = n.conv("x", 3, 7, 1);
    const i = (v: number[]) => n.int64([v.length], v);
    n.output(n.op("Slice", [t, i([0, 6, 1, 7]), i([1, 0, 9, -9]), i([0, 1, 2, 3]), i([1, -2, 3, -2])]));
    await run("strided", n, [1, 3, 10, 9], ONE_LAYER, 32);
  });
});
