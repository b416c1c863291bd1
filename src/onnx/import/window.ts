// The sliding window of Conv and the pools: ONNX's pads, auto_pad and ceil_mode resolved to
// explicit padding and an output size.
import type { Window } from "../../graph/ir.js";
import type { Importer } from "./importer.js";

export function window2d(im: Importer, dims: number[], kernel: number[], what: "conv" | "pool"): { window: Window; out: [number, number] } {
  const [, , h, w] = dims;
  const strides = im.ints("strides") ?? [1, 1];
  const dilations = im.ints("dilations") ?? [1, 1];
  if (strides.length !== 2 || dilations.length !== 2) im.fail("only 2-d windows are supported");
  if ([...kernel, ...strides, ...dilations].some((v) => !Number.isSafeInteger(v) || v <= 0 || v > 2 ** 24)) {
    im.bad(`kernel ${kernel}, strides ${strides} and dilations ${dilations} must be positive integers`);
  }
  const autoPad = im.string("auto_pad", "NOTSET");
  const ceil = what === "pool" && im.int("ceil_mode", 0) === 1;
  const span = (i: number) => (kernel[i] - 1) * dilations[i] + 1;
  let pads: [number, number, number, number];
  if (autoPad === "NOTSET") {
    const p = im.ints("pads") ?? [0, 0, 0, 0];
    if (p.length !== 4) im.fail("only 2-d pads are supported");
    if (p.some((v) => !Number.isSafeInteger(v) || v < 0 || v > 2 ** 24)) im.bad(`pads [${p.join(", ")}] must be non-negative integers`);
    pads = [p[0], p[1], p[2], p[3]];
  } else if (autoPad === "VALID") {
    pads = [0, 0, 0, 0];
  } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const total = (size: number, i: number) => Math.max((Math.ceil(size / strides[i]) - 1) * strides[i] + span(i) - size, 0);
    const th = total(h, 0);
    const tw = total(w, 1);
    const small = (t: number) => (autoPad === "SAME_UPPER" ? Math.floor(t / 2) : Math.ceil(t / 2));
    pads = [small(th), small(tw), th - small(th), tw - small(tw)];
  } else {
    im.bad(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  }
  const outSize = (size: number, i: number, padA: number, padB: number) => {
    const padded = size + padA + padB;
    if (span(i) > padded) im.bad(`the window (span ${span(i)}) is larger than the padded input (${padded})`);
    if (!ceil) return Math.floor((padded - span(i)) / strides[i]) + 1;
    let o = Math.ceil((padded - span(i)) / strides[i]) + 1;
    // The last window must start inside the input or its leading padding.
    if ((o - 1) * strides[i] >= size + padA) o--;
    return o;
  };
  const out: [number, number] = [outSize(h, 0, pads[0], pads[2]), outSize(w, 1, pads[1], pads[3])];
  return { window: { kernel: [kernel[0], kernel[1]], strides: [strides[0], strides[1]], dilations: [dilations[0], dilations[1]], pads }, out };
}
