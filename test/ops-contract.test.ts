// The prepared ops the graph uses without an eager method (MatMul, StridedCopy) keep the same
// contract as the others: shapes checked before anything runs, use after dispose refused, fills
// run in the kernels; and kernel calls name their arguments, which reach the export in the order
// SIGNATURES states.
import { afterAll, describe, expect, it } from "vitest";
import { DisposedError, ShapeError } from "../src/errors.js";
import { type Engine, init } from "../src/node.js";
import { StridedCopy } from "../src/ops/copy.js";
import { MatMul } from "../src/ops/matmul.js";
import { SIGNATURES, positional } from "../src/runtime/kernels.js";
import type { Runtime } from "../src/runtime/runtime.js";

const engines: Engine[] = [];
async function runtime(): Promise<Runtime> {
  const e = await init({ backend: "simd" });
  engines.push(e);
  return (e as unknown as { rt: Runtime }).rt;
}
afterAll(() => {
  for (const e of engines) e.dispose();
});

describe("kernel calls by name", () => {
  it("reach the export in the order SIGNATURES gives, whatever order the call names them in", () => {
    const args = { p1: 6, p0: 5, kind: 4, y: 3, x: 2, n: 1 };
    expect(SIGNATURES.unary_f32).toEqual(["n", "x", "y", "kind", "p0", "p1"]);
    expect(positional({ fn: "unary_f32", args })).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe("MatMul", () => {
  it("refuses to run after dispose", async () => {
    const rt = await runtime();
    const op = new MatMul(rt);
    expect(op.bind([[1, 2, 3], [1, 3, 4]])).toEqual([1, 2, 4]);
    op.dispose();
    expect(() => op.bind([[1, 2, 3], [1, 3, 4]])).toThrow(DisposedError);
  });
});

describe("StridedCopy", () => {
  const rows = (n: number, offset = 0) => ({ sizes: [1, 1, 1, 1, 1, n], from: [0, 0, 0, 0, 0, 1], to: [0, 0, 0, 0, 0, 1], fromOffset: offset, toOffset: 0 });

  it("checks at bind that every copy stays inside its input and output", async () => {
    const rt = await runtime();
    expect(new StridedCopy(rt, [rows(6)], [2, 3]).bind([[6]])).toEqual([2, 3]);
    expect(() => new StridedCopy(rt, [rows(6, 1)], [2, 3]).bind([[6]])).toThrow(ShapeError);
    expect(() => new StridedCopy(rt, [rows(6)], [2, 3]).bind([[5]])).toThrow(/reads floats 0\.\.5 of an input \[5\]/);
    expect(() => new StridedCopy(rt, [rows(7)], [2, 3]).bind([[7]])).toThrow(/writes floats 0\.\.6 of an output \[2, 3\]/);
    const backwards = { sizes: [1, 1, 1, 1, 1, 3], from: [0, 0, 0, 0, 0, -1], to: [0, 0, 0, 0, 0, 1], fromOffset: 1, toOffset: 0 };
    expect(() => new StridedCopy(rt, [backwards], [3]).bind([[3]])).toThrow(/reads floats -1\.\.1/);
  });

  it("fills the output with its value before copying, and frees the value at dispose", async () => {
    const rt = await runtime();
    const before = rt.heap.bytesInUse;
    const op = new StridedCopy(rt, [{ ...rows(2), toOffset: 3 }], [7], -2.5);
    expect(op.bytes.weights).toBeGreaterThan(0);
    op.bind([[2]]);
    const x = rt.fromArray(new Float32Array([8, 9]), [2]);
    const y = rt.empty([7]);
    op.exec([x.ptr], y.ptr);
    expect(Array.from(y.toArray())).toEqual([-2.5, -2.5, -2.5, 8, 9, -2.5, -2.5]);
    x.dispose();
    y.dispose();
    op.dispose();
    expect(rt.heap.bytesInUse).toBe(before);
  });
});
