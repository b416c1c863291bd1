// A compiled plan records its steps' kernel calls on its first run and replays them on later runs
// (src/graph/compile.ts, Runtime.record). A replayed run must equal a first run to the bit: each
// case runs one model on input a, then b (replayed), then a again, and compares b's outputs with a
// fresh model's first run on b and the second a with the first; on the zoo's families (every step
// kind they hold), on one thread and on two (where a large step's calls go to the workers). A
// step whose calls depend on the values it reads, a dynamic input quantization, must run whole:
// its second input has another range, so a replay of the first run's scales would differ from
// onnxruntime-web, which the case checks exactly (every step of the dynamic quantization is
// specified to the bit).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, init } from "../src/index.js";
import { decodeModel } from "../src/onnx/decode.js";
import { DataType } from "../src/onnx/model.js";
import { compareBits } from "./grid.js";
import { Net } from "./networks.js";
import { runOrt } from "./ort.js";
import { Rng } from "./reference.js";

const ZOO = [
  "resnet-basic-opset13.onnx", "resnet-bottleneck-opset12.onnx", "mobilenetv3-small-opset13.onnx", "shufflenetv2-opset13.onnx",
  "efficientnet-lite-silu-opset14.onnx", "densenet-opset14.onnx", "squeezenet-opset13.onnx", "unet-opset13.onnx",
  "yolo-head-opset13.onnx", "keras-nhwc-opset13.onnx",
];

const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);

let one: Engine;
let two: Engine;
beforeAll(async () => {
  [one, two] = await Promise.all([init({ backend: "simd" }), init({ backend: "simd", threads: 2 })]);
});
afterAll(() => {
  one.dispose();
  two.dispose();
});

/** a, then b, then a on one model; b on a fresh one: b's outputs and the two a's must agree to the bit. */
async function replayed(e: Engine, bytes: Uint8Array, name: string, a: Float32Array, b: Float32Array): Promise<string[]> {
  const model = await e.loadOnnx(bytes);
  const fresh = await e.loadOnnx(bytes);
  try {
    const first = model.run({ [name]: a });
    const second = model.run({ [name]: b });
    const again = model.run({ [name]: a });
    const ref = fresh.run({ [name]: b });
    const problems: string[] = [];
    for (const k of Object.keys(ref)) {
      problems.push(compareBits(second[k] as Float32Array, ref[k] as Float32Array, `${k}: replayed run vs a first run`));
      problems.push(compareBits(again[k] as Float32Array, first[k] as Float32Array, `${k}: replayed run vs the first`));
    }
    return problems.filter((p) => p !== "");
  } finally {
    model.dispose();
    fresh.dispose();
  }
}

describe("replayed runs equal first runs", () => {
  it.each(ZOO.flatMap((f) => [[f, 1], [f, 2]] as const))("%s, %i thread(s)", async (file, threads) => {
    const bytes = new Uint8Array(readFileSync(new URL(`./fixtures/zoo/${file}`, import.meta.url)));
    const dims = decodeModel(bytes).graph.inputs[0].shape!.map(Number);
    const rng = new Rng(0x5e00 + file.length);
    const problems = await replayed(threads === 1 ? one : two, bytes, "input", rng.f32(prod(dims), 0, 1), rng.f32(prod(dims), -2, 3));
    expect(problems).toEqual([]);
  });
});

/** DynamicQuantizeLinear -> ConvInteger (3x3, group 1) -> Cast -> Mul by (x scale * w scale) -> Add bias, then the same depthwise. */
function dynamicModel(): Uint8Array {
  const n = new Net(new Rng(0x5e7));
  const layer = (x: string, c: number, group: number): string => {
    const name = `dql${n.nodes.length}`;
    n.op("DynamicQuantizeLinear", [x], undefined, name, [`${name}_y`, `${name}_s`, `${name}_z`]);
    const w = n.int8([c, c / group, 3, 3], Array.from({ length: (c * c * 9) / group }, () => n.rng.int(-128, 127)), true);
    const acc = n.op("ConvInteger", [`${name}_y`, w, `${name}_z`, n.int8([], [0], true)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group });
    const scaled = n.op("Mul", [n.op("Cast", [acc], { to: DataType.FLOAT }), n.op("Mul", [`${name}_s`, n.constant([c, 1, 1], n.rng.f32(c, 1e-3, 2e-2))])]);
    return n.op("Add", [scaled, n.random([c, 1, 1])]);
  };
  n.output(layer(layer("x", 16, 1), 16, 16));
  return n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 16, 13, 11] }], outputs: [{ name: "y" }] });
}

describe("a step that reads the values it quantizes runs whole", () => {
  it.each([1, 2])("dynamic quantization, inputs of two ranges, %i thread(s), equal to onnxruntime-web", async (threads) => {
    const bytes = dynamicModel();
    const rng = new Rng(0x5e8);
    const dims = [1, 16, 13, 11];
    const [a, b] = [rng.f32(prod(dims), -1, 1), rng.f32(prod(dims), -10, 30)];
    const e = threads === 1 ? one : two;
    expect(await replayed(e, bytes, "x", a, b)).toEqual([]);
    const model = await e.loadOnnx(bytes);
    try {
      expect(model.summary()).toMatch(/int8 dynamic/);
      for (const x of [a, b, a]) {
        const ref = (await runOrt(bytes, { x: { data: x, dims } })).y.data;
        expect(Array.from(model.run({ x }).y as Float32Array)).toEqual(Array.from(ref));
      }
    } finally {
      model.dispose();
    }
  });
});
