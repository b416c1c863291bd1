// The layers API: engine.sequential([layers.input([H, W, C]), ...]) and engine.graph({ inputs,
// outputs }) with layers.add and layers.concat, compared with an independent float64 reference
// (test/networks.ts: NHWC activations, OHWI conv weights, dense weights [in, out], flatten in
// NHWC order) within error bounds propagated layer by layer from the float32 rounding of each op
// (derived in test/networks.ts, not tuned). Fused and unfused forms, both builds (bit-identical),
// batch sizes inferred from the input's length, and the errors a caller can cause.
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine, type Model, ShapeError, SimdcnnError, layers } from "../src/index.js";
import { BACKENDS, type BackendName, compareBits, engines } from "./grid.js";
import {
  type RT, compareRt, rtAct, rtAdd, rtBatchNorm, rtConcat, rtConv, rtDense, rtFlatten, rtGlobalAvg, rtInput, rtPool, rtSoftmax, worstRatio,
} from "./networks.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const he = (rng: Rng, dims: number[], fanIn: number) => rng.f32(prod(dims), -Math.sqrt(6 / fanIn), Math.sqrt(6 / fanIn));

const worst: number[] = [];

/**
 * Runs the model in both builds (fused and unfused) on a batch of `n`, checks each output against
 * the reference within its propagated bound, and the two builds to the bit.
 */
function checkNet(makeModel: (e: Engine, optimize: boolean) => Model, ref: (x: RT) => RT, inShape: number[], n: number, seed: number): Model[] {
  const rng = new Rng(seed);
  const data = rng.f32(n * prod(inShape));
  const expected = ref(rtInput(data, [n, ...inShape]));
  const models: Model[] = [];
  for (const optimize of [true, false]) {
    const outs: Float32Array[] = [];
    for (const b of BACKENDS) {
      const model = makeModel(E[b], optimize);
      const out = model.run({ input: data }).output;
      expect(model.outputShapes.output).toEqual(expected.shape);
      expect(compareRt(out, expected, `${b} optimize=${optimize}`)).toBe("");
      worst.push(worstRatio(out, expected));
      outs.push(out);
      models.push(model);
    }
    expect(compareBits(outs[0], outs[1])).toBe("");
  }
  return models;
}

function disposeAll(ms: Model[]) {
  for (const m of ms) m.dispose();
}

describe("sequential networks against a float64 reference", () => {
  it("a CNN using every layer kind: conv, BN, pools, depthwise, leaky relu, flatten, dense, dropout, tanh, softmax", () => {
    const rng = new Rng(21);
    const c1 = { w: he(rng, [8, 3, 3, 3], 27), b: rng.f32(8, -0.1, 0.1) };
    const bn = { gamma: rng.f32(8, 0.5, 1.5), beta: rng.f32(8, -0.2, 0.2), mean: rng.f32(8, -0.2, 0.2), variance: rng.f32(8, 0.5, 2) };
    const dw = { w: he(rng, [8, 3, 3, 1], 9), b: rng.f32(8, -0.1, 0.1) };
    const c2 = { w: he(rng, [6, 1, 1, 8], 8) };
    // 12x10 -> same conv 12x10x8 -> maxpool 2 -> 6x5x8 -> dw pads [1,0,1,2] -> 6x5x8 -> 1x1 -> 6x5x6 -> avgpool 2 -> 3x2x6 = 36
    const d1 = { w: he(rng, [36, 16], 36), b: rng.f32(16, -0.1, 0.1) };
    const d2 = { w: he(rng, [16, 5], 16), b: rng.f32(5, -0.1, 0.1) };
    const make = (e: Engine, optimize: boolean) =>
      e.sequential(
        [
          layers.input([12, 10, 3]),
          layers.conv2d({ filters: 8, kernel: 3, weights: c1.w, bias: c1.b, padding: "same", activation: "relu" }),
          layers.batchNorm(bn),
          layers.maxPool2d({ kernel: 2 }),
          layers.depthwiseConv2d({ kernel: 3, weights: dw.w, bias: dw.b, padding: [1, 0, 1, 2], activation: "relu6" }),
          layers.conv2d({ filters: 6, kernel: 1, weights: c2.w }),
          layers.leakyRelu(0.1),
          layers.avgPool2d({ kernel: 2 }),
          layers.flatten(),
          layers.dense({ units: 16, weights: d1.w, bias: d1.b }),
          layers.dropout(),
          layers.tanh(),
          layers.dense({ units: 5, weights: d2.w, bias: d2.b }),
          layers.softmax(),
        ],
        { optimize },
      );
    const ref = (x: RT) => {
      let t = rtConv(x, { w: c1.w, bias: c1.b, cout: 8, kernel: [3, 3], pads: [1, 1, 1, 1], act: "relu" });
      t = rtBatchNorm(t, { ...bn, epsilon: 1e-3 });
      t = rtPool(t, true, [2, 2], [2, 2]);
      t = rtConv(t, { w: dw.w, bias: dw.b, cout: 8, kernel: [3, 3], pads: [1, 0, 1, 2], groups: 8, act: "relu6" });
      t = rtAct(rtConv(t, { w: c2.w, cout: 6, kernel: [1, 1] }), { leakyRelu: 0.1 });
      t = rtFlatten(rtPool(t, false, [2, 2], [2, 2]));
      t = rtAct(rtDense(t, d1.w, d1.b, 16), "tanh");
      return rtSoftmax(rtDense(t, d2.w, d2.b, 5));
    };
    for (const n of [1, 3]) disposeAll(checkNet(make, ref, [12, 10, 3], n, 100 + n));
  });

  it("one model, batch inferred from the Float32Array's length: 1, 4, then 2", () => {
    const rng = new Rng(22);
    const w = he(rng, [4, 3, 3, 2], 18);
    const model = E.simd.sequential([layers.input([5, 6, 2]), layers.conv2d({ filters: 4, kernel: 3, weights: w, strides: 2, activation: "sigmoid" })]);
    for (const n of [1, 4, 2]) {
      const x = rng.f32(n * 60);
      const out = model.run({ input: x }).output;
      const ref = rtConv(rtInput(x, [n, 5, 6, 2]), { w, cout: 4, kernel: [3, 3], strides: [2, 2], act: "sigmoid" });
      expect(model.outputShapes.output).toEqual([n, 2, 2, 4]);
      expect(out.length).toBe(n * 16);
      expect(compareRt(out, ref)).toBe("");
    }
    expect(() => model.run({ input: new Float32Array(61) })).toThrow(ShapeError);
    expect(() => model.run({ input: new Float32Array(0) })).toThrow(ShapeError);
    model.dispose();
  });

  it("batchNorm folded into the conv before it, or not (after a relu, on dense features), with a custom epsilon", () => {
    const rng = new Rng(23);
    const bnOf = (c: number) => ({ gamma: rng.f32(c, 0.5, 1.5), beta: rng.f32(c, -0.2, 0.2), mean: rng.f32(c, -0.2, 0.2), variance: rng.f32(c, 0.5, 2) });
    const w = he(rng, [6, 3, 3, 4], 36);
    const bn1 = bnOf(6);
    const bn2 = bnOf(6);
    const dw = he(rng, [216, 7], 216);
    const bn3 = bnOf(7);
    const make = (e: Engine, optimize: boolean) =>
      e.sequential(
        [
          layers.input([6, 6, 4]),
          layers.conv2d({ filters: 6, kernel: 3, weights: w, padding: "same" }),
          layers.batchNorm({ ...bn1, epsilon: 0.01 }),
          layers.relu(),
          layers.batchNorm(bn2),
          layers.flatten(),
          layers.dense({ units: 7, weights: dw }),
          layers.batchNorm(bn3),
          layers.sigmoid(),
        ],
        { optimize },
      );
    const ref = (x: RT) => {
      let t = rtConv(x, { w, cout: 6, kernel: [3, 3], pads: [1, 1, 1, 1] });
      t = rtBatchNorm(rtBatchNorm(t, { ...bn1, epsilon: 0.01 }, "relu"), { ...bn2, epsilon: 1e-3 });
      return rtBatchNorm(rtDense(rtFlatten(t), dw, undefined, 7), { ...bn3, epsilon: 1e-3 }, "sigmoid");
    };
    const ms = checkNet(make, ref, [6, 6, 4], 2, 7);
    const [fused, , unfused] = ms;
    // The first BN disappears into the conv when fused; the unfused form has more steps.
    expect(fused.summary()).toMatch(/conv 3x3 4->6 \+relu/);
    expect(unfused.summary()).not.toMatch(/\+relu/);
    expect(unfused.summary().split("\n").length).toBeGreaterThan(fused.summary().split("\n").length);
    disposeAll(ms);
  });

  it("globalAvgPool2d gives [C]; dense on [features] input; leakyRelu default; relu6 and clip activations", () => {
    const rng = new Rng(24);
    const w1 = he(rng, [5, 3, 3, 3], 27);
    const w2 = he(rng, [5, 4], 5);
    const make = (e: Engine, optimize: boolean) =>
      e.sequential(
        [
          layers.input([7, 9, 3]),
          layers.conv2d({ filters: 5, kernel: 3, weights: w1, dilations: 2, padding: [2, 1, 0, 3], activation: { clip: [-0.3, 0.6] } }),
          layers.globalAvgPool2d(),
          layers.leakyRelu(),
          layers.dense({ units: 4, weights: w2, activation: "relu6" }),
        ],
        { optimize },
      );
    const ref = (x: RT) => {
      const t = rtConv(x, { w: w1, cout: 5, kernel: [3, 3], dilations: [2, 2], pads: [2, 1, 0, 3], act: { clip: [-0.3, 0.6] } });
      return rtDense(rtAct(rtGlobalAvg(t), { leakyRelu: 0.2 }), w2, undefined, 4, "relu6");
    };
    const ms = checkNet(make, ref, [7, 9, 3], 3, 8);
    expect(ms[0].outputs[0].shape).toEqual(["N", 4]);
    disposeAll(ms);
  });

  it("a features-only network: input([F]) -> dense -> batchNorm -> dense -> softmax", () => {
    const rng = new Rng(25);
    const w1 = he(rng, [10, 12], 10);
    const b1 = rng.f32(12, -0.1, 0.1);
    const bn = { gamma: rng.f32(12, 0.5, 1.5), beta: rng.f32(12, -0.2, 0.2), mean: rng.f32(12, -0.2, 0.2), variance: rng.f32(12, 0.5, 2) };
    const w2 = he(rng, [12, 3], 12);
    const make = (e: Engine, optimize: boolean) =>
      e.sequential([layers.input([10]), layers.dense({ units: 12, weights: w1, bias: b1 }), layers.batchNorm(bn), layers.relu(), layers.dense({ units: 3, weights: w2 }), layers.softmax()], { optimize });
    const ref = (x: RT) => rtSoftmax(rtDense(rtBatchNorm(rtDense(x, w1, b1, 12), { ...bn, epsilon: 1e-3 }, "relu"), w2, undefined, 3));
    disposeAll(checkNet(make, ref, [10], 5, 9));
  });

  it("the bounds can fail: one weight of 36 moved by 0.1% is seen", () => {
    const rng = new Rng(26);
    const w = he(rng, [8, 3, 3, 4], 36);
    const x = rng.f32(2 * 8 * 8 * 4);
    const moved = w.slice();
    moved[5] *= 1.001;
    const conv = E.simd.sequential([layers.input([8, 8, 4]), layers.conv2d({ filters: 8, kernel: 3, weights: moved, padding: "same" })]);
    const ref = rtConv(rtInput(x, [2, 8, 8, 4]), { w, cout: 8, kernel: [3, 3], pads: [1, 1, 1, 1] });
    expect(compareRt(conv.run({ input: x }).output, ref)).not.toBe("");
    conv.dispose();
  });
});

describe("graph networks (engine.graph) against a float64 reference", () => {
  it("a residual block: conv-relu, conv, add with the block input, relu (fused into the conv's store)", () => {
    const rng = new Rng(31);
    const w0 = he(rng, [8, 3, 3, 3], 27);
    const w1 = he(rng, [8, 3, 3, 8], 72);
    const w2 = he(rng, [8, 3, 3, 8], 72);
    const b2 = rng.f32(8, -0.1, 0.1);
    const make = (e: Engine, optimize: boolean) => {
      const x = layers.input([9, 9, 3]);
      const stem = layers.conv2d({ filters: 8, kernel: 3, weights: w0, padding: "same", activation: "relu" }).apply(x);
      const a = layers.conv2d({ filters: 8, kernel: 3, weights: w1, padding: "same", activation: "relu" }).apply(stem);
      const b = layers.conv2d({ filters: 8, kernel: 3, weights: w2, bias: b2, padding: "same" }).apply(a);
      const y = layers.relu().apply(layers.add().apply([b, stem]));
      return e.graph({ inputs: [x], outputs: [y] }, { optimize });
    };
    const ref = (x: RT) => {
      const stem = rtConv(x, { w: w0, cout: 8, kernel: [3, 3], pads: [1, 1, 1, 1], act: "relu" });
      const a = rtConv(stem, { w: w1, cout: 8, kernel: [3, 3], pads: [1, 1, 1, 1], act: "relu" });
      const b = rtConv(a, { w: w2, bias: b2, cout: 8, kernel: [3, 3], pads: [1, 1, 1, 1] });
      return rtAct(rtAdd(b, stem), "relu");
    };
    const ms = checkNet(make, ref, [9, 9, 3], 2, 10);
    expect(ms[0].summary()).toMatch(/conv 3x3 8->8 \+relu \+residual/);
    expect(ms[2].summary()).not.toMatch(/\+residual/);
    disposeAll(ms);
  });

  it("an inception-like block: 1x1, 1x1 -> 3x3, 3x3 maxpool -> 1x1 branches concatenated, then globalAvgPool2d and dense", () => {
    const rng = new Rng(32);
    const wa = he(rng, [4, 1, 1, 6], 6);
    const wb1 = he(rng, [3, 1, 1, 6], 6);
    const wb2 = he(rng, [5, 3, 3, 3], 27);
    const wc = he(rng, [2, 1, 1, 6], 6);
    const wd = he(rng, [11, 4], 11);
    const make = (e: Engine, optimize: boolean) => {
      const x = layers.input([8, 7, 6]);
      const a = layers.conv2d({ filters: 4, kernel: 1, weights: wa, activation: "relu" }).apply(x);
      const b = layers.conv2d({ filters: 5, kernel: 3, weights: wb2, padding: "same", activation: "relu" }).apply(layers.conv2d({ filters: 3, kernel: 1, weights: wb1, activation: "relu" }).apply(x));
      const c = layers.conv2d({ filters: 2, kernel: 1, weights: wc }).apply(layers.maxPool2d({ kernel: 3, strides: 1, padding: "same" }).apply(x));
      const cat = layers.concat().apply([a, b, c]);
      const y = layers.dense({ units: 4, weights: wd, activation: "sigmoid" }).apply(layers.globalAvgPool2d().apply(cat));
      return e.graph({ inputs: [x], outputs: [y] }, { optimize });
    };
    const ref = (x: RT) => {
      const a = rtConv(x, { w: wa, cout: 4, kernel: [1, 1], act: "relu" });
      const b = rtConv(rtConv(x, { w: wb1, cout: 3, kernel: [1, 1], act: "relu" }), { w: wb2, cout: 5, kernel: [3, 3], pads: [1, 1, 1, 1], act: "relu" });
      const c = rtConv(rtPool(x, true, [3, 3], [1, 1], [1, 1, 1, 1]), { w: wc, cout: 2, kernel: [1, 1] });
      return rtDense(rtGlobalAvg(rtConcat([a, b, c])), wd, undefined, 4, "sigmoid");
    };
    disposeAll(checkNet(make, ref, [8, 7, 6], 3, 11));
  });

  it("two inputs and two outputs: names, shapes, and each output correct", () => {
    const rng = new Rng(33);
    const w = he(rng, [3, 3, 3, 2], 18);
    const d = he(rng, [3, 2], 3);
    const x = layers.input([5, 5, 2], "image");
    const z = layers.input([5, 5, 3], "mask");
    const conv = layers.conv2d({ filters: 3, kernel: 3, weights: w, padding: "same" }).apply(x);
    const sum = layers.add().apply([conv, z]);
    const cat = layers.concat().apply([sum, x]);
    const head = layers.dense({ units: 2, weights: d }).apply(layers.globalAvgPool2d().apply(sum));
    const model = E.simd.graph({ inputs: [x, z], outputs: [cat, head] });
    expect(model.inputs.map((i) => i.name)).toEqual(["image", "mask"]);
    expect(model.outputs.map((o) => o.name)).toEqual(["output_0", "output_1"]);
    const xd = rng.f32(2 * 50);
    const zd = rng.f32(2 * 75);
    const out = model.run({ image: xd, mask: zd });
    const rx = rtInput(xd, [2, 5, 5, 2]);
    const rs = rtAdd(rtConv(rx, { w, cout: 3, kernel: [3, 3], pads: [1, 1, 1, 1] }), rtInput(zd, [2, 5, 5, 3]));
    expect(compareRt(out.output_0, rtConcat([rs, rx]))).toBe("");
    expect(compareRt(out.output_1, rtDense(rtGlobalAvg(rs), d, undefined, 2))).toBe("");
    expect(model.outputShapes).toEqual({ output_0: [2, 5, 5, 5], output_1: [2, 2] });
    model.dispose();
  });

  it("reports how close the engine came to the propagated bounds", () => {
    const max = Math.max(...worst);
    console.log(`layers: worst |got - ref| / bound = ${max.toExponential(2)} over ${worst.length} runs`);
    expect(max).toBeLessThanOrEqual(1);
  });
});

describe("errors name the layer", () => {
  function expectError(fn: () => unknown, cls: typeof ShapeError | typeof ArgumentError, re: RegExp): void {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err, "expected an error").toBeInstanceOf(SimdcnnError);
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(re);
  }
  const x = () => layers.input([6, 6, 3]);

  it("wrong weight and bias lengths", () => {
    expectError(() => layers.conv2d({ filters: 4, kernel: 3, weights: new Float32Array(4 * 9 * 3 - 1) }).apply(x()), ShapeError, /conv2d_\d+.*expected 108 weights/);
    expectError(() => layers.conv2d({ filters: 4, kernel: 3, weights: new Float32Array(108), bias: new Float32Array(3) }).apply(x()), ShapeError, /conv2d_\d+ bias/);
    expectError(() => layers.depthwiseConv2d({ kernel: 3, weights: new Float32Array(26) }).apply(x()), ShapeError, /depthwiseConv2d_\d+/);
    const flat = layers.flatten().apply(x());
    expectError(() => layers.dense({ units: 5, weights: new Float32Array(108 * 5 + 1) }).apply(flat), ShapeError, /dense_\d+.*\[108, 5\]/);
    expectError(() => layers.batchNorm({ gamma: new Float32Array(3), beta: new Float32Array(3), mean: new Float32Array(2), variance: new Float32Array(3) }).apply(x()), ShapeError, /batchNorm_\d+ mean/);
    expectError(() => layers.conv2d({ filters: 4, kernel: 3, weights: [1, 2] as unknown as Float32Array }).apply(x()), ArgumentError, /conv2d_\d+.*Float32Array/);
  });

  it("bad shapes and options", () => {
    expectError(() => layers.input([6, 6]), ShapeError, /input/);
    expectError(() => layers.input([6, 0, 3]), ShapeError, /input/);
    expectError(() => layers.dense({ units: 2, weights: new Float32Array(6) }).apply(x()), ShapeError, /dense_\d+.*flatten/);
    expectError(() => layers.conv2d({ filters: 4, kernel: 3, weights: new Float32Array(4 * 9 * 2), groups: 2 }).apply(x()), ShapeError, /conv2d_\d+: groups 2/);
    expectError(() => layers.conv2d({ filters: 4, kernel: 7, weights: new Float32Array(4 * 49 * 3) }).apply(x()), ArgumentError, /conv2d_\d+.*window/);
    expectError(() => layers.maxPool2d({ kernel: 8 }).apply(x()), ArgumentError, /maxPool2d_\d+/);
    expectError(() => layers.conv2d({ filters: 0, kernel: 1, weights: new Float32Array(0) }).apply(x()), ArgumentError, /conv2d_\d+: filters/);
    expectError(() => layers.globalAvgPool2d().apply(layers.input([4])), ShapeError, /globalAvgPool2d_\d+/);
    expectError(() => layers.conv2d({ filters: 1, kernel: 1, weights: new Float32Array(3), activation: "swish" as never }).apply(x()), ArgumentError, /conv2d_\d+.*activation/);
    expectError(() => layers.relu().apply([x(), x()]), ArgumentError, /relu: takes one input/);
  });

  it("add of mismatched shapes, concat differing outside the channels", () => {
    expectError(() => layers.add().apply([x(), layers.input([6, 6, 4])]), ShapeError, /add_\d+: shapes \[6, 6, 3\] and \[6, 6, 4\] differ/);
    expectError(() => layers.add().apply([x()]), ArgumentError, /add: takes two or more inputs/);
    expectError(() => layers.concat().apply([x(), layers.input([6, 5, 3])]), ShapeError, /concat_\d+.*outside the channel axis/);
  });

  it("networks that do not connect", () => {
    const a = x();
    const y = layers.relu().apply(a);
    expectError(() => E.simd.graph({ inputs: [layers.input([6, 6, 3], "other")], outputs: [y] }), ArgumentError, /input 'input'/);
    expectError(() => E.simd.graph({ inputs: [y], outputs: [y] }), ArgumentError, /not a layers.input/);
    expectError(() => E.simd.sequential([a, {} as never]), ArgumentError, /sequential/);
    expectError(() => E.simd.sequential([layers.relu() as never]), ArgumentError, /sequential/);
    expectError(() => E.simd.sequential([a, layers.relu()], { fuse: true } as never), ArgumentError, /fuse/);
  });

  it("run errors: unknown or missing input names, wrong lengths", () => {
    const model = E.simd.sequential([layers.input([2, 2, 1]), layers.relu()]);
    expectError(() => model.run({ input: new Float32Array(4), extra: new Float32Array(4) }), ArgumentError, /unknown input 'extra'/);
    expectError(() => model.run({}), ArgumentError, /'input' is missing/);
    expectError(() => model.run({ input: new Float32Array(6) }), ShapeError, /multiple of 4/);
    expectError(() => model.run({ input: [1, 2, 3, 4] as never }), ArgumentError, /Float32Array/);
    model.dispose();
  });
});
