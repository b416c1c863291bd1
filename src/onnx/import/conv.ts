import { nhwcShape } from "../../graph/layout.js";
import type { Importer } from "./importer.js";
import { transposeConst } from "./util.js";
import { window2d } from "./window.js";

export function conv(im: Importer): void {
  const x = im.required(0);
  const w = im.asConst(im.required(1), 1, "the weights");
  if (!w.f) im.fail("weights must be float32");
  if (x.dims.length !== 4 || w.dims.length !== 4) im.fail(`only 2-d convolutions are supported (input [${x.dims.join(", ")}])`);
  const group = im.int("group", 1);
  const [cout, cinG, kh, kw] = w.dims;
  const kernel = im.ints("kernel_shape") ?? [kh, kw];
  if (kernel[0] !== kh || kernel[1] !== kw) im.bad(`kernel_shape [${kernel}] does not match the weights [${w.dims.join(", ")}]`);
  if (x.dims[1] !== cinG * group) im.bad(`input has ${x.dims[1]} channels; weights [${w.dims.join(", ")}] with group ${group} expect ${cinG * group}`);
  if (cout % group !== 0) im.bad(`${cout} output channels are not divisible by group ${group}`);
  const b = im.constInput(2, "bias");
  if (b && (!b.f || b.f.length !== cout)) im.bad(`bias must hold ${cout} floats`);
  const { window, out } = window2d(im, x.dims, kernel, "conv");
  const xv = im.nhwc(x);
  const dims = [x.dims[0], cout, out[0], out[1]];
  const y = im.value(nhwcShape(dims));
  im.emit({
    op: "conv", x: xv, y, w: transposeConst(w, [0, 2, 3, 1]) as Float32Array, wShape: [cout, kh, kw, cinG],
    bias: b?.f ? Float32Array.from(b.f) : undefined, window, groups: group, act: "none",
  });
  im.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
}
