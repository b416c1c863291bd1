// The graph runtime's contracts: the arena planner reuses memory (less than one buffer per value;
// exactly the two buffers live at once in a chain), run() allocates nothing once planned and
// re-plans once per new input shape, outputs are fresh copies, bad run() arguments and broken or
// unsupported models throw typed errors (never a crash, never a leak), dispose() frees everything,
// and summary() reports layers, parameters, FLOPs and planned memory.
import { beforeAll, describe, expect, it } from "vitest";
import {
  ArgumentError, DisposedError, type Engine, ModelFormatError, ShapeError, SimdcnnError, UnsupportedError, layers,
} from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { type BackendName, compareBits, engines } from "./grid.js";
import { Net, compareRt, rtConv, rtInput } from "./networks.js";
import { onnxModel, randomTensor } from "./onnx-builder.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
let e: Engine;
beforeAll(async () => {
  E = await engines();
  e = E.simd;
});

const he = (rng: Rng, dims: number[], fanIn: number) => rng.f32(prod(dims), -Math.sqrt(6 / fanIn), Math.sqrt(6 / fanIn));
const aligned = (floats: number) => Math.ceil((floats * 4) / 16) * 16;

/** A chain of 'same' 3x3 convs (relu fused) over [H, W, C0] with the given channel counts. */
function chain(engine: Engine, h: number, w: number, channels: number[], seed = 1) {
  const rng = new Rng(seed);
  const convs = channels.slice(1).map((c, i) => ({ w: he(rng, [c, 3, 3, channels[i]], 9 * channels[i]), cout: c }));
  const model = engine.sequential([
    layers.input([h, w, channels[0]]),
    ...convs.map((c) => layers.conv2d({ filters: c.cout, kernel: 3, weights: c.w, padding: "same", activation: "relu" })),
  ]);
  const ref = (x: Float32Array, n: number) => {
    let t = rtInput(x, [n, h, w, channels[0]]);
    for (const c of convs) t = rtConv(t, { w: c.w, cout: c.cout, kernel: [3, 3], pads: [1, 1, 1, 1], act: "relu" });
    return t;
  };
  return { model, ref };
}

function expectError(fn: () => unknown, cls: new (...a: never[]) => SimdcnnError, re: RegExp): SimdcnnError {
  let err: unknown;
  try {
    fn();
  } catch (x) {
    err = x;
  }
  expect(err, "expected an error").toBeInstanceOf(SimdcnnError);
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(re);
  return err as SimdcnnError;
}

async function expectLoadError(bytes: Uint8Array, cls: new (...a: never[]) => SimdcnnError, re: RegExp): Promise<string> {
  const before = e.memoryBytes;
  let err: unknown;
  try {
    (await e.loadOnnx(bytes)).dispose();
  } catch (x) {
    err = x;
  }
  expect(err, "expected an error").toBeInstanceOf(SimdcnnError);
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(re);
  expect(e.memoryBytes, "memory after the failed load").toBe(before);
  return (err as Error).message;
}

describe("the arena planner", () => {
  it("a deep chain plans far less than one buffer per activation", () => {
    const { model } = chain(e, 16, 16, [8, 8, 8, 8, 8, 8, 8, 8, 8, 8]);
    const m = model.memory;
    const buffer = aligned(16 * 16 * 8);
    expect(m.naiveActivations).toBeGreaterThanOrEqual(9 * buffer);
    expect(m.activations).toBeLessThan(m.naiveActivations);
    expect(m.activations).toBeLessThanOrEqual(3 * buffer);
    model.dispose();
  });

  it("a simple chain needs exactly the largest pair of buffers live at the same time", () => {
    // conv 3->8->16->4->12: step i reads buffer i and writes buffer i+1; the output is copied
    // out of the arena last (same size as the last conv's). The input lives outside the arena.
    const channels = [3, 8, 16, 4, 12];
    const { model } = chain(e, 6, 5, channels, 2);
    const sizes = [...channels.slice(1), channels[channels.length - 1]].map((c) => aligned(6 * 5 * c));
    const pairs = sizes.slice(1).map((s, i) => s + sizes[i]);
    expect(model.memory.activations).toBe(Math.max(...pairs));
    expect(model.memory.naiveActivations).toBeGreaterThanOrEqual(sizes.slice(0, -1).reduce((a, b) => a + b, 0));
    model.dispose();
  });

  it("branches keep both operands live: a residual block plans three buffers at most, results correct", () => {
    const rng = new Rng(3);
    const w1 = he(rng, [8, 3, 3, 8], 72);
    const w2 = he(rng, [8, 3, 3, 8], 72);
    const x = layers.input([8, 8, 8]);
    const a = layers.conv2d({ filters: 8, kernel: 3, weights: w1, padding: "same", activation: "relu" }).apply(x);
    const b = layers.conv2d({ filters: 8, kernel: 3, weights: w2, padding: "same" }).apply(a);
    const y = layers.add().apply([a, b]);
    const model = e.graph({ inputs: [x], outputs: [y] });
    expect(model.memory.activations).toBeLessThanOrEqual(3 * aligned(8 * 8 * 8));
    expect(model.memory.activations).toBeGreaterThanOrEqual(2 * aligned(8 * 8 * 8));
    model.dispose();
  });
});

describe("running", () => {
  it("allocates nothing after the first run with a shape; plans once for a new batch, and going back reuses the first plan", () => {
    const { model, ref } = chain(e, 10, 9, [3, 8, 8, 4], 4);
    const rng = new Rng(5);
    const x1 = rng.f32(1 * 270);
    const x3 = rng.f32(3 * 270);
    const first = model.run({ input: x1 }).output;
    const bytes1 = e.memoryBytes;
    const mem1 = model.memory;
    for (let i = 0; i < 5; i++) {
      const out = model.run({ input: x1 }).output;
      expect(e.memoryBytes, `memoryBytes after run ${i + 2}`).toBe(bytes1);
      expect(compareBits(out, first, "same input, same output")).toBe("");
    }
    expect(compareRt(first, ref(x1, 1))).toBe("");
    // Batch 3: a new plan, larger.
    const out3 = model.run({ input: x3 }).output;
    const bytes3 = e.memoryBytes;
    expect(bytes3).toBeGreaterThan(bytes1);
    expect(model.memory.activations).toBeGreaterThan(mem1.activations);
    expect(model.outputShapes.output).toEqual([3, 10, 9, 4]);
    expect(compareRt(out3, ref(x3, 3))).toBe("");
    for (let i = 0; i < 5; i++) {
      model.run({ input: x3 });
      expect(e.memoryBytes).toBe(bytes3);
    }
    // Back to batch 1: the kept plan (no new memory, no new plan), the same bits.
    const plans = model.plans;
    const again = model.run({ input: x1 }).output;
    expect(e.memoryBytes).toBe(bytes3);
    expect(model.plans).toBe(plans);
    expect(model.memory).toEqual(mem1);
    expect(compareBits(again, first)).toBe("");
    model.dispose();
  });

  it("runs on a Tensor input and on the scalar build with the same bits", () => {
    const { model } = chain(e, 5, 5, [2, 3], 6);
    const { model: scalar } = chain(E.scalar, 5, 5, [2, 3], 6);
    const x = new Rng(7).f32(2 * 50);
    const t = e.tensor(x, [2, 5, 5, 2]);
    const a = model.run({ input: t }).output;
    const b = model.run({ input: x }).output;
    const c = scalar.run({ input: x }).output;
    expect(compareBits(a, b)).toBe("");
    expect(compareBits(a, c)).toBe("");
    t.dispose();
    model.dispose();
    scalar.dispose();
  });

  it("outputs are fresh copies: later runs and caller writes do not touch them", () => {
    const { model } = chain(e, 4, 4, [2, 3], 8);
    const rng = new Rng(9);
    const x1 = rng.f32(32);
    const o1 = model.run({ input: x1 }).output;
    const keep = o1.slice();
    const o2 = model.run({ input: rng.f32(32) }).output;
    expect(o2).not.toBe(o1);
    expect(o2.buffer).not.toBe(o1.buffer);
    expect(compareBits(o1, keep, "first output after a second run")).toBe("");
    o2.fill(NaN);
    const o3 = model.run({ input: x1 }).output;
    expect(compareBits(o3, keep, "output after the caller wrote into an earlier one")).toBe("");
    // Not a view of the wasm memory.
    expect(o1.buffer).toBeInstanceOf(ArrayBuffer);
    expect(o1.byteOffset).toBe(0);
    expect(o1.buffer.byteLength).toBe(o1.byteLength);
    model.dispose();
  });

  it("bad inputs throw typed errors and leave the model usable", () => {
    const { model } = chain(e, 4, 4, [2, 3], 10);
    const x = new Float32Array(32); // batch 1 of [4, 4, 2]
    const before = e.memoryBytes;
    expectError(() => model.run({}), ArgumentError, /input 'input' is missing/);
    expectError(() => model.run({ input: x, other: x }), ArgumentError, /unknown input 'other'/);
    expectError(() => model.run({ inptu: x } as never), ArgumentError, /unknown input 'inptu'/);
    expectError(() => model.run({ input: new Float32Array(33) }), ShapeError, /33 values/);
    expectError(() => model.run({ input: new Float64Array(32) as never }), ArgumentError, /Float32Array/);
    expectError(() => model.run({ input: Array.from(x) as never }), ArgumentError, /Float32Array/);
    expectError(() => model.run(null as never), ArgumentError, /object/);
    const wrong = e.tensor(new Float32Array(4 * 4 * 3), [1, 4, 4, 3]);
    expectError(() => model.run({ input: wrong }), ShapeError, /expected shape/);
    wrong.dispose();
    expectError(() => model.run({ input: wrong }), DisposedError, /dispose/);
    const foreign = E.scalar.tensor(x, [1, 4, 4, 2]);
    expectError(() => model.run({ input: foreign }), DisposedError, /engine/);
    foreign.dispose();
    expect(e.memoryBytes).toBe(before);
    expect(model.run({ input: x }).output.length).toBe(16 * 3);
    model.dispose();
  });

  it("integer arrays for a float32 input are a typed error, not a silent conversion", () => {
    const { model } = chain(e, 4, 4, [2, 3], 11);
    expectError(() => model.run({ input: new Int32Array(32) }), ArgumentError, /float32|Float32Array/);
    expectError(() => model.run({ input: new BigInt64Array(32) }), ArgumentError, /float32|Float32Array/);
    model.dispose();
  });

  it("dispose frees everything it allocated, after runs at several batch sizes; later use throws", async () => {
    const before = e.memoryBytes;
    const { model } = chain(e, 8, 8, [3, 8, 8], 12);
    expect(e.memoryBytes).toBeGreaterThan(before);
    for (const n of [1, 4, 2]) model.run({ input: new Float32Array(n * 192) });
    model.dispose();
    expect(e.memoryBytes).toBe(before);
    model.dispose(); // twice is harmless
    expectError(() => model.run({ input: new Float32Array(192) }), DisposedError, /dispose/);
    expectError(() => model.summary(), DisposedError, /dispose/);
    expectError(() => model.memory, DisposedError, /dispose/);
    // The same for a loaded ONNX model.
    const n = new Net(new Rng(13));
    n.output(n.op("Relu", [n.conv("x", 3, 4, 3, { pads: [1, 1, 1, 1] })]));
    const m = await e.loadOnnx(n.model({ inputs: [{ name: "x", shape: ["N", 3, 8, 8] }], outputs: [{ name: "y" }] }));
    m.run({ x: new Float32Array(2 * 192) });
    m.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});

describe("models that cannot load", () => {
  const io = { inputs: [{ name: "x", shape: [1, 3, 4, 4] }], outputs: [{ name: "y" }] };

  it("unsupported operators: one UnsupportedError listing every one, with node names and the opset", async () => {
    const rng = new Rng(14);
    const bytes = onnxModel({
      opset: 13,
      inputs: [{ name: "x", shape: [1, 3, 4, 4] }],
      outputs: [{ name: "y" }, { name: "h" }],
      nodes: [
        { op: "GridSample", name: "upsample_1", inputs: ["x", "scales"], outputs: ["up"], attrs: { mode: "nearest" } },
        { op: "Relu", name: "relu_1", inputs: ["up"], outputs: ["y"] },
        { op: "Reshape", name: "to_seq", inputs: ["x", "seq_shape"], outputs: ["seq"] },
        { op: "LSTM", name: "encoder_lstm", inputs: ["seq", "W", "R"], outputs: ["", "h"], attrs: { hidden_size: 2 } },
      ],
      initializers: {
        scales: { dims: [4], data: [1, 1, 2, 2] },
        seq_shape: { dims: [3], data: [4, 1, 12], dataType: DataType.INT64 },
        W: randomTensor(rng, [1, 8, 12]),
        R: randomTensor(rng, [1, 8, 2]),
      },
    });
    const msg = await expectLoadError(bytes, UnsupportedError, /opset 13/);
    expect(msg).toMatch(/\n  LSTM node 'encoder_lstm' \(opset 13\): an operator simdcnn does not support/);
    expect(msg).toMatch(/\n  GridSample node 'upsample_1' \(opset 13\): an operator simdcnn does not support/);
    expect(msg).not.toMatch(/Relu|Reshape/);
  });

  it("a cycle", async () => {
    const bytes = onnxModel({
      ...io,
      nodes: [
        { op: "Add", name: "a", inputs: ["x", "c"], outputs: ["b"] },
        { op: "Relu", name: "r", inputs: ["b"], outputs: ["c"] },
        { op: "Identity", name: "out", inputs: ["c"], outputs: ["y"] },
      ],
    });
    await expectLoadError(bytes, ModelFormatError, /cycle/);
  });

  it("a node reading a name nothing defines; an output nothing produces", async () => {
    await expectLoadError(onnxModel({ ...io, nodes: [{ op: "Add", name: "a", inputs: ["x", "nowhere"], outputs: ["y"] }] }), ModelFormatError, /nowhere/);
    await expectLoadError(onnxModel({ ...io, nodes: [{ op: "Relu", name: "a", inputs: ["x"], outputs: ["z"] }] }), ModelFormatError, /'y'/);
  });

  it("an initializer whose data does not fill its dims", async () => {
    const bytes = onnxModel({
      ...io,
      nodes: [{ op: "Conv", name: "conv", inputs: ["x", "w"], outputs: ["y"] }],
      initializers: { w: { dims: [4, 3, 3, 3], data: new Float32Array(4 * 27 - 1) } },
    });
    await expectLoadError(bytes, ModelFormatError, /'w'|w/);
    const typed = onnxModel({
      ...io,
      nodes: [{ op: "Conv", name: "conv", inputs: ["x", "w"], outputs: ["y"] }],
      initializers: { w: { dims: [4, 3, 3, 3], data: new Float32Array(4 * 27 + 5), encoding: "typed" } },
    });
    await expectLoadError(typed, ModelFormatError, /expected 108/);
  });

  it("a float input declared as INT8; an output declared UINT8", async () => {
    await expectLoadError(
      onnxModel({ inputs: [{ name: "x", shape: [1, 4], elemType: DataType.INT8 }], outputs: [{ name: "y" }], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }] }),
      UnsupportedError, /'x'.*element type/,
    );
    await expectLoadError(
      onnxModel({ inputs: [{ name: "x", shape: [1, 4] }], outputs: [{ name: "y", elemType: DataType.UINT8 }], nodes: [{ op: "Shape", inputs: ["x"], outputs: ["y"] }] }),
      UnsupportedError, /'y'/,
    );
  });

  it("inconsistent shapes: conv weights for other channels, a Reshape to the wrong size, Add of shapes that do not broadcast", async () => {
    const rng = new Rng(15);
    await expectLoadError(
      onnxModel({ ...io, nodes: [{ op: "Conv", name: "conv", inputs: ["x", "w"], outputs: ["y"] }], initializers: { w: randomTensor(rng, [4, 2, 3, 3]) } }),
      ModelFormatError, /conv.*channels/,
    );
    await expectLoadError(
      onnxModel({ ...io, nodes: [{ op: "Reshape", name: "rs", inputs: ["x", "s"], outputs: ["y"] }], initializers: { s: { dims: [2], data: [5, 10], dataType: DataType.INT64 } } }),
      ModelFormatError, /rs.*reshape/,
    );
    await expectLoadError(
      onnxModel({ ...io, nodes: [{ op: "Add", name: "add", inputs: ["x", "b"], outputs: ["y"] }], initializers: { b: randomTensor(rng, [3, 1, 2]) } }),
      ModelFormatError, /add.*broadcast/,
    );
  });

  it("bytes that are not a model", async () => {
    await expectLoadError(new Uint8Array([1, 2, 3, 4, 5]), ModelFormatError, /./);
    await expectLoadError(new Uint8Array(0), ModelFormatError, /./);
  });
});

describe("summary()", () => {
  it("lists every step with its output, parameters and FLOPs, the totals, and the planned memory", async () => {
    // conv 5x5 1->6 (+relu) on 1x1x12x12 -> 8x8; maxpool 2 -> 4x4; flatten; gemm 96->10.
    const n = new Net(new Rng(16));
    let t = n.op("Relu", [n.conv("x", 1, 6, 5)]);
    t = n.op("MaxPool", [t], { kernel_shape: [2, 2], strides: [2, 2] });
    t = n.op("Flatten", [t]);
    n.output(n.gemm(t, 96, 10));
    const model = await e.loadOnnx(n.model({ inputs: [{ name: "x", shape: ["N", 1, 12, 12] }], outputs: [{ name: "y" }] }));
    model.run({ x: new Float32Array(2 * 144) });
    const s = model.summary();
    const convParams = 6 * 25 + 6;
    const gemmParams = 96 * 10 + 10;
    const convFlops = 2 * (2 * 8 * 8 * 6) * 25;
    const poolFlops = 2 * 4 * 4 * 6 * 4;
    const gemmFlops = 2 * (2 * 10) * 96;
    expect(s).toMatch(/inputs: x \[2, 1, 12, 12\]/);
    expect(s).toMatch(new RegExp(`conv 5x5 1->6 \\+relu\\s+\\[2, 8, 8, 6\\]\\s+${convParams}\\s+${convFlops}`));
    expect(s).toMatch(new RegExp(`maxpool 2x2\\s+\\[2, 4, 4, 6\\]\\s+0\\s+${poolFlops}`));
    expect(s).toMatch(new RegExp(`gemm 96->10\\s+\\[2, 10\\]\\s+${gemmParams}\\s+${gemmFlops}`));
    const total = s.match(/parameters: (\d+), FLOPs: (\d+)/);
    expect(total).not.toBeNull();
    expect(Number(total![1])).toBe(convParams + gemmParams);
    expect(Number(total![2])).toBeGreaterThanOrEqual(convFlops + poolFlops + gemmFlops);
    const mem = model.memory;
    expect(s).toContain(`activations ${(mem.activations / 1024).toFixed(1)} KiB planned (${(mem.naiveActivations / 1024).toFixed(1)} KiB without reuse)`);
    expect(s).toMatch(/weights \d+\.\d KiB/);
    expect(mem.weights).toBeGreaterThanOrEqual((convParams + gemmParams) * 4);
    model.dispose();
  });

  it("describes the binding at load (symbolic dimensions as 1) before any run", () => {
    const { model } = chain(e, 4, 4, [2, 3], 17);
    expect(model.summary()).toMatch(/inputs: input \[1, 4, 4, 2\]/);
    expect(model.outputShapes.output).toEqual([1, 4, 4, 3]);
    model.dispose();
  });
});


