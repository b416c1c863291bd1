// ScatterND with a reduction (add and mul from opset 16, max and min from 18) as single-op ONNX
// models against onnxruntime-web, in both builds (fused and not), bit identity between the builds.
// Repeated index tuples accumulate in tuple order in both runtimes, and every result is either a
// moved element, an integer, or a float32 sum/product/comparison made in the same order, so the
// tolerance is 0. Data includes repeated and negative tuples, whole slices and single elements,
// float and int64 data, and indices computed at run time.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, ModelError } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { engines, type BackendName } from "./grid.js";
import { EXACT, type Feed, Net, checkCase } from "./networks.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const { INT64 } = DataType;
const REDUCTIONS = ["add", "mul", "max", "min"] as const;
const opsetOf = (r: (typeof REDUCTIONS)[number]) => (r === "add" || r === "mul" ? 16 : 18);

interface Case {
  name: string;
  reduction: (typeof REDUCTIONS)[number];
  x: number[];
  /** Index tuples (constant), or, with `computed`, fed as a float input and cast to int64. */
  idx: { dims: number[]; data: number[] };
  computed?: boolean;
  ints?: boolean;
}

// Tuples over the first axis (whole slices), pairs and full tuples (single elements); each list
// repeats at least one tuple, some through a negative index naming the same place.
const LAYOUTS: { x: number[]; idx: { dims: number[]; data: number[] } }[] = [
  { x: [5, 3, 7], idx: { dims: [4, 1], data: [1, 3, -4, 1] } },
  { x: [5, 3, 7], idx: { dims: [5, 2], data: [0, 2, 4, 0, 0, -1, 2, 1, 0, 2] } },
  { x: [4, 9], idx: { dims: [3, 2, 2], data: [0, 0, 3, 8, 0, 0, -4, -9, 2, 5, 3, 8] } },
];

const CASES: Case[] = REDUCTIONS.flatMap((reduction) => [
  ...LAYOUTS.map((l, i): Case => ({ name: `${reduction} float, layout ${i}`, reduction, ...l })),
  ...LAYOUTS.map((l, i): Case => ({ name: `${reduction} int64, layout ${i}`, reduction, ints: true, ...l })),
  { name: `${reduction} float, computed indices`, reduction, computed: true, ...LAYOUTS[1] },
]);

async function check(c: Case, seed: number): Promise<void> {
  const rng = new Rng(9100 + seed);
  const n = new Net(rng);
  const k = c.idx.dims[c.idx.dims.length - 1];
  const updDims = [...c.idx.dims.slice(0, -1), ...c.x.slice(k)];
  const idx = c.computed ? n.op("Cast", ["i"], { to: INT64 }) : n.int64(c.idx.dims, c.idx.data);
  const data = c.ints ? n.op("Cast", ["x"], { to: INT64 }) : "x";
  const upd = c.ints ? n.op("Cast", ["u"], { to: INT64 }) : "u";
  n.output(n.op("ScatterND", [data, idx, upd], { reduction: c.reduction }));
  const inputs = [{ name: "x", shape: c.x }, { name: "u", shape: updDims }, ...(c.computed ? [{ name: "i", shape: c.idx.dims }] : [])];
  const bytes = n.model({ opset: opsetOf(c.reduction), inputs, outputs: [{ name: "y", ...(c.ints ? { elemType: INT64 } : {}) }] });
  // Integers small enough that products of repeated updates stay exact in float32 and int32;
  // floats from a few values so that max and min meet ties, and signs so that mul changes them.
  const values = (count: number) => Float32Array.from({ length: count }, () => (c.ints ? rng.int(-5, 6) : rng.pick([-1.5, -0.25, 0, 0.5, 0.5, 2, 3.75]) + (rng.bool(0.5) ? rng.uniform(-1, 1) : 0)));
  const feeds: Record<string, Feed> = { x: { data: values(prod(c.x)), dims: c.x }, u: { data: values(prod(updDims)), dims: updDims } };
  if (c.computed) feeds.i = { data: Float32Array.from(c.idx.data), dims: c.idx.dims };
  const r = await checkCase(E, { name: c.name, bytes, feeds: [feeds], tol: EXACT });
  expect(r.problems, c.name).toEqual([]);
}

describe("ScatterND reductions against onnxruntime-web", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_n, c, i) => {
    await check(c, i);
  });

  it("an unknown reduction is a ModelError naming it and the ones expected", async () => {
    const n = new Net(new Rng(1));
    n.output(n.op("ScatterND", ["x", n.int64([1, 1], [0]), "u"], { reduction: "sum" }));
    const bytes = n.model({ opset: 18, inputs: [{ name: "x", shape: [3] }, { name: "u", shape: [1] }], outputs: [{ name: "y" }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(ModelError);
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/reduction 'sum': expected none, add, mul, max or min/);
  });
});
