import { nhwcShape } from "../../graph/layout.js";
import { depthwisePlanesPay } from "../../ops/dwconv_planes.js";
import type { OnnxNode } from "../model.js";
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
  const dims = [x.dims[0], cout, out[0], out[1]];
  const seen = group === 1 && !!im.node.outputs[0] && seenAsNchw(im, im.node.outputs[0]);
  // A 1x1 convolution of NCHW planes into an output seen only as NCHW is one GEMM on the planes
  // (src/ops/pointwise.ts): no transpose in or out.
  const planes = seen && cinG > 1 && kh === 1 && kw === 1 && x.kind === "value" && x.layout === "plain" &&
    window.strides.every((s) => s === 1) && window.pads.every((p) => p === 0);
  // A depthwise convolution of NCHW planes into an output seen only as NCHW, or read by a 1x1
  // convolution on the planes, convolves each plane where it lies (src/ops/dwconv_planes.ts): no
  // transpose in or out.
  const depthwise = group > 1 && cinG === 1 && cout === group && x.kind === "value" && x.layout === "plain" &&
    depthwisePlanesPay(window) && !!im.node.outputs[0] && seenAsNchw(im, im.node.outputs[0], 0, true);
  // One input channel (NHWC and NCHW the same bytes) and an output seen only as NCHW: the
  // kernel stores NCHW planes, so no transpose follows.
  const nchw = planes || depthwise || (seen && cinG === 1);
  const xv = planes || depthwise ? x.v : im.nhwc(x);
  const y = im.value(nchw ? dims : nhwcShape(dims));
  im.emit({
    op: "conv", x: xv, y, w: transposeConst(w, [0, 2, 3, 1]) as Float32Array, wShape: [cout, kh, kw, cinG],
    bias: b?.f ? Float32Array.from(b.f) : undefined, window, groups: group, act: "none", ...(nchw ? { nchw } : {}),
  });
  im.setOutput({ kind: "value", v: y, layout: nchw ? "plain" : "nhwc", dims });
}

/**
 * Activations, which run on either layout (fused into the conv's store, or elementwise), and
 * Identity and Dropout, which pass their input on as it is stored.
 */
const ACTIVATIONS = new Set([
  "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "Gelu",
  "Identity", "Dropout",
]);
const MAX_ACTIVATION_CHAIN = 8;

/**
 * Whether the ONNX tensor `name` is seen only as graph outputs, directly or through activations
 * (and Identity); with `planes`, also by 1x1 convolutions that run on its planes.
 */
function seenAsNchw(im: Importer, name: string, depth = 0, planes = false): boolean {
  if (depth > MAX_ACTIVATION_CHAIN) return false;
  const readers = im.consumers.get(name) ?? [];
  const isOutput = im.model.graph.outputs.some((o) => o.name === name);
  return (isOutput || readers.length > 0) && readers.every((n) =>
    n.inputs.indexOf(name) === 0 && n.inputs.lastIndexOf(name) === 0 && !!n.outputs[0] &&
    ((ACTIVATIONS.has(n.opType) && seenAsNchw(im, n.outputs[0], depth + 1, planes)) || (planes && pointwiseOnPlanes(im, n))));
}

/**
 * Whether Conv node `n` will run as one GEMM on its input's planes (conv() above, given a plain
 * NCHW input): 1x1 weights given as an initializer over more than one input channel, one group,
 * stride 1, no padding, and its output seen only as NCHW.
 */
function pointwiseOnPlanes(im: Importer, n: OnnxNode): boolean {
  const w = im.model.graph.initializers.get(n.inputs[1] ?? "");
  const attr = (k: string) => n.attributes.get(k);
  const ints = (k: string) => {
    const a = attr(k);
    return a?.type === "ints" ? a.value : undefined;
  };
  const group = attr("group");
  return n.opType === "Conv" && w !== undefined && w.dims.length === 4 && w.dims[1] > 1 && w.dims[2] === 1 && w.dims[3] === 1 &&
    (group === undefined || (group.type === "int" && group.value === 1)) && (ints("strides") ?? [1, 1]).every((s) => s === 1) &&
    (ints("pads") ?? [0, 0, 0, 0]).every((p) => p === 0) && seenAsNchw(im, n.outputs[0]);
}

export function convTranspose(im: Importer): void {
  const x = im.required(0);
  const w = im.asConst(im.required(1), 1, "the weights");
  if (!w.f) im.fail("weights must be float32");
  if (x.dims.length !== 4 || w.dims.length !== 4) im.fail(`only 2-d transposed convolutions are supported (input [${x.dims.join(", ")}])`);
  const group = im.int("group", 1);
  const [cin, coutG, kh, kw] = w.dims;
  if (!Number.isSafeInteger(group) || group <= 0 || cin % group !== 0) im.bad(`group ${group} must be a positive divisor of the ${cin} input channels`);
  if (x.dims[1] !== cin) im.bad(`input has ${x.dims[1]} channels; weights [${w.dims.join(", ")}] expect ${cin}`);
  const kernel = im.ints("kernel_shape") ?? [kh, kw];
  if (kernel.length !== 2 || kernel[0] !== kh || kernel[1] !== kw) im.bad(`kernel_shape [${kernel}] does not match the weights [${w.dims.join(", ")}]`);
  const cout = coutG * group;
  const b = im.constInput(2, "bias");
  if (b && (!b.f || b.f.length !== cout)) im.bad(`bias must hold ${cout} floats`);
  const strides = im.ints("strides") ?? [1, 1];
  const dilations = im.ints("dilations") ?? [1, 1];
  const outputPadding = im.ints("output_padding") ?? [0, 0];
  if (strides.length !== 2 || dilations.length !== 2 || outputPadding.length !== 2) im.fail("only 2-d strides, dilations and output_padding are supported");
  if ([...strides, ...dilations].some((v) => !Number.isSafeInteger(v) || v <= 0 || v > 2 ** 24)) im.bad(`strides ${strides} and dilations ${dilations} must be positive integers`);
  if (outputPadding.some((v) => !Number.isSafeInteger(v) || v < 0 || v > 2 ** 24)) im.bad(`output_padding [${outputPadding}] must be non-negative integers`);
  const { pads, out } = transposePads(im, [x.dims[2], x.dims[3]], [kh, kw], strides, dilations, outputPadding);
  // A negative end pad (an output_shape larger than the full output) is more output padding.
  const op: [number, number] = [outputPadding[0] + Math.max(0, -pads[2]), outputPadding[1] + Math.max(0, -pads[3])];
  const xv = im.nhwc(x);
  const dims = [x.dims[0], cout, out[0], out[1]];
  const y = im.value(nhwcShape(dims));
  im.emit({
    op: "deconv", x: xv, y, w: transposeConst(w, [0, 2, 3, 1]) as Float32Array, wShape: [cin, kh, kw, coutG],
    bias: b?.f ? Float32Array.from(b.f) : undefined, strides: [strides[0], strides[1]], dilations: [dilations[0], dilations[1]],
    pads: [pads[0], pads[1], Math.max(0, pads[2]), Math.max(0, pads[3])], outputPadding: op, groups: group, act: "none",
  });
  im.setOutput({ kind: "value", v: y, layout: "nhwc", dims });
}

/**
 * ConvTranspose's padding [top, left, bottom, right] and output size from pads, auto_pad and
 * output_shape, by the formulas of the ONNX definition: the full output is stride * (in - 1) +
 * output_padding + (kernel - 1) * dilation + 1, and an output_shape (given, or in * stride for
 * SAME_UPPER/SAME_LOWER) sets the total padding, split with the smaller half first for
 * SAME_UPPER and the larger half first otherwise.
 */
function transposePads(
  im: Importer, size: number[], kernel: number[], strides: number[], dilations: number[], outputPadding: number[],
): { pads: [number, number, number, number]; out: [number, number] } {
  const autoPad = im.string("auto_pad", "NOTSET");
  if (!["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].includes(autoPad)) im.bad(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const full = [0, 1].map((i) => strides[i] * (size[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1);
  let shape = im.ints("output_shape");
  if (shape !== undefined) {
    // Some exporters give the whole NCHW shape rather than the spatial one.
    if (shape.length === 4) shape = shape.slice(2);
    if (shape.length !== 2 || shape.some((v) => !Number.isSafeInteger(v) || v <= 0)) im.bad(`output_shape [${shape}] must be 2 positive integers`);
  } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    shape = [size[0] * strides[0], size[1] * strides[1]];
  }
  let pads: [number, number, number, number];
  if (shape !== undefined) {
    const split = (i: number): [number, number] => {
      const total = full[i] - shape![i];
      // An output larger than the full one gets its extra rows at the end, outside every window.
      if (total < 0) return [0, total];
      const small = Math.floor(total / 2);
      return autoPad === "SAME_UPPER" ? [small, total - small] : [total - small, small];
    };
    const [t, bo] = split(0);
    const [l, r] = split(1);
    pads = [t, l, bo, r];
  } else if (autoPad === "VALID") {
    pads = [0, 0, 0, 0];
  } else {
    const p = im.ints("pads") ?? [0, 0, 0, 0];
    if (p.length !== 4) im.fail("only 2-d pads are supported");
    if (p.some((v) => !Number.isSafeInteger(v) || v < 0 || v > 2 ** 24)) im.bad(`pads [${p.join(", ")}] must be non-negative integers`);
    pads = [p[0], p[1], p[2], p[3]];
  }
  if (pads[0] < 0 || pads[1] < 0) im.fail(`the output_shape needs negative leading pads [${pads[0]}, ${pads[1]}]`);
  const out: [number, number] = [full[0] - pads[0] - pads[2], full[1] - pads[1] - pads[3]];
  if (out[0] < 1 || out[1] < 1) im.bad(`the pads [${pads.join(", ")}] crop the whole output [${full.join(", ")}]`);
  return { pads, out };
}
