// External data: tensors whose values an exporter wrote to files beside the .onnx (TensorProto
// data_location EXTERNAL with location/offset/length). Node's loadOnnx(path) reads those files
// from the model's folder; bytes come with a map of the files by location (the only way in a
// browser). Locations are confined to the model's folder.
import { ArgumentError, ModelFormatError, UnsupportedError } from "../errors.js";
import { tensorFromBytes } from "./decode.js";
import type { OnnxModel, OnnxTensor } from "./model.js";

/** The most a model may weigh, file and external data together: what a wasm32 memory can address. */
export const MAX_MODEL_BYTES = 2 ** 31;

/** Extra files of a model by location, as its tensors name them ("model.onnx.data"). */
export type ExternalFiles = Record<string, Uint8Array | ArrayBuffer>;

/** Every tensor of the model (initializers and Constant-like attributes), with a way to replace it. */
function* tensorsOf(model: OnnxModel): Generator<{ t: OnnxTensor; label: string; set: (t: OnnxTensor) => void }> {
  const g = model.graph;
  for (const [name, t] of g.initializers) yield { t, label: `initializer '${name}'`, set: (v) => g.initializers.set(name, v) };
  for (const n of g.nodes) {
    for (const [key, a] of n.attributes) {
      if (a.type === "tensor") yield { t: a.value, label: `attribute '${key}' of node '${n.name || n.outputs[0]}'`, set: (v) => n.attributes.set(key, { type: "tensor", value: v }) };
    }
  }
}

/**
 * The files the model's external tensors name, each once, after checking that the model and
 * those tensors together fit in 2 GiB (so nothing is read for a model that cannot load).
 */
export function externalFiles(model: OnnxModel, modelBytes: number): string[] {
  const files = new Set<string>();
  let total = modelBytes;
  for (const { t } of tensorsOf(model)) {
    if (t.external === undefined) continue;
    files.add(t.external.location);
    total += t.external.length;
  }
  if (total > MAX_MODEL_BYTES) {
    throw new UnsupportedError(
      `the model and its external data hold ${(total / 2 ** 30).toFixed(2)} GiB; simdcnn runs in a 32-bit WebAssembly memory and loads models of at most 2 GiB`,
    );
  }
  return [...files];
}

/**
 * The path of an external file named by `location`, beside the model at `modelPath`. A location
 * that is absolute or steps out of the folder is refused: a model file must not read elsewhere.
 */
export function siblingPath(modelPath: string, location: string): string {
  const parts = location.split(/[/\\]/);
  if (/^([/\\]|[A-Za-z]:)/.test(location) || parts.includes("..")) {
    throw new ModelFormatError(
      `the model names the external data file '${location}', outside its folder; expected a path relative to the model's folder without '..'`,
    );
  }
  const slash = Math.max(modelPath.lastIndexOf("/"), modelPath.lastIndexOf("\\"));
  return modelPath.slice(0, slash + 1) + parts.filter((p) => p !== "" && p !== ".").join("/");
}

/** Replaces every external tensor of the model by its values, read from `files`. */
export function attachExternalData(model: OnnxModel, files: ExternalFiles): OnnxModel {
  for (const { t, label, set } of tensorsOf(model)) {
    const ref = t.external;
    if (ref === undefined) continue;
    const given = Object.hasOwn(files, ref.location) ? files[ref.location] : undefined;
    if (given === undefined) {
      throw new ArgumentError(
        `loadOnnx: ${label} keeps its values in the file '${ref.location}'; pass its bytes as options.externalData['${ref.location}'] ` +
          "(in Node, loading the model by its path reads it from the model's folder)",
      );
    }
    const bytes = given instanceof ArrayBuffer ? new Uint8Array(given) : given;
    if (!(bytes instanceof Uint8Array)) throw new ArgumentError(`loadOnnx: externalData['${ref.location}'] must be a Uint8Array or an ArrayBuffer`);
    if (ref.offset + ref.length > bytes.length) {
      throw new ModelFormatError(
        `${label} reads bytes ${ref.offset} to ${ref.offset + ref.length} of '${ref.location}', which holds ${bytes.length}; the data file is truncated or belongs to another model`,
      );
    }
    const { name, dims, dataType } = t;
    set(tensorFromBytes({ name, dims, dataType }, bytes.subarray(ref.offset, ref.offset + ref.length), label, `'${ref.location}'`));
  }
  return model;
}
