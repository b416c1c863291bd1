import { nhwcShape } from "../../graph/layout.js";
import { planesPay } from "../../ops/pool.js";
import type { Importer, Sym } from "./importer.js";
import { window2d } from "./window.js";

/** Pools input 0, or `x` when given (a QDQ pair's float value, see quant.ts). */
export function pool(im: Importer, max: boolean, x: Sym = im.required(0)): void {
  if (im.isRead(im.node.outputs[1])) im.fail("the Indices output is read; simdcnn computes no indices (an unread Indices output is fine)");
  if (x.dims.length !== 4) im.fail(`only 2-d pooling is supported (input [${x.dims.join(", ")}])`);
  const kernel = im.ints("kernel_shape");
  if (!kernel || kernel.length !== 2) im.fail("kernel_shape must give 2 sizes");
  if (!max && im.attr("dilations") && im.opset < 19) im.bad("dilations are an AveragePool attribute from opset 19");
  const { window, out } = window2d(im, x.dims, kernel, "pool");
  const dims = [x.dims[0], x.dims[1], out[0], out[1]];
  const ceil = im.int("ceil_mode", 0) === 1;
  const countIncludePad = im.int("count_include_pad", 0) === 1;
  // An NCHW value nothing has converted yet is pooled where it lies, where that pays: no copy in,
  // and whatever needs NHWC after converts the smaller output.
  if (x.kind === "value" && x.layout === "plain" && !im.hasNhwc(x) && planesPay(window, x.dims[1])) {
    const y = im.value(dims);
    im.emit({ op: "pool", max, x: x.v, y, window, countIncludePad, ceil, nchw: true });
    return im.setOutput({ kind: "value", v: y, layout: "plain", dims });
  }
  const y = im.value(nhwcShape(dims));
  im.emit({ op: "pool", max, x: im.nhwc(x), y, window, countIncludePad, ceil });
  im.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
}

export function globalPool(im: Importer, max: boolean, x: Sym = im.required(0)): void {
  if (x.dims.length !== 4) im.fail(`only 4-d inputs are supported (got [${x.dims.join(", ")}])`);
  const dims = [x.dims[0], x.dims[1], 1, 1];
  const y = im.value(nhwcShape(dims));
  im.emit({ op: "globalPool", max, x: im.nhwc(x), y });
  im.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
}
