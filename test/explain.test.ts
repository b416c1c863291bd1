// Explanations (src/explain): the score explained, the peak and box logic, the baselines, and the
// pointing game on a detector whose probability is saturated, where the deciding evidence is
// known by construction (examples/phantom/saturated.mjs).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, init, layers } from "../src/index.js";
import { BASELINES, baselineImage, gaussianBlur } from "../src/explain/baseline.js";
import { type Method, explain } from "../src/explain/explain.js";
import { type InputGeometry } from "../src/explain/geometry.js";
import { BOX_THRESHOLD, hotRegion } from "../src/explain/region.js";
import { explainedScore, scoreOf } from "../src/explain/score.js";
import { SIZE, saturatedDetector, saturatedImage } from "../examples/phantom/saturated.mjs";
import { Net } from "./networks.js";
import { Rng } from "./reference.js";

let engine: Engine;
beforeAll(async () => {
  engine = await init({ backend: "simd" });
});
afterAll(() => engine.dispose());

describe("the saturated detector: the peak and the box land on the strong feature", () => {
  const placements: [number, number][][] = [
    [[3, 4], [20, 22]],
    [[22, 20], [4, 3]],
    [[5, 24], [24, 5]],
    [[14, 13], [26, 2]],
  ];

  it("is built as documented: probability exactly 1, and only hiding the strong square lowers the logit", async () => {
    const model = saturatedDetector(engine, layers);
    const input = model.inputs[0].name;
    const target = explainedScore(model, "logits");
    expect(target.kind).toBe("logit");
    for (const [strong, weak] of placements) {
      const img = saturatedImage(strong, weak);
      const logit = (im: Float32Array) => model.run({ [input]: im }, { outputs: [target.tensor] })[target.tensor][0];
      expect(model.run({ [input]: img })[model.outputs[0].name][0]).toBe(1);
      const hide = ([x0, y0]: number[]) => {
        const im = img.slice();
        for (let y = y0; y < y0 + 5; y++) for (let x = x0; x < x0 + 5; x++) im[y * SIZE + x] = 0.1;
        return im;
      };
      // By construction: 2 x 25 - 5, 2 x 12.5 - 5 (every value is exact in float32).
      expect(logit(img)).toBe(45);
      expect(logit(hide(weak))).toBe(45);
      expect(logit(hide(strong))).toBe(20);
      expect(model.run({ [input]: hide(strong) })[model.outputs[0].name][0]).toBe(1);
    }
    model.dispose();
  });

  for (const method of ["occlusion", "scorecam"] as Method[]) {
    it(`${method}: the peak on the strong square, the box around it and not the weak one, with every baseline`, async () => {
      const model = saturatedDetector(engine, layers);
      const geo: InputGeometry = { name: model.inputs[0].name, layout: "NHWC", channels: 1, height: SIZE, width: SIZE };
      for (const [[strong, weak], baseline] of placements.flatMap((p) => BASELINES.map((b) => [p, b] as const))) {
        const x = explain(model, saturatedImage(strong, weak), geo, "logits", 0, { method, baseline, batch: 16 });
        const where = `${method} ${baseline} strong ${strong} weak ${weak}: peak ${JSON.stringify(x.region.peak)} box ${JSON.stringify(x.region.box)}`;
        expect(x.score, where).toBe(45);
        expect(x.region.flat, where).toBe(false);
        const { peak, box } = x.region;
        expect(peak.x >= strong[0] && peak.x < strong[0] + 5 && peak.y >= strong[1] && peak.y < strong[1] + 5, where).toBe(true);
        const holds = (px: number, py: number) => px >= box!.x && px < box!.x + box!.width && py >= box!.y && py < box!.y + box!.height;
        expect(holds(strong[0] + 2, strong[1] + 2), where).toBe(true);
        expect(holds(weak[0] + 2, weak[1] + 2), where).toBe(false);
      }
      model.dispose();
    });
  }
});

describe("the heat maps against float64 references computed here by hand", () => {
  // The saturated detector in float64: map 0 = relu(5 x 5 window sum, zero padded), map 1 =
  // relu(5 - the same sum), logit = 2 max(map 0) - 5. Its float32 run differs by rounding only
  // (sums of 25 values of at most 1, exact or within 1e-6 relative), so 1e-4 of the largest heat
  // is a bound far above rounding and far below any error of logic (a wrong mask, weight or
  // patch changes the heat by whole units).
  const strong: [number, number] = [6, 20];
  const weak: [number, number] = [21, 5];
  const img = saturatedImage(strong, weak);
  const windowSum = (im: ArrayLike<number>, x: number, y: number) => {
    let s = 0;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
      const xx = x + dx;
      const yy = y + dy;
      if (xx >= 0 && yy >= 0 && xx < SIZE && yy < SIZE) s += im[yy * SIZE + xx];
    }
    return s;
  };
  const maps = (im: ArrayLike<number>) => {
    const a = [new Float64Array(SIZE * SIZE), new Float64Array(SIZE * SIZE)];
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) {
      const s = windowSum(im, x, y);
      a[0][y * SIZE + x] = Math.max(0, s);
      a[1][y * SIZE + x] = Math.max(0, 5 - s);
    }
    return a;
  };
  const logit = (im: ArrayLike<number>) => 2 * Math.max(...maps(im)[0]) - 5;
  let mean = 0;
  for (const v of img) mean += v / img.length;
  const close = (got: Float32Array, ref: Float64Array) => {
    const scale = Math.max(...ref.map(Math.abs));
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
    expect(scale).toBeGreaterThan(1);
    expect(worst).toBeLessThanOrEqual(1e-4 * scale);
  };

  it("Score-CAM: the masks' score gains over the mean baseline, summed with the masks", () => {
    const model = saturatedDetector(engine, layers);
    const geo: InputGeometry = { name: model.inputs[0].name, layout: "NHWC", channels: 1, height: SIZE, width: SIZE };
    const x = explain(model, img, geo, "logits", 0, { method: "scorecam", baseline: "mean", batch: 4 });
    const ref = new Float64Array(SIZE * SIZE);
    const base = logit(new Float64Array(SIZE * SIZE).fill(mean));
    for (const a of maps(img)) {
      const lo = Math.min(...a);
      const hi = Math.max(...a);
      const m = a.map((v) => (v - lo) / (hi - lo));
      const gain = logit(m.map((mi, i) => mean + mi * (img[i] - mean))) - base;
      for (let i = 0; i < ref.length; i++) ref[i] += gain * m[i];
    }
    close(x.heat, ref);
    model.dispose();
  });

  it("occlusion: per patch size the mean drop over the covering patches, averaged over sizes 4 and 8 (strides 2 and 4)", () => {
    const model = saturatedDetector(engine, layers);
    const geo: InputGeometry = { name: model.inputs[0].name, layout: "NHWC", channels: 1, height: SIZE, width: SIZE };
    const x = explain(model, img, geo, "logits", 0, { method: "occlusion", baseline: "mean", batch: 8 });
    const score = logit(img);
    const ref = new Float64Array(SIZE * SIZE);
    for (const [patch, stride] of [[4, 2], [8, 4]]) {
      const sum = new Float64Array(SIZE * SIZE);
      const count = new Float64Array(SIZE * SIZE);
      // Origins every stride from 0 while a patch fits, the last one flush with the far edge.
      const origins: number[] = [];
      for (let o = 0; o + patch <= SIZE; o += stride) origins.push(o);
      if (origins.at(-1)! + patch < SIZE) origins.push(SIZE - patch);
      for (const y0 of origins) for (const x0 of origins) {
        const im = Float64Array.from(img);
        for (let y = y0; y < y0 + patch; y++) for (let xx = x0; xx < x0 + patch; xx++) im[y * SIZE + xx] = mean;
        const drop = score - logit(im);
        for (let y = y0; y < y0 + patch; y++) for (let xx = x0; xx < x0 + patch; xx++) {
          sum[y * SIZE + xx] += drop;
          count[y * SIZE + xx]++;
        }
      }
      for (let i = 0; i < ref.length; i++) ref[i] += sum[i] / count[i] / 2;
    }
    close(x.heat, ref);
    model.dispose();
  });
});

describe("hotRegion: peak, threshold, connected component, flat maps", () => {
  const map = (w: number, h: number, f: (x: number, y: number) => number) => Float32Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w)));

  it("boxes the 4-connected pixels at or above half the peak around it, not another blob or a diagonal neighbour", () => {
    // A 3 x 2 plateau at (2..4, 1..2) peaking at (3, 1); (5, 3) touches it only diagonally; a
    // second blob at (8, 6) is hotter than half but not connected.
    const heat = map(10, 8, (x, y) => {
      if (x === 3 && y === 1) return 10;
      if (x >= 2 && x <= 4 && y >= 1 && y <= 2) return 5;
      if (x === 5 && y === 3) return 9;
      if (x === 8 && y === 6) return 9.5;
      if (x === 1 && y === 1) return 4.999;
      return 0;
    });
    const r = hotRegion(heat, 10, 8, 1e-4);
    expect(BOX_THRESHOLD).toBe(0.5);
    expect(r.peak).toEqual({ x: 3, y: 1, value: 10 });
    expect(r.flat).toBe(false);
    expect(r.box).toEqual({ x: 2, y: 1, width: 3, height: 2 });
  });

  it("the first of equal maxima is the peak", () => {
    const r = hotRegion(map(4, 4, (x, y) => (y === 2 && (x === 1 || x === 3) ? 1 : 0)), 4, 4, 1e-4);
    expect(r.peak).toEqual({ x: 1, y: 2, value: 1 });
    expect(r.box).toEqual({ x: 1, y: 2, width: 1, height: 1 });
  });

  it("flat maps have no box: all zero, all the same, a peak within the resolution, or no rise at all", () => {
    for (const [heat, what] of [
      [map(6, 5, () => 0), "zero"],
      [map(6, 5, () => 3), "uniform"],
      [map(6, 5, (x, y) => (x === 2 && y === 2 ? 5e-5 : 0)), "below the resolution"],
      [map(6, 5, (x) => -1 - x), "only rises of the score"],
    ] as const) {
      const r = hotRegion(heat, 6, 5, 1e-4);
      expect(r.flat, what).toBe(true);
      expect(r.box, what).toBeNull();
    }
  });
});

describe("the explained score", () => {
  it("log-odds: z_c - log sum_{j != c} exp z_j equals log(p / (1 - p)) in float64, and keeps moving where p is 1 in float32", () => {
    const z = Float32Array.of(1.5, -0.25, 0.75);
    const t = { tensor: "z", kind: "log-odds" as const, description: "" };
    for (let c = 0; c < 3; c++) {
      const e = [...z].map(Math.exp);
      const p = e[c] / e.reduce((a, b) => a + b, 0);
      expect(scoreOf(t, z, c)).toBeCloseTo(Math.log(p / (1 - p)), 12);
    }
    const confident = Float32Array.of(30, 0, 1);
    const lessSo = Float32Array.of(25, 0, 1);
    expect(Math.fround(1 / (1 + Math.exp(-30) + Math.exp(-29)))).toBe(1);
    expect(Math.fround(1 / (1 + Math.exp(-25) + Math.exp(-24)))).toBe(1);
    expect(scoreOf(t, confident, 0) - scoreOf(t, lessSo, 0)).toBeCloseTo(5, 6);
    expect(scoreOf({ ...t, kind: "logit" }, z, 1)).toBe(z[1]);
    expect(() => scoreOf(t, z, 3)).toThrow(/holds 3 values per sample; class 3/);
  });

  it("finds the input of the final Softmax or Sigmoid through shape-only nodes, else reads the settings", async () => {
    const build = async (head: "Softmax" | "Sigmoid" | "none") => {
      const n = new Net(new Rng(1));
      let t = n.op("Flatten", [n.op("GlobalAveragePool", [n.conv("x", 1, 4, 3)])], { axis: 1 });
      const logits = n.gemm(t, 4, 3);
      t = head === "none" ? logits : n.op(head, [logits], head === "Softmax" ? { axis: 1 } : {});
      n.output(n.op("Reshape", [t, n.int64([2], [1, 3])]));
      const model = await engine.loadOnnx(n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 1, 6, 6] }], outputs: [{ name: "y", shape: [1, 3] }] }));
      return { model, logits };
    };
    for (const head of ["Softmax", "Sigmoid"] as const) {
      const { model, logits } = await build(head);
      const t = explainedScore(model, "logits");
      expect(t.tensor).toBe(logits);
      expect(t.kind).toBe(head === "Softmax" ? "log-odds" : "logit");
      // The logits are really there, unfused from the sigmoid: sigmoid(logit) is the output.
      const out = model.run({ x: new Rng(2).f32(36) }, { outputs: [logits, "y"] });
      if (head === "Sigmoid") for (let i = 0; i < 3; i++) expect(out.y[i]).toBeCloseTo(1 / (1 + Math.exp(-out[logits][i])), 6);
      model.dispose();
    }
    const { model } = await build("none");
    expect(explainedScore(model, "softmax")).toMatchObject({ tensor: "y", kind: "log-odds" });
    expect(explainedScore(model, "sigmoid")).toMatchObject({ tensor: "y", kind: "logit" });
    expect(explainedScore(model, "logits")).toMatchObject({ tensor: "y", kind: "raw" });
    model.dispose();
  });
});

describe("baselines", () => {
  const geo: InputGeometry = { name: "x", layout: "NHWC", channels: 2, height: 9, width: 7 };
  const sample = Float32Array.from({ length: 126 }, (_, i) => (i % 2 === 0 ? 0.25 : (i * 37) % 11));

  it("blur keeps a constant channel constant (the kernel renormalised at the borders) and the blurred mean close", () => {
    const b = baselineImage(sample, geo, "blur");
    for (let i = 0; i < 63; i++) expect(b[2 * i]).toBeCloseTo(0.25, 6);
    // A single bright pixel spreads symmetrically: equal values at equal distances.
    const spot = new Float64Array(81);
    spot[40] = 1;
    const g = gaussianBlur(spot, 9, 9, 1.5);
    expect(g[39]).toBeCloseTo(g[41], 12);
    expect(g[31]).toBeCloseTo(g[49], 12);
    expect(g[40]).toBeGreaterThan(g[39]);
  });

  it("mean fills each channel with its mean, zero with 0, in the sample's layout", () => {
    const m = baselineImage(sample, geo, "mean");
    let odd = 0;
    for (let i = 0; i < 63; i++) odd += sample[2 * i + 1];
    for (let i = 0; i < 63; i++) {
      expect(m[2 * i]).toBeCloseTo(0.25, 6);
      expect(m[2 * i + 1]).toBeCloseTo(odd / 63, 5);
    }
    expect(baselineImage(sample, geo, "zero").every((v) => v === 0)).toBe(true);
    expect(() => baselineImage(sample.subarray(1), geo, "mean")).toThrow(/holds 125 values, expected 126/);
  });
});
