// The engine's outer contract: backend selection, the wasm modules' imports and exports, tensor
// copies and dispose, and that memory is returned after every op.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ArgumentError, BackendError, DisposedError, type Engine, MemoryError, ShapeError, SimdcnnError, type Tensor, init,
} from "../src/index.js";
import { BACKENDS, engines, type BackendName } from "./grid.js";
import { memoryOf } from "./memory.js";
import { Rng } from "./reference.js";

const root = new URL("..", import.meta.url);
const wasmBytes = (b: BackendName) => readFileSync(new URL(`build/simdcnn.${b}.wasm`, root));

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});

describe("init", () => {
  it("picks 'simd' with 'auto' (and by default) on Node 20, which supports SIMD128", async () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(20);
    const auto = await init({ backend: "auto" });
    expect(auto.backend).toBe("simd");
    const dflt = await init();
    expect(dflt.backend).toBe("simd");
  });

  it.each(BACKENDS)("gives the '%s' build when asked", (b) => {
    expect(E[b].backend).toBe(b);
  });

  it("each engine owns its own memory", () => {
    expect(memoryOf(E.simd)).not.toBe(memoryOf(E.scalar));
  });
});

describe.each(BACKENDS)("build/simdcnn.%s.wasm", (b) => {
  const module = new WebAssembly.Module(wasmBytes(b));

  it("imports exactly one thing: the memory", () => {
    const imports = WebAssembly.Module.imports(module);
    expect(imports).toHaveLength(1);
    expect(imports[0].kind).toBe("memory");
  });

  it("exports only functions, constant globals (SIMDCNN_BUILD_SIMD and the ABI's, test/abi.test.ts) and the memory", () => {
    const exports = WebAssembly.Module.exports(module);
    const nonFunctions = exports.filter((x) => x.kind !== "function");
    const globals = nonFunctions.filter((x) => x.kind === "global");
    const memories = nonFunctions.filter((x) => x.kind === "memory");
    expect(globals.map((g) => g.name)).toContain("SIMDCNN_BUILD_SIMD");
    expect(memories.length).toBeLessThanOrEqual(1);
    expect(nonFunctions.length).toBe(globals.length + memories.length);
    expect(exports.filter((x) => x.kind === "function").length).toBeGreaterThan(5);
  });

  it(`reports SIMDCNN_BUILD_SIMD = ${b === "simd" ? 1 : 0}, as an immutable global`, async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const imports = WebAssembly.Module.imports(module);
    const instance = await WebAssembly.instantiate(module, { [imports[0].module]: { [imports[0].name]: memory } });
    const g = instance.exports.SIMDCNN_BUILD_SIMD as WebAssembly.Global;
    expect(g).toBeInstanceOf(WebAssembly.Global);
    expect(g.value).toBe(b === "simd" ? 1 : 0);
    expect(() => {
      g.value = 7;
    }).toThrow();
    expect(g.value).toBe(b === "simd" ? 1 : 0);
  });

  it(b === "simd" ? "contains SIMD128 instructions" : "contains no SIMD128 instruction", () => {
    // The text form asc writes next to the binary (asconfig.json's textFile).
    const wat = readFileSync(new URL(`build/simdcnn.${b}.wat`, root), "utf8");
    if (b === "simd") expect(wat).toMatch(/f32x4\.(mul|add)/);
    else expect(wat).not.toMatch(/v128|f32x4|i32x4/);
  });
});

describe("both builds export the same functions", () => {
  it("same names", () => {
    const names = (b: BackendName) => WebAssembly.Module.exports(new WebAssembly.Module(wasmBytes(b))).map((x) => `${x.kind}:${x.name}`).sort();
    expect(names("scalar")).toEqual(names("simd"));
  });
});

describe.each(BACKENDS)("%s: tensors", (b) => {
  it("engine.tensor copies its data; toArray returns a copy, not a view of wasm memory", () => {
    const e = E[b];
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = e.tensor(data, [2, 3]);
    expect([...t.shape]).toEqual([2, 3]);
    data[0] = 100;
    expect(t.toArray()[0]).toBe(1);
    const arr = t.toArray();
    expect(arr).toBeInstanceOf(Float32Array);
    expect(arr.buffer).not.toBe(memoryOf(e).buffer);
    arr[1] = -7;
    expect(t.toArray()).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
    expect(t.toArray()).not.toBe(t.toArray());
    t.dispose();
  });

  it("dispose twice is harmless, and a disposed tensor says so", () => {
    const e = E[b];
    const before = e.memoryBytes;
    const t = e.tensor(new Float32Array(10), [10]);
    const u = e.tensor(new Float32Array(3), [3]);
    expect(t.disposed).toBe(false);
    t.dispose();
    expect(t.disposed).toBe(true);
    const mid = e.memoryBytes;
    t.dispose();
    expect(e.memoryBytes).toBe(mid);
    expect(u.toArray()).toEqual(new Float32Array(3));
    expect(() => t.toArray()).toThrow(DisposedError);
    u.dispose();
    expect(e.memoryBytes).toBe(before);
  });

  it("prepared ops can be disposed twice", () => {
    const e = E[b];
    const before = e.memoryBytes;
    const w = e.tensor(new Float32Array(2 * 3 * 3 * 2), [2, 3, 3, 2]);
    const conv = e.prepareConv2d(w);
    const b2 = e.tensor(new Float32Array(6), [2, 3]);
    const gemm = e.prepareGemm(b2);
    const held = e.memoryBytes;
    conv.dispose();
    gemm.dispose();
    const released = e.memoryBytes;
    expect(released).toBeLessThan(held);
    conv.dispose();
    gemm.dispose();
    expect(e.memoryBytes).toBe(released);
    w.dispose();
    b2.dispose();
    expect(e.memoryBytes).toBe(before);
  });

  it("memoryBytes returns to its starting value after every op and dispose (no leak)", () => {
    const e = E[b];
    const start = e.memoryBytes;
    const rng = new Rng(12);
    const made: Tensor[] = [];
    const T = (d: Float32Array, shape: number[]) => {
      const t = e.tensor(d, shape);
      made.push(t);
      return t;
    };
    const x = e.tensor(rng.f32(2 * 9 * 7 * 5), [2, 9, 7, 5]);
    const w = e.tensor(rng.f32(6 * 3 * 3 * 5), [6, 3, 3, 5]);
    const dw = e.tensor(rng.f32(5 * 3 * 3), [5, 3, 3, 1]);
    const gw = e.tensor(rng.f32(4 * 1 * 1 * 1), [4, 1, 1, 1]);
    const a = e.tensor(rng.f32(6 * 5), [6, 5]);
    const bb = e.tensor(rng.f32(5 * 7), [5, 7]);
    const c = e.tensor(rng.f32(6 * 7), [6, 7]);
    const s = e.tensor(rng.f32(1), [1]);
    const ch = e.tensor(rng.f32(5), [5]);
    const outs: Tensor[] = [];
    for (let i = 0; i < 3; i++) {
      outs.push(
        e.conv2d(x, w, { padding: "same", bias: rng.f32(6), activation: "relu6" }),
        e.conv2d(x, dw, { groups: 5, strides: 2, padding: [1, 0, 2, 1] }),
        e.conv2d(T(rng.f32(2 * 9 * 7 * 2), [2, 9, 7, 2]), gw, { groups: 2 }),
        e.gemm(a, bb, { c, beta: 0.5, transA: false }),
        e.gemm(T(rng.f32(5 * 6), [5, 6]), bb, { transA: true, c: T(rng.f32(6), [6, 1]), bias: rng.f32(7) }),
        e.maxPool2d(x, { kernel: 3, strides: 2, padding: "same" }),
        e.avgPool2d(x, { kernel: 2, countIncludePad: true, padding: [1, 1, 0, 0] }),
        e.globalAvgPool(x), e.globalMaxPool(x),
        e.relu(x), e.sigmoid(x), e.tanh(x), e.exp(x), e.clip(x, -0.5, 0.5), e.leakyRelu(x, 0.2),
        e.add(x, ch), e.sub(x, s), e.mul(x, x), e.div(x, s), e.softmax(x),
      );
      const op = e.prepareConv2d(w, { padding: "valid" });
      const o = e.tensor(new Float32Array(2 * 7 * 5 * 6), [2, 7, 5, 6]);
      op.run(x, o);
      op.run(T(rng.f32(1 * 4 * 4 * 5), [1, 4, 4, 5])).dispose();
      op.dispose();
      o.dispose();
    }
    expect(e.memoryBytes).toBeGreaterThan(start);
    for (const t of [...outs, ...made, x, w, dw, gw, a, bb, c, s, ch]) t.dispose();
    expect(e.memoryBytes).toBe(start);
  });

  it("memoryBytes counts a tensor's bytes (rounded to 16)", () => {
    const e = E[b];
    const before = e.memoryBytes;
    const t = e.tensor(new Float32Array(5), [5]);
    expect(e.memoryBytes - before).toBe(32);
    t.dispose();
    expect(e.memoryBytes).toBe(before);
  });
});

describe("error classes", () => {
  it("every error class is a SimdcnnError and an Error, named after itself", () => {
    for (const C of [ShapeError, ArgumentError, DisposedError, MemoryError, BackendError]) {
      const err = new C("m");
      expect(err).toBeInstanceOf(SimdcnnError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(C.name);
    }
  });

  it.each(BACKENDS)("%s: an output too large for wasm32 memory is refused with a SimdcnnError, memory as it was", (b) => {
    const e = E[b];
    const x = e.tensor(new Float32Array([1]), [1, 1, 1, 1]);
    const w = e.tensor(new Float32Array([2]), [1, 1, 1, 1]);
    const size = memoryOf(e).buffer.byteLength;
    const before = e.memoryBytes;
    // 40001 x 40001 outputs: 6.4 GB.
    expect(() => e.conv2d(x, w, { padding: [20000, 20000, 20000, 20000] })).toThrow(SimdcnnError);
    expect(() => e.maxPool2d(x, { kernel: 1, strides: 1, padding: [20000, 20000, 20000, 20000] })).toThrow(SimdcnnError);
    expect(e.memoryBytes).toBe(before);
    expect(memoryOf(e).buffer.byteLength).toBe(size);
    expect(x.toArray()).toEqual(new Float32Array([1]));
    x.dispose();
    w.dispose();
  });

  it.each(BACKENDS)("%s: a tensor of more elements than wasm32 can hold is a ShapeError", (b) => {
    const e = E[b];
    const before = e.memoryBytes;
    expect(() => e.tensor(new Float32Array(1), [65536, 65536])).toThrow(ShapeError);
    expect(e.memoryBytes).toBe(before);
  });
});

describe("the threads build", () => {
  it("is the SIMD build with a shared memory import: derived at run time byte for byte as asc --sharedMemory makes it", async () => {
    const { readFileSync } = await import("node:fs");
    const { sharedMemoryVariant } = await import("../src/runtime/load.js");
    const simd = new Uint8Array(readFileSync(new URL("../build/simdcnn.simd.wasm", import.meta.url)));
    const threads = new Uint8Array(readFileSync(new URL("../build/simdcnn.threads.wasm", import.meta.url)));
    expect(Buffer.from(sharedMemoryVariant(simd)).equals(Buffer.from(threads))).toBe(true);
  });
});
