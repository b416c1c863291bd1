import { UnsupportedError } from "../errors.js";
import { Model, type ModelIO, NeedsInput } from "../graph/model.js";
import type { Runtime } from "../runtime/runtime.js";
import { decodeModel } from "./decode.js";
import { checkGraph, realInputs } from "./check.js";
import { NeedsConstant, importGraph } from "./import/importer.js";
import { DataType, type OnnxModel, type OnnxTensor, type OnnxValueInfo } from "./model.js";

export interface LoadOnnxOptions {
  /** Fold BatchNormalization and fuse activations and residual adds into kernels (default true). */
  optimize?: boolean;
}

const DTYPES: Record<number, ModelIO["dtype"]> = {
  0: "float32", [DataType.FLOAT]: "float32", [DataType.INT64]: "int64", [DataType.INT32]: "int32", [DataType.BOOL]: "bool",
};

function io(v: OnnxValueInfo, what: string): ModelIO {
  const dtype = DTYPES[v.elemType];
  if (dtype === undefined || (what === "input" && dtype === "bool")) {
    throw new UnsupportedError(`${what} '${v.name}' has element type ${v.elemType}; simdcnn takes float32 and int64/int32 inputs and returns float32, int64/int32 and bool outputs`);
  }
  if (v.shape === null) throw new UnsupportedError(`${what} '${v.name}' declares no shape`);
  return { name: v.name, shape: v.shape.map((d, i) => d ?? `${v.name}_dim${i}`), dtype };
}

/**
 * Decodes and checks an ONNX model, then binds it once to its declared input shapes (symbolic
 * dimensions as 1), so that any unsupported attribute or inconsistent shape is reported now,
 * not at the first run.
 */
export function loadOnnx(rt: Runtime, bytes: Uint8Array, options: LoadOnnxOptions = {}): Model {
  return modelFromOnnx(rt, decodeModel(bytes), options);
}

/** A runnable Model from a decoded (or built in memory) ONNX graph. */
export function modelFromOnnx(rt: Runtime, model: OnnxModel, options: LoadOnnxOptions = {}): Model {
  const order = checkGraph(model);
  const inputs = realInputs(model).map((v) => io(v, "input"));
  const outputs = model.graph.outputs.map((v) => io({ ...v, shape: v.shape ?? [] }, "output"));
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
