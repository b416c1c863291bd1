// Data movement and shape ops: most fold away at load; the rest become strided copies.
import { isInt, sizeOfShape } from "../../graph/ir.js";
import type { CopyPlan, Value } from "../../graph/ir.js";
import { NCHW_TO_NHWC, NHWC_TO_NCHW, copyPlan, nhwcShape, permuteStep } from "../../graph/layout.js";
import { stridesOf } from "../../runtime/tensor.js";
import { DataType, type OnnxNode } from "../model.js";
import { reducePermutation } from "../../ops/transpose.js";
import type { ConstSym, Importer, Sym, ValueSym } from "./importer.js";
import { channelShuffle } from "./shuffle.js";
import { constOf, gatherStrided, normAxis, transposeConst } from "./util.js";

export function constant(im: Importer): void {
  const n = im.node;
  if (n.attributes.size !== 1) im.bad("expects exactly one value attribute");
  const [name, a] = [...n.attributes][0];
  if (name === "value" && a.type === "tensor") return im.setOutput(constOf(a.value));
  if (name === "value_float" && a.type === "float") return im.setOutput({ kind: "const", dims: [], f: Float32Array.of(a.value) });
  if (name === "value_floats" && a.type === "floats") return im.setOutput({ kind: "const", dims: [a.value.length], f: Float32Array.from(a.value) });
  if (name === "value_int" && a.type === "int") return im.setOutput({ kind: "const", dims: [], i: [a.value] });
  if (name === "value_ints" && a.type === "ints") return im.setOutput({ kind: "const", dims: [a.value.length], i: [...a.value] });
  im.fail(`attribute ${name} is not supported`);
}

export function shape(im: Importer): void {
  const dims = im.required(0).dims;
  const r = dims.length;
  let start = im.int("start", 0);
  let end = im.int("end", r);
  start = Math.min(Math.max(start < 0 ? start + r : start, 0), r);
  end = Math.min(Math.max(end < 0 ? end + r : end, 0), r);
  const out = dims.slice(start, Math.max(start, end));
  im.setOutput({ kind: "const", dims: [out.length], i: out });
}

export function gather(im: Importer): void {
  const data = im.required(0);
  const idx = im.constInput(1, "indices");
  if (!idx?.i) im.bad("indices must be integers");
  const r = data.dims.length;
  const axis = normAxis(im.int("axis", 0), r, im);
  const dimA = data.dims[axis];
  const indices = idx.i.map((v) => {
    const j = v < 0 ? v + dimA : v;
    if (j < 0 || j >= dimA) im.bad(`index ${v} is out of range for axis ${axis} of size ${dimA}`);
    return j;
  });
  const outDims = [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)];
  const outer = sizeOfShape(data.dims.slice(0, axis));
  const inner = sizeOfShape(data.dims.slice(axis + 1));
  if (data.kind === "const") {
    const src = data.f ?? data.i!;
    const out: number[] = [];
    for (let o = 0; o < outer; o++) for (const j of indices) for (let k = 0; k < inner; k++) out.push(src[(o * dimA + j) * inner + k]);
    return im.setOutput(data.f ? { kind: "const", dims: outDims, f: Float32Array.from(out) } : { kind: "const", dims: outDims, i: out });
  }
  const x = im.plain(data);
  const y = im.value(outDims.length ? outDims : [1]);
  const copies = indices.map((j, q) => copyPlan([outer, inner], [dimA * inner, 1], [indices.length * inner, 1], j * inner, q * inner));
  im.emit({ op: "copy", x, y, copies });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: outDims });
}

export function axesFor(im: Importer, i: number): number[] | undefined {
  if (im.opset >= 13) {
    const a = im.constInput(i, "axes");
    return a?.i;
  }
  return im.ints("axes");
}

export function squeeze(im: Importer, unsqueeze: boolean): void {
  const x = im.required(0);
  const axes = axesFor(im, 1);
  let dims: number[];
  if (unsqueeze) {
    if (!axes) im.bad("axes are required");
    const r = x.dims.length + axes.length;
    const norm = axes.map((a) => normAxis(a, r, im)).sort((a, b) => a - b);
    dims = [...x.dims];
    for (const a of norm) dims.splice(a, 0, 1);
  } else {
    const r = x.dims.length;
    const norm = axes ? axes.map((a) => normAxis(a, r, im)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
    for (const a of norm) if (x.dims[a] !== 1) im.bad(`cannot squeeze axis ${a} of size ${x.dims[a]}`);
    dims = x.dims.filter((_, i) => !norm.includes(i));
  }
  im.setOutput(reshaped(im, x, dims));
}

/** The same elements in row-major order under new dims. */
export function reshaped(im: Importer, x: Sym, dims: number[]): Sym {
  if (x.kind === "const") return { ...x, dims };
  const v = im.plain(x);
  return { kind: "value", v: im.alias(v, dims.length ? dims : [1]), layout: "plain", dims };
}

export function reshape(im: Importer, flatten: boolean): void {
  const x = im.required(0);
  const size = sizeOfShape(x.dims);
  let dims: number[];
  if (flatten) {
    const axis = normAxis(im.int("axis", 1), x.dims.length + 1, im);
    dims = [sizeOfShape(x.dims.slice(0, axis)), sizeOfShape(x.dims.slice(axis))];
  } else {
    const shape = im.opset < 5 ? { i: im.ints("shape") } : im.constInput(1, "shape");
    if (!shape?.i) im.bad("shape must be an int64 tensor");
    const allowZero = im.int("allowzero", 0) === 1;
    dims = shape.i.map((d, i) => (d === 0 && !allowZero ? x.dims[i] : d));
    const minus = dims.filter((d) => d === -1).length;
    if (minus > 1) im.bad("shape has more than one -1");
    if (minus === 1) {
      const known = sizeOfShape(dims.filter((d) => d !== -1));
      if (known === 0 || size % known !== 0) im.bad(`cannot reshape [${x.dims.join(", ")}] to [${shape.i.join(", ")}]`);
      dims = dims.map((d) => (d === -1 ? size / known : d));
    }
  }
  if (sizeOfShape(dims) !== size) im.bad(`cannot reshape [${x.dims.join(", ")}] (${size} elements) to [${dims.join(", ")}]`);
  im.setOutput(channelShuffle(im, x, dims) ?? reshaped(im, x, dims));
}

export function concat(im: Importer): void {
  const parts = im.node.inputs.filter((i) => i !== "").map((i) => im.sym(i));
  if (parts.length === 0) im.bad("needs at least one input");
  const r = parts[0].dims.length;
  if (im.opset >= 4 && !im.attr("axis")) im.bad("the axis attribute is required");
  const axis = normAxis(im.int("axis", 1), r, im);
  for (const p of parts) {
    if (p.dims.length !== r || p.dims.some((d, i) => i !== axis && d !== parts[0].dims[i])) {
      im.bad(`inputs [${parts.map((q) => q.dims.join("x")).join("], [")}] do not agree outside axis ${axis}`);
    }
  }
  const dims = [...parts[0].dims];
  dims[axis] = parts.reduce((a, p) => a + p.dims[axis], 0);
  if (parts.every((p) => p.kind === "const")) {
    const cs = parts as ConstSym[];
    const outer = sizeOfShape(dims.slice(0, axis));
    const out: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const p of cs) {
        const chunk = p.dims[axis] * sizeOfShape(p.dims.slice(axis + 1));
        const src = p.f ?? p.i!;
        for (let k = 0; k < chunk; k++) out.push(src[o * chunk + k]);
      }
    }
    return im.setOutput(cs[0].f ? { kind: "const", dims, f: Float32Array.from(out) } : { kind: "const", dims, i: out });
  }
  // Channel concatenation of NHWC activations stays NHWC: each part fills its slice of C.
  const channels = r === 4 && axis === 1 && parts.some((p) => p.kind === "value" && p.layout === "nhwc");
  const values = parts.map((p) => (channels ? im.nhwc(p) : im.plain(p)));
  const outShape = channels ? nhwcShape(dims) : dims;
  const a = channels ? 3 : axis;
  const y = im.value(outShape);
  const outer = sizeOfShape(outShape.slice(0, a));
  const inner = sizeOfShape(outShape.slice(a + 1));
  let offset = 0;
  const copies: { x: Value; plan: CopyPlan }[] = [];
  for (const v of values) {
    const chunk = v.shape[a] * inner;
    copies.push({ x: v, plan: copyPlan([outer, chunk], [chunk, 1], [outShape[a] * inner, 1], 0, offset) });
    offset += chunk;
  }
  for (const c of copies) im.emit({ op: "copy", x: c.x, y, copies: [c.plan] });
  im.setOutput({ kind: "value", v: y, layout: channels ? "nhwc" : "plain", dims });
}

export function transpose(im: Importer): void {
  const x = im.required(0);
  const r = x.dims.length;
  const perm = im.ints("perm") ?? [...Array(r).keys()].reverse();
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) im.bad(`perm [${perm.join(", ")}] is not a permutation of ${r} axes`);
  const dims = perm.map((p) => x.dims[p]);
  if (x.kind === "const") return im.setOutput({ kind: "const", dims, ...(x.f ? { f: transposeConst(x, perm) as Float32Array } : { i: transposeConst(x, perm) as number[] }) });
  im.setOutput(permuted(im, x, perm));
}

/**
 * x with its axes permuted (axis i of the result is x's axis perm[i]): an alias wherever the bytes
 * already lie in that order, else one transpose.
 */
function permuted(im: Importer, x: ValueSym, perm: number[]): Sym {
  const dims = perm.map((p) => x.dims[p]);
  // A transpose of a transpose's output is one transpose of the first one's input, or none when
  // the two cancel (tf2onnx writes such pairs); the first copy is dropped at the end of the import
  // if nothing else reads it.
  const origin = x.layout === "plain" ? im.transposed.get(x.v) : undefined;
  if (origin) return permuted(im, origin.x, perm.map((p) => origin.perm[p]));
  if (perm.every((p, i) => p === i)) return x;
  // NHWC storage read as [N, H, W, C] is exactly the transpose (0, 2, 3, 1) of the NCHW tensor.
  if (x.layout === "nhwc" && perm.join() === NCHW_TO_NHWC.join()) {
    return { kind: "value", v: im.alias(x.v, dims), layout: "plain", dims };
  }
  // And a plain [N, H, W, C] tensor is the NHWC storage of its transpose (0, 3, 1, 2).
  if (x.layout === "plain" && perm.join() === NHWC_TO_NCHW.join()) {
    return { kind: "value", v: im.alias(x.v, [...x.dims]), layout: "nhwc", dims };
  }
  // Moving only size-1 axes keeps every element where it was.
  if (reducePermutation(x.dims, perm).kind === "copy") return reshaped(im, x, dims);
  if (x.dims.length > 6) im.fail(`rank ${x.dims.length} > 6`);
  const v = im.plain(x);
  const y = im.value(dims);
  im.emit(permuteStep(v, y, perm));
  im.transposed.set(y, { x, perm });
  return { kind: "value", v: y, layout: "plain", dims };
}

export function slice(im: Importer): void {
  const x = im.required(0);
  const r = x.dims.length;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (im.opset < 10) {
    starts = im.ints("starts") ?? im.bad("starts are required");
    ends = im.ints("ends") ?? im.bad("ends are required");
    axes = im.ints("axes");
  } else {
    starts = im.constInput(1, "starts")?.i ?? im.bad("starts are required");
    ends = im.constInput(2, "ends")?.i ?? im.bad("ends are required");
    axes = im.constInput(3, "axes")?.i;
    steps = im.constInput(4, "steps")?.i;
  }
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, r, im));
  const begin = x.dims.map(() => 0);
  const step = x.dims.map(() => 1);
  const dims = [...x.dims];
  ax.forEach((a, i) => {
    const d = x.dims[a];
    const st = steps?.[i] ?? 1;
    if (st === 0) im.bad("a step of 0");
    let s = starts[i];
    let e = ends[i];
    s = s < 0 ? s + d : s;
    e = e < 0 ? e + d : e;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      dims[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      dims[a] = Math.max(0, Math.ceil((e - s) / st));
    }
    begin[a] = s;
    step[a] = st;
  });
  if (dims.some((d) => d === 0)) im.fail(`the slice of [${x.dims.join(", ")}] is empty`);
  const xs = stridesOf(x.dims);
  const from = xs.map((s, i) => s * step[i]);
  const offset = begin.reduce((acc, b, i) => acc + b * xs[i], 0);
  if (x.kind === "const") {
    const src = x.f ?? x.i!;
    const out = gatherStrided(src, dims, from, offset);
    return im.setOutput(x.f ? { kind: "const", dims, f: Float32Array.from(out) } : { kind: "const", dims, i: out });
  }
  if (r > 6) im.fail(`rank ${r} > 6`);
  // A slice of an NHWC activation (ShuffleNet's channel halves) reads the NHWC storage directly.
  if (x.layout === "nhwc") {
    const stored = stridesOf(nhwcShape(x.dims));
    const xsNchw = NHWC_TO_NCHW.map((a) => stored[a]);
    const y = im.value(nhwcShape(dims));
    const steps = NCHW_TO_NHWC.map((a) => xsNchw[a] * step[a]);
    const at = begin.reduce((acc, b, i) => acc + b * xsNchw[i], 0);
    im.emit({ op: "copy", x: x.v, y, copies: [copyPlan(nhwcShape(dims), steps, stridesOf(nhwcShape(dims)), at, 0)] });
    return im.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
  }
  const v = im.plain(x);
  const y = im.value(dims);
  im.emit({ op: "copy", x: v, y, copies: [copyPlan(dims, from, stridesOf(dims), offset, 0)] });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
}

export function pad(im: Importer): void {
  const x = im.required(0);
  const mode = im.string("mode", "constant");
  if (mode !== "constant") im.fail(`mode '${mode}' is not supported (only 'constant')`);
  const r = x.dims.length;
  let pads: number[];
  let value = 0;
  if (im.opset < 11) {
    pads = im.ints(im.opset < 2 ? "paddings" : "pads") ?? im.bad("pads are required");
    value = im.float("value", 0);
  } else {
    pads = im.constInput(1, "pads")?.i ?? im.bad("pads are required");
    const cv = im.constInput(2, "constant_value");
    if (cv) value = (cv.f ?? cv.i!)[0];
    const axes = im.constInput(3, "axes")?.i;
    if (axes) {
      const full = new Array<number>(2 * r).fill(0);
      axes.forEach((a, i) => {
        const ax = normAxis(a, r, im);
        full[ax] = pads[i];
        full[ax + r] = pads[i + axes.length];
      });
      pads = full;
    }
  }
  if (pads.length !== 2 * r) im.bad(`pads has ${pads.length} values for rank ${r}`);
  if (pads.some((p) => p < 0)) im.fail("negative pads (cropping) are not supported");
  const dims = x.dims.map((d, i) => d + pads[i] + pads[i + r]);
  // Spatial padding of an NHWC activation runs the pad kernel; anything else is fill + copy.
  if (r === 4 && x.kind === "value" && x.layout === "nhwc" && pads[0] === 0 && pads[1] === 0 && pads[4] === 0 && pads[5] === 0) {
    const y = im.value(nhwcShape(dims));
    im.emit({ op: "pad", x: x.v, y, pads: [pads[2], pads[3], pads[6], pads[7]], value });
    return im.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
  }
  if (r > 6) im.fail(`rank ${r} > 6`);
  const v = im.plain(x);
  const y = im.value(dims);
  const offset = pads.slice(0, r).reduce((acc, p, i) => acc + p * stridesOf(dims)[i], 0);
  im.emit({ op: "copy", x: v, y, copies: [copyPlan(x.dims, stridesOf(x.dims), stridesOf(dims), 0, offset)], fill: value });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
}

/** Identity, and Dropout at inference: the output is the input. */
export function identity(im: Importer, n: OnnxNode): void {
  if (im.isRead(n.outputs[1])) im.fail("the mask output is read; at inference simdcnn computes no mask (an unread mask output is fine)");
  if (n.opType === "Dropout" && im.int("training_mode", 0) !== 0) im.fail("training_mode must be 0");
  im.setOutput(im.required(0));
}

/**
 * Cast: folded on constants (shape arithmetic such as Shape -> Cast -> Div -> Resize scales);
 * on values, float32 to float32 and int32 to an integer type are the identity (int32 stands for
 * every integer type), others one cast step (float to integer truncates toward zero, saturating).
 */
export function cast(im: Importer): void {
  const x = im.required(0);
  const to = im.int("to", 0);
  const toFloat = to === DataType.FLOAT || to === DataType.DOUBLE;
  const toInt = ([DataType.UINT8, DataType.INT8, DataType.INT32, DataType.INT64, DataType.BOOL] as number[]).includes(to);
  if (!toFloat && !toInt) im.fail(`a cast to data type ${to} is not supported (float, double, int8/uint8/int32/int64, bool)`);
  if (x.kind === "const") {
    const v = x.f ?? x.i!;
    if (toFloat) return im.setOutput({ kind: "const", dims: x.dims, f: Float32Array.from(v) });
    return im.setOutput({ kind: "const", dims: x.dims, i: Array.from(v, (n) => (to === DataType.BOOL ? (n !== 0 ? 1 : 0) : Math.trunc(n))), dataType: to });
  }
  const int = isInt(x.v);
  const kind = toFloat ? (int ? "i32_f32" : undefined) : to === DataType.BOOL ? (int ? "i32_bool" : "f32_bool") : int ? undefined : "f32_i32";
  if (kind === undefined) return im.setOutput(x);
  const v = im.plain(x);
  const y = im.value([...v.shape], "arena", undefined, undefined, toFloat ? "f32" : "i32");
  im.emit({ op: "cast", x: v, y, kind });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
}
