// Integer tensors at run time and the ops that make and read them (comparisons, logic, Where, Cast,
// Gather with computed indices, GatherElements, TopK, NonMaxSuppression) as single-op ONNX models,
// and chained as detection heads chain them, in both builds (fused and not) against
// onnxruntime-web. Every result compared here is exact: a comparison, a selection, a moved
// element, an index, or a cast whose rounding both runtimes do by the IEEE rules; so the
// tolerance is 0, except after a convolution (its sums run in another order than onnxruntime's:
// |err| <= 1e-6 + 1e-5 |ort|). Shapes have odd sizes on every axis (remainders of the kernels'
// 4-lane loops).
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, UnsupportedError } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { engines, type BackendName } from "./grid.js";
import { EXACT, type Feed, Net, type Tol, checkCase } from "./networks.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const { BOOL, INT64, INT32, FLOAT } = DataType;

interface Case {
  name: string;
  opset?: number;
  /** Input shapes, with the range their random values are drawn from ([-1, 1) by default). */
  inputs: Record<string, { dims: number[]; lo?: number; hi?: number; integral?: boolean; pool?: number[] }>;
  /** EXACT unless the graph convolves. */
  tol?: Tol;
  /** Builds the graph; returns its outputs with their element types. */
  build: (n: Net) => { name: string; elemType?: number }[];
}

function data(rng: Rng, spec: Case["inputs"][string]): Float32Array {
  const { dims, lo = -1, hi = 1, integral, pool } = spec;
  const a = new Float32Array(prod(dims));
  for (let i = 0; i < a.length; i++) {
    if (pool) a[i] = rng.pick(pool);
    else a[i] = integral ? rng.int(lo, hi) : rng.uniform(lo, hi);
  }
  return a;
}

async function check(c: Case, seed: number): Promise<void> {
  const rng = new Rng(7000 + seed);
  const n = new Net(rng);
  const outs = c.build(n);
  const bytes = n.model({
    opset: c.opset ?? 13,
    inputs: Object.entries(c.inputs).map(([name, s]) => ({ name, shape: s.dims })),
    outputs: outs.map((o) => ({ name: o.name, ...(o.elemType ? { elemType: o.elemType } : {}) })),
  });
  const feeds: Record<string, Feed> = Object.fromEntries(Object.entries(c.inputs).map(([name, s]) => [name, { data: data(rng, s), dims: s.dims }]));
  const r = await checkCase(E, { name: c.name, bytes, feeds: [feeds], tol: c.tol ?? EXACT });
  expect(r.problems, c.name).toEqual([]);
}

const CONV: Tol = { atol: 1e-6, rtol: 1e-5 };

/** The last node's first output renamed to `name`. */
function out(n: Net, value: string, name = "y", elemType?: number): { name: string; elemType?: number }[] {
  n.output(value, name);
  return [{ name, elemType }];
}

const cast = (n: Net, x: string, to: number) => n.op("Cast", [x], { to });
const X = [3, 5, 7];

const CMP = ["Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual"];
/** Second operands: same shape, scalar, a vector over the last axis, a general broadcast, and a first operand that broadcasts. */
const SHAPES: [number[], number[]][] = [[X, X], [X, []], [X, [7]], [X, [5, 1]], [[7], X], [[3, 1, 7], [5, 1]]];

const CASES: Case[] = [
  ...CMP.flatMap((op) => SHAPES.map(([a, b]): Case => ({
    name: `${op} float [${a}] vs [${b}]`,
    inputs: { a: { dims: a, pool: [-1, 0, 0.5, 2] }, b: { dims: b, pool: [-1, 0, 0.5, 2] } },
    build: (n) => out(n, n.op(op, ["a", "b"]), "y", BOOL),
  }))),
  ...CMP.map((op): Case => ({
    name: `${op} int64 (cast inputs) [${X}] vs [7]`,
    inputs: { a: { dims: X, lo: -3, hi: 3, integral: true }, b: { dims: [7], lo: -3, hi: 3, integral: true } },
    build: (n) => out(n, n.op(op, [cast(n, "a", INT64), cast(n, "b", INT64)]), "y", BOOL),
  })),
  { name: "Equal against an int64 constant", inputs: { a: { dims: X, lo: -2, hi: 2, integral: true } }, build: (n) => out(n, n.op("Equal", [cast(n, "a", INT64), n.int64([], [1])]), "y", BOOL) },
  ...["And", "Or", "Xor"].flatMap((op) => [[X, X], [X, [7]], [X, [5, 1]]].map(([a, b]): Case => ({
    name: `${op} [${a}] [${b}]`,
    inputs: { a: { dims: a }, b: { dims: b } },
    build: (n) => out(n, n.op(op, [n.op("Greater", ["a", n.constant([], [0])]), n.op("Less", ["b", n.constant([], [0.3])])]), "y", BOOL),
  }))),
  { name: "Not", inputs: { a: { dims: X } }, build: (n) => out(n, n.op("Not", [n.op("Greater", ["a", n.constant([], [0])])]), "y", BOOL) },
  // Where: float and integer branches, every operand broadcast in turn.
  ...[[X, X, X], [X, [7], []], [[5, 1], X, [7]], [[7], [3, 1, 1], [5, 7]]].map(([c, a, b]): Case => ({
    name: `Where float [${c}] [${a}] [${b}]`,
    inputs: { c: { dims: c }, a: { dims: a }, b: { dims: b } },
    build: (n) => out(n, n.op("Where", [n.op("Greater", ["c", n.constant([], [0])]), "a", "b"])),
  })),
  {
    name: "Where int64 branches",
    inputs: { c: { dims: X }, a: { dims: X, lo: -9, hi: 9, integral: true }, b: { dims: [7], lo: -9, hi: 9, integral: true } },
    build: (n) => out(n, n.op("Where", [n.op("Less", ["c", n.constant([], [0])]), cast(n, "a", INT64), cast(n, "b", INT64)]), "y", INT64),
  },
  // Cast at run time.
  ...[[INT64, "int64"], [INT32, "int32"], [BOOL, "bool"]].map(([to, name]): Case => ({
    name: `Cast float -> ${name} (truncation toward zero, zeros, halves)`,
    inputs: { a: { dims: [3, 5, 9], pool: [-2.5, -1.5, -0.5, -0, 0, 0.5, 0.99, 1.5, 3.75, -100.25, 1e6] } },
    build: (n) => out(n, cast(n, "a", to as number), "y", to as number),
  })),
  { name: "Cast int64 -> float", inputs: { a: { dims: [3, 5, 9], lo: -1000, hi: 1000, integral: true } }, build: (n) => out(n, cast(n, cast(n, "a", INT64), FLOAT)) },
  { name: "Cast int32 -> bool -> float", inputs: { a: { dims: [3, 5, 9], lo: -2, hi: 2, integral: true } }, build: (n) => out(n, cast(n, cast(n, cast(n, "a", INT32), BOOL), FLOAT)) },
  { name: "Cast of a conv output to int64 (NHWC inside)", inputs: { x: { dims: [1, 3, 5, 7], lo: -4, hi: 4 } }, build: (n) => out(n, cast(n, n.conv("x", 3, 5, 3), INT64), "y", INT64) },
  // Gather with computed indices: every axis, negative indices, indices of rank 0 to 2.
  ...[0, 1, 2, -1].flatMap((axis) => [[4], [2, 3], []].map((idims): Case => {
    const d = X[axis < 0 ? axis + 3 : axis];
    return {
      name: `Gather axis ${axis} indices [${idims}] computed (negative included)`,
      inputs: { x: { dims: X }, i: { dims: idims, lo: -d, hi: d - 1, integral: true } },
      build: (n) => out(n, n.op("Gather", ["x", cast(n, "i", INT64)], { axis })),
    };
  })),
  { name: "Gather of int64 data by computed indices", inputs: { x: { dims: X, lo: -50, hi: 50, integral: true }, i: { dims: [6], lo: -5, hi: 4, integral: true } }, build: (n) => out(n, n.op("Gather", [cast(n, "x", INT64), cast(n, "i", INT64)], { axis: 1 }), "y", INT64) },
  { name: "Gather of a constant by computed indices", inputs: { i: { dims: [2, 5], lo: 0, hi: 6, integral: true } }, build: (n) => out(n, n.op("Gather", [n.random([7, 3]), cast(n, "i", INT64)])) },
  {
    name: "ArgMax -> Gather: the best class's row of a table",
    inputs: { x: { dims: [6, 9] } },
    build: (n) => out(n, n.op("Gather", [n.random([9, 4]), n.op("ArgMax", ["x"], { axis: 1, keepdims: 0 })])),
  },
  // GatherElements.
  ...[0, 1, 2, -1].map((axis): Case => {
    const a = axis < 0 ? axis + 3 : axis;
    const idims = X.map((d, i) => (i === a ? d + 2 : d));
    return {
      name: `GatherElements axis ${axis} (negative indices)`,
      inputs: { x: { dims: X }, i: { dims: idims, lo: -X[a], hi: X[a] - 1, integral: true } },
      build: (n) => out(n, n.op("GatherElements", ["x", cast(n, "i", INT64)], { axis })),
    };
  }),
  // GatherND: tuples of 1 to 3 values, batch_dims 0 and 1, negative indices.
  ...[
    { x: [4, 5, 3], i: [2, 1], b: 0 },
    { x: [4, 5, 3], i: [3, 2], b: 0 },
    { x: [4, 5, 3], i: [2, 2, 3], b: 0 },
    { x: [3, 5, 7], i: [3, 4, 1], b: 1 },
    { x: [3, 5, 7], i: [3, 2], b: 1 },
  ].map(({ x, i, b }): Case => ({
    name: `GatherND data [${x}] indices [${i}] batch_dims ${b}`,
    inputs: { x: { dims: x }, i: { dims: i, lo: -3, hi: 2, integral: true } },
    build: (n) => out(n, n.op("GatherND", ["x", cast(n, "i", INT64)], { batch_dims: b })),
  })),
  // ScatterND: constant indices (distinct; negative ones) and computed ones, float and int64 data.
  { name: "ScatterND rows, negative indices", inputs: { x: { dims: [4, 5, 3] }, u: { dims: [2, 5, 3] } }, build: (n) => out(n, n.op("ScatterND", ["x", n.int64([2, 1], [-1, 1]), "u"])) },
  { name: "ScatterND pairs", inputs: { x: { dims: [4, 5, 3] }, u: { dims: [3, 3] } }, build: (n) => out(n, n.op("ScatterND", ["x", n.int64([3, 2], [0, 4, 3, -5, 1, 2]), "u"])) },
  { name: "ScatterND elements of int64 data", inputs: { x: { dims: [4, 5, 3], lo: -9, hi: 9, integral: true }, u: { dims: [2, 2], lo: 10, hi: 20, integral: true } }, build: (n) => out(n, n.op("ScatterND", [cast(n, "x", INT64), n.int64([2, 2, 3], [0, 0, 0, 3, 4, 2, 1, 2, 1, -1, -1, -1]), cast(n, "u", INT64)]), "y", INT64) },
  {
    name: "ScatterND at the TopK positions",
    opset: 13,
    inputs: { s: { dims: [11] }, u: { dims: [4] } },
    build: (n) => {
      n.op("TopK", ["s", n.int64([1], [4])], {}, "topk", ["v", "i"]);
      return out(n, n.op("ScatterND", ["s", n.op("Unsqueeze", ["i", n.int64([1], [1])]), "u"]));
    },
  },
  // TopK: values and indices, largest and smallest, ties, every axis.
  ...[
    { axis: 1, k: 4, largest: 1, dims: [3, 9, 7] },
    { axis: -1, k: 7, largest: 0, dims: [3, 9, 7] },
    { axis: 0, k: 2, largest: 1, dims: [5, 3] },
    { axis: 1, k: 13, largest: 1, dims: [2, 13] },
    { axis: 1, k: 1, largest: 0, dims: [2, 37, 1] },
  ].flatMap(({ axis, k, largest, dims }) => [false, true].map((ties): Case => ({
    name: `TopK axis ${axis} k ${k} ${largest ? "largest" : "smallest"} of [${dims}]${ties ? " with ties" : ""}`,
    opset: 11,
    inputs: { x: { dims, ...(ties ? { pool: [-1, 0, 0.25, 3] } : {}) } },
    build: (n) => {
      n.op("TopK", ["x", n.int64([1], [k])], { axis, largest }, "topk", ["v", "i"]);
      return [{ name: "v" }, { name: "i", elemType: INT64 }];
    },
  }))),
  {
    name: "TopK opset 10 (K input, largest) and opset 1 (k attribute)",
    opset: 10,
    inputs: { x: { dims: [4, 11] } },
    build: (n) => {
      n.op("TopK", ["x", n.int64([1], [5])], {}, "topk", ["v", "i"]);
      return [{ name: "v" }, { name: "i", elemType: INT64 }];
    },
  },
  {
    name: "TopK -> Gather: the boxes of the best anchors",
    inputs: { s: { dims: [1, 17] }, b: { dims: [17, 4] } },
    build: (n) => {
      n.op("TopK", ["s", n.int64([1], [6])], { axis: 1 }, "topk", ["v", "i"]);
      return out(n, n.op("Gather", ["b", n.op("Squeeze", ["i", n.int64([1], [0])])]));
    },
  },
  // Einsum in matrix-product patterns (sums in another order than onnxruntime's: CONV's bound).
  ...[
    { eq: "ij,jk->ik", a: [3, 5], b: [5, 7] },
    { eq: "bij,bjk->bik", a: [2, 3, 5], b: [2, 5, 4] },
    { eq: "bhqd,bhkd->bhqk", a: [2, 3, 5, 4], b: [2, 3, 6, 4] },
    { eq: "ik,jk->ij", a: [3, 5], b: [7, 5] },
    { eq: "ij,jk", a: [3, 5], b: [5, 2] },
    { eq: "...ij,...jk->...ik", a: [2, 3, 4], b: [2, 4, 5] },
    { eq: "bij,jk->bki", a: [2, 3, 5], b: [5, 7] },
    { eq: "ij->ji", a: [3, 5] },
  ].map(({ eq, a, b }): Case => ({
    name: `Einsum '${eq}'`,
    opset: 12,
    tol: CONV,
    inputs: b ? { a: { dims: a }, b: { dims: b } } : { a: { dims: a } },
    build: (n) => out(n, n.op("Einsum", b ? ["a", "b"] : ["a"], { equation: eq })),
  })),
  { name: "Einsum with a constant right operand (a dense layer)", opset: 12, tol: CONV, inputs: { a: { dims: [2, 3, 5] } }, build: (n) => out(n, n.op("Einsum", ["a", n.random([5, 7])], { equation: "bij,jk->bik" })) },
  // Shape building and data movement.
  {
    name: "ConstantOfShape (float value) added to an input",
    inputs: { x: { dims: X } },
    build: (n) => out(n, n.op("Add", ["x", n.op("ConstantOfShape", [n.int64([3], X)], { value: { dims: [1], data: Float32Array.of(0.5) } })])),
  },
  {
    name: "ConstantOfShape (int64 value) compared with a cast input",
    inputs: { x: { dims: X, lo: -2, hi: 2, integral: true } },
    build: (n) => out(n, n.op("Equal", [cast(n, "x", INT64), n.op("ConstantOfShape", [n.int64([3], X)], { value: { dims: [1], data: [1], dataType: INT64 } })]), "y", BOOL),
  },
  { name: "Range (float) added over the last axis", inputs: { x: { dims: X } }, build: (n) => out(n, n.op("Add", ["x", n.op("Range", [n.constant([], [0]), n.constant([], [3.5]), n.constant([], [0.5])])])) },
  { name: "Range (int64) as Gather indices", inputs: { x: { dims: X } }, build: (n) => out(n, n.op("Gather", ["x", n.op("Range", [n.int64([], [4]), n.int64([], [-1]), n.int64([], [-2])])], { axis: 2 })) },
  { name: "Expand [3, 1, 7] to [2, 3, 5, 7]", inputs: { x: { dims: [3, 1, 7] } }, build: (n) => out(n, n.op("Expand", ["x", n.int64([4], [2, 3, 5, 7])])) },
  { name: "Expand of int64 values (bidirectional)", inputs: { x: { dims: [5, 1], lo: -9, hi: 9, integral: true } }, build: (n) => out(n, n.op("Expand", [cast(n, "x", INT64), n.int64([2], [1, 3])]), "y", INT64) },
  { name: "Tile [2, 3, 5] by [2, 1, 3]", inputs: { x: { dims: [2, 3, 5] } }, build: (n) => out(n, n.op("Tile", ["x", n.int64([3], [2, 1, 3])])) },
  { name: "Tile of a conv output", tol: CONV, inputs: { x: { dims: [1, 3, 5, 7] } }, build: (n) => out(n, n.op("Tile", [n.conv("x", 3, 4, 3), n.int64([4], [2, 1, 1, 2])])) },
  ...[
    { name: "Split opset 13 sizes input, axis 1", opset: 13, dims: [3, 10, 7], build: (n: Net) => ["x", n.int64([2], [3, 7])], attrs: { axis: 1 }, outs: 2 },
    { name: "Split opset 11 split attribute, axis -1", opset: 11, dims: [3, 5, 9], build: () => ["x"], attrs: { axis: -1, split: [2, 4, 3] }, outs: 3 },
    { name: "Split equal parts, axis 0", opset: 13, dims: [6, 5], build: () => ["x"], attrs: {}, outs: 3 },
    { name: "Split opset 18 num_outputs, uneven", opset: 18, dims: [3, 10], build: () => ["x"], attrs: { axis: 1, num_outputs: 3 }, outs: 3 },
    { name: "Split of a conv output's channels (NHWC)", opset: 13, dims: [1, 3, 5, 7], build: (n: Net) => [n.conv("x", 3, 9, 3), n.int64([3], [2, 3, 4])], attrs: { axis: 1 }, outs: 3 },
  ].map((s): Case => ({
    name: s.name,
    opset: s.opset,
    tol: s.name.includes("conv") ? CONV : EXACT,
    inputs: { x: { dims: s.dims } },
    build: (n) => {
      const names = Array.from({ length: s.outs }, (_, k) => `y${k}`);
      n.op("Split", s.build(n), s.attrs, "split", names);
      return names.map((name) => ({ name }));
    },
  })),
  ...(["DCR", "CRD"] as const).flatMap((mode) => [false, true].map((conv): Case => ({
    name: `DepthToSpace ${mode} blocksize 2 of ${conv ? "a conv output (NHWC)" : "an input"}`,
    tol: conv ? CONV : EXACT,
    inputs: { x: { dims: [2, conv ? 3 : 12, 3, 5] } },
    build: (n) => out(n, n.op("DepthToSpace", [conv ? n.conv("x", 3, 12, 3, { pads: [1, 1, 1, 1] }) : "x"], { blocksize: 2, mode })),
  }))),
  { name: "DepthToSpace blocksize 3, one output channel", inputs: { x: { dims: [1, 9, 2, 3] } }, build: (n) => out(n, n.op("DepthToSpace", ["x"], { blocksize: 3 })) },
  ...[false, true].map((conv): Case => ({
    name: `SpaceToDepth blocksize 2 of ${conv ? "a conv output (NHWC)" : "an input"}`,
    tol: conv ? CONV : EXACT,
    inputs: { x: { dims: [2, 3, 6, 10] } },
    build: (n) => out(n, n.op("SpaceToDepth", [conv ? n.conv("x", 3, 5, 3, { pads: [1, 1, 1, 1] }) : "x"], { blocksize: 2 })),
  })),
];

interface NmsCase {
  name: string;
  b: number;
  c: number;
  n: number;
  center: boolean;
  maxOut?: number;
  iou?: number;
  score?: number;
}

const NMS: NmsCase[] = [
  { name: "one class, corners", b: 1, c: 1, n: 23, center: false, maxOut: 10, iou: 0.5 },
  { name: "three classes, two batches, score threshold", b: 2, c: 3, n: 19, center: false, maxOut: 5, iou: 0.3, score: 0.4 },
  { name: "centre boxes", b: 1, c: 2, n: 31, center: true, maxOut: 31, iou: 0.45, score: 0.1 },
  { name: "iou 0 (any overlap suppresses), no score threshold", b: 1, c: 2, n: 17, center: false, maxOut: 100, iou: 0 },
  { name: "max_output_boxes_per_class absent (0 boxes)", b: 1, c: 1, n: 9, center: false },
  { name: "a threshold no box passes", b: 1, c: 2, n: 9, center: false, maxOut: 3, iou: 0.5, score: 2 },
];

/** Boxes with overlaps: corners drawn around a few centres (either corner first), or centre boxes. */
function boxes(rng: Rng, c: NmsCase): Float32Array {
  const a = new Float32Array(c.b * c.n * 4);
  const centres = [[0.3, 0.3], [0.6, 0.5], [0.4, 0.8]];
  for (let i = 0; i < c.b * c.n; i++) {
    const [cy, cx] = rng.pick(centres);
    const y = cy + rng.uniform(-0.08, 0.08);
    const x = cx + rng.uniform(-0.08, 0.08);
    const h = rng.uniform(0.05, 0.3);
    const w = rng.uniform(0.05, 0.3);
    const box = c.center ? [x, y, w, h] : rng.bool(0.5) ? [y - h / 2, x - w / 2, y + h / 2, x + w / 2] : [y + h / 2, x + w / 2, y - h / 2, x - w / 2];
    a.set(box, i * 4);
  }
  return a;
}

async function checkNms(c: NmsCase, seed: number): Promise<void> {
  const rng = new Rng(8000 + seed);
  const n = new Net(rng);
  const inputs = ["boxes", "scores", c.maxOut === undefined ? "" : n.int64([1], [c.maxOut]), c.iou === undefined ? "" : n.constant([1], [c.iou]), c.score === undefined ? "" : n.constant([1], [c.score])];
  while (inputs[inputs.length - 1] === "") inputs.pop();
  n.op("NonMaxSuppression", inputs, { center_point_box: c.center ? 1 : 0 }, "nms", ["y"]);
  const bytes = n.model({
    opset: 11,
    inputs: [{ name: "boxes", shape: [c.b, c.n, 4] }, { name: "scores", shape: [c.b, c.c, c.n] }],
    outputs: [{ name: "y", elemType: INT64 }],
  });
  // Scores from a few values, so that ties (lower box first) occur.
  const scores = Float32Array.from({ length: c.b * c.c * c.n }, () => (rng.bool(0.3) ? rng.pick([0.5, 0.75]) : rng.uniform(0, 1)));
  const feeds = { boxes: { data: boxes(rng, c), dims: [c.b, c.n, 4] }, scores: { data: scores, dims: [c.b, c.c, c.n] } };
  const r = await checkCase(E, { name: c.name, bytes, feeds: [feeds], tol: EXACT });
  expect(r.problems, c.name).toEqual([]);
}

describe("integer tensors and the ops on them against onnxruntime-web", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_n, c, i) => {
    await check(c, i);
  });

  it.each(NMS.map((c, i) => [c.name, c, i] as const))("NonMaxSuppression: %s", async (_n, c, i) => {
    await checkNms(c, i);
  });
});

describe("integer tensors: what the graph refuses", () => {
  it("a float-only op reading an integer tensor is an UnsupportedError naming the node", async () => {
    const n = new Net(new Rng(1));
    n.output(n.op("Relu", [cast(n, "x", INT64)]));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [2, 3] }], outputs: [{ name: "y", elemType: INT64 }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(UnsupportedError);
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/Relu node .* reads the integer tensor/);
  });

  it("an int64 constant outside int32 read at run time is refused, naming the value", async () => {
    const n = new Net(new Rng(2));
    n.output(n.op("Equal", [cast(n, "x", INT64), n.int64([2], [1, 2 ** 40])]));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [3, 2] }], outputs: [{ name: "y", elemType: BOOL }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/holds 1099511627776, outside int32/);
  });

  it("Einsum outside the matrix-product patterns is an UnsupportedError saying which", async () => {
    for (const [eq, shapes, why] of [["ii->i", [[3, 3]], /repeats a label/], ["ij,jk->i", [[3, 4], [4, 5]], /summed within one operand/], ["ij->i", [[3, 4]], /only permutations/]] as const) {
      const n = new Net(new Rng(4));
      const names = shapes.map((_, i) => `x${i}`);
      n.output(n.op("Einsum", names, { equation: eq }));
      const bytes = n.model({ opset: 12, inputs: shapes.map((s, i) => ({ name: names[i], shape: [...s] })), outputs: [{ name: "y" }] });
      await expect(E.simd.loadOnnx(bytes), eq).rejects.toThrow(UnsupportedError);
      await expect(E.simd.loadOnnx(bytes), eq).rejects.toThrow(why);
    }
  });

  it("an op that would read NonMaxSuppression's padding rows as data is refused", async () => {
    for (const [op, attrs, extra] of [["Concat", { axis: 0 }, true], ["Shape", {}, false], ["Transpose", { perm: [1, 0] }, false]] as const) {
      const n = new Net(new Rng(5));
      const sel = n.op("NonMaxSuppression", ["boxes", "scores", n.int64([1], [3]), n.constant([1], [0.5])]);
      n.output(n.op(op, extra ? [sel, sel] : [sel], attrs));
      const bytes = n.model({ opset: 13, inputs: [{ name: "boxes", shape: [1, 5, 4] }, { name: "scores", shape: [1, 1, 5] }], outputs: [{ name: "y", elemType: INT64 }] });
      await expect(E.simd.loadOnnx(bytes), op).rejects.toThrow(/whose number of rows only the run knows/);
    }
  });

  it("runToTensors refuses integer and data-dependent outputs; run returns Int32Array copies", async () => {
    const n = new Net(new Rng(3));
    n.output(n.op("ArgMax", ["x"], { axis: 1 }));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [2, 5] }], outputs: [{ name: "y", elemType: INT64 }] });
    const model = await E.simd.loadOnnx(bytes);
    const y = model.run({ x: Float32Array.of(0, 3, 1, 2, 0, 9, 1, 1, 1, 1) }).y;
    expect(y).toBeInstanceOf(Int32Array);
    expect([...y]).toEqual([1, 0]);
    const y2 = model.run({ x: Float32Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0, 7) }).y;
    expect([...y2]).toEqual([0, 4]);
    // Copies, not views of the engine's memory: the second run leaves the first result alone.
    expect([...y]).toEqual([1, 0]);
    expect(y2.buffer).not.toBe(y.buffer);
    expect(() => model.runToTensors({ x: new Float32Array(10) })).toThrow(UnsupportedError);
    model.dispose();
  });
});
