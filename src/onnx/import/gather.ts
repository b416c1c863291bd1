// Gather with indices computed at run time, GatherElements, GatherND and ScatterND: int32 indices
// into float32 or int32 data, any axis, negative indices counted from the end.
import { isInt, sizeOfShape } from "../../graph/ir.js";
import type { ScatterReduction } from "../../ops/scatter.js";
import type { Importer } from "./importer.js";
import { normAxis } from "./util.js";

/** Gather whose indices are a value of the graph (constant indices are tensor.ts's gather); false otherwise. */
export function gatherDynamic(im: Importer): boolean {
  const data = im.required(0);
  const idx = im.required(1);
  if (idx.kind === "const") return false;
  const indices = im.plain(idx);
  if (!isInt(indices)) im.bad("indices must be integers");
  const r = data.dims.length;
  const axis = normAxis(im.int("axis", 0), r, im);
  const x = im.plain(data);
  const dims = [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)];
  const y = im.value(dims.length ? dims : [1], "arena", undefined, undefined, isInt(x) ? "i32" : "f32");
  im.emit({ op: "gather", x: im.alias(x, data.dims.length ? data.dims : [1]), indices, y, axis });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
  return true;
}

export function gatherND(im: Importer): void {
  const data = im.required(0);
  const idx = im.required(1);
  const b = im.opset >= 12 ? im.int("batch_dims", 0) : 0;
  const k = idx.dims[idx.dims.length - 1];
  if (idx.dims.length < 1 || !(b >= 0 && b < Math.min(data.dims.length, idx.dims.length))) im.bad(`batch_dims ${b} does not fit data [${data.dims.join(", ")}] and indices [${idx.dims.join(", ")}]`);
  if (!(k >= 1 && b + k <= data.dims.length)) im.bad(`index tuples of ${k} values do not fit data [${data.dims.join(", ")}] after ${b} batch axes`);
  if (data.dims.slice(0, b).some((d, i) => d !== idx.dims[i])) im.bad(`the batch axes of data [${data.dims.join(", ")}] and indices [${idx.dims.join(", ")}] differ`);
  const indices = im.plain(idx);
  if (!isInt(indices)) im.bad("indices must be integers");
  const x = im.plain(data);
  const dims = [...idx.dims.slice(0, -1), ...data.dims.slice(b + k)];
  const y = im.value(dims.length ? dims : [1], "arena", undefined, undefined, isInt(x) ? "i32" : "f32");
  im.emit({ op: "gatherND", x, indices, y, batchDims: b });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims });
}

export function scatterND(im: Importer): void {
  const data = im.required(0);
  const idx = im.required(1);
  const upd = im.required(2);
  const reduction = scatterReduction(im);
  const k = idx.dims[idx.dims.length - 1];
  if (!(k >= 1 && k <= data.dims.length)) im.bad(`index tuples of ${k} values do not fit data [${data.dims.join(", ")}]`);
  const want = [...idx.dims.slice(0, -1), ...data.dims.slice(k)];
  if (want.join() !== upd.dims.join()) im.bad(`updates must be [${want.join(", ")}], got [${upd.dims.join(", ")}]`);
  const indices = im.plain(idx);
  if (!isInt(indices)) im.bad("indices must be integers");
  const x = im.plain(data);
  const u = im.plain(upd);
  if (isInt(x) !== isInt(u)) im.bad("data and updates must have the same type");
  const y = im.value([...x.shape], "arena", undefined, undefined, isInt(x) ? "i32" : "f32");
  im.emit({ op: "scatterND", x: im.alias(x, data.dims), indices, updates: im.alias(u, upd.dims.length ? upd.dims : [1]), y, ...(reduction ? { reduction } : {}) });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: [...data.dims] });
}

/** ScatterND's `reduction`: none, or add and mul (opset 16) and max and min (opset 18). */
function scatterReduction(im: Importer): ScatterReduction | undefined {
  const r = im.string("reduction", "none");
  if (r === "none") return undefined;
  if (r === "add" || r === "mul" || r === "max" || r === "min") return r;
  im.bad(`reduction '${r}': expected none, add, mul, max or min`);
}

export function gatherElements(im: Importer): void {
  const data = im.required(0);
  const idx = im.required(1);
  const r = data.dims.length;
  const axis = normAxis(im.int("axis", 0), r, im);
  if (idx.dims.length !== r) im.bad(`indices [${idx.dims.join(", ")}] must have the rank of the data [${data.dims.join(", ")}]`);
  if (idx.dims.some((d, i) => i !== axis && d !== data.dims[i])) {
    im.fail(`indices [${idx.dims.join(", ")}] smaller than the data [${data.dims.join(", ")}] on axes other than ${axis} are not supported`);
  }
  const indices = im.plain(idx);
  if (!isInt(indices)) im.bad("indices must be integers");
  const x = im.plain(data);
  const y = im.value([...idx.dims], "arena", undefined, undefined, isInt(x) ? "i32" : "f32");
  if (sizeOfShape(idx.dims) === 0) im.fail("empty indices are not supported");
  im.emit({ op: "gatherElements", x, indices, y, axis });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: [...idx.dims] });
}
