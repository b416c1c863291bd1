import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ArgumentError, ModelFormatError, ShapeError } from "../src/errors.js";
import { modelSettings } from "../src/io/metadata.js";

describe("modelSettings", () => {
  it("defaults", () => {
    expect(modelSettings()).toEqual({ resize: "bilinear", normalize: "unit", output: "logits" });
    expect(modelSettings({ outputSize: 3 }).labels).toEqual(["class_0", "class_1", "class_2"]);
  });

  it("reads every key of docs/model-metadata.md from metadata_props and ignores other keys", () => {
    const settings = modelSettings({
      metadata: {
        "simdcnn:labels": '["normal","lesion"]',
        "simdcnn:resize": "nearest",
        "simdcnn:normalize": '{"mean":[0.5],"std":[0.25]}',
        "simdcnn:output": "softmax",
        "simdcnn:window": "40, 400",
        producer_note: "not ours",
      },
      inputShape: ["batch", 1, 64, 48],
      outputSize: 2,
    });
    expect(settings).toEqual({
      labels: ["normal", "lesion"],
      resize: "nearest",
      normalize: { mean: [0.5], std: [0.25] },
      output: "softmax",
      window: [40, 400],
      input: { layout: "NCHW", channels: 1, height: 64, width: 48, resize: "nearest", normalize: { mean: [0.5], std: [0.25] } },
    });
  });

  it("sidecar overrides the model and flags override both", () => {
    const metadata = { "simdcnn:output": "softmax", "simdcnn:resize": "nearest", "simdcnn:window": "0,100" };
    const sidecar = JSON.stringify({ "simdcnn:output": "sigmoid", "simdcnn:labels": ["a"], "simdcnn:window": [50, 10] });
    const settings = modelSettings({ metadata, sidecar, overrides: { window: "40,400", resize: undefined } });
    expect(settings.output).toBe("sigmoid");
    expect(settings.resize).toBe("nearest");
    expect(settings.labels).toEqual(["a"]);
    expect(settings.window).toEqual([40, 400]);
    expect(modelSettings({ metadata, sidecar }).window).toEqual([50, 10]);
    expect(modelSettings({ sidecar: { "simdcnn:normalize": { mean: [0, 0, 0], std: [1, 1, 1] } } }).normalize).toEqual({ mean: [0, 0, 0], std: [1, 1, 1] });
  });

  it("derives the layout from where the channel dimension sits", () => {
    const input = (shape: (number | string)[]) => modelSettings({ inputShape: shape }).input;
    expect(input([1, 3, 224, 200])).toMatchObject({ layout: "NCHW", channels: 3, height: 224, width: 200 });
    expect(input(["N", 224, 200, 3])).toMatchObject({ layout: "NHWC", channels: 3, height: 224, width: 200 });
    expect(input([1, 128, 96, 1])).toMatchObject({ layout: "NHWC", channels: 1, height: 128, width: 96 });
    expect(input([1, 3, 5, 3])).toMatchObject({ layout: "NCHW", channels: 3, height: 5, width: 3 });
    expect(() => input([1, 224, 224])).toThrow(ShapeError);
    expect(() => input([1, 4, 224, 224])).toThrow(/channel dimension/);
    expect(() => input([1, 3, "h", "w"])).toThrow(/no fixed height and width/);
  });

  it("names the key and the source of a bad value", () => {
    const bad: [Parameters<typeof modelSettings>[0], RegExp, typeof ModelFormatError | typeof ArgumentError][] = [
      [{ metadata: { "simdcnn:resize": "bicubic" } }, /simdcnn:resize in the model's metadata_props: expected 'bilinear', 'nearest', got "bicubic"/, ModelFormatError],
      [{ metadata: { "simdcnn:labels": "[normal" } }, /simdcnn:labels in the model's metadata_props: not valid JSON/, ModelFormatError],
      [{ metadata: { "simdcnn:labels": "[1, 2]" } }, /simdcnn:labels .*array of class names/, ModelFormatError],
      [{ metadata: { "simdcnn:lables": "[]" } }, /simdcnn:lables .*unknown key/, ModelFormatError],
      [{ metadata: { "simdcnn:output": "softmax2" } }, /simdcnn:output/, ModelFormatError],
      [{ metadata: { "simdcnn:normalize": '{"mean":[0.5]}' } }, /simdcnn:normalize/, ModelFormatError],
      [{ metadata: { "simdcnn:normalize": '{"mean":[0.5],"std":[0]}' } }, /non-zero/, ModelFormatError],
      [{ metadata: { "simdcnn:window": "40" } }, /simdcnn:window .*center,width/, ModelFormatError],
      [{ metadata: { "simdcnn:window": "40,-4" } }, /positive width/, ModelFormatError],
      [{ sidecar: "{ not json" }, /sidecar JSON is not valid JSON/, ModelFormatError],
      [{ sidecar: "[1]" }, /must be an object/, ModelFormatError],
      [{ sidecar: { "simdcnn:resize": 3 } }, /simdcnn:resize in the sidecar JSON/, ModelFormatError],
      [{ overrides: { window: "a,b" } }, /window \(command-line override\)/, ArgumentError],
      [{ overrides: { colour: "x" } as never }, /colour \(command-line override\): unknown key/, ArgumentError],
      [{ metadata: { "simdcnn:labels": '["a","b","c"]' }, outputSize: 2 }, /simdcnn:labels in the model's metadata_props: 3 names but the model outputs 2 classes/, ModelFormatError],
      [{ overrides: { labels: ["a"] }, outputSize: 2 }, /labels \(command-line override\): 1 names/, ArgumentError],
      [{ sidecar: { "simdcnn:normalize": '{"mean":[0,0,0],"std":[1,1,1]}' }, inputShape: [1, 1, 8, 8] }, /simdcnn:normalize in the sidecar JSON: needs 1 mean/, ModelFormatError],
    ];
    for (const [sources, message, type] of bad) {
      expect(() => modelSettings(sources), JSON.stringify(sources)).toThrow(type);
      expect(() => modelSettings(sources), JSON.stringify(sources)).toThrow(message);
    }
  });
});

describe("simdcnn:input_size", () => {
  it("sizes a model whose input height and width are symbolic, and must agree with numeric ones", async () => {
    const { modelSettings } = await import("../src/io/metadata.js");
    const s = modelSettings({ metadata: { "simdcnn:input_size": "96,80" }, inputShape: ["N", 1, "H", "W"] });
    expect([s.input?.height, s.input?.width]).toEqual([96, 80]);
    expect(() => modelSettings({ inputShape: ["N", 1, "H", "W"] })).toThrow(/input_size/);
    expect(() => modelSettings({ metadata: { "simdcnn:input_size": "96,80" }, inputShape: [1, 1, 64, 64] })).toThrow(/differs/);
    expect(() => modelSettings({ metadata: { "simdcnn:input_size": "96" }, inputShape: ["N", 1, "H", "W"] })).toThrow(/height,width/);
  });
});

describe("modelSettings(model)", () => {
  it("reads a loaded Model's metadata, input shape and class count (the bundled phantom model)", async () => {
    const { init } = await import("../src/node.js");
    const engine = await init();
    const model = await engine.loadOnnx(fileURLToPath(new URL("../examples/phantom/phantom.onnx", import.meta.url)));
    try {
      // phantom.onnx declares input 'slice' [N, 1, 128, 128], output 'logits' [N, 2] and the
      // metadata of examples/phantom/README.md.
      expect(modelSettings(model)).toEqual({
        labels: ["normal", "lesion"],
        resize: "bilinear",
        normalize: "unit",
        output: "softmax",
        input: { layout: "NCHW", channels: 1, height: 128, width: 128, resize: "bilinear", normalize: "unit" },
      });
      const s = modelSettings(model, { sidecar: { "simdcnn:resize": "nearest" }, overrides: { window: "40,400" } });
      expect([s.resize, s.input?.resize, s.window]).toEqual(["nearest", "nearest", [40, 400]]);
    } finally {
      model.dispose();
      engine.dispose();
    }
  });

  it("takes any object of that shape; class names default from a numeric output size", () => {
    const model = { metadata: {}, inputs: [{ name: "x", shape: ["N", 64, 64, 3] }], outputs: [{ shape: ["N", 3] }] };
    const s = modelSettings(model);
    expect(s.labels).toEqual(["class_0", "class_1", "class_2"]);
    expect(s.input).toEqual({ layout: "NHWC", channels: 3, height: 64, width: 64, resize: "bilinear", normalize: "unit" });
    expect(modelSettings({ ...model, outputs: [{ shape: ["N", "K"] }] }).labels).toBeUndefined();
  });

  it("a model without exactly one input, or a malformed one, is an ArgumentError", () => {
    const io = { name: "a", shape: [1, 1, 8, 8] };
    expect(() => modelSettings({ metadata: {}, inputs: [io, { ...io, name: "b" }], outputs: [] })).toThrow(ArgumentError);
    expect(() => modelSettings({ metadata: {}, inputs: [io, { ...io, name: "b" }], outputs: [] })).toThrow(/one input; this model takes 2 \(a, b\)/);
    expect(() => modelSettings({ metadata: {}, inputs: [], outputs: [] })).toThrow(/takes 0/);
    expect(() => modelSettings({ metadata: {}, inputs: "x", outputs: [] } as never)).toThrow(ArgumentError);
  });
});
