// Whole U-Nets as exporters write them, in simdcnn and in onnxruntime-web: PyTorch's torch.onnx
// exports in test/fixtures/unet/ (made by make.py there: ConvTranspose, bilinear and nearest
// Resize, Upsample at opset 9, F.interpolate(size=..., align_corners=True) with its Shape
// arithmetic; Softmax over channels or a Sigmoid) and a tf2onnx-style NHWC U-Net written here.
// Each is checked in both builds, fused and unfused, at batch 1 and 2, and on two threads against one.
//
// Tolerance (UNET): |simdcnn - ORT| <= 1e-4 |ORT| (+ 1e-7, for outputs that round to near 0). Both
// runtimes compute every convolution as float32 sums of at most 32 * 9 = 288 products, in
// different orders (and simdcnn folds BatchNorm into the weights, one more rounding each): the
// logits differ by a few 1e-6 after the network's 13 layers. The heads keep that relative: a
// softmax output y_i moves by y_i times the change in logit differences, a sigmoid's by (1 - y)
// times the change of its logit; plus the exp polynomials' few ulps. 1e-4 relative is ~50x the
// worst seen (1.8e-6), and far below what a wrong tap, pad, resize coordinate or skip would do
// (the test below moves one ConvTranspose weight by 1% and sees it).
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, init } from "../src/node.js";
import { decodeModel } from "../src/onnx/decode.js";
import { encodeModel } from "../src/onnx/encode.js";
import { type BackendName, compare, engines } from "./grid.js";
import type { AttributeValue } from "./onnx-builder.js";
import { type Feed, Net, type OrtCase, type Tol, checkCase, ortOutputs } from "./networks.js";
import { Rng, prod } from "./reference.js";
import { bits, widest } from "./threading.js";

const UNET: Tol = { atol: 1e-7, rtol: 1e-4 };

const DIR = new URL("./fixtures/unet/", import.meta.url);

/** Each fixture and its input [C, H, W] (the batch is the export's dynamic axis N). */
const FIXTURES: Record<string, [number, number, number]> = {
  "unet-deconv-opset13.onnx": [1, 64, 64],
  "unet-deconv-opset11.onnx": [1, 64, 64],
  "unet-deconv-bn-opset13.onnx": [1, 64, 64],
  "unet-bilinear-opset13.onnx": [1, 64, 64],
  "unet-bilinear-opset11.onnx": [1, 64, 64],
  "unet-nearest-opset13.onnx": [1, 64, 64],
  "unet-nearest-opset9.onnx": [1, 64, 64],
  "unet-size-align-corners-opset13.onnx": [1, 66, 50],
  "unet-size-align-corners-opset11.onnx": [1, 66, 50],
};

/** What each fixture must contain, so that a re-export that drops the op under test is noticed. */
const MUST_HAVE: Record<string, string[]> = {
  deconv: ["ConvTranspose", "Concat", "Softmax"],
  "deconv-bn": ["ConvTranspose", "BatchNormalization", "Concat", "Softmax"],
  bilinear: ["Resize", "Concat", "Softmax"],
  nearest: ["Concat", "Softmax"],
  "size-align-corners": ["Resize", "Shape", "Concat", "Sigmoid"],
};

let E: Record<BackendName, Engine>;
let two: Engine;
beforeAll(async () => {
  E = await engines();
  two = await init({ threads: 2 });
});
afterAll(() => two.dispose());

function fixture(file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, DIR)));
}

/** Inputs in [0, 1), as a normalized slice is, at batch 1 and 2. */
function feeds(name: string, seed: number, chw: number[]): Record<string, Feed>[] {
  const rng = new Rng(seed);
  return [1, 2].map((n) => ({ [name]: { data: rng.f32(n * prod(chw), 0, 1), dims: [n, ...chw] } }));
}

const worst = new Map<string, number>();


/** ORT, both builds fused and unfused, then two threads against one on the batch-2 feed. */
async function check(c: OrtCase, key: string): Promise<void> {
  const r = await checkCase(E, c);
  worst.set(key, r.worst);
  expect(r.problems, c.name).toEqual([]);
  const input = c.feeds[1];
  const inputs = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v.data]));
  const one = await E.simd.loadOnnx(c.bytes);
  const par = await two.loadOnnx(c.bytes);
  try {
    const a = one.run(inputs);
    const { result: b, calls } = widest(two, () => par.run(inputs));
    expect(calls, `${c.name}: 2 threads split the work`).toBeGreaterThanOrEqual(2);
    for (const name of Object.keys(a)) expect(bits(b[name]) === bits(a[name]), `${c.name} ${name}: 2 threads differ from 1`).toBe(true);
  } finally {
    one.dispose();
    par.dispose();
  }
}

describe("PyTorch-exported U-Nets (test/fixtures/unet) against onnxruntime-web", () => {
  it("the fixture folder holds exactly the listed models, each small and with the ops it is there for", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".onnx")).sort();
    expect(files).toEqual(Object.keys(FIXTURES).sort());
    for (const file of files) {
      const bytes = fixture(file);
      expect(bytes.length, file).toBeLessThan(300 * 1024);
      const m = decodeModel(bytes);
      const ops = new Set(m.graph.nodes.map((n) => n.opType));
      const kind = file.replace(/^unet-/, "").replace(/-opset\d+\.onnx$/, "");
      const opset = Number(/opset(\d+)/.exec(file)![1]);
      expect(m.opsets.get(""), file).toBe(opset);
      const upsample = opset < 10 ? "Upsample" : "Resize";
      for (const op of [...MUST_HAVE[kind], ...(kind === "nearest" ? [upsample] : [])]) expect(ops.has(op), `${file} has ${op}`).toBe(true);
      expect(m.producer, file).toBe("pytorch");
    }
  });

  for (const [i, [file, chw]] of Object.entries(FIXTURES).entries()) {
    it(file, async () => check({ name: file, bytes: fixture(file), feeds: feeds("input", 100 + i, chw), tol: UNET }, file));
  }

  it("the tolerance can fail: one ConvTranspose weight moved by 1%", async () => {
    const file = "unet-deconv-opset13.onnx";
    const c: OrtCase = { name: file, bytes: fixture(file), feeds: feeds("input", 100, FIXTURES[file]), tol: UNET };
    const ref = (await ortOutputs(c, 0)).output.data;
    const m = decodeModel(c.bytes);
    const deconv = m.graph.nodes.find((n) => n.opType === "ConvTranspose")!;
    const w = m.graph.initializers.get(deconv.inputs[1])!.floats!;
    let k = 0;
    for (let j = 1; j < w.length; j++) if (Math.abs(w[j]) > Math.abs(w[k])) k = j;
    w[k] *= 1.01;
    const model = await E.simd.loadOnnx(encodeModel(m));
    const got = model.run({ input: c.feeds[0].input.data }).output;
    model.dispose();
    expect(compare(got, ref, (j) => UNET.atol + UNET.rtol * Math.abs(ref[j]))).not.toBe("");
  });
});

/**
 * A Keras U-Net as tf2onnx writes it: NHWC input and output, each convolution region (conv,
 * conv, pool; or the transposed convolution) between a Transpose to NCHW and one back, the skip
 * Concat on the NHWC channel axis 3, the per-pixel Softmax on the last axis. BatchNorm arrives
 * folded into the convolutions, as tf2onnx folds it. Four levels (8 to 64 channels); one
 * up-sampling is a 2x2 stride-2 ConvTranspose, the others 3x3 stride 2 with the output_shape
 * Keras's padding='same' gives.
 */
function kerasUnet(n: Net, classes: number): string {
  const toNchw = (t: string) => n.op("Transpose", [t], { perm: [0, 3, 1, 2] });
  const toNhwc = (t: string) => n.op("Transpose", [t], { perm: [0, 2, 3, 1] });
  const relu = (t: string) => n.op("Relu", [t]);
  const block = (x: string, cin: number, cout: number) => relu(n.conv(relu(n.conv(x, cin, cout, 3, { pads: [1, 1, 1, 1] })), cout, cout, 3, { pads: [1, 1, 1, 1] }));
  const skips: string[] = [];
  let x = "x";
  let c = 1;
  let size = 48;
  for (const cout of [8, 16, 32]) {
    const y = block(toNchw(x), c, cout);
    skips.push(toNhwc(y));
    x = toNhwc(n.op("MaxPool", [y], { kernel_shape: [2, 2], strides: [2, 2] }));
    c = cout;
    size /= 2;
  }
  x = toNhwc(block(toNchw(x), c, 64));
  c = 64;
  for (const [level, skip] of [...skips.entries()].reverse()) {
    size *= 2;
    const half = c / 2;
    const k = level === 1 ? 2 : 3;
    const w = n.weight([c, half, k, k], c * k * k);
    const attrs: Record<string, AttributeValue> = { kernel_shape: [k, k], strides: [2, 2], ...(k === 3 ? { output_shape: [size, size] } : {}) };
    const up = toNhwc(relu(n.op("ConvTranspose", [toNchw(x), w, n.random([half], -0.1, 0.1)], attrs)));
    const cat = n.op("Concat", [up, skip], { axis: 3 });
    x = toNhwc(block(toNchw(cat), c, half));
    c = half;
  }
  return n.op("Softmax", [toNhwc(n.conv(toNchw(x), c, classes, 1))], { axis: -1 });
}

describe("a tf2onnx-style NHWC U-Net (ConvTranspose, Concat on axis 3, Softmax on the last axis) against onnxruntime-web", () => {
  for (const opset of [13, 11]) {
    it(`opset ${opset}`, async () => {
      const n = new Net(new Rng(31));
      n.output(kerasUnet(n, 3));
      const bytes = n.model({ opset, producer: "tf2onnx", inputs: [{ name: "x", shape: ["N", 48, 48, 1] }], outputs: [{ name: "y" }] });
      await check({ name: `keras unet opset ${opset}`, bytes, feeds: feeds("x", 40 + opset, [48, 48, 1]), tol: UNET }, `keras opset ${opset}`);
    });
  }
});

afterAll(() => {
  console.log(`unet: worst |simdcnn - ORT| / (1 + |ORT|): ${[...worst].map(([k, v]) => `${k} ${v.toExponential(1)}`).join(", ")}`);
});
