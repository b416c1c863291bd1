// The Winograd F(2x2, 3x3) path of conv2d (assembly/winograd.ts, src/ops/winograd.ts) against the
// float64 definition of the convolution, over a grid with remainders in every dimension: H and W
// odd and even (partial 2x2 tiles), Cin and Cout off multiples of 4 and 8 (the vector and panel
// tails), batch, padding of every kind, bias, a fused residual and the activations; both builds
// bit-identical, guard words around the output untouched, 1 and 2 threads bit-identical.
//
// The error bound is derived in test/winograd-reference.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, init } from "../src/node.js";
import { Conv2d } from "../src/ops/conv2d.js";
import { winogradFits } from "../src/ops/winograd.js";
import type { Runtime } from "../src/runtime/runtime.js";
import { BACKENDS, type BackendName, compare, compareBits, engines, roundRobin } from "./grid.js";
import { type Act, type PaddingSpec, Rng, outSize, padsFor } from "./reference.js";
import { winogradRef } from "./winograd-reference.js";

interface Case {
  id: number;
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  padding: PaddingSpec;
  activation: Act;
  bias: boolean;
  residual: boolean;
}

const HW = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 16, 17];
// The op is built with Winograd forced (the engine takes it only from the crossover on), so the
// kernel meets every remainder of Cin and Cout mod 4 and 8 (Cin = 1 is the single-channel path's).
const CIN = [2, 3, 5, 8, 9, 10, 11, 12, 13, 14, 16, 17, 31, 33];
const COUT = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 24, 33, 40];
const ACTS: Act[] = ["none", "relu", "relu6", { clip: [-0.25, 0.5] }, { leakyRelu: 0.1 }, "sigmoid", "tanh"];
const PADS: PaddingSpec[] = ["same", "valid", [1, 1, 1, 1], [0, 2, 1, 0], [2, 0, 0, 1], [1, 0, 2, 2]];

function makeCases(): Case[] {
  const cases: Case[] = [];
  for (let j = 0; cases.length < 120; j++) {
    const c: Case = {
      id: j,
      n: roundRobin([1, 2, 3], j, 1),
      h: roundRobin(HW, j, 5, 1),
      w: roundRobin(HW, j, 7, 3),
      cin: roundRobin(CIN, j, 3),
      cout: roundRobin(COUT, Math.floor(j / 2), 5, j % 2),
      padding: roundRobin(PADS, j, 1),
      activation: roundRobin(ACTS, j, 3, 1),
      bias: j % 3 !== 0,
      residual: j % 4 === 1,
    };
    const [pt, pl, pb, pr] = padsFor(c.padding, c.h, c.w, 3, 3, 1, 1, 1, 1);
    if (outSize(c.h, 3, 1, 1, pt, pb) > 0 && outSize(c.w, 3, 1, 1, pl, pr) > 0) cases.push(c);
  }
  return cases;
}

const CASES = makeCases();

interface Data {
  x: Float32Array;
  wt: Float32Array;
  bias: Float32Array | undefined;
  r: Float32Array | undefined;
}

function dataFor(c: Case, oh: number, ow: number): Data {
  const rng = new Rng(0x3a7 + c.id);
  return {
    x: rng.f32(c.n * c.h * c.w * c.cin),
    wt: rng.f32(c.cout * 9 * c.cin),
    bias: c.bias ? rng.f32(c.cout) : undefined,
    r: c.residual ? rng.f32(c.n * oh * ow * c.cout) : undefined,
  };
}

const GUARD = 16;
const SENTINEL = 0x7fc0dead;

function rtOf(e: Engine): Runtime {
  return (e as unknown as { rt: Runtime }).rt;
}

/** Runs the case through the prepared op's bind/exec (the graph's route, residual included) into a guarded output. */
function run(e: Engine, c: Case, d: Data, shape: number[]): { y: Float32Array; problems: string[] } {
  const rt = rtOf(e);
  const before = rt.heap.bytesInUse;
  const wT = rt.fromArray(d.wt, [c.cout, 3, 3, c.cin]);
  const op = new Conv2d(rt, wT, { padding: c.padding, activation: c.activation, bias: d.bias }, "nhwc", true);
  const problems: string[] = [];
  if ((op as unknown as { path: string }).path !== "winograd") problems.push("the op did not take the Winograd path");
  const x = rt.fromArray(d.x, [c.n, c.h, c.w, c.cin]);
  const r = d.r ? rt.fromArray(d.r, shape) : undefined;
  const size = shape.reduce((p, q) => p * q, 1);
  op.bind(r ? [x.shape, r.shape] : [x.shape]);
  const yp = rt.heap.alloc((size + 2 * GUARD) * 4);
  const words = () => new Uint32Array(rt.heap.memory.buffer, yp, size + 2 * GUARD);
  words().fill(SENTINEL);
  op.exec(r ? [x.ptr, r.ptr] : [x.ptr], yp + GUARD * 4);
  const all = words().slice();
  if ([...all.subarray(0, GUARD), ...all.subarray(GUARD + size)].some((v) => v !== SENTINEL)) problems.push("a guard word was written");
  const y = new Float32Array(all.buffer, GUARD * 4, size).slice();
  if (new Uint32Array(y.buffer).some((v) => v === SENTINEL)) problems.push("an output was never written");
  rt.heap.release(yp);
  for (const t of [x, wT, r]) t?.dispose();
  op.dispose();
  if (rt.heap.bytesInUse !== before) problems.push("memory held after dispose");
  return { y, problems };
}

function label(c: Case): string {
  const pad = typeof c.padding === "string" ? c.padding : `[${c.padding.join(",")}]`;
  return `#${c.id} x[${c.n},${c.h},${c.w},${c.cin}] cout ${c.cout} pad ${pad} act ${JSON.stringify(c.activation)}`
    + `${c.bias ? " bias" : ""}${c.residual ? " residual" : ""}`;
}

let E: Record<BackendName, Engine>;
let threaded: Engine;
beforeAll(async () => {
  E = await engines();
  threaded = await init({ backend: "simd", threads: 2 });
});
afterAll(() => threaded?.dispose());

describe("winograd grid coverage", () => {
  it("covers every H, W, Cin, Cout, padding and activation, odd and even output sizes, bias and residual", () => {
    const seen = (f: (c: Case) => unknown) => new Set(CASES.map((c) => JSON.stringify(f(c))));
    for (const s of HW) expect(seen((c) => c.h).has(String(s)) && seen((c) => c.w).has(String(s)), `H, W = ${s}`).toBe(true);
    for (let r = 0; r < 8; r++) {
      expect(CASES.some((c) => c.cin % 8 === r), `Cin = ${r} mod 8`).toBe(true);
      expect(CASES.some((c) => c.cout % 8 === r), `Cout = ${r} mod 8`).toBe(true);
    }
    for (const p of PADS) expect(seen((c) => c.padding).has(JSON.stringify(p)), `padding ${JSON.stringify(p)}`).toBe(true);
    for (const a of ACTS) expect(seen((c) => c.activation).has(JSON.stringify(a)), `activation ${JSON.stringify(a)}`).toBe(true);
    expect(seen((c) => c.n).size).toBe(3);
    expect(CASES.some((c) => c.residual) && CASES.some((c) => c.bias) && CASES.some((c) => !c.bias)).toBe(true);
  });
});

/** Runs the case on both builds, checks each against the reference's bound and the two bits alike; returns the SIMD output. */
function bothBuilds(c: Case, d: ReturnType<typeof dataFor>, ref: ReturnType<typeof winogradRef>): Float32Array {
  const got: Partial<Record<BackendName, Float32Array>> = {};
  for (const b of BACKENDS) {
    const { y, problems } = run(E[b], c, d, ref.shape);
    expect(problems, b).toEqual([]);
    expect(compare(y, ref.value, (i) => ref.bound[i], b)).toBe("");
    got[b] = y;
  }
  expect(compareBits(got.simd!, got.scalar!)).toBe("");
  return got.simd!;
}

describe("conv2d Winograd F(2x2, 3x3): both builds against the float64 reference, bit-identical", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const [pt, pl, pb, pr] = padsFor(c.padding, c.h, c.w, 3, 3, 1, 1, 1, 1);
    const d = dataFor(c, outSize(c.h, 3, 1, 1, pt, pb), outSize(c.w, 3, 1, 1, pl, pr));
    const ref = winogradRef(d.x, d.wt, d.bias, d.r, { ...c, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], groups: 1 });
    const simd = bothBuilds(c, d, ref);
    const { y, problems } = run(threaded, c, d, ref.shape);
    expect(problems).toEqual([]);
    expect(compareBits(y, simd, "2 threads vs 1")).toBe("");
  });
});

describe("conv2d Winograd: when the engine takes it", () => {
  it("3x3, stride 1, no dilation, one group, and channel counts past the crossover (winogradFits)", () => {
    const rt = rtOf(E.simd);
    const pathOf = (cin: number, cout: number, opts: object = {}) => {
      const wT = rt.fromArray(new Float32Array(cout * 9 * cin), [cout, 3, 3, cin]);
      const op = new Conv2d(rt, wT, opts);
      const path = (op as unknown as { path: string }).path;
      op.dispose();
      wT.dispose();
      return path;
    };
    for (const [cin, cout] of [[1, 16], [3, 64], [8, 8], [8, 16], [8, 32], [16, 16], [64, 64], [64, 2], [128, 3]]) {
      expect(pathOf(cin, cout), `${cin} -> ${cout}`).toBe(winogradFits([3, 3], [1, 1], [1, 1], 1, cin, cout) ? "winograd" : cin === 1 ? "singleChannel" : "igemm");
    }
    expect(pathOf(16, 16)).toBe("winograd");
    expect(pathOf(8, 16)).toBe("igemm");
    expect(pathOf(16, 16, { strides: 2 })).toBe("igemm");
    expect(pathOf(16, 16, { dilations: 2 })).toBe("igemm");
  });
});

describe("conv2d Winograd: the scratch blocks tiles", () => {
  it("a 64x64x64 -> 64 layer (several blocks per thread) matches the float64 reference in both builds", () => {
    const c: Case = { id: 9999, n: 1, h: 64, w: 63, cin: 64, cout: 40, padding: "same", activation: "relu", bias: true, residual: false };
    const d = dataFor(c, 64, 63);
    const ref = winogradRef(d.x, d.wt, d.bias, d.r, { ...c, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], groups: 1 });
    const simd = bothBuilds(c, d, ref);
    // Split across two threads (enough work for the runtime to split it), each with its own scratch.
    const two = run(threaded, c, d, ref.shape);
    expect(two.problems).toEqual([]);
    expect(compareBits(two.y, simd, "2 threads vs 1")).toBe("");
  });
});
