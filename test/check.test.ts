// Import reports everything at once (issue 17 part 6): unsupported ops, attribute values, tensor
// formats and read optional outputs of one model come in one UnsupportedError, a line each in
// `problems`, and nothing downstream of a failed node is reported as a consequence. Optional
// outputs nothing reads (Dropout's mask, MaxPool's Indices, BatchNormalization's training
// statistics) are accepted.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, UnsupportedError } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { compareBits, engines } from "./grid.js";
import { onnxModel, randomTensor } from "./onnx-builder.js";
import { Rng } from "./reference.js";

let e: Engine;
beforeAll(async () => {
  e = (await engines()).simd;
});

async function loadError(bytes: Uint8Array): Promise<UnsupportedError> {
  const err = await e.loadOnnx(bytes).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(err).toBeInstanceOf(UnsupportedError);
  return err as UnsupportedError;
}

describe("one error with every problem", () => {
  const rng = new Rng(1);
  const nodes = [
    { op: "LSTM", name: "lstm", inputs: ["x", "W", "R"], outputs: ["", "h"], attrs: { hidden_size: 2 } },
    { op: "Relu", name: "after_lstm", inputs: ["h"], outputs: ["h2"] },
    { op: "Add", name: "add_u16", inputs: ["x", "u16"], outputs: ["a"] },
    { op: "Dropout", name: "drop", inputs: ["x"], outputs: ["d", "mask"] },
    { op: "Resize", name: "resize", inputs: ["x", "", "scales"], outputs: ["r"], attrs: { mode: "linear", antialias: 1 } },
    { op: "Conv", name: "conv", inputs: ["x", "w"], outputs: ["c"] },
  ];
  const initializers = {
    W: randomTensor(rng, [1, 8, 16]),
    R: randomTensor(rng, [1, 8, 2]),
    u16: { dims: [1], data: [], dataType: DataType.UINT8, proto: { dataType: 4, rawData: new Uint8Array(2) } },
    scales: { dims: [4], data: [1, 1, 0.5, 0.5] },
    w: randomTensor(rng, [2, 3, 3, 3]),
  };
  const outputs = ["h2", "a", "mask", "r", "c"].map((name) => ({ name }));

  it("unsupported op, unreadable tensor, read mask output, unsupported attribute value: all of them, each once, nothing that follows from them", async () => {
    const err = await loadError(onnxModel({ opset: 18, inputs: [{ name: "x", shape: [1, 3, 4, 4] }], outputs, nodes, initializers }));
    expect(err.problems, err.message).toHaveLength(4);
    const [u16, lstm, drop, resize] = [/initializer "u16" has data type UINT16/, /^LSTM node 'lstm' \(opset 18\): an operator simdcnn does not support/,
      /^Dropout node 'drop' \(opset 18\): the mask output is read/, /^Resize node 'resize' \(opset 18\): antialias = 1 is not supported/];
    for (const re of [u16, lstm, drop, resize]) expect(err.problems.filter((p) => re.test(p)), String(re)).toHaveLength(1);
    expect(err.message).toMatch(/^the model \(opset 18\) cannot be loaded, 4 problems:\n {2}/);
    expect(err.message.split("\n")).toHaveLength(5);
    expect(err.message).not.toMatch(/after_lstm|add_u16|'conv'/);
  });

  it("an input simdcnn cannot feed, with the unsupported ops found without an import", async () => {
    const err = await loadError(onnxModel({
      inputs: [{ name: "x", shape: [1, 3, 4, 4], elemType: DataType.INT8 }], outputs: [{ name: "h2" }], nodes: nodes.slice(0, 2), initializers,
    }));
    expect(err.problems).toHaveLength(2);
    expect(err.problems[0]).toMatch(/^input 'x' has element type 3; simdcnn takes float32, float16 and int64\/int32 inputs/);
    expect(err.problems[1]).toMatch(/^LSTM node 'lstm' \(opset 13\): an operator simdcnn does not support/);
  });

  it("an unsupported op in a model bound only at its first run (an int64 input) is still reported at load", async () => {
    const err = await loadError(onnxModel({
      inputs: [{ name: "x", shape: [1, 3, 4, 4] }, { name: "shape", shape: [2], elemType: DataType.INT64 }],
      outputs: [{ name: "y" }, { name: "h" }],
      nodes: [{ op: "Reshape", inputs: ["x", "shape"], outputs: ["y"] }, nodes[0]],
      initializers,
    }));
    expect(err.problems).toEqual([expect.stringMatching(/^LSTM node 'lstm' \(opset 13\): an operator simdcnn does not support/)]);
    expect(err.message).toMatch(/^the model \(opset 13\) cannot be loaded: LSTM node 'lstm'/);
  });
});

describe("optional outputs nothing reads are accepted", () => {
  it("Dropout's mask, MaxPool's Indices and BatchNormalization's training outputs: the same bits as without them", async () => {
    const rng = new Rng(2);
    const bn = { scale: randomTensor(rng, [3]), bias: randomTensor(rng, [3]), mean: randomTensor(rng, [3]), var: { dims: [3], data: [0.5, 1, 2] } };
    const model = (extra: boolean) => onnxModel({
      opset: 9,
      inputs: [{ name: "x", shape: [1, 3, 6, 6] }], outputs: [{ name: "y" }],
      nodes: [
        { op: "Dropout", inputs: ["x"], outputs: extra ? ["d", "mask"] : ["d"] },
        { op: "MaxPool", inputs: ["d"], outputs: extra ? ["p", "indices"] : ["p"], attrs: { kernel_shape: [2, 2] } },
        { op: "BatchNormalization", inputs: ["p", "scale", "bias", "mean", "var"], outputs: extra ? ["y", "m", "v", "sm", "sv"] : ["y"] },
      ],
      initializers: bn,
    });
    const x = rng.f32(108);
    const plain = (await e.loadOnnx(model(false))).run({ x }).y as Float32Array;
    const withExtra = (await e.loadOnnx(model(true))).run({ x }).y as Float32Array;
    expect(compareBits(withExtra, plain, "with unread outputs")).toBe("");
  });
});
