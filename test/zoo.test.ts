// The model zoo (test/fixtures/zoo, made by make.py there): small random-weight models of the
// common architecture families as users' exporters write them, at opsets 11-17, plus a
// tf2onnx-style NHWC model, a float16-weight copy and an external-data copy. Each is loaded in
// both builds and run on one seeded random input; the SIMD build must match onnxruntime-web and
// the scalar build must match the SIMD build bit for bit.
//
// Tolerance (ZOO_RTOL): max |simdcnn - ORT| <= 1e-4 * max |ORT| over each output. Both runtimes
// compute every convolution and dense layer as float32 sums in different orders, and simdcnn folds
// BatchNorm into the weights and uses its own exp/sigmoid polynomials (a few ulps): after the ~10-30
// layers here the outputs differ by at most ~1e-6 of their range (1.05e-6 the worst seen, a U-Net and
// MobileNetV3; most are 1e-7 to 5e-7), so 1e-4 is ~100x that. Measured against the largest output
// rather than each element, because a softmax or sigmoid output near 0 carries the absolute error
// of its logits. 1e-4 of the range still catches one weight of 216 in the first convolution moved
// by 1% (4e-4, the test below), and so a wrong tap, pad, resize coordinate, shuffle permutation
// or skip connection, which move outputs by percents.
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, init } from "../src/node.js";
import { decodeModel } from "../src/onnx/decode.js";
import { encodeModel } from "../src/onnx/encode.js";
import type { BackendName } from "./grid.js";
import { runOrt } from "./ort.js";
import { Rng, prod } from "./reference.js";
import { bits } from "./threading.js";

const ZOO_RTOL = 1e-4;
const DIR = new URL("./fixtures/zoo/", import.meta.url);

/** Each model's input, NCHW except the Keras-style export's NHWC. */
const INPUTS: Record<string, number[]> = {
  "densenet-opset11.onnx": [1, 3, 32, 32],
  "densenet-opset14.onnx": [1, 3, 32, 32],
  "efficientnet-b0-opset13.onnx": [1, 3, 32, 32],
  "efficientnet-b0-opset15.onnx": [1, 3, 32, 32],
  "efficientnet-lite-relu6-opset11.onnx": [1, 3, 32, 32],
  "efficientnet-lite-relu6-opset13.onnx": [1, 3, 32, 32],
  "efficientnet-lite-silu-opset14.onnx": [1, 3, 32, 32],
  "efficientnet-lite-silu-opset17.onnx": [1, 3, 32, 32],
  "keras-nhwc-opset11.onnx": [1, 32, 32, 3],
  "keras-nhwc-opset13.onnx": [1, 32, 32, 3],
  "mobilenetv2-external-opset13.onnx": [1, 3, 32, 32],
  "mobilenetv2-opset11.onnx": [1, 3, 32, 32],
  "mobilenetv2-opset13.onnx": [1, 3, 32, 32],
  "mobilenetv2-opset15.onnx": [1, 3, 32, 32],
  "mobilenetv3-large-opset12.onnx": [1, 3, 32, 32],
  "mobilenetv3-large-opset14.onnx": [1, 3, 32, 32],
  "mobilenetv3-small-opset13.onnx": [1, 3, 32, 32],
  "mobilenetv3-small-opset14.onnx": [1, 3, 32, 32],
  "mobilenetv3-small-opset17.onnx": [1, 3, 32, 32],
  "resnet-basic-fp16-opset13.onnx": [1, 3, 32, 32],
  "resnet-basic-opset11.onnx": [1, 3, 32, 32],
  "resnet-basic-opset13.onnx": [1, 3, 32, 32],
  "resnet-basic-opset17.onnx": [1, 3, 32, 32],
  "resnet-bottleneck-opset12.onnx": [1, 3, 32, 32],
  "resnet-bottleneck-opset16.onnx": [1, 3, 32, 32],
  "shufflenetv2-opset11.onnx": [1, 3, 64, 64],
  "shufflenetv2-opset13.onnx": [1, 3, 64, 64],
  "shufflenetv2-opset17.onnx": [1, 3, 64, 64],
  "squeezenet-opset11.onnx": [1, 3, 48, 48],
  "squeezenet-opset13.onnx": [1, 3, 48, 48],
  "unet-opset11.onnx": [1, 1, 32, 32],
  "unet-opset13.onnx": [1, 1, 32, 32],
  "unet-opset16.onnx": [1, 1, 32, 32],
  "yolo-head-opset11.onnx": [1, 3, 64, 64],
  "yolo-head-opset13.onnx": [1, 3, 64, 64],
  "yolo-head-opset17.onnx": [1, 3, 64, 64],
};

/** What each family must contain, so that a re-export that drops the pattern it is there for is noticed. */
const MUST_HAVE: Record<string, string[]> = {
  densenet: ["Concat", "BatchNormalization", "AveragePool"],
  "efficientnet-b0": ["Sigmoid", "Mul", "GlobalAveragePool"],
  "efficientnet-lite-relu6": ["Clip", "Conv"],
  "efficientnet-lite-silu": ["Sigmoid", "Mul"],
  "keras-nhwc": ["Transpose", "MatMul", "Mul", "Add", "ReduceMean", "Softmax"],
  mobilenetv2: ["Clip", "Add"],
  "mobilenetv2-external": ["Clip", "Add"],
  "mobilenetv3-large": ["HardSigmoid", "Mul"],
  "mobilenetv3-small": ["HardSigmoid", "Mul"],
  "resnet-basic": ["Add", "MaxPool", "Gemm"],
  "resnet-basic-fp16": ["Cast", "Add"],
  "resnet-bottleneck": ["Add", "MaxPool", "Gemm"],
  shufflenetv2: ["Reshape", "Transpose", "Slice", "Concat"],
  squeezenet: ["Concat", "MaxPool"],
  unet: ["ConvTranspose", "Concat", "Sigmoid"],
  "yolo-head": ["Resize", "Concat", "Sigmoid", "LeakyRelu"],
};

/**
 * Models simdcnn does not yet load or run as onnxruntime-web does, with the start of the error each
 * still gives; the test asserts they still fail that way, so an entry is removed when it is fixed.
 */
const KNOWN_FAILING: Record<string, RegExp> = {};

/**
 * The external-data copy is read from its path (its weights in the sidecar beside it); ORT gets the
 * self-contained model it was made from, the same weights.
 */
const ORT_SOURCE: Record<string, string> = {
  "mobilenetv2-external-opset13.onnx": "mobilenetv2-opset13.onnx",
};

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  // The Node entry, which reads a model's path and its external data beside it.
  const [simd, scalar] = await Promise.all([init({ backend: "simd" }), init({ backend: "scalar" })]);
  E = { simd, scalar };
});
afterAll(() => {
  E.simd.dispose();
  E.scalar.dispose();
});

function path(file: string): string {
  return fileURLToPath(new URL(file, DIR));
}

function input(file: string, seed: number): { data: Float32Array; dims: number[] } {
  const dims = INPUTS[file];
  return { data: new Rng(seed).f32(prod(dims), 0, 1), dims };
}

async function ortRef(file: string, seed: number) {
  return runOrt(new Uint8Array(readFileSync(path(ORT_SOURCE[file] ?? file))), { input: input(file, seed) });
}

/** max |got - ref| <= ZOO_RTOL max |ref|, or the problem. */
function compareMax(got: ArrayLike<number> | undefined, ref: Float32Array, where: string): string {
  if (!got || got.length !== ref.length) return `${where}: ${got?.length ?? "no"} values, ORT has ${ref.length}`;
  let err = 0;
  let mag = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i] - ref[i]));
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  return err <= ZOO_RTOL * mag ? "" : `${where}: max |simd - ORT| ${err.toExponential(2)} > ${ZOO_RTOL} * ${mag.toExponential(2)}`;
}

/** Runs `file` in both builds; returns the problems found (empty when it matches ORT). */
async function check(file: string, seed: number): Promise<string[]> {
  const ref = await ortRef(file, seed);
  const { data } = input(file, seed);
  const got: Partial<Record<BackendName, Record<string, Float32Array>>> = {};
  for (const backend of ["simd", "scalar"] as const) {
    const model = await E[backend].loadOnnx(path(file));
    try {
      got[backend] = model.run({ input: data }) as Record<string, Float32Array>;
    } finally {
      model.dispose();
    }
  }
  const problems: string[] = [];
  for (const [name, r] of Object.entries(ref)) {
    const p = compareMax(got.simd?.[name], r.data, `${file} ${name}`);
    if (p) problems.push(p);
    else if (bits(got.simd![name]) !== bits(got.scalar![name])) problems.push(`${file} ${name}: scalar build differs from SIMD`);
  }
  return problems;
}

describe("model zoo (test/fixtures/zoo) against onnxruntime-web", () => {
  it("the fixture folder holds exactly the listed models, each small", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".onnx")).sort();
    expect(files).toEqual(Object.keys(INPUTS).sort());
    for (const f of readdirSync(DIR)) expect(readFileSync(path(f)).length, f).toBeLessThan(200 * 1024);
    for (const file of files) {
      const m = decodeModel(readFileSync(path(file)));
      const ops = new Set(m.graph.nodes.map((n) => n.opType));
      const family = file.replace(/-opset\d+\.onnx$/, "");
      for (const op of MUST_HAVE[family]) expect(ops.has(op), `${file} has ${op}`).toBe(true);
      const opset = Number(/opset(\d+)/.exec(file)![1]);
      expect(opset, file).toBeGreaterThanOrEqual(11);
      expect(opset, file).toBeLessThanOrEqual(17);
    }
  });

  it("the float16 copy stores its weights as FLOAT16 and the external-data copy keeps them beside it", () => {
    const FLOAT16 = 10;
    const half = [...decodeModel(readFileSync(path("resnet-basic-fp16-opset13.onnx"))).graph.initializers.values()];
    expect(half.filter((t) => t.dataType === FLOAT16).length).toBeGreaterThan(10);
    expect(half.filter((t) => t.dataType !== FLOAT16 && t.floats)).toEqual([]);
    const ext = [...decodeModel(readFileSync(path("mobilenetv2-external-opset13.onnx"))).graph.initializers.values()];
    expect(ext.filter((t) => t.external?.location === "mobilenetv2-external-opset13.onnx.data").length).toBeGreaterThan(10);
  });

  it("the tolerance can fail: the largest weight of ResNet's first convolution (one of 216) moved by 1%", async () => {
    const file = "resnet-basic-opset13.onnx";
    const ref = await ortRef(file, 1);
    const m = decodeModel(readFileSync(path(file)));
    const convs = m.graph.nodes.filter((n) => n.opType === "Conv");
    const w = m.graph.initializers.get(convs[0].inputs[1])!.floats!;
    let k = 0;
    for (let j = 1; j < w.length; j++) if (Math.abs(w[j]) > Math.abs(w[k])) k = j;
    w[k] *= 1.01;
    const model = await E.simd.loadOnnx(encodeModel(m));
    const got = model.run({ input: input(file, 1).data }).output as Float32Array;
    model.dispose();
    expect(compareMax(got, ref.output.data, file)).not.toBe("");
  });

  for (const [seed, file] of Object.keys(INPUTS).entries()) {
    const failing = KNOWN_FAILING[file];
    if (failing) {
      it(`${file} still fails (KNOWN_FAILING): ${failing.source}`, async () => {
        let message = "";
        try {
          message = (await check(file, 100 + seed)).join("\n");
        } catch (e) {
          message = `${(e as Error).name}: ${(e as Error).message}`;
        }
        expect(message).toMatch(failing);
      });
    } else {
      it(`${file} loads and matches onnxruntime-web; scalar = SIMD`, async () => {
        expect(await check(file, 100 + seed)).toEqual([]);
      });
    }
  }
});
