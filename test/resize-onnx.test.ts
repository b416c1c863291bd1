// Resize (opsets 10, 11, 13, 18, 19), Upsample (7, 9) and ArgMax as single-op ONNX models and in
// small U-Net-shaped graphs, loaded in both builds (with and without fusions) and compared with
// onnxruntime-web.
//
// Tolerances. Nearest only selects, and both runtimes compute the source index from the same
// float32 coordinate arithmetic: exact. Linear and cubic blend 4 or 16 inputs in [-1, 1] with
// weights that both runtimes round to float32 but multiply in different orders (onnxruntime:
// (dx * dy) * x summed over taps; simdcnn: dy * (sum of dx * x)): a few ulps of the largest tap,
// so |err| <= 1e-6 + 1e-4 |ort| (the brief's 1e-4 relative, with an absolute floor for outputs
// that cancel to near 0). Networks with convolutions use the same bound.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, UnsupportedError } from "../src/index.js";
import { engines, type BackendName } from "./grid.js";
import { EXACT, Net, type OrtCase, type Tol, checkCase, f32attr, feed } from "./networks.js";
import { floats } from "./onnx-builder.js";
import { DataType } from "../src/onnx/model.js";
import { Rng } from "./reference.js";

const BLEND: Tol = { atol: 1e-6, rtol: 1e-4 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

interface Case {
  name: string;
  opset: number;
  x: number[];
  build: (n: Net) => string;
  tol: Tol;
  /** ArgMax writes int64. */
  indices?: boolean;
}

const worst = new Map<string, number>();

async function run(c: Case, seed: number): Promise<void> {
  const rng = new Rng(500 + seed);
  const n = new Net(rng);
  n.output(c.build(n));
  const bytes = n.model({ opset: c.opset, inputs: [{ name: "x", shape: c.x }], outputs: [{ name: "y", ...(c.indices ? { elemType: DataType.INT64 } : {}) }] });
  const oc: OrtCase = { name: c.name, bytes, feeds: [{ x: feed(rng, c.x) }], tol: c.tol };
  const r = await checkCase(E, oc);
  worst.set(c.tol === EXACT ? "exact" : "blend", Math.max(worst.get(c.tol === EXACT ? "exact" : "blend") ?? 0, r.worst));
  expect(r.problems, c.name).toEqual([]);
}

/** An empty float tensor: the unused roi or scales of opsets 11-12. */
const empty = (n: Net) => n.constant([0], []);
const scales = (n: Net, s: number[]) => n.constant([s.length], s);
const sizes = (n: Net, s: number[]) => n.int64([s.length], s);
const viaConv = (n: Net, c = 4) => n.conv("x", c, c, 1);

const X = [2, 4, 7, 6];
const COORDS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"] as const;

const CASES: Case[] = [
  // Resize 10: scales input, asymmetric, onnxruntime's rounding (truncate up, round up down).
  { name: "Resize-10 nearest 2x", opset: 10, x: X, build: (n) => n.op("Resize", ["x", scales(n, [1, 1, 2, 2])]), tol: EXACT },
  { name: "Resize-10 nearest 0.6x", opset: 10, x: [1, 3, 10, 9], build: (n) => n.op("Resize", ["x", scales(n, [1, 1, 0.6, 0.6])]), tol: EXACT },
  { name: "Resize-10 linear 1.5x2.5", opset: 10, x: X, build: (n) => n.op("Resize", ["x", scales(n, [1, 1, 1.5, 2.5])], { mode: "linear" }), tol: BLEND },
  // Resize 11: roi, scales, sizes; every coordinate transformation and rounding.
  ...COORDS.flatMap((ct): Case[] => [
    { name: `Resize-11 linear ${ct} scales 1.7x0.6`, opset: 11, x: X, build: (n) => n.op("Resize", ["x", empty(n), scales(n, [1, 1, 1.7, 0.6])], { mode: "linear", coordinate_transformation_mode: ct }), tol: BLEND },
    { name: `Resize-11 nearest ${ct} sizes 13x4`, opset: 11, x: X, build: (n) => n.op("Resize", ["x", empty(n), empty(n), sizes(n, [2, 4, 13, 4])], { coordinate_transformation_mode: ct }), tol: EXACT },
  ]),
  ...(["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"] as const).flatMap((nm): Case[] => [
    { name: `Resize-11 nearest ${nm} half_pixel 2.5x`, opset: 11, x: X, build: (n) => n.op("Resize", ["x", empty(n), scales(n, [1, 1, 2.5, 2.5])], { nearest_mode: nm }), tol: EXACT },
    { name: `Resize-11 nearest ${nm} asymmetric 0.5x`, opset: 11, x: [1, 3, 9, 8], build: (n) => n.op("Resize", ["x", empty(n), scales(n, [1, 1, 0.5, 0.5])], { nearest_mode: nm, coordinate_transformation_mode: "asymmetric" }), tol: EXACT },
  ]),
  { name: "Resize-11 nearest tf_half_pixel_for_nn 1.5x", opset: 11, x: X, build: (n) => n.op("Resize", ["x", empty(n), scales(n, [1, 1, 1.5, 3])], { coordinate_transformation_mode: "tf_half_pixel_for_nn" }), tol: EXACT },
  {
    name: "Resize-11 linear tf_crop_and_resize with extrapolation", opset: 11, x: X,
    build: (n) => n.op("Resize", ["x", n.constant([8], [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3]), empty(n), sizes(n, [2, 4, 9, 8])], { mode: "linear", coordinate_transformation_mode: "tf_crop_and_resize", extrapolation_value: f32attr(-3) }),
    tol: BLEND,
  },
  {
    name: "Resize-11 nearest tf_crop_and_resize with extrapolation", opset: 11, x: X,
    build: (n) => n.op("Resize", ["x", n.constant([8], [0, 0, 0.3, -0.25, 1, 1, 1.2, 0.7]), empty(n), sizes(n, [2, 4, 5, 11])], { coordinate_transformation_mode: "tf_crop_and_resize", extrapolation_value: f32attr(2.5) }),
    tol: EXACT,
  },
  // Resize 13: optional inputs by empty names; cubic.
  { name: "Resize-13 nearest 2x after conv (NHWC)", opset: 13, x: X, build: (n) => n.op("Resize", [viaConv(n), "", scales(n, [1, 1, 2, 2])], { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" }), tol: BLEND },
  { name: "Resize-13 linear sizes after conv, align_corners", opset: 13, x: X, build: (n) => n.op("Resize", [viaConv(n), "", "", sizes(n, [2, 4, 15, 11])], { mode: "linear", coordinate_transformation_mode: "align_corners" }), tol: BLEND },
  { name: "Resize-13 cubic 2x", opset: 13, x: X, build: (n) => n.op("Resize", ["x", "", scales(n, [1, 1, 2, 2])], { mode: "cubic" }), tol: BLEND },
  { name: "Resize-13 cubic a=-0.5 exclude_outside 0.7x1.6", opset: 13, x: [1, 3, 10, 7], build: (n) => n.op("Resize", ["x", "", scales(n, [1, 1, 0.7, 1.6])], { mode: "cubic", cubic_coeff_a: f32attr(-0.5), exclude_outside: 1 }), tol: BLEND },
  { name: "Resize-13 cubic asymmetric sizes", opset: 13, x: X, build: (n) => n.op("Resize", ["x", "", "", sizes(n, [2, 4, 11, 9])], { mode: "cubic", coordinate_transformation_mode: "asymmetric" }), tol: BLEND },
  { name: "Resize-13 nearest on NHWC held as NHWC (scales 1,2,3,1)", opset: 13, x: [1, 5, 6, 3], build: (n) => n.op("Resize", ["x", "", scales(n, [1, 2, 3, 1])]), tol: EXACT },
  // Resize 18: axes, keep_aspect_ratio_policy.
  { name: "Resize-18 linear axes [2,3] scales", opset: 18, x: X, build: (n) => n.op("Resize", ["x", "", scales(n, [1.5, 0.5])], { mode: "linear", axes: [2, 3] }), tol: BLEND },
  { name: "Resize-18 nearest axes [-1,-2] sizes", opset: 18, x: X, build: (n) => n.op("Resize", ["x", "", "", sizes(n, [9, 3])], { axes: [-1, -2] }), tol: EXACT },
  { name: "Resize-18 linear sizes not_larger", opset: 18, x: X, build: (n) => n.op("Resize", ["x", "", "", sizes(n, [2, 4, 20, 9])], { mode: "linear", keep_aspect_ratio_policy: "not_larger" }), tol: BLEND },
  { name: "Resize-18 nearest sizes not_smaller axes", opset: 18, x: X, build: (n) => n.op("Resize", ["x", "", "", sizes(n, [10, 9])], { keep_aspect_ratio_policy: "not_smaller", axes: [2, 3] }), tol: EXACT },
  // Resize 19: half_pixel_symmetric.
  { name: "Resize-19 linear half_pixel_symmetric 1.7x", opset: 19, x: X, build: (n) => n.op("Resize", ["x", "", scales(n, [1, 1, 1.7, 1.7])], { mode: "linear", coordinate_transformation_mode: "half_pixel_symmetric" }), tol: BLEND },
  { name: "Resize-19 nearest half_pixel_symmetric 0.6x", opset: 19, x: [1, 3, 10, 9], build: (n) => n.op("Resize", ["x", "", scales(n, [1, 1, 0.6, 0.6])], { coordinate_transformation_mode: "half_pixel_symmetric" }), tol: EXACT },
  // Upsample.
  { name: "Upsample-7 nearest 2x3", opset: 7, x: X, build: (n) => n.op("Upsample", ["x"], { scales: floats([1, 1, 2, 3]) }), tol: EXACT },
  { name: "Upsample-7 linear 2x", opset: 7, x: X, build: (n) => n.op("Upsample", ["x"], { mode: "linear", scales: floats([1, 1, 2, 2]) }), tol: BLEND },
  { name: "Upsample-9 nearest 2x", opset: 9, x: X, build: (n) => n.op("Upsample", ["x", scales(n, [1, 1, 2, 2])]), tol: EXACT },
  { name: "Upsample-9 linear 1.5x after conv", opset: 9, x: X, build: (n) => n.op("Upsample", [viaConv(n), scales(n, [1, 1, 1.5, 2.5])], { mode: "linear" }), tol: BLEND },
  // PyTorch's opset-9 export of F.interpolate(size=...): scales computed from the input's Shape.
  {
    name: "Upsample-9 with scales from Shape -> Gather -> Cast -> Div -> Concat", opset: 9, x: X,
    build: (n) => {
      const hw = n.op("Cast", [n.op("Gather", [n.op("Shape", ["x"]), n.int64([2], [2, 3])])], { to: DataType.FLOAT });
      const s = n.op("Div", [n.op("Cast", [n.int64([2], [14, 18])], { to: DataType.FLOAT }), hw]);
      return n.op("Upsample", ["x", n.op("Concat", [n.constant([2], [1, 1]), s], { axis: 0 })], { mode: "linear" });
    },
    tol: BLEND,
  },
  // ArgMax.
  { name: "ArgMax axis 1 after conv+relu (ties), keepdims", opset: 13, x: X, build: (n) => n.op("ArgMax", [n.op("Relu", [viaConv(n)])], { axis: 1 }), tol: EXACT, indices: true },
  { name: "ArgMax axis 1 keepdims 0, select_last_index (ties)", opset: 13, x: X, build: (n) => n.op("ArgMax", [n.op("Relu", [viaConv(n)])], { axis: 1, keepdims: 0, select_last_index: 1 }), tol: EXACT, indices: true },
  { name: "ArgMax axis -1 on a plain tensor", opset: 11, x: [3, 5, 9], build: (n) => n.op("ArgMax", ["x"], { axis: -1 }), tol: EXACT, indices: true },
  { name: "ArgMax axis 1 of an NCHW input", opset: 13, x: [2, 5, 3, 4], build: (n) => n.op("ArgMax", ["x"], { axis: 1, keepdims: 0 }), tol: EXACT, indices: true },
];

describe("Resize, Upsample and ArgMax against onnxruntime-web", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_n, c, i) => run(c, i));
});

/**
 * A PyTorch-style U-Net: conv, pool, conv, upsample (Resize with constant scales, or with sizes
 * from Shape -> Slice -> Concat of the skip connection, as F.interpolate(size=skip.shape[2:])
 * exports), Concat of the skip along channels, conv, then a per-pixel Softmax over axis 1 and
 * ArgMax, or a Sigmoid for one class.
 */
function unet(n: Net, up: "scales" | "sizes" | "upsample", head: "softmax" | "argmax" | "sigmoid"): string {
  const e1 = n.op("Relu", [n.conv("x", 3, 8, 3, { pads: [1, 1, 1, 1] })]);
  const p1 = n.op("MaxPool", [e1], { kernel_shape: [2, 2], strides: [2, 2] });
  const e2 = n.op("Relu", [n.conv(p1, 8, 16, 3, { pads: [1, 1, 1, 1] })]);
  let u: string;
  if (up === "scales") u = n.op("Resize", [e2, "", scales(n, [1, 1, 2, 2])], { mode: "linear" });
  else if (up === "upsample") u = n.op("Upsample", [e2, scales(n, [1, 1, 2, 2])], { mode: "nearest" });
  else {
    const nc = n.op("Slice", [n.op("Shape", [e2]), n.int64([1], [0]), n.int64([1], [2])]);
    const hw = n.op("Slice", [n.op("Shape", [e1]), n.int64([1], [2]), n.int64([1], [4])]);
    u = n.op("Resize", [e2, "", "", n.op("Concat", [nc, hw], { axis: 0 })], { mode: "nearest" });
  }
  const cat = n.op("Concat", [u, e1], { axis: 1 });
  const d1 = n.op("Relu", [n.conv(cat, 24, 8, 3, { pads: [1, 1, 1, 1] })]);
  if (head === "sigmoid") return n.op("Sigmoid", [n.conv(d1, 8, 1, 1)]);
  const logits = n.conv(d1, 8, 3, 1);
  return head === "softmax" ? n.op("Softmax", [logits], { axis: 1 }) : n.op("ArgMax", [logits], { axis: 1, keepdims: 1 });
}

describe("U-Net-shaped graphs against onnxruntime-web", () => {
  const nets: [string, number, "scales" | "sizes" | "upsample", "softmax" | "argmax" | "sigmoid"][] = [
    ["Resize scales, Softmax axis 1", 13, "scales", "softmax"],
    ["Resize sizes from Shape/Slice/Concat, ArgMax", 13, "sizes", "argmax"],
    ["Upsample-9, Sigmoid", 9, "upsample", "sigmoid"],
  ];
  it.each(nets)("%s (opset %i)", async (name, opset, up, head) => {
    const n = new Net(new Rng(9));
    n.output(unet(n, up, head));
    const bytes = n.model({ opset, inputs: [{ name: "x", shape: [1, 3, 12, 10] }], outputs: [{ name: "y", ...(head === "argmax" ? { elemType: DataType.INT64 } : {}) }] });
    // An argmax of computed scores is exact only where no two classes are within rounding of
    // each other; the seed gives none.
    const r = await checkCase(E, { name, bytes, feeds: [{ x: feed(new Rng(10), [1, 3, 12, 10]) }], tol: head === "argmax" ? EXACT : BLEND });
    expect(r.problems).toEqual([]);
    // No layout conversion of an activation: every 4-d value stays NHWC from input to output.
    const transposes = r.summaries.fused.split("\n").filter((l) => l.startsWith("transpose"));
    expect(transposes.length, r.summaries.fused).toBeLessThanOrEqual(head === "softmax" ? 2 : 1);
  });
});

/**
 * A tf2onnx-style U-Net on an NHWC input: Transposes to NCHW around each convolution, and the
 * upsampling either on the NHWC tensor itself (scales [1, 2, 2, 1]) or between Transposes.
 */
function kerasUnet(n: Net, onNhwc: boolean): string {
  const toNchw = (t: string) => n.op("Transpose", [t], { perm: [0, 3, 1, 2] });
  const toNhwc = (t: string) => n.op("Transpose", [t], { perm: [0, 2, 3, 1] });
  const e1 = toNhwc(n.op("Relu", [n.conv(toNchw("x"), 3, 8, 3, { pads: [1, 1, 1, 1] })]));
  const p1 = toNhwc(n.op("MaxPool", [toNchw(e1)], { kernel_shape: [2, 2], strides: [2, 2] }));
  const e2 = toNhwc(n.op("Relu", [n.conv(toNchw(p1), 8, 8, 3, { pads: [1, 1, 1, 1] })]));
  const u = onNhwc
    ? n.op("Resize", [e2, "", scales(n, [1, 2, 2, 1])], { mode: "linear", coordinate_transformation_mode: "asymmetric" })
    : toNhwc(n.op("Resize", [toNchw(e2), "", scales(n, [1, 1, 2, 2])], { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" }));
  const cat = n.op("Concat", [u, e1], { axis: 3 });
  return n.op("Softmax", [toNhwc(n.conv(toNchw(cat), 16, 3, 1))], { axis: -1 });
}

describe("tf2onnx-style (NHWC) U-Nets against onnxruntime-web", () => {
  it.each([true, false])("resize on the NHWC tensor itself: %s", async (onNhwc) => {
    const n = new Net(new Rng(21));
    n.output(kerasUnet(n, onNhwc));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 12, 10, 3] }], outputs: [{ name: "y" }] });
    const r = await checkCase(E, { name: `keras unet ${onNhwc}`, bytes, feeds: [{ x: feed(new Rng(22), [1, 12, 10, 3]) }], tol: BLEND });
    expect(r.problems).toEqual([]);
    // The model's own Transposes cancel against the NHWC storage: no transpose runs.
    expect(r.summaries.fused.split("\n").filter((l) => l.startsWith("transpose")), r.summaries.fused).toEqual([]);
  });
});

describe("Resize errors", () => {
  const load = (nodes: (n: Net) => string, opset = 18, x = X) => {
    const n = new Net(new Rng(1));
    n.output(nodes(n));
    return E.simd.loadOnnx(n.model({ opset, inputs: [{ name: "x", shape: x }], outputs: [{ name: "y" }] }));
  };
  it("antialias, channel or batch resizing and other axes of ArgMax are UnsupportedError naming the node", async () => {
    await expect(load((n) => n.op("Resize", ["x", "", scales(n, [1, 1, 0.5, 0.5])], { mode: "linear", antialias: 1 }))).rejects.toThrow(/antialias/);
    await expect(load((n) => n.op("Resize", ["x", "", scales(n, [1, 2, 2, 2])]))).rejects.toThrow(UnsupportedError);
    await expect(load((n) => n.op("Resize", ["x", "", scales(n, [2, 1, 2, 1])]))).rejects.toThrow(/batch or channel/);
    await expect(load((n) => n.op("ArgMax", ["x"], { axis: 2 }))).rejects.toThrow(/channel axis/);
  });
  it("malformed attributes are ModelFormatError", async () => {
    await expect(load((n) => n.op("Resize", ["x", "", scales(n, [1, 1, 2, 2]), sizes(n, [2, 4, 9, 9])]))).rejects.toThrow(/exactly one of scales and sizes/);
    await expect(load((n) => n.op("Resize", ["x", "", scales(n, [1, 1, 2, 2])], { mode: "area" }))).rejects.toThrow(/mode 'area'/);
    await expect(load((n) => n.op("Resize", ["x", "", scales(n, [2, 2])], { axes: [2, 2] }))).rejects.toThrow(/repeat/);
    await expect(load((n) => n.op("Resize", ["x", "", scales(n, [1, 1, 2, 2])], { coordinate_transformation_mode: "tf_half_pixel_for_nn" }), 13)).rejects.toThrow(/coordinate_transformation_mode/);
    await expect(load((n) => n.op("Upsample", ["x", scales(n, [1, 1, 0.5, 0.5])]), 9)).rejects.toThrow(/>= 1/);
  });
});
