// A compiled plan records its steps' kernel calls on its first run and replays them on later runs
// (src/graph/compile.ts, Runtime.record). That holds only while an op's calls depend on nothing but
// its plan and offsets, never on the values in memory (the PreparedOp contract, src/ops/op.ts):
// - the contract: each zoo model's first run in two fresh engines (same allocations, so the same
//   offsets) on two different inputs must make the same kernel calls with the same arguments;
// - replay: a replayed run must equal a first run to the bit: one model runs input a, then b
//   (replayed), then a again; b's outputs must equal a fresh model's first run on b, and the second
//   a the first; on one thread and on two (the Node entry starts worker threads; a model large
//   enough to split its steps replays through the workers);
// - a step whose calls depend on the values it reads, a dynamic input quantization, runs whole:
//   its second input has another range, so a replay of the first run's scales would differ from
//   onnxruntime-web, which the case checks exactly (every step of the dynamic quantization is
//   specified to the bit).
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { init } from "../src/node.js";
import { decodeModel } from "../src/onnx/decode.js";
import { DataType } from "../src/onnx/model.js";
import { type Call, positional } from "../src/runtime/kernels.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { compareBits } from "./grid.js";
import { Net } from "./networks.js";
import { runOrt } from "./ort.js";
import { Rng } from "./reference.js";

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;

/** Every dispatch `fn` makes on `e`: its label, and each call's kernel and arguments in order. */
function dispatches(e: Engine, fn: () => void): string[] {
  const rt = rtOf(e);
  const log: string[] = [];
  const dispatch = rt.dispatch;
  rt.dispatch = (calls: Call[], what: string) => {
    log.push(`${what}: ${calls.map((c) => `${c.fn}(${positional(c).join(", ")})`).join("; ")}`);
    dispatch.call(rt, calls, what);
  };
  try {
    fn();
  } finally {
    rt.dispatch = dispatch;
  }
  return log;
}

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
  expect(two.threads, two.threadsNote).toBe(2);
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

const zooBytes = (file: string) => new Uint8Array(readFileSync(new URL(`./fixtures/zoo/${file}`, import.meta.url)));
const zooDims = (bytes: Uint8Array) => decodeModel(bytes).graph.inputs[0].shape!.map(Number);

describe("an op's kernel calls depend on its plan and offsets, not on the values", () => {
  const files = readdirSync(new URL("./fixtures/zoo/", import.meta.url)).filter((f) => f.endsWith(".onnx") && !f.includes("-external"));
  it.each(files)("%s: the first runs on two inputs in two fresh engines make the same calls", async (file) => {
    const bytes = zooBytes(file);
    const dims = zooDims(bytes);
    const rng = new Rng(0x5f00 + file.length);
    const logs: string[][] = [];
    for (const x of [rng.f32(prod(dims), 0, 1), rng.f32(prod(dims), -3, 5)]) {
      const e = await init({ backend: "simd" });
      try {
        const model = await e.loadOnnx(bytes);
        logs.push(dispatches(e, () => model.run({ input: x })));
      } finally {
        e.dispose();
      }
    }
    expect(logs[0].length).toBeGreaterThan(0);
    expect(logs[1]).toEqual(logs[0]);
  });
});

describe("replayed runs equal first runs", () => {
  it.each(ZOO.flatMap((f) => [[f, 1], [f, 2]] as const))("%s, %i thread(s)", async (file, threads) => {
    const bytes = zooBytes(file);
    const dims = zooDims(bytes);
    const rng = new Rng(0x5e00 + file.length);
    const problems = await replayed(threads === 1 ? one : two, bytes, "input", rng.f32(prod(dims), 0, 1), rng.f32(prod(dims), -2, 3));
    expect(problems).toEqual([]);
  });
});

/** Convolutions, pooling, a transpose and a softmax on 96x96: every step large enough to split over two threads. */
function largeModel(): Uint8Array {
  const n = new Net(new Rng(0x5e9));
  let y = n.op("Relu", [n.conv("x", 16, 32, 3, { pads: [1, 1, 1, 1] })]);
  y = n.op("MaxPool", [n.op("Relu", [n.conv(y, 32, 32, 3, { pads: [1, 1, 1, 1] })])], { kernel_shape: [2, 2], strides: [2, 2] });
  y = n.op("Softmax", [n.op("Transpose", [n.conv(y, 32, 8, 1)], { perm: [0, 2, 3, 1] })], { axis: -1 });
  n.output(y);
  return n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 16, 96, 96] }], outputs: [{ name: "y" }] });
}

describe("replay through the worker threads", () => {
  it("a model whose steps split over two threads: replayed runs equal first runs", async () => {
    const bytes = largeModel();
    const rng = new Rng(0x5ea);
    const size = 16 * 96 * 96;
    let split = 0;
    const rt = rtOf(two);
    const dispatch = rt.dispatch;
    rt.dispatch = (calls: Call[], what: string) => {
      if (calls.length > 1) split++;
      dispatch.call(rt, calls, what);
    };
    try {
      expect(await replayed(two, bytes, "x", rng.f32(size, -1, 1), rng.f32(size, 0, 4))).toEqual([]);
    } finally {
      rt.dispatch = dispatch;
    }
    expect(split, "dispatches split over the threads").toBeGreaterThan(0);
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
