import { sizeOfShape } from "../../graph/ir.js";
import { permuteStep } from "../../graph/layout.js";
import type { Importer } from "./importer.js";
import { normAxis } from "./util.js";

/** Softmax, or LogSoftmax when log. */
export function softmax(im: Importer, log = false): void {
  const x = im.required(0);
  const r = x.dims.length;
  const axis = normAxis(im.int("axis", im.opset < 13 ? 1 : -1), r, im);
  if (im.opset < 13) {
    // Before opset 13 Softmax works on the input flattened to 2-d at `axis`.
    const v = im.plain(x);
    const cols = sizeOfShape(x.dims.slice(axis));
    const y = im.value([...v.shape]);
    im.emit({ op: "softmax", x: v, y, rows: sizeOfShape(x.dims) / cols, cols, log });
    return im.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
  }
  if (r === 4 && axis === 1 && x.kind === "value" && x.layout === "nhwc") {
    const y = im.value([...x.v.shape]);
    im.emit({ op: "softmax", x: x.v, y, rows: sizeOfShape(x.dims) / x.dims[1], cols: x.dims[1], log });
    return im.setOutput({ kind: "value", v: y, layout: "nhwc", dims: x.dims });
  }
  const v = im.plain(x);
  if (axis === r - 1) {
    const y = im.value([...v.shape]);
    im.emit({ op: "softmax", x: v, y, rows: sizeOfShape(x.dims) / x.dims[axis], cols: x.dims[axis], log });
    return im.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
  }
  if (r > 6) im.fail(`rank ${r} > 6`);
  // Move the axis last, softmax, move it back.
  const perm = [...[...Array(r).keys()].filter((i) => i !== axis), axis];
  const inv = perm.map((_, i) => perm.indexOf(i));
  const moved = perm.map((p) => x.dims[p]);
  const t = im.value(moved);
  im.emit(permuteStep(v, t, perm));
  const s = im.value(moved);
  im.emit({ op: "softmax", x: t, y: s, rows: sizeOfShape(moved) / x.dims[axis], cols: x.dims[axis], log });
  const y = im.value([...x.dims]);
  im.emit(permuteStep(s, y, inv));
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: x.dims });
}
