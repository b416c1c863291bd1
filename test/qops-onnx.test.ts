// Quantized depthwise convolutions, pools and Gemm imported from ONNX (QLinearConv, ConvInteger
// and QDQ Conv with group = channels; QDQ MaxPool/GlobalMaxPool/AveragePool/GlobalAveragePool,
// com.microsoft QLinearAveragePool/QLinearGlobalAveragePool; QDQ Gemm) against onnxruntime-web on generated
// single-op models, in both builds (which must agree to the bit), checking that each runs as an
// 8-bit step and no float convolution or pool is left.
// Tolerances: outputs are DequantizeLinear'd integers, so a float difference is a whole number of
// output steps. QDQ Gemm requantizes as QDQ MatMul and the convolutions do (below). Max pools, the dynamic quantization (every step specified to the bit) and the
// average pools (onnxruntime's own arithmetic, src/ops/qpool.ts) must match exactly. A depthwise
// QLinearConv or QDQ Conv requantizes as the group-1 ones do (f32(acc) * scale + bias, then
// divided by the output scale; onnxruntime folds the bias into the i32 sum and multiplies by one
// combined scale), so an output whose real value lies within float32 error of a rounding tie may
// land one step apart: at most one step, in under 1% of the outputs.
import { beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { decodeModel } from "../src/onnx/decode.js";
import { encodeModel } from "../src/onnx/encode.js";
import { DataType } from "../src/onnx/model.js";
import { quantizeModel } from "../src/quantize/quantize.js";
import { BACKENDS, type BackendName, engines } from "./grid.js";
import { Net, feed, steps } from "./networks.js";
import { onnxModel } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);

/**
 * Runs the model on x in both builds and returns the SIMD build's output, which the scalar build's
 * must equal to the bit; checkSteps sees the SIMD model's step names, where no float convolution,
 * GEMM or pool may be left.
 */
async function runBothBuilds(bytes: Uint8Array, x: Float32Array, checkSteps: (names: string[]) => void): Promise<Float32Array> {
  const got: Float32Array[] = [];
  for (const backend of BACKENDS) {
    const model = await E[backend].loadOnnx(bytes);
    try {
      if (backend === "simd") {
        const names = steps(model.summary());
        checkSteps(names);
        expect(names.filter((st) => /^(conv|gemm|maxpool|avgpool|global)/.test(st) && !st.endsWith(" int8")), "float steps").toEqual([]);
      }
      got.push(model.run({ x }).y as Float32Array);
    } finally {
      model.dispose();
    }
  }
  expect(Array.from(got[1]), "scalar build == simd build").toEqual(Array.from(got[0]));
  return got[0];
}

interface Case {
  name: string;
  x: number[];
  build: (n: Net) => string;
  /** Output step: the most any output may differ (0: exact). */
  step: number;
  /** Step names that must appear, as a prefix each. */
  want: string[];
  microsoft?: boolean;
}

/** QuantizeLinear -> DequantizeLinear of v with one scale and zero point. */
function pair(n: Net, v: string, scale: number, zp: number, signed: boolean): string {
  const s = n.constant([], [scale]);
  const z = n.int8([], [zp], signed);
  return n.op("DequantizeLinear", [n.op("QuantizeLinear", [v, s, z]), s, z]);
}

/** A QDQ depthwise convolution over `x` (already a pair) with int8 weights per channel and an int32 bias. */
function qdqDepthwise(n: Net, x: string, c: number, k: number, sx: number, attrs: Record<string, number[] | number>): string {
  const rng = n.rng;
  const sw = Float32Array.from({ length: c }, () => rng.uniform(0.5, 1.5) * Math.sqrt(3 / (k * k)) / 127);
  const wq = n.int8([c, 1, k, k], Array.from({ length: c * k * k }, () => rng.int(-127, 127)), true);
  const w = n.op("DequantizeLinear", [wq, n.constant([c], sw), n.int8([c], new Array(c).fill(0), true)], { axis: 0 });
  const bias = `bias${n.nodes.length}`;
  n.initializers[bias] = { dims: [c], data: Array.from({ length: c }, () => rng.int(-2000, 2000)), dataType: DataType.INT32 };
  const bz = `biasz${n.nodes.length}`;
  n.initializers[bz] = { dims: [c], data: new Array(c).fill(0), dataType: DataType.INT32 };
  const b = n.op("DequantizeLinear", [bias, n.constant([c], Float32Array.from(sw, (v) => Math.fround(sx * v))), bz], { axis: 0 });
  return n.op("Conv", [x, w, b], { kernel_shape: [k, k], group: c, ...attrs });
}

/** QuantizeLinear -> QLinearConv (depthwise, int8 weights per channel, int32 bias) -> DequantizeLinear. */
function qlinearDepthwise(n: Net, c: number, k: number, attrs: Record<string, number[] | number>): string {
  const rng = n.rng;
  const sx = n.constant([], [Math.fround(2 / 255)]);
  const zx = n.int8([], [128], false);
  const xq = n.op("QuantizeLinear", ["x", sx, zx]);
  const w = n.int8([c, 1, k, k], Array.from({ length: c * k * k }, () => rng.int(-127, 127)), true);
  const sw = n.constant([c], Float32Array.from({ length: c }, () => rng.uniform(0.5, 1.5) * Math.sqrt(3 / (k * k)) / 127));
  const zw = n.int8([c], new Array(c).fill(0), true);
  const sy = n.constant([], [0.02]);
  const zy = n.int8([], [131], false);
  const bias = `qbias${n.nodes.length}`;
  n.initializers[bias] = { dims: [c], data: Array.from({ length: c }, () => rng.int(-2000, 2000)), dataType: DataType.INT32 };
  const y = n.op("QLinearConv", [xq, sx, zx, w, sw, zw, sy, zy, bias], { kernel_shape: [k, k], group: c, ...attrs });
  return n.op("DequantizeLinear", [y, sy, zy]);
}

/** DynamicQuantizeLinear -> ConvInteger (depthwise, uint8 weights with a zero point) -> Cast -> Mul by per-channel scales -> Add bias. */
function dynamicDepthwise(n: Net, c: number, k: number, attrs: Record<string, number[] | number>): string {
  const rng = n.rng;
  n.op("DynamicQuantizeLinear", ["x"], undefined, "dql", ["xq", "xs", "xz"]);
  const w = n.int8([c, 1, k, k], Array.from({ length: c * k * k }, () => rng.int(0, 255)), false);
  const wz = n.int8([], [rng.int(100, 150)], false);
  const ws = n.constant([c, 1, 1], n.rng.f32(c, 1e-3, 2e-2));
  const acc = n.op("ConvInteger", ["xq", w, "xz", wz], { kernel_shape: [k, k], group: c, ...attrs });
  const scaled = n.op("Mul", [n.op("Cast", [acc], { to: DataType.FLOAT }), n.op("Mul", ["xs", ws])]);
  return n.op("Add", [scaled, n.random([c, 1, 1])]);
}

/**
 * x [M, K] -> QDQ pair -> Gemm by DequantizeLinear'd int8 B (per output column, in either
 * orientation) and a DequantizeLinear'd int32 bias -> QDQ pair.
 */
function qdqGemm(n: Net, k: number, cols: number, transB: boolean, withBias: boolean): string {
  const rng = n.rng;
  const sx = Math.fround(2 / 255);
  const x = pair(n, "x", sx, 128, false);
  const sw = Float32Array.from({ length: cols }, () => rng.uniform(0.5, 1.5) * Math.sqrt(3 / k) / 127);
  const dims = transB ? [cols, k] : [k, cols];
  const wq = n.int8(dims, Array.from({ length: k * cols }, () => rng.int(-127, 127)), true);
  const w = n.op("DequantizeLinear", [wq, n.constant([cols], sw), n.int8([cols], new Array(cols).fill(0), true)], { axis: transB ? 0 : 1 });
  const inputs = [x, w];
  if (withBias) {
    const bias = `gbias${n.nodes.length}`;
    n.initializers[bias] = { dims: [cols], data: Array.from({ length: cols }, () => rng.int(-2000, 2000)), dataType: DataType.INT32 };
    const bz = `gbiasz${n.nodes.length}`;
    n.initializers[bz] = { dims: [cols], data: new Array(cols).fill(0), dataType: DataType.INT32 };
    inputs.push(n.op("DequantizeLinear", [bias, n.constant([cols], Float32Array.from(sw, (v) => Math.fround(sx * v))), bz], { axis: 0 }));
  }
  return pair(n, n.op("Gemm", inputs, transB ? { transB: 1 } : {}), 0.02, 131, false);
}

/** x -> QDQ pair -> pool -> QDQ pair (the pool's own output parameters). */
function qdqPool(n: Net, op: string, attrs: Record<string, number[] | number>, signed: boolean, out: [number, number]): string {
  const x = pair(n, "x", Math.fround(2 / 255), signed ? 0 : 128, signed);
  return pair(n, n.op(op, [x], attrs), out[0], out[1], signed);
}

/** com.microsoft QLinearAveragePool / QLinearGlobalAveragePool between QuantizeLinear and DequantizeLinear. */
function microsoftPool(n: Net, op: string, attrs: Record<string, number[] | number>, signed: boolean): string {
  const p = [n.constant([], [Math.fround(2 / 255)]), n.int8([], [signed ? 0 : 128], signed)];
  const xq = n.op("QuantizeLinear", ["x", ...p]);
  const c = [n.constant([], [0.0071]), n.int8([], [signed ? -8 : 120], signed)];
  const name = `${op.toLowerCase()}${n.nodes.length}`;
  n.nodes.push({ op, inputs: [xq, ...p, ...c], outputs: [`${name}_out`], name, domain: "com.microsoft", attrs });
  return n.op("DequantizeLinear", [`${name}_out`, ...c]);
}

const pads = (t: number, l: number, b: number, r: number) => [t, l, b, r];
const ONE_STEP = 0.0201;

const CASES: Case[] = [
  { name: "QLinearConv depthwise 3x3 pads, 13 channels", x: [1, 13, 9, 7], build: (n) => qlinearDepthwise(n, 13, 3, { pads: pads(1, 1, 1, 1) }), step: ONE_STEP, want: ["qconv 3x3 13->13 g13 int8"] },
  { name: "QLinearConv depthwise 3x3 stride 2, 19 channels, batch 2", x: [2, 19, 10, 9], build: (n) => qlinearDepthwise(n, 19, 3, { pads: pads(1, 1, 1, 1), strides: [2, 2] }), step: ONE_STEP, want: ["qconv 3x3 19->19 g19 int8"] },
  { name: "QLinearConv depthwise 5x5 dilated, asymmetric pads, 8 channels", x: [1, 8, 11, 12], build: (n) => qlinearDepthwise(n, 8, 5, { pads: pads(4, 3, 2, 4), dilations: [2, 2] }), step: ONE_STEP, want: ["qconv 5x5 8->8 g8 int8"] },
  { name: "ConvInteger depthwise 3x3 stride 2, 21 channels (dynamic quantization)", x: [1, 21, 9, 10], build: (n) => dynamicDepthwise(n, 21, 3, { pads: pads(1, 1, 1, 1), strides: [2, 2] }), step: 0, want: ["qconv 3x3 21->21 g21 int8 dynamic"] },
  { name: "QDQ Conv depthwise 3x3, 16 channels, int8 activations", x: [1, 16, 8, 9], build: (n) => pair(n, qdqDepthwise(n, pair(n, "x", Math.fround(2 / 255), 0, true), 16, 3, Math.fround(2 / 255), { pads: pads(1, 1, 1, 1) }), 0.02, -3, true), step: ONE_STEP, want: ["qconv 3x3 16->16 g16 int8"] },
  { name: "QDQ Gemm transB 1 with an int32 bias, 37 -> 19", x: [5, 37], build: (n) => qdqGemm(n, 37, 19, true, true), step: ONE_STEP, want: ["qconv 1x1 37->19 int8"] },
  { name: "QDQ Gemm transB 0 without bias, 64 -> 10", x: [3, 64], build: (n) => qdqGemm(n, 64, 10, false, false), step: ONE_STEP, want: ["qconv 1x1 64->10 int8"] },
  { name: "QDQ MaxPool 3x3 stride 2 pads, uint8", x: [1, 11, 9, 8], build: (n) => qdqPool(n, "MaxPool", { kernel_shape: [3, 3], strides: [2, 2], pads: pads(1, 1, 1, 0) }, false, [Math.fround(2 / 255), 128]), step: 0, want: ["maxpool 3x3 int8"] },
  { name: "QDQ MaxPool 2x3 dilated, int8, batch 2", x: [2, 17, 9, 10], build: (n) => qdqPool(n, "MaxPool", { kernel_shape: [2, 3], dilations: [2, 2], strides: [1, 2] }, true, [Math.fround(2 / 255), 0]), step: 0, want: ["maxpool 2x3 int8"] },
  // Output parameters other than the input's: the max stays integer, the output pair quantizes its dequantized value again.
  { name: "QDQ MaxPool 2x2 into other output parameters, uint8", x: [1, 9, 8, 7], build: (n) => qdqPool(n, "MaxPool", { kernel_shape: [2, 2], strides: [2, 2] }, false, [0.0113, 97]), step: 0, want: ["maxpool 2x2 int8"] },
  { name: "QDQ GlobalMaxPool, int8", x: [2, 19, 5, 7], build: (n) => qdqPool(n, "GlobalMaxPool", {}, true, [Math.fround(2 / 255), 0]), step: 0, want: ["global maxpool int8"] },
  { name: "QDQ AveragePool 3x3 stride 2 pads, count_include_pad 0, uint8", x: [1, 13, 9, 8], build: (n) => qdqPool(n, "AveragePool", { kernel_shape: [3, 3], strides: [2, 2], pads: pads(1, 1, 1, 1) }, false, [0.0061, 121]), step: 0, want: ["avgpool 3x3 int8"] },
  { name: "QDQ AveragePool 2x2 stride 2, count_include_pad 1, int8", x: [1, 18, 7, 9], build: (n) => qdqPool(n, "AveragePool", { kernel_shape: [2, 2], strides: [2, 2], pads: pads(0, 1, 1, 0), count_include_pad: 1 }, true, [0.0061, -7]), step: 0, want: ["avgpool 2x2 int8"] },
  { name: "QDQ AveragePool over the whole image (onnxruntime's global kernel), uint8", x: [1, 20, 5, 6], build: (n) => qdqPool(n, "AveragePool", { kernel_shape: [5, 6] }, false, [0.0047, 127]), step: 0, want: ["avgpool 5x6 int8"] },
  { name: "QDQ GlobalAveragePool, uint8, batch 2", x: [2, 21, 7, 6], build: (n) => qdqPool(n, "GlobalAveragePool", {}, false, [0.0047, 127]), step: 0, want: ["global avgpool int8"] },
  { name: "QDQ GlobalAveragePool, int8", x: [1, 9, 4, 5], build: (n) => qdqPool(n, "GlobalAveragePool", {}, true, [0.0039, -5]), step: 0, want: ["global avgpool int8"] },
  { name: "QLinearAveragePool (com.microsoft) 3x3 stride 2 pads, uint8", x: [1, 13, 9, 8], build: (n) => microsoftPool(n, "QLinearAveragePool", { kernel_shape: [3, 3], strides: [2, 2], pads: pads(1, 1, 1, 1) }, false), step: 0, want: ["avgpool 3x3 int8"], microsoft: true },
  { name: "QLinearAveragePool (com.microsoft) 2x2 count_include_pad 1, int8", x: [1, 10, 7, 7], build: (n) => microsoftPool(n, "QLinearAveragePool", { kernel_shape: [2, 2], pads: pads(1, 1, 0, 0), count_include_pad: 1 }, true), step: 0, want: ["avgpool 2x2 int8"], microsoft: true },
  { name: "QLinearGlobalAveragePool (com.microsoft) uint8, batch 2", x: [2, 5, 6, 7], build: (n) => microsoftPool(n, "QLinearGlobalAveragePool", {}, false), step: 0, want: ["global avgpool int8"], microsoft: true },
  { name: "QLinearGlobalAveragePool (com.microsoft) int8, 24 channels", x: [1, 24, 9, 9], build: (n) => microsoftPool(n, "QLinearGlobalAveragePool", {}, true), step: 0, want: ["global avgpool int8"], microsoft: true },
];

describe("8-bit depthwise convolutions and pools against onnxruntime-web", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_, c, i) => {
    const n = new Net(new Rng(0x9d00 + i));
    n.output(c.build(n));
    const bytes = n.model({ opset: c.microsoft ? { "": 13, "com.microsoft": 1 } : 13, inputs: [{ name: "x", shape: c.x }], outputs: [{ name: "y" }] });
    const x = feed(new Rng(0x9e00 + i), c.x);
    const ref = (await runOrt(bytes, { x })).y.data;
    const y = await runBothBuilds(bytes, x.data, (names) => {
      for (const w of c.want) expect(names.some((s) => s.startsWith(w)), `${w} in ${names.join(" | ")}`).toBe(true);
    });
    expect(y.length).toBe(prod(ref.length ? [ref.length] : [0]));
    if (c.step === 0) {
      expect(Array.from(y)).toEqual(Array.from(ref));
      return;
    }
    let off = 0;
    for (let k = 0; k < y.length; k++) {
      if (y[k] === ref[k]) continue;
      off++;
      expect(Math.abs(y[k] - ref[k]), `output ${k}`).toBeLessThanOrEqual(c.step);
    }
    expect(off / y.length, `${off} of ${y.length} outputs one step apart`).toBeLessThan(0.01);
  });

  it("refuses a grouped 8-bit convolution that is not depthwise, saying what it takes", async () => {
    const n = new Net(new Rng(3));
    const sx = n.constant([], [0.01]);
    const zx = n.int8([], [128], false);
    const w = n.int8([6, 2, 3, 3], new Array(108).fill(1), true);
    const y = n.op("QLinearConv", [n.op("QuantizeLinear", ["x", sx, zx]), sx, zx, w, n.constant([], [0.01]), n.int8([], [0], true), sx, zx], { kernel_shape: [3, 3], group: 2 });
    n.output(n.op("DequantizeLinear", [y, sx, zx]));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 4, 5, 5] }], outputs: [{ name: "y" }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/group 2 is supported only for group 1 or a depthwise convolution/);
  });
});

/**
 * A MobileNet-style classifier: a 3x3 stride-2 stem, depthwise separable blocks (depthwise 3x3 at
 * strides 1 and 2, pointwise 1x1, ReLU6 as Clip(0, 6)) over channel counts that are not multiples
 * of 8, a max pool, a global average pool and a Gemm head.
 */
function mobilenet(seed: number): Uint8Array {
  const n = new Net(new Rng(seed));
  const relu6 = (x: string) => n.op("Clip", [x, n.constant([], [0]), n.constant([], [6])]);
  let x = relu6(n.conv("x", 3, 12, 3, { pads: pads(1, 1, 1, 1), strides: [2, 2] }));
  let c = 12;
  for (const [cout, stride] of [[20, 1], [28, 2], [28, 1], [44, 2]] as const) {
    x = relu6(n.conv(x, c, c, 3, { group: c, pads: pads(1, 1, 1, 1), strides: [stride, stride] }));
    x = relu6(n.conv(x, c, cout, 1));
    if (cout === 20) x = n.op("MaxPool", [x], { kernel_shape: [2, 2], strides: [1, 1] });
    c = cout;
  }
  n.output(n.op("Gemm", [n.op("Flatten", [n.op("GlobalAveragePool", [x])]), n.weight([7, c]), n.random([7], -0.1, 0.1)], { transB: 1 }));
  return onnxModel({ inputs: [{ name: "x", shape: ["N", 3, 33, 31] }], outputs: [{ name: "y", shape: ["N", 7] }], nodes: n.nodes, initializers: n.initializers });
}

describe("a MobileNet-style network quantized by simdcnn's quantizer", () => {
  it("runs every convolution, pool and the head 8-bit, and matches onnxruntime-web running the same QDQ file", async () => {
    const bytes = mobilenet(0x9f);
    const float = await E.simd.loadOnnx(bytes);
    const rng = new Rng(0x9f1);
    const { model: q } = quantizeModel(float, decodeModel(bytes), Array.from({ length: 16 }, () => rng.f32(3 * 33 * 31)));
    float.dispose();
    // The quantizer quantizes the depthwise convolutions as the others and folds every ReLU6.
    const ops = q.graph.nodes.map((node) => node.opType);
    expect(ops).not.toContain("Clip");
    expect([...q.graph.initializers.values()].filter((t) => t.dataType === DataType.INT8 && t.dims.length > 1).length).toBe(10);
    const qbytes = encodeModel(q);
    const x = { data: rng.f32(2 * 3 * 33 * 31), dims: [2, 3, 33, 31] };
    const ref = (await runOrt(qbytes, { x })).y.data;
    const y = await runBothBuilds(qbytes, x.data, (names) => {
      expect(names.filter((st) => st.startsWith("qconv")).length, names.join(" | ")).toBe(10);
      expect(names.filter((st) => / g\d+ int8$/.test(st)).length).toBe(4);
      expect(names).toContain("maxpool 2x2 int8");
      expect(names).toContain("global avgpool int8");
    });
    // Every quantized tensor equals onnxruntime's here (an 8-bit conv could land one step apart
    // at a near-tie, see the top of this file; none does on this input); the logits are the
    // head's float output, f32(acc) * scale + bias against onnxruntime's own order of those
    // float steps: a few float32 roundings apart, as the quantizer's tests bound them (1e-5 of
    // the logits' spread). One step of any layer would move them by far more.
    const spread = Math.max(...ref) - Math.min(...ref);
    const worst = y.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0);
    expect(worst).toBeLessThanOrEqual(1e-5 * spread);
  });
});
