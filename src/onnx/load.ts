import { UnsupportedError } from "../errors.js";
import { Model, type ModelIO, NeedsInput } from "../graph/model.js";
import type { Runtime } from "../runtime/runtime.js";
import { decodeModel } from "./decode.js";
import { type ExternalFiles, attachExternalData, externalFiles, siblingPath } from "./external.js";
import { checkGraph, defaultOpset, problemsError, realInputs, staticProblems } from "./check.js";
import { NeedsConstant, importGraph } from "./import/importer.js";
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from "./model.js";

export interface LoadOnnxOptions {
  /** Fold BatchNormalization and fuse activations and residual adds into kernels (default true). */
  optimize?: boolean;
  /**
   * The model's external data files by the location its tensors name (`{ "model.onnx.data": bytes }`).
   * In Node, a model loaded by its path has them read from its folder unless given here.
   */
  externalData?: ExternalFiles;
}

const DTYPES: Record<number, ModelIO["dtype"]> = {
  0: "float32", [DataType.FLOAT]: "float32", [DataType.FLOAT16]: "float16", [DataType.INT64]: "int64", [DataType.INT32]: "int32", [DataType.BOOL]: "bool",
};

/** An input or output as the Model sees it; what simdcnn cannot feed or return goes to `problems`. */
function io(v: OnnxValueInfo, what: string, problems: string[]): ModelIO {
  let dtype = DTYPES[v.elemType];
  if (dtype === undefined || (what === "input" && dtype === "bool")) {
    problems.push(`${what} '${v.name}' has element type ${v.elemType}; simdcnn takes float32, float16 and int64/int32 inputs and returns float32, float16, int64/int32 and bool outputs`);
    dtype = "float32";
  }
  if (v.shape === null) problems.push(`${what} '${v.name}' declares no shape`);
  return { name: v.name, shape: (v.shape ?? []).map((d, i) => d ?? `${v.name}_dim${i}`), dtype };
}

/**
 * Every problem an import at the declared shapes meets (the importer goes on past each), or
 * undefined when the import cannot get that far (an input needed by value, a malformed node).
 */
function importProblems(model: OnnxModel, order: OnnxNode[], inputs: readonly ModelIO[]): string[] | undefined {
  const shapes = new Map(inputs.map((i) => [i.name, i.shape.map((d) => (typeof d === "number" ? d : 1))]));
  try {
    importGraph(model, order, shapes, new Map(), { optimize: true });
    return [];
  } catch (e) {
    return e instanceof UnsupportedError ? [...e.problems] : undefined;
  }
}

/**
 * Decodes and checks an ONNX model, then binds it once to its declared input shapes (symbolic
 * dimensions as 1), so that any unsupported attribute or inconsistent shape is reported now,
 * not at the first run.
 */
export function loadOnnx(rt: Runtime, bytes: Uint8Array, options: LoadOnnxOptions = {}): Model {
  const model = decodeModel(bytes);
  externalFiles(model, bytes.length);
  return modelFromOnnx(rt, attachExternalData(model, options.externalData ?? {}), options);
}

/** loadOnnx for the model file at `path`, with the external data files it names read from its folder. */
export async function loadOnnxFile(rt: Runtime, path: string, read: (path: string) => Promise<Uint8Array>, options: LoadOnnxOptions = {}): Promise<Model> {
  const bytes = await read(path);
  const model = decodeModel(bytes);
  const files: ExternalFiles = { ...options.externalData };
  for (const location of externalFiles(model, bytes.length)) {
    if (!Object.hasOwn(files, location)) files[location] = await read(siblingPath(path, location));
  }
  return modelFromOnnx(rt, attachExternalData(model, files), options);
}

/** A runnable Model from a decoded (or built in memory) ONNX graph. */
export function modelFromOnnx(rt: Runtime, model: OnnxModel, options: LoadOnnxOptions = {}): Model {
  const order = checkGraph(model);
  const problems: string[] = [];
  const inputs = realInputs(model).map((v) => io(v, "input", problems));
  const outputs = model.graph.outputs.map((v) => io({ ...v, shape: v.shape ?? [] }, "output", problems));
  // Problems that would not stop the import from starting are found by it, with the rest, when
  // the Model binds; these (an unreadable input, an unknown op in a model bound only at its first
  // run) must not wait, so they are reported now, with all the import can add.
  const found = staticProblems(model);
  if (problems.length > 0 || found.length > 0) {
    const shaped = realInputs(model).every((v) => v.shape !== null);
    const imported = shaped ? importProblems(model, order, inputs) : undefined;
    throw problemsError(defaultOpset(model), [...problems, ...(imported?.length ? imported : found)]);
  }
  const optimize = options.optimize ?? true;
  const declared = outputs.map((o) => o.name).join("\u0000");
  const nodes = order.map((n) => ({ op: n.opType, name: n.name, inputs: n.inputs, outputs: n.outputs }));
  return new Model(rt, inputs, outputs, (shapes, values, wanted) => {
    const constants = new Map<string, OnnxTensor>();
    for (const [name, { dims, data }] of values) {
      constants.set(name, data instanceof Float32Array ? { name, dims, dataType: DataType.FLOAT, floats: data } : { name, dims, dataType: DataType.INT64, ints: data });
    }
    // Asked-for tensors are imported as the graph's outputs: the importer then keeps each one
    // whole (no fusion folds it into a later step) and returns it in the model's own layout.
    const graph = wanted.join("\u0000") === declared ? model.graph : { ...model.graph, outputs: wanted.map((name) => ({ name, elemType: DataType.FLOAT, shape: null })) };
    try {
      return importGraph({ ...model, graph }, order, shapes, constants, { optimize });
    } catch (e) {
      if (e instanceof NeedsConstant) throw new NeedsInput(e.input);
      throw e;
    }
  }, model.metadata, nodes);
}
