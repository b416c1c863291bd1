// conv2d against the float64 reference over a generated grid, in both builds, and bit identity
// between the builds. Paths: pointwise (1x1), general kxk (indirect GEMM), single input channel
// (Cin = 1, groups = 1: the direct kernel over a padded copy), grouped (per-group GEMM, including
// channel multipliers) and depthwise (groups = Cin = Cout: the dwconv kernel, whose 3x3 copy is included).
import { beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Conv2dOptions, type Engine } from "../src/index.js";
import {
  ACTIVATIONS, API_MODES, BACKENDS, SIZES, runInMode, type ApiMode, activationRtol, compare, compareBits, dotBound, engines, roundRobin, TINY, type BackendName,
} from "./grid.js";
import { type Act, type ConvParams, type PaddingSpec, Rng, activationSlope, conv2dRef, outSize, padsFor } from "./reference.js";
import { winogradFits } from "../src/ops/winograd.js";
import { winogradRef } from "./winograd-reference.js";

type Kind = "pointwise" | "general" | "single" | "grouped" | "depthwise";
const KINDS: Kind[] = ["pointwise", "general", "single", "grouped", "depthwise"];
const PER_KIND = 150;

const CIN = [1, 3, 5, 7, 9, 13, 17, 8, 16, 2, 6, 11];
const COUT = SIZES; // 1..17: every remainder mod 8 (and mod 4)
const KERNELS: [number, number][] = [[3, 3], [2, 3], [5, 5], [7, 7], [3, 2], [1, 5]];
const ALL_KERNELS: [number, number][] = [[1, 1], ...KERNELS];
// Nine taps in a line: the depthwise kernel specialised for 9 taps must not assume a 3x3 square.
const DW_KERNELS: [number, number][] = [...ALL_KERNELS, [1, 9], [9, 1]];
const STEPS = [1, 2, 3];
const BATCH = [1, 2, 3];
const BIAS = ["none", "array", "tensor"] as const;

interface ConvCase extends ConvParams {
  id: number;
  kind: Kind;
  bias: (typeof BIAS)[number];
  api: ApiMode;
  activation: Act;
}

function fits(p: ConvParams): boolean {
  const [pt, pl, pb, pr] = padsFor(p.padding, p.h, p.w, p.kh, p.kw, p.strides[0], p.strides[1], p.dilations[0], p.dilations[1]);
  return outSize(p.h, p.kh, p.strides[0], p.dilations[0], pt, pb) > 0 && outSize(p.w, p.kw, p.strides[1], p.dilations[1], pl, pr) > 0;
}

function randomPadding(rng: Rng): PaddingSpec {
  const r = rng.next();
  if (r < 0.25) return "valid";
  if (r < 0.55) return "same";
  // Asymmetric explicit padding: the four sides drawn independently.
  return [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)];
}

/** The grid, and the sampled combinations whose window did not fit (tested to throw). */
function makeGrid(): { cases: ConvCase[]; noFit: ConvCase[] } {
  const cases: ConvCase[] = [];
  const noFit: ConvCase[] = [];
  const rng = new Rng(0xc0471);
  for (let j = 0; j < PER_KIND; j++) {
    for (let ki = 0; ki < KINDS.length; ki++) {
      const kind = KINDS[ki];
      const id = cases.length;
      const h = roundRobin(SIZES, j, 7, ki);
      const w = roundRobin(SIZES, j, 5, 3 * ki + 2);
      const n = roundRobin(BATCH, j, 1, ki);
      const strides: [number, number] = [roundRobin(STEPS, j, 1, ki), roundRobin(STEPS, Math.floor(j / 3), 1, ki + 1)];
      const dilations: [number, number] = [roundRobin(STEPS, Math.floor(j / 9), 1, ki), roundRobin(STEPS, j, 2, ki + 2)];
      let kh: number, kw: number, cin: number, cout: number, groups: number;
      if (kind === "pointwise") {
        [kh, kw] = [1, 1];
        cin = roundRobin(CIN, j, 5, ki);
        cout = roundRobin(COUT, j, 3, ki);
        groups = 1;
      } else if (kind === "general") {
        [kh, kw] = roundRobin(KERNELS, j, 1, 0);
        cin = roundRobin(CIN, j, 7, 1);
        cout = roundRobin(COUT, j, 11, 4);
        groups = 1;
      } else if (kind === "single") {
        [kh, kw] = roundRobin(ALL_KERNELS, j, 3, 2);
        cin = 1;
        cout = roundRobin(COUT, j, 5, 6);
        groups = 1;
      } else if (kind === "grouped") {
        [kh, kw] = roundRobin(ALL_KERNELS, j, 3, 1);
        groups = roundRobin([2, 3, 4, 5], j, 1, 0);
        const cinG = roundRobin([1, 2, 3, 5], Math.floor(j / 4), 1, 0); // cinG = 1 with coutG > 1: a channel multiplier
        const coutG = roundRobin([1, 2, 3, 5, 7], j, 2, 1);
        cin = groups * cinG;
        cout = groups * coutG;
      } else {
        [kh, kw] = roundRobin(DW_KERNELS, j, 5, 2);
        cin = cout = groups = roundRobin(CIN, j, 5, 3);
      }
      const c: ConvCase = {
        id, kind, n, h, w, cin, cout, kh, kw, strides, dilations, groups,
        padding: randomPadding(rng),
        activation: rng.pick(ACTIVATIONS) as Act,
        bias: rng.pick(BIAS),
        api: rng.pick(API_MODES),
      };
      if (!fits(c)) {
        noFit.push({ ...c });
        // Keep the sizes the round-robin chose; give up dilation, then padding, until it fits.
        for (let tries = 0; !fits(c) && tries < 20; tries++) {
          c.padding = tries < 10 ? randomPadding(rng) : "same";
          if (tries >= 5) c.dilations = [1, 1];
        }
      }
      cases.push(c);
    }
  }
  return { cases, noFit };
}

const { cases: CASES, noFit: NO_FIT } = makeGrid();

function label(c: ConvCase): string {
  const pad = typeof c.padding === "string" ? c.padding : `[${c.padding.join(",")}]`;
  return `#${c.id} ${c.kind} x[${c.n},${c.h},${c.w},${c.cin}] w[${c.cout},${c.kh},${c.kw},${c.cin / c.groups}] g${c.groups} `
    + `s${c.strides.join("x")} d${c.dilations.join("x")} pad ${pad} act ${JSON.stringify(c.activation)} bias ${c.bias} ${c.api}`;
}

interface CaseData {
  x: Float32Array;
  w: Float32Array;
  bias: Float32Array | undefined;
}

function dataFor(c: ConvCase): CaseData {
  const rng = new Rng(1000 + c.id);
  return {
    x: rng.f32(c.n * c.h * c.w * c.cin),
    w: rng.f32(c.cout * c.kh * c.kw * (c.cin / c.groups)),
    bias: c.bias === "none" ? undefined : rng.f32(c.cout),
  };
}

/** Runs the case on one engine; checks it frees everything it made. */
function runConv(e: Engine, c: ConvCase, d: CaseData, outShape: number[]): { y: Float32Array; shape: number[] } {
  const before = e.memoryBytes;
  const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
  const w = e.tensor(d.w, [c.cout, c.kh, c.kw, c.cin / c.groups]);
  const biasT = c.bias === "tensor" ? e.tensor(d.bias!, [c.cout]) : undefined;
  const opts: Conv2dOptions = {
    strides: c.strides, dilations: c.dilations, padding: c.padding, groups: c.groups, activation: c.activation,
    bias: c.bias === "array" ? d.bias : biasT,
  };
  const yT = runInMode(e, c.api, x, outShape, () => e.conv2d(x, w, opts), () => e.prepareConv2d(w, opts));
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

describe("conv2d grid coverage", () => {
  it("covers every size, channel count, kernel, stride, dilation, padding kind, group kind, batch and activation", () => {
    const seen = (f: (c: ConvCase) => unknown) => new Set(CASES.map((c) => JSON.stringify(f(c))));
    for (const s of SIZES) {
      expect(seen((c) => c.h).has(String(s)), `H = ${s}`).toBe(true);
      expect(seen((c) => c.w).has(String(s)), `W = ${s}`).toBe(true);
      expect(seen((c) => c.cout).has(String(s)), `Cout = ${s}`).toBe(true);
    }
    for (const ch of CIN) expect(seen((c) => c.cin).has(String(ch)), `Cin = ${ch}`).toBe(true);
    for (const kind of KINDS) {
      const ks = kind === "pointwise" ? [[1, 1]] : kind === "general" ? KERNELS : kind === "depthwise" ? DW_KERNELS : ALL_KERNELS;
      for (const k of ks) expect(new Set(CASES.filter((c) => c.kind === kind).map((c) => JSON.stringify([c.kh, c.kw]))).has(JSON.stringify(k)), `${kind} kernel ${k}`).toBe(true);
      for (const s of SIZES) expect(CASES.some((c) => c.kind === kind && c.cout === s) || kind === "depthwise" || kind === "grouped", `${kind} Cout ${s}`).toBe(true);
    }
    for (const s of STEPS) {
      expect(seen((c) => c.strides[0]).has(String(s))).toBe(true);
      expect(seen((c) => c.strides[1]).has(String(s))).toBe(true);
      expect(seen((c) => c.dilations[0]).has(String(s))).toBe(true);
      expect(seen((c) => c.dilations[1]).has(String(s))).toBe(true);
    }
    for (const b of BATCH) expect(seen((c) => c.n).has(String(b))).toBe(true);
    for (const a of ACTIVATIONS) expect(seen((c) => c.activation).has(JSON.stringify(a)), `activation ${JSON.stringify(a)}`).toBe(true);
    const pads = CASES.map((c) => c.padding);
    expect(pads.some((p) => p === "same")).toBe(true);
    expect(pads.some((p) => p === "valid")).toBe(true);
    expect(pads.some((p) => Array.isArray(p) && (p[0] !== p[2] || p[1] !== p[3]))).toBe(true);
    expect(CASES.some((c) => c.kind === "depthwise" && c.groups > 1 && c.kh === 7)).toBe(true);
    expect(CASES.some((c) => c.kind === "grouped" && c.cin / c.groups === 1 && c.cout > c.cin)).toBe(true);
    // 'same' with stride 1 and an even total padding puts the odd pixel at the end.
    expect(CASES.some((c) => c.padding === "same" && c.kh === 2)).toBe(true);
    expect(NO_FIT.length).toBeGreaterThan(0);
  });

  it("the reference puts the odd 'same' pixel at the bottom/right", () => {
    expect(padsFor("same", 5, 5, 2, 2, 1, 1, 1, 1)).toEqual([0, 0, 1, 1]);
    expect(padsFor("same", 5, 6, 3, 4, 1, 1, 1, 1)).toEqual([1, 1, 1, 2]);
    expect(padsFor("same", 6, 6, 3, 3, 2, 2, 1, 1)).toEqual([0, 0, 1, 1]);
  });
});

describe.each(KINDS)("conv2d %s: both builds against the float64 reference, bit-identical", (kind) => {
  const cases = CASES.filter((c) => c.kind === kind);
  it.each(cases.map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const d = dataFor(c);
    const ref = conv2dRef(d.x, d.w, d.bias, c);
    const k = c.kh * c.kw * (c.cin / c.groups);
    const slope = activationSlope(c.activation);
    const rtol = activationRtol(c.activation);
    // Cases the engine runs as Winograd get that path's bound (test/winograd-reference.ts).
    const winograd = winogradFits([c.kh, c.kw], c.strides, c.dilations, c.groups, c.cin, c.cout)
      ? winogradRef(d.x, d.w, d.bias, undefined, c).bound : undefined;
    const bound = (i: number) => winograd?.[i] ?? dotBound(k, ref.mag[i], slope) + rtol * Math.abs(ref.value[i]) + TINY;
    const got: Partial<Record<BackendName, Float32Array>> = {};
    for (const b of BACKENDS) {
      const { y, shape } = runConv(E[b], c, d, ref.shape);
      expect(shape, `${b} output shape`).toEqual(ref.shape);
      expect(compare(y, ref.value, bound, b)).toBe("");
      got[b] = y;
    }
    expect(compareBits(got.simd!, got.scalar!)).toBe("");
  });
});

describe("conv2d: a window larger than the padded input throws ArgumentError", () => {
  it.each(NO_FIT.slice(0, 40).map((c) => [label(c), c] as const))("%s", (_name, c) => {
    for (const b of BACKENDS) {
      const e = E[b];
      const d = dataFor(c);
      const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
      const w = e.tensor(d.w, [c.cout, c.kh, c.kw, c.cin / c.groups]);
      const before = e.memoryBytes;
      const opts: Conv2dOptions = { strides: c.strides, dilations: c.dilations, padding: c.padding, groups: c.groups };
      expect(() => e.conv2d(x, w, opts)).toThrow(ArgumentError);
      expect(() => e.conv2d(x, w, opts)).toThrow(/window|padded|kernel/);
      expect(e.memoryBytes).toBe(before);
      const op = e.prepareConv2d(w, opts);
      const held = e.memoryBytes;
      expect(() => op.run(x)).toThrow(ArgumentError);
      expect(e.memoryBytes).toBe(held);
      op.dispose();
      expect(e.memoryBytes).toBe(before);
      expect(x.toArray()).toEqual(d.x);
      x.dispose();
      w.dispose();
    }
  });
});

describe("conv2d prepared op over several input sizes", () => {
  it("re-plans when the input size changes and back, in both builds, bit-identically", () => {
    const rng = new Rng(77);
    const p0 = { cout: 11, kh: 3, kw: 3, cin: 5, groups: 1, strides: [2, 1] as [number, number], dilations: [1, 2] as [number, number], padding: "same" as const, activation: "relu6" as const };
    const wData = rng.f32(11 * 3 * 3 * 5);
    const bias = rng.f32(11);
    const shapes = [[1, 9, 7], [2, 5, 13], [1, 9, 7], [3, 17, 4]];
    const inputs = shapes.map(([n, h, w]) => rng.f32(n * h * w * 5));
    const outs: Record<string, Float32Array[]> = {};
    for (const b of BACKENDS) {
      const e = E[b];
      const before = e.memoryBytes;
      const w = e.tensor(wData, [11, 3, 3, 5]);
      const op = e.prepareConv2d(w, { strides: p0.strides, dilations: p0.dilations, padding: p0.padding, activation: p0.activation, bias });
      outs[b] = [];
      shapes.forEach(([n, h, ww], i) => {
        const x = e.tensor(inputs[i], [n, h, ww, 5]);
        const y = op.run(x);
        const ref = conv2dRef(inputs[i], wData, bias, { ...p0, n, h, w: ww });
        expect([...y.shape]).toEqual(ref.shape);
        expect(compare(y.toArray(), ref.value, (j) => dotBound(45, ref.mag[j], 1) + TINY, `${b} shape ${i}`)).toBe("");
        outs[b].push(y.toArray());
        x.dispose();
        y.dispose();
      });
      op.dispose();
      w.dispose();
      expect(e.memoryBytes).toBe(before);
    }
    outs.simd.forEach((y, i) => expect(compareBits(y, outs.scalar[i])).toBe(""));
  });
});
