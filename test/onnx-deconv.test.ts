// ConvTranspose models built in code, run by engine.loadOnnx (both builds, with and without the
// fusions) and by onnxruntime-web: every padding form ONNX defines (pads, auto_pad SAME_UPPER /
// SAME_LOWER / VALID, output_shape, output_padding), strides, dilations, groups, and the fusions
// (bias, a following activation, BatchNormalization folded), plus the layers API.
//
// Tolerance (TOL): |simdcnn - ORT| <= 1e-5 + 1e-4 |ORT|. Both runtimes compute each output as a
// float32 sum of at most Cin/group * kH * kW products (<= 8 * 16 = 128 here) of inputs in [-1, 1)
// and He-scaled weights, in different orders (ORT: a GEMM into columns, then col2im adds the taps;
// simdcnn: the taps of one phase in one dot product), so they differ by up to ~K * 2^-24 * sum|terms|
// ~ 1e-5 on outputs of magnitude ~1; a folded BatchNormalization rounds each weight once more.
// The absolute term covers outputs that cancel to near 0. A wrong tap, pad or phase moves outputs
// by ~0.1 or more.
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine, ModelFormatError, ShapeError, UnsupportedError, layers } from "../src/index.js";
import { type BackendName, compare, engines } from "./grid.js";
import { Net, type OrtCase, type Tol, checkCase, feed, steps } from "./networks.js";
import type { AttributeValue } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng, convTranspose2dRef, prod } from "./reference.js";

const TOL: Tol = { atol: 1e-5, rtol: 1e-4 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

/** ConvTranspose with He weights [cin, cout/group, kh, kw] and a small random bias. */
function deconv(n: Net, x: string, cin: number, cout: number, k: number | [number, number], attrs: Record<string, AttributeValue> = {}, bias = true): string {
  const [kh, kw] = typeof k === "number" ? [k, k] : k;
  const group = typeof attrs.group === "number" ? attrs.group : 1;
  const w = n.weight([cin, cout / group, kh, kw], (cin / group) * kh * kw);
  return n.op("ConvTranspose", bias ? [x, w, n.random([cout], -0.1, 0.1)] : [x, w], { kernel_shape: [kh, kw], ...attrs });
}

interface Case {
  name: string;
  x: number[];
  build: (n: Net) => string;
  /** Step names the fused graph must contain. */
  steps?: string[];
}

const CASES: Case[] = [
  { name: "2x2 stride 2 (a U-Net's up-sampling)", x: [1, 8, 5, 6], build: (n) => deconv(n, "x", 8, 4, 2, { strides: [2, 2] }), steps: ["deconv 2x2/2x2 8->4"] },
  { name: "3x3 stride 2 asymmetric pads, batch 2", x: [2, 5, 4, 5], build: (n) => deconv(n, "x", 5, 7, 3, { strides: [2, 2], pads: [1, 0, 2, 1] }) },
  { name: "3x2 strides 2x3, output_padding [1, 2], pads", x: [1, 3, 4, 3], build: (n) => deconv(n, "x", 3, 5, [3, 2], { strides: [2, 3], output_padding: [1, 2], pads: [1, 1, 0, 0] }) },
  { name: "SAME_UPPER 3x3 stride 2 (odd total padding)", x: [1, 4, 5, 4], build: (n) => deconv(n, "x", 4, 3, 3, { strides: [2, 2], auto_pad: "SAME_UPPER" }) },
  { name: "SAME_LOWER 3x3 stride 2 (odd total padding)", x: [1, 4, 5, 4], build: (n) => deconv(n, "x", 4, 3, 3, { strides: [2, 2], auto_pad: "SAME_LOWER" }) },
  { name: "SAME_UPPER 4x4 stride 2", x: [1, 3, 4, 5], build: (n) => deconv(n, "x", 3, 6, 4, { strides: [2, 2], auto_pad: "SAME_UPPER" }) },
  { name: "SAME_LOWER 4x3 strides 3x2", x: [1, 3, 3, 4], build: (n) => deconv(n, "x", 3, 2, [4, 3], { strides: [3, 2], auto_pad: "SAME_LOWER" }) },
  { name: "VALID 3x3 stride 3", x: [1, 2, 3, 4], build: (n) => deconv(n, "x", 2, 3, 3, { strides: [3, 3], auto_pad: "VALID" }) },
  { name: "output_shape below the full output (odd total)", x: [1, 3, 5, 4], build: (n) => deconv(n, "x", 3, 4, 3, { strides: [2, 2], output_shape: [10, 8] }) },
  { name: "output_shape with output_padding", x: [1, 3, 4, 4], build: (n) => deconv(n, "x", 3, 4, 3, { strides: [2, 2], output_shape: [8, 7], output_padding: [1, 1] }) },
  { name: "dilations 2x3 with pads", x: [1, 3, 5, 4], build: (n) => deconv(n, "x", 3, 4, 3, { dilations: [2, 3], pads: [2, 1, 1, 3] }) },
  { name: "dilations 2, stride 2", x: [1, 3, 4, 4], build: (n) => deconv(n, "x", 3, 4, 3, { dilations: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: "kernel 1x1 stride 3 (phases no tap reaches: bias only)", x: [1, 5, 3, 4], build: (n) => deconv(n, "x", 5, 9, 1, { strides: [3, 3] }) },
  { name: "group 2 (4->6)", x: [1, 4, 5, 5], build: (n) => deconv(n, "x", 4, 6, 3, { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: "depthwise (group = Cin = Cout = 6) 4x4 stride 2", x: [1, 6, 4, 5], build: (n) => deconv(n, "x", 6, 6, 4, { group: 6, strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: "depthwise with multiplier 2, no bias", x: [1, 3, 5, 4], build: (n) => deconv(n, "x", 3, 6, 3, { group: 3 }, false) },
  { name: "17 -> 19 channels, 3x3 stride 1 pads", x: [1, 17, 4, 3], build: (n) => deconv(n, "x", 17, 19, 3, { pads: [1, 1, 1, 1] }) },
  {
    name: "+ Relu (fused)", x: [1, 4, 4, 4], build: (n) => n.op("Relu", [deconv(n, "x", 4, 5, 2, { strides: [2, 2] })]), steps: ["deconv 2x2/2x2 4->5 +relu"],
  },
  {
    name: "+ BatchNormalization + LeakyRelu (folded, fused)", x: [1, 4, 4, 3],
    build: (n) => n.op("LeakyRelu", [n.batchNorm(deconv(n, "x", 4, 6, 3, { strides: [2, 2], group: 2 }, false), 6)], { alpha: 0.2 }),
    steps: ['deconv 3x3/2x2 4->6 g2 +{"leakyRelu":0.20000000298023224}'],
  },
  { name: "+ Sigmoid (fused)", x: [1, 3, 4, 4], build: (n) => n.op("Sigmoid", [deconv(n, "x", 3, 2, 3, { strides: [2, 2], pads: [1, 1, 0, 0] })]), steps: ["deconv 3x3/2x2 3->2 +sigmoid"] },
  {
    name: "+ Clip 0..6 (fused), after a Conv, before a Conv (NHWC throughout)", x: [1, 3, 6, 6],
    build: (n) => n.conv(n.op("Clip", [deconv(n, n.conv("x", 3, 8, 3, { pads: [1, 1, 1, 1] }), 8, 4, 2, { strides: [2, 2] }), n.constant([], [0]), n.constant([], [6])]), 4, 2, 3),
    steps: ["transpose NCHW->NHWC", "conv 3x3 3->8", "deconv 2x2/2x2 8->4 +relu6", "conv 3x3 4->2", "transpose NHWC->NCHW"],
  },
];

function ortCase(c: Case, seed: number): OrtCase {
  const rng = new Rng(5000 + seed);
  const n = new Net(rng);
  n.output(c.build(n));
  const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: c.x }], outputs: [{ name: "y" }] });
  return { name: c.name, bytes, feeds: [{ x: feed(rng, c.x) }], tol: TOL };
}

describe("ConvTranspose against onnxruntime-web", () => {
  let worst = 0;
  for (const [i, c] of CASES.entries()) {
    it(c.name, async () => {
      const r = await checkCase(E, ortCase(c, i));
      worst = Math.max(worst, r.worst);
      expect(r.problems).toEqual([]);
      if (c.steps) {
        const s = steps(r.summaries.fused);
        for (const name of c.steps) expect(s, r.summaries.fused).toContain(name);
        expect(s.filter((x) => x === "unary" || x === "binary")).toEqual([]);
      }
    });
  }
  it("the tolerance can fail: one weight moved by 1%", async () => {
    const c = ortCase(CASES[1], 1);
    const ref = (await runOrt(c.bytes, c.feeds[0])).y.data;
    const tweaked = new Net(new Rng(5001));
    tweaked.output(CASES[1].build(tweaked));
    const w = Object.values(tweaked.initializers)[0].data as Float32Array;
    w[0] *= 1.01;
    const model = await E.simd.loadOnnx(tweaked.model({ opset: 13, inputs: [{ name: "x", shape: CASES[1].x }], outputs: [{ name: "y" }] }));
    const got = model.run({ x: c.feeds[0].x.data }).y;
    model.dispose();
    expect(compare(got, ref, (k) => TOL.atol + TOL.rtol * Math.abs(ref[k]))).not.toBe("");
    console.log(`onnx-deconv: worst |simdcnn - ORT| / (1 + |ORT|) ${worst.toExponential(2)}`);
  });
});

describe("layers.conv2dTranspose", () => {
  it("matches the float64 reference with NHWC edges, 'same' and explicit padding, output padding, groups, activation", async () => {
    const rng = new Rng(77);
    for (const o of [
      { h: 5, w: 4, cin: 6, filters: 4, kernel: [3, 3] as [number, number], strides: [2, 2] as [number, number], padding: "same" as const, groups: 1, outputPadding: [0, 0] as [number, number] },
      { h: 3, w: 5, cin: 4, filters: 6, kernel: [2, 3] as [number, number], strides: [3, 2] as [number, number], padding: [1, 0, 0, 2] as [number, number, number, number], groups: 2, outputPadding: [1, 1] as [number, number] },
      { h: 4, w: 4, cin: 3, filters: 3, kernel: [1, 1] as [number, number], strides: [2, 2] as [number, number], padding: "same" as const, groups: 3, outputPadding: [0, 0] as [number, number] },
    ]) {
      const weights = rng.f32(o.cin * o.kernel[0] * o.kernel[1] * (o.filters / o.groups));
      const bias = rng.f32(o.filters);
      const input = layers.input([o.h, o.w, o.cin]);
      const y = layers
        .conv2dTranspose({ filters: o.filters, kernel: o.kernel, weights, bias, strides: o.strides, padding: o.padding, outputPadding: o.outputPadding, groups: o.groups, activation: "relu" })
        .apply(input);
      for (const b of ["simd", "scalar"] as const) {
        const model = E[b].graph({ inputs: [input], outputs: [y] });
        const x = rng.f32(2 * o.h * o.w * o.cin);
        const got = model.run({ input: x }).output;
        const p = {
          n: 2, h: o.h, w: o.w, cin: o.cin, cout: o.filters, kh: o.kernel[0], kw: o.kernel[1], strides: o.strides, dilations: [1, 1] as [number, number],
          padding: o.padding, outputPadding: o.outputPadding, groups: o.groups, activation: "relu" as const,
        };
        const ref = convTranspose2dRef(x, weights, bias, p);
        expect(y.shape).toEqual(ref.shape.slice(1));
        expect(got.length).toBe(prod(ref.shape));
        expect(compare(got, ref.value, (i) => 1e-6 * (1 + ref.mag[i]))).toBe("");
        model.dispose();
      }
    }
  });
});

describe("ConvTranspose import errors", () => {
  const model = (attrs: Record<string, AttributeValue>, o: { x?: number[]; w?: number[]; bias?: number } = {}) => {
    const n = new Net(new Rng(3));
    const x = o.x ?? [1, 4, 3, 3];
    const inputs = ["x", n.random(o.w ?? [4, 2, 3, 3])];
    if (o.bias !== undefined) inputs.push(n.random([o.bias]));
    n.output(n.op("ConvTranspose", inputs, attrs));
    return n.model({ opset: 13, inputs: [{ name: "x", shape: x }], outputs: [{ name: "y" }] });
  };
  it.each([
    ["a group that does not divide the input channels", model({ group: 3 }), ModelFormatError, /group 3/],
    ["kernel_shape unlike the weights", model({ kernel_shape: [2, 2] }), ModelFormatError, /kernel_shape/],
    ["a bias of the wrong length", model({}, { bias: 3 }), ModelFormatError, /bias must hold 2 floats/],
    ["input channels unlike the weights", model({}, { x: [1, 5, 3, 3] }), ModelFormatError, /input has 5 channels/],
    ["an unknown auto_pad", model({ auto_pad: "SAME" }), ModelFormatError, /auto_pad 'SAME'/],
    ["pads that crop the whole output", model({ pads: [3, 0, 3, 0] }), ModelFormatError, /crop the whole output/],
    ["a negative output_padding", model({ output_padding: [-1, 0] }), ModelFormatError, /output_padding/],
    ["an output_shape beyond the full output is extended at the end, no error", model({ output_shape: [9, 9], strides: [1, 1], auto_pad: "SAME_UPPER" }), null, null],
    ["1-d (3-d input)", model({}, { x: [1, 4, 3], w: [4, 2, 3] }), UnsupportedError, /only 2-d/],
  ] as const)("%s", async (_name, bytes, type, message) => {
    if (type === null) {
      // output_shape 9 against a full output of 5: the extra rows go at the end, as output padding.
      const m = await E.simd.loadOnnx(bytes);
      expect(m.outputShapes.y).toEqual([1, 2, 9, 9]);
      m.dispose();
      return;
    }
    const err = await E.simd.loadOnnx(bytes).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message!);
  });
});

describe("layers.conv2dTranspose errors", () => {
  const weights = new Float32Array(6 * 2 * 2 * 4);
  it.each([
    ["weights of the wrong size", { filters: 4, kernel: 2, weights: new Float32Array(7) }, ShapeError, /expected 96 weights/],
    ["groups that do not divide the channels", { filters: 4, kernel: 2, groups: 3, weights }, ShapeError, /groups 3 must divide/],
    ["a negative output padding", { filters: 4, kernel: 2, outputPadding: -1, weights }, ArgumentError, /outputPadding/],
    ["padding that crops everything", { filters: 4, kernel: 2, padding: [5, 0, 5, 0] as [number, number, number, number], weights }, ShapeError, /crops the whole output/],
    ["a bad padding", { filters: 4, kernel: 2, padding: [1, 1] as unknown as "same", weights }, ArgumentError, /padding must be/],
  ] as const)("%s", (_name, o, type, message) => {
    const apply = () => layers.conv2dTranspose(o).apply(layers.input([3, 3, 6]));
    expect(apply).toThrow(type);
    expect(apply).toThrow(message);
  });
});
