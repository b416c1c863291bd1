// Writes ONNX models in code, with the decoder's own schema and @bufbuild/protobuf's toBinary, so
// that tests need no model files. onnxruntime-web runs what this writes (test/onnx-decode.test.ts
// checks), so the models are valid ONNX and not merely what our decoder accepts.
import { type MessageInitShape, create, toBinary } from "@bufbuild/protobuf";
import { DataType } from "../src/onnx/model.js";
import {
  type AttributeProto,
  AttributeProtoSchema,
  AttributeType,
  ModelProtoSchema,
  type TensorProto,
  TensorProtoSchema,
  ValueInfoProtoSchema,
} from "../src/onnx/schema.js";
import { type Rng, prod } from "./reference.js";

type AttributeInit = MessageInitShape<typeof AttributeProtoSchema>;
type TensorInit = MessageInitShape<typeof TensorProtoSchema>;

/** A tensor's values. `dataType` defaults to FLOAT; integer types take numbers or bigints. */
export interface TensorSpec {
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | readonly (number | bigint)[];
  dataType?: number;
  /** Where the values go: raw_data (the default, as exporters write) or the typed *_data field. */
  encoding?: "raw" | "typed";
  /** TensorProto fields to set last, to write malformed tensors. */
  proto?: TensorInit;
}

/** An attribute written exactly as given (name is filled in): a type override or a malformed one. */
export class RawAttribute {
  constructor(readonly init: AttributeInit) {}
}

/** A FLOAT attribute, also for integral values such as alpha = 1. */
export const f = (value: number) => new RawAttribute({ type: AttributeType.FLOAT, f: value });
/** A FLOATS attribute, also when every value is integral. */
export const floats = (values: number[]) => new RawAttribute({ type: AttributeType.FLOATS, floats: values });

/**
 * Integers (number or bigint) are INT / INTS; numbers with a fraction make FLOAT / FLOATS; strings
 * STRING / STRINGS; a TensorSpec TENSOR; anything else through RawAttribute (f, floats).
 */
export type AttributeValue = number | bigint | string | (number | bigint)[] | string[] | TensorSpec | RawAttribute;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttributeValue>;
  name?: string;
  domain?: string;
}

export interface ValueSpec {
  name: string;
  /** Numbers, symbolic names or null (unknown) per dimension; absent: no shape at all. */
  shape?: (number | string | null)[];
  /** Element type, FLOAT by default. */
  elemType?: number;
}

export interface ModelSpec {
  /** The default domain's opset version, or versions per domain. */
  opset?: number | Record<string, number>;
  irVersion?: number;
  producer?: string;
  graphName?: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: Record<string, TensorSpec>;
  /** Also list each initializer as a graph input, after `inputs`, as old exporters did. */
  initializersAsInputs?: boolean;
  metadata?: Record<string, string>;
}

export function onnxModel(spec: ModelSpec): Uint8Array {
  const opsets = typeof spec.opset === "object" ? spec.opset : { "": spec.opset ?? 13 };
  const inits = Object.entries(spec.initializers ?? {});
  const initInputs = spec.initializersAsInputs
    ? inits.map(([name, t]) => ({ name, shape: t.dims, elemType: t.dataType ?? DataType.FLOAT }))
    : [];
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(spec.irVersion ?? 8),
    producerName: spec.producer ?? "simdcnn-test",
    opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version: BigInt(version) })),
    graph: {
      name: spec.graphName ?? "test",
      node: spec.nodes.map((n) => ({
        opType: n.op,
        name: n.name ?? "",
        domain: n.domain ?? "",
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([name, v]) => attribute(name, v)),
      })),
      initializer: inits.map(([name, t]) => tensorProto(name, t)),
      input: [...spec.inputs, ...initInputs].map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return toBinary(ModelProtoSchema, model);
}

/** A serialized TensorProto, like the input_N.pb files of ONNX test data. */
export function onnxTensor(name: string, spec: TensorSpec): Uint8Array {
  return toBinary(TensorProtoSchema, tensorProto(name, spec));
}

/** Uniform random FLOAT values in [-scale, scale), from the tests' seeded PRNG. */
export function randomTensor(rng: Rng, dims: number[], scale = 1): TensorSpec {
  return { dims, data: rng.f32(prod(dims), -scale, scale) };
}

export function tensorProto(name: string, spec: TensorSpec): TensorProto {
  const dataType = spec.dataType ?? DataType.FLOAT;
  const values = Array.from(spec.data as ArrayLike<number | bigint>);
  const init: TensorInit = { name, dims: spec.dims.map((d) => BigInt(d)), dataType };
  if (spec.encoding === "typed") {
    if (dataType === DataType.FLOAT) init.floatData = values.map(Number);
    else if (dataType === DataType.DOUBLE) init.doubleData = values.map(Number);
    else if (dataType === DataType.INT64) init.int64Data = values.map((v) => BigInt(v));
    else init.int32Data = values.map(Number);
  } else {
    const typed =
      dataType === DataType.FLOAT ? Float32Array.from(values.map(Number))
      : dataType === DataType.DOUBLE ? Float64Array.from(values.map(Number))
      : dataType === DataType.INT64 ? BigInt64Array.from(values.map((v) => BigInt(v)))
      : dataType === DataType.INT32 ? Int32Array.from(values.map(Number))
      : dataType === DataType.INT8 ? Int8Array.from(values.map(Number))
      : Uint8Array.from(values.map(Number));
    init.rawData = new Uint8Array(typed.buffer);
  }
  return create(TensorProtoSchema, { ...init, ...spec.proto });
}

function attribute(name: string, v: AttributeValue): AttributeProto {
  if (v instanceof RawAttribute) return create(AttributeProtoSchema, { ...v.init, name });
  const a = create(AttributeProtoSchema, { name });
  if (typeof v === "string") {
    a.type = AttributeType.STRING;
    a.s = new TextEncoder().encode(v);
  } else if (typeof v === "number" || typeof v === "bigint") {
    if (typeof v === "number" && !Number.isInteger(v)) {
      a.type = AttributeType.FLOAT;
      a.f = v;
    } else {
      a.type = AttributeType.INT;
      a.i = BigInt(v);
    }
  } else if (Array.isArray(v)) {
    // Checked first so that [] is an empty INTS, as in pads: [].
    if (v.every((x) => typeof x === "bigint" || Number.isInteger(x))) {
      a.type = AttributeType.INTS;
      a.ints = (v as (number | bigint)[]).map((x) => BigInt(x));
    } else if (v.every((x) => typeof x === "string")) {
      a.type = AttributeType.STRINGS;
      a.strings = (v as string[]).map((s) => new TextEncoder().encode(s));
    } else {
      a.type = AttributeType.FLOATS;
      a.floats = v.map(Number);
    }
  } else {
    a.type = AttributeType.TENSOR;
    a.t = tensorProto("", v as TensorSpec);
  }
  return a;
}

function valueInfo(v: ValueSpec): MessageInitShape<typeof ValueInfoProtoSchema> {
  const shape =
    v.shape === undefined
      ? undefined
      : {
          dim: v.shape.map((d) =>
            d === null ? {}
            : typeof d === "string" ? { value: { case: "dimParam" as const, value: d } }
            : { value: { case: "dimValue" as const, value: BigInt(d) } },
          ),
        };
  return {
    name: v.name,
    type: { value: { case: "tensorType", value: { elemType: v.elemType ?? DataType.FLOAT, shape } } },
  };
}
