// Threads: any thread count gives the bits of one thread, for every op family the pool splits and
// for whole networks; dispatch survives many interleaved ops; errors and exits behave.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, type Engine, type Model, init, layers } from "../src/node.js";
import { Rng } from "./reference.js";

const counts = [1, 2, 3, 4];
const engines = new Map<number, Engine>();

beforeAll(async () => {
  for (const n of counts) engines.set(n, await init({ threads: n }));
});
afterAll(() => {
  for (const e of engines.values()) e.dispose();
});

function bits(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
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

  it("an error inside a worker reaches the caller as a typed error naming the op, and the pool still works", () => {
    const e = engines.get(2)!;
    const rt = (e as unknown as { rt: { pool: { run(c: unknown[], what: string): void }; heap: { bytesReserved: number } } }).rt;
    const beyond = rt.heap.bytesReserved + 4096;
    expect(() =>
      rt.pool.run([{ fn: "unary_f32", args: [64, 16, 64, 0, 0, 0] }, { fn: "unary_f32", args: [beyond, 16, beyond, 0, 0, 0] }], "test op"),
    ).toThrow(BackendError);
    try {
      rt.pool.run([{ fn: "unary_f32", args: [64, 16, 64, 0, 0, 0] }, { fn: "unary_f32", args: [beyond, 16, beyond, 0, 0, 0] }], "test op");
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
