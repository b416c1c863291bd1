// Bad arguments: each throws the right SimdcnnError subclass with a message naming the problem,
// and leaves memory as it was (engine.memoryBytes and the bytes of every other live tensor).
import { beforeAll, describe, expect, it } from "vitest";
import {
  ArgumentError, DisposedError, type Engine, ShapeError, SimdcnnError, type Tensor, init,
} from "../src/index.js";
import { BACKENDS, engines, type BackendName } from "./grid.js";
import { Rng } from "./reference.js";

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

type ErrorClass = typeof ShapeError | typeof ArgumentError | typeof DisposedError;

function bits(t: Tensor): Uint32Array {
  return new Uint32Array(t.toArray().buffer);
}

/** Runs fn, expects `cls` with a message matching `re`, and that memory is as it was. */
function expectError(e: Engine, live: Tensor[], fn: () => unknown, cls: ErrorClass, re: RegExp): void {
  const before = e.memoryBytes;
  const kept = live.filter((t) => !t.disposed).map((t) => [t, bits(t)] as const);
  let err: unknown;
  let result: unknown;
  try {
    result = fn();
  } catch (x) {
    err = x;
  }
  expect(err, `expected ${cls.name}, but the call returned ${String(result)}`).toBeInstanceOf(SimdcnnError);
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).name).toBe(cls.name);
  expect((err as Error).message).toMatch(re);
  expect(e.memoryBytes, "memoryBytes after the error").toBe(before);
  for (const [t, b] of kept) expect(bits(t), `tensor [${t.shape}] after the error`).toEqual(b);
}

interface Fixture {
  e: Engine;
  live: Tensor[];
  x: Tensor; // [2, 7, 9, 5]
  w: Tensor; // [6, 3, 3, 5]
  a: Tensor; // [4, 6]
  b: Tensor; // [6, 3]
  sq: Tensor; // [4, 4]
  v5: Tensor; // [5]
  conv: ReturnType<Engine["prepareConv2d"]>; // w, padding same: [2, 7, 9, 6]
  pw: ReturnType<Engine["prepareConv2d"]>; // 1x1 5 -> 5: output shape = input shape
  gemm: ReturnType<Engine["prepareGemm"]>; // b [6, 3]
  gsq: ReturnType<Engine["prepareGemm"]>; // [4, 4] with c [4, 4]
  cRows: Tensor; // [4, 4]
  dispose(): void;
}

function fixture(e: Engine): Fixture {
  const rng = new Rng(3);
  const t = (shape: number[]) => e.tensor(rng.f32(shape.reduce((p, q) => p * q, 1)), shape);
  const x = t([2, 7, 9, 5]);
  const w = t([6, 3, 3, 5]);
  const a = t([4, 6]);
  const b = t([6, 3]);
  const sq = t([4, 4]);
  const v5 = t([5]);
  const w1 = t([5, 1, 1, 5]);
  const cRows = t([4, 4]);
  const conv = e.prepareConv2d(w, { padding: "same" });
  const pw = e.prepareConv2d(w1);
  const gemm = e.prepareGemm(b);
  const gsq = e.prepareGemm(sq, { c: cRows });
  // Warm the plans up so that a failing run has nothing left to allocate.
  for (const y of [conv.run(x), pw.run(x), gemm.run(a), gsq.run(sq)]) y.dispose();
  const live = [x, w, a, b, sq, v5, w1, cRows];
  return {
    e, live, x, w, a, b, sq, v5, conv, pw, gemm, gsq, cRows,
    dispose() {
      for (const op of [conv, pw, gemm, gsq]) op.dispose();
      for (const tt of live) tt.dispose();
    },
  };
}

type Case = [name: string, fn: (f: Fixture) => unknown, cls: ErrorClass, re: RegExp];

const CASES: Case[] = [
  // Tensors
  ["tensor: zero dimension", (f) => f.e.tensor(new Float32Array(0), [0, 3]), ShapeError, /dimension|positive/],
  ["tensor: negative dimension", (f) => f.e.tensor(new Float32Array(3), [-1, 3]), ShapeError, /dimension|positive/],
  ["tensor: non-integer dimension", (f) => f.e.tensor(new Float32Array(5), [2.5, 2]), ShapeError, /dimension|integer/],
  ["tensor: NaN dimension", (f) => f.e.tensor(new Float32Array(1), [NaN]), ShapeError, /dimension/],
  ["tensor: Infinity dimension", (f) => f.e.tensor(new Float32Array(1), [Infinity]), ShapeError, /dimension/],
  ["tensor: empty shape", (f) => f.e.tensor(new Float32Array(1), []), ShapeError, /dimension|shape/],
  ["tensor: data length mismatch", (f) => f.e.tensor(new Float32Array(5), [2, 3]), ShapeError, /6|5|elements/],
  ["tensor: not a Float32Array", (f) => f.e.tensor([1, 2, 3] as unknown as Float32Array, [3]), ArgumentError, /Float32Array/],
  ["tensor: Float64Array", (f) => f.e.tensor(new Float64Array(3) as unknown as Float32Array, [3]), ArgumentError, /Float32Array/],

  // conv2d: ranks, channels, sizes
  ["conv2d: input of rank 3", (f) => f.e.conv2d(f.e.tensor(new Float32Array(45), [1, 9, 5]), f.w), ShapeError, /rank/],
  ["conv2d: weights of rank 3", (f) => f.e.conv2d(f.x, f.e.tensor(new Float32Array(45), [1, 9, 5])), ShapeError, /rank/],
  ["prepared conv2d: input of rank 5", (f) => f.conv.run(f.e.tensor(new Float32Array(630), [1, 2, 7, 9, 5])), ShapeError, /rank|channels/],
  ["conv2d: input channels differ from the weights'", (f) => f.conv.run(f.e.tensor(new Float32Array(2 * 7 * 9 * 4), [2, 7, 9, 4])), ShapeError, /channels/],
  ["conv2d: groups do not divide Cout", (f) => f.e.prepareConv2d(f.w, { groups: 4 }), ShapeError, /groups/],
  ["conv2d: groups times Cin/groups differs from the input's channels", (f) => f.e.conv2d(f.x, f.w, { groups: 2 }), ShapeError, /channels/],
  ["conv2d: kernel larger than the padded input (valid)", (f) => f.e.conv2d(f.e.tensor(new Float32Array(2 * 2 * 9 * 5), [2, 2, 9, 5]), f.w), ArgumentError, /window|padded/],
  ["conv2d: kernel larger than the padded input (dilated)", (f) => f.e.conv2d(f.x, f.w, { dilations: [4, 1] }), ArgumentError, /window|padded/],
  ["conv2d: kernel larger than the padded input (one-sided padding)", (f) => f.e.conv2d(f.e.tensor(new Float32Array(2 * 1 * 9 * 5), [2, 1, 9, 5]), f.w, { padding: [1, 0, 0, 0] }), ArgumentError, /window|padded/],
  ["conv2d: bias of the wrong length (array)", (f) => f.e.prepareConv2d(f.w, { bias: new Float32Array(5) }), ShapeError, /bias/],
  ["conv2d: bias of the wrong length (tensor)", (f) => f.e.prepareConv2d(f.w, { bias: f.v5 }), ShapeError, /bias/],
  ["conv2d: bias of rank 2", (f) => f.e.prepareConv2d(f.w, { bias: f.e.tensor(new Float32Array(6), [1, 6]) }), ShapeError, /bias|rank/],
  // conv2d: option values
  ...(["strides", "dilations"] as const).flatMap((key): Case[] => [
    [`conv2d: ${key} NaN`, (f) => f.e.prepareConv2d(f.w, { [key]: NaN }), ArgumentError, new RegExp(key)],
    [`conv2d: ${key} [1, NaN]`, (f) => f.e.prepareConv2d(f.w, { [key]: [1, NaN] }), ArgumentError, new RegExp(key)],
    [`conv2d: ${key} Infinity`, (f) => f.e.prepareConv2d(f.w, { [key]: Infinity }), ArgumentError, new RegExp(key)],
    [`conv2d: ${key} 0`, (f) => f.e.prepareConv2d(f.w, { [key]: 0 }), ArgumentError, new RegExp(key)],
    [`conv2d: ${key} -1`, (f) => f.e.prepareConv2d(f.w, { [key]: [-1, 1] }), ArgumentError, new RegExp(key)],
    [`conv2d: ${key} 1.5`, (f) => f.e.prepareConv2d(f.w, { [key]: 1.5 }), ArgumentError, new RegExp(key)],
    [`conv2d: ${key} of three`, (f) => f.e.prepareConv2d(f.w, { [key]: [1, 1, 1] as unknown as [number, number] }), ArgumentError, new RegExp(key)],
  ]),
  ["conv2d: padding with NaN", (f) => f.e.prepareConv2d(f.w, { padding: [0, NaN, 0, 0] }), ArgumentError, /padding/],
  ["conv2d: padding with Infinity", (f) => f.e.prepareConv2d(f.w, { padding: [0, 0, Infinity, 0] }), ArgumentError, /padding/],
  ["conv2d: negative padding", (f) => f.e.prepareConv2d(f.w, { padding: [0, 0, 0, -1] }), ArgumentError, /padding/],
  ["conv2d: fractional padding", (f) => f.e.prepareConv2d(f.w, { padding: [0.5, 0, 0, 0] }), ArgumentError, /padding/],
  ["conv2d: padding of three", (f) => f.e.prepareConv2d(f.w, { padding: [1, 1, 1] as unknown as [number, number, number, number] }), ArgumentError, /padding/],
  ["conv2d: unknown padding name", (f) => f.e.prepareConv2d(f.w, { padding: "full" as "same" }), ArgumentError, /padding/],
  ["conv2d: groups NaN", (f) => f.e.prepareConv2d(f.w, { groups: NaN }), ArgumentError, /groups/],
  ["conv2d: groups 0", (f) => f.e.prepareConv2d(f.w, { groups: 0 }), ArgumentError, /groups/],
  ["conv2d: groups -2", (f) => f.e.prepareConv2d(f.w, { groups: -2 }), ArgumentError, /groups/],
  ["conv2d: groups 1.5", (f) => f.e.prepareConv2d(f.w, { groups: 1.5 }), ArgumentError, /groups/],
  ["conv2d: unknown option key", (f) => f.e.prepareConv2d(f.w, { stride: 2 } as object), ArgumentError, /stride/],
  ["conv2d: unknown activation name", (f) => f.e.prepareConv2d(f.w, { activation: "gelu2" as "relu" }), ArgumentError, /activation/],
  ["conv2d: unknown activation object", (f) => f.e.prepareConv2d(f.w, { activation: { swish: 1 } as unknown as "relu" }), ArgumentError, /activation/],
  ["conv2d: clip activation with NaN", (f) => f.e.prepareConv2d(f.w, { activation: { clip: [NaN, 1] } }), ArgumentError, /clip/],
  ["conv2d: clip activation with min > max", (f) => f.e.prepareConv2d(f.w, { activation: { clip: [2, 1] } }), ArgumentError, /clip/],
  ["conv2d: leakyRelu activation with NaN", (f) => f.e.prepareConv2d(f.w, { activation: { leakyRelu: NaN } }), ArgumentError, /leakyRelu/],
  ["conv2d: leakyRelu activation with Infinity", (f) => f.e.prepareConv2d(f.w, { activation: { leakyRelu: Infinity } }), ArgumentError, /leakyRelu/],
  // conv2d: disposed things, out
  ["conv2d: disposed input", (f) => { const x = f.e.tensor(f.x.toArray(), [2, 7, 9, 5]); x.dispose(); return f.conv.run(x); }, DisposedError, /dispose/],
  ["conv2d: disposed weights", (f) => { const w = f.e.tensor(f.w.toArray(), [6, 3, 3, 5]); w.dispose(); return f.e.prepareConv2d(w); }, DisposedError, /dispose/],
  ["conv2d: disposed bias tensor", (f) => { const b = f.e.tensor(new Float32Array(6), [6]); b.dispose(); return f.e.prepareConv2d(f.w, { bias: b }); }, DisposedError, /dispose/],
  ["conv2d: disposed out", (f) => { const o = f.e.tensor(new Float32Array(2 * 7 * 9 * 6), [2, 7, 9, 6]); o.dispose(); return f.conv.run(f.x, o); }, DisposedError, /dispose/],
  ["conv2d: disposed prepared op", (f) => { const op = f.e.prepareConv2d(f.w, { padding: "same" }); op.dispose(); return op.run(f.x); }, DisposedError, /dispose/],
  ["conv2d: out of the wrong shape", (f) => f.conv.run(f.x, f.e.tensor(new Float32Array(2 * 7 * 9 * 5), [2, 7, 9, 5])), ShapeError, /out/],
  ["conv2d: out of the wrong rank", (f) => f.conv.run(f.x, f.e.tensor(new Float32Array(2 * 7 * 9 * 6), [14, 9, 6])), ShapeError, /out/],
  ["conv2d: out is the input", (f) => f.pw.run(f.x, f.x), ArgumentError, /overlap/],
  ["conv2d: input from another engine", (f) => {
    const x = otherEngineTensor(f.e);
    try { return f.conv.run(x); } finally { x.dispose(); }
  }, DisposedError, /engine/],

  // gemm
  ["gemm: a of rank 3", (f) => f.gemm.run(f.e.tensor(new Float32Array(24), [2, 2, 6])), ShapeError, /rank/],
  ["gemm: b of rank 1", (f) => f.e.prepareGemm(f.v5), ShapeError, /rank/],
  ["gemm: K mismatch", (f) => f.gemm.run(f.e.tensor(new Float32Array(20), [4, 5])), ShapeError, /columns|rows|K/],
  ["gemm: K mismatch after transA", (f) => f.e.gemm(f.a, f.b, { transA: true }), ShapeError, /columns|rows|K/],
  ["gemm: K mismatch after transB", (f) => f.e.gemm(f.a, f.b, { transB: true }), ShapeError, /columns|rows|K/],
  ["gemm: alpha NaN", (f) => f.e.prepareGemm(f.b, { alpha: NaN }), ArgumentError, /alpha/],
  ["gemm: alpha Infinity", (f) => f.e.prepareGemm(f.b, { alpha: Infinity }), ArgumentError, /alpha/],
  ["gemm: beta NaN", (f) => f.e.prepareGemm(f.b, { beta: NaN }), ArgumentError, /beta/],
  ["gemm: beta -Infinity", (f) => f.e.prepareGemm(f.b, { beta: -Infinity }), ArgumentError, /beta/],
  ["gemm: transA not a boolean", (f) => f.e.prepareGemm(f.b, { transA: 1 as unknown as boolean }), ArgumentError, /transA/],
  ["gemm: unknown option key", (f) => f.e.prepareGemm(f.b, { transpose: true } as object), ArgumentError, /transpose/],
  ["gemm: unknown activation", (f) => f.e.prepareGemm(f.b, { activation: "swish" as "relu" }), ArgumentError, /activation/],
  ["gemm: bias of the wrong length", (f) => f.e.prepareGemm(f.b, { bias: new Float32Array(4) }), ShapeError, /bias/],
  ["gemm: bias tensor of the wrong length", (f) => f.e.prepareGemm(f.b, { bias: f.v5 }), ShapeError, /bias/],
  ["gemm: c of an unbroadcastable shape", (f) => f.e.prepareGemm(f.b, { c: f.v5 }), ShapeError, /c/],
  ["gemm: c of rank 3", (f) => f.e.prepareGemm(f.b, { c: f.e.tensor(new Float32Array(3), [1, 1, 3]) }), ShapeError, /c/],
  ["gemm: c rows differ from M", (f) => f.e.gemm(f.a, f.b, { c: f.e.tensor(new Float32Array(15), [5, 3]) }), ShapeError, /c/],
  ["gemm: disposed a", (f) => { const a = f.e.tensor(f.a.toArray(), [4, 6]); a.dispose(); return f.gemm.run(a); }, DisposedError, /dispose/],
  ["gemm: disposed b", (f) => { const b = f.e.tensor(f.b.toArray(), [6, 3]); b.dispose(); return f.e.prepareGemm(b); }, DisposedError, /dispose/],
  ["gemm: disposed c", (f) => { const c = f.e.tensor(new Float32Array(3), [3]); c.dispose(); return f.e.prepareGemm(f.b, { c }); }, DisposedError, /dispose/],
  ["gemm: c disposed after prepare", (f) => {
    const c = f.e.tensor(new Float32Array(12), [4, 3]);
    const op = f.e.prepareGemm(f.b, { c });
    op.run(f.a).dispose();
    c.dispose();
    try { return op.run(f.a); } finally { op.dispose(); }
  }, DisposedError, /dispose/],
  ["gemm: disposed out", (f) => { const o = f.e.tensor(new Float32Array(12), [4, 3]); o.dispose(); return f.gemm.run(f.a, o); }, DisposedError, /dispose/],
  ["gemm: disposed prepared op", (f) => { const op = f.e.prepareGemm(f.b); op.dispose(); return op.run(f.a); }, DisposedError, /dispose/],
  ["gemm: out of the wrong shape", (f) => f.gemm.run(f.a, f.e.tensor(new Float32Array(12), [3, 4])), ShapeError, /out/],
  ["gemm: out is a", (f) => f.gsq.run(f.sq, f.sq), ArgumentError, /overlap/],
  ["gemm: out is c", (f) => f.gsq.run(f.sq, f.cRows), ArgumentError, /overlap/],

  // pooling
  ...(["maxPool2d", "avgPool2d"] as const).flatMap((op): Case[] => [
    [`${op}: input of rank 3`, (f) => f.e[op](f.e.tensor(new Float32Array(63), [7, 9, 1]), { kernel: 2 }), ShapeError, /rank/],
    [`${op}: kernel missing`, (f) => f.e[op](f.x, {} as { kernel: number }), ArgumentError, /kernel/],
    [`${op}: kernel 0`, (f) => f.e[op](f.x, { kernel: 0 }), ArgumentError, /kernel/],
    [`${op}: kernel NaN`, (f) => f.e[op](f.x, { kernel: NaN }), ArgumentError, /kernel/],
    [`${op}: kernel [2, -1]`, (f) => f.e[op](f.x, { kernel: [2, -1] }), ArgumentError, /kernel/],
    [`${op}: strides NaN`, (f) => f.e[op](f.x, { kernel: 2, strides: NaN }), ArgumentError, /strides/],
    [`${op}: strides 0`, (f) => f.e[op](f.x, { kernel: 2, strides: [1, 0] }), ArgumentError, /strides/],
    [`${op}: dilations Infinity`, (f) => f.e[op](f.x, { kernel: 2, dilations: Infinity }), ArgumentError, /dilations/],
    [`${op}: padding NaN`, (f) => f.e[op](f.x, { kernel: 2, padding: [NaN, 0, 0, 0] }), ArgumentError, /padding/],
    [`${op}: padding negative`, (f) => f.e[op](f.x, { kernel: 2, padding: [0, -1, 0, 0] }), ArgumentError, /padding/],
    [`${op}: kernel larger than the padded input`, (f) => f.e[op](f.x, { kernel: [8, 2] }), ArgumentError, /window|padded/],
    [`${op}: dilated kernel larger than the padded input`, (f) => f.e[op](f.x, { kernel: 3, dilations: [1, 5], padding: [0, 0, 0, 0] }), ArgumentError, /window|padded/],
    [`${op}: unknown option key`, (f) => f.e[op](f.x, { kernel: 2, size: 3 } as { kernel: number }), ArgumentError, /size/],
    [`${op}: disposed input`, (f) => { const x = f.e.tensor(new Float32Array(4), [1, 2, 2, 1]); x.dispose(); return f.e[op](x, { kernel: 2 }); }, DisposedError, /dispose/],
  ]),
  ["avgPool2d: countIncludePad not a boolean", (f) => f.e.avgPool2d(f.x, { kernel: 2, countIncludePad: 1 as unknown as boolean }), ArgumentError, /countIncludePad/],
  ["maxPool2d: countIncludePad is not an option", (f) => f.e.maxPool2d(f.x, { kernel: 2, countIncludePad: true } as { kernel: number }), ArgumentError, /countIncludePad/],
  ["globalAvgPool: input of rank 2", (f) => f.e.globalAvgPool(f.a), ShapeError, /rank/],
  ["globalMaxPool: input of rank 1", (f) => f.e.globalMaxPool(f.v5), ShapeError, /rank/],
  ["globalMaxPool: disposed input", (f) => { const x = f.e.tensor(new Float32Array(4), [1, 2, 2, 1]); x.dispose(); return f.e.globalMaxPool(x); }, DisposedError, /dispose/],

  // elementwise
  ["clip: min NaN", (f) => f.e.clip(f.x, NaN, 1), ArgumentError, /min/],
  ["clip: max NaN", (f) => f.e.clip(f.x, 0, NaN), ArgumentError, /max/],
  ["clip: min > max", (f) => f.e.clip(f.x, 1, 0), ArgumentError, /min|max/],
  ["leakyRelu: alpha NaN", (f) => f.e.leakyRelu(f.x, NaN), ArgumentError, /alpha/],
  ["leakyRelu: alpha Infinity", (f) => f.e.leakyRelu(f.x, Infinity), ArgumentError, /alpha/],
  ["relu: disposed input", (f) => { const x = f.e.tensor(new Float32Array(4), [4]); x.dispose(); return f.e.relu(x); }, DisposedError, /dispose/],
  ["sigmoid: not a tensor", (f) => f.e.sigmoid(new Float32Array(3) as unknown as Tensor), ArgumentError, /Tensor/],
  ...(["add", "sub", "mul", "div"] as const).flatMap((op): Case[] => [
    [`${op}: b of another shape`, (f) => f.e[op](f.a, f.b), ShapeError, /shape|b/],
    [`${op}: b over the wrong axis`, (f) => f.e[op](f.a, f.e.tensor(new Float32Array(4), [4])), ShapeError, /shape|b/],
    [`${op}: same size, different shape`, (f) => f.e[op](f.b, f.e.tensor(new Float32Array(18), [3, 6])), ShapeError, /shape|b/],
    [`${op}: disposed b`, (f) => { const b = f.e.tensor(new Float32Array(1), [1]); b.dispose(); return f.e[op](f.a, b); }, DisposedError, /dispose/],
    [`${op}: b NaN`, (f) => f.e[op](f.a, NaN), ArgumentError, /number.*NaN/],
    [`${op}: b a string`, (f) => f.e[op](f.a, "2" as unknown as number), ArgumentError, /Tensor or a number.*"2"/],
    [`${op}: b a Float32Array`, (f) => f.e[op](f.a, new Float32Array(1) as unknown as Tensor), ArgumentError, /Tensor or a number/],
    [`${op}: disposed a, b a number`, (f) => { const a = f.e.tensor(new Float32Array(1), [1]); a.dispose(); return f.e[op](a, 2); }, DisposedError, /dispose/],
  ]),
  ["softmax: disposed input", (f) => { const x = f.e.tensor(new Float32Array(4), [4]); x.dispose(); return f.e.softmax(x); }, DisposedError, /dispose/],
];

const others = new Map<Engine, Engine>();
function otherEngineTensor(e: Engine): Tensor {
  const other = others.get(e)!;
  return other.tensor(new Float32Array(2 * 7 * 9 * 5), [2, 7, 9, 5]);
}

describe.each(BACKENDS)("%s: bad arguments throw a SimdcnnError subclass and leave memory as it was", (backend) => {
  let f: Fixture;
  beforeAll(() => {
    f = fixture(E[backend]);
    others.set(E[backend], E[backend === "simd" ? "scalar" : "simd"]);
  });

  it.each(CASES)("%s", (_name, fn, cls, re) => {
    // Tensors a case makes itself (to dispose them, or as bad arguments) are not "memory as it
    // was": count them out by measuring around a dry run that only builds the arguments.
    const e = f.e;
    const made: Tensor[] = [];
    const tensor = e.tensor.bind(e);
    (e as { tensor: typeof e.tensor }).tensor = (d, s) => {
      const t = tensor(d, s);
      made.push(t);
      return t;
    };
    try {
      const before = e.memoryBytes;
      let err: unknown;
      const kept = f.live.map((t) => bits(t));
      try {
        fn(f);
      } catch (x) {
        err = x;
      }
      const madeBytes = made.filter((t) => !t.disposed).reduce((s, t) => s + Math.max(16, Math.ceil(t.bytes / 16) * 16), 0);
      expect(err, "no error was thrown").toBeInstanceOf(SimdcnnError);
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).name).toBe(cls.name);
      expect((err as Error).message).toMatch(re);
      expect(e.memoryBytes - madeBytes, "memoryBytes after the error (not counting the case's own argument tensors)").toBe(before);
      f.live.forEach((t, i) => expect(bits(t), `live tensor [${t.shape}]`).toEqual(kept[i]));
    } finally {
      delete (e as { tensor?: unknown }).tensor;
      for (const t of made) t.dispose();
    }
  });

  it("the prepared ops of the fixture still work after all the errors", () => {
    const y = f.conv.run(f.x);
    expect([...y.shape]).toEqual([2, 7, 9, 6]);
    y.dispose();
  });
});

describe.each(BACKENDS)("%s: errors in the run of a prepared op", (backend) => {
  it("a first run with an out of the wrong shape leaves memoryBytes as it was", () => {
    const e = E[backend];
    const x = e.tensor(new Float32Array(2 * 5 * 5 * 3), [2, 5, 5, 3]);
    const w = e.tensor(new Float32Array(4 * 3 * 3 * 3), [4, 3, 3, 3]);
    const bad = e.tensor(new Float32Array(2 * 5 * 5 * 4), [2, 5, 5, 4]); // 'valid' gives [2, 3, 3, 4]
    const op = e.prepareConv2d(w);
    const before = e.memoryBytes;
    expectError(e, [x, w, bad], () => op.run(x, bad), ShapeError, /out/);
    expect(e.memoryBytes).toBe(before);
    op.dispose();
    for (const t of [x, w, bad]) t.dispose();
  });

  function rowsCase(e: Engine) {
    const rng = new Rng(8);
    const b = e.tensor(rng.f32(4 * 3), [4, 3]);
    const c = e.tensor(rng.f32(5 * 3), [5, 3]);
    const a = e.tensor(rng.f32(2 * 4), [2, 4]); // M = 2, but c has 5 rows
    const op = e.prepareGemm(b, { c });
    return { a, b, c, op, done: () => { op.dispose(); for (const t of [a, b, c]) t.dispose(); } };
  }

  it("gemm with a [M, N] c: a run with another M throws and leaves memoryBytes as it was", () => {
    const e = E[backend];
    const { a, b, c, op, done } = rowsCase(e);
    expectError(e, [a, b, c], () => op.run(a), ShapeError, /c/);
    done();
  });

  it("gemm with a [M, N] c: the same bad run throws again (no plan without c is reused)", () => {
    const e = E[backend];
    const { a, op, done } = rowsCase(e);
    expect(() => op.run(a)).toThrow(ShapeError);
    let second: Tensor | undefined;
    try {
      expect(() => (second = op.run(a))).toThrow(ShapeError);
    } finally {
      second?.dispose();
      done();
    }
  });

  it("engine.conv2d and engine.gemm free what they prepared when the run fails", () => {
    const e = E[backend];
    const x = e.tensor(new Float32Array(1 * 5 * 5 * 3), [1, 5, 5, 3]);
    const w = e.tensor(new Float32Array(4 * 3 * 3 * 2), [4, 3, 3, 2]);
    const a = e.tensor(new Float32Array(6), [2, 3]);
    const b = e.tensor(new Float32Array(8), [4, 2]);
    const before = e.memoryBytes;
    expectError(e, [x, w], () => e.conv2d(x, w), ShapeError, /channels/);
    expectError(e, [a, b], () => e.gemm(a, b), ShapeError, /columns|rows/);
    expect(e.memoryBytes).toBe(before);
    for (const t of [x, w, a, b]) t.dispose();
  });
});

describe("init", () => {
  it("rejects an unknown backend with an ArgumentError", async () => {
    await expect(init({ backend: "gpu" as "simd" })).rejects.toThrow(ArgumentError);
    await expect(init({ backend: "gpu" as "simd" })).rejects.toThrow(/backend/);
  });
  it("rejects an unknown option key with an ArgumentError", async () => {
    await expect(init({ thread: 2 } as object)).rejects.toThrow(ArgumentError);
  });
});

describe.each(BACKENDS)("%s: strides and padding beyond the int32 range the kernels take", (backend) => {
  // The options are validated as safe integers in TypeScript but reach the kernels as i32. Either
  // the op refuses them with a SimdcnnError, or its result is the reference result.
  const x4 = new Float32Array([1, 2, 3, 4]);
  type Big = [name: string, run: (e: Engine, x: Tensor) => Tensor, ref: number[]];
  const CASES_BIG: Big[] = [
    // One output row lies wholly in the 2^32 rows of top padding, the next reads image row 0.
    ["maxPool2d kernel 1, strides [2^32, 1], padding [2^32, 0, 0, 0]", (e, x) => e.maxPool2d(x, { kernel: 1, strides: [2 ** 32, 1], padding: [2 ** 32, 0, 0, 0] }), [-Infinity, -Infinity, 1, 2]],
    ["maxPool2d kernel 1, strides [2^31, 1], padding [2^31, 0, 0, 0]", (e, x) => e.maxPool2d(x, { kernel: 1, strides: [2 ** 31, 1], padding: [2 ** 31, 0, 0, 0] }), [-Infinity, -Infinity, 1, 2]],
    // Windows of 2 rows: the first wholly in padding (0 with the padding counted: 2 taps), the second rows 0 and 1.
    ["avgPool2d kernel [2, 1], strides [2^31-1, 1], padding [2^31-1, 0, 0, 0], countIncludePad", (e, x) => e.avgPool2d(x, { kernel: [2, 1], strides: [2 ** 31 - 1, 1], padding: [2 ** 31 - 1, 0, 0, 0], countIncludePad: true }), [0, 0, 2, 3]],
  ];
  // x [1, 2, 1, 2] = rows (1, 2) and (3, 4). 1x1 convolutions with strides [2^32, 1]: output row 0
  // reads image row 0, output row 1 lies 2^32 rows away, in the padding (0).
  const CONV_BIG: Big[] = [
    ["conv2d 1x1 w [1,1,1,2] = (1, 1), strides [2^32, 1], padding [0, 0, 2^32, 0]", (e, x) => {
      const w = e.tensor(new Float32Array([1, 1]), [1, 1, 1, 2]);
      try { return e.conv2d(x, w, { strides: [2 ** 32, 1], padding: [0, 0, 2 ** 32, 0] }); } finally { w.dispose(); }
    }, [3, 0]],
    ["conv2d 1x1 w [1,1,1,2] = (1, 1), strides [2^32, 1], padding [2^32, 0, 0, 0]", (e, x) => {
      const w = e.tensor(new Float32Array([1, 1]), [1, 1, 1, 2]);
      try { return e.conv2d(x, w, { strides: [2 ** 32, 1], padding: [2 ** 32, 0, 0, 0] }); } finally { w.dispose(); }
    }, [0, 3]],
    ["depthwise conv2d 1x1 w [2,1,1,1] = (1, 1), groups 2, strides [2^32, 1], padding [0, 0, 2^32, 0]", (e, x) => {
      const w = e.tensor(new Float32Array([1, 1]), [2, 1, 1, 1]);
      try { return e.conv2d(x, w, { groups: 2, strides: [2 ** 32, 1], padding: [0, 0, 2 ** 32, 0] }); } finally { w.dispose(); }
    }, [1, 2, 0, 0]],
  ];
  it.each([...CASES_BIG.map((c) => [...c, [1, 2, 2, 1]] as const), ...CONV_BIG.map((c) => [...c, [1, 2, 1, 2]] as const)])("%s", (_name, run, ref, shape) => {
    const e = E[backend];
    const before = e.memoryBytes;
    const x = e.tensor(x4, [...shape]);
    let y: Tensor | undefined;
    try {
      y = run(e, x);
    } catch (err) {
      expect(err).toBeInstanceOf(SimdcnnError);
    }
    if (y) {
      expect(y.size).toBe(ref.length);
      expect(Array.from(y.toArray())).toEqual(ref);
      y.dispose();
    }
    x.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});
