// engine.argmax over the last axis against an exact reference (an index is exact or wrong): ties
// (first or, with selectLastIndex, last), NaN (never wins; all NaN gives 0), infinities, signed
// zeros, channel counts 1..40 (the SIMD build's lanes and its remainder), keepDims; both builds
// identical; guard bytes; errors.
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine } from "../src/index.js";
import { BACKENDS, compareBits, compareExact, engines, type BackendName } from "./grid.js";
import { allocBytes, fillSentinel, ptrOf, rangeOf, snapshot, strayWrites } from "./memory.js";
import { Rng, prod } from "./reference.js";

function argmaxRef(data: Float32Array, cols: number, last: boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / cols; r++) {
    let at = -1;
    for (let j = 0; j < cols; j++) {
      const v = data[r * cols + j];
      if (Number.isNaN(v)) continue;
      const b = at < 0 ? NaN : data[r * cols + at];
      if (at < 0 || v > b || (v === b && last)) at = j;
    }
    out.push(Math.max(at, 0));
  }
  return out;
}

/** Rows drawn from few values (ties), with NaN, infinities and signed zeros mixed in. */
function rowsOf(rng: Rng, rows: number, cols: number, kind: number): Float32Array {
  const a = new Float32Array(rows * cols);
  const pool = [-1, 0.5, 2, -0, 0, Infinity, -Infinity, NaN];
  for (let i = 0; i < a.length; i++) {
    if (kind === 0) a[i] = rng.uniform(-3, 3);
    else if (kind === 1) a[i] = rng.pick([1, 2, 3]);
    else if (kind === 2) a[i] = rng.pick(pool);
    else a[i] = rng.bool(0.7) ? NaN : rng.pick([-5, 5]);
  }
  if (kind === 3 && rows > 1) a.fill(NaN, 0, cols);
  return a;
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

const CASES: [string, number[], number, boolean][] = [];
for (let cols = 1; cols <= 40; cols++) {
  for (let kind = 0; kind < 4; kind++) {
    const shape = cols % 3 === 0 ? [2, 3, 5, cols] : cols % 3 === 1 ? [7, cols] : [cols];
    CASES.push([`[${shape}] kind ${kind} last ${cols % 2 === 1}`, shape, kind, cols % 2 === 1]);
  }
}

describe("argmax: both builds against the exact reference", () => {
  it.each(CASES)("%s", (_n, shape, kind, last) => {
    const cols = shape[shape.length - 1];
    const data = rowsOf(new Rng(shape.length * 100 + cols * 4 + kind), prod(shape) / cols, cols, kind);
    const got: Partial<Record<BackendName, Float32Array>> = {};
    for (const b of BACKENDS) {
      const e = E[b];
      const x = e.tensor(data, shape);
      for (const selectLastIndex of [false, true]) {
        const y = e.argmax(x, { selectLastIndex, keepDims: !last });
        expect([...y.shape]).toEqual(last && shape.length > 1 ? shape.slice(0, -1) : [...shape.slice(0, -1), 1]);
        const a = y.toArray();
        expect(compareExact(a, argmaxRef(data, cols, selectLastIndex), `${b} last=${selectLastIndex}`)).toBe("");
        if (selectLastIndex === last) got[b] = a;
        y.dispose();
      }
      x.dispose();
    }
    expect(compareBits(got.simd!, got.scalar!)).toBe("");
  });

  it("writes only its output", () => {
    for (const b of BACKENDS) {
      const e = E[b];
      const x = e.tensor(new Rng(3).f32(5 * 37), [5, 37]);
      const end = ptrOf(x) + allocBytes(x);
      fillSentinel(e, end, end + 4096);
      const before = snapshot(e);
      const y = e.argmax(x);
      expect(strayWrites(e, before, [rangeOf(y, "output")], [rangeOf(x, "input")])).toBe("");
      expect(y.toArray()).toEqual(Float32Array.from(argmaxRef(x.toArray(), 37, false)));
      x.dispose();
      y.dispose();
    }
  });

  it("rejects bad options", () => {
    const e = E.simd;
    const x = e.tensor(new Float32Array(4), [2, 2]);
    expect(() => e.argmax(x, { selectLastIndex: 1 as never })).toThrow(ArgumentError);
    expect(() => e.argmax(x, { axis: 1 } as never)).toThrow(/unknown option 'axis'/);
    x.dispose();
  });
});
