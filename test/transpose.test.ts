// Transposes (src/ops/transpose.ts over transpose_f32_4x4, transpose_f32_rows and, for those that
// move only size-1 axes, strided_copy_f32): every permutation of ranks 2..6 over shapes whose sizes
// run through 1..9 (every remainder mod 4 of the 4x4 tiles, size-1 axes that the reduction drops,
// runs of every short length), 2-D tiles across the 64-float cache blocks, the 2- and 3-channel
// interleaves, runs up to and past memory.copy's threshold, and splits over two threads.
//
// Tolerance: none. A transpose only moves 32-bit words, so every output word must equal the input
// word the plain JS permutation below picks, bit for bit (inputs are random bit patterns, NaN
// payloads included), in both builds. Words around the output hold a sentinel that must survive,
// and the input must be unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, ShapeError, init, type Engine } from "../src/node.js";
import { Transpose, reducePermutation } from "../src/ops/transpose.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { BACKENDS, type BackendName, engines } from "./grid.js";
import { SENTINEL, memoryOf } from "./memory.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
let threaded: Engine;
beforeAll(async () => {
  E = await engines();
  threaded = await init({ threads: 2 });
});
afterAll(() => threaded?.dispose());

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;

function permutations(r: number): number[][] {
  if (r === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(r - 1)) {
    for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), r - 1, ...p.slice(i)]);
  }
  return out;
}

/** y[idx] = x[perm-applied idx], walked independently of the op's reduction. */
function permuteRef(x: Uint32Array, shape: number[], perm: number[]): Uint32Array {
  const r = shape.length;
  const xs = new Array<number>(r);
  for (let i = r - 1, acc = 1; i >= 0; i--) {
    xs[i] = acc;
    acc *= shape[i];
  }
  const ys = perm.map((p) => shape[p]);
  const y = new Uint32Array(x.length);
  const idx = new Array<number>(r).fill(0);
  for (let n = 0; n < y.length; n++) {
    let o = 0;
    for (let i = 0; i < r; i++) o += idx[i] * xs[perm[i]];
    y[n] = x[o];
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < ys[i]) break;
      idx[i] = 0;
    }
  }
  return y;
}

const GUARD = 16;

/** The first multiple of 64 at or after p. */
const line = (p: number) => Math.ceil(p / 64) * 64;

/**
 * Runs the prepared transpose on `e` into an output with GUARD sentinel words on each side;
 * returns the output's words, or a description of what went wrong around it. With `at`, x and y
 * start at.x and at.y bytes past a 64-byte cache line; otherwise where the allocator puts them.
 */
function runGuarded(e: Engine, data: Uint32Array, shape: number[], perm: number[], at?: { x: number; y: number }): { y: Uint32Array; problems: string[] } {
  const rt = rtOf(e);
  const n = data.length;
  const op = new Transpose(rt, shape, perm);
  const xa = rt.heap.alloc(n * 4 + 128);
  const ya = rt.heap.alloc((n + 2 * GUARD) * 4 + 128);
  const xp = at ? line(xa) + at.x : xa;
  const yp = at ? line(ya + GUARD * 4) + at.y - GUARD * 4 : ya;
  try {
    new Uint32Array(memoryOf(e).buffer, xp, n).set(data);
    new Uint32Array(memoryOf(e).buffer, yp, n + 2 * GUARD).fill(SENTINEL);
    op.exec([xp], yp + GUARD * 4);
    const all = new Uint32Array(memoryOf(e).buffer, yp, n + 2 * GUARD).slice();
    const problems: string[] = [];
    const guards = [...all.subarray(0, GUARD), ...all.subarray(GUARD + n)];
    if (guards.some((w) => w !== SENTINEL)) problems.push("a guard word around the output was written");
    const xNow = new Uint32Array(memoryOf(e).buffer, xp, n);
    if (xNow.some((w, i) => w !== data[i])) problems.push("the input changed");
    return { y: all.subarray(GUARD, GUARD + n), problems };
  } finally {
    rt.heap.release(xa);
    rt.heap.release(ya);
    op.dispose();
  }
}

function firstDiff(got: Uint32Array, ref: Uint32Array): string {
  let count = 0;
  let first = "";
  for (let i = 0; i < ref.length; i++) {
    if (got[i] !== ref[i]) {
      if (count < 3) first += `[${i}] 0x${got[i].toString(16)} expected 0x${ref[i].toString(16)}; `;
      count++;
    }
  }
  return count === 0 ? "" : `${count} of ${ref.length} words differ: ${first}`;
}

function randomWords(n: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  const w = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    w[i] = Math.floor(rng.next() * 2 ** 32);
    if (w[i] === SENTINEL) w[i] = 0;
  }
  return w;
}

/** Runs on both builds and checks bits against the reference and between builds. */
function check(shape: number[], perm: number[], seed: number, at?: { x: number; y: number }): void {
  const data = randomWords(prod(shape), seed);
  const ref = permuteRef(data, shape, perm);
  const got: Uint32Array[] = [];
  for (const b of BACKENDS) {
    const r = runGuarded(E[b], data, shape, perm, at);
    const label = `${b} [${shape.join(", ")}] perm [${perm.join(", ")}]${at ? ` x at ${at.x}, y at ${at.y} past a line` : ""}`;
    expect(r.problems, label).toEqual([]);
    expect(firstDiff(r.y, ref), label).toBe("");
    got.push(r.y);
  }
  expect(firstDiff(got[0], got[1]), "simd vs scalar").toBe("");
}

const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9];
// Sizes for rank r stay small enough for 720 permutations of rank 6 (product <= 9 * 7 * 5 * 4 * 3 * 2).
const SIZES_BY_RANK: Record<number, number[]> = { 2: SIZES, 3: SIZES, 4: SIZES, 5: [1, 2, 3, 5, 6, 7], 6: [1, 2, 3, 5] };

describe("every permutation of ranks 2..6, both builds bit-identical to a JS permutation, guards intact", () => {
  for (const r of [2, 3, 4, 5, 6]) {
    it(`rank ${r}`, () => {
      const sizes = SIZES_BY_RANK[r];
      const perms = permutations(r);
      const seen = new Set<number>();
      // Rank 2 takes every pair of sizes; higher ranks a few shapes per permutation, sizes assigned
      // round-robin so that each appears on each axis.
      const perPerm = r === 2 ? sizes.length ** 2 : r === 3 ? 12 : 2;
      perms.forEach((perm, n) => {
        for (let t = 0; t < perPerm; t++) {
          const k = n * perPerm + t;
          const shape = r === 2
            ? [sizes[t % sizes.length], sizes[Math.floor(t / sizes.length)]]
            : Array.from({ length: r }, (_, i) => sizes[(k * 5 + i * 3 + Math.floor(k / sizes.length)) % sizes.length]);
          shape.forEach((d) => seen.add(d));
          check(shape, perm, k);
        }
      });
      expect([...seen].sort((a, b) => a - b)).toEqual(sizes);
    });
  }
});

describe("2-D tiles across the cache blocks and the 2- and 3-channel paths", () => {
  const cases: [number[], number[]][] = [
    // NCHW <-> NHWC with rows / cols around the 64-float blocks and every remainder mod 4.
    ...[1, 2, 3, 4, 5, 7, 8, 13, 63, 64, 65, 67, 130].flatMap((c) => [
      [[2, c, 9, 15], [0, 2, 3, 1]],
      [[2, 9, 15, c], [0, 3, 1, 2]],
    ] as [number[], number[]][]),
    // Planes in strips of 16 (the planes' rows not a multiple of 4 KiB apart): channels around
    // whole strips, pixels with every remainder mod 4 along the strip's walk.
    ...[15, 16, 17, 31, 32, 33, 48].flatMap((c) => [[5, 5], [7, 10], [8, 8], [9, 15]].flatMap(([h, w]) => [
      [[1, c, h, w], [0, 2, 3, 1]],
      [[1, h, w, c], [0, 3, 1, 2]],
    ] as [number[], number[]][])),
    [[131, 129], [1, 0]],
    [[64, 256], [1, 0]],
    [[3, 130, 67], [1, 2, 0]],
    // Runs of the last axis moved whole: short runs (vectors, pairs, single words), and long
    // ones that go through memory.copy.
    ...[1, 2, 3, 4, 5, 8, 9, 255, 256, 300].flatMap((c) => [[[67, 3, c], [1, 0, 2]], [[3, 67, c], [1, 0, 2]]] as [number[], number[]][]),
    [[70, 66, 4], [1, 0, 2]],
    [[2, 3, 4, 5, 6], [3, 1, 0, 2, 4]],
    // Pixel shuffle (depth to space): 6-d with 2- and 3-float interleaves.
    [[1, 4, 2, 2, 9, 11], [0, 1, 4, 2, 5, 3]],
    [[2, 2, 3, 3, 5, 7], [0, 1, 4, 2, 5, 3]],
    [[1, 3, 2, 2, 6, 6], [0, 3, 4, 1, 5, 2]],
  ];
  it.each(cases.map(([s, p]) => [`[${s.join(", ")}] perm [${p.join(", ")}]`, s, p] as const))("%s", (_n, shape, perm) => {
    check([...shape], [...perm], prod(shape));
  });
});

describe("strips of planes from the pixels' cache lines, x and y at every 4-byte offset that matters within a line", () => {
  // Pixels of 16, 32, 48, 64 or 80 channels fill whole lines; 16-byte-aligned ones that do not
  // start a line put the strips' start after the first plane on a line and add the straddling
  // strip (the end of one pixel, the start of the next), with the two corners it leaves; pixels
  // of 24 channels and 4-byte-aligned tensors keep strips from plane 0. Pixels run with every
  // remainder mod 4, the batch is an outer loop, and H*W > C so that both ways walk strips.
  const offsets = [0, 4, 16, 32, 48];
  const cases: [number[], number[]][] = [16, 24, 32, 48, 64, 80].flatMap((c) => [[5, 7], [9, 15], [10, 13], [7, 19], [12, 12]].flatMap(([h, w]) => [
    [[2, c, h, w], [0, 2, 3, 1]],
    [[2, h, w, c], [0, 3, 1, 2]],
  ] as [number[], number[]][]));
  it.each(cases.map(([s, p]) => [`[${s.join(", ")}] perm [${p.join(", ")}]`, s, p] as const))("%s", (_n, shape, perm) => {
    for (const x of offsets) for (const y of offsets) check([...shape], [...perm], prod(shape) + x + 7 * y, { x, y });
  });
});

describe("the 2-D kernel on rows of x 4 KiB apart (its tiles then follow x's rows)", () => {
  // Through the op such rows come only with H*W a multiple of 1024, which leaves no remainder
  // along them; called directly, every remainder mod 8 and 4 and across the 64-float blocks shows.
  // y's rows have 3 words of gap after their `rows` words: the kernel must leave them alone.
  it.each([[13, 70], [6, 131], [71, 9], [64, 64], [9, 1]])("%i rows of %i columns", (rows, cols) => {
    const ldx = 1024;
    const ldy = rows + 3;
    const nx = rows * ldx;
    const ny = cols * ldy;
    const data = randomWords(nx, rows * cols);
    const ref = new Uint32Array(ny + 2 * GUARD).fill(SENTINEL);
    for (let i = 0; i < cols; i++) for (let j = 0; j < rows; j++) ref[GUARD + i * ldy + j] = data[j * ldx + i];
    for (const b of BACKENDS) {
      const rt = rtOf(E[b]);
      const xp = rt.heap.alloc(nx * 4);
      const yp = rt.heap.alloc((ny + 2 * GUARD) * 4);
      try {
        new Uint32Array(memoryOf(E[b]).buffer, xp, nx).set(data);
        new Uint32Array(memoryOf(E[b]).buffer, yp, ny + 2 * GUARD).fill(SENTINEL);
        const outer = { s0: 1, s1: 1, s2: 1, s3: 1, xs0: 0, xs1: 0, xs2: 0, xs3: 0, ys0: 0, ys1: 0, ys2: 0, ys3: 0 };
        rt.dispatch([{ fn: "transpose_f32_4x4", args: { rows, cols, x: xp, ldx, y: yp + GUARD * 4, ldy, ...outer } }], "transpose");
        expect(firstDiff(new Uint32Array(memoryOf(E[b]).buffer, yp, ny + 2 * GUARD), ref), b).toBe("");
      } finally {
        rt.heap.release(xp);
        rt.heap.release(yp);
      }
    }
  });
});

describe("the reduction", () => {
  it("makes a copy of permutations that move only size-1 axes", () => {
    expect(reducePermutation([1, 1, 256, 256], [0, 2, 3, 1]).kind).toBe("copy");
    expect(reducePermutation([1, 256, 256, 1], [0, 3, 1, 2]).kind).toBe("copy");
    expect(reducePermutation([5, 1, 7], [1, 0, 2]).kind).toBe("copy");
    expect(reducePermutation([2, 3, 4], [0, 1, 2]).kind).toBe("copy");
  });

  it("reduces NCHW -> NHWC to C rows of H*W columns, the batch outside", () => {
    expect(reducePermutation([2, 16, 32, 32], [0, 2, 3, 1])).toEqual({
      kind: "tiles", rows: 16, cols: 1024, inner: 1, ldx: 1024, ldy: 16, sizes: [2], xStrides: [16384], yStrides: [16384],
    });
    expect(reducePermutation([1, 32, 32, 16], [0, 3, 1, 2])).toMatchObject({ kind: "tiles", rows: 1024, cols: 16, ldx: 16, ldy: 1024, sizes: [] });
  });

  it("moves runs of the last axis whole when it stays last", () => {
    expect(reducePermutation([4, 5, 6, 7], [1, 0, 2, 3])).toEqual({
      kind: "tiles", rows: 4, cols: 5, inner: 42, ldx: 210, ldy: 168, sizes: [], xStrides: [], yStrides: [],
    });
    // y [5, 3, 2, 4, 6]: the pair is y's axis 3 (x's axis 2, 4 rows 30 apart in x) and x's axis 3
    // (5 columns, y's axis 0, 144 apart in y); y's axes 1 and 2 are the outer loops.
    expect(reducePermutation([2, 3, 4, 5, 6], [3, 1, 0, 2, 4])).toEqual({
      kind: "tiles", rows: 4, cols: 5, inner: 6, ldx: 30, ldy: 144, sizes: [3, 2], xStrides: [120, 360], yStrides: [48, 24],
    });
  });
});

describe("two threads", () => {
  it("split large transposes by columns or rows and give the same bits", () => {
    const rt = rtOf(threaded);
    const dispatch = rt.dispatch.bind(rt);
    let split = 0;
    rt.dispatch = (calls, what) => {
      if (calls.length > 1) split++;
      dispatch(calls, what);
    };
    const cases: [number[], number[]][] = [
      [[1, 16, 256, 256], [0, 2, 3, 1]], [[1, 256, 256, 16], [0, 3, 1, 2]],
      [[1, 3, 608, 608], [0, 2, 3, 1]], [[1, 608, 608, 3], [0, 3, 1, 2]],
      [[1, 512, 512, 4], [0, 2, 1, 3]],
      [[1, 64, 130, 130], [0, 2, 3, 1]], [[1, 130, 130, 64], [0, 3, 1, 2]],
    ];
    try {
      for (const [shape, perm] of cases) {
        const data = randomWords(prod(shape), 7);
        // Pixels of 64 channels off their lines: each thread's part has its own straddling strip.
        const at = shape.includes(64) ? { x: 16, y: 48 } : undefined;
        const r = runGuarded(threaded, data, shape, perm, at);
        expect(r.problems).toEqual([]);
        expect(firstDiff(r.y, permuteRef(data, shape, perm)), `[${shape.join(", ")}]`).toBe("");
      }
    } finally {
      rt.dispatch = dispatch;
    }
    expect(threaded.threads, threaded.threadsNote).toBe(2);
    expect(split).toBe(cases.length);
  });
});

describe("errors", () => {
  it("bad shapes and permutations, and in-place runs, are typed errors saying what was expected", () => {
    const rt = rtOf(E.simd);
    expect(() => new Transpose(rt, [2, 0, 3], [0, 1, 2])).toThrow(ShapeError);
    expect(() => new Transpose(rt, [1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 6])).toThrow(/1 to 6/);
    expect(() => new Transpose(rt, [2, 3], [0, 0])).toThrow(ArgumentError);
    expect(() => new Transpose(rt, [2, 3], [1, 0, 2])).toThrow(/each of the 2 axes/);
    const op = new Transpose(rt, [2, 3], [1, 0]);
    const x = E.simd.tensor(new Float32Array(6), [2, 3]);
    expect(() => op.run(E.simd.tensor(new Float32Array(6), [3, 2]))).toThrow(/prepared for \[2, 3\]/);
    const out = E.simd.tensor(new Float32Array(6), [3, 2]);
    expect(() => op.run(x, E.simd.tensor(new Float32Array(6), [2, 3]))).toThrow(ShapeError);
    const y = op.run(x, out);
    expect(y).toBe(out);
    const inPlace = new Transpose(rt, [2, 3], [0, 1]);
    expect(() => inPlace.run(x, x)).toThrow(/overlap/);
    op.dispose();
    expect(() => op.run(x)).toThrow(/after dispose/);
  });
});
