// Shape-building and data-movement ops that need no kernel of their own: ConstantOfShape and
// Range fold at load; Expand, Tile, Split, DepthToSpace and SpaceToDepth fold on constants and
// otherwise become strided copies, which move 4-byte elements of either type.
import { sizeOfShape } from "../../graph/ir.js";
import type { CopyPlan } from "../../graph/ir.js";
import { copyPlan, nhwcShape } from "../../graph/layout.js";
import { stridesOf } from "../../runtime/tensor.js";
import type { ConstSym, Importer, Sym } from "./importer.js";
import { broadcastDims, constOf, gatherStrided, normAxis } from "./util.js";

function withData(like: ConstSym, dims: number[], data: number[]): ConstSym {
  return like.f ? { kind: "const", dims, f: Float32Array.from(data) } : { kind: "const", dims, i: data, dataType: like.dataType };
}

export function constantOfShape(im: Importer): void {
  const shape = im.constInput(0, "shape")?.i ?? im.bad("shape must be an int64 tensor");
  const a = im.attr("value");
  const value: ConstSym = a === undefined ? { kind: "const", dims: [1], f: Float32Array.of(0) } : a.type === "tensor" ? constOf(a.value) : im.bad("value must be a tensor");
  const v = (value.f ?? value.i!)[0];
  im.setOutput(withData(value, [...shape], new Array<number>(sizeOfShape(shape)).fill(v)));
}

export function range(im: Importer): void {
  const [start, limit, delta] = [0, 1, 2].map((i) => im.constInput(i, ["start", "limit", "delta"][i]) ?? im.bad("start, limit and delta are required"));
  const [s, l, d] = [start, limit, delta].map((c) => (c.f ?? c.i!)[0]);
  if (d === 0) im.bad("delta is 0");
  const n = Math.max(Math.ceil((l - s) / d), 0);
  if (n === 0) im.fail("the range is empty");
  const out = Array.from({ length: n }, (_, k) => s + k * d);
  im.setOutput(withData(start, [n], start.f ? out.map(Math.fround) : out));
}

/** s's elements broadcast to dims (numpy rules), as a constant or one copy. */
function expanded(im: Importer, s: Sym, dims: number[]): Sym {
  if (s.dims.join() === dims.join()) return s;
  if (s.kind === "const") {
    const sd = [...new Array<number>(dims.length - s.dims.length).fill(1), ...s.dims];
    return withData(s, dims, gatherStrided(s.f ?? s.i!, dims, stridesOf(sd).map((st, i) => (sd[i] === 1 ? 0 : st)), 0));
  }
  if (dims.length > 6) im.fail(`rank ${dims.length} > 6`);
  return { kind: "value", v: im.broadcast(s, dims, false), layout: "plain", dims };
}

export function expand(im: Importer): void {
  const x = im.required(0);
  const shape = im.constInput(1, "shape")?.i ?? im.bad("shape must be an int64 tensor");
  im.setOutput(expanded(im, x, broadcastDims(x.dims, shape, im)));
}

/** Copies beyond this many per Tile are refused (each tile is one strided copy). */
const MAX_TILES = 4096;

export function tile(im: Importer): void {
  const x = im.required(0);
  const reps = im.constInput(1, "repeats")?.i ?? im.bad("repeats must be an int64 tensor");
  const r = x.dims.length;
  if (reps.length !== r) im.bad(`repeats has ${reps.length} values for rank ${r}`);
  if (reps.some((k) => !(Number.isInteger(k) && k >= 1))) im.fail(`repeats [${reps.join(", ")}] must be positive`);
  const dims = x.dims.map((d, i) => d * reps[i]);
  if (x.kind === "const") {
    const src = x.f ?? x.i!;
    const xs = stridesOf(x.dims);
    const out = new Array<number>(sizeOfShape(dims));
    const idx = new Array<number>(r).fill(0);
    for (let n = 0; n < out.length; n++) {
      out[n] = src[idx.reduce((a, v, i) => a + (v % x.dims[i]) * xs[i], 0)];
      for (let i = r - 1; i >= 0; i--) {
        if (++idx[i] < dims[i]) break;
        idx[i] = 0;
      }
    }
    return im.setOutput(withData(x, dims, out));
  }
  const tiles = sizeOfShape(reps);
  if (tiles > MAX_TILES) im.fail(`${tiles} tiles (more than ${MAX_TILES})`);
  if (r > 6) im.fail(`rank ${r} > 6`);
  const v = im.plain(x);
  const y = im.value(dims);
  const ys = stridesOf(dims);
  const copies: CopyPlan[] = [];
  const t = new Array<number>(r).fill(0);
  for (let n = 0; n < tiles; n++) {
    copies.push(copyPlan(x.dims, stridesOf(x.dims), ys, 0, t.reduce((a, k, i) => a + k * x.dims[i] * ys[i], 0)));
    for (let i = r - 1; i >= 0; i--) {
      if (++t[i] < reps[i]) break;
      t[i] = 0;
    }
  }
  im.emit({ op: "copy", x: v, y, copies });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
}

export function split(im: Importer): void {
  const x = im.required(0);
  const r = x.dims.length;
  const axis = normAxis(im.int("axis", 0), r, im);
  const d = x.dims[axis];
  const outs = im.node.outputs.length;
  let sizes = im.opset < 13 ? im.ints("split") : im.constInput(1, "split")?.i;
  if (!sizes) {
    const parts = im.opset >= 18 ? im.int("num_outputs", outs) : outs;
    const each = Math.ceil(d / parts);
    sizes = Array.from({ length: parts }, (_, k) => Math.min(each, d - k * each));
  }
  if (sizes.length !== outs) im.bad(`${sizes.length} split sizes for ${outs} outputs`);
  if (sizes.reduce((a, b) => a + b, 0) !== d || sizes.some((s) => s <= 0)) im.fail(`split sizes [${sizes.join(", ")}] must be positive and sum to ${d}`);
  // A channel split of an NHWC activation stays NHWC: each part is a run of every pixel's channels.
  const channels = r === 4 && axis === 1 && x.kind === "value" && x.layout === "nhwc";
  const stored = channels ? nhwcShape(x.dims) : x.dims;
  const a = channels ? 3 : axis;
  const outer = sizeOfShape(stored.slice(0, a));
  const inner = sizeOfShape(stored.slice(a + 1));
  let start = 0;
  sizes.forEach((size, k) => {
    const dims = x.dims.map((v, i) => (i === axis ? size : v));
    if (x.kind === "const") {
      const xs = stridesOf(x.dims);
      im.setOutput(withData(x, dims, gatherStrided(x.f ?? x.i!, dims, xs, start * xs[axis])), k);
    } else {
      const src = channels ? x.v : im.plain(x);
      const y = im.value(channels ? nhwcShape(dims) : dims);
      im.emit({ op: "copy", x: src, y, copies: [copyPlan([outer, size * inner], [d * inner, 1], [size * inner, 1], start * inner, 0)] });
      im.setOutput({ kind: "value", v: y, layout: channels ? "nhwc" : "plain", dims }, k);
    }
    start += size;
  });
}

/**
 * The 6-d index set (n, c, h, i, w, j) of a depth tensor [N, C b^2, H, W] and its space tensor
 * [N, C, H b, W b], with each one's strides, in the stored layout (NHWC keeps the channels last).
 * DCR reads depth channel (i b + j) C + c, CRD reads c b^2 + i b + j.
 */
function depthSpacePlan(depth: number[], b: number, crd: boolean, nhwc: boolean): { sizes: number[]; depth: number[]; space: number[] } {
  const [n, cd, h, w] = depth;
  const c = cd / (b * b);
  const [hb, wb] = [h * b, w * b];
  // Strides of a depth channel step (c), of i and of j, in channels.
  const ch = crd ? { c: b * b, i: b, j: 1 } : { c: 1, i: b * c, j: c };
  if (nhwc) {
    return {
      sizes: [n, h, b, w, b, c],
      depth: [h * w * cd, w * cd, ch.i, cd, ch.j, ch.c],
      space: [hb * wb * c, b * wb * c, wb * c, b * c, c, 1],
    };
  }
  const hw = h * w;
  return {
    sizes: [n, c, h, b, w, b],
    depth: [cd * hw, ch.c * hw, w, ch.i * hw, 1, ch.j * hw],
    space: [c * hb * wb, hb * wb, b * wb, wb, b, 1],
  };
}

export function depthToSpace(im: Importer, toSpace: boolean): void {
  const x = im.required(0);
  if (x.dims.length !== 4) im.fail(`expected a 4-d tensor, got [${x.dims.join(", ")}]`);
  const b = im.int("blocksize", 0);
  if (!(b >= 1)) im.bad("blocksize must be a positive integer");
  const mode = toSpace ? im.string("mode", "DCR") : "DCR";
  if (mode !== "DCR" && mode !== "CRD") im.bad(`mode '${mode}' is neither DCR nor CRD`);
  const [n, c, h, w] = x.dims;
  if (toSpace && c % (b * b) !== 0) im.bad(`${c} channels are not a multiple of blocksize^2 = ${b * b}`);
  if (!toSpace && (h % b !== 0 || w % b !== 0)) im.bad(`[${h}, ${w}] is not a multiple of blocksize ${b}`);
  const depth = toSpace ? x.dims : [n, c * b * b, h / b, w / b];
  const dims = toSpace ? [n, c / (b * b), h * b, w * b] : depth;
  const nhwc = x.kind === "value" && x.layout === "nhwc";
  const plan = depthSpacePlan(depth, b, mode === "CRD", nhwc);
  const [from, to] = toSpace ? [plan.depth, plan.space] : [plan.space, plan.depth];
  if (x.kind === "const") {
    const out = new Array<number>(sizeOfShape(dims));
    const src = gatherStrided(x.f ?? x.i!, plan.sizes, from, 0);
    const pos = gatherStrided(Array.from({ length: sizeOfShape(dims) }, (_, k) => k), plan.sizes, to, 0);
    pos.forEach((p, k) => (out[p] = src[k]));
    return im.setOutput(withData(x, dims, out));
  }
  const v = nhwc ? x.v : im.plain(x);
  const y = im.value(nhwc ? nhwcShape(dims) : dims);
  im.emit({ op: "copy", x: v, y, copies: [copyPlan(plan.sizes, from, to)] });
  im.setOutput({ kind: "value", v: y, layout: nhwc ? "nhwc" : "plain", dims });
}
