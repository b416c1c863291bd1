// Mutations, as fast-check arbitraries of plain data (so that fast-check can shrink them) and the
// functions that apply them: byte-level ones for any file, structured ones on a decoded ModelProto,
// and structured ones on PNG chunks and DICOM elements. Indices are taken modulo what exists when
// a mutation is applied, so a shrunk mutation list still applies.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  type AttributeProto,
  AttributeProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type TensorProto,
  TensorShapeProto_DimensionSchema,
  type ValueInfoProto,
} from "../../src/onnx/schema.js";
import { type Element, dicomFile } from "../io-helpers.js";
import { crc32 } from "../../src/io/png.js";

// ---------------------------------------------------------------------------------------------
// Values at the edges.

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Integers that break things: 0, ±1, around 2^31, 2^32, 2^53, int64's ends, and small ones. */
export const edgeBigint: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 2n, 3n, -2n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n, 2n ** 32n + 1n, 65536n, 46341n, 1000000000n, 2n ** 53n, 2n ** 53n + 1n, INT64_MAX, INT64_MIN),
  fc.bigInt({ min: -16n, max: 64n }),
);

export const edgeFloat: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e-45, 2 ** 31, 2 ** 53, 1e300),
  fc.double({ min: -10, max: 10, noNaN: true }),
);

// ---------------------------------------------------------------------------------------------
// Bytes.

export type ByteMutation =
  | { t: "flip"; at: number; bit: number }
  | { t: "set"; at: number; v: number }
  | { t: "truncate"; at: number }
  | { t: "delete"; at: number; n: number }
  | { t: "repeat"; at: number; n: number; to: number }
  | { t: "insert"; at: number; bytes: number[] }
  | { t: "varint"; at: number };

const pos = fc.nat({ max: 1 << 24 });

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant("flip" as const), at: pos, bit: fc.nat({ max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("set" as const), at: pos, v: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x01, 0x08, 0x10, 0x12, 0x1a, 0x3a) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("truncate" as const), at: pos }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("delete" as const), at: pos, n: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("repeat" as const), at: pos, n: fc.integer({ min: 1, max: 256 }), to: pos }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("insert" as const), at: pos, bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 12 }) }) },
  // A varint that claims a huge length: 0xff 0xff 0xff 0xff 0x0f.
  { weight: 1, arbitrary: fc.record({ t: fc.constant("varint" as const), at: pos }) },
);

export function applyBytes(src: Uint8Array, ms: readonly ByteMutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.t) {
      case "flip":
        b[at] ^= 1 << m.bit;
        break;
      case "set":
        b[at] = m.v;
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "delete":
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.n)]);
        break;
      case "repeat": {
        const chunk = b.slice(at, at + m.n);
        const to = m.to % (b.length + 1);
        b = Uint8Array.from([...b.subarray(0, to), ...chunk, ...b.subarray(to)]);
        break;
      }
      case "insert":
        b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
        break;
      case "varint":
        b = Uint8Array.from([...b.subarray(0, at), 0xff, 0xff, 0xff, 0xff, 0x0f, ...b.subarray(at)]);
        break;
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// ONNX, structured: on the decoded ModelProto, re-encoded after.

const OPS = ["Conv", "Relu", "Add", "Gemm", "MatMul", "Reshape", "Concat", "Slice", "Pad", "Gather", "Softmax", "MaxPool", "AveragePool", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "BatchNormalization", "Constant", "Shape", "Clip", "Identity", "Loop", "If", "Scan", "Frobnicate", ""];
const ATTRS = ["axis", "axes", "group", "kernel_shape", "strides", "pads", "dilations", "perm", "alpha", "beta", "transA", "transB", "epsilon", "auto_pad", "ceil_mode", "count_include_pad", "allowzero", "start", "end", "training_mode", "spatial", "is_test", "value", "value_ints", "value_float", "min", "max", "starts", "ends", "shape", "mode"];
const STRINGS = ["", "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "reflect", "constant", "x".repeat(300), "\u0000", "é"];

export type OnnxMutation =
  | { t: "ioDim"; io: number; dim: number; v: bigint | string | null }
  | { t: "ioRank"; io: number; add: boolean }
  | { t: "ioType"; io: number; v: number }
  | { t: "ioDrop"; io: number }
  | { t: "ioDup"; io: number }
  | { t: "initDim"; k: number; dim: number; v: bigint }
  | { t: "initRank"; k: number; add: boolean; v: bigint }
  | { t: "initType"; k: number; v: number }
  | { t: "initRaw"; k: number; len: number }
  | { t: "initTyped"; k: number; n: number; field: number }
  | { t: "initDup"; k: number; rename: boolean }
  | { t: "initDrop"; k: number }
  | { t: "opset"; v: bigint; domain: number }
  | { t: "opsetDup"; v: bigint }
  | { t: "attrInt"; node: number; name: number; v: bigint }
  | { t: "attrInts"; node: number; name: number; v: bigint[] }
  | { t: "attrFloat"; node: number; name: number; v: number }
  | { t: "attrString"; node: number; name: number; v: number }
  | { t: "attrType"; node: number; a: number; v: number }
  | { t: "attrDrop"; node: number; a: number }
  | { t: "attrDup"; node: number; a: number }
  | { t: "attrTensor"; node: number; name: number; dims: bigint[]; type: number; raw: number }
  | { t: "rewire"; node: number; slot: number; to: number; output: boolean }
  | { t: "dangling"; node: number; slot: number; output: boolean }
  | { t: "nodeDup"; node: number }
  | { t: "nodeDrop"; node: number }
  | { t: "nodeSwap"; a: number; b: number }
  | { t: "nodeReverse" }
  | { t: "opType"; node: number; v: number }
  | { t: "domain"; node: number }
  | { t: "ir"; v: bigint }
  | { t: "noGraph" };

const idx = fc.nat({ max: 63 });
const elemType = fc.oneof(fc.integer({ min: 0, max: 17 }), fc.constantFrom(-1, 1000, 2 ** 31 - 1));

export const onnxMutation: fc.Arbitrary<OnnxMutation> = fc.oneof(
  fc.record({ t: fc.constant("ioDim" as const), io: idx, dim: idx, v: fc.oneof(edgeBigint, fc.constantFrom<string | null>("N", "", null)) }),
  fc.record({ t: fc.constant("ioRank" as const), io: idx, add: fc.boolean() }),
  fc.record({ t: fc.constant("ioType" as const), io: idx, v: elemType }),
  fc.record({ t: fc.constant("ioDrop" as const), io: idx }),
  fc.record({ t: fc.constant("ioDup" as const), io: idx }),
  fc.record({ t: fc.constant("initDim" as const), k: idx, dim: idx, v: edgeBigint }),
  fc.record({ t: fc.constant("initRank" as const), k: idx, add: fc.boolean(), v: edgeBigint }),
  fc.record({ t: fc.constant("initType" as const), k: idx, v: elemType }),
  fc.record({ t: fc.constant("initRaw" as const), k: idx, len: fc.oneof(fc.constantFrom(0, 1, 3, 4, 7, 8), fc.nat({ max: 600 })) }),
  fc.record({ t: fc.constant("initTyped" as const), k: idx, n: fc.nat({ max: 40 }), field: fc.nat({ max: 4 }) }),
  fc.record({ t: fc.constant("initDup" as const), k: idx, rename: fc.boolean() }),
  fc.record({ t: fc.constant("initDrop" as const), k: idx }),
  fc.record({ t: fc.constant("opset" as const), v: edgeBigint, domain: fc.nat({ max: 3 }) }),
  fc.record({ t: fc.constant("opsetDup" as const), v: edgeBigint }),
  fc.record({ t: fc.constant("attrInt" as const), node: idx, name: idx, v: edgeBigint }),
  fc.record({ t: fc.constant("attrInts" as const), node: idx, name: idx, v: fc.array(edgeBigint, { maxLength: 7 }) }),
  fc.record({ t: fc.constant("attrFloat" as const), node: idx, name: idx, v: edgeFloat }),
  fc.record({ t: fc.constant("attrString" as const), node: idx, name: idx, v: idx }),
  fc.record({ t: fc.constant("attrType" as const), node: idx, a: idx, v: fc.integer({ min: -1, max: 16 }) }),
  fc.record({ t: fc.constant("attrDrop" as const), node: idx, a: idx }),
  fc.record({ t: fc.constant("attrDup" as const), node: idx, a: idx }),
  fc.record({ t: fc.constant("attrTensor" as const), node: idx, name: idx, dims: fc.array(edgeBigint, { maxLength: 4 }), type: elemType, raw: fc.nat({ max: 64 }) }),
  fc.record({ t: fc.constant("rewire" as const), node: idx, slot: idx, to: idx, output: fc.boolean() }),
  fc.record({ t: fc.constant("dangling" as const), node: idx, slot: idx, output: fc.boolean() }),
  fc.record({ t: fc.constant("nodeDup" as const), node: idx }),
  fc.record({ t: fc.constant("nodeDrop" as const), node: idx }),
  fc.record({ t: fc.constant("nodeSwap" as const), a: idx, b: idx }),
  fc.constant({ t: "nodeReverse" as const }),
  fc.record({ t: fc.constant("opType" as const), node: idx, v: idx }),
  fc.record({ t: fc.constant("domain" as const), node: idx }),
  fc.record({ t: fc.constant("ir" as const), v: edgeBigint }),
  fc.constant({ t: "noGraph" as const }),
);

const clamp64 = (v: bigint) => (v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : v);
const pick = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);

/** Applies structured mutations to a decoded model and encodes it again. */
export function applyOnnx(bytes: Uint8Array, ms: readonly OnnxMutation[]): Uint8Array {
  const m = fromBinary(ModelProtoSchema, bytes);
  for (const x of ms) mutateModel(m, x);
  return toBinary(ModelProtoSchema, m);
}

function ios(m: ModelProto): ValueInfoProto[] {
  return [...(m.graph?.input ?? []), ...(m.graph?.output ?? [])];
}

function names(m: ModelProto): string[] {
  const g = m.graph;
  if (!g) return [];
  return [...new Set([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name), ...g.node.flatMap((n) => n.output), ...g.output.map((o) => o.name)])];
}

function tensorOf(m: ModelProto, k: number): TensorProto | undefined {
  const g = m.graph;
  if (!g) return undefined;
  const consts = g.node.flatMap((n) => n.attribute.flatMap((a) => (a.t ? [a.t] : [])));
  return pick([...g.initializer, ...consts], k);
}

function setAttr(m: ModelProto, node: number, name: string, fill: (a: AttributeProto) => void): void {
  const n = pick(m.graph?.node ?? [], node);
  if (!n) return;
  let a = n.attribute.find((x) => x.name === name);
  if (!a) n.attribute.push((a = create(AttributeProtoSchema, { name })));
  a.f = 0;
  a.i = 0n;
  a.ints = [];
  a.floats = [];
  a.s = new Uint8Array();
  a.t = undefined;
  fill(a);
}

function mutateModel(m: ModelProto, x: OnnxMutation): void {
  const g = m.graph;
  const enc = new TextEncoder();
  switch (x.t) {
    case "ioDim": {
      const shape = pick(ios(m), x.io)?.type?.value.value?.shape;
      const d = shape && pick(shape.dim, x.dim);
      if (d) d.value = x.v === null ? { case: undefined } : typeof x.v === "string" ? { case: "dimParam", value: x.v } : { case: "dimValue", value: clamp64(x.v) };
      return;
    }
    case "ioRank": {
      const shape = pick(ios(m), x.io)?.type?.value.value?.shape;
      if (!shape) return;
      if (x.add) shape.dim.push(create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: 1n } }));
      else shape.dim.pop();
      return;
    }
    case "ioType": {
      const t = pick(ios(m), x.io)?.type?.value.value;
      if (t) t.elemType = x.v;
      return;
    }
    case "ioDrop":
    case "ioDup": {
      if (!g) return;
      const list = x.io % 2 === 0 ? g.input : g.output;
      const i = Math.floor(x.io / 2) % Math.max(list.length, 1);
      if (list.length === 0) return;
      if (x.t === "ioDrop") list.splice(i, 1);
      else list.push(list[i]);
      return;
    }
    case "initDim": {
      const t = tensorOf(m, x.k);
      if (t && t.dims.length) t.dims[x.dim % t.dims.length] = clamp64(x.v);
      return;
    }
    case "initRank": {
      const t = tensorOf(m, x.k);
      if (!t) return;
      if (x.add) t.dims.push(clamp64(x.v));
      else t.dims.pop();
      return;
    }
    case "initType": {
      const t = tensorOf(m, x.k);
      if (t) t.dataType = x.v;
      return;
    }
    case "initRaw": {
      const t = tensorOf(m, x.k);
      if (t) t.rawData = Uint8Array.from({ length: x.len }, (_, i) => t.rawData[i % Math.max(t.rawData.length, 1)] ?? i);
      return;
    }
    case "initTyped": {
      const t = tensorOf(m, x.k);
      if (!t) return;
      t.rawData = new Uint8Array();
      const vals = Array.from({ length: x.n }, (_, i) => i - 3);
      if (x.field === 0) t.floatData = vals;
      else if (x.field === 1) t.int64Data = vals.map(BigInt);
      else if (x.field === 2) t.int32Data = vals;
      else if (x.field === 3) t.doubleData = vals;
      else t.uint64Data = vals.map((v) => BigInt(Math.abs(v)));
      return;
    }
    case "initDup": {
      const t = g && pick(g.initializer, x.k);
      if (t) g.initializer.push({ ...t, name: x.rename ? `${t.name}_2` : t.name });
      return;
    }
    case "initDrop":
      if (g && g.initializer.length) g.initializer.splice(x.k % g.initializer.length, 1);
      return;
    case "opset": {
      const domain = ["", "ai.onnx", "com.microsoft", "ai.onnx.ml"][x.domain];
      const o = m.opsetImport.find((e) => e.domain === domain);
      if (o) o.version = clamp64(x.v);
      else m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain, version: clamp64(x.v) }));
      return;
    }
    case "opsetDup":
      m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: "", version: clamp64(x.v) }));
      return;
    case "attrInt":
      return setAttr(m, x.node, ATTRS[x.name % ATTRS.length], (a) => {
        a.type = 2;
        a.i = clamp64(x.v);
      });
    case "attrInts":
      return setAttr(m, x.node, ATTRS[x.name % ATTRS.length], (a) => {
        a.type = 7;
        a.ints = x.v.map(clamp64);
      });
    case "attrFloat":
      return setAttr(m, x.node, ATTRS[x.name % ATTRS.length], (a) => {
        a.type = 1;
        a.f = Math.fround(x.v); // a float attribute holds a float32
      });
    case "attrString":
      return setAttr(m, x.node, ATTRS[x.name % ATTRS.length], (a) => {
        a.type = 3;
        a.s = enc.encode(STRINGS[x.v % STRINGS.length]);
      });
    case "attrTensor":
      return setAttr(m, x.node, ATTRS[x.name % ATTRS.length], (a) => {
        a.type = 4;
        a.t = tensorProtoOf(x.dims.map(clamp64), x.type, x.raw);
      });
    case "attrType": {
      const a = pick(pick(g?.node ?? [], x.node)?.attribute ?? [], x.a);
      if (a) a.type = x.v;
      return;
    }
    case "attrDrop": {
      const n = pick(g?.node ?? [], x.node);
      if (n && n.attribute.length) n.attribute.splice(x.a % n.attribute.length, 1);
      return;
    }
    case "attrDup": {
      const n = pick(g?.node ?? [], x.node);
      const a = n && pick(n.attribute, x.a);
      if (n && a) n.attribute.push(a);
      return;
    }
    case "rewire":
    case "dangling": {
      const n = pick(g?.node ?? [], x.node);
      if (!n) return;
      const list = x.output ? n.output : n.input;
      if (list.length === 0) return;
      const name = x.t === "dangling" ? ["", "nowhere", "x".repeat(100)][x.slot % 3] : pick(names(m), x.to) ?? "";
      list[x.slot % list.length] = name;
      return;
    }
    case "nodeDup": {
      const n = g && pick(g.node, x.node);
      if (n) g.node.push(create(NodeProtoSchema, { ...n }));
      return;
    }
    case "nodeDrop":
      if (g && g.node.length) g.node.splice(x.node % g.node.length, 1);
      return;
    case "nodeSwap": {
      if (!g || g.node.length === 0) return;
      const i = x.a % g.node.length;
      const j = x.b % g.node.length;
      [g.node[i], g.node[j]] = [g.node[j], g.node[i]];
      return;
    }
    case "nodeReverse":
      g?.node.reverse();
      return;
    case "opType": {
      const n = pick(g?.node ?? [], x.node);
      if (n) n.opType = OPS[x.v % OPS.length];
      return;
    }
    case "domain": {
      const n = pick(g?.node ?? [], x.node);
      if (n) n.domain = n.domain === "" ? "com.example" : "";
      return;
    }
    case "ir":
      m.irVersion = clamp64(x.v);
      return;
    case "noGraph":
      m.graph = undefined;
      return;
  }
}

function tensorProtoOf(dims: bigint[], dataType: number, raw: number): TensorProto {
  return fromBinary(ModelProtoSchema, toBinary(ModelProtoSchema, create(ModelProtoSchema, {
    graph: { initializer: [{ dims, dataType, rawData: Uint8Array.from({ length: raw }, (_, i) => (i * 37) & 255) }] },
  }))).graph!.initializer[0];
}

// ---------------------------------------------------------------------------------------------
// PNG, structured: IHDR fields and chunks, with their CRCs made right so that the decoder gets past
// the checksum to the code behind it.


interface Chunk {
  type: string;
  data: Uint8Array;
}

function chunks(png: Uint8Array): { chunks: Chunk[]; rest: Uint8Array } {
  const out: Chunk[] = [];
  let at = 8;
  while (at + 12 <= png.length) {
    const len = new DataView(png.buffer, png.byteOffset + at).getUint32(0);
    if (at + 12 + len > png.length) break;
    out.push({ type: String.fromCharCode(...png.subarray(at + 4, at + 8)), data: png.slice(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  return { chunks: out, rest: png.slice(at) };
}

function pngOf(cs: Chunk[], rest: Uint8Array, lie = new Map<number, number>()): Uint8Array {
  const parts: number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  cs.forEach((c, i) => {
    const body = Uint8Array.from([...Array.from(c.type, (ch) => ch.charCodeAt(0) & 255), ...c.data]);
    const len = lie.get(i) ?? c.data.length;
    parts.push(len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, ...body);
    const crc = crc32(body);
    parts.push(crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255);
  });
  return Uint8Array.from([...parts, ...rest]);
}

export type PngMutation =
  | { t: "ihdr"; field: number; v: number }
  | { t: "chunkDrop"; i: number }
  | { t: "chunkDup"; i: number; to: number }
  | { t: "chunkLie"; i: number; len: number }
  | { t: "chunkBytes"; i: number; ms: ByteMutation[] }
  | { t: "idat"; bytes: number[]; inflate: number }
  | { t: "insert"; at: number; type: number; len: number };

const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 255, 256, 65535, 65536, 46341, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 100000, 30000), fc.nat({ max: 64 }));

export const pngMutation: fc.Arbitrary<PngMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant("ihdr" as const), field: fc.nat({ max: 6 }), v: u32 }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("chunkDrop" as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("chunkDup" as const), i: idx, to: idx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("chunkLie" as const), i: idx, len: u32 }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("chunkBytes" as const), i: idx, ms: fc.array(byteMutation, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("idat" as const), bytes: fc.array(fc.nat({ max: 255 }), { maxLength: 40 }), inflate: fc.constantFrom(0, 1, 100, 4096, 1 << 20) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("insert" as const), at: idx, type: fc.nat({ max: 7 }), len: fc.nat({ max: 40 }) }) },
);

const CHUNK_TYPES = ["IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "sBIT", "aaaa"];

/** IHDR field offsets: width, height, bit depth, colour type, compression, filter, interlace. */
const IHDR_FIELDS: [number, 1 | 4][] = [[0, 4], [4, 4], [8, 1], [9, 1], [10, 1], [11, 1], [12, 1]];

export function applyPng(src: Uint8Array, ms: readonly PngMutation[], deflate: (b: Uint8Array) => Uint8Array): Uint8Array {
  const parsed = chunks(src);
  let cs = parsed.chunks;
  const lie = new Map<number, number>();
  for (const m of ms) {
    if (cs.length === 0) break;
    switch (m.t) {
      case "ihdr": {
        const h = cs.find((c) => c.type === "IHDR");
        if (!h || h.data.length < 13) break;
        const [off, size] = IHDR_FIELDS[m.field];
        if (size === 4) new DataView(h.data.buffer, h.data.byteOffset).setUint32(off, m.v >>> 0);
        else h.data[off] = m.v & 255;
        break;
      }
      case "chunkDrop":
        cs.splice(m.i % cs.length, 1);
        break;
      case "chunkDup":
        cs.splice(m.to % (cs.length + 1), 0, { ...cs[m.i % cs.length] });
        break;
      case "chunkLie":
        lie.set(m.i % cs.length, m.len >>> 0);
        break;
      case "chunkBytes": {
        const c = cs[m.i % cs.length];
        cs[m.i % cs.length] = { type: c.type, data: applyBytes(c.data.length ? c.data : new Uint8Array(1), m.ms) };
        break;
      }
      case "idat": {
        // A stream of `inflate` zero bytes (a decompression bomb when large) or raw bytes.
        const data = m.inflate > 0 ? deflate(new Uint8Array(m.inflate)) : Uint8Array.from(m.bytes);
        cs = cs.filter((c) => c.type !== "IDAT");
        const end = cs.findIndex((c) => c.type === "IEND");
        cs.splice(end < 0 ? cs.length : end, 0, { type: "IDAT", data });
        break;
      }
      case "insert":
        cs.splice(m.at % (cs.length + 1), 0, { type: CHUNK_TYPES[m.type], data: Uint8Array.from({ length: m.len }, (_, i) => i * 7) });
        break;
    }
  }
  return pngOf(cs, parsed.rest, lie);
}

// ---------------------------------------------------------------------------------------------
// JPEG, structured: the frame header's sizes and component count, and segment lengths.

export type JpegMutation = { t: "sof"; field: number; v: number } | { t: "segLen"; seg: number; v: number } | { t: "bytes"; ms: ByteMutation[] };

export const jpegMutation: fc.Arbitrary<JpegMutation> = fc.oneof(
  fc.record({ t: fc.constant("sof" as const), field: fc.nat({ max: 3 }), v: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 255, 65535, 65500, 10000, 32768), fc.nat({ max: 64 })) }),
  fc.record({ t: fc.constant("segLen" as const), seg: idx, v: fc.constantFrom(0, 1, 2, 3, 100, 65535) }),
  fc.record({ t: fc.constant("bytes" as const), ms: fc.array(byteMutation, { minLength: 1, maxLength: 4 }) }),
);

function segments(b: Uint8Array): number[] {
  const at: number[] = [];
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1];
    at.push(i);
    if (marker === 0xda) break;
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return at;
}

export function applyJpeg(src: Uint8Array, ms: readonly JpegMutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  for (const m of ms) {
    if (m.t === "bytes") {
      b = applyBytes(b, m.ms);
      continue;
    }
    const segs = segments(b);
    if (m.t === "segLen") {
      const s = pick(segs, m.seg);
      if (s !== undefined && s + 4 <= b.length) {
        b[s + 2] = m.v >> 8;
        b[s + 3] = m.v & 255;
      }
      continue;
    }
    const sof = segs.find((s) => b[s + 1] >= 0xc0 && b[s + 1] <= 0xc2);
    if (sof === undefined || sof + 10 > b.length) continue;
    // precision (1 byte), height (2), width (2), components (1)
    const [off, size] = ([[4, 1], [5, 2], [7, 2], [9, 1]] as const)[m.field];
    if (size === 2) {
      b[sof + off] = (m.v >> 8) & 255;
      b[sof + off + 1] = m.v & 255;
    } else b[sof + off] = m.v & 255;
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// DICOM, structured: elements of the image pixel module set to edge values, with the file rebuilt.

export type DicomMutation =
  | { t: "us"; tag: number; v: number }
  | { t: "str"; tag: number; v: number }
  | { t: "pixels"; len: number }
  | { t: "vr"; v: number }
  | { t: "bytes"; ms: ByteMutation[] };

export const DICOM_US_TAGS = [0x00280002, 0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280102, 0x00280103, 0x00280006];
export const DICOM_STR_TAGS = [0x00280008, 0x00281050, 0x00281051, 0x00281052, 0x00281053, 0x00280004, 0x00080060];
export const DICOM_STRINGS = ["", "0", "1", "-1", "2", "3.5", "1e9", "abc", "NaN", "Infinity", "-1e308", "65536", "MONOCHROME1", "RGB", "YBR_FULL", "PALETTE COLOR", "\\", "4\\5"];
export const DICOM_VRS = ["OB", "OW", "UN", "SQ", "US", "OF"];

export const dicomMutation: fc.Arbitrary<DicomMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("us" as const), tag: fc.nat({ max: DICOM_US_TAGS.length - 1 }), v: fc.oneof(fc.constantFrom(0, 1, 2, 3, 7, 8, 9, 12, 15, 16, 17, 32, 64, 255, 65535, 46341), fc.nat({ max: 20 })) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("str" as const), tag: fc.nat({ max: DICOM_STR_TAGS.length - 1 }), v: fc.nat({ max: DICOM_STRINGS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("pixels" as const), len: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.nat({ max: 200 })) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("vr" as const), v: fc.nat({ max: DICOM_VRS.length - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("bytes" as const), ms: fc.array(byteMutation, { minLength: 1, maxLength: 3 }) }) },
);

export type DicomSpec = [syntax: string, elements: Element[]];

const STR_VRS: Record<number, string> = { 0x00280008: "IS", 0x00281050: "DS", 0x00281051: "DS", 0x00281052: "DS", 0x00281053: "DS", 0x00280004: "CS", 0x00080060: "CS" };

export function applyDicom([syntax, elements]: DicomSpec, ms: readonly DicomMutation[]): Uint8Array {
  const els = new Map<number, Element>(elements.map((e) => [e[0], [...e] as Element]));
  const set = (e: Element) => els.set(e[0], e);
  const after: ByteMutation[] = [];
  for (const m of ms) {
    if (m.t === "us") set([DICOM_US_TAGS[m.tag], "US", [m.v]]);
    else if (m.t === "str") set([DICOM_STR_TAGS[m.tag], STR_VRS[DICOM_STR_TAGS[m.tag]], DICOM_STRINGS[m.v]]);
    else if (m.t === "pixels") {
      const p = els.get(0x7fe00010);
      set([0x7fe00010, p?.[1] ?? "OW", Uint8Array.from({ length: m.len }, (_, i) => (i * 53) & 255)]);
    } else if (m.t === "vr") {
      const p = els.get(0x7fe00010);
      if (p && p[2] instanceof Uint8Array) set([0x7fe00010, DICOM_VRS[m.v], p[2] as Uint8Array<ArrayBuffer>]);
    } else after.push(...m.ms);
  }
  return applyBytes(dicomFile(syntax, [...els.values()]), after);
}
