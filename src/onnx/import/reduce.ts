// Reduce* (opsets 1-18): the reduced axes are mapped to the order the value is stored in (NHWC for
// activations), and one reduction runs when they are adjacent there: over the channels, over
// H and W, over every axis. Axes that are not adjacent are moved together by one transpose.
import { type Value, sizeOfShape } from "../../graph/ir.js";
import { permuteStep } from "../../graph/layout.js";
import type { ReduceKind } from "../../ops/reduce.js";
import type { Importer, Sym } from "./importer.js";
import { normAxis } from "./util.js";

/** Where each NCHW axis lies in NHWC storage. */
const NHWC_POS = [0, 3, 1, 2];

/** The opset from which each op takes axes as an input rather than an attribute. */
function axesInputFrom(kind: ReduceKind): number {
  return kind === "sum" ? 13 : 18;
}

export function reduce(im: Importer, kind: ReduceKind): void {
  const x = im.required(0);
  const r = x.dims.length;
  let axes: number[];
  if (im.opset >= axesInputFrom(kind)) {
    if (im.attr("axes")) im.bad(`axes is an input from opset ${axesInputFrom(kind)}, not an attribute`);
    const a = im.constInput(1, "axes");
    axes = a ? [...(a.i ?? a.f ?? [])] : [];
    if (axes.length === 0 && im.int("noop_with_empty_axes", 0) !== 0) return im.setOutput(x);
  } else {
    axes = im.ints("axes") ?? [];
  }
  const keep = im.int("keepdims", 1) !== 0;
  const reduced = new Set(axes.length ? axes.map((a) => normAxis(a, r, im)) : [...x.dims.keys()]);
  if (reduced.size !== (axes.length || r)) im.bad(`axes [${axes.join(", ")}] name an axis twice`);
  const outDims = keep ? x.dims.map((d, i) => (reduced.has(i) ? 1 : d)) : x.dims.filter((_, i) => !reduced.has(i));
  im.setOutput(reduceSym(im, x, reduced, kind, keep, outDims));
}

function reduceSym(im: Importer, x: Sym, reduced: Set<number>, kind: ReduceKind, keep: boolean, outDims: number[]): Sym {
  const r = x.dims.length;
  if (x.kind === "value" && x.layout === "nhwc") {
    const pos = [...reduced].map((a) => NHWC_POS[a]);
    const stored = x.v.shape;
    const kept = [0, 1, 2, 3].filter((a) => !reduced.has(a));
    // Without keepdims the result is plain; the kept axes must then lie in NCHW's order in NHWC
    // storage too (size-1 axes aside).
    const order = (as: number[]) => as.filter((a) => x.dims[a] > 1).join();
    const storedKept = [0, 1, 2, 3].filter((p) => !pos.includes(p)).map((p) => NHWC_POS.indexOf(p));
    if (adjacent(pos) && (keep || order(storedKept) === order(kept))) {
      const y = runReduce(im, x.v, stored, pos, kind, keep ? [0, 1, 2, 3].map((p) => (pos.includes(p) ? 1 : stored[p])) : outDims);
      return keep ? { kind: "value", v: y, layout: "nhwc", dims: outDims } : { kind: "value", v: y, layout: "plain", dims: outDims };
    }
  }
  const v = im.plain(x);
  const axes = [...reduced].sort((a, b) => a - b);
  if (adjacent(axes)) {
    return { kind: "value", v: runReduce(im, v, x.dims, axes, kind, outDims), layout: "plain", dims: outDims };
  }
  if (r > 6) im.fail(`reducing axes that are not adjacent in a rank-${r} tensor (the transpose that gathers them goes to rank 6)`);
  // The kept axes first, in order, then the reduced ones: one reduction over the trailing run.
  const perm = [...[...Array(r).keys()].filter((a) => !reduced.has(a)), ...axes];
  const moved = perm.map((p) => x.dims[p]);
  const t = im.value(moved);
  im.emit(permuteStep(v, t, perm));
  const tail = axes.map((_, i) => r - axes.length + i);
  return { kind: "value", v: runReduce(im, t, moved, tail, kind, outDims), layout: "plain", dims: outDims };
}

function adjacent(sortedOrNot: number[]): boolean {
  const s = [...sortedOrNot].sort((a, b) => a - b);
  return s[s.length - 1] - s[0] === s.length - 1;
}

/** One reduce step over the adjacent stored axes `axes` of v (stored shape `stored`). */
function runReduce(im: Importer, v: Value, stored: readonly number[], axes: number[], kind: ReduceKind, outShape: number[]): Value {
  const first = Math.min(...axes);
  const last = Math.max(...axes);
  const outer = sizeOfShape(stored.slice(0, first));
  const n = sizeOfShape(stored.slice(first, last + 1));
  const inner = sizeOfShape(stored.slice(last + 1));
  const y = im.value(outShape.length ? [...outShape] : [1]);
  im.emit({ op: "reduce", x: v, y, kind, outer, n, inner });
  return y;
}
