// ONNX models built in code (random He-scaled weights, fixed seeds) run by engine.loadOnnx and by
// onnxruntime-web on the same random inputs: realistic stacks (LeNet, a VGG-style stack, ResNet
// basic blocks with BatchNorm and a residual add, MobileNet depthwise-separable and inverted-
// residual blocks, a PyTorch-export-style Shape/Gather/Reshape head, symbolic batch dimensions),
// and one small model per supported operator and attribute form. Every model is loaded fused
// (the default) and unfused ({ optimize: false }); both must match ORT, and the simd and scalar
// builds must agree to the bit.
//
// Tolerances: |simdcnn - ORT| <= atol + rtol * |ORT|, per element.
//
// Neither side is exact: both compute in float32 and round differently (ORT's MLAS kernels sum
// a dot product in another order, may use FMA, and ORT keeps BatchNorm as a separate scale and
// shift where the fused simdcnn graph folds it into the weights). For one dot product of K terms
// each side is within gamma(K) * mag of the real result (mag = sum |terms|, gamma(K) ~ K u,
// u = 2^-24), so the two differ by at most ~2 K u mag, typically ~sqrt(K) u mag. The weights are
// He-scaled (variance 2 / fan-in), so every activation of every depth is O(1) and mag is a small
// multiple of it: an absolute term is meaningful at every depth.
//
//  - EXACT (atol = rtol = 0): data movement (Transpose, Slice, Gather, Concat, Pad, Reshape, ...),
//    Relu/Clip/LeakyRelu/PRelu, MaxPool, and Add/Sub/Mul/Div on inputs. Each output is one IEEE
//    float32 operation (or none) on the same float32 values, which both runtimes round identically.
//  - ONE_LAYER = 1e-6 + 1e-6 |ref|: one Conv/Gemm/MatMul/AveragePool/BatchNorm (possibly with a
//    1x1 conv before the op under test) over inputs in [-1, 1). K <= 150 and mag is a few units,
//    so 2 K u mag ~ 1e-4 is the worst case and sqrt(K) u mag ~ 1e-6 the typical one; the worst
//    seen is 2.4e-7 (printed after the run), 4x below the bound.
//  - TRANSCENDENTAL = 1e-6 + 4e-6 |ref| for Exp/Sigmoid/Tanh/Softmax: simdcnn's polynomials are
//    within ~4 ulp (test/grid.ts), ORT's within a few ulp; 4e-6 relative (~67 ulp) leaves room for
//    both while any wrong coefficient or range reduction errs by >= 1e-5. Worst seen: 1.1e-7.
//  - STACK = 1e-5 + 1e-5 |ref| for the realistic networks (up to 7 layers): each layer's error
//    passes through the next ones with a gain of about 1 (He scaling), so ~depth x ONE_LAYER; and
//    for the normalizations, which divide a conv's output (and its error) by a standard deviation
//    and sum in another order than ORT.
//    Worst seen: 2.3e-6, 4x below.
// The "tolerances can fail" test shows the bounds catch one first-layer weight moved by 0.1% in the
// VGG stack (13x the bound), by 1% in LeNet (8x; its softmax shrinks differences), and an average
// pool that counts its padding.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, SUPPORTED_ONNX_OPS } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { type BackendName, compare, engines } from "./grid.js";
import { EXACT, type Feed, Net, type OrtCase, type Tol, checkCase, feed, ortOutputs, steps } from "./networks.js";
import { f } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng, prod } from "./reference.js";

const ONE_LAYER: Tol = { atol: 1e-6, rtol: 1e-6 };
const TRANSCENDENTAL: Tol = { atol: 1e-6, rtol: 4e-6 };
const STACK: Tol = { atol: 1e-5, rtol: 1e-5 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

/** Worst err / (1 + |ref|) per tolerance class, printed at the end (calibration of the bounds above). */
const worstByTol = new Map<string, number>();
const tolName = (t: Tol) => (t === EXACT ? "EXACT" : t === ONE_LAYER ? "ONE_LAYER" : t === TRANSCENDENTAL ? "TRANSCENDENTAL" : t === STACK ? "STACK" : JSON.stringify(t));
afterAll(() => {
  console.log(`onnx-models: worst |simdcnn - ORT| / (1 + |ORT|) by class: ${[...worstByTol].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", ")}`);
});

async function check(c: OrtCase) {
  const r = await checkCase(E, c);
  const k = tolName(c.tol);
  worstByTol.set(k, Math.max(worstByTol.get(k) ?? 0, r.worst));
  expect(r.problems, c.name).toEqual([]);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Realistic stacks

interface Built {
  bytes: Uint8Array;
  feeds: Record<string, Feed>[];
}

function lenet(opset: number, seed = 1): Built {
  const rng = new Rng(seed);
  const n = new Net(rng);
  let t = n.op("Relu", [n.conv("x", 1, 6, 5, {}, true)]);
  t = n.op("MaxPool", [t], { kernel_shape: [2, 2], strides: [2, 2] });
  t = n.op("Relu", [n.conv(t, 6, 16, 5)]);
  t = n.op("MaxPool", [t], { kernel_shape: [2, 2], strides: [2, 2] });
  t = n.op("Flatten", [t], { axis: 1 });
  t = n.op("Relu", [n.gemm(t, 256, 120)]);
  t = n.op("Relu", [n.gemm(t, 120, 84)]);
  t = n.gemm(t, 84, 10);
  n.output(n.op("Softmax", [t], { axis: 1 }));
  const bytes = n.model({ opset, inputs: [{ name: "x", shape: ["N", 1, 28, 28] }], outputs: [{ name: "y", shape: ["N", 10] }] });
  return { bytes, feeds: [{ x: feed(rng, [1, 1, 28, 28]) }, { x: feed(rng, [3, 1, 28, 28]) }] };
}

function vgg(): Built {
  const rng = new Rng(2);
  const n = new Net(rng);
  let t = "x";
  let c = 3;
  for (const width of [8, 16]) {
    t = n.op("Relu", [n.conv(t, c, width, 3, { pads: [1, 1, 1, 1] })]);
    t = n.op("Relu", [n.conv(t, width, width, 3, { pads: [1, 1, 1, 1] })]);
    t = n.op("MaxPool", [t], { kernel_shape: [2, 2], strides: [2, 2] });
    c = width;
  }
  n.output(t);
  const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 3, 32, 32] }], outputs: [{ name: "y", shape: [1, 16, 8, 8] }] });
  return { bytes, feeds: [{ x: feed(rng, [1, 3, 32, 32]) }] };
}

/**
 * A stem (conv 3x3 3->8 + relu, as the block's input is in a real ResNet), then a basic block:
 * conv3x3-BN-relu-conv3x3-BN + shortcut, relu. Downsampling: stride 2 and a 1x1 conv + BN
 * shortcut. Without the stem the block reads the model's input directly.
 */
function resnetBlock(downsample: boolean, seed = 3, stem = true): Built {
  const rng = new Rng(seed);
  const n = new Net(rng);
  const [cin, cout, s] = downsample ? [8, 16, 2] : [8, 8, 1];
  const x = stem ? n.op("Relu", [n.conv("x", 3, cin, 3, { pads: [1, 1, 1, 1] })]) : "x";
  let t = n.op("Relu", [n.batchNorm(n.conv(x, cin, cout, 3, { pads: [1, 1, 1, 1], strides: [s, s] }, false), cout)]);
  t = n.batchNorm(n.conv(t, cout, cout, 3, { pads: [1, 1, 1, 1] }, false), cout);
  const shortcut = downsample ? n.batchNorm(n.conv(x, cin, cout, 1, { strides: [2, 2] }, false), cout) : x;
  n.output(n.op("Relu", [n.op("Add", [t, shortcut])]));
  const c0 = stem ? 3 : cin;
  const inputs = [{ name: "x", shape: ["N", c0, 16, 16] }];
  const bytes = n.model({ opset: 13, inputs, outputs: [{ name: "y", shape: ["N", cout, 16 / s, 16 / s] }] });
  return { bytes, feeds: [{ x: feed(rng, [1, c0, 16, 16]) }, { x: feed(rng, [3, c0, 16, 16]) }] };
}

/** relu6 as Clip: min/max inputs from opset 11, attributes before. */
function relu6(n: Net, x: string, opset: number): string {
  if (opset < 11) return n.op("Clip", [x], { min: f(0), max: f(6) });
  return n.op("Clip", [x, n.constant([], [0]), n.constant([], [6])]);
}

function mobilenetBlock(opset: number): Built {
  const rng = new Rng(4);
  const n = new Net(rng);
  let t = relu6(n, n.batchNorm(n.conv("x", 8, 8, 3, { pads: [1, 1, 1, 1], group: 8 }, false), 8), opset);
  t = relu6(n, n.batchNorm(n.conv(t, 8, 16, 1, {}, false), 16), opset);
  n.output(t);
  const bytes = n.model({ opset, inputs: [{ name: "x", shape: [1, 8, 16, 16] }], outputs: [{ name: "y", shape: [1, 16, 16, 16] }] });
  // Large enough inputs that relu6 clips some values at 6.
  return { bytes, feeds: [{ x: { data: rng.f32(8 * 256, -8, 8), dims: [1, 8, 16, 16] } }] };
}

/** A stem (a linear conv + BN, as the previous block's projection), then expand, depthwise, project, + input. */
function invertedResidual(stem = true): Built {
  const rng = new Rng(5);
  const n = new Net(rng);
  const x = stem ? n.batchNorm(n.conv("x", 3, 8, 3, { pads: [1, 1, 1, 1] }, false), 8) : "x";
  let t = relu6(n, n.batchNorm(n.conv(x, 8, 24, 1, {}, false), 24), 13);
  t = relu6(n, n.batchNorm(n.conv(t, 24, 24, 3, { pads: [1, 1, 1, 1], group: 24 }, false), 24), 13);
  t = n.batchNorm(n.conv(t, 24, 8, 1, {}, false), 8);
  n.output(n.op("Add", [x, t]));
  const c0 = stem ? 3 : 8;
  const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [1, c0, 12, 12] }], outputs: [{ name: "y", shape: [1, 8, 12, 12] }] });
  return { bytes, feeds: [{ x: feed(rng, [1, c0, 12, 12]) }] };
}

/** conv -> GlobalAveragePool -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape -> Gemm, as torch.onnx writes flatten. */
function torchHead(opset: number): Built {
  const rng = new Rng(6);
  const n = new Net(rng);
  const gap = n.op("GlobalAveragePool", [n.op("Relu", [n.conv("x", 8, 16, 3, { pads: [1, 1, 1, 1] })])]);
  const shape = n.op("Shape", [gap]);
  const batch = n.op("Gather", [shape, n.int64([], [0])], { axis: 0 });
  const unsq = opset < 13 ? n.op("Unsqueeze", [batch], { axes: [0] }) : n.op("Unsqueeze", [batch, n.int64([1], [0])]);
  const target = n.op("Concat", [unsq, n.int64([1], [-1])], { axis: 0 });
  const flat = n.op("Reshape", [gap, target]);
  n.output(n.gemm(flat, 16, 10));
  const bytes = n.model({ opset, inputs: [{ name: "x", shape: ["batch", 8, 7, 7] }], outputs: [{ name: "y", shape: ["batch", 10] }] });
  return { bytes, feeds: [{ x: feed(rng, [1, 8, 7, 7]) }, { x: feed(rng, [3, 8, 7, 7]) }] };
}

describe("realistic stacks against onnxruntime-web", () => {
  it("LeNet (opset 13), batch 1 and 3 through a symbolic batch dimension", async () => {
    const m = lenet(13);
    const r = await check({ name: "lenet", ...m, tol: STACK });
    // Every activation fused into its conv or gemm; the Flatten reads the NHWC activation (the
    // first gemm's weights permuted at load), so no layout copy is left.
    expect(steps(r.summaries.fused)).toEqual(["conv 5x5 1->6 +relu", "maxpool 2x2", "conv 5x5 6->16 +relu", "maxpool 2x2", "gemm 256->120 +relu", "gemm 120->84 +relu", "gemm 84->10", "softmax"]);
    expect(steps(r.summaries.unfused).filter((s) => s === "unary")).toHaveLength(4);
  });

  it("LeNet at opsets 9 (Softmax on the 2-d input) and 17", async () => {
    await check({ name: "lenet-9", ...lenet(9, 11), tol: STACK });
    await check({ name: "lenet-17", ...lenet(17, 12), tol: STACK });
  });

  it("VGG-style stack: (3x3 conv + relu) x 2 + maxpool, twice, 3->8->8->16->16 on 32x32", async () => {
    const r = await check({ name: "vgg", ...vgg(), tol: STACK });
    expect(steps(r.summaries.fused)).toEqual([
      "transpose NCHW->NHWC", "conv 3x3 3->8 +relu", "conv 3x3 8->8 +relu", "maxpool 2x2", "conv 3x3 8->16 +relu", "conv 3x3 16->16 +relu", "maxpool 2x2", "transpose NHWC->NCHW",
    ]);
  });

  it("ResNet basic block: conv-BN-relu-conv-BN + identity, relu (BN folded, add and relu fused)", async () => {
    const r = await check({ name: "resnet", ...resnetBlock(false), tol: STACK });
    const fused = steps(r.summaries.fused);
    const unfused = steps(r.summaries.unfused);
    // x is NCHW: one transpose to NHWC, one back for the output; BN folded, add and relu fused.
    expect(fused).toEqual(["transpose NCHW->NHWC", "conv 3x3 3->8 +relu", "conv 3x3 8->8 +relu", "conv 3x3 8->8 +relu +residual", "transpose NHWC->NCHW"]);
    expect(unfused.length).toBeGreaterThan(fused.length);
    expect(unfused.filter((s) => s === "binary").length).toBe(1); // the add
    expect(unfused.filter((s) => s === "conv 1x1 8->8 g8").length).toBe(2); // the BNs, as one affine step each
    expect(unfused.filter((s) => s === "unary").length).toBe(3); // the stem's, the block's two
    expect(unfused.join()).not.toMatch(/\+relu|\+residual/);
  });

  it("ResNet downsampling block: stride-2 main path, strided 1x1 conv + BN shortcut", async () => {
    const r = await check({ name: "resnet-down", ...resnetBlock(true, 7), tol: STACK });
    const fused = steps(r.summaries.fused);
    expect(fused.filter((s) => s.startsWith("conv"))).toHaveLength(4); // stem, two 3x3, the 1x1 shortcut
    expect(fused.some((s) => s.includes("+residual") && s.includes("+relu"))).toBe(true);
    expect(fused.some((s) => s === "binary" || s === "unary")).toBe(false);
  });

  it("MobileNet block: depthwise 3x3 + BN + relu6, pointwise + BN + relu6 (Clip with inputs, opset 13)", async () => {
    const r = await check({ name: "mobilenet", ...mobilenetBlock(13), tol: STACK });
    expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->8 g8 +relu6", "conv 1x1 8->16 +relu6", "transpose NHWC->NCHW"]);
  });

  it("MobileNet block with Clip attributes (opset 9)", async () => {
    const r = await check({ name: "mobilenet-9", ...mobilenetBlock(9), tol: STACK });
    expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->8 g8 +relu6", "conv 1x1 8->16 +relu6", "transpose NHWC->NCHW"]);
  });

  it("MobileNetV2 inverted residual: expand 1x1, depthwise 3x3, linear project 1x1, + input", async () => {
    const r = await check({ name: "inverted-residual", ...invertedResidual(), tol: STACK });
    expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 3->8", "conv 1x1 8->24 +relu6", "conv 3x3 24->24 g24 +relu6", "conv 1x1 24->8 +residual", "transpose NHWC->NCHW"]);
  });

  it("a residual block reading the model's NCHW input directly: results, and the add fused into the conv", async () => {
    // The identity operand is the model input; its NHWC copy already exists (the first conv reads
    // it), so the add can read it in the conv's store like any other residual.
    const res = await check({ name: "resnet-on-input", ...resnetBlock(false, 13, false), tol: STACK });
    const inv = await check({ name: "inverted-residual-on-input", ...invertedResidual(false), tol: STACK });
    expect(steps(res.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->8 +relu", "conv 3x3 8->8 +relu +residual", "transpose NHWC->NCHW"]);
    expect(steps(inv.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 1x1 8->24 +relu6", "conv 3x3 24->24 g24 +relu6", "conv 1x1 24->8 +residual", "transpose NHWC->NCHW"]);
  });

  for (const opset of [11, 13, 17]) {
    it(`PyTorch-style head: GAP -> Shape/Gather/Unsqueeze/Concat/Reshape -> Gemm folds to three steps (opset ${opset})`, async () => {
      const r = await check({ name: `torch-head-${opset}`, ...torchHead(opset), tol: STACK });
      // The NCHW input's transpose to NHWC, then three compute steps: nothing of the shape chain is left.
      expect(steps(r.summaries.fused)).toEqual(["transpose NCHW->NHWC", "conv 3x3 8->16 +relu", "global avgpool", "gemm 16->10"]);
    });
  }

  it("the tolerances can fail: one weight moved by 0.1% (1% before a softmax), a pool counting its padding", async () => {
    // The ORT reference of a network against simdcnn running the same network with one weight of
    // its first layer scaled by 1.001: the STACK bound must see the difference.
    // LeNet ends in a softmax, which shrinks differences (outputs ~0.1): there 1% is needed.
    const ratios: string[] = [];
    for (const [name, m, seed, fanIn, scale] of [["lenet", lenet(13), 1, 25, 1.01], ["vgg", vgg(), 2, 27, 1.001]] as const) {
      const feeds = m.feeds[m.feeds.length - 1];
      const ref = (await runOrt(m.bytes, feeds)).y.data;
      const model = await E.simd.loadOnnx(tweakFirstWeight(m.bytes, seed, fanIn, scale));
      const got = model.run({ x: feeds.x.data }).y;
      model.dispose();
      let ratio = 0;
      for (let k = 0; k < got.length; k++) ratio = Math.max(ratio, Math.abs(got[k] - ref[k]) / (STACK.atol + STACK.rtol * Math.abs(ref[k])));
      ratios.push(`${name} x${scale}: worst err / tol = ${ratio.toFixed(2)}`);
      expect(compare(got, ref, (k) => STACK.atol + STACK.rtol * Math.abs(ref[k])), name).not.toBe("");
    }
    console.log(`tolerance teeth: ${ratios.join("; ")}`);
    // A 3x3 average pool with count_include_pad 1 against ORT's with 0: they differ only in the
    // border windows, by a factor of 9/6 or 9/4.
    const x = feed(new Rng(9), [1, 2, 6, 6]);
    const a = poolModel({ kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    const b = poolModel({ kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 });
    const refA = (await runOrt(a, { x })).y.data;
    const mb = await E.simd.loadOnnx(b);
    const gotB = mb.run({ x: x.data }).y;
    mb.dispose();
    expect(compare(gotB, refA, (k) => ONE_LAYER.atol + ONE_LAYER.rtol * Math.abs(refA[k]))).not.toBe("");
  });
});

/** The model bytes with the first weight drawn from Rng(seed) (He-scaled for fanIn) scaled by `scale`, found by its bytes. */
function tweakFirstWeight(bytes: Uint8Array, seed: number, fanIn: number, scale: number): Uint8Array {
  const a = Math.sqrt(6 / fanIn);
  const w0 = Math.fround(new Rng(seed).uniform(-a, a));
  const probe = new Uint8Array(Float32Array.of(w0).buffer);
  const out = bytes.slice();
  for (let i = 0; i + 4 <= out.length; i++) {
    if (out[i] === probe[0] && out[i + 1] === probe[1] && out[i + 2] === probe[2] && out[i + 3] === probe[3]) {
      new DataView(out.buffer, i, 4).setFloat32(0, w0 * scale, true);
      return out;
    }
  }
  throw new Error("weight not found");
}

function poolModel(attrs: Record<string, number[] | number>): Uint8Array {
  const n = new Net(new Rng(0));
  n.output(n.op("AveragePool", ["x"], attrs));
  return n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 2, 6, 6] }], outputs: [{ name: "y" }] });
}

// ---------------------------------------------------------------------------------------------
// One model per operator and attribute form

interface OpCase {
  name: string;
  opset?: number;
  /** Graph inputs (float, random in [-1, 1)). */
  inputs: Record<string, number[]>;
  build: (n: Net) => string;
  tol: Tol;
  /** The output's element type when not FLOAT (ArgMax's INT64). */
  elemType?: number;
  /** The op types the case covers (for the coverage check); defaults to the ops of its nodes. */
  /** Opset versions per domain, when the case needs one beside the default domain's. */
  opsets?: Record<string, number>;
}

const covered = new Set<string>();

function opCase(c: OpCase, seed: number): OrtCase {
  const rng = new Rng(1000 + seed);
  const n = new Net(rng);
  n.output(c.build(n));
  for (const node of n.nodes) covered.add(node.op);
  const bytes = n.model({
    opset: c.opsets ?? c.opset ?? 13,
    inputs: Object.entries(c.inputs).map(([name, shape]) => ({ name, shape })),
    outputs: [{ name: "y", ...(c.elemType ? { elemType: c.elemType } : {}) }],
  });
  const feeds = Object.fromEntries(Object.entries(c.inputs).map(([name, dims]) => [name, feed(rng, dims)]));
  return { name: c.name, bytes, feeds: [feeds], tol: c.tol };
}

/**
 * onnxruntime's dynamic quantization of a Conv (kernel k) or a MatMul (k = 0) as quantize_dynamic
 * writes it: DynamicQuantizeLinear -> ConvInteger/MatMulInteger -> Cast -> Mul by (x scale * w
 * scale) -> Add bias. Weights are random 8-bit integers, zero points random, scales per tensor or
 * per output channel.
 */
function dynamicQuant(
  n: Net, x: string, cin: number, cout: number, k: number,
  o: { signed: boolean; perChannelScale: boolean; perChannelZero?: boolean; attrs?: Record<string, number[]> },
): string {
  const rng = n.rng;
  const name = `dql${n.nodes.length}`;
  const [q, s, z] = [`${name}_y`, `${name}_scale`, `${name}_zp`];
  n.op("DynamicQuantizeLinear", [x], undefined, name, [q, s, z]);
  const int = () => (o.signed ? rng.int(-128, 127) : rng.int(0, 255));
  const wDims = k ? [cout, cin, k, k] : [cin, cout];
  const w = n.int8(wDims, Array.from({ length: prod(wDims) }, int), o.signed);
  const wz = o.perChannelZero ? n.int8([cout], Array.from({ length: cout }, int), o.signed) : n.int8([], [o.signed ? rng.int(-3, 3) : rng.int(100, 150)], o.signed);
  const sDims = o.perChannelScale ? (k ? [cout, 1, 1] : [cout]) : [];
  const ws = n.constant(sDims, n.rng.f32(prod(sDims), 1e-3, 2e-2));
  const acc = n.op(k ? "ConvInteger" : "MatMulInteger", [q, w, z, wz], k ? { kernel_shape: [k, k], ...o.attrs } : undefined);
  const scaled = n.op("Mul", [n.op("Cast", [acc], { to: DataType.FLOAT }), n.op("Mul", [s, ws])]);
  return n.op("Add", [scaled, n.random(k ? [cout, 1, 1] : [cout])]);
}

/**
 * The QDQ format as onnxruntime's quantize_static writes it: QuantizeLinear -> DequantizeLinear on
 * the activation, DequantizeLinear of 8-bit weights (per output channel for Conv, per tensor with
 * a zero point for MatMul) and of an int32 bias (scale x scale * w scale), then QuantizeLinear ->
 * DequantizeLinear on the output.
 */
function qdq(n: Net, x: string, cin: number, cout: number, k: number, signedX: boolean, attrs: Record<string, number[]> = {}): string {
  const rng = n.rng;
  const pair = (v: string, scale: number, zp: number, signed: boolean) => {
    const s = n.constant([], [scale]);
    const z = n.int8([], [zp], signed);
    return n.op("DequantizeLinear", [n.op("QuantizeLinear", [v, s, z]), s, z]);
  };
  const sx = Math.fround(2 / 255);
  const xq = pair(x, sx, signedX ? 0 : 128, signedX);
  const wDims = k ? [cout, cin, k, k] : [cin, cout];
  const fanIn = k ? cin * k * k : cin;
  const perChannel = k > 0;
  const sw = Float32Array.from({ length: perChannel ? cout : 1 }, () => rng.uniform(0.5, 1.5) * Math.sqrt(3 / fanIn) / 127);
  const wz = perChannel ? 0 : rng.int(100, 150);
  const wq = n.int8(wDims, Array.from({ length: prod(wDims) }, () => (perChannel ? rng.int(-127, 127) : rng.int(0, 255))), perChannel);
  const wScale = n.constant(perChannel ? [cout] : [], sw);
  const w = n.op("DequantizeLinear", [wq, wScale, n.int8(perChannel ? [cout] : [], perChannel ? new Array(cout).fill(0) : [wz], perChannel)], perChannel ? { axis: 0 } : undefined);
  let y: string;
  if (k) {
    const bScale = Float32Array.from(sw, (v) => Math.fround(sx * v));
    const bias = `bias${n.nodes.length}`;
    n.initializers[bias] = { dims: [cout], data: Array.from({ length: cout }, () => rng.int(-2000, 2000)), dataType: DataType.INT32 };
    const bz = `biasz${n.nodes.length}`;
    n.initializers[bz] = { dims: [cout], data: new Array(cout).fill(0), dataType: DataType.INT32 };
    const b = n.op("DequantizeLinear", [bias, n.constant([cout], bScale), bz], { axis: 0 });
    y = n.op("Conv", [xq, w, b], { kernel_shape: [k, k], ...attrs });
  } else y = n.op("MatMul", [xq, w]);
  return pair(y, 0.02, signedX ? -3 : 131, signedX);
}

/**
 * The QOperator format as onnxruntime's quantize_static writes it: QuantizeLinear ->
 * QLinearConv (int8 weights per output channel, int32 bias) or QLinearMatMul (uint8 weights with a
 * zero point) -> DequantizeLinear.
 */
function qlinear(n: Net, x: string, cin: number, cout: number, k: number, attrs: Record<string, number[]> = {}): string {
  const rng = n.rng;
  const sx = n.constant([], [Math.fround(2 / 255)]);
  const zx = n.int8([], [128], false);
  const xq = n.op("QuantizeLinear", [x, sx, zx]);
  const fanIn = k ? cin * k * k : cin;
  const wDims = k ? [cout, cin, k, k] : [cin, cout];
  const w = n.int8(wDims, Array.from({ length: prod(wDims) }, () => (k ? rng.int(-127, 127) : rng.int(0, 255))), k > 0);
  const sw = n.constant(k ? [cout] : [], Float32Array.from({ length: k ? cout : 1 }, () => rng.uniform(0.5, 1.5) * Math.sqrt(3 / fanIn) / 127));
  const zw = k ? n.int8([cout], new Array(cout).fill(0), true) : n.int8([], [rng.int(100, 150)], false);
  const sy = n.constant([], [0.02]);
  const zy = n.int8([], [131], false);
  let y: string;
  if (k) {
    const bias = `qbias${n.nodes.length}`;
    n.initializers[bias] = { dims: [cout], data: Array.from({ length: cout }, () => rng.int(-2000, 2000)), dataType: DataType.INT32 };
    y = n.op("QLinearConv", [xq, sx, zx, w, sw, zw, sy, zy, bias], { kernel_shape: [k, k], ...attrs });
  } else y = n.op("QLinearMatMul", [xq, sx, zx, w, sw, zw, sy, zy]);
  return n.op("DequantizeLinear", [y, sy, zy]);
}

/**
 * onnxruntime's com.microsoft QLinearAdd (a + b, b broadcast when given a smaller shape), QLinearAveragePool (3x3, stride 2, pads 1) or
 * QLinearGlobalAveragePool between QuantizeLinear and DequantizeLinear, all uint8 or all int8.
 */
function microsoftQLinear(n: Net, op: "QLinearAdd" | "QLinearAveragePool" | "QLinearGlobalAveragePool", signed: boolean): string {
  const q = (x: string, scale: number, zero: number, signed: boolean) => {
    const p = [n.constant([], [scale]), n.int8([], [zero], signed)];
    return [n.op("QuantizeLinear", [x, ...p]), ...p];
  };
  const a = q("x", Math.fround(2 / 255), signed ? 0 : 128, signed);
  const inputs = op === "QLinearAdd" ? [...a, ...q("z", 0.01, signed ? -5 : 123, signed)] : a;
  const c = [n.constant([], [0.015]), n.int8([], [signed ? -8 : 120], signed)];
  const name = `${op.toLowerCase()}${n.nodes.length}`;
  const attrs = op === "QLinearAveragePool" ? { attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } } : {};
  n.nodes.push({ op, inputs: [...inputs, ...c], outputs: [`${name}_out`], name, domain: "com.microsoft", ...attrs });
  return n.op("DequantizeLinear", [`${name}_out`, ...c]);
}

const X = [1, 4, 7, 6];
const pads = (t: number, l: number, b: number, r: number) => [t, l, b, r];
/** conv 1x1 4->4 first, so that the op under test reads an NHWC activation. */
const viaConv = (n: Net, x = "x", c = 4) => n.conv(x, c, c, 1);

const OP_CASES: OpCase[] = [
  // Conv: padding forms, strides, dilations, groups.
  { name: "Conv NOTSET asymmetric pads, strides 2x1", inputs: { x: [1, 3, 9, 8] }, build: (n) => n.conv("x", 3, 4, 3, { pads: pads(1, 0, 2, 1), strides: [2, 1] }), tol: ONE_LAYER },
  { name: "Conv SAME_UPPER stride 2 (odd total padding)", inputs: { x: [1, 3, 9, 8] }, build: (n) => n.conv("x", 3, 4, 3, { auto_pad: "SAME_UPPER", strides: [2, 2] }), tol: ONE_LAYER },
  { name: "Conv SAME_LOWER 4x4 stride 2", inputs: { x: [1, 3, 9, 8] }, build: (n) => n.conv("x", 3, 4, 4, { auto_pad: "SAME_LOWER", strides: [2, 2] }), tol: ONE_LAYER },
  { name: "Conv SAME_LOWER 2x2 stride 1", inputs: { x: [1, 3, 6, 5] }, build: (n) => n.conv("x", 3, 5, 2, { auto_pad: "SAME_LOWER" }), tol: ONE_LAYER },
  { name: "Conv VALID 5x3 strides 2x3", inputs: { x: [1, 3, 11, 10] }, build: (n) => n.conv("x", 3, 4, [5, 3], { auto_pad: "VALID", strides: [2, 3] }), tol: ONE_LAYER },
  { name: "Conv dilations 2x3 with pads", inputs: { x: [1, 3, 9, 10] }, build: (n) => n.conv("x", 3, 4, 3, { dilations: [2, 3], pads: pads(2, 3, 1, 0) }), tol: ONE_LAYER },
  { name: "Conv group 2 (4->6)", inputs: { x: [1, 4, 7, 6] }, build: (n) => n.conv("x", 4, 6, 3, { group: 2, pads: pads(1, 1, 1, 1) }), tol: ONE_LAYER },
  { name: "Conv depthwise 3x3 stride 2", inputs: { x: [1, 6, 9, 9] }, build: (n) => n.conv("x", 6, 6, 3, { group: 6, pads: pads(1, 1, 1, 1), strides: [2, 2] }), tol: ONE_LAYER },
  { name: "Conv depthwise 5x5 dilated, no bias", inputs: { x: [1, 5, 12, 11] }, build: (n) => n.conv("x", 5, 5, 5, { group: 5, dilations: [2, 2], pads: pads(4, 4, 4, 4) }, false), tol: ONE_LAYER },
  { name: "Conv depthwise with multiplier 2 (group 4, 8 outputs)", inputs: { x: [1, 4, 7, 6] }, build: (n) => n.conv("x", 4, 8, 3, { group: 4, pads: pads(1, 1, 1, 1) }), tol: ONE_LAYER },
  { name: "Conv 1x1 no bias, batch 2", inputs: { x: [2, 5, 4, 3] }, build: (n) => n.conv("x", 5, 7, 1, {}, false), tol: ONE_LAYER },
  { name: "Conv single input channel 5x5", inputs: { x: [2, 1, 10, 9] }, build: (n) => n.conv("x", 1, 5, 5, { pads: pads(2, 2, 2, 2) }), tol: ONE_LAYER },
  { name: "Conv without kernel_shape attribute", inputs: { x: [1, 3, 6, 6] }, build: (n) => n.op("Conv", ["x", n.weight([4, 3, 3, 3])]), tol: ONE_LAYER },
  // ConvTranspose (test/onnx-deconv.test.ts has every padding form and the fusions).
  { name: "ConvTranspose 3x3 stride 2, pads, output_padding", inputs: { x: [1, 3, 5, 4] }, build: (n) => n.op("ConvTranspose", ["x", n.weight([3, 4, 3, 3], 27), n.random([4], -0.1, 0.1)], { strides: [2, 2], pads: pads(1, 0, 1, 1), output_padding: [1, 0] }), tol: ONE_LAYER },
  // onnxruntime's dynamic quantization: exact, since every step (the scale and zero point in
  // float32, the quantization's round half to even, the i32 accumulation, the Cast, the Mul and
  // the Add) is specified to the bit and both runtimes compute exactly those steps.
  { name: "DynamicQuantizeLinear -> ConvInteger 3x3 int8 weights, per-channel scales, pads", inputs: { x: [1, 16, 9, 8] }, build: (n) => dynamicQuant(n, "x", 16, 24, 3, { signed: true, perChannelScale: true, attrs: { pads: pads(1, 1, 1, 1) } }), tol: EXACT },
  { name: "DynamicQuantizeLinear -> ConvInteger 3x3 uint8 weights, stride 2, batch 2", inputs: { x: [2, 5, 10, 9] }, build: (n) => dynamicQuant(n, "x", 5, 7, 3, { signed: false, perChannelScale: false, attrs: { strides: [2, 2] } }), tol: EXACT },
  { name: "DynamicQuantizeLinear -> MatMulInteger uint8, per-column zero points and scales", inputs: { x: [3, 5, 37] }, build: (n) => dynamicQuant(n, "x", 37, 19, 0, { signed: false, perChannelScale: true, perChannelZero: true }), tol: EXACT },
  { name: "DynamicQuantizeLinear -> MatMulInteger int8 after a conv (NHWC input)", inputs: { x: [1, 4, 3, 3] }, build: (n) => dynamicQuant(n, n.op("Reshape", [viaConv(n), n.int64([2], [1, 36])]), 36, 10, 0, { signed: true, perChannelScale: false }), tol: EXACT },
  // The QDQ format: the 8-bit step's float output goes through the output's QuantizeLinear ->
  // DequantizeLinear, which onnxruntime fuses into its requantization instead (i32 + bias scaled by
  // x scale * w scale / y scale, then rounded). The two roundings meet at the same grid point
  // except where the real value lies within float32 error of a tie, so the tolerance is one
  // output step (0.02).
  { name: "QDQ Conv 3x3 int8 weights per channel, uint8 activations, pads", inputs: { x: [1, 16, 9, 8] }, build: (n) => qdq(n, "x", 16, 24, 3, false, { pads: pads(1, 1, 1, 1) }), tol: { atol: 0.0201, rtol: 0 } },
  { name: "QDQ Conv 3x3 stride 2, int8 activations, then MaxPool over a QDQ pair", inputs: { x: [2, 5, 10, 9] }, build: (n) => n.op("MaxPool", [qdq(n, "x", 5, 7, 3, true, { strides: [2, 2] })], { kernel_shape: [2, 2] }), tol: { atol: 0.0201, rtol: 0 } },
  { name: "QDQ MatMul uint8 weights with a zero point", inputs: { x: [3, 5, 37] }, build: (n) => qdq(n, "x", 37, 19, 0, false), tol: { atol: 0.0201, rtol: 0 } },
  { name: "QLinearConv 3x3 int8 weights per channel, int32 bias, pads", inputs: { x: [1, 16, 9, 8] }, build: (n) => qlinear(n, "x", 16, 24, 3, { pads: pads(1, 1, 1, 1) }), tol: { atol: 0.0201, rtol: 0 } },
  { name: "QLinearMatMul uint8 weights with a zero point", inputs: { x: [3, 5, 37] }, build: (n) => qlinear(n, "x", 37, 19, 0), tol: { atol: 0.0201, rtol: 0 } },
  // com.microsoft QLinearAdd: onnxruntime scales in its own order
  // (float factors per input, or fixed point), so a value near a rounding tie may land one output
  // step (0.015) apart.
  { name: "QLinearAdd (com.microsoft) uint8", opsets: { "": 13, "com.microsoft": 1 }, inputs: { x: [1, 4, 5, 6], z: [1, 4, 5, 6] }, build: (n) => microsoftQLinear(n, "QLinearAdd", false), tol: { atol: 0.0151, rtol: 0 } },
  { name: "QLinearAdd (com.microsoft) int8, broadcast over the spatial axes", opsets: { "": 13, "com.microsoft": 1 }, inputs: { x: [2, 4, 5, 6], z: [2, 4, 1, 1] }, build: (n) => microsoftQLinear(n, "QLinearAdd", true), tol: { atol: 0.0151, rtol: 0 } },
  // The pools: onnxruntime's own arithmetic on the integers (src/ops/qpool.ts), exact.
  { name: "QLinearAveragePool (com.microsoft) 3x3 stride 2 pads, uint8", opsets: { "": 13, "com.microsoft": 1 }, inputs: { x: [1, 5, 9, 8] }, build: (n) => microsoftQLinear(n, "QLinearAveragePool", false), tol: EXACT },
  { name: "QLinearGlobalAveragePool (com.microsoft) uint8, batch 2", opsets: { "": 13, "com.microsoft": 1 }, inputs: { x: [2, 5, 6, 7] }, build: (n) => microsoftQLinear(n, "QLinearGlobalAveragePool", false), tol: EXACT },
  // Pooling.
  { name: "MaxPool 2x2", inputs: { x: X }, build: (n) => n.op("MaxPool", ["x"], { kernel_shape: [2, 2], strides: [2, 2] }), tol: EXACT },
  { name: "MaxPool 3x3 s2 ceil_mode pads", inputs: { x: [1, 3, 8, 9] }, build: (n) => n.op("MaxPool", ["x"], { kernel_shape: [3, 3], strides: [2, 2], pads: pads(1, 0, 1, 1), ceil_mode: 1 }), tol: EXACT },
  { name: "MaxPool dilations 2", inputs: { x: [1, 3, 9, 9] }, build: (n) => n.op("MaxPool", ["x"], { kernel_shape: [2, 3], dilations: [2, 2], strides: [1, 2] }), tol: EXACT },
  { name: "MaxPool SAME_UPPER", inputs: { x: [1, 3, 7, 8] }, build: (n) => n.op("MaxPool", ["x"], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER" }), tol: EXACT },
  { name: "MaxPool after conv (NHWC)", inputs: { x: X }, build: (n) => n.op("MaxPool", [viaConv(n)], { kernel_shape: [3, 2], strides: [1, 2] }), tol: ONE_LAYER },
  { name: "AveragePool 3x3 pads count_include_pad 0", inputs: { x: [1, 3, 7, 8] }, build: (n) => n.op("AveragePool", ["x"], { kernel_shape: [3, 3], pads: pads(1, 1, 1, 1), strides: [2, 2] }), tol: ONE_LAYER },
  { name: "AveragePool 3x3 pads count_include_pad 1", inputs: { x: [1, 3, 7, 8] }, build: (n) => n.op("AveragePool", ["x"], { kernel_shape: [3, 3], pads: pads(1, 1, 1, 1), strides: [2, 2], count_include_pad: 1 }), tol: ONE_LAYER },
  { name: "AveragePool ceil_mode", inputs: { x: [1, 3, 8, 9] }, build: (n) => n.op("AveragePool", ["x"], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }), tol: ONE_LAYER },
  { name: "AveragePool ceil_mode pads count_include_pad 1", inputs: { x: [1, 3, 8, 9] }, build: (n) => n.op("AveragePool", ["x"], { kernel_shape: [3, 3], strides: [2, 2], pads: pads(1, 1, 0, 0), ceil_mode: 1, count_include_pad: 1 }), tol: ONE_LAYER },
  { name: "AveragePool SAME_LOWER", inputs: { x: [1, 3, 7, 8] }, build: (n) => n.op("AveragePool", ["x"], { kernel_shape: [2, 2], auto_pad: "SAME_LOWER" }), tol: ONE_LAYER },
  { name: "AveragePool dilations (opset 19)", opset: 19, inputs: { x: [1, 3, 9, 9] }, build: (n) => n.op("AveragePool", ["x"], { kernel_shape: [2, 2], dilations: [2, 2] }), tol: ONE_LAYER },
  { name: "GlobalAveragePool", inputs: { x: X }, build: (n) => n.op("GlobalAveragePool", ["x"]), tol: ONE_LAYER },
  { name: "GlobalMaxPool", inputs: { x: X }, build: (n) => n.op("GlobalMaxPool", ["x"]), tol: EXACT },
  // BatchNormalization on its own (not folded).
  { name: "BatchNormalization on an input (4-d)", inputs: { x: X }, build: (n) => n.batchNorm("x", 4, 1e-3), tol: ONE_LAYER },
  { name: "BatchNormalization 2-d", inputs: { x: [3, 5] }, build: (n) => n.batchNorm("x", 5), tol: ONE_LAYER },
  { name: "BatchNormalization after relu (not foldable)", inputs: { x: X }, build: (n) => n.batchNorm(n.op("Relu", [viaConv(n)]), 4), tol: ONE_LAYER },
  { name: "BatchNormalization read twice (not foldable)", inputs: { x: X }, build: (n) => { const c = viaConv(n); return n.op("Add", [n.batchNorm(c, 4), c]); }, tol: ONE_LAYER },
  // Gemm.
  { name: "Gemm plain", inputs: { a: [3, 6] }, build: (n) => n.op("Gemm", ["a", n.weight([6, 5], 6)]), tol: ONE_LAYER },
  { name: "Gemm alpha beta transB C [N]", inputs: { a: [3, 6] }, build: (n) => n.op("Gemm", ["a", n.weight([5, 6], 6), n.random([5])], { transB: 1, alpha: 0.5, beta: f(2) }), tol: ONE_LAYER },
  { name: "Gemm transA C [1, N]", inputs: { a: [6, 3] }, build: (n) => n.op("Gemm", ["a", n.weight([6, 5], 6), n.random([1, 5])], { transA: 1, beta: 0.25 }), tol: ONE_LAYER },
  { name: "Gemm transA transB C [M, N]", inputs: { a: [6, 3] }, build: (n) => n.op("Gemm", ["a", n.weight([5, 6], 6), n.random([3, 5])], { transA: 1, transB: 1, alpha: f(-1.5), beta: 0.5 }), tol: ONE_LAYER },
  { name: "Gemm C [M, 1]", inputs: { a: [4, 6] }, build: (n) => n.op("Gemm", ["a", n.weight([6, 5], 6), n.random([4, 1])], { beta: f(3) }), tol: ONE_LAYER },
  { name: "Gemm C scalar", inputs: { a: [4, 6] }, build: (n) => n.op("Gemm", ["a", n.weight([6, 5], 6), n.random([])], { alpha: 2.5 }), tol: ONE_LAYER },
  { name: "Gemm C [M, N] as a graph input", inputs: { a: [4, 6], c: [4, 5] }, build: (n) => n.op("Gemm", ["a", n.weight([6, 5], 6), "c"], { beta: 0.75 }), tol: ONE_LAYER },
  { name: "Gemm C [N] as a graph input, transA", inputs: { a: [6, 4], c: [5] }, build: (n) => n.op("Gemm", ["a", n.weight([6, 5], 6), "c"], { transA: 1, beta: f(-2) }), tol: ONE_LAYER },
  { name: "Gemm C [M, 1] as a graph input", inputs: { a: [4, 6], c: [4, 1] }, build: (n) => n.op("Gemm", ["a", n.weight([6, 5], 6), "c"], { beta: 0.5 }), tol: ONE_LAYER },
  { name: "Gemm C [M, N] as a graph input, beta 1, + Relu (fused)", inputs: { a: [4, 6], c: [4, 5] }, build: (n) => n.op("Relu", [n.op("Gemm", ["a", n.weight([6, 5], 6), "c"])]), tol: ONE_LAYER },
  { name: "Gemm + Relu (fused)", inputs: { a: [4, 9] }, build: (n) => n.op("Relu", [n.gemm("a", 9, 7)]), tol: ONE_LAYER },
  { name: "Gemm + residual Add (fused)", inputs: { a: [4, 9], r: [4, 7] }, build: (n) => n.op("Add", ["r", n.gemm("a", 9, 7)]), tol: ONE_LAYER },
  // MatMul.
  { name: "MatMul 2-d constant B", inputs: { a: [5, 6] }, build: (n) => n.op("MatMul", ["a", n.weight([6, 4], 6)]), tol: ONE_LAYER },
  { name: "MatMul 3-d A, constant 2-d B", inputs: { a: [2, 3, 6] }, build: (n) => n.op("MatMul", ["a", n.weight([6, 4], 6)]), tol: ONE_LAYER },
  { name: "MatMul 3-d A, constant B, + residual Add (fused, 3-d)", inputs: { a: [2, 3, 6], r: [2, 3, 4] }, build: (n) => n.op("Add", [n.op("MatMul", ["a", n.weight([6, 4], 6)]), "r"]), tol: ONE_LAYER },
  { name: "MatMul 2-d both inputs", inputs: { a: [5, 6], b: [6, 9] }, build: (n) => n.op("MatMul", ["a", "b"]), tol: ONE_LAYER },
  { name: "MatMul 3-d batched both inputs", inputs: { a: [3, 4, 6], b: [3, 6, 5] }, build: (n) => n.op("MatMul", ["a", "b"]), tol: ONE_LAYER },
  { name: "MatMul batch broadcast [2,1,3,4] x [3,4,5]", inputs: { a: [2, 1, 3, 4], b: [3, 4, 5] }, build: (n) => n.op("MatMul", ["a", "b"]), tol: ONE_LAYER },
  { name: "MatMul shared B [4,5] x batched A (non-constant)", inputs: { a: [3, 2, 4], b: [4, 5] }, build: (n) => n.op("MatMul", ["a", "b"]), tol: ONE_LAYER },
  { name: "MatMul constant 3-d B", inputs: { a: [2, 3, 4] }, build: (n) => n.op("MatMul", ["a", n.weight([2, 4, 5], 4)]), tol: ONE_LAYER },
  { name: "MatMul 1-d B", inputs: { a: [3, 4] }, build: (n) => n.op("MatMul", ["a", n.random([4])]), tol: ONE_LAYER },
  // Binary ops and broadcasts.
  ...(["Add", "Sub", "Mul", "Div"] as const).flatMap((op): OpCase[] => [
    { name: `${op} [C,1,1] constant against NCHW input`, inputs: { x: X }, build: (n) => n.op(op, ["x", n.random([4, 1, 1], 0.5, 1.5)]), tol: EXACT },
    { name: `${op} [C,1,1] constant against a conv output (NHWC)`, inputs: { x: X }, build: (n) => n.op(op, [viaConv(n), n.random([4, 1, 1], 0.5, 1.5)]), tol: ONE_LAYER },
    { name: `${op} constant [C,1,1] first operand, conv output second`, inputs: { x: X }, build: (n) => n.op(op, [n.random([4, 1, 1], 0.5, 1.5), n.op("Add", [viaConv(n), n.constant([], [4])])]), tol: ONE_LAYER },
    { name: `${op} scalar`, inputs: { x: X }, build: (n) => n.op(op, ["x", n.constant([], [0.75])]), tol: EXACT },
    { name: `${op} [N,1,H,W] input against a conv output`, inputs: { x: X, m: [1, 1, 7, 6] }, build: (n) => n.op(op, [viaConv(n), n.op("Add", ["m", n.constant([1], [3])])]), tol: ONE_LAYER },
    { name: `${op} same shape, two inputs`, inputs: { x: X, z: X }, build: (n) => n.op(op, ["x", n.op("Add", ["z", n.constant([], [2])])]), tol: EXACT },
    { name: `${op} two conv outputs`, inputs: { x: X }, build: (n) => n.op(op, [viaConv(n), n.op("Add", [viaConv(n), n.constant([], [3])])]), tol: ONE_LAYER },
    { name: `${op} both broadcast [2,1,5] x [3,1]`, inputs: { a: [2, 1, 5], b: [3, 1] }, build: (n) => n.op(op, ["a", n.op("Add", ["b", n.constant([], [2])])]), tol: EXACT },
    { name: `${op} last-axis vector against 2-d`, inputs: { a: [3, 5] }, build: (n) => n.op(op, ["a", n.random([5], 0.5, 1.5)]), tol: EXACT },
  ]),
  // Activations.
  { name: "Relu", inputs: { x: X }, build: (n) => n.op("Relu", ["x"]), tol: EXACT },
  { name: "LeakyRelu alpha 0.3", inputs: { x: X }, build: (n) => n.op("LeakyRelu", ["x"], { alpha: 0.3 }), tol: EXACT },
  { name: "LeakyRelu default alpha after conv (fused)", inputs: { x: X }, build: (n) => n.op("LeakyRelu", [viaConv(n)]), tol: ONE_LAYER },
  { name: "PRelu [C,1,1] slope", inputs: { x: X }, build: (n) => n.op("PRelu", ["x", n.random([4, 1, 1], -0.5, 0.5)]), tol: EXACT },
  { name: "PRelu [C,1,1] slope after conv", inputs: { x: X }, build: (n) => n.op("PRelu", [viaConv(n), n.random([4, 1, 1], -0.5, 0.5)]), tol: ONE_LAYER },
  { name: "PRelu scalar slope", inputs: { x: X }, build: (n) => n.op("PRelu", ["x", n.constant([1], [0.2])]), tol: EXACT },
  { name: "Clip min and max inputs", inputs: { x: X }, build: (n) => n.op("Clip", ["x", n.constant([], [-0.3]), n.constant([], [0.4])]), tol: EXACT },
  { name: "Clip min only", inputs: { x: X }, build: (n) => n.op("Clip", ["x", n.constant([], [-0.3])]), tol: EXACT },
  { name: "Clip max only (empty min)", inputs: { x: X }, build: (n) => n.op("Clip", ["x", "", n.constant([], [0.4])]), tol: EXACT },
  { name: "Clip no bounds", inputs: { x: X }, build: (n) => n.op("Clip", ["x"]), tol: EXACT },
  { name: "Clip attributes (opset 6)", opset: 6, inputs: { x: X }, build: (n) => n.op("Clip", ["x"], { min: f(-0.5), max: 0.25 }), tol: EXACT },
  { name: "Clip 0..6 after conv (relu6 fused)", inputs: { x: X }, build: (n) => n.op("Clip", [n.op("Mul", [viaConv(n), n.constant([], [8])]), n.constant([], [0]), n.constant([], [6])]), tol: ONE_LAYER },
  { name: "Sigmoid", inputs: { x: X }, build: (n) => n.op("Sigmoid", [n.op("Mul", ["x", n.constant([], [8])])]), tol: TRANSCENDENTAL },
  { name: "Tanh", inputs: { x: X }, build: (n) => n.op("Tanh", [n.op("Mul", ["x", n.constant([], [4])])]), tol: TRANSCENDENTAL },
  { name: "Exp", inputs: { x: X }, build: (n) => n.op("Exp", [n.op("Mul", ["x", n.constant([], [10])])]), tol: TRANSCENDENTAL },
  { name: "Sigmoid and Tanh after conv (fused)", inputs: { x: X }, build: (n) => n.op("Tanh", [n.op("Sigmoid", [viaConv(n)])]), tol: TRANSCENDENTAL },
  // Activations and elementwise math (test/activation-onnx.test.ts has their attribute forms and fusions).
  ...(["Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "Erf"] as const).map((op): OpCase => ({
    name: op, opset: 18, inputs: { x: X }, build: (n) => n.op(op, [n.op("Mul", ["x", n.constant([], [4])])]), tol: TRANSCENDENTAL,
  })),
  { name: "Gelu (opset 20)", opset: 20, inputs: { x: X }, build: (n) => n.op("Gelu", [n.op("Mul", ["x", n.constant([], [4])])]), tol: TRANSCENDENTAL },
  { name: "Log of |x|", inputs: { x: X }, build: (n) => n.op("Log", [n.op("Abs", ["x"])]), tol: TRANSCENDENTAL },
  { name: "LogSoftmax", inputs: { x: [2, 3, 4, 5] }, build: (n) => n.op("LogSoftmax", [n.op("Mul", ["x", n.constant([], [3])])]), tol: TRANSCENDENTAL },
  { name: "Pow by a constant 3, of Sqrt", inputs: { x: X }, build: (n) => n.op("Pow", [n.op("Sqrt", [n.op("Abs", ["x"])]), n.constant([], [3])]), tol: TRANSCENDENTAL },
  ...(["Reciprocal", "Neg", "Floor", "Ceil", "Round", "Sign"] as const).map((op): OpCase => ({
    name: op, inputs: { x: X }, build: (n) => n.op(op, [n.op("Mul", ["x", n.constant([], [4])])]), tol: EXACT,
  })),
  ...(["Sum", "Mean", "Min", "Max"] as const).map((op): OpCase => ({
    name: `${op} of three, broadcast`, inputs: { x: X, a: [4, 1, 1], b: [1] }, build: (n) => n.op(op, ["x", "a", "b"]), tol: op === "Min" || op === "Max" ? EXACT : ONE_LAYER,
  })),
  // Softmax, every axis, both semantics.
  ...[11, 13].flatMap((opset) =>
    [0, 1, 2, 3, -1].map((axis): OpCase => ({
      name: `Softmax axis ${axis} (opset ${opset})`, opset, inputs: { x: [2, 3, 4, 5] }, build: (n) => n.op("Softmax", [n.op("Mul", ["x", n.constant([], [3])])], { axis }), tol: TRANSCENDENTAL,
    })),
  ),
  { name: "Softmax default axis (opset 11: flattened from 1)", opset: 11, inputs: { x: [2, 3, 4] }, build: (n) => n.op("Softmax", ["x"]), tol: TRANSCENDENTAL },
  { name: "Softmax default axis (opset 13: last)", inputs: { x: [2, 3, 4] }, build: (n) => n.op("Softmax", ["x"]), tol: TRANSCENDENTAL },
  { name: "Softmax axis 1 of a conv output (NHWC)", inputs: { x: X }, build: (n) => n.op("Softmax", [viaConv(n)], { axis: 1 }), tol: TRANSCENDENTAL },
  { name: "Softmax axis 3 of a conv output", inputs: { x: X }, build: (n) => n.op("Softmax", [viaConv(n)], { axis: 3 }), tol: TRANSCENDENTAL },
  // Resize, Upsample, ArgMax (test/resize-onnx.test.ts covers their attributes).
  { name: "Resize linear 2x after conv (NHWC)", inputs: { x: X }, build: (n) => n.op("Resize", [viaConv(n), "", n.constant([4], [1, 1, 2, 2])], { mode: "linear" }), tol: ONE_LAYER },
  { name: "Upsample nearest 2x (opset 9)", opset: 9, inputs: { x: X }, build: (n) => n.op("Upsample", ["x", n.constant([4], [1, 1, 2, 2])]), tol: EXACT },
  { name: "Cast of an activation to float (the identity)", inputs: { x: X }, build: (n) => n.op("Cast", [n.op("Relu", ["x"])], { to: DataType.FLOAT }), tol: EXACT },
  { name: "ArgMax axis 1 of a conv output", inputs: { x: X }, build: (n) => n.op("ArgMax", [viaConv(n)], { axis: 1 }), tol: EXACT, elemType: DataType.INT64 },
  // Reductions, normalizations, ArgMin (test/reduce-onnx.test.ts covers their attributes).
  { name: "ArgMin axis 1 of a conv output", inputs: { x: X }, build: (n) => n.op("ArgMin", [viaConv(n)], { axis: 1 }), tol: EXACT, elemType: DataType.INT64 },
  { name: "ReduceL1 over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceL1", [viaConv(n)], { axes: [2, 3] }), tol: ONE_LAYER },
  { name: "ReduceL2 over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceL2", [viaConv(n)], { axes: [2, 3] }), tol: ONE_LAYER },
  { name: "ReduceLogSumExp over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceLogSumExp", [viaConv(n)], { axes: [2, 3] }), tol: TRANSCENDENTAL },
  { name: "ReduceMax over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceMax", [viaConv(n)], { axes: [2, 3] }), tol: ONE_LAYER },
  { name: "ReduceMean over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceMean", [viaConv(n)], { axes: [2, 3] }), tol: ONE_LAYER },
  { name: "ReduceMin over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceMin", [viaConv(n)], { axes: [2, 3] }), tol: ONE_LAYER },
  { name: "ReduceProd over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceProd", [viaConv(n)], { axes: [2, 3] }), tol: ONE_LAYER },
  { name: "ReduceSumSquare over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceSumSquare", [viaConv(n)], { axes: [2, 3] }), tol: ONE_LAYER },
  { name: "ReduceSum over H and W of a conv output", inputs: { x: X }, build: (n) => n.op("ReduceSum", [viaConv(n), n.int64([2], [2, 3])]), tol: ONE_LAYER },
  { name: "InstanceNormalization of a conv output", inputs: { x: X }, build: (n) => n.op("InstanceNormalization", [viaConv(n), n.random([4], 0.5, 1.5), n.random([4])]), tol: STACK },
  { name: "LayerNormalization over the last axis", opset: 17, inputs: { x: [2, 3, 9] }, build: (n) => n.op("LayerNormalization", ["x", n.random([9], 0.5, 1.5), n.random([9])]), tol: STACK },
  { name: "GroupNormalization of a conv output", opset: 21, inputs: { x: X }, build: (n) => n.op("GroupNormalization", [viaConv(n), n.random([4], 0.5, 1.5), n.random([4])], { num_groups: 2 }), tol: STACK },
  { name: "LpNormalization over channels of a conv output", inputs: { x: X }, build: (n) => n.op("LpNormalization", [viaConv(n)], { axis: 1 }), tol: STACK },
  // Integer tensors at run time (test/dynops-onnx.test.ts covers their shapes and attributes).
  ...["Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual"].map((op): OpCase => ({
    name: `${op} of a conv output and a constant`, inputs: { x: X }, build: (n) => n.op(op, [viaConv(n), n.constant([], [0])]), tol: EXACT, elemType: DataType.BOOL,
  })),
  ...["And", "Or", "Xor"].map((op): OpCase => ({
    name: `${op} of two comparisons`, inputs: { x: X }, build: (n) => n.op(op, [n.op("Greater", ["x", n.constant([], [0])]), n.op("Less", ["x", n.constant([], [0.5])])]), tol: EXACT, elemType: DataType.BOOL,
  })),
  { name: "Not of a comparison", inputs: { x: X }, build: (n) => n.op("Not", [n.op("Greater", ["x", n.constant([], [0])])]), tol: EXACT, elemType: DataType.BOOL },
  { name: "Where of a comparison", inputs: { x: X }, build: (n) => n.op("Where", [n.op("Greater", ["x", n.constant([], [0])]), "x", n.constant([], [-1])]), tol: EXACT },
  { name: "GatherElements by ArgMax indices", inputs: { x: [3, 7] }, build: (n) => n.op("GatherElements", ["x", n.op("ArgMax", ["x"], { axis: 1 })], { axis: 1 }), tol: EXACT },
  { name: "TopK values", inputs: { x: [3, 7] }, build: (n) => n.op("TopK", ["x", n.int64([1], [3])], { axis: 1 }, "topk", ["topk_v", "topk_i"]), tol: EXACT },
  { name: "Einsum batched matrix product", opset: 12, inputs: { a: [2, 3, 4], b: [2, 4, 5] }, build: (n) => n.op("Einsum", ["a", "b"], { equation: "bij,bjk->bik" }), tol: ONE_LAYER },
  { name: "ScatterND", inputs: { x: [3, 7], u: [2, 7] }, build: (n) => n.op("ScatterND", ["x", n.int64([2, 1], [2, 0]), "u"]), tol: EXACT },
  { name: "ScatterND reduction add, a repeated index", opset: 16, inputs: { x: [3, 7], u: [3, 7] }, build: (n) => n.op("ScatterND", ["x", n.int64([3, 1], [2, 0, 2]), "u"], { reduction: "add" }), tol: EXACT },
  { name: "GatherND by ArgMax indices", inputs: { x: [3, 7] }, build: (n) => n.op("GatherND", ["x", n.op("ArgMax", ["x"], { axis: 1 })], { batch_dims: 1 }), tol: EXACT },
  { name: "ConstantOfShape added to an input", inputs: { x: X }, build: (n) => n.op("Add", ["x", n.op("ConstantOfShape", [n.int64([4], X)])]), tol: EXACT },
  { name: "Range as Gather indices", inputs: { x: X }, build: (n) => n.op("Gather", ["x", n.op("Range", [n.int64([], [0]), n.int64([], [4]), n.int64([], [2])])], { axis: 2 }), tol: EXACT },
  { name: "Expand over a new batch axis", inputs: { x: [3, 1, 5] }, build: (n) => n.op("Expand", ["x", n.int64([4], [2, 3, 4, 5])]), tol: EXACT },
  { name: "Tile", inputs: { x: [2, 3] }, build: (n) => n.op("Tile", ["x", n.int64([2], [3, 2])]), tol: EXACT },
  { name: "Split of a conv output's channels", inputs: { x: X }, build: (n) => n.op("Split", [viaConv(n), n.int64([2], [1, 3])], { axis: 1 }, "split", ["split_a", "split_b"]), tol: ONE_LAYER },
  { name: "DepthToSpace of a conv output", inputs: { x: X }, build: (n) => n.op("DepthToSpace", [viaConv(n)], { blocksize: 2, mode: "CRD" }), tol: ONE_LAYER },
  { name: "SpaceToDepth", inputs: { x: [1, 2, 6, 4] }, build: (n) => n.op("SpaceToDepth", ["x"], { blocksize: 2 }), tol: EXACT },
  {
    name: "NonMaxSuppression of constant boxes by computed scores", inputs: { x: [1, 1, 6] }, tol: EXACT, elemType: DataType.INT64,
    build: (n) => n.op("NonMaxSuppression", [n.constant([1, 6, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0.5, 0.5, 1, 1, 0, 0, 0.3, 0.3, 0.7, 0.7, 1, 1, 0.1, 0, 1.1, 1]), "x", n.int64([1], [4]), n.constant([1], [0.5])]),
  },
  { name: "NonZero of a comparison", inputs: { x: X }, build: (n) => n.op("NonZero", [n.op("Greater", ["x", n.constant([], [0])])]), tol: EXACT, elemType: DataType.INT64 },
  // Concat.
  { name: "Concat axis 1 of two conv outputs (NHWC)", inputs: { x: X }, build: (n) => n.op("Concat", [viaConv(n), n.conv("x", 4, 3, 3, { pads: pads(1, 1, 1, 1) })], { axis: 1 }), tol: ONE_LAYER },
  { name: "Concat axis 1 of a conv output and an input", inputs: { x: X, z: [1, 2, 7, 6] }, build: (n) => n.op("Concat", ["z", viaConv(n)], { axis: 1 }), tol: ONE_LAYER },
  { name: "Concat axis 1 of inputs and a constant", inputs: { x: X, z: [1, 2, 7, 6] }, build: (n) => n.op("Concat", ["x", n.random([1, 3, 7, 6]), "z"], { axis: 1 }), tol: EXACT },
  { name: "Concat axis 2", inputs: { x: X, z: [1, 4, 3, 6] }, build: (n) => n.op("Concat", ["x", "z"], { axis: 2 }), tol: EXACT },
  { name: "Concat axis -1 of conv outputs", inputs: { x: X }, build: (n) => n.op("Concat", [viaConv(n), viaConv(n)], { axis: -1 }), tol: ONE_LAYER },
  { name: "Concat axis 0", inputs: { a: [2, 5], b: [3, 5] }, build: (n) => n.op("Concat", ["a", "b"], { axis: 0 }), tol: EXACT },
  // Transpose.
  ...[[0, 2, 3, 1], [0, 3, 1, 2], [3, 1, 0, 2], [2, 0, 3, 1]].map((perm): OpCase => ({
    name: `Transpose perm ${perm}`, inputs: { x: X }, build: (n) => n.op("Transpose", ["x"], { perm }), tol: EXACT,
  })),
  { name: "Transpose default perm (reverse)", inputs: { x: [2, 3, 4] }, build: (n) => n.op("Transpose", ["x"]), tol: EXACT },
  { name: "Transpose (0,2,3,1) of a conv output", inputs: { x: X }, build: (n) => n.op("Transpose", [viaConv(n)], { perm: [0, 2, 3, 1] }), tol: ONE_LAYER },
  { name: "Transpose (1,0,3,2) of a conv output", inputs: { x: X }, build: (n) => n.op("Transpose", [viaConv(n)], { perm: [1, 0, 3, 2] }), tol: ONE_LAYER },
  { name: "Transpose (0,3,1,2) then conv", inputs: { x: [1, 7, 6, 4] }, build: (n) => viaConv(n, n.op("Transpose", ["x"], { perm: [0, 3, 1, 2] })), tol: ONE_LAYER },
  // Slice.
  { name: "Slice negative starts and ends, axes", inputs: { x: X }, build: (n) => n.op("Slice", ["x", n.int64([2], [-5, 1]), n.int64([2], [-1, 100]), n.int64([2], [2, 3])]), tol: EXACT },
  { name: "Slice negative steps", inputs: { x: X }, build: (n) => n.op("Slice", ["x", n.int64([2], [-1, 5]), n.int64([2], [-100, 0]), n.int64([2], [3, 2]), n.int64([2], [-2, -1])]), tol: EXACT },
  { name: "Slice steps 2 on channels of a conv output", inputs: { x: X }, build: (n) => n.op("Slice", [viaConv(n), n.int64([1], [0]), n.int64([1], [4]), n.int64([1], [1]), n.int64([1], [2])]), tol: ONE_LAYER },
  { name: "Slice without axes", inputs: { x: [3, 5] }, build: (n) => n.op("Slice", ["x", n.int64([2], [1, -4]), n.int64([2], [3, -1])]), tol: EXACT },
  { name: "Slice attributes (opset 9)", opset: 9, inputs: { x: X }, build: (n) => n.op("Slice", ["x"], { starts: [1, -4], ends: [3, 1000], axes: [1, 3] }), tol: EXACT },
  // Gather.
  { name: "Gather axis 1 of an input, indices [2, 0, -1]", inputs: { x: X }, build: (n) => n.op("Gather", ["x", n.int64([3], [2, 0, -1])], { axis: 1 }), tol: EXACT },
  { name: "Gather axis 0 scalar index", inputs: { x: [3, 4, 5] }, build: (n) => n.op("Gather", ["x", n.int64([], [1])], { axis: 0 }), tol: EXACT },
  { name: "Gather 2-d indices, axis -1", inputs: { x: [3, 4, 5] }, build: (n) => n.op("Gather", ["x", n.int64([2, 2], [4, 0, 1, 1])], { axis: -1 }), tol: EXACT },
  { name: "Gather of constant data, added to an input", inputs: { x: [2, 5] }, build: (n) => n.op("Add", ["x", n.op("Gather", [n.random([4, 5]), n.int64([2], [3, 1])], { axis: 0 })]), tol: EXACT },
  { name: "Gather on a conv output (channels)", inputs: { x: X }, build: (n) => n.op("Gather", [viaConv(n), n.int64([2], [3, 1])], { axis: 1 }), tol: ONE_LAYER },
  // Pad.
  { name: "Pad spatial of a conv output, value 0.5", inputs: { x: X }, build: (n) => n.op("Pad", [viaConv(n), n.int64([8], [0, 0, 1, 2, 0, 0, 3, 0]), n.constant([], [0.5])]), tol: ONE_LAYER },
  { name: "Pad channels and batch of an input", inputs: { x: X }, build: (n) => n.op("Pad", ["x", n.int64([8], [1, 2, 0, 0, 0, 1, 0, 0])]), tol: EXACT },
  { name: "Pad channel axis of a conv output", inputs: { x: X }, build: (n) => n.op("Pad", [viaConv(n), n.int64([8], [0, 1, 0, 0, 0, 2, 0, 1]), n.constant([], [-1])]), tol: ONE_LAYER },
  { name: "Pad 2-d", inputs: { x: [3, 4] }, build: (n) => n.op("Pad", ["x", n.int64([4], [1, 0, 2, 3])]), tol: EXACT },
  { name: "Pad attributes (opset 9)", opset: 9, inputs: { x: X }, build: (n) => n.op("Pad", ["x"], { pads: [0, 0, 2, 1, 0, 0, 0, 2], value: 1.5 }), tol: EXACT },
  { name: "Pad axes input (opset 18)", opset: 18, inputs: { x: X }, build: (n) => n.op("Pad", [viaConv(n), n.int64([4], [1, 2, 2, 1]), n.constant([], [0.25]), n.int64([2], [2, -1])]), tol: ONE_LAYER },
  // Flatten, Reshape, Squeeze, Unsqueeze.
  ...[0, 1, 2, 3, -1].map((axis): OpCase => ({ name: `Flatten axis ${axis} of a conv output`, inputs: { x: X }, build: (n) => n.op("Flatten", [viaConv(n)], { axis }), tol: ONE_LAYER })),
  { name: "Flatten of an input (default axis)", inputs: { x: X }, build: (n) => n.op("Flatten", ["x"]), tol: EXACT },
  { name: "Reshape with 0 and -1", inputs: { x: X }, build: (n) => n.op("Reshape", ["x", n.int64([3], [0, -1, 6])]), tol: EXACT },
  { name: "Reshape of a conv output with 0 and -1", inputs: { x: X }, build: (n) => n.op("Reshape", [viaConv(n), n.int64([3], [0, 0, -1])]), tol: ONE_LAYER },
  { name: "Reshape then conv", inputs: { x: [1, 168] }, build: (n) => viaConv(n, n.op("Reshape", ["x", n.int64([4], [1, 4, 7, 6])])), tol: ONE_LAYER },
  { name: "Squeeze / Unsqueeze with axes inputs (opset 13)", inputs: { x: [1, 4, 1, 6] }, build: (n) => n.op("Unsqueeze", [n.op("Squeeze", ["x", n.int64([2], [0, 2])]), n.int64([2], [-1, 1])]), tol: EXACT },
  { name: "Squeeze / Unsqueeze with axes attributes (opset 11)", opset: 11, inputs: { x: [1, 4, 1, 6] }, build: (n) => n.op("Unsqueeze", [n.op("Squeeze", ["x"], { axes: [2] })], { axes: [0, 4] }), tol: EXACT },
  { name: "Squeeze without axes", inputs: { x: [1, 4, 1, 6] }, build: (n) => n.op("Squeeze", ["x"]), tol: EXACT },
  { name: "Squeeze of a global pool output", inputs: { x: X }, build: (n) => n.op("Squeeze", [n.op("GlobalAveragePool", [viaConv(n)]), n.int64([2], [2, 3])]), tol: ONE_LAYER },
  // Identity, Dropout, Constant, Shape.
  { name: "Identity and Dropout (opset 13)", inputs: { x: X }, build: (n) => n.op("Dropout", [n.op("Identity", [n.op("Relu", ["x"])])]), tol: EXACT },
  { name: "Dropout with ratio attribute (opset 9)", opset: 9, inputs: { x: X }, build: (n) => n.op("Dropout", [viaConv(n)], { ratio: 0.5 }), tol: ONE_LAYER },
  { name: "Dropout with ratio input (opset 13)", inputs: { x: X }, build: (n) => n.op("Dropout", ["x", n.constant([], [0.3])]), tol: EXACT },
  {
    name: "Constant value tensor, value_float, value_floats, value_ints", inputs: { x: [2, 3] },
    build: (n) => {
      const t = n.op("Constant", [], { value: { dims: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) } });
      const s = n.op("Constant", [], { value_float: 0.5 });
      const v = n.op("Constant", [], { value_floats: [0.25, 0.5, 0.75] });
      const shape = n.op("Constant", [], { value_ints: [3, 2] });
      const sum = n.op("Add", [n.op("Mul", [n.op("Add", ["x", t]), s]), v]);
      return n.op("Reshape", [sum, shape]);
    },
    tol: EXACT,
  },
  {
    name: "Shape with start/end (opset 15) into Reshape", opset: 15, inputs: { x: [2, 3, 4], z: [6, 4] },
    build: (n) => n.op("Reshape", ["x", n.op("Concat", [n.int64([1], [-1]), n.op("Shape", ["z"], { start: -1 })], { axis: 0 })]),
    tol: EXACT,
  },
  {
    name: "Shape/Gather/Mul/Div integer arithmetic folded", inputs: { x: [2, 4, 3, 6] },
    build: (n) => {
      const s = n.op("Shape", ["x"]);
      const hw = n.op("Mul", [n.op("Gather", [s, n.int64([1], [2])], { axis: 0 }), n.op("Gather", [s, n.int64([1], [3])], { axis: 0 })]);
      const half = n.op("Div", [n.op("Gather", [s, n.int64([1], [1])], { axis: 0 }), n.int64([1], [2])]);
      return n.op("Reshape", ["x", n.op("Concat", [n.int64([1], [-1]), half, hw], { axis: 0 })]);
    },
    tol: EXACT,
  },
];

describe("one model per operator and attribute form, against onnxruntime-web", () => {
  const cases = OP_CASES.map((c, i) => opCase(c, i));

  for (const c of cases) {
    it(c.name, async () => {
      await check(c);
    });
  }

  it("runs quantized models' convolutions and matrix products as 8-bit steps, and QDQ differs from onnxruntime by one step in few places", async () => {
    for (const name of [
      "QDQ Conv 3x3 int8 weights per channel, uint8 activations, pads", "QDQ MatMul uint8 weights with a zero point",
      "QLinearConv 3x3 int8 weights per channel, int32 bias, pads", "QLinearMatMul uint8 weights with a zero point", "DynamicQuantizeLinear -> MatMulInteger uint8, per-column zero points and scales"]) {
      const c = cases.find((x) => x.name === name)!;
      const model = await E.simd.loadOnnx(c.bytes);
      const names = steps(model.summary());
      expect(names.filter((s) => s.startsWith("qconv ")), name).toHaveLength(1);
      expect(names.some((s) => s.startsWith("conv") || s.startsWith("gemm") || s === "matmul"), name).toBe(false);
      const feedData = c.feeds[0];
      const got = model.run(Object.fromEntries(Object.entries(feedData).map(([k, v]) => [k, v.data])));
      const ref = (await ortOutputs(c, 0)).y.data;
      const y = got.y as Float32Array;
      const off = y.filter((v, i) => v !== ref[i]).length;
      // One step apart only at near-ties: a handful of elements, never a systematic shift.
      console.log(`${name}: ${off} of ${y.length} outputs differ from onnxruntime (by one step)`);
      expect(off / y.length, name).toBeLessThan(0.01);
      model.dispose();
    }
  });

  it("refuses an 8-bit tensor read by an op without 8-bit support, naming the reader", async () => {
    const q = new Net(new Rng(7));
    q.output(q.op("Relu", [q.op("QuantizeLinear", ["x", q.constant([], [0.1]), q.int8([], [3], false)])]));
    await expect(E.simd.loadOnnx(q.model({ opset: 13, inputs: [{ name: "x", shape: [1, 4] }], outputs: [{ name: "y" }] })))
      .rejects.toThrow(/UnsupportedError|8-bit output is read by Relu/);
    const d = new Net(new Rng(8));
    d.op("DynamicQuantizeLinear", ["x"], undefined, "dql", ["xq", "xs", "xz"]);
    d.output(d.op("Add", ["xs", d.constant([], [1])]));
    await expect(E.simd.loadOnnx(d.model({ opset: 13, inputs: [{ name: "x", shape: [1, 4] }], outputs: [{ name: "y" }] })))
      .rejects.toThrow(/'xs' is an 8-bit tensor/);
  });

  it("covers every op of SUPPORTED_ONNX_OPS", () => {
    const missing = SUPPORTED_ONNX_OPS.filter((op) => !covered.has(op));
    expect(missing).toEqual([]);
  });
});
