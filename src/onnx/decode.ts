// ONNX protobuf bytes -> the plain structures of model.ts. Everything a file can get wrong ends
// here as a ModelFormatError (or an UnsupportedError for valid ONNX that simdcnn does not read),
// checked before anything proportional to a declared size is allocated.
import { fromBinary, isFieldSet } from "@bufbuild/protobuf";
import { ModelFormatError, SimdcnnError, UnsupportedError } from "../errors.js";
import { bfloat16BitsToFloats, halfBitsToFloats } from "../runtime/float16.js";
import { DataType, type ExternalRef, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from "./model.js";
import {
  type AttributeProto,
  AttributeProtoSchema,
  AttributeType,
  DATA_LOCATION_EXTERNAL,
  type GraphProto,
  ModelProtoSchema,
  type NodeProto,
  type TensorProto,
  TensorProtoSchema,
  type TensorShapeProto_Dimension,
  type ValueInfoProto,
} from "./schema.js";

/** Most elements a tensor or a declared dimension may have: beyond this no wasm32 memory holds it. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Decodes a serialized onnx.ModelProto (the contents of a .onnx file). */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  return guarded("ONNX model", () => {
    const m = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: false });
    if (m.graph === undefined) {
      throw new ModelFormatError("ONNX model: ModelProto.graph (field 7) is missing; expected an .onnx model file, which always holds a graph");
    }
    const opsets = new Map<string, number>();
    for (const o of m.opsetImport) {
      const domain = o.domain === "ai.onnx" ? "" : o.domain;
      const version = Number(o.version);
      if (opsets.has(domain) && opsets.get(domain) !== version) {
        throw new ModelFormatError(`ONNX model: opset_import names domain ${quote(o.domain)} twice, with versions ${opsets.get(domain)} and ${version}; expected one version per domain`);
      }
      opsets.set(domain, version);
    }
    return {
      irVersion: Number(m.irVersion),
      opsets,
      producer: m.producerName,
      graph: graph(m.graph),
      metadata: Object.fromEntries(m.metadataProps.map((e) => [e.key, e.value])),
    };
  });
}

/** Decodes a serialized onnx.TensorProto (the input_N.pb / output_N.pb files of ONNX test data). */
export function decodeTensor(bytes: Uint8Array): OnnxTensor {
  return guarded("ONNX tensor", () => {
    const t = fromBinary(TensorProtoSchema, bytes, { readUnknownFields: false });
    const label = `tensor ${quote(t.name)}`;
    const decoded = tensor(t, label);
    if (decoded.unsupported !== undefined) throw new UnsupportedError(decoded.unsupported);
    if (decoded.external !== undefined) throw new UnsupportedError(`${label} keeps its values in an external file; a tensor file must hold its values`);
    return decoded;
  });
}

/** Runs a decoding step; any error the protobuf library (or a stack overflow) throws becomes a ModelFormatError. */
function guarded<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof SimdcnnError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new ModelFormatError(`${what}: the protobuf encoding is invalid (${reason}); the file is truncated, corrupted, or not a serialized ${what}`);
  }
}

function graph(g: GraphProto): OnnxGraph {
  const where = `graph ${quote(g.name)}`;
  if (g.sparseInitializer.length > 0) {
    throw new UnsupportedError(`${where} has ${g.sparseInitializer.length} sparse initializer(s) (GraphProto.sparse_initializer); simdcnn reads dense initializers only`);
  }
  const initializers = new Map<string, OnnxTensor>();
  g.initializer.forEach((t, i) => {
    if (t.name === "") throw new ModelFormatError(`${where}: initializer ${i} has no name; expected the name its users refer to`);
    if (initializers.has(t.name)) throw new ModelFormatError(`${where}: initializer ${quote(t.name)} is given twice; expected unique names`);
    initializers.set(t.name, tensor(t, `initializer ${quote(t.name)}`));
  });
  return {
    name: g.name,
    nodes: g.node.map((n, i) => node(n, `${where}: node ${i} (${n.opType === "" ? "" : `${n.opType} `}${quote(n.name)})`)),
    initializers,
    inputs: g.input.map((v, i) => valueInfo(v, `${where}: input ${i}`)),
    outputs: g.output.map((v, i) => valueInfo(v, `${where}: output ${i}`)),
  };
}

function node(n: NodeProto, where: string): OnnxNode {
  if (n.opType === "") throw new ModelFormatError(`${where} has no op_type; expected an operator name such as "Conv"`);
  const attributes = new Map<string, OnnxAttribute>();
  for (const a of n.attribute) {
    if (a.name === "") throw new ModelFormatError(`${where} has an attribute without a name`);
    if (attributes.has(a.name)) throw new ModelFormatError(`${where} gives attribute ${quote(a.name)} twice; expected each attribute once`);
    attributes.set(a.name, attribute(a, `${where}, attribute ${quote(a.name)}`));
  }
  return {
    name: n.name,
    opType: n.opType,
    domain: n.domain === "ai.onnx" ? "" : n.domain,
    inputs: n.input,
    outputs: n.output,
    attributes,
  };
}

const ATTRIBUTE_TYPE_NAMES = Object.fromEntries(Object.entries(AttributeType).map(([k, v]) => [v, k]));

function attribute(a: AttributeProto, where: string): OnnxAttribute {
  if (a.refAttrName !== "") return { type: "unsupported", what: `a reference to the function attribute ${quote(a.refAttrName)}` };
  const type = a.type || inferredType(a);
  switch (type) {
    case AttributeType.FLOAT:
      return { type: "float", value: a.f };
    case AttributeType.INT:
      return { type: "int", value: Number(a.i) };
    case AttributeType.STRING:
      return { type: "string", value: utf8.decode(a.s) };
    case AttributeType.TENSOR:
      if (a.t === undefined) throw new ModelFormatError(`${where} has type TENSOR but no tensor (AttributeProto.t)`);
      return { type: "tensor", value: tensor(a.t, where) };
    case AttributeType.FLOATS:
      return { type: "floats", value: a.floats };
    case AttributeType.INTS:
      return { type: "ints", value: a.ints.map(Number) };
    case AttributeType.STRINGS:
      return { type: "strings", value: a.strings.map((s) => utf8.decode(s)) };
    case AttributeType.UNDEFINED:
      return { type: "unsupported", what: "an attribute with neither a type nor a value" };
    default:
      return { type: "unsupported", what: `an attribute of type ${ATTRIBUTE_TYPE_NAMES[type] ?? type}` };
  }
}

/** Exporters from before AttributeProto.type (ONNX < 1.0) leave it 0: the field that is set says. */
function inferredType(a: AttributeProto): number {
  const field = AttributeProtoSchema.field;
  if (isFieldSet(a, field.f)) return AttributeType.FLOAT;
  if (isFieldSet(a, field.i)) return AttributeType.INT;
  if (isFieldSet(a, field.s)) return AttributeType.STRING;
  if (a.t !== undefined) return AttributeType.TENSOR;
  if (a.g !== undefined) return AttributeType.GRAPH;
  if (a.floats.length > 0) return AttributeType.FLOATS;
  if (a.ints.length > 0) return AttributeType.INTS;
  if (a.strings.length > 0) return AttributeType.STRINGS;
  if (a.tensors.length > 0) return AttributeType.TENSORS;
  if (a.graphs.length > 0) return AttributeType.GRAPHS;
  return AttributeType.UNDEFINED;
}

function valueInfo(v: ValueInfoProto, where: string): OnnxValueInfo {
  if (v.name === "") throw new ModelFormatError(`${where} has no name`);
  const t = v.type?.value.case === "tensorType" ? v.type.value.value : undefined;
  return {
    name: v.name,
    elemType: t?.elemType ?? 0,
    shape: t?.shape === undefined ? null : t.shape.dim.map((d) => dimension(d, `${where} (${quote(v.name)})`)),
  };
}

function dimension(d: TensorShapeProto_Dimension, where: string): number | string | null {
  switch (d.value.case) {
    case "dimValue":
      // Some exporters write -1 for a dimension they do not know.
      if (d.value.value < 0n) return null;
      if (d.value.value > MAX_ELEMENTS) throw new ModelFormatError(`${where} declares dimension ${d.value.value}; expected at most 2^31 - 1`);
      return Number(d.value.value);
    case "dimParam":
      return d.value.value === "" ? null : d.value.value;
    default:
      return null;
  }
}

/** Bytes per element of the data types simdcnn reads. */
const ELEMENT_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.DOUBLE]: 8,
  [DataType.FLOAT16]: 2,
  [DataType.BFLOAT16]: 2,
};

const DATA_TYPE_NAMES = [
  "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL",
  "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
];

function typeName(code: number): string {
  return DATA_TYPE_NAMES[code] ?? `data type ${code}`;
}

function tensor(t: TensorProto, label: string): OnnxTensor {
  const dims = t.dims.map((d) => {
    if (d < 0n) throw new ModelFormatError(`${label} has dims [${list(t.dims)}]; expected dimensions >= 0`);
    if (d > MAX_ELEMENTS) throw new ModelFormatError(`${label} has dims [${list(t.dims)}]; expected at most 2^31 - 1 elements`);
    return Number(d);
  });
  let count = dims.includes(0) ? 0 : 1;
  for (const d of dims) {
    count *= d;
    if (count > MAX_ELEMENTS) throw new ModelFormatError(`${label} has dims [${list(t.dims)}]; expected at most 2^31 - 1 elements`);
  }
  const base = { name: t.name, dims, dataType: t.dataType };
  const size = ELEMENT_BYTES[t.dataType];
  // Reported with every other problem of the model by the load-time check, not alone here.
  if (size === undefined) {
    return { ...base, unsupported: `${label} has data type ${typeName(t.dataType)}; simdcnn reads FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT8, UINT8 and BOOL tensors` };
  }
  if (t.dataLocation === DATA_LOCATION_EXTERNAL || t.externalData.length > 0) return { ...base, external: externalRef(t, label, count * size) };
  const raw = t.rawData;
  if (raw.length > 0) return tensorFromBytes(base, raw, label);
  const [field, values]: [string, readonly (number | bigint)[]] =
    t.dataType === DataType.FLOAT ? ["float_data", t.floatData]
    : t.dataType === DataType.DOUBLE ? ["double_data", t.doubleData]
    : t.dataType === DataType.INT64 ? ["int64_data", t.int64Data]
    : ["int32_data", t.int32Data];
  if (values.length !== count) {
    throw new ModelFormatError(
      `${label} (${typeName(t.dataType)}, dims [${list(t.dims)}]) has ${values.length} values in ${field} and no raw_data; expected ${count} values`,
    );
  }
  // ONNX keeps the bit patterns of 16-bit floats in int32_data, one per value.
  if (t.dataType === DataType.FLOAT16) return { ...base, floats: halfBitsToFloats(Uint16Array.from(values as number[])) };
  if (t.dataType === DataType.BFLOAT16) return { ...base, floats: bfloat16BitsToFloats(Uint16Array.from(values as number[])) };
  return t.dataType === DataType.FLOAT || t.dataType === DataType.DOUBLE
    ? { ...base, floats: Float32Array.from(values as number[]) }
    : { ...base, ints: values.map(Number) };
}

/**
 * The values of a tensor of a supported data type from its little-endian bytes (raw_data, or
 * its range of an external file): floating-point types widened or narrowed to float32,
 * integers and BOOL as numbers.
 */
export function tensorFromBytes(
  base: { name: string; dims: number[]; dataType: number }, raw: Uint8Array, label: string, source = "raw_data",
): OnnxTensor {
  const size = ELEMENT_BYTES[base.dataType];
  const count = base.dims.reduce((a, d) => a * d, 1);
  if (raw.length !== count * size) {
    throw new ModelFormatError(
      `${label} (${typeName(base.dataType)}, dims [${base.dims.join(", ")}]) has ${raw.length} bytes of ${source}; expected ${count * size} (${count} elements of ${size} bytes)`,
    );
  }
  // A copy, aligned: raw is a view into the caller's bytes at any offset. (Not raw.slice(): on
  // a Node Buffer that is another view.) Typed arrays read it in the host's byte order; ONNX's
  // is little-endian, as is every host WebAssembly runs on.
  const buffer = new Uint8Array(raw).buffer;
  switch (base.dataType) {
    case DataType.FLOAT:
      return { ...base, floats: new Float32Array(buffer) };
    case DataType.FLOAT16:
      return { ...base, floats: halfBitsToFloats(new Uint16Array(buffer)) };
    case DataType.BFLOAT16:
      return { ...base, floats: bfloat16BitsToFloats(new Uint16Array(buffer)) };
    case DataType.DOUBLE:
      return { ...base, floats: Float32Array.from(new Float64Array(buffer)) };
    case DataType.INT64:
      return { ...base, ints: Array.from(new BigInt64Array(buffer), Number) };
    case DataType.INT32:
      return { ...base, ints: Array.from(new Int32Array(buffer)) };
    case DataType.INT8:
      return { ...base, ints: Array.from(new Int8Array(buffer)) };
    case DataType.BOOL:
      return { ...base, ints: Array.from(raw, (b) => (b === 0 ? 0 : 1)) };
    default:
      return { ...base, ints: Array.from(raw) };
  }
}

/** Where an external tensor's bytes are: its file (relative to the model's folder), offset and length. */
function externalRef(t: TensorProto, label: string, bytes: number): ExternalRef {
  const entries = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = entries.get("location");
  if (location === undefined || location === "") {
    throw new ModelFormatError(`${label} keeps its values in an external file but names none; expected an external_data entry "location"`);
  }
  const number = (key: string): number | undefined => {
    const v = entries.get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) > Number.MAX_SAFE_INTEGER) throw new ModelFormatError(`${label} has external_data ${key} ${quote(v)}; expected a byte count >= 0`);
    return Number(v);
  };
  const offset = number("offset") ?? 0;
  const length = number("length");
  if (length !== undefined && length !== bytes) {
    throw new ModelFormatError(`${label} (${typeName(t.dataType)}, dims [${list(t.dims)}]) has external_data length ${length}; expected ${bytes}`);
  }
  return { location, offset, length: bytes };
}

const utf8 = new TextDecoder();

/** A name for a message: quoted, and cut short so that a hostile file cannot make it huge. */
function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}...` : s);
}

function list(dims: readonly bigint[]): string {
  return dims.length > 8 ? `${dims.slice(0, 8).join(", ")}, ... (${dims.length} dims)` : dims.join(", ");
}
