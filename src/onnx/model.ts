// A decoded ONNX model as plain data: what src/onnx/decode.ts produces from the protobuf and what
// the importer (src/onnx/import.ts) reads. Integers are JS numbers (int64 values beyond 2^53,
// such as INT64_MAX in Slice ends, lose precision harmlessly: they are only ever clamped).

/** ONNX TensorProto.DataType codes used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;

/** Where the values of a tensor stored outside the model are (TensorProto.external_data). */
export interface ExternalRef {
  /** The file, relative to the model's folder. */
  location: string;
  offset: number;
  length: number;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** TensorProto.DataType code. */
  dataType: number;
  /** The values of a FLOAT tensor (or FLOAT16, BFLOAT16, DOUBLE converted), dims' product long. */
  floats?: Float32Array;
  /** The values of an integer or BOOL tensor, dims' product long. */
  ints?: number[];
  /** Set while the values are in an external file, until the loader reads them (src/onnx/external.ts). */
  external?: ExternalRef;
  /** Why simdcnn cannot read the values (a data type it does not know), for the load-time check to report. */
  unsupported?: string;
}

export type OnnxAttribute =
  | { type: "float"; value: number }
  | { type: "int"; value: number }
  | { type: "string"; value: string }
  | { type: "tensor"; value: OnnxTensor }
  | { type: "floats"; value: number[] }
  | { type: "ints"; value: number[] }
  | { type: "strings"; value: string[] }
  | { type: "unsupported"; what: string };

export interface OnnxNode {
  name: string;
  opType: string;
  /** "" for the default ONNX domain. */
  domain: string;
  /** Input names; "" marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType code of the element type, 0 when not given. */
  elemType: number;
  /** Dimensions: a number, a symbolic name, or null when unknown; null when the shape is not given. */
  shape: (number | string | null)[] | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  /** Declared inputs, including initializers that old exporters also list as inputs. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  /** Opset version per domain ("" is the default ONNX domain). */
  opsets: Map<string, number>;
  producer: string;
  graph: OnnxGraph;
  metadata: Record<string, string>;
}
