// conv2dTranspose (ONNX ConvTranspose) against the float64 reference written from the definition
// (test/reference.ts: a scatter over input pixels and taps, nothing of the engine's phases) over a
// generated grid, in both builds, bit identity between them, guard bytes around the output, and
// the typed errors. Kinds: groups = 1, grouped (2 or 3 groups), depthwise (groups = Cin, one or two
// output channels per group).
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, DisposedError, ShapeError, type ConvTranspose2dOptions, type Engine } from "../src/index.js";
import { ACTIVATIONS, API_MODES, BACKENDS, runInMode, activationRtol, compare, compareBits, dotBound, engines, roundRobin, TINY, type BackendName } from "./grid.js";
import { allocBytes, fillSentinel, memoryOf, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten } from "./memory.js";
import { type Act, type ConvTransposeParams, Rng, activationSlope, convTranspose2dRef, convTransposeGeometry, prod } from "./reference.js";

type Kind = "plain" | "grouped" | "depthwise";
const KINDS: Kind[] = ["plain", "grouped", "depthwise"];
const PER_KIND = 90;
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const KERNEL = [1, 2, 3, 4];
const STRIDES = [1, 2, 3];
const DILATIONS = [1, 2];
const OUTPUT_PADDING = [0, 1, 2];
const BATCH = [1, 2];
// Channels per group: every remainder mod 4 and mod 8, and more than one GEMM panel.
const CIN_G = [1, 3, 5, 7, 9, 13, 17, 8];
const COUT_G = [1, 2, 3, 5, 6, 7, 9, 11, 13, 16, 17];
const BIAS = ["none", "array", "tensor"] as const;
const API = API_MODES;

interface Case extends ConvTransposeParams {
  id: number;
  kind: Kind;
  bias: (typeof BIAS)[number];
  api: (typeof API)[number];
  activation: Act;
}

function makeGrid(): { cases: Case[]; empty: Case[] } {
  const cases: Case[] = [];
  const empty: Case[] = [];
  const rng = new Rng(0xdec0);
  for (let j = 0; j < PER_KIND; j++) {
    for (let ki = 0; ki < KINDS.length; ki++) {
      const kind = KINDS[ki];
      const cinG = kind === "depthwise" ? 1 : roundRobin(CIN_G, j, 3, ki);
      const coutG = kind === "depthwise" ? roundRobin([1, 2], j, 1, ki) : roundRobin(COUT_G, j, 5, ki);
      const groups = kind === "plain" ? 1 : kind === "grouped" ? roundRobin([2, 3], j, 1, ki) : roundRobin([2, 3, 5, 8, 9], j, 1, ki);
      const r = rng.next();
      const padding: Case["padding"] = r < 0.2 ? "valid" : r < 0.4 ? "same" : [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)];
      const c: Case = {
        id: cases.length + empty.length, kind, n: roundRobin(BATCH, j, 1, ki),
        h: roundRobin(SIZES, j, 2, ki), w: roundRobin(SIZES, j, 5, 2 * ki + 1),
        cin: cinG * groups, cout: coutG * groups, groups,
        kh: roundRobin(KERNEL, j, 1, ki), kw: roundRobin(KERNEL, Math.floor(j / 4), 1, ki + 1),
        strides: [roundRobin(STRIDES, j, 1, ki), roundRobin(STRIDES, Math.floor(j / 3), 1, ki)],
        dilations: [roundRobin(DILATIONS, Math.floor(j / 2), 1, ki), roundRobin(DILATIONS, j, 1, ki)],
        padding, outputPadding: [roundRobin(OUTPUT_PADDING, j, 1, ki + 1), roundRobin(OUTPUT_PADDING, Math.floor(j / 3), 2, ki)],
        activation: roundRobin(ACTIVATIONS, j, 3, ki) as Act,
        bias: roundRobin(BIAS, j, 1, ki), api: roundRobin(API, Math.floor(j / 3), 1, ki),
      };
      const { oh, ow } = convTransposeGeometry(c);
      (oh >= 1 && ow >= 1 ? cases : empty).push(c);
    }
  }
  return { cases, empty };
}

const { cases: CASES, empty: EMPTY } = makeGrid();

function label(c: Case): string {
  const pad = typeof c.padding === "string" ? c.padding : `[${c.padding.join(",")}]`;
  return `#${c.id} ${c.kind} x[${c.n},${c.h},${c.w},${c.cin}] w[${c.cin},${c.kh},${c.kw},${c.cout / c.groups}] g${c.groups} `
    + `s${c.strides.join("x")} d${c.dilations.join("x")} pad ${pad} op ${c.outputPadding.join("x")} act ${JSON.stringify(c.activation)} bias ${c.bias} ${c.api}`;
}

function dataFor(c: Case) {
  const rng = new Rng(7000 + c.id);
  return {
    x: rng.f32(c.n * c.h * c.w * c.cin),
    w: rng.f32(c.cin * c.kh * c.kw * (c.cout / c.groups)),
    bias: c.bias === "none" ? undefined : rng.f32(c.cout),
  };
}

function optionsOf(c: Case): ConvTranspose2dOptions {
  return { strides: c.strides, dilations: c.dilations, padding: c.padding, outputPadding: c.outputPadding, groups: c.groups, activation: c.activation };
}

function run(e: Engine, c: Case, d: ReturnType<typeof dataFor>, outShape: number[]): { y: Float32Array; shape: number[] } {
  const before = e.memoryBytes;
  const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
  const w = e.tensor(d.w, [c.cin, c.kh, c.kw, c.cout / c.groups]);
  const biasT = c.bias === "tensor" ? e.tensor(d.bias!, [c.cout]) : undefined;
  const opts = { ...optionsOf(c), bias: c.bias === "array" ? d.bias : biasT };
  const yT = runInMode(e, c.api, x, outShape, () => e.conv2dTranspose(x, w, opts), () => e.prepareConv2dTranspose(w, opts));
  const y = yT.toArray();
  const shape = [...yT.shape];
  for (const t of [x, w, biasT, yT]) t?.dispose();
  expect(e.memoryBytes, "memory held after disposing everything").toBe(before);
  return { y, shape };
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("conv2dTranspose grid coverage", () => {
  it("covers every kernel size, stride, dilation, output padding, padding kind, group kind, batch and activation", () => {
    const seen = (f: (c: Case) => unknown) => new Set(CASES.map((c) => JSON.stringify(f(c))));
    for (const k of KERNEL) {
      expect(seen((c) => c.kh).has(String(k)), `kh ${k}`).toBe(true);
      expect(seen((c) => c.kw).has(String(k)), `kw ${k}`).toBe(true);
    }
    for (const s of STRIDES) {
      expect(seen((c) => c.strides[0]).has(String(s)), `sh ${s}`).toBe(true);
      expect(seen((c) => c.strides[1]).has(String(s)), `sw ${s}`).toBe(true);
    }
    for (const d of DILATIONS) expect(seen((c) => c.dilations).has(JSON.stringify([d, d])), `dilations ${d}`).toBe(true);
    for (const o of OUTPUT_PADDING) expect(seen((c) => c.outputPadding[0]).has(String(o)), `output padding ${o}`).toBe(true);
    for (const b of BATCH) expect(seen((c) => c.n).has(String(b))).toBe(true);
    for (const s of SIZES) expect(seen((c) => c.h).has(String(s)) && seen((c) => c.w).has(String(s)), `size ${s}`).toBe(true);
    for (const ch of CIN_G) expect(CASES.some((c) => c.cin / c.groups === ch), `Cin/group ${ch}`).toBe(true);
    for (const ch of COUT_G) expect(CASES.some((c) => c.cout / c.groups === ch), `Cout/group ${ch}`).toBe(true);
    for (const a of ACTIVATIONS) expect(seen((c) => c.activation).has(JSON.stringify(a)), `activation ${JSON.stringify(a)}`).toBe(true);
    for (const k of KINDS) expect(CASES.filter((c) => c.kind === k).length).toBeGreaterThan(PER_KIND / 2);
    expect(CASES.some((c) => c.padding === "same")).toBe(true);
    expect(CASES.some((c) => c.padding === "valid")).toBe(true);
    expect(CASES.some((c) => Array.isArray(c.padding) && (c.padding[0] !== c.padding[2] || c.padding[1] !== c.padding[3]))).toBe(true);
    // A stride larger than the kernel's span leaves phases that no tap reaches: bias only.
    expect(CASES.some((c) => c.strides[0] > (c.kh - 1) * c.dilations[0] + 1)).toBe(true);
    expect(EMPTY.length).toBeGreaterThan(0);
  });

  it("the reference follows ONNX's output-size formula", () => {
    const base: ConvTransposeParams = {
      n: 1, h: 3, w: 4, cin: 1, cout: 1, kh: 3, kw: 2, strides: [2, 3], dilations: [1, 2], padding: [1, 0, 2, 1], outputPadding: [1, 0], groups: 1,
    };
    // stride * (in - 1) + output_padding + (k - 1) * d + 1 - pad_begin - pad_end
    expect(convTransposeGeometry(base)).toEqual({ oh: 2 * 2 + 1 + 3 - 3, ow: 3 * 3 + 0 + 3 - 1, pt: 1, pl: 0 });
    expect(convTransposeGeometry({ ...base, padding: "same" })).toEqual({ oh: 6, ow: 12, pt: 1, pl: 0 });
  });
});

describe.each(KINDS)("conv2dTranspose %s: both builds against the float64 reference, bit-identical", (kind) => {
  const cases = CASES.filter((c) => c.kind === kind);
  it.each(cases.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const d = dataFor(c);
    const ref = convTranspose2dRef(d.x, d.w, d.bias, c);
    // Each output adds at most cinG * kh * kw products to its bias.
    const k = c.kh * c.kw * (c.cin / c.groups);
    const slope = activationSlope(c.activation);
    const rtol = activationRtol(c.activation);
    const bound = (i: number) => dotBound(k, ref.mag[i], slope) + rtol * Math.abs(ref.value[i]) + TINY;
    const got: Partial<Record<BackendName, Float32Array>> = {};
    for (const b of BACKENDS) {
      const { y, shape } = run(E[b], c, d, ref.shape);
      expect(shape, `${b} output shape`).toEqual(ref.shape);
      expect(compare(y, ref.value, bound, b)).toBe("");
      got[b] = y;
    }
    expect(compareBits(got.simd!, got.scalar!)).toBe("");
  });
});

describe("conv2dTranspose memory", () => {
  const GUARD = 8;
  // Every 7th case: all three kinds (the grid interleaves them), all of their variants.
  const guardCases = CASES.filter((_, i) => i % 7 === 0);
  /** The allocator's live allocations (src/runtime/heap.ts): start -> size. */
  const used = (e: Engine) => (e as unknown as { rt: { heap: { used: Map<number, number> } } }).rt.heap.used;
  it("samples every kind, and the depthwise path", () => {
    for (const k of KINDS) expect(guardCases.some((c) => c.kind === k), k).toBe(true);
    expect(guardCases.some((c) => c.groups === c.cin && c.cout === c.cin)).toBe(true);
  });
  it.each(guardCases.map((c) => [label(c), c] as const))("writes its whole output and nothing around it: %s", (_name, c) => {
    for (const b of BACKENDS) {
      const e = E[b];
      const base = e.memoryBytes;
      const d = dataFor(c);
      const ref = convTranspose2dRef(d.x, d.w, d.bias, c);
      const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
      const gA = e.tensor(sentinelData(GUARD), [GUARD]);
      const out = e.tensor(sentinelData(prod(ref.shape)), ref.shape);
      const gB = e.tensor(sentinelData(GUARD), [GUARD]);
      expect(ptrOf(gA) + allocBytes(gA)).toBe(ptrOf(out));
      expect(ptrOf(out) + allocBytes(out)).toBe(ptrOf(gB));
      const w = e.tensor(d.w, [c.cin, c.kh, c.kw, c.cout / c.groups]);
      const mine = new Set(used(e).keys());
      const op = e.prepareConv2dTranspose(w, { ...optionsOf(c), bias: d.bias });
      op.run(x, out);
      // The op may rewrite memory it owns (the depthwise path's staging scratch), nothing else but out.
      const opOwned = [...used(e)].filter(([start]) => !mine.has(start)).map(([start, size]) => ({ start, end: start + size, what: "the op's own allocation" }));
      fillSentinel(e, ptrOf(out), ptrOf(out) + allocBytes(out));
      const before = snapshot(e);
      const held = e.memoryBytes;
      op.run(x, out);
      expect(memoryOf(e).buffer.byteLength, "no growth in a run with out").toBe(before.length);
      expect(e.memoryBytes, "a run with out allocates nothing").toBe(held);
      const known = [rangeOf(gA, "guard before out"), rangeOf(out, "out"), rangeOf(gB, "guard after out"), rangeOf(x, "x"), rangeOf(w, "w")];
      expect(strayWrites(e, before, [rangeOf(out, "out"), ...opOwned], [...known, ...opOwned])).toBe("");
      expect(unwritten(e, out), "elements of out never written").toEqual([]);
      op.dispose();
      for (const t of [x, gA, out, gB, w]) t.dispose();
      expect(e.memoryBytes).toBe(base);
    }
  });
});

describe("conv2dTranspose errors", () => {
  it.each(EMPTY.map((c) => [label(c), c] as const))("padding that crops the whole output is an ArgumentError: %s", (_name, c) => {
    const e = E.simd;
    const before = e.memoryBytes;
    const d = dataFor(c);
    const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
    const w = e.tensor(d.w, [c.cin, c.kh, c.kw, c.cout / c.groups]);
    expect(() => e.conv2dTranspose(x, w, optionsOf(c))).toThrow(ArgumentError);
    x.dispose();
    w.dispose();
    expect(e.memoryBytes).toBe(before);
  });

  it("rejects bad options, shapes and use after dispose with typed errors", () => {
    const e = E.simd;
    const before = e.memoryBytes;
    const x = e.tensor(new Float32Array(2 * 3 * 3 * 4), [2, 3, 3, 4]);
    const w = e.tensor(new Float32Array(4 * 2 * 2 * 3), [4, 2, 2, 3]);
    expect(() => e.conv2dTranspose(x, w, { groups: 3 })).toThrow(/4 input channels cannot be split into 3 groups/);
    expect(() => e.conv2dTranspose(x, w, { groups: 0 })).toThrow(ArgumentError);
    expect(() => e.conv2dTranspose(x, w, { strides: 0 })).toThrow(ArgumentError);
    expect(() => e.conv2dTranspose(x, w, { outputPadding: -1 })).toThrow(/outputPadding/);
    expect(() => e.conv2dTranspose(x, w, { padding: [1, 2, 3] as unknown as [number, number, number, number] })).toThrow(ArgumentError);
    expect(() => e.conv2dTranspose(x, w, { padding: "full" as "same" })).toThrow(ArgumentError);
    expect(() => e.conv2dTranspose(x, w, { kernel: 2 } as ConvTranspose2dOptions)).toThrow(/unknown option 'kernel'/);
    expect(() => e.conv2dTranspose(x, w, { bias: new Float32Array(2) })).toThrow(ShapeError);
    expect(() => e.conv2dTranspose(x, w, { activation: "swish" as "relu" })).toThrow(ArgumentError);
    const w5 = e.tensor(new Float32Array(5 * 2 * 2 * 3), [5, 2, 2, 3]);
    expect(() => e.conv2dTranspose(x, w5)).toThrow(/input has 4 channels, the weights expect 5/);
    const x3 = e.tensor(new Float32Array(12), [3, 4]);
    expect(() => e.conv2dTranspose(x3, w)).toThrow(ShapeError);
    const op = e.prepareConv2dTranspose(w, { strides: 2 });
    expect(op.outputShape([[2, 3, 3, 4]])).toEqual([2, 6, 6, 3]);
    op.dispose();
    expect(() => op.run(x)).toThrow(DisposedError);
    for (const t of [x, w, w5, x3]) t.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});
