// The plain structures of model.ts -> ONNX protobuf bytes: the inverse of decode.ts, with the same
// schema. It writes what a layers network is built as (networkGraph), so that a network made in
// code can be saved as an .onnx file and run by any ONNX runtime.
import { type MessageInitShape, create, toBinary } from "@bufbuild/protobuf";
import { ArgumentError } from "../errors.js";
import { DataType, type OnnxAttribute, type OnnxModel, type OnnxTensor, type OnnxValueInfo } from "./model.js";
import { AttributeProtoSchema, AttributeType, ModelProtoSchema, TensorProtoSchema, ValueInfoProtoSchema } from "./schema.js";

/** Serializes a model (e.g. `networkGraph(...)`) as an onnx.ModelProto, the contents of an .onnx file. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const g = model.graph;
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: BigInt(model.irVersion),
      producerName: model.producer,
      opsetImport: [...model.opsets].map(([domain, version]) => ({ domain, version: BigInt(version) })),
      metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: g.name,
        node: g.nodes.map((n) => ({
          name: n.name, opType: n.opType, domain: n.domain, input: n.inputs, output: n.outputs,
          attribute: [...n.attributes].map(([name, a]) => attribute(name, a)),
        })),
        initializer: [...g.initializers.values()].map(tensor),
        input: g.inputs.map(valueInfo),
        output: g.outputs.map(valueInfo),
      },
    }),
  );
}

type TensorInit = MessageInitShape<typeof TensorProtoSchema>;

// Values go to raw_data in little-endian order, as exporters write them (and as every host
// WebAssembly runs on stores typed arrays).
function tensor(t: OnnxTensor): TensorInit {
  const base = { name: t.name, dims: t.dims.map(BigInt), dataType: t.dataType };
  if (t.floats !== undefined) {
    if (t.dataType !== DataType.FLOAT) throw new ArgumentError(`encodeModel: tensor '${t.name}' holds floats but has data type ${t.dataType}; only FLOAT is written from floats`);
    return { ...base, rawData: bytes(t.floats) };
  }
  const ints = t.ints ?? [];
  switch (t.dataType) {
    case DataType.INT64:
      return { ...base, rawData: bytes(BigInt64Array.from(ints, BigInt)) };
    case DataType.INT32:
      return { ...base, rawData: bytes(Int32Array.from(ints)) };
    case DataType.INT8:
      return { ...base, rawData: bytes(Int8Array.from(ints)) };
    case DataType.UINT8:
    case DataType.BOOL:
      return { ...base, rawData: Uint8Array.from(ints) };
    default:
      throw new ArgumentError(`encodeModel: tensor '${t.name}' has data type ${t.dataType}; expected FLOAT, INT64, INT32, INT8, UINT8 or BOOL`);
  }
}

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function attribute(name: string, a: OnnxAttribute): MessageInitShape<typeof AttributeProtoSchema> {
  switch (a.type) {
    case "float":
      return { name, type: AttributeType.FLOAT, f: a.value };
    case "int":
      return { name, type: AttributeType.INT, i: BigInt(a.value) };
    case "string":
      return { name, type: AttributeType.STRING, s: utf8.encode(a.value) };
    case "tensor":
      return { name, type: AttributeType.TENSOR, t: tensor(a.value) };
    case "floats":
      return { name, type: AttributeType.FLOATS, floats: a.value };
    case "ints":
      return { name, type: AttributeType.INTS, ints: a.value.map(BigInt) };
    case "strings":
      return { name, type: AttributeType.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    default:
      throw new ArgumentError(`encodeModel: attribute '${name}' is ${a.what}, which cannot be written back`);
  }
}

function valueInfo(v: OnnxValueInfo): MessageInitShape<typeof ValueInfoProtoSchema> {
  if (v.shape === null && v.elemType === 0) return { name: v.name };
  const dims = v.shape?.map((d) =>
    typeof d === "number" ? { value: { case: "dimValue" as const, value: BigInt(d) } }
    : typeof d === "string" ? { value: { case: "dimParam" as const, value: d } }
    : {},
  );
  return { name: v.name, type: { value: { case: "tensorType", value: { elemType: v.elemType, shape: dims === undefined ? undefined : { dim: dims } } } } };
}

const utf8 = new TextEncoder();
