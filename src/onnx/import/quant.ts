// Quantized models, fused at load into 8-bit steps (src/ops/qconv.ts) that quantize x, accumulate
// in i32 and dequantize in the kernel's store, never as float round-trips:
// - onnxruntime's dynamic quantization (quantize_dynamic): DynamicQuantizeLinear(x) feeding
//   ConvInteger or MatMulInteger, whose i32 output is Cast to float and multiplied by x's scale
//   times the weights' scale;
// - the QDQ format: QuantizeLinear -> DequantizeLinear pairs on activations, DequantizeLinear of
//   integer weights, around Conv and MatMul;
// - MaxPool/GlobalMaxPool between QDQ pairs run on the float values, the pair carried past them;
//   a QuantizeLinear of a pair with the same parameters is the pair's own quantization;
// - the QOperator format's QLinearConv and QLinearMatMul (and com.microsoft's QLinearAdd and
//   QLinearGlobalAveragePool, in float between fake quantizations) between QuantizeLinear and
//   DequantizeLinear: each is the QDQ fusion of its inputs with its output quantized by the next
//   reader (8-bit tensors stay pending quantizations of float values). A pair read by an op without an 8-bit kernel runs as
//   one fake-quantization step (the pair's own definition), and a DequantizeLinear of a constant
//   is also folded to floats for such readers.
// - between quantized ops the tensor stays quantized (src/ops/qchain.ts): a QDQ Conv or Add whose
//   output only QuantizeLinear nodes of one scale and zero point read writes it quantized, as the
//   next Conv's operand (q16); a QDQ Add of two such tensors is one integer step; a pair's
//   quantization is made once for all its 8-bit readers, and a float reader gets the
//   dequantized value, the pair's own value.
// The 8-bit tensors (x quantized, its scale and zero point, the i32 accumulator, a
// QuantizeLinear's output) exist only as the pending pieces below; any other reader is refused.
import { nhwcShape } from "../../graph/layout.js";
import type { Value, Window } from "../../graph/ir.js";
import type { QParams } from "../../ops/qconv.js";
import { DataType } from "../model.js";
import type { ConstSym, Importer, Sym } from "./importer.js";
import { elementwise } from "./elementwise.js";
import { pool } from "./pool.js";
import { broadcastDims, transposeConst } from "./util.js";
import { window2d } from "./window.js";

/** A pending tensor of a dynamic-quantization chain. */
export type QuantSym =
  | { kind: "q8"; x: Sym; from: string }
  | { kind: "zeroPoint"; from: string }
  /** from's scale times a constant (one value, or one per output channel). */
  | { kind: "scale"; from: string; factor: ConstSym | undefined }
  | { kind: "acc"; from: string; float: boolean; make: (scales: Float32Array) => Sym; channels: number; channelAxis: number; rank: number }
  /** QuantizeLinear(x), waiting for its DequantizeLinear. */
  | { kind: "quantized"; pair: Pair }
  /** DequantizeLinear(QuantizeLinear(x)): fused by Conv/MatMul/Add, else materialized on first read. */
  | { kind: "fakeQuantized"; pair: Pair; materialize: () => Sym }
  /** An 8-bit op's output, already quantized for the QuantizeLinear nodes that read it. */
  | { kind: "chain"; pair: Pair };

export type { QParams };

/**
 * A tensor quantized with p, in the forms made so far: x, the float value QuantizeLinear read
 * (absent when an 8-bit op wrote the tensor quantized), and its q16 values by layout.
 */
export interface Pair {
  p: QParams;
  dims: number[];
  x?: Sym;
  q16: Map<"nhwc" | "plain", Value>;
}

function pairOf(x: Sym, p: QParams): Pair {
  return { p, dims: x.dims, x, q16: new Map() };
}

/** The pair's float value, DequantizeLinear(QuantizeLinear(x)): one fake-quantization of x, or the q16 value dequantized. */
function pairFloat(im: Importer, pair: Pair): Sym {
  if (pair.x) return fakeQuantValue(im, pair.x, pair.p);
  const [layout, q] = [...pair.q16][0];
  const y = im.value([...q.shape]);
  im.emit({ op: "dequantize", x: q, y, p: pair.p });
  return { kind: "value", v: y, layout, dims: pair.dims };
}

/**
 * The pair as the 8-bit kernels' operand in `layout`, quantized once for all readers. Without x,
 * the float value is quantized again, which gives back its integers exactly.
 */
function pairQ16(im: Importer, pair: Pair, layout: "nhwc" | "plain"): Value {
  const have = pair.q16.get(layout);
  if (have) return have;
  const src = pair.x ?? pairFloat(im, pair);
  const x = layout === "nhwc" ? im.nhwc(src) : im.plain(src);
  const y = im.value([...x.shape]);
  y.dtype = "q16";
  im.emit({ op: "quantize", x, y, p: pair.p });
  pair.q16.set(layout, y);
  return y;
}

function constParams(im: Importer, scale: string | undefined, zeroPoint: string | undefined): QParams | undefined {
  const s = scale ? im.syms.get(scale) : undefined;
  const z = zeroPoint ? im.syms.get(zeroPoint) : undefined;
  if (s?.kind !== "const" || s.f?.length !== 1 || (z && (z.kind !== "const" || z.i?.length !== 1))) return undefined;
  if (z && z.dataType !== DataType.INT8 && z.dataType !== DataType.UINT8) return undefined;
  return { scale: s.f[0], zeroPoint: z?.i?.[0] ?? 0, signed: z?.dataType === DataType.INT8 };
}

/** Readers of a QDQ pair's float value that take it quantized. */
const CHAIN_READERS = new Set(["Conv", "MatMul", "Gemm", "Add", "MaxPool", "GlobalMaxPool", "AveragePool", "GlobalAveragePool"]);

/**
 * The parameters to write the current node's output 0 with, quantized, when only QuantizeLinear
 * nodes of one scale and zero point read it, and only DequantizeLinear nodes of the same read
 * those, for 8-bit readers; undefined otherwise (the output stays float).
 */
function chainOutput(im: Importer): QParams | undefined {
  const name = im.node.outputs[0];
  const outputs = new Set(im.model.graph.outputs.map((o) => o.name));
  const readers = im.consumers.get(name) ?? [];
  if (outputs.has(name) || readers.length === 0) return undefined;
  let p: QParams | undefined;
  for (const q of readers) {
    if (q.opType !== "QuantizeLinear" || q.domain !== "" || q.inputs[0] !== name || q.attributes.size > 0 || outputs.has(q.outputs[0])) return undefined;
    const qp = constParams(im, q.inputs[1], q.inputs[2]);
    if (!qp || (p && !sameParams(p, qp))) return undefined;
    p = qp;
    const dqs = im.consumers.get(q.outputs[0]) ?? [];
    for (const d of dqs) {
      if (d.opType !== "DequantizeLinear" || d.domain !== "" || outputs.has(d.outputs[0])) return undefined;
      const dp = constParams(im, d.inputs[1], d.inputs[2]);
      if (!dp || !sameParams(dp, qp)) return undefined;
      if (!(im.consumers.get(d.outputs[0]) ?? []).every((r) => CHAIN_READERS.has(r.opType) && r.domain === "")) return undefined;
    }
    if (dqs.length === 0) return undefined;
  }
  return p;
}

/** Integer weights behind a DequantizeLinear, for Conv/MatMul to fuse: per tensor or per axis. */
export interface IntWeights {
  values: number[];
  dims: number[];
  signed: boolean;
  scales: number[];
  zeroPoints: number[];
  axis: number;
}

export function dynamicQuantizeLinear(im: Importer): void {
  const x = im.required(0);
  if (x.kind === "const") im.fail("a constant input is not supported");
  const from = im.node.outputs[0];
  im.setQuant(0, { kind: "q8", x, from });
  im.setQuant(1, { kind: "scale", from, factor: undefined });
  im.setQuant(2, { kind: "zeroPoint", from });
}

/** The 8-bit input of ConvInteger/MatMulInteger and its zero point: a DynamicQuantizeLinear's. */
function quantizedInput(im: Importer): { x: Sym; from: string } {
  const q = im.quantInput(0);
  if (q?.kind !== "q8") im.fail("input 0 must be a DynamicQuantizeLinear output (onnxruntime's dynamic quantization); other 8-bit inputs are not supported");
  const zp = im.quantInput(2);
  if (zp?.kind !== "zeroPoint" || zp.from !== q.from) im.fail("input 2 (the zero point) must be the zero point of the DynamicQuantizeLinear that produced input 0");
  return q;
}

function weightZeroPoints(im: Importer, channels: number): number[] {
  const z = im.constInput(3, "the weight zero point");
  if (!z) return [0];
  const v = z.i ?? Array.from(z.f ?? []);
  if (v.length !== 1 && v.length !== channels) im.bad(`the weight zero point must hold 1 or ${channels} values, got ${v.length}`);
  return v;
}

function intWeights(im: Importer, what: string): ConstSym {
  const w = im.asConst(im.required(1), 1, what);
  if (!w.i) im.fail(`${what} must be int8 or uint8`);
  return w;
}

/** A group of one filter per channel: group = input channels = output channels, weights [C, 1, kh, kw]. */
function isDepthwise(group: number, x: readonly number[], w: readonly number[]): boolean {
  return group === x[1] && w[0] === group && w[1] === 1;
}

/** Whether the node's convolution is depthwise (8-bit kernel: src/ops/qdwconv.ts); any other group but 1 is refused. */
function depthwise(im: Importer, x: readonly number[], w: readonly number[]): boolean {
  const group = im.int("group", 1);
  if (group === 1) return false;
  if (isDepthwise(group, x, w)) return true;
  return im.fail(
    `group ${group} is supported only for group 1 or a depthwise convolution (group = input channels = output channels, weights [C, 1, kh, kw]); `
      + `the input has ${x[1]} channels and the weights are [${w.join(", ")}]`,
  );
}

export function convInteger(im: Importer): void {
  const { x, from } = quantizedInput(im);
  const w = intWeights(im, "the weights");
  if (x.dims.length !== 4 || w.dims.length !== 4) im.fail(`only 2-d convolutions are supported (input [${x.dims.join(", ")}])`);
  const dw = depthwise(im, x.dims, w.dims);
  const [cout, cin, kh, kw] = w.dims;
  if (!dw && x.dims[1] !== cin) im.bad(`input has ${x.dims[1]} channels; weights [${w.dims.join(", ")}] expect ${cin}`);
  const kernel = im.ints("kernel_shape") ?? [kh, kw];
  if (kernel[0] !== kh || kernel[1] !== kw) im.bad(`kernel_shape [${kernel}] does not match the weights [${w.dims.join(", ")}]`);
  const { window, out } = window2d(im, x.dims, kernel, "conv");
  const zeroPoints = weightZeroPoints(im, cout);
  const dims = [x.dims[0], cout, out[0], out[1]];
  const make = (scales: Float32Array): Sym => {
    const y = im.value(nhwcShape(dims));
    const wv = transposeConst(w, [0, 2, 3, 1]) as number[];
    im.emit({ op: "qconv", x: im.nhwc(x), y, w: wv, wShape: [cout, kh, kw, cin], zeroPoints, scales, window, input: { dynamic: true }, ...(dw ? { depthwise: dw } : {}) });
    return { kind: "value", v: y, layout: "nhwc", dims };
  };
  im.setQuant(0, { kind: "acc", from, float: false, channels: cout, channelAxis: 1, rank: 4, make });
}

export function matMulInteger(im: Importer): void {
  const { x, from } = quantizedInput(im);
  const w = intWeights(im, "B");
  if (w.dims.length !== 2) im.fail(`B must be a constant 2-d matrix, got [${w.dims.join(", ")}]`);
  if (x.dims.length < 2) im.fail(`A must have rank 2 or more, got [${x.dims.join(", ")}]`);
  const [k, n] = w.dims;
  if (x.dims[x.dims.length - 1] !== k) im.bad(`A [${x.dims.join(", ")}] and B [${w.dims.join(", ")}] do not agree on K`);
  const m = x.dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const zeroPoints = weightZeroPoints(im, n);
  const dims = [...x.dims.slice(0, -1), n];
  const window: Window = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
  const make = (scales: Float32Array): Sym => {
    const y = im.value(dims);
    const wv = transposeConst(w, [1, 0]) as number[];
    const xv = im.alias(im.plain(x), [m, k]);
    im.emit({ op: "qconv", x: xv, y, w: wv, wShape: [n, 1, 1, k], zeroPoints, scales, window, input: { dynamic: true } });
    return { kind: "value", v: y, layout: "plain", dims };
  };
  im.setQuant(0, { kind: "acc", from, float: false, channels: n, channelAxis: dims.length - 1, rank: dims.length, make });
}

/**
 * Cast: the integer accumulator to float (part of the chain); a float value to float is the
 * identity; constants fold to float or, truncated, to int32/int64 (shape arithmetic).
 */
/**
 * Cast of ConvInteger/MatMulInteger's i32 accumulator to float, inside the dynamic-quantization
 * chain; false for any other Cast (tensor.ts's cast).
 */
export function quantCast(im: Importer): boolean {
  const q = im.quantInput(0);
  if (!q) return false;
  if (q.kind !== "acc" || q.float || im.int("to", 0) !== DataType.FLOAT) im.fail("only the cast of ConvInteger/MatMulInteger's output to float is supported");
  im.setQuant(0, { ...q, float: true });
  return true;
}

/**
 * Mul inside the chain: x's scale by the weights' scale (a constant), and the float accumulator by
 * that product, which emits the fused step. Returns false for any other Mul.
 */
export function quantMul(im: Importer): boolean {
  const qa = im.quantInput(0);
  const qb = im.quantInput(1);
  if (!qa && !qb) return false;
  const [q, otherIndex, other] = qa ? [qa, 1, qb] : [qb!, 0, qa];
  if (q.kind === "scale" && !other) {
    if (q.factor) im.fail("only one constant factor of a DynamicQuantizeLinear scale is supported");
    const c = im.constInput(otherIndex, "the weight scale");
    if (!c?.f) im.fail("the weight scale must be a float constant");
    im.setQuant(0, { ...q, factor: c });
    return true;
  }
  const acc = q.kind === "acc" ? q : other?.kind === "acc" ? other : undefined;
  const scale = q.kind === "scale" ? q : other?.kind === "scale" ? other : undefined;
  if (!acc || !scale || !acc.float) im.fail("the tensors of a dynamic-quantization chain are supported only as DynamicQuantizeLinear -> ConvInteger/MatMulInteger -> Cast -> Mul by the scales");
  if (scale.from !== acc.from) im.fail("the scale multiplied must be that of the DynamicQuantizeLinear feeding the integer op");
  im.setOutput(acc.make(channelScales(im, scale.factor, acc)));
  return true;
}

/** The weight scale, one value or one per output channel placed on the output's channel axis. */
function channelScales(im: Importer, f: ConstSym | undefined, acc: Extract<QuantSym, { kind: "acc" }>): Float32Array {
  if (!f?.f) return Float32Array.of(1);
  if (f.f.length === 1) return Float32Array.from(f.f);
  const d = [...new Array<number>(Math.max(0, acc.rank - f.dims.length)).fill(1), ...f.dims];
  const onAxis = d.length === acc.rank && d.every((v, i) => (i === acc.channelAxis ? v === acc.channels : v === 1));
  if (!onAxis) im.fail(`the weight scale [${f.dims.join(", ")}] must be one value or one per output channel`);
  return Float32Array.from(f.f);
}

function zeroPointType(im: Importer, z: ConstSym | undefined): boolean {
  if (!z) return false;
  if (z.dataType === DataType.INT8) return true;
  if (z.dataType === DataType.UINT8) return false;
  return im.fail(`only int8 and uint8 zero points are supported, got data type ${z.dataType}`);
}

/** Per-tensor scale and zero point (inputs si and zi, 1 and 2 of QuantizeLinear/DequantizeLinear). */
function tensorParams(im: Importer, si = 1, zi = 2): QParams {
  const s = im.constInput(si, "the scale");
  const z = im.constInput(zi, "the zero point");
  if (!s?.f || s.f.length !== 1) im.fail("only one constant float scale (per-tensor quantization) is supported for activations");
  if (z && (z.i?.length ?? 0) !== 1) im.fail("only one zero point (per-tensor quantization) is supported for activations");
  if (im.attr("output_dtype") || im.attr("block_size")) im.fail("output_dtype and block_size are not supported");
  return { scale: s.f[0], zeroPoint: z?.i?.[0] ?? 0, signed: zeroPointType(im, z) };
}

export function quantizeLinear(im: Importer): void {
  const q = im.quantInput(0);
  const p = tensorParams(im);
  // QuantizeLinear(DequantizeLinear(QuantizeLinear(x))) with the same parameters is
  // QuantizeLinear(x) exactly (a dequantized value rounds back to its integer): the pair between
  // is never run, and what follows quantizes x once.
  if (q?.kind === "fakeQuantized" && sameParams(p, q.pair.p)) return setQuantized(im, q.pair);
  if (q?.kind === "chain") {
    if (!sameParams(p, q.pair.p)) im.fail("the scale and zero point must equal those its input was quantized with");
    return setQuantized(im, q.pair);
  }
  const x = im.required(0);
  if (x.kind === "const") im.fail("a constant input is not supported (QDQ models store integer weights)");
  setQuantized(im, pairOf(x, p));
}

/** Ops that read 8-bit tensors, and at which inputs. */
const QUANT_READERS = new Map([
  ["DequantizeLinear", [0]], ["QLinearConv", [0]], ["QLinearMatMul", [0]], ["QLinearAdd", [0, 3]], ["QLinearGlobalAveragePool", [0]],
  ["QLinearAveragePool", [0]],
]);

/** Output 0 is the pair's tensor quantized; refused if anything but QUANT_READERS reads it. */
function setQuantized(im: Importer, pair: Pair): void {
  const name = im.node.outputs[0];
  const readers = im.consumers.get(name) ?? [];
  const other = readers.find((n) => n.inputs.some((input, i) => input === name && !QUANT_READERS.get(n.opType)?.includes(i)));
  if (readers.length === 0 || other) {
    im.fail(`the 8-bit output is read by ${other ? `${other.opType} '${other.name || other.outputs[0]}'` : "nothing"}; simdcnn reads 8-bit tensors only in ${[...QUANT_READERS.keys()].join(", ")}`);
  }
  im.setQuant(0, { kind: "quantized", pair });
}

/**
 * MaxPool/GlobalMaxPool of a QDQ pair: the max of its q16 values (quantization is monotone, so it
 * commutes with max, exactly), the output the same pending pair over the pooled tensor; the next
 * reader takes it quantized (an 8-bit op, or a QuantizeLinear with the same parameters) or
 * dequantized. Windows the integer kernel does not take (ceil_mode) pool the pair's float input
 * and carry the pair past. False for any other input.
 */
export function qdqMaxPool(im: Importer, global: boolean): boolean {
  const q = im.quantInput(0);
  if (q?.kind !== "fakeQuantized" || q.pair.x?.kind === "const" || q.pair.dims.length !== 4) return false;
  const win = global ? undefined : qpoolWindow(im, q.pair.dims, true);
  if (win === null) {
    if (q.pair.x?.kind !== "value") return false;
    pool(im, true, q.pair.x);
    setFakeQuantized(im, pairOf(im.sym(im.node.outputs[0]), q.pair.p));
    return true;
  }
  const { y, dims } = emitQPool(im, q.pair, true, win, q.pair.p);
  setFakeQuantized(im, { p: q.pair.p, dims, q16: new Map([["nhwc", y]]) });
  return true;
}

/**
 * AveragePool/GlobalAveragePool of a QDQ pair whose output only QuantizeLinear nodes of one scale
 * and zero point read: one integer step into their quantization (src/ops/qpool.ts), as onnxruntime
 * fuses the three into QLinearAveragePool / QLinearGlobalAveragePool. False otherwise (the float
 * pool of the pair's value).
 */
export function qdqAvgPool(im: Importer, global: boolean): boolean {
  const q = im.quantInput(0);
  if (q?.kind !== "fakeQuantized" || q.pair.x?.kind === "const" || q.pair.dims.length !== 4) return false;
  const py = requantizedOutput(im);
  if (!py) return false;
  const win = global ? undefined : qpoolWindow(im, q.pair.dims, false);
  if (win === null) return false;
  const { y, dims } = emitQPool(im, q.pair, false, win, py);
  im.setQuant(0, { kind: "chain", pair: { p: py, dims, q16: new Map([["nhwc", y]]) } });
  return true;
}

/**
 * The window of the current pool node for the q16 kernels, or null for a form they do not take:
 * ceil_mode, a read Indices output, or dilations for an average (onnxruntime's QLinearAveragePool
 * has none).
 */
function qpoolWindow(im: Importer, dims: number[], max: boolean): { window: Window; out: [number, number] } | null {
  const kernel = im.ints("kernel_shape");
  if (!kernel || kernel.length !== 2 || im.int("ceil_mode", 0) !== 0 || im.isRead(im.node.outputs[1])) return null;
  const w = window2d(im, dims, kernel, "pool");
  if (!max && w.window.dilations.some((d) => d !== 1)) return null;
  return w;
}

/** A qpool step over the pair's q16 value (NHWC) into a new q16 value quantized with py. */
function emitQPool(im: Importer, pair: Pair, max: boolean, win: { window: Window; out: [number, number] } | undefined, py: QParams): { y: Value; dims: number[] } {
  const x = pairQ16(im, pair, "nhwc");
  const [n, c] = pair.dims;
  const dims = win ? [n, c, win.out[0], win.out[1]] : [n, c, 1, 1];
  const y = im.value(nhwcShape(dims));
  y.dtype = "q16";
  const countIncludePad = !max && im.int("count_include_pad", 0) === 1;
  im.emit({ op: "qpool", x, y, max, ...(win ? { window: win.window } : {}), countIncludePad, p: pair.p, py });
  return { y, dims };
}

/** The parameters of the QuantizeLinear nodes that alone read the current node's output 0 (one scale and zero point), else undefined. */
function requantizedOutput(im: Importer): QParams | undefined {
  const name = im.node.outputs[0];
  const readers = im.consumers.get(name) ?? [];
  if (readers.length === 0 || im.model.graph.outputs.some((o) => o.name === name)) return undefined;
  let p: QParams | undefined;
  for (const q of readers) {
    if (q.opType !== "QuantizeLinear" || q.domain !== "" || q.inputs[0] !== name || q.attributes.size > 0) return undefined;
    const qp = constParams(im, q.inputs[1], q.inputs[2]);
    if (!qp || (p && !sameParams(p, qp))) return undefined;
    p = qp;
  }
  return p;
}

/** Output 0 is DequantizeLinear(QuantizeLinear(x)) of the pair, pending as dequantizeLinear leaves it. */
function setFakeQuantized(im: Importer, pair: Pair): void {
  const materialize = (): Sym => pairFloat(im, pair);
  im.setQuant(0, { kind: "fakeQuantized", pair, materialize });
}

/** DequantizeLinear(QuantizeLinear(x)) as one fake-quantization step. */
function fakeQuantValue(im: Importer, x: Sym, p: QParams): Sym {
  if (x.kind === "const") return x;
  const y = im.value([...x.v.shape]);
  im.emit({ op: "fakeQuant", x: x.v, y, scale: p.scale, zeroPoint: p.zeroPoint, signed: p.signed });
  return { ...x, v: y };
}

export function dequantizeLinear(im: Importer): void {
  const q = im.quantInput(0);
  if (q) {
    if (q.kind !== "quantized") im.fail("the input must be a QuantizeLinear output or an integer constant");
    if (!sameParams(tensorParams(im), q.pair.p)) im.fail("the scale and zero point must equal those of the QuantizeLinear that feeds it");
    return setFakeQuantized(im, q.pair);
  }
  const c = im.asConst(im.required(0), 0, "the quantized input");
  if (!c.i) im.fail("the input must be an integer tensor");
  const s = im.constInput(1, "the scale");
  const z = im.constInput(2, "the zero point");
  if (!s?.f) im.fail("the scale must be a float constant");
  const rank = c.dims.length;
  const axis = s.f.length === 1 ? 0 : ((im.int("axis", 1) % Math.max(rank, 1)) + Math.max(rank, 1)) % Math.max(rank, 1);
  const channels = s.f.length === 1 ? 1 : c.dims[axis];
  if (s.f.length !== channels) im.bad(`${s.f.length} scales for axis ${axis} of [${c.dims.join(", ")}]`);
  const zps = z?.i ?? [0];
  if (zps.length !== 1 && zps.length !== channels) im.bad(`${zps.length} zero points for ${channels} scales`);
  const inner = c.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chan = (i: number) => (channels === 1 ? 0 : Math.floor(i / inner) % channels);
  const f = Float32Array.from(c.i, (v, i) => Math.fround((v - zps[zps.length === 1 ? 0 : chan(i)]) * s.f![chan(i)]));
  const name = im.node.outputs[0];
  if (c.dataType === DataType.INT8 || c.dataType === DataType.UINT8) {
    im.intWeights.set(name, {
      values: c.i, dims: c.dims, signed: c.dataType === DataType.INT8, axis,
      scales: Array.from(s.f), zeroPoints: Array.from({ length: channels }, (_, j) => zps[zps.length === 1 ? 0 : j]),
    });
  }
  im.setOutput({ kind: "const", dims: c.dims, f });
}

/** Conv over a QDQ pair with DequantizeLinear'd 8-bit weights: one 8-bit step. False otherwise. */
export function qdqConv(im: Importer): boolean {
  const q = im.quantInput(0);
  const w = im.intWeights.get(im.node.inputs[1]);
  if (q?.kind !== "fakeQuantized" || !w || q.pair.x?.kind === "const") return false;
  const xd = q.pair.dims;
  if (w.dims.length !== 4 || xd.length !== 4 || (w.scales.length > 1 && w.axis !== 0)) return false;
  const group = im.int("group", 1);
  // Other groups run on the pair's float value (the float convolution takes any group).
  if (group !== 1 && !isDepthwise(group, xd, w.dims)) return false;
  const dw = group !== 1;
  const [cout, cin, kh, kw] = w.dims;
  if (!dw && xd[1] !== cin) im.bad(`input has ${xd[1]} channels; weights [${w.dims.join(", ")}] expect ${cin}`);
  const kernel = im.ints("kernel_shape") ?? [kh, kw];
  if (kernel[0] !== kh || kernel[1] !== kw) im.bad(`kernel_shape [${kernel}] does not match the weights [${w.dims.join(", ")}]`);
  const b = im.constInput(2, "bias");
  if (b && (!b.f || b.f.length !== cout)) im.bad(`bias must hold ${cout} floats`);
  const { window, out } = window2d(im, xd, kernel, "conv");
  const dims = [xd[0], cout, out[0], out[1]];
  const x = pairQ16(im, q.pair, "nhwc");
  const output = chainOutput(im);
  const y = im.value(nhwcShape(dims));
  if (output) y.dtype = "q16";
  const wv = transposeConst({ kind: "const", dims: w.dims, i: w.values }, [0, 2, 3, 1]) as number[];
  im.emit({
    op: "qconv", x, y, w: wv, wShape: [cout, kh, kw, cin], zeroPoints: w.zeroPoints, scales: Float32Array.from(w.scales),
    bias: b?.f ? Float32Array.from(b.f) : undefined, window, input: { dynamic: false, quantized: true, ...q.pair.p }, output,
    ...(dw ? { depthwise: dw } : {}),
  });
  if (output) im.setQuant(0, { kind: "chain", pair: { p: output, dims, q16: new Map([["nhwc", y]]) } });
  else im.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
  return true;
}

/** MatMul of a QDQ pair by DequantizeLinear'd 8-bit [K, N] weights: one 8-bit step. False otherwise. */
export function qdqMatMul(im: Importer): boolean {
  const q = im.quantInput(0);
  const w = im.intWeights.get(im.node.inputs[1]);
  const xd = q?.kind === "fakeQuantized" ? q.pair.dims : [];
  if (q?.kind !== "fakeQuantized" || !w || q.pair.x?.kind === "const" || w.dims.length !== 2 || xd.length < 2) return false;
  if (w.scales.length > 1 && w.axis !== 1) return false;
  const [k, n] = w.dims;
  if (xd[xd.length - 1] !== k) im.bad(`A [${xd.join(", ")}] and B [${w.dims.join(", ")}] do not agree on K`);
  const m = xd.slice(0, -1).reduce((a, b) => a * b, 1);
  const dims = [...xd.slice(0, -1), n];
  const y = im.value(dims);
  const wv = transposeConst({ kind: "const", dims: w.dims, i: w.values }, [1, 0]) as number[];
  const window: Window = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
  im.emit({
    op: "qconv", x: im.alias(pairQ16(im, q.pair, "plain"), [m, k]), y, w: wv, wShape: [n, 1, 1, k], zeroPoints: w.zeroPoints,
    scales: Float32Array.from(w.scales), window, input: { dynamic: false, quantized: true, ...q.pair.p },
  });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
  return true;
}

/**
 * Gemm of a 2-d QDQ pair by DequantizeLinear'd 8-bit B (either orientation; per tensor or per
 * output column) plus an optional constant C of [N] or [1, N], alpha and beta 1: one 8-bit step,
 * as MatMul, its output written quantized when only QDQ pairs read it. False otherwise.
 */
export function qdqGemm(im: Importer): boolean {
  const q = im.quantInput(0);
  const w = im.intWeights.get(im.node.inputs[1]);
  if (q?.kind !== "fakeQuantized" || !w || q.pair.x?.kind === "const" || w.dims.length !== 2 || q.pair.dims.length !== 2) return false;
  if (im.int("transA", 0) !== 0 || im.float("alpha", 1) !== 1 || im.float("beta", 1) !== 1) return false;
  const transB = im.int("transB", 0) === 1;
  if (w.scales.length > 1 && w.axis !== (transB ? 0 : 1)) return false;
  const [k, n] = transB ? [w.dims[1], w.dims[0]] : w.dims;
  const [m, ka] = q.pair.dims;
  if (ka !== k) im.bad(`A [${q.pair.dims.join(", ")}] and B [${w.dims.join(", ")}] (transB ${transB ? 1 : 0}) do not agree on K`);
  const c = im.input(2);
  let bias: Float32Array | undefined;
  if (c) {
    if (c.kind !== "const" || !c.f || c.f.length !== n || c.dims.length > 2 || (c.dims.length === 2 && c.dims[0] !== 1)) return false;
    bias = Float32Array.from(c.f);
  }
  const dims = [m, n];
  const output = chainOutput(im);
  const y = im.value(dims);
  if (output) y.dtype = "q16";
  const wv = transB ? w.values : (transposeConst({ kind: "const", dims: w.dims, i: w.values }, [1, 0]) as number[]);
  const window: Window = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
  im.emit({
    op: "qconv", x: pairQ16(im, q.pair, "plain"), y, w: wv, wShape: [n, 1, 1, k], zeroPoints: w.zeroPoints,
    scales: Float32Array.from(w.scales), bias, window, input: { dynamic: false, quantized: true, ...q.pair.p }, output,
  });
  if (output) im.setQuant(0, { kind: "chain", pair: { p: output, dims, q16: new Map([["plain", y]]) } });
  else im.setOutput({ kind: "value", v: y, layout: "plain", dims });
  return true;
}

function sameParams(a: QParams, b: QParams): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.signed === b.signed;
}

/** 8-bit constant weights (input wi) with their scales and zero points, per tensor or per channel. */
function qlinearWeights(im: Importer, channels: (dims: number[]) => number): { w: ConstSym; scales: number[]; zeroPoints: number[] } {
  const w = im.asConst(im.required(3), 3, "the weights");
  if (!w.i || (w.dataType !== DataType.INT8 && w.dataType !== DataType.UINT8)) im.fail("the weights must be int8 or uint8");
  const n = channels(w.dims);
  const s = im.constInput(4, "the weight scale");
  const z = im.constInput(5, "the weight zero point");
  if (!s?.f || (s.f.length !== 1 && s.f.length !== n)) im.fail(`the weight scale must hold 1 or ${n} floats`);
  const zs = z?.i ?? [0];
  if (zs.length !== 1 && zs.length !== n) im.fail(`the weight zero point must hold 1 or ${n} values`);
  return { w, scales: Array.from(s.f), zeroPoints: zs };
}

/** The i32 bias (input i) in float: B[j] * (x scale * w scale[j]), the value ONNX adds before requantizing. */
function qlinearBias(im: Importer, i: number, n: number, sx: number, scales: number[]): Float32Array | undefined {
  const b = im.constInput(i, "the bias");
  if (!b) return undefined;
  if (!b.i || b.i.length !== n) im.bad(`the bias must hold ${n} int32 values`);
  return Float32Array.from(b.i, (v, j) => Math.fround(v * Math.fround(sx * scales[scales.length === 1 ? 0 : j])));
}

export function qlinearConv(im: Importer): void {
  const { pair, p } = qlinearOperand(im, 0);
  const x = { dims: pair.dims };
  const { w, scales, zeroPoints } = qlinearWeights(im, (d) => d[0]);
  if (x.dims.length !== 4 || w.dims.length !== 4) im.fail(`only 2-d convolutions are supported (input [${x.dims.join(", ")}])`);
  const dw = depthwise(im, x.dims, w.dims);
  const [cout, cin, kh, kw] = w.dims;
  if (!dw && x.dims[1] !== cin) im.bad(`input has ${x.dims[1]} channels; weights [${w.dims.join(", ")}] expect ${cin}`);
  const kernel = im.ints("kernel_shape") ?? [kh, kw];
  if (kernel[0] !== kh || kernel[1] !== kw) im.bad(`kernel_shape [${kernel}] does not match the weights [${w.dims.join(", ")}]`);
  const yp = tensorParams(im, 6, 7);
  const bias = qlinearBias(im, 8, cout, p.scale, scales);
  const { window, out } = window2d(im, x.dims, kernel, "conv");
  const dims = [x.dims[0], cout, out[0], out[1]];
  const y = im.value(nhwcShape(dims));
  im.emit({
    op: "qconv", x: pairQ16(im, pair, "nhwc"), y, w: transposeConst(w, [0, 2, 3, 1]) as number[], wShape: [cout, kh, kw, cin],
    zeroPoints, scales: Float32Array.from(scales), bias, window, input: { dynamic: false, quantized: true, ...p }, ...(dw ? { depthwise: dw } : {}),
  });
  setQuantized(im, pairOf({ kind: "value", v: y, layout: "nhwc", dims }, yp));
}

export function qlinearMatMul(im: Importer): void {
  const { pair, p } = qlinearOperand(im, 0);
  const x = { dims: pair.dims };
  const { w, scales, zeroPoints } = qlinearWeights(im, (d) => d[1]);
  if (w.dims.length !== 2) im.fail(`B must be a constant 2-d matrix, got [${w.dims.join(", ")}]`);
  if (x.dims.length < 2) im.fail(`A must have rank 2 or more, got [${x.dims.join(", ")}]`);
  const [k, n] = w.dims;
  if (x.dims[x.dims.length - 1] !== k) im.bad(`A [${x.dims.join(", ")}] and B [${w.dims.join(", ")}] do not agree on K`);
  const yp = tensorParams(im, 6, 7);
  const m = x.dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const dims = [...x.dims.slice(0, -1), n];
  const y = im.value(dims);
  const window: Window = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
  im.emit({
    op: "qconv", x: im.alias(pairQ16(im, pair, "plain"), [m, k]), y, w: transposeConst(w, [1, 0]) as number[], wShape: [n, 1, 1, k],
    zeroPoints, scales: Float32Array.from(scales), window, input: { dynamic: false, quantized: true, ...p },
  });
  setQuantized(im, pairOf({ kind: "value", v: y, layout: "plain", dims }, yp));
}

/** Input i of a QLinear op: a pending quantization with the scale and zero point of inputs i + 1, i + 2. */
function qlinearOperand(im: Importer, i: number): { pair: Pair; p: QParams } {
  const q = im.quantInput(i);
  if (q?.kind !== "quantized") im.fail(`input ${i} must be the output of QuantizeLinear or a QLinear op`);
  if (!sameParams(tensorParams(im, i + 1, i + 2), q.pair.p)) im.fail(`the scale and zero point of input ${i} must be those it was quantized with`);
  if (q.pair.x?.kind === "const") im.fail("a constant input is not supported");
  return { pair: q.pair, p: q.pair.p };
}

/**
 * com.microsoft QLinearAdd: C = QuantizeLinear(DequantizeLinear(A) + DequantizeLinear(B)) with
 * numpy broadcasting; the sum in float, its quantization left pending for C's readers.
 */
export function qlinearAdd(im: Importer): void {
  const a = qlinearOperand(im, 0);
  const b = qlinearOperand(im, 3);
  const cp = tensorParams(im, 6, 7);
  elementwise(im, pairFloat(im, a.pair), pairFloat(im, b.pair), broadcastDims(a.pair.dims, b.pair.dims, im), "add");
  setQuantized(im, pairOf(im.sym(im.node.outputs[0]), cp));
}

/**
 * com.microsoft QLinearGlobalAveragePool (channels first): the exact i32 sum of the input's
 * integers, requantized once as onnxruntime does (src/ops/qpool.ts); the output stays quantized.
 */
export function qlinearGlobalAveragePool(im: Importer): void {
  const { pair } = qlinearOperand(im, 0);
  if (im.int("channels_last", 0) !== 0) im.fail("only channels_last 0 (NCHW) is supported");
  if (pair.dims.length !== 4) im.fail(`only 4-d inputs are supported (got [${pair.dims.join(", ")}])`);
  const yp = tensorParams(im, 3, 4);
  const { y, dims } = emitQPool(im, pair, false, undefined, yp);
  setQuantized(im, { p: yp, dims, q16: new Map([["nhwc", y]]) });
}

/**
 * com.microsoft QLinearAveragePool (channels first, 2-d): onnxruntime's arithmetic on the input's
 * integers (src/ops/qpool.ts); the output stays quantized.
 */
export function qlinearAveragePool(im: Importer): void {
  const { pair } = qlinearOperand(im, 0);
  if (im.int("channels_last", 0) !== 0) im.fail("only channels_last 0 (NCHW) is supported");
  if (pair.dims.length !== 4) im.fail(`only 2-d pooling is supported (input [${pair.dims.join(", ")}])`);
  if (im.int("ceil_mode", 0) !== 0) im.fail("ceil_mode 1 is not supported");
  const kernel = im.ints("kernel_shape");
  if (!kernel || kernel.length !== 2) im.fail("kernel_shape must give 2 sizes");
  const yp = tensorParams(im, 3, 4);
  const { y, dims } = emitQPool(im, pair, false, window2d(im, pair.dims, kernel, "pool"), yp);
  setQuantized(im, { p: yp, dims, q16: new Map([["nhwc", y]]) });
}

/**
 * Add of two QDQ pairs of one shape whose output goes on quantized (chainOutput): one integer
 * step on their q16 values, as onnxruntime fuses it into QLinearAdd. False otherwise.
 */
export function qdqAdd(im: Importer): boolean {
  const qa = im.quantInput(0);
  const qb = im.quantInput(1);
  if (qa?.kind !== "fakeQuantized" || qb?.kind !== "fakeQuantized" || qa.pair.dims.join() !== qb.pair.dims.join()) return false;
  if (qa.pair.x?.kind === "const" || qb.pair.x?.kind === "const") return false;
  const output = chainOutput(im);
  if (!output) return false;
  const dims = qa.pair.dims;
  const layout = dims.length === 4 && [qa.pair, qb.pair].some((p) => p.q16.has("nhwc") || (p.x?.kind === "value" && p.x.layout === "nhwc")) ? "nhwc" : "plain";
  const a = pairQ16(im, qa.pair, layout);
  const b = pairQ16(im, qb.pair, layout);
  const y = im.value([...a.shape]);
  y.dtype = "q16";
  im.emit({ op: "qadd", a, b, y, pa: qa.pair.p, pb: qb.pair.p, py: output });
  im.setQuant(0, { kind: "chain", pair: { p: output, dims, q16: new Map([[layout, y]]) } });
  return true;
}
