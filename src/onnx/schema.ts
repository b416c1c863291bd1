// The subset of onnx.proto that simdcnn reads, described in code rather than generated: field
// names and numbers are those of onnx/onnx.proto (IR version 10), so any ONNX file decodes
// with it; fields left out here are skipped as unknown fields. Message fields the decoder must
// only detect (sparse initializers) are declared as bytes, which skips their contents.
import { create, createFileRegistry, type Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

/** name, number, type, then "repeated" or "packed", the message type name, a oneof index. */
type FieldSpec = [name: string, number: number, type: Type, label?: "repeated" | "packed", typeName?: string, oneof?: number];

function message(name: string, fields: FieldSpec[], nested: DescriptorProto[] = [], oneofs: string[] = []): DescriptorProto {
  return create(DescriptorProtoSchema, {
    name,
    nestedType: nested,
    oneofDecl: oneofs.map((n) => ({ name: n })),
    field: fields.map(([n, number, type, label, typeName, oneofIndex]) => ({
      name: n,
      number,
      type,
      typeName: typeName === undefined ? undefined : `.onnx.${typeName}`,
      label: label === undefined ? Label.OPTIONAL : Label.REPEATED,
      // proto2 repeated scalars are unpacked unless marked; onnx.proto marks TensorProto's data
      // arrays. Decoding accepts either encoding, so this only matters for what we write.
      options: label === "packed" ? { packed: true } : undefined,
      oneofIndex,
    })),
  });
}

const { MESSAGE: MSG, STRING: STR, BYTES, INT64, INT32, FLOAT, DOUBLE, UINT64 } = Type;

const file = create(FileDescriptorProtoSchema, {
  name: "simdcnn/onnx-subset.proto",
  package: "onnx",
  syntax: "proto2",
  messageType: [
    message("ModelProto", [
      ["ir_version", 1, INT64],
      ["opset_import", 8, MSG, "repeated", "OperatorSetIdProto"],
      ["producer_name", 2, STR],
      ["producer_version", 3, STR],
      ["domain", 4, STR],
      ["model_version", 5, INT64],
      ["doc_string", 6, STR],
      ["graph", 7, MSG, undefined, "GraphProto"],
      ["metadata_props", 14, MSG, "repeated", "StringStringEntryProto"],
    ]),
    message("GraphProto", [
      ["node", 1, MSG, "repeated", "NodeProto"],
      ["name", 2, STR],
      ["initializer", 5, MSG, "repeated", "TensorProto"],
      ["sparse_initializer", 15, BYTES, "repeated"],
      ["doc_string", 10, STR],
      ["input", 11, MSG, "repeated", "ValueInfoProto"],
      ["output", 12, MSG, "repeated", "ValueInfoProto"],
      ["value_info", 13, MSG, "repeated", "ValueInfoProto"],
    ]),
    message("NodeProto", [
      ["input", 1, STR, "repeated"],
      ["output", 2, STR, "repeated"],
      ["name", 3, STR],
      ["op_type", 4, STR],
      ["domain", 7, STR],
      ["attribute", 5, MSG, "repeated", "AttributeProto"],
      ["doc_string", 6, STR],
    ]),
    message("AttributeProto", [
      ["name", 1, STR],
      ["ref_attr_name", 21, STR],
      ["doc_string", 13, STR],
      ["type", 20, INT32],
      ["f", 2, FLOAT],
      ["i", 3, INT64],
      ["s", 4, BYTES],
      ["t", 5, MSG, undefined, "TensorProto"],
      ["g", 6, MSG, undefined, "GraphProto"],
      ["floats", 7, FLOAT, "repeated"],
      ["ints", 8, INT64, "repeated"],
      ["strings", 9, BYTES, "repeated"],
      ["tensors", 10, MSG, "repeated", "TensorProto"],
      ["graphs", 11, MSG, "repeated", "GraphProto"],
    ]),
    message("TensorProto", [
      ["dims", 1, INT64, "repeated"],
      ["data_type", 2, INT32],
      ["float_data", 4, FLOAT, "packed"],
      ["int32_data", 5, INT32, "packed"],
      ["string_data", 6, BYTES, "repeated"],
      ["int64_data", 7, INT64, "packed"],
      ["name", 8, STR],
      ["doc_string", 12, STR],
      ["raw_data", 9, BYTES],
      ["external_data", 13, MSG, "repeated", "StringStringEntryProto"],
      ["data_location", 14, INT32],
      ["double_data", 10, DOUBLE, "packed"],
      ["uint64_data", 11, UINT64, "packed"],
    ]),
    message("ValueInfoProto", [
      ["name", 1, STR],
      ["type", 2, MSG, undefined, "TypeProto"],
      ["doc_string", 3, STR],
    ]),
    message(
      "TypeProto",
      [
        ["tensor_type", 1, MSG, undefined, "TypeProto.Tensor", 0],
        ["denotation", 6, STR],
      ],
      [message("Tensor", [["elem_type", 1, INT32], ["shape", 2, MSG, undefined, "TensorShapeProto"]])],
      ["value"],
    ),
    message(
      "TensorShapeProto",
      [["dim", 1, MSG, "repeated", "TensorShapeProto.Dimension"]],
      [
        message(
          "Dimension",
          [
            ["dim_value", 1, INT64, undefined, undefined, 0],
            ["dim_param", 2, STR, undefined, undefined, 0],
            ["denotation", 3, STR],
          ],
          [],
          ["value"],
        ),
      ],
    ),
    message("OperatorSetIdProto", [["domain", 1, STR], ["version", 2, INT64]]),
    message("StringStringEntryProto", [["key", 1, STR], ["value", 2, STR]]),
  ],
});

const registry = createFileRegistry(file, () => undefined);

function schema<T extends Message>(name: string): GenMessage<T> {
  const desc = registry.getMessage(`onnx.${name}`);
  // Only reachable if the descriptor above is edited wrongly: fail at import, not at decode.
  if (desc === undefined) throw new Error(`onnx schema: no message ${name}`);
  return desc as unknown as GenMessage<T>;
}

// The shapes @bufbuild/protobuf gives these messages (camelCase names; int64 as bigint; a
// oneof as { case, value }), written by hand since nothing is generated.

export type StringStringEntryProto = Message<"onnx.StringStringEntryProto"> & { key: string; value: string };

export type OperatorSetIdProto = Message<"onnx.OperatorSetIdProto"> & { domain: string; version: bigint };

export type TensorProto = Message<"onnx.TensorProto"> & {
  dims: bigint[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: bigint[];
  name: string;
  docString: string;
  rawData: Uint8Array;
  externalData: StringStringEntryProto[];
  dataLocation: number;
  doubleData: number[];
  uint64Data: bigint[];
};

export type AttributeProto = Message<"onnx.AttributeProto"> & {
  name: string;
  refAttrName: string;
  docString: string;
  type: number;
  f: number;
  i: bigint;
  s: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: bigint[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
};

export type NodeProto = Message<"onnx.NodeProto"> & {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttributeProto[];
  docString: string;
};

export type TensorShapeProto_Dimension = Message<"onnx.TensorShapeProto.Dimension"> & {
  value:
    | { case: "dimValue"; value: bigint }
    | { case: "dimParam"; value: string }
    | { case: undefined; value?: undefined };
  denotation: string;
};

export type TensorShapeProto = Message<"onnx.TensorShapeProto"> & { dim: TensorShapeProto_Dimension[] };

export type TypeProto_Tensor = Message<"onnx.TypeProto.Tensor"> & { elemType: number; shape?: TensorShapeProto };

export type TypeProto = Message<"onnx.TypeProto"> & {
  value: { case: "tensorType"; value: TypeProto_Tensor } | { case: undefined; value?: undefined };
  denotation: string;
};

export type ValueInfoProto = Message<"onnx.ValueInfoProto"> & { name: string; type?: TypeProto; docString: string };

export type GraphProto = Message<"onnx.GraphProto"> & {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  /** Each a serialized SparseTensorProto, kept only to reject it. */
  sparseInitializer: Uint8Array[];
  docString: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
};

export type ModelProto = Message<"onnx.ModelProto"> & {
  irVersion: bigint;
  opsetImport: OperatorSetIdProto[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: bigint;
  docString: string;
  graph?: GraphProto;
  metadataProps: StringStringEntryProto[];
};

export const ModelProtoSchema = schema<ModelProto>("ModelProto");
export const GraphProtoSchema = schema<GraphProto>("GraphProto");
export const NodeProtoSchema = schema<NodeProto>("NodeProto");
export const AttributeProtoSchema = schema<AttributeProto>("AttributeProto");
export const TensorProtoSchema = schema<TensorProto>("TensorProto");
export const ValueInfoProtoSchema = schema<ValueInfoProto>("ValueInfoProto");
export const TypeProtoSchema = schema<TypeProto>("TypeProto");
export const TypeProto_TensorSchema = schema<TypeProto_Tensor>("TypeProto.Tensor");
export const TensorShapeProtoSchema = schema<TensorShapeProto>("TensorShapeProto");
export const TensorShapeProto_DimensionSchema = schema<TensorShapeProto_Dimension>("TensorShapeProto.Dimension");
export const OperatorSetIdProtoSchema = schema<OperatorSetIdProto>("OperatorSetIdProto");
export const StringStringEntryProtoSchema = schema<StringStringEntryProto>("StringStringEntryProto");

/** AttributeProto.AttributeType codes. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataLocation.EXTERNAL: the values live in another file. */
export const DATA_LOCATION_EXTERNAL = 1;
