// The ONNX decoder (src/onnx/decode.ts): every attribute type and tensor data type round-trips
// through the test builder; real ONNX files decode; and every malformed input, however it is
// broken, throws a SimdcnnError subclass with a message naming the problem, quickly and without
// allocating what the file claims.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ModelFormatError, SimdcnnError, UnsupportedError } from "../src/errors.js";
import { decodeModel, decodeTensor } from "../src/onnx/decode.js";
import { DataType, type OnnxAttribute, type OnnxModel } from "../src/onnx/model.js";
import { AttributeType, GraphProtoSchema, ModelProtoSchema } from "../src/onnx/schema.js";
import { RawAttribute, type TensorSpec, f, floats, onnxModel, onnxTensor, randomTensor } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng } from "./reference.js";

const CONFORMANCE = fileURLToPath(new URL("../../shared/onnx-conformance/", import.meta.url));
const haveConformance = existsSync(CONFORMANCE);
if (!haveConformance) console.warn(`onnx-decode: ${CONFORMANCE} not found; the tests on real ONNX files are skipped`);

type ErrorClass = typeof ModelFormatError | typeof UnsupportedError;

/** The error fn throws; fails unless it is `cls` (a SimdcnnError) with a message matching re. */
function expectError(fn: () => unknown, cls: ErrorClass, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, "expected an error, got none").toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(SimdcnnError);
  expect((err as Error).message).toMatch(re);
}

/** A model with one Identity node and the given initializers, for tensor tests. */
function withInitializers(initializers: Record<string, TensorSpec>): Uint8Array {
  return onnxModel({
    inputs: [{ name: "x", shape: [1] }],
    outputs: [{ name: "y", shape: [1] }],
    nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }],
    initializers,
  });
}

/** A small but complete model: initializers (also listed as inputs), attributes, symbolic dims, metadata. */
function sampleModel(): Uint8Array {
  const rng = new Rng(11);
  return onnxModel({
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 3, 8, 8] }],
    outputs: [{ name: "y", shape: ["N", 4, 8, 8] }],
    nodes: [
      { op: "Conv", name: "conv", inputs: ["x", "w", "b"], outputs: ["c"], attrs: { pads: [1, 1, 1, 1], strides: [1, 1], group: 1 } },
      { op: "LeakyRelu", name: "act", inputs: ["c"], outputs: ["y"], attrs: { alpha: 0.1 } },
    ],
    initializers: { w: randomTensor(rng, [4, 3, 3, 3]), b: randomTensor(rng, [4]) },
    initializersAsInputs: true,
    metadata: { author: "test" },
  });
}

function attrs(model: OnnxModel, node = 0): Record<string, OnnxAttribute> {
  return Object.fromEntries(model.graph.nodes[node].attributes);
}

describe("round trips through the builder", () => {
  it("decodes the model's structure: opsets, metadata, nodes, value infos, initializers", () => {
    const m = decodeModel(sampleModel());
    expect(m.irVersion).toBe(8);
    expect(m.producer).toBe("simdcnn-test");
    expect([...m.opsets]).toEqual([["", 13]]);
    expect(m.metadata).toEqual({ author: "test" });
    expect(m.graph.name).toBe("test");
    expect(m.graph.nodes.map((n) => [n.name, n.opType, n.domain, n.inputs, n.outputs])).toEqual([
      ["conv", "Conv", "", ["x", "w", "b"], ["c"]],
      ["act", "LeakyRelu", "", ["c"], ["y"]],
    ]);
    expect(m.graph.inputs).toEqual([
      { name: "x", elemType: DataType.FLOAT, shape: ["N", 3, 8, 8] },
      { name: "w", elemType: DataType.FLOAT, shape: [4, 3, 3, 3] },
      { name: "b", elemType: DataType.FLOAT, shape: [4] },
    ]);
    expect(m.graph.outputs).toEqual([{ name: "y", elemType: DataType.FLOAT, shape: ["N", 4, 8, 8] }]);
    const rng = new Rng(11);
    expect(m.graph.initializers.get("w")).toEqual({ name: "w", dims: [4, 3, 3, 3], dataType: DataType.FLOAT, floats: rng.f32(108) });
    expect(m.graph.initializers.get("b")).toEqual({ name: "b", dims: [4], dataType: DataType.FLOAT, floats: rng.f32(4) });
  });

  it("decodes every attribute type, with FLOAT overrides for integral values", () => {
    const tensor: TensorSpec = { dims: [2], data: [1.5, -2] };
    const m = decodeModel(
      onnxModel({
        inputs: [{ name: "x" }],
        outputs: [{ name: "y" }],
        nodes: [{
          op: "Custom",
          inputs: ["x"],
          outputs: ["y"],
          attrs: {
            int: -3, big: 2n ** 63n - 1n, float: 0.1, one: f(1), floats: [0.5, 2.25], intFloats: floats([1, 2]),
            ints: [1, -2, 3], emptyInts: [], str: "constant", strs: ["a", "é"], tensor,
            int64Tensor: { dims: [3], data: [1, -1, 2 ** 40], dataType: DataType.INT64 },
          },
        }],
      }),
    );
    expect(attrs(m)).toEqual({
      int: { type: "int", value: -3 },
      big: { type: "int", value: 2 ** 63 }, // INT64_MAX as a number: rounded, as model.ts says
      float: { type: "float", value: Math.fround(0.1) },
      one: { type: "float", value: 1 },
      floats: { type: "floats", value: [0.5, 2.25] },
      intFloats: { type: "floats", value: [1, 2] },
      ints: { type: "ints", value: [1, -2, 3] },
      emptyInts: { type: "ints", value: [] },
      str: { type: "string", value: "constant" },
      strs: { type: "strings", value: ["a", "é"] },
      tensor: { type: "tensor", value: { name: "", dims: [2], dataType: DataType.FLOAT, floats: new Float32Array([1.5, -2]) } },
      int64Tensor: { type: "tensor", value: { name: "", dims: [3], dataType: DataType.INT64, ints: [1, -1, 2 ** 40] } },
    });
  });

  it("infers the type of attributes written without one (pre-1.0 exporters) and marks the rest unsupported", () => {
    const graph = create(GraphProtoSchema, { name: "body" });
    const m = decodeModel(
      onnxModel({
        inputs: [{ name: "x" }],
        outputs: [{ name: "y" }],
        nodes: [{
          op: "Custom",
          inputs: ["x"],
          outputs: ["y"],
          attrs: {
            f0: new RawAttribute({ f: 0 }), // set, though 0: presence says FLOAT
            f: new RawAttribute({ f: 0.5 }),
            i: new RawAttribute({ i: 7n }),
            s: new RawAttribute({ s: new TextEncoder().encode("same") }),
            fs: new RawAttribute({ floats: [0.25] }),
            is: new RawAttribute({ ints: [2n, 3n] }),
            ss: new RawAttribute({ strings: [new TextEncoder().encode("x")] }),
            t: new RawAttribute({ t: { dims: [1n], dataType: DataType.FLOAT, floatData: [4] } }),
            g: new RawAttribute({ type: AttributeType.GRAPH, g: graph }),
            gInferred: new RawAttribute({ g: graph }),
            tensors: new RawAttribute({ type: AttributeType.TENSORS }),
            sparse: new RawAttribute({ type: AttributeType.SPARSE_TENSOR }),
            future: new RawAttribute({ type: 99 }),
            empty: new RawAttribute({}),
            ref: new RawAttribute({ type: AttributeType.INT, refAttrName: "outer" }),
          },
        }],
      }),
    );
    const a = attrs(m);
    expect(a.f0).toEqual({ type: "float", value: 0 });
    expect(a.f).toEqual({ type: "float", value: 0.5 });
    expect(a.i).toEqual({ type: "int", value: 7 });
    expect(a.s).toEqual({ type: "string", value: "same" });
    expect(a.fs).toEqual({ type: "floats", value: [0.25] });
    expect(a.is).toEqual({ type: "ints", value: [2, 3] });
    expect(a.ss).toEqual({ type: "strings", value: ["x"] });
    expect(a.t).toEqual({ type: "tensor", value: { name: "", dims: [1], dataType: DataType.FLOAT, floats: new Float32Array([4]) } });
    const unsupported = (x: OnnxAttribute) => (x.type === "unsupported" ? x.what : `not unsupported: ${x.type}`);
    expect(unsupported(a.g)).toMatch(/GRAPH/);
    expect(unsupported(a.gInferred)).toMatch(/GRAPH/);
    expect(unsupported(a.tensors)).toMatch(/TENSORS/);
    expect(unsupported(a.sparse)).toMatch(/SPARSE_TENSOR/);
    expect(unsupported(a.future)).toMatch(/99/);
    expect(unsupported(a.empty)).toMatch(/neither a type nor a value/);
    expect(unsupported(a.ref)).toMatch(/"outer"/);
  });

  it("decodes every tensor data type from raw_data and from the typed fields", () => {
    const cases: [string, number, (number | bigint)[], "floats" | "ints", number[]][] = [
      ["FLOAT", DataType.FLOAT, [1.5, -0, 3e38, -1e-40], "floats", [1.5, -0, Math.fround(3e38), Math.fround(-1e-40)]],
      ["DOUBLE", DataType.DOUBLE, [0.1, -2, 1e300, 5e-324], "floats", [Math.fround(0.1), -2, Infinity, 0]],
      ["INT64", DataType.INT64, [-1n, 2n ** 40n, -(2n ** 52n), 9n], "ints", [-1, 2 ** 40, -(2 ** 52), 9]],
      ["INT32", DataType.INT32, [-1, 2 ** 31 - 1, -(2 ** 31), 0], "ints", [-1, 2 ** 31 - 1, -(2 ** 31), 0]],
      ["INT8", DataType.INT8, [-128, 127, -1, 0], "ints", [-128, 127, -1, 0]],
      ["UINT8", DataType.UINT8, [0, 255, 128, 1], "ints", [0, 255, 128, 1]],
      ["BOOL", DataType.BOOL, [1, 0, 0, 1], "ints", [1, 0, 0, 1]],
    ];
    for (const [label, dataType, data, field, expected] of cases) {
      for (const encoding of ["raw", "typed"] as const) {
        const m = decodeModel(withInitializers({ t: { dims: [2, 2], data, dataType, encoding } }));
        const t = m.graph.initializers.get("t")!;
        expect(t.dims, `${label} ${encoding}`).toEqual([2, 2]);
        expect(t.dataType, `${label} ${encoding}`).toBe(dataType);
        expect(t[field], `${label} ${encoding}`).toBeInstanceOf(field === "floats" ? Float32Array : Array);
        expect(Array.from(t[field] ?? []), `${label} ${encoding}`).toEqual(expected);
      }
    }
  });

  it("decodes scalars and empty tensors", () => {
    const m = decodeModel(withInitializers({
      scalar: { dims: [], data: [2.5] },
      empty: { dims: [0, 3], data: [] },
      emptyInt: { dims: [0], data: [], dataType: DataType.INT64, encoding: "typed" },
    }));
    expect(m.graph.initializers.get("scalar")).toEqual({ name: "scalar", dims: [], dataType: DataType.FLOAT, floats: new Float32Array([2.5]) });
    expect(m.graph.initializers.get("empty")!.floats).toEqual(new Float32Array(0));
    expect(m.graph.initializers.get("emptyInt")!.ints).toEqual([]);
  });

  it("decodes value infos: numeric, symbolic and unknown dims, absent shapes, element types", () => {
    const m = decodeModel(onnxModel({
      inputs: [
        { name: "a", shape: [1, "batch", null, 0] },
        { name: "b" },
        { name: "c", shape: [], elemType: DataType.INT64 },
      ],
      outputs: [{ name: "y", shape: [-1, 2] }],
      nodes: [{ op: "Identity", inputs: ["a"], outputs: ["y"] }],
    }));
    expect(m.graph.inputs).toEqual([
      { name: "a", elemType: DataType.FLOAT, shape: [1, "batch", null, 0] },
      { name: "b", elemType: DataType.FLOAT, shape: null },
      { name: "c", elemType: DataType.INT64, shape: [] },
    ]);
    // -1, which some exporters write for a dimension they do not know, reads as unknown.
    expect(m.graph.outputs[0].shape).toEqual([null, 2]);
  });

  it("maps opset domains: '' and 'ai.onnx' are the default domain", () => {
    const model = (opset: Record<string, number>, domain = "") =>
      decodeModel(onnxModel({ opset, inputs: [], outputs: [], nodes: [{ op: "Relu", domain, inputs: ["x"], outputs: ["y"] }] }));
    expect([...model({ "ai.onnx": 11, "com.microsoft": 1 }).opsets]).toEqual([["", 11], ["com.microsoft", 1]]);
    expect(model({ "": 17 }, "ai.onnx").graph.nodes[0].domain).toBe("");
    expectError(() => model({ "": 13, "ai.onnx": 12 }), ModelFormatError, /opset_import names domain "ai.onnx" twice, with versions 13 and 12/);
  });

  it("copies tensor data: no views into the caller's bytes, whatever their alignment", () => {
    const values = new Rng(5).f32(33);
    const bytes = withInitializers({ w: { dims: [3, 11], data: values }, d: { dims: [2], data: [1, 2], dataType: DataType.DOUBLE } });
    for (const offset of [0, 1, 3]) {
      // Inside a larger buffer, as in a Node Buffer from the shared pool.
      const backing = new Uint8Array(bytes.length + 8).fill(0xee);
      backing.set(bytes, offset);
      for (const input of [backing.subarray(offset, offset + bytes.length), Buffer.from(backing.buffer, offset, bytes.length)]) {
        const w = decodeModel(input).graph.initializers.get("w")!;
        expect(w.floats).toEqual(values);
        expect(w.floats!.buffer).not.toBe(backing.buffer);
        expect(w.floats!.buffer.byteLength, "the copy holds only the tensor").toBe(33 * 4);
        backing.fill(0, offset, offset + bytes.length);
        expect(w.floats, "unchanged after the caller's bytes change").toEqual(values);
        backing.set(bytes, offset);
      }
    }
  });

  it("decodes serialized TensorProtos (input_N.pb files)", () => {
    expect(decodeTensor(onnxTensor("x", { dims: [1, 2], data: [3, 4] }))).toEqual({ name: "x", dims: [1, 2], dataType: DataType.FLOAT, floats: new Float32Array([3, 4]) });
    expect(decodeTensor(onnxTensor("s", { dims: [2], data: [-1, 5], dataType: DataType.INT64 }))).toEqual({ name: "s", dims: [2], dataType: DataType.INT64, ints: [-1, 5] });
  });

  it("writes models onnxruntime-web accepts and runs as expected (float overrides, int64 initializers)", async () => {
    // Conv of arange(25) with a 3x3 kernel of ones and padding 1 (ONNX's basic Conv example),
    // then LeakyRelu with alpha = 1 written as FLOAT, then Reshape to an INT64 initializer's shape.
    const model = onnxModel({
      opset: 13,
      inputs: [{ name: "x", shape: [1, 1, 5, 5] }],
      outputs: [{ name: "y", shape: [5, 5] }],
      nodes: [
        { op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: "LeakyRelu", inputs: ["c"], outputs: ["l"], attrs: { alpha: f(1) } },
        { op: "Reshape", inputs: ["l", "shape"], outputs: ["y"] },
      ],
      initializers: {
        w: { dims: [1, 1, 3, 3], data: new Float32Array(9).fill(1) },
        shape: { dims: [2], data: [5, -1], dataType: DataType.INT64 },
      },
    });
    const x = Float32Array.from({ length: 25 }, (_, i) => i);
    const { y } = await runOrt(model, { x: { data: x, dims: [1, 1, 5, 5] } });
    expect(y.dims).toEqual([5, 5]);
    expect(Array.from(y.data.subarray(0, 10))).toEqual([12, 21, 27, 33, 24, 33, 54, 63, 72, 51]);
  });
});

describe.skipIf(!haveConformance)("real ONNX files (../shared/onnx-conformance)", () => {
  const cases = haveConformance
    ? ["node", "pytorch-converted"].flatMap((d) => readdirSync(CONFORMANCE + d).map((c) => `${CONFORMANCE}${d}/${c}/`))
    : [];

  it("decodes every model and every input and output tensor", () => {
    expect(cases.length).toBeGreaterThan(100);
    for (const dir of cases) {
      const m = decodeModel(readFileSync(dir + "model.onnx"));
      expect(m.graph.nodes.length, dir).toBeGreaterThan(0);
      for (const file of readdirSync(dir + "test_data_set_0")) {
        const t = decodeTensor(readFileSync(`${dir}test_data_set_0/${file}`));
        const n = t.dims.reduce((a, b) => a * b, 1);
        expect((t.floats ?? t.ints)!.length, `${dir}${file}`).toBe(n);
      }
    }
  });

  it("reads the values of ONNX's basic Conv example", () => {
    const dir = `${CONFORMANCE}node/test_basic_conv_with_padding/`;
    const m = decodeModel(readFileSync(dir + "model.onnx"));
    expect(m.graph.nodes[0].opType).toBe("Conv");
    expect(m.graph.nodes[0].attributes.get("pads")).toEqual({ type: "ints", value: [1, 1, 1, 1] });
    const x = decodeTensor(readFileSync(dir + "test_data_set_0/input_0.pb"));
    expect(x.dims).toEqual([1, 1, 5, 5]);
    expect(x.floats).toEqual(Float32Array.from({ length: 25 }, (_, i) => i));
    expect(decodeTensor(readFileSync(dir + "test_data_set_0/input_1.pb")).floats).toEqual(new Float32Array(9).fill(1));
    const y = decodeTensor(readFileSync(dir + "test_data_set_0/output_0.pb"));
    expect(Array.from(y.floats!.subarray(0, 5))).toEqual([12, 21, 27, 33, 24]);
  });

  it("reads an INT64 tensor file (Reshape's shape input)", () => {
    const t = decodeTensor(readFileSync(`${CONFORMANCE}node/test_reshape_negative_dim/test_data_set_0/input_1.pb`));
    expect(t.dataType).toBe(DataType.INT64);
    expect(t.ints).toEqual([2, -1, 2]);
  });
});

describe("malformed input throws a SimdcnnError subclass naming the problem", () => {
  /** Decodes, expecting a decoded model or a SimdcnnError: anything else fails the test. */
  function attempt(bytes: Uint8Array): OnnxModel | SimdcnnError {
    try {
      return decodeModel(bytes);
    } catch (e) {
      if (e instanceof SimdcnnError) return e;
      throw new Error(`decodeModel threw ${(e as Error).name} (${(e as Error).message}), not a SimdcnnError`);
    }
  }

  const realModel = haveConformance ? readFileSync(`${CONFORMANCE}pytorch-converted/test_Conv2d/model.onnx`) : undefined;
  const models: [string, Uint8Array][] = [["builder model", sampleModel()], ...(realModel ? [["test_Conv2d", realModel] as [string, Uint8Array]] : [])];

  it.each(models)("%s truncated at every length", (_, bytes) => {
    const full = decodeModel(bytes);
    let errors = 0;
    for (let k = 0; k < bytes.length; k++) {
      const r = attempt(bytes.subarray(0, k));
      if (r instanceof SimdcnnError) {
        expect(r, `cut at ${k}`).toBeInstanceOf(ModelFormatError);
        errors++;
      } else {
        // A cut between top-level fields is valid protobuf; it must not change the graph.
        expect(r.graph, `cut at ${k} decoded to a different graph`).toEqual(full.graph);
      }
    }
    expect(errors).toBeGreaterThan(bytes.length * 0.9);
  });

  it.each(models)("%s with random bit flips", (_, bytes) => {
    const rng = new Rng(1234);
    let errors = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const broken = bytes.slice();
      for (let flips = rng.int(1, 3); flips > 0; flips--) broken[rng.int(0, broken.length - 1)] ^= 1 << rng.int(0, 7);
      if (attempt(broken) instanceof SimdcnnError) errors++;
    }
    // Most flips land in weights and still decode; a fair share break the structure.
    expect(errors).toBeGreaterThan(100);
  });

  it("raw_data or typed data whose length does not match the dims", () => {
    expectError(
      () => decodeModel(withInitializers({ weights: { dims: [2, 3], data: [1, 2, 3, 4, 5] } })),
      ModelFormatError,
      /initializer "weights" \(FLOAT, dims \[2, 3\]\) has 20 bytes of raw_data; expected 24 \(6 elements of 4 bytes\)/,
    );
    expectError(
      () => decodeModel(withInitializers({ k: { dims: [2], data: [1], dataType: DataType.INT64, proto: { rawData: new Uint8Array(7) } } })),
      ModelFormatError,
      /"k" \(INT64, dims \[2\]\) has 7 bytes of raw_data; expected 16/,
    );
    expectError(
      () => decodeModel(withInitializers({ f: { dims: [3], data: [1, 2], encoding: "typed" } })),
      ModelFormatError,
      /"f" \(FLOAT, dims \[3\]\) has 2 values in float_data and no raw_data; expected 3 values/,
    );
    expectError(
      () => decodeModel(withInitializers({ i: { dims: [2, 2], data: [1, 2, 3, 4, 5], dataType: DataType.INT32, encoding: "typed" } })),
      ModelFormatError,
      /"i" \(INT32, dims \[2, 2\]\) has 5 values in int32_data/,
    );
    expectError(() => decodeModel(withInitializers({ none: { dims: [4], data: [], proto: { rawData: new Uint8Array(0) } } })), ModelFormatError, /"none".*0 values in float_data.*expected 4/);
    expectError(() => decodeTensor(onnxTensor("in", { dims: [1, 3], data: [1, 2, 3], proto: { dims: [1n, 4n] } })), ModelFormatError, /tensor "in" \(FLOAT, dims \[1, 4\]\) has 12 bytes of raw_data; expected 16/);
  });

  it("negative and huge dims, without allocating them", () => {
    expectError(() => decodeModel(withInitializers({ n: { dims: [1], data: [1], proto: { dims: [-1n, 3n] } } })), ModelFormatError, /initializer "n" has dims \[-1, 3\]; expected dimensions >= 0/);
    expectError(() => decodeModel(withInitializers({ h: { dims: [1], data: [1], proto: { dims: [65536n, 65536n] } } })), ModelFormatError, /"h" has dims \[65536, 65536\]; expected at most 2\^31 - 1 elements/);
    expectError(() => decodeModel(withInitializers({ h: { dims: [1], data: [1], proto: { dims: [0n, 2n ** 40n] } } })), ModelFormatError, /2\^31 - 1/);
    expectError(() => decodeModel(withInitializers({ h: { dims: [1], data: [1], proto: { dims: [2n ** 62n] } } })), ModelFormatError, /2\^31 - 1/);
    const manyDims = Array.from({ length: 1000 }, () => 2n);
    expectError(() => decodeTensor(onnxTensor("m", { dims: [1], data: [1], proto: { dims: manyDims } })), ModelFormatError, /dims \[2, 2, 2, 2, 2, 2, 2, 2, \.\.\. \(1000 dims\)\]/);
    expectError(
      () => decodeModel(onnxModel({ inputs: [{ name: "x", shape: [1, 2 ** 40] }], outputs: [], nodes: [] })),
      ModelFormatError,
      /input 0 \("x"\) declares dimension 1099511627776; expected at most 2\^31 - 1/,
    );
  });

  it("external data: the reference is decoded (the loader reads it); a malformed one names the tensor", () => {
    const ref = (externalData: { key: string; value: string }[], dataType = DataType.FLOAT) =>
      decodeModel(withInitializers({ big: { dims: [4], data: [], proto: { rawData: new Uint8Array(0), dataLocation: 1, dataType, externalData } } })).graph.initializers.get("big")!;
    const at = ref([{ key: "location", value: "weights.bin" }, { key: "offset", value: "4096" }, { key: "length", value: "16" }]);
    expect(at.external).toEqual({ location: "weights.bin", offset: 4096, length: 16 });
    expect(at.floats).toBeUndefined();
    // Without a length, the dims and data type give it: 4 halves are 8 bytes.
    expect(ref([{ key: "location", value: "w" }], DataType.FLOAT16).external).toEqual({ location: "w", offset: 0, length: 8 });
    expectError(() => ref([{ key: "offset", value: "0" }]), ModelFormatError, /initializer "big" keeps its values in an external file but names none/);
    expectError(() => ref([{ key: "location", value: "w" }, { key: "offset", value: "-8" }]), ModelFormatError, /initializer "big" has external_data offset "-8"; expected a byte count/);
    expectError(() => ref([{ key: "location", value: "w" }, { key: "length", value: "12" }]), ModelFormatError, /initializer "big" \(FLOAT, dims \[4\]\) has external_data length 12; expected 16/);
    expectError(() => decodeTensor(onnxTensor("t", { dims: [1], data: [1], proto: { dataLocation: 1, externalData: [{ key: "location", value: "w" }] } })), UnsupportedError, /tensor "t" keeps its values in an external file/);
    const sparse = create(ModelProtoSchema, { graph: { name: "g", sparseInitializer: [new Uint8Array([8, 1])] } });
    expectError(() => decodeModel(toBinary(ModelProtoSchema, sparse)), UnsupportedError, /graph "g" has 1 sparse initializer/);
  });

  it("data types simdcnn does not read: a model notes them for the load-time check; a tensor file throws", () => {
    const m = decodeModel(withInitializers({ u16: { dims: [2], data: [0, 0], dataType: DataType.UINT8, proto: { dataType: 4, rawData: new Uint8Array(4) } } }));
    expect(m.graph.initializers.get("u16")!.unsupported).toMatch(/initializer "u16" has data type UINT16; simdcnn reads FLOAT, FLOAT16, BFLOAT16, DOUBLE/);
    expectError(() => decodeTensor(onnxTensor("s", { dims: [1], data: [], proto: { dataType: 8, rawData: new Uint8Array(0), stringData: [new Uint8Array(1)] } })), UnsupportedError, /"s" has data type STRING/);
  });

  it("a model without a graph, empty input, and bytes that are not protobuf at all", () => {
    const noGraph = toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, producerName: "x" }));
    expectError(() => decodeModel(noGraph), ModelFormatError, /ModelProto.graph \(field 7\) is missing/);
    expectError(() => decodeModel(new Uint8Array(0)), ModelFormatError, /graph .* is missing/);
    expectError(() => decodeModel(new TextEncoder().encode("this is not an ONNX model\n")), ModelFormatError, /ONNX model: the protobuf encoding is invalid \(.+\); the file is truncated, corrupted, or not a serialized ONNX model/);
    expectError(() => decodeTensor(new Uint8Array([0x0a, 0x05, 0x01])), ModelFormatError, /ONNX tensor: the protobuf encoding is invalid/);
    // A length prefix claiming 2 GB inside a 10-byte file.
    expectError(() => decodeModel(new Uint8Array([0x3a, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0, 0, 0])), ModelFormatError, /protobuf encoding is invalid/);
  });

  it("names that are missing or repeated", () => {
    const base = { inputs: [{ name: "x" }], outputs: [{ name: "y" }] };
    expectError(() => decodeModel(onnxModel({ ...base, nodes: [{ op: "", name: "n0", inputs: ["x"], outputs: ["y"] }] })), ModelFormatError, /graph "test": node 0 \("n0"\) has no op_type/);
    expectError(
      () => decodeModel(onnxModel({ ...base, nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }, { op: "Conv", name: "c", inputs: ["x"], outputs: ["y"], attrs: { "": 1 } }] })),
      ModelFormatError,
      /node 1 \(Conv "c"\) has an attribute without a name/,
    );
    const dupAttr = create(ModelProtoSchema, { graph: { name: "g", node: [{ opType: "Conv", attribute: [{ name: "group", type: 2, i: 1n }, { name: "group", type: 2, i: 2n }] }] } });
    expectError(() => decodeModel(toBinary(ModelProtoSchema, dupAttr)), ModelFormatError, /node 0 \(Conv ""\) gives attribute "group" twice/);
    const dupInit = create(ModelProtoSchema, { graph: { name: "g", initializer: [{ name: "w", dims: [1n], dataType: 1, floatData: [1] }, { name: "w", dims: [1n], dataType: 1, floatData: [2] }] } });
    expectError(() => decodeModel(toBinary(ModelProtoSchema, dupInit)), ModelFormatError, /initializer "w" is given twice/);
    const noInitName = create(ModelProtoSchema, { graph: { name: "g", initializer: [{ dims: [1n], dataType: 1, floatData: [1] }] } });
    expectError(() => decodeModel(toBinary(ModelProtoSchema, noInitName)), ModelFormatError, /initializer 0 has no name/);
    expectError(() => decodeModel(onnxModel({ inputs: [{ name: "" }], outputs: [], nodes: [] })), ModelFormatError, /input 0 has no name/);
  });

  it("a TENSOR attribute without its tensor", () => {
    const m = onnxModel({ inputs: [], outputs: [{ name: "y" }], nodes: [{ op: "Constant", name: "k", inputs: [], outputs: ["y"], attrs: { value: new RawAttribute({ type: AttributeType.TENSOR }) } }] });
    expectError(() => decodeModel(m), ModelFormatError, /node 0 \(Constant "k"\), attribute "value" has type TENSOR but no tensor/);
  });

  it("a bad tensor inside an attribute names the node and attribute", () => {
    const m = onnxModel({ inputs: [], outputs: [{ name: "y" }], nodes: [{ op: "Constant", name: "k", inputs: [], outputs: ["y"], attrs: { value: { dims: [2], data: [1] } } }] });
    expectError(() => decodeModel(m), ModelFormatError, /node 0 \(Constant "k"\), attribute "value" \(FLOAT, dims \[2\]\) has 4 bytes of raw_data; expected 8/);
  });

  it("graphs nested beyond the protobuf library's recursion limit", () => {
    let graph = create(GraphProtoSchema, { name: "leaf" });
    for (let i = 0; i < 200; i++) graph = create(GraphProtoSchema, { name: `g${i}`, node: [{ opType: "If", attribute: [{ name: "then_branch", type: AttributeType.GRAPH, g: graph }] }] });
    const bytes = toBinary(ModelProtoSchema, create(ModelProtoSchema, { graph }));
    expectError(() => decodeModel(bytes), ModelFormatError, /recursion/);
  });

  it("a 1 MB random buffer, quickly", () => {
    const rng = new Rng(99);
    for (let trial = 0; trial < 5; trial++) {
      const bytes = new Uint8Array(1 << 20);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
      const t0 = performance.now();
      expectError(() => decodeModel(bytes), ModelFormatError, /ONNX model/);
      expectError(() => decodeTensor(bytes), ModelFormatError, /ONNX tensor/);
      expect(performance.now() - t0).toBeLessThan(500);
    }
  });
});
