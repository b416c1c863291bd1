// NonZero as ONNX models against onnxruntime-web, in both builds (fused and not), bit identity
// between the builds: float inputs with zeros of both signs and NaN, int64 and bool inputs, every
// rank from 1 to 4, an input without any non-zero element and one without zeros, a constant input
// (folded at load), and the shape the model reports ([rank, count], known only after the run);
// then the ops that read a run-time NonZero result.
// Indices are exact: tolerance 0.
import { beforeAll, describe, expect, it } from "vitest";
import { type Engine, UnsupportedError } from "../src/index.js";
import { DataType } from "../src/onnx/model.js";
import { engines, type BackendName } from "./grid.js";
import { EXACT, Net, checkCase } from "./networks.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const { INT64, FLOAT } = DataType;

interface Case {
  name: string;
  dims: number[];
  /** The values the input is drawn from. */
  pool: number[];
  /** How the input reaches NonZero. */
  as: "float" | "int64" | "bool";
}

const POOL = [0, -0, 0, 1.5, -2, Number.NaN, 1e-40];
const CASES: Case[] = [
  ...[[7], [3, 5], [2, 3, 4], [2, 1, 3, 5], [1, 1]].map((dims): Case => ({ name: `float [${dims}]`, dims, pool: POOL, as: "float" })),
  { name: "int64 [4, 6]", dims: [4, 6], pool: [0, 0, 3, -7], as: "int64" },
  { name: "bool [3, 2, 5]", dims: [3, 2, 5], pool: [0, 1, 2], as: "bool" },
  { name: "no non-zero element [3, 4]", dims: [3, 4], pool: [0, -0], as: "float" },
  { name: "no zero [2, 5]", dims: [2, 5], pool: [1, -3], as: "float" },
];

async function check(c: Case, seed: number): Promise<void> {
  const rng = new Rng(9300 + seed);
  const n = new Net(rng);
  const x = c.as === "float" ? "x" : c.as === "int64" ? n.op("Cast", ["x"], { to: INT64 }) : n.op("Greater", ["x", n.constant([], [0.5])]);
  n.output(n.op("NonZero", [x]));
  const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: c.dims }], outputs: [{ name: "y", elemType: INT64 }] });
  const data = Float32Array.from({ length: prod(c.dims) }, () => rng.pick(c.pool));
  const r = await checkCase(E, { name: c.name, bytes, feeds: [{ x: { data, dims: c.dims } }], tol: EXACT });
  expect(r.problems, c.name).toEqual([]);
  // The shape: [rank, count], count from the data.
  const count = data.filter((v) => (c.as === "bool" ? v > 0.5 : c.as === "int64" ? Math.trunc(v) !== 0 : v !== 0)).length;
  const model = await E.simd.loadOnnx(bytes);
  const y = model.run({ x: data }).y;
  expect(model.outputShapes.y).toEqual([c.dims.length, count]);
  expect(y.length).toBe(c.dims.length * count);
  model.dispose();
}

describe("NonZero against onnxruntime-web", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_n, c, i) => {
    await check(c, i);
  });

  it("folds a constant input at load: the result feeds other ops", async () => {
    const rng = new Rng(9400);
    const n = new Net(rng);
    const nz = n.op("NonZero", [n.constant([2, 3], [0, 1.5, 0, -2, 0, 7])]);
    n.output(n.op("Add", ["x", n.op("Cast", [nz], { to: FLOAT })]));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [2, 3] }], outputs: [{ name: "y" }] });
    const data = rng.f32(6);
    const r = await checkCase(E, { name: "constant NonZero", bytes, feeds: [{ x: { data, dims: [2, 3] } }], tol: EXACT });
    expect(r.problems).toEqual([]);
  });

  it("a reader that mixes a NonZero result's columns is an UnsupportedError saying why", async () => {
    const n = new Net(new Rng(9401));
    n.output(n.op("ReduceSum", [n.op("Cast", [n.op("NonZero", ["x"])], { to: FLOAT })], { keepdims: 0 }));
    const bytes = n.model({ opset: 11, inputs: [{ name: "x", shape: [3, 4] }], outputs: [{ name: "y" }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(UnsupportedError);
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/NonZero result whose number of columns only the run knows: it may only be read by Transpose/);
  });

  it("Shape of a NonZero result (its column count is the run's) is an UnsupportedError", async () => {
    const n = new Net(new Rng(9402));
    n.output(n.op("Shape", [n.op("Transpose", [n.op("NonZero", ["x"])], { perm: [1, 0] })]));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [3, 4] }], outputs: [{ name: "y", elemType: INT64 }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(UnsupportedError);
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/whose number of rows only the run knows/);
  });
});

// The usual readers of NonZero (a boolean mask's positions): x[mask] as NonZero -> Transpose ->
// GatherND, rows picked by one axis's positions as NonZero -> Gather -> Gather, and the transposed
// positions themselves. Against onnxruntime-web with tolerance 0 (indices and gathered values are
// copies), and the shape the model reports from the run's count.
describe("NonZero's readers against onnxruntime-web", () => {
  const DIMS: number[][] = [[7], [3, 5], [2, 3, 4], [4, 1, 2, 3]];
  const mask = (n: Net, x: string) => n.op("Greater", [x, n.constant([], [0.25])]);
  const feeds = (rng: Rng, dims: number[], density: number) => {
    const data = Float32Array.from({ length: prod(dims) }, () => (rng.next() < density ? 0.5 + rng.next() : -rng.next()));
    return { data, dims, count: data.filter((v) => v > 0.25).length };
  };

  async function expectOrt(name: string, bytes: Uint8Array, dims: number[], shape: (count: number) => number[], seed: number): Promise<void> {
    const rng = new Rng(seed);
    // Some, none and every element selected.
    const runs = [feeds(rng, dims, 0.4), feeds(rng, dims, 0), feeds(rng, dims, 1)];
    const r = await checkCase(E, { name, bytes, feeds: runs.map(({ data }) => ({ x: { data, dims } })), tol: EXACT });
    expect(r.problems, name).toEqual([]);
    const model = await E.simd.loadOnnx(bytes);
    for (const run of runs) {
      const y = model.run({ x: run.data }).y;
      expect(model.outputShapes.y, `${name}: ${run.count} selected`).toEqual(shape(run.count));
      expect(y.length).toBe(prod(shape(run.count)));
    }
    model.dispose();
  }

  it.each(DIMS.map((d, i) => [`[${d}]`, d, i] as const))("x[x > 0.25] as NonZero -> Transpose -> GatherND, x %s", async (_n, dims, i) => {
    const n = new Net(new Rng(9500 + i));
    const at = n.op("Transpose", [n.op("NonZero", [mask(n, "x")])], { perm: [1, 0] });
    n.output(n.op("GatherND", ["x", at]));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y" }] });
    await expectOrt("NonZero -> Transpose -> GatherND", bytes, dims, (c) => [c], 9600 + i);
  });

  it.each(DIMS.filter((d) => d.length > 1).map((d, i) => [`[${d}]`, d, i] as const))("the positions as [count, rank] with their int64 type (NonZero -> Transpose), x %s", async (_n, dims, i) => {
    const n = new Net(new Rng(9700 + i));
    n.output(n.op("Transpose", [n.op("NonZero", [mask(n, "x")])], { perm: [1, 0] }));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y", elemType: INT64 }] });
    await expectOrt("NonZero -> Transpose", bytes, dims, (c) => [c, dims.length], 9800 + i);
  });

  it("rows of a table picked where a row of x is positive (NonZero -> Gather -> Gather), and the positions cast to float", async () => {
    const dims = [3, 5];
    const n = new Net(new Rng(9900));
    const nz = n.op("NonZero", [mask(n, "x")]);
    const cols = n.op("Gather", [nz, n.int64([], [1])], { axis: 0 });
    const table = n.constant([5, 4], new Rng(9901).f32(20));
    n.output(n.op("Gather", [table, cols], { axis: 0 }));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y" }] });
    await expectOrt("NonZero -> Gather -> Gather", bytes, dims, (c) => [c, 4], 9902);

    const m = new Net(new Rng(9903));
    const rows = m.op("Gather", [m.op("NonZero", [mask(m, "x")]), m.int64([2], [1, 0])], { axis: 0 });
    m.output(m.op("Cast", [rows], { to: FLOAT }));
    const cast = m.model({ opset: 13, inputs: [{ name: "x", shape: dims }], outputs: [{ name: "y" }] });
    await expectOrt("NonZero -> Gather rows -> Cast", cast, dims, (c) => [2, c], 9904);
  });

  it("Gather of counted indices along another axis is refused: its rows would not be the count's", async () => {
    const n = new Net(new Rng(9905));
    const at = n.op("Transpose", [n.op("NonZero", [mask(n, "x")])], { perm: [1, 0] });
    n.output(n.op("Gather", [n.constant([2, 6], new Rng(1).f32(12)), n.op("Gather", [at, n.int64([], [1])], { axis: 1 })], { axis: 1 }));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [3, 6] }], outputs: [{ name: "y" }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/whose number of rows only the run knows/);
  });
});
