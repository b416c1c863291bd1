// The small-channel convolution path (Cout <= 8, chosen for Cout <= 6 and Cin <= 32, Cout 7 and
// Cin <= 6, Cout 8 and Cin <= 4, horizontal stride 1, groups 1: the direct kernel conv2d_f32_small_8x4 vectorised along output pixels, more
// than 4 channels in groups of 4 and the rest) over a generated grid: both
// builds against the float64 reference, bit identity between the builds, the same bits as the
// indirect GEMM (the same convolution with a ninth output channel, which the small path does not
// take), with and without a residual added before the activation, guard bytes around the
// output, and that the path is the one taken (7 and 8 outputs over more input channels, and 1x1
// over more than 4 input channels or to more than 6 outputs, which the engine leaves to the GEMM,
// through Conv2d's override).
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { Conv2dOptions, Engine, Tensor } from "../src/index.js";
import { Conv2d } from "../src/ops/conv2d.js";
import { runOn } from "../src/ops/op.js";
import { ACTIVATIONS, BACKENDS, activationRtol, compare, compareBits, dotBound, engines, roundRobin, TINY, type BackendName } from "./grid.js";
import { allocBytes, fillSentinel, memoryOf, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten } from "./memory.js";
import { type Act, type ConvParams, type PaddingSpec, Rng, activate, activationSlope, conv2dRef, outSize, padsFor, prod } from "./reference.js";

const CIN = [1, 2, 3, 4, 5, 6, 7, 8, 11, 16, 32];
const COUT = [1, 2, 3, 4, 5, 6, 7, 8];
// Widths with every remainder of the 8- and 16-pixel tiles, and rows shorter than one tile.
const WIDTHS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 19, 23, 24, 31, 33];
const HEIGHTS = [1, 2, 3, 5, 6, 9];
const KERNELS: [number, number][] = [[3, 3], [2, 3], [5, 5], [1, 3], [3, 1], [7, 7], [3, 2], [1, 1]];
const STEPS = [1, 2, 3];
const BATCH = [1, 2, 3];
const PER_PAIR = 3;

interface Case extends ConvParams {
  id: number;
  activation: Act;
  withBias: boolean;
}

function fits(p: ConvParams): boolean {
  const [pt, pl, pb, pr] = padsFor(p.padding, p.h, p.w, p.kh, p.kw, p.strides[0], p.strides[1], p.dilations[0], p.dilations[1]);
  return outSize(p.h, p.kh, p.strides[0], p.dilations[0], pt, pb) > 0 && outSize(p.w, p.kw, p.strides[1], p.dilations[1], pl, pr) > 0;
}

function makeGrid(): Case[] {
  const rng = new Rng(0x5a11c);
  const cases: Case[] = [];
  for (let j = 0; j < PER_PAIR; j++) {
    for (const cin of CIN) {
      for (const cout of COUT) {
        const i = cases.length;
        const r = rng.next();
        const padding: PaddingSpec = r < 0.3 ? "valid" : r < 0.6 ? "same" : [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)];
        const c: Case = {
          id: i, n: roundRobin(BATCH, i, 1), h: roundRobin(HEIGHTS, i, 5), w: roundRobin(WIDTHS, i, 7), cin, cout,
          kh: 0, kw: 0, groups: 1, strides: [roundRobin(STEPS, i, 1, 1), 1], dilations: [roundRobin(STEPS, i, 2), roundRobin(STEPS, i, 5)],
          padding, activation: roundRobin(ACTIVATIONS, i, 3) as Act, withBias: i % 4 !== 3,
        };
        // Shifted once per round of output counts: as many kernels as output counts would
        // otherwise give each count one kernel.
        [c.kh, c.kw] = roundRobin(KERNELS, i + Math.floor(i / COUT.length), 1);
        for (let tries = 0; !fits(c) && tries < 20; tries++) {
          c.padding = tries < 10 ? "same" : [3, 3, 3, 3];
          if (tries >= 5) c.dilations = [1, 1];
        }
        if (fits(c)) cases.push(c);
      }
    }
  }
  return cases;
}

const CASES = makeGrid();

function label(c: Case): string {
  const pad = typeof c.padding === "string" ? c.padding : `[${c.padding.join(",")}]`;
  return `#${c.id} x[${c.n},${c.h},${c.w},${c.cin}] w[${c.cout},${c.kh},${c.kw},${c.cin}] s${c.strides.join("x")} d${c.dilations.join("x")} pad ${pad} act ${JSON.stringify(c.activation)}${c.withBias ? "" : " no bias"}`;
}

function dataFor(c: Case) {
  const rng = new Rng(5000 + c.id);
  return { x: rng.f32(c.n * c.h * c.w * c.cin), w: rng.f32(c.cout * c.kh * c.kw * c.cin), bias: c.withBias ? rng.f32(c.cout) : undefined };
}

function options(c: Case, bias: Float32Array | undefined): Conv2dOptions {
  return { strides: c.strides, dilations: c.dilations, padding: c.padding, activation: c.activation, bias };
}

/** The kernels a run dispatched (the runtime's calls, observed). */
function kernelsOf(e: Engine, run: () => void): Set<string> {
  const rt = (e as unknown as { rt: { dispatch(calls: { fn: string }[], what: string): void } }).rt;
  const seen = new Set<string>();
  const spy = vi.spyOn(rt, "dispatch");
  try {
    run();
    for (const [calls] of spy.mock.calls) for (const call of calls) seen.add(call.fn);
  } finally {
    spy.mockRestore();
  }
  return seen;
}

/** Whether the engine chooses the small-channel path (the grid's Cin are all within 32). */
function chosen(c: Case): boolean {
  return c.kh * c.kw > 1 ? c.cout <= 6 || c.cin <= (c.cout === 7 ? 6 : 4) : c.cout <= 6 && c.cin <= 4;
}

/** The small-channel op: the engine's choice where it is chosen, else forced. */
function prepare(e: Engine, w: Tensor, c: Case, bias: Float32Array | undefined): Conv2d {
  if (chosen(c)) return e.prepareConv2d(w, options(c, bias));
  return new Conv2d((e as unknown as { rt: ConstructorParameters<typeof Conv2d>[0] }).rt, w, options(c, bias), "nhwc", false, true);
}

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("small-channel conv2d grid", () => {
  it("covers every Cin x Cout pair, width remainder, kernel, stride, dilation, batch and activation", () => {
    for (const cin of CIN) for (const cout of COUT) expect(CASES.some((c) => c.cin === cin && c.cout === cout), `${cin} -> ${cout}`).toBe(true);
    const seen = (f: (c: Case) => unknown) => new Set(CASES.map((c) => JSON.stringify(f(c))));
    for (const w of WIDTHS) expect(seen((c) => c.w).has(String(w)), `W ${w}`).toBe(true);
    for (const k of KERNELS) expect(seen((c) => [c.kh, c.kw]).has(JSON.stringify(k)), `kernel ${k}`).toBe(true);
    for (const s of STEPS) {
      expect(seen((c) => c.strides[0]).has(String(s))).toBe(true);
      expect(seen((c) => c.dilations[0]).has(String(s))).toBe(true);
      expect(seen((c) => c.dilations[1]).has(String(s))).toBe(true);
    }
    for (const b of BATCH) expect(seen((c) => c.n).has(String(b))).toBe(true);
    for (const a of ACTIVATIONS) expect(seen((c) => c.activation).has(JSON.stringify(a)), `activation ${JSON.stringify(a)}`).toBe(true);
  });
});

// The engine's choice at its edges, as bench/small-conv.ts measured it: [Cin, Cout, window, the
// small-channel kernel taken].
const CHOICES: [number, number, number, boolean][] = [
  [3, 6, 3, true], [32, 6, 3, true], [33, 3, 3, false], [1, 7, 3, true], [1, 8, 3, true], [3, 7, 3, true], [3, 8, 5, true],
  [4, 8, 3, true], [6, 7, 3, true], [7, 7, 3, false], [5, 8, 3, false], [8, 8, 3, false], [1, 9, 3, false], [4, 6, 1, true], [5, 3, 1, false],
  [3, 7, 1, false], [3, 8, 1, false],
];

describe("small-channel conv2d: when the engine takes it", () => {
  it.each(CHOICES.map((c) => [`${c[0]} -> ${c[1]} ${c[2]}x${c[2]}`, c] as const))("%s", (_name, [cin, cout, k, small]) => {
    const e = E.simd;
    const x = e.tensor(new Float32Array(5 * 7 * cin), [1, 5, 7, cin]);
    const w = e.tensor(new Float32Array(cout * k * k * cin), [cout, k, k, cin]);
    const op = e.prepareConv2d(w, { padding: "same" });
    const y = op.run(x);
    expect(kernelsOf(e, () => op.run(x, y)).has("conv2d_f32_small_8x4")).toBe(small);
    op.dispose();
    for (const t of [x, w, y]) t.dispose();
  });
});

// Rows long enough that the kernel's band buffer holds fewer padded rows than the image: several
// bands per image, rows read again by the next band moved up, padding rows in the first and last
// band, strides and dilations that leave no rows to move.
const BANDS: Case[] = [
  { n: 1, h: 23, w: 256, cin: 3, cout: 3, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], padding: "same", activation: "relu" },
  { n: 2, h: 29, w: 250, cin: 3, cout: 4, kh: 3, kw: 3, strides: [2, 1], dilations: [2, 1], padding: "valid", activation: "sigmoid" },
  { n: 1, h: 13, w: 200, cin: 16, cout: 2, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], padding: "same", activation: "none" },
  { n: 1, h: 11, w: 1500, cin: 1, cout: 3, kh: 5, kw: 5, strides: [1, 1], dilations: [1, 1], padding: [2, 1, 2, 3], activation: "relu6" },
  { n: 1, h: 40, w: 300, cin: 5, cout: 6, kh: 3, kw: 1, strides: [3, 1], dilations: [1, 1], padding: [1, 0, 1, 0], activation: "relu" },
  { n: 2, h: 20, w: 700, cin: 2, cout: 1, kh: 7, kw: 7, strides: [1, 1], dilations: [1, 1], padding: "same", activation: { leakyRelu: 0.1 } },
].map((c, i) => ({ ...c, id: 1000 + i, groups: 1, withBias: true }) as Case);

describe("small-channel conv2d: both builds against the float64 reference, bit-identical, the GEMM path's bits", () => {
  it.each([...CASES, ...BANDS].map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const d = dataFor(c);
    const ref = conv2dRef(d.x, d.w, d.bias, c);
    const k = c.kh * c.kw * c.cin;
    const slope = activationSlope(c.activation);
    const rtol = activationRtol(c.activation);
    const bound = (i: number) => dotBound(k, ref.mag[i], slope) + rtol * Math.abs(ref.value[i]) + TINY;
    // A ninth output channel (zero weights) sends the same convolution down the indirect GEMM.
    const wide = new Float32Array(9 * k);
    wide.set(d.w);
    const wideBias = new Float32Array(9);
    if (d.bias) wideBias.set(d.bias);
    const got: Partial<Record<BackendName, Float32Array>> = {};
    for (const b of BACKENDS) {
      const e = E[b];
      const before = e.memoryBytes;
      const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
      const w = e.tensor(d.w, [c.cout, c.kh, c.kw, c.cin]);
      const op = prepare(e, w, c, d.bias);
      let y = op.run(x);
      expect(kernelsOf(e, () => op.run(x, y))).toContain("conv2d_f32_small_8x4");
      expect([...y.shape], `${b} output shape`).toEqual(ref.shape);
      if (BANDS.includes(c)) {
        const [pt, pl, pb, pr] = padsFor(c.padding, c.h, c.w, c.kh, c.kw, c.strides[0], c.strides[1], c.dilations[0], c.dilations[1]);
        expect(op.bytes.scratch, "scratch below one padded image: several bands").toBeLessThan((c.h + pt + pb) * (c.w + pl + pr) * c.cin * 4);
      }
      const mine = y.toArray();
      expect(compare(mine, ref.value, bound, b)).toBe("");
      got[b] = mine;
      y.dispose();
      op.dispose();
      w.dispose();

      const w9 = e.tensor(wide, [9, c.kh, c.kw, c.cin]);
      const op9 = e.prepareConv2d(w9, options(c, wideBias));
      y = op9.run(x);
      expect(kernelsOf(e, () => op9.run(x, y))).not.toContain("conv2d_f32_small_8x4");
      const all = y.toArray();
      const gemm = new Float32Array(mine.length);
      for (let p = 0; p < mine.length / c.cout; p++) gemm.set(all.subarray(p * 9, p * 9 + c.cout), p * c.cout);
      expect(compareBits(mine, gemm, `${b}: small path vs GEMM path`)).toBe("");
      for (const t of [y, w9, x]) t.dispose();
      op9.dispose();
      expect(e.memoryBytes, "memory held after disposing everything").toBe(before);
    }
    expect(compareBits(got.simd!, got.scalar!)).toBe("");
  });
});

describe("small-channel conv2d memory", () => {
  const GUARD = 8;
  const used = (e: Engine) => (e as unknown as { rt: { heap: { used: Map<number, number> } } }).rt.heap.used;
  it.each([...CASES.filter((_, i) => i % 5 === 0), ...BANDS].map((c) => [label(c), c] as const))("writes its whole output and nothing around it: %s", (_name, c) => {
    for (const b of BACKENDS) {
      const e = E[b];
      const base = e.memoryBytes;
      const d = dataFor(c);
      const ref = conv2dRef(d.x, d.w, d.bias, c);
      const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
      const gA = e.tensor(sentinelData(GUARD), [GUARD]);
      const out = e.tensor(sentinelData(prod(ref.shape)), ref.shape);
      const gB = e.tensor(sentinelData(GUARD), [GUARD]);
      expect(ptrOf(gA) + allocBytes(gA)).toBe(ptrOf(out));
      expect(ptrOf(out) + allocBytes(out)).toBe(ptrOf(gB));
      const w = e.tensor(d.w, [c.cout, c.kh, c.kw, c.cin]);
      const mine = new Set(used(e).keys());
      const op = prepare(e, w, c, d.bias);
      op.run(x, out);
      // The op rewrites its own scratch (its band buffers) and out, nothing else.
      const opOwned = [...used(e)].filter(([start]) => !mine.has(start)).map(([start, size]) => ({ start, end: start + size, what: "the op's own allocation" }));
      fillSentinel(e, ptrOf(out), ptrOf(out) + allocBytes(out));
      const before = snapshot(e);
      op.run(x, out);
      expect(memoryOf(e).buffer.byteLength, "no growth in a run with out").toBe(before.length);
      const known = [rangeOf(gA, "guard before out"), rangeOf(out, "out"), rangeOf(gB, "guard after out"), rangeOf(x, "x"), rangeOf(w, "w")];
      expect(strayWrites(e, before, [rangeOf(out, "out"), ...opOwned], [...known, ...opOwned])).toBe("");
      expect(unwritten(e, out), "elements of out never written").toEqual([]);
      op.dispose();
      for (const t of [x, gA, out, gB, w]) t.dispose();
      expect(e.memoryBytes).toBe(base);
    }
  });
});

/** The op run with a residual input (the graph's fused Add), into `out` when given. */
function runResidual(e: Engine, op: Conv2d, x: Tensor, r: Tensor, out?: Tensor): Tensor {
  return runOn((e as unknown as { rt: Parameters<typeof runOn>[0] }).rt, op, [x, r], out);
}

describe("small-channel conv2d with a residual: the reference's bits bound, both builds, the GEMM path's bits", () => {
  it.each([...CASES.filter((_, i) => i % 3 === 1), BANDS[0], BANDS[4]].map((c) => [label(c), c] as const))("%s", (_name, c) => {
    const d = dataFor(c);
    const raw = conv2dRef(d.x, d.w, d.bias, { ...c, activation: undefined });
    const residual = new Rng(7000 + c.id).f32(raw.value.length);
    const value = raw.value.map((v, i) => activate(v + residual[i], c.activation));
    const k = c.kh * c.kw * c.cin;
    const slope = activationSlope(c.activation);
    const rtol = activationRtol(c.activation);
    const bound = (i: number) => dotBound(k + 1, raw.mag[i] + Math.abs(residual[i]), slope) + rtol * Math.abs(value[i]) + TINY;
    const wide = new Float32Array(9 * k);
    wide.set(d.w);
    const wideBias = new Float32Array(9);
    if (d.bias) wideBias.set(d.bias);
    const wideResidual = new Float32Array((residual.length / c.cout) * 9);
    for (let p = 0; p < residual.length / c.cout; p++) wideResidual.set(residual.subarray(p * c.cout, (p + 1) * c.cout), p * 9);
    const got: Partial<Record<BackendName, Float32Array>> = {};
    for (const b of BACKENDS) {
      const e = E[b];
      const before = e.memoryBytes;
      const x = e.tensor(d.x, [c.n, c.h, c.w, c.cin]);
      const w = e.tensor(d.w, [c.cout, c.kh, c.kw, c.cin]);
      const r = e.tensor(residual, raw.shape);
      const op = prepare(e, w, c, d.bias);
      let y = runResidual(e, op, x, r);
      expect(kernelsOf(e, () => runResidual(e, op, x, r, y))).toContain("conv2d_f32_small_8x4");
      const mine = y.toArray();
      expect(compare(mine, value, bound, b)).toBe("");
      got[b] = mine;
      for (const t of [y, w, r]) t.dispose();
      op.dispose();

      // One input channel with nine outputs is the single-channel path, which takes no residual.
      if (c.cin > 1) {
        const w9 = e.tensor(wide, [9, c.kh, c.kw, c.cin]);
        const r9 = e.tensor(wideResidual, [...raw.shape.slice(0, 3), 9]);
        const op9 = e.prepareConv2d(w9, options(c, wideBias));
        y = runResidual(e, op9, x, r9);
        const all = y.toArray();
        const gemm = new Float32Array(mine.length);
        for (let p = 0; p < mine.length / c.cout; p++) gemm.set(all.subarray(p * 9, p * 9 + c.cout), p * c.cout);
        expect(compareBits(mine, gemm, `${b}: small path vs GEMM path`)).toBe("");
        for (const t of [y, w9, r9]) t.dispose();
        op9.dispose();
      }
      x.dispose();
      expect(e.memoryBytes, "memory held after disposing everything").toBe(before);
    }
    expect(compareBits(got.simd!, got.scalar!)).toBe("");
  });
});
