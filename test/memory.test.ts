// Memory safety: (a) ops write nothing outside their output (guard tensors filled with a NaN
// sentinel sit right before and after every input and output, and the whole memory is diffed
// around each run); every element of the output is written. (b) memory.grow in the middle of a
// sequence of ops, and inside an op, leaves every tensor and prepared op intact.
import { beforeAll, describe, expect, it } from "vitest";
import { init, type Conv2dOptions, type Engine, type GemmOptions, type Tensor } from "../src/index.js";
import { ACTIVATIONS, BACKENDS, SIZES, TINY, TRANSCENDENTAL_RTOL, U, activationRtol, compare, dotBound, engines, type BackendName } from "./grid.js";
import {
  type Range, allocBytes, fillSentinel, memoryOf, ptrOf, rangeOf, sentinelData, snapshot, strayWrites, unwritten,
} from "./memory.js";
import {
  type Act, type ConvParams, type GemmParams, type PaddingSpec, Rng, activationSlope, avgPoolRef, binaryRef, conv2dRef, gemmRef,
  globalPoolRef, maxPoolRef, outSize, padsFor, prod, softmaxRef, unaryRef,
} from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

interface HeapInternals {
  used: Map<number, number>;
  free: { start: number; size: number }[];
}
/** The allocator's bookkeeping (src/runtime/heap.ts): live allocations and free blocks. */
function heapOf(e: Engine): HeapInternals {
  const heap = (e as unknown as { rt: { heap: HeapInternals } }).rt.heap;
  expect(heap.used, "Heap.used (start -> size of live allocations)").toBeInstanceOf(Map);
  expect(Array.isArray(heap.free), "Heap.free (sorted free blocks)").toBe(true);
  return heap;
}
/** One past the last allocated byte. */
function usedEnd(e: Engine): number {
  let end = 64;
  for (const [s, n] of heapOf(e).used) end = Math.max(end, s + n);
  return end;
}

const GUARD = 8; // floats per guard tensor

// ---------------------------------------------------------------------------------------------
// (a) prepared ops with an explicit `out`

interface Prepared {
  run(x: Tensor, out?: Tensor): Tensor;
  dispose(): void;
}

interface GuardCase {
  label: string;
  x: { data: Float32Array; shape: number[] };
  outShape: number[];
  /** Makes the weight-side tensors and the op (after the guarded tensors exist). */
  prepare(e: Engine): { op: Prepared; tensors: Tensor[] };
  ref: Float64Array;
  bound(i: number): number;
}

function runGuarded(e: Engine, c: GuardCase): void {
  const base = e.memoryBytes;
  const mem = memoryOf(e);
  // Guards, input, guards, output, guard: consecutive allocations in a clean first-fit heap.
  const gA = e.tensor(sentinelData(GUARD), [GUARD]);
  const x = e.tensor(c.x.data, c.x.shape);
  const gB = e.tensor(sentinelData(GUARD), [GUARD]);
  const gC = e.tensor(sentinelData(GUARD), [GUARD]);
  const out = e.tensor(sentinelData(prod(c.outShape)), c.outShape);
  const gD = e.tensor(sentinelData(GUARD), [GUARD]);
  const seq = [gA, x, gB, gC, out, gD];
  for (let i = 0; i + 1 < seq.length; i++) {
    expect(ptrOf(seq[i]) + allocBytes(seq[i]), `allocation ${i + 1} follows allocation ${i} directly`).toBe(ptrOf(seq[i + 1]));
  }
  const mine = new Set([...heapOf(e).used.keys()]);
  const { op, tensors } = c.prepare(e);
  op.run(x, out); // first run: the per-shape plan is made here
  const opOwned: Range[] = [...heapOf(e).used]
    .filter(([s]) => !mine.has(s) && !tensors.some((t) => ptrOf(t) === s))
    .map(([s, n]) => ({ start: s, end: s + n, what: "the op's own allocation" }));
  // Re-arm: out and all free memory after the last allocation hold the sentinel.
  fillSentinel(e, ptrOf(out), ptrOf(out) + allocBytes(out));
  fillSentinel(e, usedEnd(e), mem.buffer.byteLength);
  const known: Range[] = [
    rangeOf(gA, "guard before x"), rangeOf(x, "x"), rangeOf(gB, "guard after x"), rangeOf(gC, "guard before out"),
    rangeOf(out, "out"), rangeOf(gD, "guard after out"), ...tensors.map((t, i) => rangeOf(t, `weight-side tensor ${i}`)), ...opOwned,
  ];
  const before = snapshot(e);
  const held = e.memoryBytes;
  const y = op.run(x, out);
  expect(y).toBe(out);
  expect(mem.buffer.byteLength, "no growth in a run with out").toBe(before.length);
  expect(e.memoryBytes, "a run with out allocates nothing").toBe(held);
  // The op may rewrite memory it owns (its plan's scratch: a padded copy of a single-channel
  // input, gemm's transposed a or materialised beta*c); nothing else but out may change.
  expect(strayWrites(e, before, [rangeOf(out, "out"), ...opOwned], known)).toBe("");
  expect(unwritten(e, out), "elements of out never written").toEqual([]);
  expect(compare(out.toArray(), c.ref, c.bound, "result")).toBe("");
  op.dispose();
  for (const t of [...seq, ...tensors]) t.dispose();
  expect(e.memoryBytes).toBe(base);
}

const CIN = [1, 3, 5, 7, 9, 13, 17, 8, 16];
const KERNELS: [number, number][] = [[1, 1], [3, 3], [2, 3], [5, 5], [7, 7], [3, 1]];

function convGuardCases(): GuardCase[] {
  const rng = new Rng(0x6a4d);
  const cases: GuardCase[] = [];
  const kinds = ["pointwise", "general", "single", "grouped", "depthwise"] as const;
  for (let i = 0; i < 50; i++) {
    const kind = kinds[i % 5];
    const [kh, kw] = kind === "pointwise" ? [1, 1] : rng.pick(KERNELS);
    let cin: number, cout: number, groups: number;
    if (kind === "grouped") {
      groups = rng.int(2, 4);
      cin = groups * rng.pick([1, 3, 5]);
      cout = groups * rng.int(1, 5);
    } else if (kind === "single") {
      cin = 1;
      cout = rng.int(1, 17);
      groups = 1;
    } else if (kind === "depthwise") {
      cin = cout = groups = rng.pick(CIN.filter((v) => v > 1));
    } else {
      cin = rng.pick(CIN);
      cout = rng.int(1, 17);
      groups = 1;
    }
    let padding: PaddingSpec = rng.pick(["valid", "same", [rng.int(0, 2), rng.int(0, 3), rng.int(0, 3), rng.int(0, 2)]] as PaddingSpec[]);
    const p: ConvParams = {
      n: rng.int(1, 3), h: rng.pick(SIZES), w: rng.pick(SIZES), cin, cout, kh, kw, groups,
      strides: [rng.int(1, 3), rng.int(1, 3)], dilations: [rng.int(1, 3), rng.int(1, 3)], padding,
      activation: rng.pick(ACTIVATIONS) as Act,
    };
    const pads = padsFor(p.padding, p.h, p.w, kh, kw, p.strides[0], p.strides[1], p.dilations[0], p.dilations[1]);
    if (outSize(p.h, kh, p.strides[0], p.dilations[0], pads[0], pads[2]) === 0 || outSize(p.w, kw, p.strides[1], p.dilations[1], pads[1], pads[3]) === 0) {
      p.padding = padding = "same";
    }
    const x = rng.f32(p.n * p.h * p.w * cin);
    const w = rng.f32(cout * kh * kw * (cin / groups));
    const bias = rng.bool() ? rng.f32(cout) : undefined;
    const ref = conv2dRef(x, w, bias, p);
    const k = kh * kw * (cin / groups);
    cases.push({
      label: `${kind} x[${p.n},${p.h},${p.w},${cin}] w[${cout},${kh},${kw},${cin / groups}] g${groups} s${p.strides} d${p.dilations} pad ${JSON.stringify(p.padding)} act ${JSON.stringify(p.activation)}`,
      x: { data: x, shape: [p.n, p.h, p.w, cin] },
      outShape: ref.shape,
      prepare(e) {
        const wt = e.tensor(w, [cout, kh, kw, cin / groups]);
        const opts: Conv2dOptions = { strides: p.strides, dilations: p.dilations, padding: p.padding, groups, activation: p.activation, bias };
        return { op: e.prepareConv2d(wt, opts), tensors: [wt] };
      },
      ref: ref.value,
      bound: (j) => dotBound(k, ref.mag[j], activationSlope(p.activation)) + activationRtol(p.activation) * Math.abs(ref.value[j]) + TINY,
    });
  }
  return cases;
}

function gemmGuardCases(): GuardCase[] {
  const rng = new Rng(0x6e44);
  const cases: GuardCase[] = [];
  const sizes: [number, number, number][] = [];
  for (let i = 0; i < 28; i++) sizes.push([rng.int(1, 17), rng.int(1, 17), rng.int(1, 17)]);
  sizes.push([33, 70, 129], [1, 1, 1], [4, 8, 8], [5, 9, 3]);
  sizes.forEach(([m, n, k], i) => {
    const cKind = rng.pick(["none", "N", "MxN", "Mx1", "1"] as const);
    const cShape = cKind === "none" ? undefined : cKind === "N" ? [n] : cKind === "MxN" ? [m, n] : cKind === "Mx1" ? [m, 1] : [1];
    const p: GemmParams = {
      m, n, k, transA: i % 2 === 1, transB: i % 4 >= 2, alpha: rng.pick([1, -0.5]), beta: rng.pick([1, 0.5]), cShape,
      activation: rng.pick(ACTIVATIONS) as Act,
    };
    const a = rng.f32(m * k);
    const b = rng.f32(k * n);
    const bias = rng.bool() ? rng.f32(n) : undefined;
    const c = cShape ? rng.f32(prod(cShape)) : undefined;
    const ref = gemmRef(a, b, bias, c, p);
    cases.push({
      label: `M${m} N${n} K${k}${p.transA ? " transA" : ""}${p.transB ? " transB" : ""} alpha ${p.alpha} beta ${p.beta} c ${cKind} bias ${bias ? "yes" : "no"} act ${JSON.stringify(p.activation)}`,
      x: { data: a, shape: p.transA ? [k, m] : [m, k] },
      outShape: [m, n],
      prepare(e) {
        const bt = e.tensor(b, p.transB ? [n, k] : [k, n]);
        const ct = cShape ? e.tensor(c!, cShape) : undefined;
        const opts: GemmOptions = { transA: p.transA, transB: p.transB, alpha: p.alpha, beta: p.beta, c: ct, bias, activation: p.activation };
        return { op: e.prepareGemm(bt, opts), tensors: ct ? [bt, ct] : [bt] };
      },
      ref: ref.value,
      bound: (j) => dotBound(k, ref.mag[j], activationSlope(p.activation)) + activationRtol(p.activation) * Math.abs(ref.value[j]) + TINY,
    });
  });
  return cases;
}

describe.each(BACKENDS)("%s: prepared ops with out write only out, and all of it", (backend) => {
  it.each(convGuardCases().map((c) => [c.label, c] as const))("conv2d %s", (_n, c) => runGuarded(E[backend], c));
  it.each(gemmGuardCases().map((c) => [c.label, c] as const))("gemm %s", (_n, c) => runGuarded(E[backend], c));
});

// ---------------------------------------------------------------------------------------------
// (a) ops that allocate their output

interface FreshCase {
  label: string;
  inputs: { data: Float32Array; shape: number[] }[];
  run(e: Engine, ts: Tensor[]): Tensor;
  ref: ArrayLike<number>;
  bound(i: number): number;
}

function runFresh(e: Engine, c: FreshCase): void {
  const base = e.memoryBytes;
  const mem = memoryOf(e);
  const seq: Tensor[] = [e.tensor(sentinelData(GUARD), [GUARD])];
  const known: Range[] = [rangeOf(seq[0], "guard 0")];
  c.inputs.forEach((inp, i) => {
    const t = e.tensor(inp.data, inp.shape);
    const g = e.tensor(sentinelData(GUARD), [GUARD]);
    known.push(rangeOf(t, `input ${i}`), rangeOf(g, `guard after input ${i}`));
    seq.push(t, g);
  });
  for (let i = 0; i + 1 < seq.length; i++) expect(ptrOf(seq[i]) + allocBytes(seq[i])).toBe(ptrOf(seq[i + 1]));
  // Everything after the last allocation, where the output will go, holds the sentinel.
  fillSentinel(e, usedEnd(e), mem.buffer.byteLength);
  const before = snapshot(e);
  const y = c.run(e, seq.filter((_, i) => i % 2 === 1));
  expect(ptrOf(y), "the output is placed after the existing tensors").toBeGreaterThanOrEqual(ptrOf(seq[seq.length - 1]));
  expect(strayWrites(e, before, [rangeOf(y, "output")], known)).toBe("");
  expect(unwritten(e, y), "elements of the output never written").toEqual([]);
  expect(compare(y.toArray(), c.ref, c.bound, "result")).toBe("");
  for (const t of [...seq, y]) t.dispose();
  expect(e.memoryBytes).toBe(base);
}

function freshCases(): FreshCase[] {
  const rng = new Rng(0xf4e5);
  const cases: FreshCase[] = [];
  const x4 = () => {
    const shape = [rng.int(1, 3), rng.int(1, 17), rng.int(1, 17), rng.pick([1, 3, 5, 7, 13, 16, 17, 19, 33])];
    return { data: rng.f32(prod(shape), -2, 2), shape };
  };
  for (let i = 0; i < 12; i++) {
    const x = x4();
    const [, h, w] = x.shape;
    const kernel: [number, number] = [rng.int(1, Math.min(4, h)), rng.int(1, Math.min(4, w))];
    const strides: [number, number] = [rng.int(1, 3), rng.int(1, 3)];
    const padding: [number, number, number, number] = [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)];
    const countIncludePad = rng.bool();
    const p = { n: x.shape[0], h, w, c: x.shape[3], kernel, strides, dilations: [1, 1] as [number, number], padding, countIncludePad };
    const mx = maxPoolRef(x.data, p);
    cases.push({ label: `maxPool2d x[${x.shape}] k${kernel} s${strides} pad ${padding}`, inputs: [x], run: (e, [t]) => e.maxPool2d(t, { kernel, strides, padding }), ref: mx.value, bound: () => 0 });
    const av = avgPoolRef(x.data, p);
    cases.push({
      label: `avgPool2d x[${x.shape}] k${kernel} s${strides} pad ${padding} includePad ${countIncludePad}`, inputs: [x],
      run: (e, [t]) => e.avgPool2d(t, { kernel, strides, padding, countIncludePad }), ref: av.value,
      bound: (j) => (av.divisor[j] ? (av.taps[j] * U * av.mag[j]) / av.divisor[j] : 0) + U * Math.abs(av.value[j]) + TINY,
    });
  }
  for (let i = 0; i < 4; i++) {
    const x = x4();
    const gm = globalPoolRef(x.data, x.shape, true);
    const ga = globalPoolRef(x.data, x.shape, false);
    cases.push({ label: `globalMaxPool x[${x.shape}]`, inputs: [x], run: (e, [t]) => e.globalMaxPool(t), ref: gm.value, bound: () => 0 });
    cases.push({ label: `globalAvgPool x[${x.shape}]`, inputs: [x], run: (e, [t]) => e.globalAvgPool(t), ref: ga.value, bound: (j) => 2 * U * ga.mag[j] + TINY });
  }
  const lengths = [1, 2, 3, 5, 7, 9, 13, 17, 31, 129];
  for (const len of lengths) {
    const shape = len > 3 ? [1, len] : [len];
    const data = rng.f32(len, -3, 3);
    for (const op of ["relu", "sigmoid", "tanh", "exp"] as const) {
      const r = unaryRef(data, op);
      cases.push({ label: `${op} [${shape}]`, inputs: [{ data, shape }], run: (e, [t]) => e[op](t), ref: r, bound: (j) => TRANSCENDENTAL_RTOL * Math.abs(r[j]) + TINY });
    }
    cases.push({
      label: `clip [${shape}]`, inputs: [{ data, shape }], run: (e, [t]) => e.clip(t, -1, 0.5),
      ref: data.map((v) => Math.min(Math.max(v, -1), 0.5)), bound: () => 0,
    });
    cases.push({
      label: `leakyRelu [${shape}]`, inputs: [{ data, shape }], run: (e, [t]) => e.leakyRelu(t, 0.3),
      ref: Array.from(data, (v) => (v < 0 ? 0.3 * v : v)), bound: (j) => 2 * U * Math.abs(data[j]),
    });
    const bShapes = [shape, [shape[shape.length - 1]], [1]];
    bShapes.forEach((bShape, j) => {
      const op = (["add", "sub", "mul", "div"] as const)[(len + j) % 4];
      const b = rng.f32(prod(bShape), 0.5, 2);
      const r = binaryRef(data, shape, b, bShape, op);
      cases.push({ label: `${op} [${shape}] by [${bShape}]`, inputs: [{ data, shape }, { data: b, shape: bShape }], run: (e, [t, u]) => e[op](t, u), ref: r, bound: (q) => U * Math.abs(r[q]) });
    });
    const sm = softmaxRef(data, shape);
    cases.push({ label: `softmax [${shape}]`, inputs: [{ data, shape }], run: (e, [t]) => e.softmax(t), ref: sm, bound: (q) => 1e-5 * sm[q] + TINY });
  }
  return cases;
}

describe.each(BACKENDS)("%s: ops that allocate their output write only that output, and all of it", (backend) => {
  it.each(freshCases().map((c) => [c.label, c] as const))("%s", (_n, c) => runFresh(E[backend], c));
});

// ---------------------------------------------------------------------------------------------
// (b) memory growth

describe.each(BACKENDS)("%s: memory growth", (backend) => {
  /** Allocates tensors that take every free block, so that the next allocation must grow the memory. */
  function fillAll(e: Engine): Tensor[] {
    const heap = heapOf(e);
    const last = heap.free[heap.free.length - 1];
    expect(last.start + last.size, "the last free block ends the memory").toBe(memoryOf(e).buffer.byteLength);
    return heap.free.map((b) => ({ ...b })).map((b) => {
      const t = e.tensor(new Float32Array(b.size / 4), [b.size / 4]);
      expect(ptrOf(t)).toBe(b.start);
      return t;
    });
  }

  it("growth between ops and inside ops leaves every tensor and prepared op intact", async () => {
    const e = await init({ backend });
    const mem = memoryOf(e);
    const rng = new Rng(424242);
    const start = e.memoryBytes;

    // A sequence of live tensors and prepared ops.
    const xs = [2, 9, 11, 7];
    const xData = rng.f32(prod(xs));
    const wData = rng.f32(13 * 3 * 3 * 7);
    const bias = rng.f32(13);
    const dwData = rng.f32(7 * 5 * 5);
    const aData = rng.f32(7 * 10); // [K=7, M=10] with transA
    const bData = rng.f32(7 * 19);
    const cData = rng.f32(10 * 19);
    const x = e.tensor(xData, xs);
    const w = e.tensor(wData, [13, 3, 3, 7]);
    const dw = e.tensor(dwData, [7, 5, 5, 1]);
    const a = e.tensor(aData, [7, 10]);
    const b = e.tensor(bData, [7, 19]);
    const c = e.tensor(cData, [10, 19]);
    const xsData = rng.f32(2 * 8 * 10);
    const wsData = rng.f32(5 * 3 * 3);
    const xs1 = e.tensor(xsData, [2, 8, 10, 1]);
    const ws1 = e.tensor(wsData, [5, 3, 3, 1]);
    const convs = e.prepareConv2d(ws1, { padding: [1, 2, 0, 1], strides: [1, 2] }); // single input channel
    const conv = e.prepareConv2d(w, { bias, padding: "same", activation: "relu" });
    const dwc = e.prepareConv2d(dw, { groups: 7, padding: [2, 1, 0, 3], strides: 2 });
    const gemm = e.prepareGemm(b, { transA: true, c, beta: 0.5, alpha: 2 });

    const convP: ConvParams = { n: 2, h: 9, w: 11, cin: 7, cout: 13, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], padding: "same", groups: 1, activation: "relu" };
    const dwP: ConvParams = { n: 2, h: 9, w: 11, cin: 7, cout: 7, kh: 5, kw: 5, strides: [2, 2], dilations: [1, 1], padding: [2, 1, 0, 3], groups: 7 };
    const gemmP: GemmParams = { m: 10, k: 7, n: 19, transA: true, transB: false, alpha: 2, beta: 0.5, cShape: [10, 19] };
    const convRef = conv2dRef(xData, wData, bias, convP);
    const dwRef = conv2dRef(xData, dwData, undefined, dwP);
    const gemmRef1 = gemmRef(aData, bData, undefined, cData, gemmP);
    const convsRef = conv2dRef(xsData, wsData, undefined, { n: 2, h: 8, w: 10, cin: 1, cout: 5, kh: 3, kw: 3, strides: [1, 2], dilations: [1, 1], padding: [1, 2, 0, 1], groups: 1 });
    const check = (y: Tensor, ref: { value: Float64Array; mag: Float64Array }, k: number, what: string) =>
      expect(compare(y.toArray(), ref.value, (i) => dotBound(k, ref.mag[i], 1) + TINY, what)).toBe("");

    const y1 = conv.run(x);
    const y2 = dwc.run(x);
    const y3 = gemm.run(a);
    const y4 = e.relu(y1);
    const y5 = convs.run(xs1);
    check(y5, convsRef, 9, "single-channel conv before growth");
    check(y1, convRef, 63, "conv before growth");
    check(y2, dwRef, 25, "dwconv before growth");
    check(y3, gemmRef1, 7, "gemm before growth");
    const live = [x, w, dw, a, b, c, y1, y2, y3, y4, xs1, ws1, y5];
    const snapshotOf = () => live.map((t) => t.toArray());
    const kept = snapshotOf();

    // 1. Growth between ops: a big allocation.
    let size = mem.buffer.byteLength;
    const big = e.tensor(new Float32Array(3 * size / 4), [3 * size / 4]);
    expect(mem.buffer.byteLength, "the big tensor grew the memory").toBeGreaterThan(size);
    snapshotOf().forEach((v, i) => expect(v, `tensor ${i} after growth`).toEqual(kept[i]));
    const z1 = conv.run(x);
    const z2 = dwc.run(x);
    const z3 = gemm.run(a);
    check(z1, convRef, 63, "conv after growth");
    check(z2, dwRef, 25, "dwconv after growth");
    check(z3, gemmRef1, 7, "gemm after growth");
    const z5 = convs.run(xs1);
    check(z5, convsRef, 9, "single-channel conv after growth");
    z5.dispose();
    expect(big.toArray().every((v) => v === 0)).toBe(true);
    for (const t of [big, z1, z2, z3]) t.dispose();

    // 2. Growth inside an op: a filler takes all free memory after the op's inputs exist, so the
    // op's own allocations (its output, and for conv/gemm a new plan and scratch) grow the memory.
    interface Step { what: string; setup(): Tensor[]; run(inputs: Tensor[]): Tensor; verify(y: Tensor): void; cleanup?(): void }
    let g2: ReturnType<Engine["prepareGemm"]> | undefined;
    const steps: Step[] = [
      { what: "relu", setup: () => [], run: () => e.relu(y1), verify: (y) => expect(y.toArray()).toEqual(Float32Array.from(kept[6], (v) => Math.max(v, 0))) },
      {
        what: "maxPool2d", setup: () => [], run: () => e.maxPool2d(x, { kernel: 3, strides: 2, padding: "same" }),
        verify: (y) => {
          const r = maxPoolRef(xData, { n: 2, h: 9, w: 11, c: 7, kernel: [3, 3], strides: [2, 2], dilations: [1, 1], padding: "same" });
          expect(compare(y.toArray(), r.value, () => 0, "maxPool2d")).toBe("");
        },
      },
      {
        what: "conv2d on a new input size (new plan)",
        setup: () => [e.tensor(xData.subarray(0, 9 * 11 * 7), [1, 9, 11, 7])],
        run: ([x2]) => conv.run(x2),
        verify: (y) => check(y, conv2dRef(xData.subarray(0, 9 * 11 * 7), wData, bias, { ...convP, n: 1 }), 63, "conv new plan"),
      },
      {
        what: "single-channel conv2d on a new input size (new padded copy)",
        setup: () => [e.tensor(xsData.subarray(0, 80), [1, 8, 10, 1])],
        run: ([xn]) => convs.run(xn),
        verify: (y) => check(y, conv2dRef(xsData.subarray(0, 80), wsData, undefined, { n: 1, h: 8, w: 10, cin: 1, cout: 5, kh: 3, kw: 3, strides: [1, 2], dilations: [1, 1], padding: [1, 2, 0, 1], groups: 1 }), 9, "single-channel conv new plan"),
      },
      {
        what: "gemm on a new M (new plan, scratch for transA and beta*c)",
        setup: () => {
          const c2 = e.tensor(cData.subarray(0, 4 * 19), [4, 19]);
          g2 = e.prepareGemm(b, { transA: true, c: c2, beta: 0.5, alpha: 2 });
          return [e.tensor(aData.subarray(0, 7 * 4), [7, 4]), c2];
        },
        run: ([a2]) => g2!.run(a2),
        verify: (y) => check(y, gemmRef(aData.subarray(0, 28), bData, undefined, cData.subarray(0, 76), { ...gemmP, m: 4, cShape: [4, 19] }), 7, "gemm new M"),
        cleanup: () => g2!.dispose(),
      },
      {
        what: "softmax", setup: () => [], run: () => e.softmax(y3),
        verify: (y) => expect(compare(y.toArray(), softmaxRef(kept[8], [10, 19]), () => 1e-5, "softmax")).toBe(""),
      },
    ];
    for (const step of steps) {
      const inputs = step.setup();
      const fillers = fillAll(e);
      expect(heapOf(e).free).toEqual([]);
      size = mem.buffer.byteLength;
      const y = step.run(inputs);
      expect(mem.buffer.byteLength, `${step.what} grew the memory`).toBeGreaterThan(size);
      step.verify(y);
      snapshotOf().forEach((v, i) => expect(v, `tensor ${i} after growth in ${step.what}`).toEqual(kept[i]));
      for (const f of fillers) expect(f.toArray().every((v) => v === 0), "the filler tensors are intact").toBe(true);
      step.cleanup?.();
      for (const t of [y, ...fillers, ...inputs]) t.dispose();
    }
    // The prepared ops still work on their original shapes.
    const w1 = conv.run(x);
    const w3 = gemm.run(a);
    check(w1, convRef, 63, "conv at the end");
    check(w3, gemmRef1, 7, "gemm at the end");
    for (const t of [w1, w3, ...live]) t.dispose();
    conv.dispose();
    convs.dispose();
    dwc.dispose();
    gemm.dispose();
    expect(e.memoryBytes).toBe(start);
  });
});
