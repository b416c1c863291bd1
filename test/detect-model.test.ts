// A detector exported by PyTorch (test/fixtures/detect, made by make.py there) whose graph ends in
// TopK, Gather with computed indices, Greater/Where, NonMaxSuppression and Cast, run in both builds
// (fused and not) against onnxruntime-web on several random images. Selected indices and labels
// must be exact; boxes and scores come through convolutions, Softmax and Exp, computed in another
// order than onnxruntime's: |err| <= 1e-5 + 1e-4 |ort|, as for the other convolution networks.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { engines, type BackendName } from "./grid.js";
import { checkCase, feed, ortOutputs, type OrtCase } from "./networks.js";
import { Rng } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const bytes = new Uint8Array(readFileSync(new URL("./fixtures/detect/retina-tiny-opset11.onnx", import.meta.url)));

describe("a PyTorch-exported detector ending in TopK / Gather / NonMaxSuppression against onnxruntime-web", () => {
  it("gives onnxruntime's boxes, scores, labels and selected indices on random images", async () => {
    const rng = new Rng(42);
    const c: OrtCase = {
      name: "retina-tiny",
      bytes,
      feeds: Array.from({ length: 6 }, () => ({ image: feed(rng, [1, 3, 32, 32]) })),
      tol: { atol: 1e-5, rtol: 1e-4 },
    };
    const r = await checkCase(E, c);
    expect(r.problems).toEqual([]);
    // Not vacuous: the images select several boxes, and not always as many.
    const counts = await Promise.all(c.feeds.map(async (_, i) => (await ortOutputs(c, i)).selected.dims[0]));
    expect(Math.max(...counts)).toBeGreaterThan(1);
    expect(new Set(counts).size).toBeGreaterThan(1);
  });

  it("returns int64 outputs as Int32Array and sizes data-dependent outputs per run", async () => {
    const model = await E.simd.loadOnnx(bytes);
    const rng = new Rng(43);
    const out = model.run({ image: feed(rng, [1, 3, 32, 32]).data });
    expect(out.selected).toBeInstanceOf(Int32Array);
    const k = out.selected.length / 3;
    expect(model.outputShapes.selected).toEqual([k, 3]);
    expect(model.outputShapes.boxes).toEqual([k, 4]);
    expect(out.scores).toHaveLength(k);
    model.dispose();
  });
});
