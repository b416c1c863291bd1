// Threads: any thread count gives the bits of one thread, for every op family the pool splits and
// for whole networks; dispatch survives many interleaved ops; errors and exits behave.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BackendError, type Engine, type Model, type Tensor, init, layers } from "../src/node.js";
import { ACT } from "../src/runtime/kernels.js";
import { PARALLEL_MIN_ELEMENTS } from "../src/runtime/runtime.js";
import { Net } from "./networks.js";
import { Rng } from "./reference.js";
import { bits, threadEngines, widest } from "./threading.js";

const counts = [1, 2, 3, 4];
const engines = threadEngines(counts);


/**
 * Like `same`, and checks that every engine with several threads did split a dispatch into at
 * least one call a thread (ops split into more ranges than threads, which the threads take as
 * they come free), so that the comparison is not one thread against itself.
 */
function split(name: string, f: (e: Engine) => Float32Array): void {
  const results = counts.map((n) => {
    const { result, calls } = widest(engines.get(n)!, () => f(engines.get(n)!));
    if (n === 1) expect(calls, `${name}: 1 thread split the work into ${calls} calls`).toBe(1);
    else expect(calls, `${name}: ${n} threads split the work into ${calls} calls`).toBeGreaterThanOrEqual(n);
    return bits(result);
  });
  for (const [i, r] of results.entries()) expect(r === results[0], `${name}: ${counts[i]} threads differ from 1`).toBe(true);
}

/** Runs `f` on every engine and checks all results have the bits of the one-thread engine. */
function same(name: string, f: (e: Engine) => Float32Array): void {
  const results = counts.map((n) => bits(f(engines.get(n)!)));
  for (const [i, r] of results.entries()) expect(r === results[0], `${name}: ${counts[i]} threads differ from 1`).toBe(true);
}

describe("threads", () => {
  it("start as many as asked (more than cores too) and say why when they cannot", async () => {
    for (const n of counts) {
      expect(engines.get(n)!.threads).toBe(n);
      expect(engines.get(n)!.threadsNote).toBe("");
    }
    const scalar = await init({ backend: "scalar", threads: 2 });
    expect(scalar.threads).toBe(1);
    expect(scalar.threadsNote).toMatch(/scalar/);
  });

  const rng = new Rng(11);
  const convCases = [
    { x: [1, 56, 56, 32], w: [48, 3, 3, 32], opts: { padding: "same" as const, activation: "relu" as const } },
    { x: [2, 31, 29, 17], w: [13, 3, 3, 17], opts: { strides: 2, padding: [1, 0, 2, 1] as [number, number, number, number] } },
    { x: [1, 40, 40, 16], w: [64, 1, 1, 16], opts: {} },
    { x: [1, 60, 60, 24], w: [24, 3, 3, 1], opts: { groups: 24, padding: "same" as const, activation: "relu6" as const } },
    { x: [1, 60, 60, 24], w: [24, 5, 5, 1], opts: { groups: 24, padding: "same" as const } },
    { x: [3, 97, 83, 1], w: [16, 3, 3, 1], opts: { padding: "same" as const, activation: "relu" as const } },
    { x: [1, 30, 30, 12], w: [24, 3, 3, 4], opts: { groups: 3, padding: "same" as const } },
    // The small-channel path (rows in ranges, a sigmoid applied per stored row).
    { x: [2, 131, 97, 3], w: [5, 3, 3, 3], opts: { strides: [2, 1] as [number, number], padding: "same" as const, activation: "sigmoid" as const } },
  ];
  for (const [i, c] of convCases.entries()) {
    const x = rng.f32(c.x.reduce((a, b) => a * b, 1), -1, 1);
    const w = rng.f32(c.w.reduce((a, b) => a * b, 1), -0.2, 0.2);
    it(`conv2d #${i} x[${c.x}] w[${c.w}] gives the same bits on 1-4 threads`, () => {
      same(`conv #${i}`, (e) => {
        const xt = e.tensor(x, c.x);
        const wt = e.tensor(w, c.w);
        const y = e.conv2d(xt, wt, c.opts);
        const out = y.toArray();
        for (const t of [xt, wt, y]) t.dispose();
        return out;
      });
    });
  }

  const deconvCases = [
    { x: [1, 32, 32, 32], w: [32, 2, 2, 16], opts: { strides: 2 } },
    { x: [2, 17, 19, 13], w: [13, 3, 3, 11], opts: { strides: 2, padding: [1, 0, 1, 1] as [number, number, number, number], outputPadding: 1, activation: "relu" as const } },
    { x: [1, 64, 64, 12], w: [12, 4, 4, 8], opts: { strides: 2, groups: 3, padding: "same" as const } },
    { x: [1, 64, 64, 32], w: [32, 4, 4, 1], opts: { strides: 2, groups: 32, padding: "same" as const, activation: "relu6" as const } },
  ];
  for (const [i, c] of deconvCases.entries()) {
    const x = rng.f32(c.x.reduce((a, b) => a * b, 1), -1, 1);
    const w = rng.f32(c.w.reduce((a, b) => a * b, 1), -0.2, 0.2);
    it(`conv2dTranspose #${i} x[${c.x}] w[${c.w}] gives the same bits on 1-4 threads, split`, () => {
      split(`conv2dTranspose #${i}`, (e) => {
        const xt = e.tensor(x, c.x);
        const wt = e.tensor(w, c.w);
        const y = e.conv2dTranspose(xt, wt, c.opts);
        const out = y.toArray();
        for (const t of [xt, wt, y]) t.dispose();
        return out;
      });
    });
  }

  it("gemm (with a per-row c and transA) gives the same bits on 1-4 threads", () => {
    const a = rng.f32(301 * 257, -1, 1);
    const b = rng.f32(257 * 190, -1, 1);
    const c = rng.f32(301 * 190, -1, 1);
    same("gemm", (e) => {
      const [at, bt, ct] = [e.tensor(a, [257, 301]), e.tensor(b, [257, 190]), e.tensor(c, [301, 190])];
      const y = e.gemm(at, bt, { transA: true, c: ct, beta: 0.5, activation: "tanh" });
      const out = y.toArray();
      for (const t of [at, bt, ct, y]) t.dispose();
      return out;
    });
  });

  // Memory-bound ops split above PARALLEL_MIN_ELEMENTS; every case is several times that, with
  // remainders against the split grains (16 floats, rows, images) in every dimension.
  const eager = (shape: number[], op: (e: Engine, x: Tensor) => Tensor) => {
    const data = rng.f32(shape.reduce((a, b) => a * b, 1), -2, 2);
    return (e: Engine) => {
      const x = e.tensor(data, shape);
      const y = op(e, x);
      const out = y.toArray();
      x.dispose();
      y.dispose();
      return out;
    };
  };
  const big = PARALLEL_MIN_ELEMENTS * 4;
  const poolCases: [string, number[], (e: Engine, x: Tensor) => Tensor][] = [
    ["maxPool2d 3x3 s2 pads [1,0,2,1], one image (rows split)", [1, 131, 97, 19], (e, x) => e.maxPool2d(x, { kernel: 3, strides: 2, padding: [1, 0, 2, 1] })],
    ["maxPool2d 2x2 dilation 2, three images", [3, 67, 45, 21], (e, x) => e.maxPool2d(x, { kernel: 2, strides: 1, dilations: 2 })],
    ["avgPool2d 3x3 'same' count_include_pad, three images", [3, 61, 53, 21], (e, x) => e.avgPool2d(x, { kernel: 3, strides: 1, padding: "same", countIncludePad: true })],
    ["avgPool2d 5x3 s3 pads [2,1,2,2], one image", [1, 149, 131, 13], (e, x) => e.avgPool2d(x, { kernel: [5, 3], strides: 3, padding: [2, 1, 2, 2] })],
    ["globalAvgPool, five images", [5, 40, 41, 24], (e, x) => e.globalAvgPool(x)],
    ["globalMaxPool, five images", [5, 40, 41, 24], (e, x) => e.globalMaxPool(x)],
  ];
  for (const [name, shape, op] of poolCases) it(`${name} [${shape}] gives the same bits on 1-4 threads, split`, () => split(name, eager(shape, op)));

  const n = big + 13;
  const other = rng.f32(n, 0.5, 2);
  const perChannel = rng.f32(13, -1, 1);
  const elementwiseCases: [string, number[], (e: Engine, x: Tensor) => Tensor][] = [
    ["relu", [n], (e, x) => e.relu(x)],
    ["sigmoid", [n], (e, x) => e.sigmoid(x)],
    ["leakyRelu", [5, 9, Math.ceil(big / 45) + 1], (e, x) => e.leakyRelu(x, 0.3)],
    ["div, same shape", [n], (e, x) => binaryWith(e, x, other, [n], "div")],
    ["sub, over the last axis (13)", [Math.ceil(big / 13) + 1, 13], (e, x) => binaryWith(e, x, perChannel, [13], "sub")],
    ["mul by one element", [n], (e, x) => binaryWith(e, x, Float32Array.of(-1.5), [1], "mul")],
    ["softmax over 77 columns", [Math.ceil(big / 77 / 10) + 3, 77], (e, x) => e.softmax(x)],
  ];
  for (const [name, shape, op] of elementwiseCases) it(`${name} [${shape}] gives the same bits on 1-4 threads, split`, () => split(name, eager(shape, op)));

  it("an ONNX MatMul of two inputs (batched, and one side shared) gives the same bits on 1-4 threads, split", async () => {
    const net = new Net(new Rng(5));
    net.output(net.op("MatMul", ["a", "b"]), "y");
    net.output(net.op("MatMul", ["a", "s"]), "z");
    const bytes = net.model({
      opset: 13,
      inputs: [{ name: "a", shape: [3, 129, 67] }, { name: "b", shape: [3, 67, 250] }, { name: "s", shape: [1, 67, 93] }],
      outputs: [{ name: "y", shape: [3, 129, 250] }, { name: "z", shape: [3, 129, 93] }],
    });
    const a = rng.f32(3 * 129 * 67, -1, 1);
    const b = rng.f32(3 * 67 * 250, -1, 1);
    const sh = rng.f32(67 * 93, -1, 1);
    const models = new Map<number, Model>();
    for (const c of counts) models.set(c, await engines.get(c)!.loadOnnx(bytes));
    split("matmul", (e) => {
      const m = models.get(counts.find((c) => engines.get(c) === e)!)!;
      const r = m.run({ a, b, s: sh });
      const both = new Float32Array(r.y.length + r.z.length);
      both.set(r.y);
      both.set(r.z, r.y.length);
      return both;
    });
    for (const m of models.values()) m.dispose();
  });

  it("the graph's copies (Concat, Pad's fill, a Slice of negative step) split by rows with remainders give the expected values on 1-4 threads", async () => {
    // R is prime, so no split of its rows (or of the fill's 16-float runs) comes out even.
    const R = 30011;
    const net = new Net(new Rng(6));
    net.output(net.op("Concat", ["a", "b"], { axis: 1 }), "y");
    net.output(net.op("Pad", ["a", net.int64([4], [1, 2, 3, 1]), net.constant([], [0.5])]), "z");
    net.output(net.op("Slice", ["a", net.int64([1], [R - 1]), net.int64([1], [-R - 1]), net.int64([1], [0]), net.int64([1], [-2])]), "s");
    const rows = Math.ceil(R / 2);
    const bytes = net.model({
      opset: 13,
      inputs: [{ name: "a", shape: [R, 13] }, { name: "b", shape: [R, 6] }],
      outputs: [{ name: "y", shape: [R, 19] }, { name: "z", shape: [R + 4, 16] }, { name: "s", shape: [rows, 13] }],
    });
    const a = rng.f32(R * 13, -1, 1);
    const b = rng.f32(R * 6, -1, 1);
    // The expected values, element by element from the inputs.
    const y = new Float32Array(R * 19);
    const z = new Float32Array((R + 4) * 16).fill(0.5);
    const sl = new Float32Array(rows * 13);
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < 13; c++) {
        y[r * 19 + c] = a[r * 13 + c];
        z[(r + 1) * 16 + 2 + c] = a[r * 13 + c];
      }
      for (let c = 0; c < 6; c++) y[r * 19 + 13 + c] = b[r * 6 + c];
    }
    for (let i = 0; i < rows; i++) for (let c = 0; c < 13; c++) sl[i * 13 + c] = a[(R - 1 - 2 * i) * 13 + c];
    for (const n of counts) {
      const e = engines.get(n)!;
      const m = await e.loadOnnx(bytes);
      try {
        const { result, calls } = widest(e, () => m.run({ a, b }));
        if (n > 1) expect(calls, `${n} threads split the copies into ${calls} calls`).toBeGreaterThanOrEqual(n);
        expect(bits(result.y as Float32Array) === bits(y), `Concat on ${n} threads`).toBe(true);
        expect(bits(result.z as Float32Array) === bits(z), `Pad on ${n} threads`).toBe(true);
        expect(bits(result.s as Float32Array) === bits(sl), `Slice on ${n} threads`).toBe(true);
      } finally {
        m.dispose();
      }
    }
  });

  it("an 8-bit convolution (onnxruntime's dynamic quantization) gives the same bits on 1-4 threads, split", async () => {
    const net = new Net(new Rng(6));
    net.op("DynamicQuantizeLinear", ["x"], undefined, "dql", ["xq", "xs", "xz"]);
    const w = net.int8([24, 16, 3, 3], Array.from({ length: 24 * 16 * 9 }, () => rng.int(-128, 127)), true);
    const acc = net.op("ConvInteger", ["xq", w, "xz", net.int8([], [0], true)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    net.output(net.op("Mul", [net.op("Cast", [acc], { to: 1 }), net.op("Mul", ["xs", net.constant([24, 1, 1], rng.f32(24, 1e-3, 1e-2))])]), "y");
    const bytes = net.model({ opset: 13, inputs: [{ name: "x", shape: [1, 16, 32, 32] }], outputs: [{ name: "y" }] });
    const x = rng.f32(16 * 32 * 32, -1, 1);
    const models = new Map<number, Model>();
    for (const c of counts) models.set(c, await engines.get(c)!.loadOnnx(bytes));
    split("qconv", (e) => models.get(counts.find((c) => engines.get(c) === e)!)!.run({ x }).y as Float32Array);
    for (const m of models.values()) m.dispose();
  });

  it("an 8-bit depthwise convolution and the 8-bit pools give the same bits on 1-4 threads, split", async () => {
    const net = new Net(new Rng(7));
    const pair = (v: string, scale: number, zp: number) => {
      const sc = net.constant([], [scale]);
      const z = net.int8([], [zp], false);
      return net.op("DequantizeLinear", [net.op("QuantizeLinear", [v, sc, z]), sc, z]);
    };
    const w = net.int8([24, 1, 3, 3], Array.from({ length: 24 * 9 }, () => rng.int(-127, 127)), true);
    const wd = net.op("DequantizeLinear", [w, net.constant([24], rng.f32(24, 1e-3, 1e-2)), net.int8([24], new Array(24).fill(0), true)], { axis: 0 });
    const dw = pair(net.op("Conv", [pair("x", 0.01, 128), wd], { kernel_shape: [3, 3], group: 24, pads: [1, 1, 1, 1] }), 0.02, 120);
    const avg = pair(net.op("AveragePool", [dw], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), 0.015, 125);
    net.output(net.op("MaxPool", [avg], { kernel_shape: [2, 2], strides: [2, 2] }), "y");
    const bytes = net.model({ opset: 13, inputs: [{ name: "x", shape: [1, 24, 40, 40] }], outputs: [{ name: "y" }] });
    const x = rng.f32(24 * 40 * 40, -1, 1);
    const models = new Map<number, Model>();
    for (const c of counts) models.set(c, await engines.get(c)!.loadOnnx(bytes));
    expect(models.get(1)!.summary()).toMatch(/qconv 3x3 24->24 g24 int8[\s\S]*avgpool 3x3 int8[\s\S]*maxpool 2x2 int8/);
    split("qdwconv and qpool", (e) => models.get(counts.find((c) => engines.get(c) === e)!)!.run({ x }).y as Float32Array);
    for (const m of models.values()) m.dispose();
  });

  it("a layers network with a residual add gives the same bits on 1-4 threads", () => {
    const w1 = rng.f32(16 * 9 * 3, -0.3, 0.3);
    const w2 = rng.f32(16 * 9 * 16, -0.1, 0.1);
    const image = rng.f32(2 * 64 * 64 * 3, -1, 1);
    same("layers net", (e) => {
      const x = layers.input([64, 64, 3]);
      const a = layers.conv2d({ filters: 16, kernel: 3, padding: "same", weights: w1, activation: "relu" }).apply(x);
      const b = layers.conv2d({ filters: 16, kernel: 3, padding: "same", weights: w2 }).apply(a);
      const y = layers.globalAvgPool2d().apply(layers.relu().apply(layers.add().apply([a, b])));
      const m = e.graph({ inputs: [x], outputs: [y] });
      const out = m.run({ input: image }).output;
      m.dispose();
      return out;
    });
  });

  it("the ONNX demo model gives the same bits on 1-4 threads, run back to back and interleaved", async () => {
    const phantom = readFileSync(new URL("../examples/phantom/phantom.onnx", import.meta.url));
    const models = new Map<number, Model>();
    for (const n of counts) models.set(n, await engines.get(n)!.loadOnnx(phantom));
    const inputs = [1, 3, 8].map((b) => rng.f32(b * 128 * 128, 0, 1));
    const t0 = performance.now();
    for (let round = 0; round < 4; round++) {
      for (const input of inputs) {
        const outs = counts.map((n) => bits(models.get(n)!.run({ slice: input }).logits));
        for (const [i, o] of outs.entries()) expect(o === outs[0], `phantom, ${counts[i]} threads`).toBe(true);
      }
    }
    // Several async callers at once: each run is synchronous, so they interleave between runs.
    const callers = await Promise.all(
      counts.map(async (n) => {
        const r: string[] = [];
        for (const input of inputs) {
          await Promise.resolve();
          r.push(bits(models.get(n)!.run({ slice: input }).logits));
        }
        return r.join();
      }),
    );
    for (const c of callers) expect(c).toBe(callers[0]);
    expect(performance.now() - t0).toBeLessThan(60_000);
    for (const m of models.values()) m.dispose();
  });

  it("many small and large ops interleaved neither deadlock nor mix up results", () => {
    const e = engines.get(3)!;
    const one = engines.get(1)!;
    const big = rng.f32(48 * 48 * 32, -1, 1);
    const wBig = rng.f32(32 * 9 * 32, -0.1, 0.1);
    const small = rng.f32(4 * 4 * 8, -1, 1);
    const wSmall = rng.f32(8 * 9 * 8, -0.1, 0.1);
    const run = (en: Engine, i: number) => {
      const isBig = i % 3 === 0;
      const x = en.tensor(isBig ? big : small, isBig ? [1, 48, 48, 32] : [1, 4, 4, 8]);
      const w = en.tensor(isBig ? wBig : wSmall, isBig ? [32, 3, 3, 32] : [8, 3, 3, 8]);
      const y = en.conv2d(x, w, { padding: "same" });
      const p = en.maxPool2d(y, { kernel: 2 });
      const out = bits(p.toArray());
      for (const t of [x, w, y, p]) t.dispose();
      return out;
    };
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) expect(run(e, i)).toBe(run(one, i));
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it("a dispatch of more calls than threads, and more than the pool's table holds, runs each call once", () => {
    // abs of 150 runs of 37 floats (odd, so runs start off vector boundaries), in place: a call run
    // twice would still give abs, so the input is also negated in a second dispatch, whose
    // expected value a call run twice or skipped would get wrong.
    const e = engines.get(3)!;
    const rt = (e as unknown as { rt: { pool: { run(c: unknown[], what: string): void } } }).rt;
    const runs = 150;
    const len = 37;
    const data = rng.f32(runs * len, -1, 1);
    const t = e.tensor(data, [runs * len]);
    const calls = (kind: number) => Array.from({ length: runs }, (_, k) => ({ fn: "unary_f32", args: { n: len, x: t.ptr + k * len * 4, y: t.ptr + k * len * 4, kind, p0: 0, p1: 0 } }));
    rt.pool.run(calls(ACT.abs), "abs");
    rt.pool.run(calls(ACT.neg), "neg");
    const got = t.toArray();
    t.dispose();
    const want = data.map((v) => -Math.abs(v));
    expect(bits(got) === bits(want)).toBe(true);
  });

  it("an error inside a worker reaches the caller as a typed error naming the op, and the pool still works", () => {
    const e = engines.get(2)!;
    const rt = (e as unknown as { rt: { pool: { run(c: unknown[], what: string): void }; heap: { bytesReserved: number } } }).rt;
    const beyond = rt.heap.bytesReserved + 4096;
    expect(() =>
      rt.pool.run([{ fn: "unary_f32", args: { n: 16, x: 64, y: 64, kind: 0, p0: 0, p1: 0 } }, { fn: "unary_f32", args: { n: 16, x: beyond, y: beyond, kind: 0, p0: 0, p1: 0 } }], "test op"),
    ).toThrow(BackendError);
    try {
      rt.pool.run([{ fn: "unary_f32", args: { n: 16, x: 64, y: 64, kind: 0, p0: 0, p1: 0 } }, { fn: "unary_f32", args: { n: 16, x: beyond, y: beyond, kind: 0, p0: 0, p1: 0 } }], "test op");
    } catch (err) {
      expect((err as Error).message).toMatch(/test op/);
    }
    same("after the error", (en) => {
      const x = en.tensor(big2, [1, 40, 40, 32]);
      const w = en.tensor(w2, [32, 3, 3, 32]);
      const y = en.conv2d(x, w, { padding: "same" });
      const out = y.toArray();
      for (const t of [x, w, y]) t.dispose();
      return out;
    });
  });
  const big2 = rng.f32(40 * 40 * 32, -1, 1);
  const w2 = rng.f32(32 * 9 * 32, -0.1, 0.1);

  it("a Node script that forgets engine.dispose() still exits when its work is done", async () => {
    const script = `
      import { init } from ${JSON.stringify(new URL("../src/node.ts", import.meta.url).pathname)};
      const e = await init({ threads: 2 });
      const x = e.tensor(new Float32Array(64 * 64 * 16).fill(0.5), [1, 64, 64, 16]);
      const w = e.tensor(new Float32Array(16 * 9 * 16).fill(0.1), [16, 3, 3, 16]);
      console.log(e.threads, e.conv2d(x, w, { padding: "same" }).toArray()[0], e.threadsNote);
    `;
    const dir = mkdtempSync(join(tmpdir(), "simdcnn-threads-"));
    const file = join(dir, "forget.mts");
    writeFileSync(file, script);
    const tsx = new URL("../node_modules/.bin/tsx", import.meta.url).pathname;
    const t0 = Date.now();
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(tsx, [file], { timeout: 20_000 }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(stdout.trim()).toMatch(/^2 /);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});

function binaryWith(e: Engine, x: Tensor, data: Float32Array, shape: number[], op: "add" | "sub" | "mul" | "div"): Tensor {
  const b = e.tensor(data, shape);
  try {
    return e[op](x, b);
  } finally {
    b.dispose();
  }
}
