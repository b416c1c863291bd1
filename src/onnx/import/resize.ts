// Resize (opsets 10-19), Upsample (7-9) and ArgMax: resizing runs over the two spatial axes of an
// NHWC activation; argmax over its channels (or the last axis of a plain tensor).
import { sizeOfShape } from "../../graph/ir.js";
import { nhwcShape } from "../../graph/layout.js";
import { type CoordinateMode, type NearestMode, type ResizeMode, type ResizeSpec, axisSize } from "../../ops/resize.js";
import type { ConstSym, Importer } from "./importer.js";
import { floatsOf, normAxis } from "./util.js";

const f = Math.fround;

/** A constant input, or undefined when it is absent or empty (opsets 11-12 pass empty tensors for unused inputs). */
function optional(im: Importer, i: number, what: string): ConstSym | undefined {
  const s = im.constInput(i, what);
  return s && sizeOfShape(s.dims) > 0 ? s : undefined;
}

export function upsample(im: Importer): void {
  const given = im.opset < 9 ? undefined : optional(im, 1, "scales");
  const scales = im.opset < 9 ? floatsAttr(im) : given && [...floatsOf(given, im)];
  if (!scales) im.bad("scales are required");
  if (scales.some((s) => !(s >= 1))) im.bad(`scales must be >= 1, got [${scales.join(", ")}]`);
  const mode = im.string("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear") im.fail(`mode '${mode}' is not supported (nearest or linear)`);
  resizeNode(im, { mode, coordinate: "asymmetric", nearest: "simple", cubicA: -0.75, excludeOutside: false, fill: 0 }, [...scales].map(f), undefined, undefined);
}

function floatsAttr(im: Importer): number[] {
  const a = im.attr("scales");
  if (a?.type !== "floats") im.bad("attribute scales (a list of floats) is required");
  return a.value;
}

export function resize(im: Importer): void {
  const r = im.required(0).dims.length;
  const mode = im.string("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear" && mode !== "cubic") im.bad(`mode '${mode}' is not nearest, linear or cubic`);
  if (mode === "cubic" && im.opset < 11) im.bad("cubic mode needs opset 11");
  if (im.opset >= 18 && im.int("antialias", 0) !== 0) {
    im.fail("antialias = 1 is not supported (its filter widens with the downscale factor); export without antialias or resize the input before the model");
  }
  const coordinate = (im.opset < 11 ? "asymmetric" : im.string("coordinate_transformation_mode", "half_pixel")) as CoordinateMode;
  const modes: CoordinateMode[] = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"];
  if (im.opset < 13) modes.push("tf_half_pixel_for_nn");
  if (im.opset >= 19) modes.push("half_pixel_symmetric");
  if (!modes.includes(coordinate)) im.bad(`coordinate_transformation_mode '${coordinate}' is not one of ${modes.join(", ")} in opset ${im.opset}`);
  const nearest = (im.opset < 11 ? "simple" : im.string("nearest_mode", "round_prefer_floor")) as NearestMode;
  if (!["simple", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].includes(nearest)) im.bad(`nearest_mode '${nearest}' is not supported`);
  const excludeOutside = im.int("exclude_outside", 0) !== 0;
  if (excludeOutside && mode !== "cubic") im.bad("exclude_outside applies to cubic mode only");
  const spec: Omit<ResizeSpec, "roi" | "size" | "scales"> = {
    mode: mode as ResizeMode, coordinate, nearest, excludeOutside,
    cubicA: f(im.float("cubic_coeff_a", -0.75)),
    fill: f(im.float("extrapolation_value", 0)),
  };
  // Axes the scales, sizes and roi give (opset 18), else all of them.
  const axes = im.opset >= 18 && im.ints("axes") ? im.ints("axes")!.map((a) => normAxis(a, r, im)) : [...Array(r).keys()];
  if (new Set(axes).size !== axes.length) im.bad(`axes [${axes.join(", ")}] repeat an axis`);
  const full = (given: number[], def: number[], what: string): number[] => {
    if (given.length !== axes.length) im.bad(`${what} has ${given.length} values for ${axes.length} axes`);
    const out = [...def];
    axes.forEach((a, i) => (out[a] = given[i]));
    return out;
  };
  if (im.opset < 11) {
    const s = optional(im, 1, "scales");
    if (!s) im.bad("scales are required");
    return resizeNode(im, spec, [...floatsOf(s, im)].map(f), undefined, undefined);
  }
  const dims = im.required(0).dims;
  const roiC = coordinate === "tf_crop_and_resize" ? optional(im, 1, "roi") : undefined;
  if (coordinate === "tf_crop_and_resize" && !roiC) im.bad("tf_crop_and_resize needs the roi input");
  let roi: number[] | undefined;
  if (roiC) {
    const v = [...floatsOf(roiC, im)].map(f);
    const half = v.length / 2;
    roi = [...full(v.slice(0, half), new Array(r).fill(0), "roi"), ...full(v.slice(half), new Array(r).fill(1), "roi")];
  }
  const scalesC = optional(im, 2, "scales");
  const sizesC = optional(im, 3, "sizes");
  if (!!scalesC === !!sizesC) im.bad("exactly one of scales and sizes must be given");
  if (scalesC) return resizeNode(im, spec, full([...floatsOf(scalesC, im)].map(f), new Array(r).fill(1), "scales"), undefined, roi);
  if (!sizesC!.i) im.bad("sizes must be int64");
  let sizes = full(sizesC!.i!, dims, "sizes");
  const policy = im.opset >= 18 ? im.string("keep_aspect_ratio_policy", "stretch") : "stretch";
  let scales: number[] | undefined;
  if (policy !== "stretch") {
    if (policy !== "not_larger" && policy !== "not_smaller") im.bad(`keep_aspect_ratio_policy '${policy}' is not stretch, not_larger or not_smaller`);
    // One scale for every given axis (the smallest or largest of theirs, in float32), and sizes
    // rounded from it, as onnxruntime computes them.
    const ratios = axes.map((a) => f(sizes[a] / dims[a]));
    const s = policy === "not_larger" ? Math.min(...ratios) : Math.max(...ratios);
    scales = dims.map((_, a) => (axes.includes(a) ? s : 1));
    sizes = dims.map((d, a) => (axes.includes(a) ? Math.round(f(s * d)) : d));
  }
  resizeNode(im, spec, scales, sizes, roi);
}

/**
 * Emits the resize for per-axis scales and/or sizes of the model's rank: the two spatial axes of
 * NCHW (the usual case), or of NHWC held in the model's own layout (axes 1 and 2 with N and C kept).
 */
function resizeNode(
  im: Importer, spec: Omit<ResizeSpec, "roi" | "size" | "scales">, scales: number[] | undefined, sizes: number[] | undefined, roi: number[] | undefined,
): void {
  const x = im.required(0);
  const dims = x.dims;
  const r = dims.length;
  if ((scales ?? sizes)!.length !== r) im.bad(`${scales ? "scales" : "sizes"} has ${(scales ?? sizes)!.length} values for an input of rank ${r}`);
  if (scales?.some((s) => !(s > 0))) im.bad(`scales must be positive, got [${scales.join(", ")}]`);
  if (sizes?.some((s) => !Number.isSafeInteger(s) || s < 1)) im.bad(`sizes must be positive integers, got [${sizes.join(", ")}]`);
  const out = dims.map((d, a) => axisSize(d, sizes?.[a], scales?.[a], `${im.node.opType} node '${im.node.name || im.node.outputs[0]}'`).out);
  const kept = (a: number) => out[a] === dims[a] && (scales === undefined || scales[a] === 1) && (!roi || (roi[a] === 0 && roi[r + a] === 1));
  if (r !== 4) im.fail(`only 4-d inputs are resized (got [${dims.join(", ")}])`);
  // Which two axes are H and W: NCHW, or a tensor the model holds as NHWC (tf2onnx without transposes).
  const nchw = kept(0) && kept(1);
  const nhwc = !nchw && kept(0) && kept(3) && x.kind === "value" && x.layout === "plain";
  if (!nchw && !nhwc) {
    im.fail(`resizing the batch or channel axis is not supported (input [${dims.join(", ")}] to [${out.join(", ")}]); only the two spatial axes of NCHW (or NHWC) are resized`);
  }
  const [ah, aw] = nchw ? [2, 3] : [1, 2];
  const full: ResizeSpec = {
    ...spec,
    roi: roi ? [roi[ah], roi[aw], roi[r + ah], roi[r + aw]] : [0, 0, 1, 1],
    size: [out[ah], out[aw]],
    scales: scales ? [scales[ah], scales[aw]] : undefined,
  };
  if (nchw) {
    const xv = im.nhwc(x);
    const y = im.value(nhwcShape(out));
    im.emit({ op: "resize", x: xv, y, spec: full });
    return im.setOutput({ kind: "value", v: y, layout: "nhwc", dims: out });
  }
  const y = im.value([...out]);
  im.emit({ op: "resize", x: im.plain(x), y, spec: full });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: out });
}

/** ArgMax, or with min ArgMin. */
export function argmax(im: Importer, min = false): void {
  const x = im.required(0);
  const r = x.dims.length;
  const axis = normAxis(im.int("axis", 0), r, im);
  const keep = im.int("keepdims", 1) !== 0;
  const last = im.opset >= 12 && im.int("select_last_index", 0) !== 0;
  const outDims = keep ? x.dims.map((d, i) => (i === axis ? 1 : d)) : x.dims.filter((_, i) => i !== axis);
  const v = r === 4 && axis === 1
    ? im.nhwc(x)
    : axis === r - 1
      ? im.plain(x)
      : im.fail(`only the channel axis of a 4-d tensor or the last axis is supported (axis ${axis} of [${x.dims.join(", ")}])`);
  const cols = x.dims[axis];
  const rows = sizeOfShape(x.dims) / cols;
  const f = im.value([rows]);
  im.emit({ op: "argmax", x: v, y: f, rows, cols, last, min });
  // The kernel writes indices as floats (the eager API's tensors are float32); ONNX's are int64.
  const y = im.value([rows], "arena", undefined, undefined, "i32");
  im.emit({ op: "cast", x: f, y, kind: "f32_i32" });
  // One index per pixel: NHWC with one channel is NCHW's order too.
  im.setOutput({ kind: "value", v: im.alias(y, outDims.length ? outDims : [1]), layout: "plain", dims: outDims });
}
