// NonZero as ONNX models against onnxruntime-web, in both builds (fused and not), bit identity
// between the builds: float inputs with zeros of both signs and NaN, int64 and bool inputs, every
// rank from 1 to 4, an input without any non-zero element and one without zeros, a constant input
// (folded at load), and the shape the model reports ([rank, count], known only after the run).
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

  it("an op reading a run-time NonZero result is an UnsupportedError saying why", async () => {
    const n = new Net(new Rng(9401));
    n.output(n.op("Transpose", [n.op("NonZero", ["x"])], { perm: [1, 0] }));
    const bytes = n.model({ opset: 13, inputs: [{ name: "x", shape: [3, 4] }], outputs: [{ name: "y", elemType: INT64 }] });
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(UnsupportedError);
    await expect(E.simd.loadOnnx(bytes)).rejects.toThrow(/NonZero result whose number of columns only the run knows/);
  });
});
