// The static quantizer (src/quantize/): its arithmetic checked by the properties a quantization
// must have, calibration against ranges computed here, and its QDQ output run by simdcnn (both
// builds) and by onnxruntime-web, each compared with the other and with the float model.
//
// Tolerances. simdcnn vs onnxruntime on the same QDQ model (QDQ_TOL, relative to the logits'
// spread): both compute the same quantized values; only the float sums before each QuantizeLinear
// are rounded in different orders (simdcnn accumulates exactly in i32 and scales once; onnxruntime
// fuses or dequantizes first), so a value within float32 rounding of a tie could land one step
// apart. With these seeded inputs none does (measured: 5e-8, 0 and, for the ResNet, 1.2e-7 of
// the spread; 2e-8 for the demo), so every quantized tensor is equal and the logits differ only
// by the float head's rounding; 1e-5 allows that, while one step of one activation (~1e-3) or a
// wrong scale, zero point or axis fails. Quantized vs float (FLOAT_TOL): the quantization's own
// error, a few steps of each quantized tensor compounded over the layers; measured 0.9%, 1.2% and
// 0.4% of the float logits' spread, bound 4% (a wrong parameter gives 50% or more). The demo's
// classes must agree with its labels.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { decodeModel } from "../src/onnx/decode.js";
import { encodeModel } from "../src/onnx/encode.js";
import { DataType } from "../src/onnx/model.js";
import { calibrate } from "../src/quantize/calibrate.js";
import { activationParams, quantizeWeights, roundHalfEven } from "../src/quantize/params.js";
import { compactModel } from "../src/quantize/compact.js";
import { planQuantization, writeQdq } from "../src/quantize/qdq.js";
import { quantizeModel } from "../src/quantize/quantize.js";
import { simdcnn } from "./cli-run.js";
import { type BackendName, engines } from "./grid.js";
import { Net, checkCase, ortOutputs } from "./networks.js";
import { onnxModel } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("quantization arithmetic", () => {
  it("rounds half to even", () => {
    expect([0.5, 1.5, 2.5, -1.5, -2.5, 2.4999, -0.7].map(roundHalfEven)).toEqual([0, 2, 2, -2, -2, 2, -1]);
  });

  it("activation parameters cover the range, hold 0 exactly and use the whole 8-bit range", () => {
    const rng = new Rng(181);
    for (let i = 0; i < 200; i++) {
      const type = i % 2 === 0 ? "uint8" : "int8";
      const [qmin, qmax] = type === "uint8" ? [0, 255] : [-128, 127];
      const a = rng.uniform(-5, 5) * (i % 5 === 0 ? 0 : 1);
      const b = a + rng.uniform(0, 10);
      const p = activationParams(a, b, type);
      expect(Number.isInteger(p.zeroPoint) && p.zeroPoint >= qmin && p.zeroPoint <= qmax).toBe(true);
      expect(p.scale).toBe(Math.fround(p.scale));
      const lo = Math.min(a, 0);
      const hi = Math.max(b, 0);
      // The 0.5-step slack is the zero point's rounding to an integer.
      expect((qmin - p.zeroPoint) * p.scale).toBeLessThanOrEqual(lo + p.scale / 2);
      expect((qmax - p.zeroPoint) * p.scale).toBeGreaterThanOrEqual(hi - p.scale / 2);
      expect(p.scale).toBeLessThanOrEqual(((hi - lo) / (qmax - qmin)) * (1 + 1e-6));
    }
    expect(activationParams(0, 0, "uint8")).toEqual({ scale: 1, zeroPoint: 0, type: "uint8" });
    // A ReLU's range [0, max] puts the zero point at the bottom, so saturation is the ReLU.
    expect(activationParams(0, 6, "uint8").zeroPoint).toBe(0);
    expect(activationParams(0, 6, "int8").zeroPoint).toBe(-128);
  });

  it("weights per channel: within half a step, the largest at +-127, along the given axis", () => {
    const rng = new Rng(182);
    for (const [dims, axis] of [[[5, 3, 3, 3], 0], [[7, 4], 1], [[4, 7], 0], [[3, 1, 1, 1], 0]] as [number[], number][]) {
      const w = rng.f32(prod(dims), -2, 2);
      const inner = prod(dims.slice(axis + 1));
      const ch = (i: number) => Math.floor(i / inner) % dims[axis];
      // Channel 0 is 100x smaller: one scale for the tensor would leave it two levels; per
      // channel its largest weight still reaches 127.
      w.forEach((v, i) => {
        if (ch(i) === 0) w[i] = v / 100;
      });
      const q = quantizeWeights(w, dims, axis);
      expect(q.scales.length).toBe(dims[axis]);
      const top = new Array<number>(dims[axis]).fill(0);
      w.forEach((v, i) => {
        expect(Math.abs(v - q.values[i] * q.scales[ch(i)])).toBeLessThanOrEqual(q.scales[ch(i)] / 2 + 1e-7);
        expect(Math.abs(q.values[i])).toBeLessThanOrEqual(127);
        top[ch(i)] = Math.max(top[ch(i)], Math.abs(q.values[i]));
      });
      expect(top).toEqual(new Array<number>(dims[axis]).fill(127));
    }
    expect(quantizeWeights(new Float32Array(4), [2, 2], 0)).toEqual({ values: [0, 0, 0, 0], scales: [1, 1] });
  });
});

/** x [N, 1, 4, 4] -> Conv 1x1 (weight 2, bias 1) -> y: y's range is 2 * x's range + 1. */
function affineModel(): Uint8Array {
  return onnxModel({
    inputs: [{ name: "x", shape: ["N", 1, 4, 4] }],
    outputs: [{ name: "y", shape: ["N", 1, 4, 4] }],
    nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: ["y"] }],
    initializers: { w: { dims: [1, 1, 1, 1], data: [2] }, b: { dims: [1], data: [1] } },
  });
}

describe("calibrate", () => {
  it("min-max: the extremes over every sample, whatever the batching", async () => {
    const model = await E.simd.loadOnnx(affineModel());
    const rng = new Rng(183);
    const samples = Array.from({ length: 11 }, () => rng.f32(16, -3, 3));
    const all = samples.flatMap((s) => Array.from(s));
    const [lo, hi] = [Math.min(...all), Math.max(...all)];
    for (const batch of [1, 4, 16]) {
      const r = calibrate(model, samples, ["x", "y"], { batch });
      expect(r.get("x")).toEqual({ min: lo, max: hi });
      expect(r.get("y")).toEqual({ min: Math.fround(2 * lo + 1), max: Math.fround(2 * hi + 1) });
    }
    model.dispose();
  });

  it("percentile: one outlier among 16k values no longer sets the range", async () => {
    const model = await E.simd.loadOnnx(affineModel());
    const samples = Array.from({ length: 1024 }, (_, s) => Float32Array.from({ length: 16 }, (_, i) => ((s * 16 + i) % 1000) / 1000));
    samples[7][3] = 1000;
    const minmax = calibrate(model, samples, ["x"]).get("x")!;
    expect(minmax.max).toBe(1000);
    const p = calibrate(model, samples, ["x"], { percentile: 99.99 }).get("x")!;
    // One histogram bin is 1000 / 2048 wide: the range ends within a bin of the largest inlier.
    expect(p.min).toBe(0);
    expect(p.max).toBeGreaterThanOrEqual(0.999);
    expect(p.max).toBeLessThanOrEqual(0.999 + 1000 / 2048);
    expect(() => calibrate(model, samples, ["x"], { percentile: 40 })).toThrow(/percentile/);
    expect(() => calibrate(model, [new Float32Array(16), new Float32Array(15)], ["x"])).toThrow(/sample 1 has 15 values/);
    model.dispose();
  });
});

/** A small classifier: conv + ReLU + max-pool, conv + ReLU, global max-pool, flatten, a dense head. */
function classifier(seed: number, head: "Gemm" | "MatMul"): Uint8Array {
  const n = new Net(new Rng(seed));
  let x = n.op("Relu", [n.conv("x", 3, 8, 3, { pads: [1, 1, 1, 1] })]);
  x = n.op("MaxPool", [x], { kernel_shape: [2, 2], strides: [2, 2] });
  x = n.op("Relu", [n.conv(x, 8, 16, 3, { pads: [1, 1, 1, 1] })]);
  x = n.op("Flatten", [n.op("GlobalMaxPool", [x])]);
  const y = head === "Gemm"
    ? n.op("Gemm", [x, n.weight([5, 16]), n.random([5], -0.1, 0.1)], { transB: 1 })
    : n.op("MatMul", [x, n.weight([16, 5], 16)]);
  n.output(y);
  return onnxModel({ inputs: [{ name: "x", shape: ["N", 3, 12, 12] }], outputs: [{ name: "y", shape: ["N", 5] }], nodes: n.nodes, initializers: n.initializers });
}

/** A ResNet-style net: a stem, two residual blocks (the second down-sampling), global average pool, a dense head. */
function resnet(seed: number): Uint8Array {
  const n = new Net(new Rng(seed));
  const stem = n.op("Relu", [n.conv("x", 3, 8, 3, { pads: [1, 1, 1, 1] })]);
  const block = (x: string, cin: number, cout: number, stride: number) => {
    const a = n.op("Relu", [n.conv(x, cin, cout, 3, { pads: [1, 1, 1, 1], strides: [stride, stride] })]);
    const b = n.conv(a, cout, cout, 3, { pads: [1, 1, 1, 1] });
    const skip = stride === 1 && cin === cout ? x : n.conv(x, cin, cout, 1, { strides: [stride, stride] });
    return n.op("Relu", [n.op("Add", [b, skip])]);
  };
  const x = block(block(stem, 8, 8, 1), 8, 16, 2);
  n.output(n.op("Gemm", [n.op("Flatten", [n.op("GlobalAveragePool", [x])]), n.weight([5, 16]), n.random([5], -0.1, 0.1)], { transB: 1 }));
  return onnxModel({ inputs: [{ name: "x", shape: ["N", 3, 12, 12] }], outputs: [{ name: "y", shape: ["N", 5] }], nodes: n.nodes, initializers: n.initializers });
}

const QDQ_TOL = 1e-5;
const FLOAT_TOL = 0.04;

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}
const spread = (a: Float32Array) => Math.max(...a) - Math.min(...a);

function argmaxRows(a: Float32Array, k: number): number[] {
  return Array.from({ length: a.length / k }, (_, r) => {
    const row = Array.from(a.subarray(r * k, (r + 1) * k));
    return row.indexOf(Math.max(...row));
  });
}

describe("QDQ output", () => {
  for (const [head, activations] of [["Gemm", "uint8"], ["MatMul", "int8"]] as const) {
    it(`a conv classifier with a ${head} head, ${activations} activations: simdcnn = onnxruntime, both near float`, async () => {
      const bytes = classifier(184, head);
      const float = await E.simd.loadOnnx(bytes);
      const rng = new Rng(185);
      const calib = Array.from({ length: 24 }, () => rng.f32(3 * 12 * 12));
      const { model: q } = quantizeModel(float, decodeModel(bytes), calib, { activations });
      const qbytes = encodeModel(q);

      // The graph is standard QDQ: every weight int8 behind a per-channel DequantizeLinear, the
      // ReLUs folded, no float weight left.
      const ops = q.graph.nodes.map((n) => n.opType);
      expect(ops).not.toContain("Relu");
      expect(ops.filter((o) => o === "QuantizeLinear").length).toBe(planQuantization(decodeModel(bytes)).sources.size);
      const floats = [...q.graph.initializers.values()].filter((t) => t.dataType === DataType.FLOAT && t.dims.length > 1);
      expect(floats).toEqual([]);
      expect([...q.graph.initializers.values()].filter((t) => t.dataType === DataType.INT8 && t.dims.length > 1).length).toBe(3);

      const fresh = rng.f32(6 * 3 * 12 * 12);
      const c = await checkCase(E, { name: `${head} ${activations}`, bytes: qbytes, feeds: [{ x: { data: fresh, dims: [6, 3, 12, 12] } }], tol: { atol: 0, rtol: 0 } });
      // checkCase's own tolerance is exact; the bound here is relative to the logits' spread.
      const ort = (await ortOutputs({ name: "", bytes: qbytes, feeds: [{ x: { data: fresh, dims: [6, 3, 12, 12] } }], tol: { atol: 0, rtol: 0 } }, 0)).y.data;
      const qm = await E.simd.loadOnnx(qbytes);
      const ours = qm.run({ x: fresh }).y;
      qm.dispose();
      const ref = float.run({ x: fresh }).y;
      expect(c.problems.filter((p) => p.includes("simd vs scalar"))).toEqual([]);
      expect(maxDiff(ours, ort)).toBeLessThanOrEqual(QDQ_TOL * spread(ort));
      expect(maxDiff(ours, ref)).toBeLessThanOrEqual(FLOAT_TOL * spread(ref));
      expect(maxDiff(ort, ref)).toBeLessThanOrEqual(FLOAT_TOL * spread(ref));
      // Fused into 8-bit steps, not run as float convolutions of dequantized values, and the
      // max-pool between the convs runs no fake-quantization step of its own.
      const steps = c.summaries.fused.split("\n").map((l) => l.split(/\s+/)[0]);
      // The head too, Gemm (a QDQ Gemm) as MatMul.
      expect(steps.filter((st) => st === "qconv").length).toBe(3);
      const secondConv = steps.indexOf("qconv", steps.indexOf("qconv") + 1);
      expect(steps.slice(0, secondConv).filter((st) => st === "fakeQuant")).toEqual([]);
      float.dispose();
    });
  }

  it("a ResNet-style net: pairs around Add and the average pool, ReLUs after Add folded; simdcnn near onnxruntime and float", async () => {
    const bytes = resnet(186);
    const float = await E.simd.loadOnnx(bytes);
    const rng = new Rng(187);
    const { model: q } = quantizeModel(float, decodeModel(bytes), Array.from({ length: 24 }, () => rng.f32(3 * 12 * 12)));
    const ops = q.graph.nodes.map((n) => n.opType);
    expect(ops).not.toContain("Relu");
    const quantized = new Set(q.graph.nodes.filter((n) => n.opType === "QuantizeLinear").map((n) => n.inputs[0]));
    const dequantized = new Set(q.graph.nodes.filter((n) => n.opType === "DequantizeLinear").map((n) => n.outputs[0]));
    for (const n of q.graph.nodes.filter((m) => m.opType === "Add" || m.opType === "GlobalAveragePool")) {
      expect(n.inputs.every((i) => dequantized.has(i)), `${n.opType} inputs`).toBe(true);
      expect(quantized.has(n.outputs[0]), `${n.opType} output`).toBe(true);
    }
    const qbytes = encodeModel(q);
    const fresh = rng.f32(6 * 3 * 12 * 12);
    const c = await checkCase(E, { name: "resnet", bytes: qbytes, feeds: [{ x: { data: fresh, dims: [6, 3, 12, 12] } }], tol: { atol: 0, rtol: 0 } });
    expect(c.problems.filter((p) => p.includes("simd vs scalar"))).toEqual([]);
    const ort = (await ortOutputs({ name: "", bytes: qbytes, feeds: [{ x: { data: fresh, dims: [6, 3, 12, 12] } }], tol: { atol: 0, rtol: 0 } }, 0)).y.data;
    const qm = await E.simd.loadOnnx(qbytes);
    const ours = qm.run({ x: fresh }).y;
    qm.dispose();
    const ref = float.run({ x: fresh }).y;
    expect(maxDiff(ours, ort)).toBeLessThanOrEqual(QDQ_TOL * spread(ort));
    expect(maxDiff(ours, ref)).toBeLessThanOrEqual(FLOAT_TOL * spread(ref));
    expect(c.summaries.fused).toMatch(/qconv/);
    float.dispose();
  });

  it("between quantized ops the tensors stay 8-bit, with the float path's values to the bit", async () => {
    const bytes = resnet(186);
    const float = await E.simd.loadOnnx(bytes);
    const rng = new Rng(187);
    const { model: q } = quantizeModel(float, decodeModel(bytes), Array.from({ length: 24 }, () => rng.f32(3 * 12 * 12)));
    float.dispose();
    const qbytes = encodeModel(q);
    // The same graph with every Conv and Add output also a graph output: a graph output keeps its
    // float value, so there each op writes float and its readers quantize it again (the float path).
    const open = decodeModel(qbytes);
    for (const n of open.graph.nodes.filter((m) => m.opType === "Conv" || m.opType === "Add")) open.graph.outputs.push({ name: n.outputs[0], elemType: DataType.FLOAT, shape: null });
    const fresh = rng.f32(6 * 3 * 12 * 12);
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    for (const backend of ["simd", "scalar"] as const) {
      const chained = await E[backend].loadOnnx(qbytes);
      const plain = await E[backend].loadOnnx(encodeModel(open));
      expect(bits(chained.run({ x: fresh }).y), backend).toEqual(bits(plain.run({ x: fresh }).y));
      const steps = chained.summary().split("\n").map((l) => l.split(/\s+/)[0]);
      const plainSteps = plain.summary().split("\n").map((l) => l.split(/\s+/)[0]);
      chained.dispose();
      plain.dispose();
      // The first block's Add is an integer step on the convs' 8-bit outputs, and writes the
      // second block's input 8-bit; its 1x1 shortcut and 3x3 conv share one quantization, so the
      // model input is the only float tensor quantized before the head. The second Add feeds the
      // average pool, an integer step too (QDQ GlobalAveragePool), whose output is dequantized
      // for the Flatten (a float op between QDQ pairs) and quantized again for the 8-bit Gemm.
      expect(steps.filter((st) => st === "qadd").length).toBe(2);
      expect(steps[steps.indexOf("dequantize") - 1]).toBe("global");
      expect(steps.filter((st) => st === "quantize").length).toBe(2);
      const firstFloat = steps.indexOf("dequantize");
      expect(steps.slice(0, firstFloat).filter((st) => st === "qconv").length).toBe(6);
      expect(steps.slice(0, firstFloat).filter((st) => st === "fakeQuant" || st === "binary")).toEqual([]);
      expect(plainSteps.filter((st) => st === "qadd")).toEqual([]);
    }
  });

  it("the written model is compact: short names, no node names, equal initializers once; same outputs in both runtimes", async () => {
    const bytes = resnet(188);
    const float = await E.simd.loadOnnx(bytes);
    const rng = new Rng(189);
    const plan = planQuantization(decodeModel(bytes));
    const ranges = calibrate(float, Array.from({ length: 8 }, () => rng.f32(3 * 12 * 12)), plan.ranges);
    float.dispose();
    const full = writeQdq(plan, ranges, "uint8");
    const small = compactModel(full);
    const [fullBytes, smallBytes] = [encodeModel(full), encodeModel(small)];
    expect(smallBytes.length).toBeLessThan(0.8 * fullBytes.length);
    expect(small.graph.nodes.every((n) => n.name === "")).toBe(true);
    const kept = new Set(["x", "y"]);
    const names = [...small.graph.initializers.keys(), ...small.graph.nodes.flatMap((n) => n.outputs)].filter((n) => !kept.has(n));
    expect(names.every((n) => n.length <= 2)).toBe(true);
    const contents = [...small.graph.initializers.values()].map((t) => `${t.dataType}|${t.dims}|${t.floats ? Array.from(t.floats) : t.ints}`);
    expect(new Set(contents).size).toBe(contents.length);
    const weightDq = small.graph.nodes.filter((n) => n.opType === "DequantizeLinear" && small.graph.initializers.get(n.inputs[0])?.dataType === DataType.INT8);
    expect(weightDq.length).toBe(7);
    // Weights with as many channels share one zero-point vector.
    expect(new Set(weightDq.map((n) => n.inputs[2])).size).toBeLessThan(weightDq.length);
    const fresh = rng.f32(2 * 3 * 12 * 12);
    const feeds = [{ x: { data: fresh, dims: [2, 3, 12, 12] } }];
    const ortFull = (await ortOutputs({ name: "", bytes: fullBytes, feeds, tol: { atol: 0, rtol: 0 } }, 0)).y.data;
    const ortSmall = (await ortOutputs({ name: "", bytes: smallBytes, feeds, tol: { atol: 0, rtol: 0 } }, 0)).y.data;
    expect(Array.from(ortSmall)).toEqual(Array.from(ortFull));
    const [a, b] = [await E.simd.loadOnnx(fullBytes), await E.simd.loadOnnx(smallBytes)];
    expect(Array.from(b.run({ x: fresh }).y)).toEqual(Array.from(a.run({ x: fresh }).y));
    a.dispose();
    b.dispose();
  });

  it("graph outputs keep their float values: a ReLU writing one stays, an output also read by a conv feeds it through a pair", async () => {
    const n = new Net(new Rng(190));
    n.nodes.push({ op: "Relu", inputs: [n.conv("x", 3, 6, 3, { pads: [1, 1, 1, 1] })], outputs: ["h"], name: "relu_h" });
    n.output(n.op("Relu", [n.conv("h", 6, 4, 1)]));
    const bytes = onnxModel({ inputs: [{ name: "x", shape: [1, 3, 6, 6] }], outputs: [{ name: "h", shape: [1, 6, 6, 6] }, { name: "y", shape: [1, 4, 6, 6] }], nodes: n.nodes, initializers: n.initializers });
    const float = await E.simd.loadOnnx(bytes);
    const rng = new Rng(191);
    const { model: q } = quantizeModel(float, decodeModel(bytes), Array.from({ length: 8 }, () => rng.f32(3 * 6 * 6)));
    float.dispose();
    expect(q.graph.nodes.filter((m) => m.opType === "Relu").map((m) => m.outputs[0])).toEqual(["h", "y"]);
    const qbytes = encodeModel(q);
    const x = rng.f32(3 * 6 * 6);
    const qm = await E.simd.loadOnnx(qbytes);
    const ours = qm.run({ x });
    qm.dispose();
    const ort = await runOrt(qbytes, { x: { data: x, dims: [1, 3, 6, 6] } });
    for (const name of ["h", "y"]) {
      expect(Math.min(...ours[name]), name).toBeGreaterThanOrEqual(0);
      expect(maxDiff(ours[name], ort[name].data), name).toBeLessThanOrEqual(QDQ_TOL * (1 + Math.max(...Array.from(ort[name].data))));
    }
  });

  it("folds BatchNormalization into the conv before it: the folded float model computes the same", async () => {
    const n = new Net(new Rng(188));
    const bn = n.batchNorm(n.conv("x", 3, 6, 3, { pads: [1, 1, 1, 1] }), 6);
    // A BatchNormalization whose conv output has a second reader stays.
    const shared = n.conv(n.op("Relu", [bn]), 6, 4, 1);
    n.output(n.op("Add", [n.batchNorm(shared, 4), shared]));
    const bytes = onnxModel({ inputs: [{ name: "x", shape: [2, 3, 7, 7] }], outputs: [{ name: "y", shape: [2, 4, 7, 7] }], nodes: n.nodes, initializers: n.initializers });
    const plan = planQuantization(decodeModel(bytes));
    expect(plan.model.graph.nodes.map((m) => m.opType)).toEqual(["Conv", "Relu", "Conv", "BatchNormalization", "Add"]);
    const x = new Rng(189).f32(2 * 3 * 7 * 7);
    const folded = await E.simd.loadOnnx(encodeModel(plan.model));
    const got = folded.run({ x }).y;
    folded.dispose();
    const ref = (await runOrt(bytes, { x: { data: x, dims: [2, 3, 7, 7] } })).y.data;
    // Folding rounds each weight once more (float32): a few ulps of outputs of magnitude ~1.
    expect(maxDiff(got, ref)).toBeLessThanOrEqual(1e-5 * (1 + Math.max(...Array.from(ref, Math.abs))));
  });

  it("refuses a model before opset 13, and one with nothing to quantize", () => {
    const old = decodeModel(onnxModel({ opset: 11, inputs: [{ name: "x", shape: [1, 1, 4, 4] }], outputs: [{ name: "y", shape: [1, 1, 4, 4] }], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }] }));
    expect(() => planQuantization(old)).toThrow(/opset 13 or later/);
    expect(() => planQuantization({ ...old, opsets: new Map([["", 13]]) })).toThrow(/nothing to quantize/);
  });
});

describe("the demo classifier", () => {
  const dir = new URL("../examples/phantom/", import.meta.url).pathname;

  it("phantom.int8.onnx: 4x fewer weight bytes, and on the sample slices simdcnn = onnxruntime and the labels hold", async () => {
    const q = new Uint8Array(await readFile(join(dir, "phantom.int8.onnx")));
    const decoded = decodeModel(q);
    const weightBytes = (t: { dataType: number; dims: number[] }) => prod(t.dims) * (t.dataType === DataType.FLOAT || t.dataType === DataType.INT32 ? 4 : 1);
    const floatModel = decodeModel(new Uint8Array(await readFile(join(dir, "phantom.onnx"))));
    const fBytes = [...floatModel.graph.initializers.values()].reduce((a, t) => a + weightBytes(t), 0);
    const qBytes = [...decoded.graph.initializers.values()].reduce((a, t) => a + weightBytes(t), 0);
    expect(fBytes / qBytes).toBeGreaterThan(3.5);
    // The whole file: the weights' 4x less what stays 32-bit (biases, per-channel scales) and the
    // QDQ graph itself.
    expect((await readFile(join(dir, "phantom.onnx"))).length / q.length).toBeGreaterThan(3.2);
    const { files } = JSON.parse(await readFile(join(dir, "samples", "samples.json"), "utf8")) as { files: Record<string, { index: number; label: string }> };
    const { phantomSlice } = (await import(join(dir, "generate.mjs"))) as { phantomSlice: (i: number) => { pixels: Uint16Array } };
    const names = Object.keys(files);
    const x = new Float32Array(names.length * 128 * 128);
    names.forEach((name, i) => x.set(Float32Array.from(phantomSlice(files[name].index).pixels, (v) => v / 4095), i * 128 * 128));
    const ours = (await E.simd.loadOnnx(q)).run({ slice: x }).logits;
    const ort = (await runOrt(q, { slice: { data: x, dims: [names.length, 1, 128, 128] } })).logits.data;
    expect(maxDiff(ours, ort)).toBeLessThanOrEqual(QDQ_TOL * spread(ort));
    expect(argmaxRows(ours, 2).map((c) => ["normal", "lesion"][c])).toEqual(names.map((n) => files[n].label));
  });
});

describe("simdcnn quantize", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "simdcnn-quantize-"));
    await promisify(execFile)(process.execPath, [new URL("../examples/phantom/generate.mjs", import.meta.url).pathname, "--out", join(tmp, "cal"), "--count", "6", "--format", "png"]);
  }, 60_000);
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });
  const model = new URL("../examples/phantom/phantom.onnx", import.meta.url).pathname;

  it("writes a QDQ model of the demo that both runtimes run, and says what it did", async () => {
    const out = join(tmp, "m.int8.onnx");
    const r = await simdcnn(["quantize", "--model", model, "--calibrate", join(tmp, "cal"), "--out", out, "--percentile", "99.9"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/quantized 6 Conv\/MatMul\/Gemm ops .* percentile 99.9 over 6 slices from 6 files/);
    const bytes = new Uint8Array(await readFile(out));
    const x = new Float32Array(128 * 128).fill(0.3);
    const ours = (await E.scalar.loadOnnx(bytes)).run({ slice: x }).logits;
    const ort = (await runOrt(bytes, { slice: { data: x, dims: [1, 1, 128, 128] } })).logits.data;
    expect(maxDiff(ours, ort)).toBeLessThanOrEqual(QDQ_TOL * (1 + Math.max(...Array.from(ort, Math.abs))));
  }, 120_000);

  it("refuses bad command lines (exit 2) and models it cannot quantize (exit 1)", async () => {
    const out = join(tmp, "x.onnx");
    const cases: [string[], number, RegExp][] = [
      [["--model", model, "--out", out], 2, /--calibrate is required/],
      [["--model", model, "--calibrate", join(tmp, "cal"), "--out", out, "--percentile", "40"], 2, /--percentile expects a percentage above 50/],
      [["--model", model, "--calibrate", join(tmp, "cal"), "--out", out, "--activations", "int4"], 2, /--activations expects uint8 or int8/],
      [["--model", model, "--calibrate", join(tmp, "nothing-here*.png"), "--out", out], 2, /no files match/],
      [["--model", model, "--calibrate", join(tmp, "cal"), "--out", join(tmp, "x.bin")], 2, /--out expects an \.onnx file/],
    ];
    const old = join(tmp, "old.onnx");
    await writeFile(old, onnxModel({ opset: 11, inputs: [{ name: "x", shape: [1, 1, 8, 8] }], outputs: [{ name: "y", shape: [1, 1, 8, 8] }], nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["y"] }], initializers: { w: { dims: [1, 1, 1, 1], data: [1] } } }));
    cases.push([["--model", old, "--calibrate", join(tmp, "cal"), "--out", out], 1, /UnsupportedError: .*opset 13 or later/]);
    const broken = join(tmp, "broken");
    await mkdir(broken);
    await writeFile(join(broken, "a.png"), "not a PNG");
    cases.push([["--model", model, "--calibrate", broken, "--out", out], 1, /InputFormatError: calibration slice '.*a\.png'/]);
    for (const [args, code, message] of cases) {
      const r = await simdcnn(["quantize", ...args]);
      expect([r.code, r.stderr], args.join(" ")).toEqual([code, expect.stringMatching(message)]);
    }
    const help = await simdcnn(["help", "quantize"]);
    expect([help.code, help.stdout]).toEqual([0, expect.stringMatching(/^usage: simdcnn quantize --model m\.onnx --calibrate PATH --out m\.int8\.onnx/)]);
  }, 120_000);
});
