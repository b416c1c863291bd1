// Tensor formats (issue 17 part 4): float16 and bfloat16 conversions against the IEEE definitions
// computed independently; FLOAT16, BFLOAT16 and DOUBLE initializers; float16 model inputs and
// outputs; external data read beside a model file or from a map, confined to the model's folder,
// with models over 2 GiB refused; a real PyTorch export in both formats against onnxruntime-web.
// And the cache of bindings (part 7): alternating input shapes reuse their plans.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine, ModelFormatError, UnsupportedError } from "../src/node.js";
import { DataType } from "../src/onnx/model.js";
import { bfloat16BitsToFloats, floatToHalfBits, floatsToHalfBits, halfBitsToFloats } from "../src/runtime/float16.js";
import { type BackendName, compareBits, engines } from "./grid.js";
import { type TensorSpec, onnxModel, randomTensor } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng, prod } from "./reference.js";

let E: Record<BackendName, Engine>;
let e: Engine;
let dir: string;
beforeAll(async () => {
  E = await engines();
  e = E.simd;
  dir = mkdtempSync(join(tmpdir(), "simdcnn-formats-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURES = new URL("./fixtures/formats/", import.meta.url).pathname;

/** IEEE 754 binary16 by its definition, in float64: (-1)^s 2^(e-15) (1 + m/1024), subnormals 2^-14 (m/1024). */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const ex = (h >> 10) & 31;
  const m = h & 1023;
  if (ex === 31) return m === 0 ? s * Infinity : NaN;
  return ex === 0 ? s * Math.pow(2, -14) * (m / 1024) : s * Math.pow(2, ex - 15) * (1 + m / 1024);
}

/** The half nearest to x by search over the ordered finite halves, ties to the even bit pattern; beyond 65520 infinity. */
function nearestHalf(x: number): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7bff;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (halfValue(mid) <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - halfValue(lo);
  const dh = halfValue(hi) - a;
  const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

/** A TensorSpec of 16-bit float bits (FLOAT16 or BFLOAT16) in raw_data, or in int32_data as ONNX keeps them there. */
function bits16(dims: number[], bits: Uint16Array, dataType: number, typed = false): TensorSpec {
  return typed
    ? { dims, data: [], dataType: DataType.INT32, encoding: "typed", proto: { dataType, int32Data: Array.from(bits) } }
    : { dims, data: [], dataType: DataType.UINT8, proto: { dataType, rawData: new Uint8Array(bits.buffer) } };
}

describe("float16 and bfloat16 conversions", () => {
  it("every half widens to its IEEE value", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = halfBitsToFloats(all);
    for (let h = 0; h < 65536; h++) {
      const want = halfValue(h);
      if (Number.isNaN(want)) expect(Number.isNaN(f[h]), `0x${h.toString(16)}`).toBe(true);
      else expect(Object.is(f[h], want), `0x${h.toString(16)}: ${f[h]} vs ${want}`).toBe(true);
    }
  });

  it("float32 -> float16 rounds to nearest, ties to even: every half, every midpoint and its neighbours, random values, specials", () => {
    const xs: number[] = [0, -0, Infinity, -Infinity, 65504, 65519.99, 65520, 1e9, -1e9, 2 ** -25, 2 ** -26, 1.5 * 2 ** -25, 1e-45];
    const f32 = new Float32Array(1);
    const next = (x: number, up: boolean) => {
      f32[0] = x;
      const u = new Uint32Array(f32.buffer);
      u[0] += (x >= 0) === up ? 1 : -1;
      return f32[0];
    };
    for (let h = 0; h < 0x7bff; h++) {
      const a = halfValue(h);
      const mid = Math.fround((a + halfValue(h + 1)) / 2);
      xs.push(a, -a, mid, -mid);
      if (mid > 0) xs.push(next(mid, true), next(mid, false));
    }
    const rng = new Rng(3);
    for (let i = 0; i < 20000; i++) xs.push(Math.fround(rng.uniform(-1, 1) * 2 ** rng.int(-30, 17)));
    const input = Float32Array.from(xs);
    const got = floatsToHalfBits(input);
    let bad = "";
    for (let i = 0; i < input.length && bad.length < 400; i++) {
      const want = nearestHalf(input[i]);
      if (got[i] !== want) bad += `${input[i]}: 0x${got[i].toString(16)} vs 0x${want.toString(16)}; `;
    }
    expect(bad).toBe("");
    const nan = floatToHalfBits(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
  });

  it("bfloat16 widens to the float32 with those high 16 bits", () => {
    const rng = new Rng(4);
    const values = rng.f32(1000, -1e6, 1e6);
    const view = new DataView(values.buffer);
    const bits = new Uint16Array(values.length);
    const want = new Float32Array(values.length);
    const wantView = new DataView(want.buffer);
    for (let i = 0; i < values.length; i++) {
      bits[i] = view.getUint16(4 * i + 2, true);
      wantView.setUint32(4 * i, view.getUint32(4 * i, true) & 0xffff0000, true);
    }
    expect(compareBits(bfloat16BitsToFloats(bits), want, "bfloat16")).toBe("");
  });
});

describe("FLOAT16, BFLOAT16 and DOUBLE initializers", () => {
  const x = { name: "x", shape: [1, 3, 6, 7] };
  const conv = (w: TensorSpec, b: TensorSpec) => onnxModel({
    inputs: [x], outputs: [{ name: "y" }],
    nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { pads: [1, 1, 1, 1] } }],
    initializers: { w, b },
  });

  it("are widened (or narrowed) at load exactly as the conversions say: the same bits as the float32 model, which matches onnxruntime", async () => {
    const rng = new Rng(5);
    const wf = rng.f32(4 * 27, -1, 1);
    const bf = rng.f32(4, -1, 1);
    const wHalf = floatsToHalfBits(wf);
    const bBf16 = new Uint16Array(new Float32Array(bf).buffer).filter((_, i) => i % 2 === 1);
    const ref = conv({ dims: [4, 3, 3, 3], data: halfBitsToFloats(wHalf) }, { dims: [4], data: bfloat16BitsToFloats(bBf16) });
    const input = rng.f32(3 * 42);
    const want = (await e.loadOnnx(ref)).run({ x: input }).y as Float32Array;
    const ortY = (await runOrt(ref, { x: { data: input, dims: [1, 3, 6, 7] } })).y.data;
    for (let i = 0; i < want.length; i++) expect(Math.abs(want[i] - ortY[i])).toBeLessThanOrEqual(1e-5);
    for (const typed of [false, true]) {
      const m = await e.loadOnnx(conv(bits16([4, 3, 3, 3], wHalf, DataType.FLOAT16, typed), bits16([4], bBf16, DataType.BFLOAT16, typed)));
      expect(compareBits(m.run({ x: input }).y as Float32Array, want, typed ? "int32_data" : "raw_data")).toBe("");
      m.dispose();
    }
    // DOUBLE: narrowed to the nearest float32 (Math.fround is that rounding).
    const wd = Float64Array.from(wf, (v, i) => v + i * 1e-12);
    const md = await e.loadOnnx(conv({ dims: [4, 3, 3, 3], data: wd, dataType: DataType.DOUBLE }, { dims: [4], data: Float64Array.from(bf) , dataType: DataType.DOUBLE }));
    const mf = await e.loadOnnx(conv({ dims: [4, 3, 3, 3], data: Float32Array.from(wd, Math.fround) }, { dims: [4], data: bf }));
    expect(compareBits(md.run({ x: input }).y as Float32Array, mf.run({ x: input }).y as Float32Array, "double")).toBe("");
  });
});

// A float16 output's bits, whether the engine returned a Float16Array (where JavaScript has one) or a Uint16Array of bits.
const bitsOf = (out: unknown): Uint16Array => {
  const a = out as Uint16Array;
  return a instanceof Uint16Array ? a : new Uint16Array(a.buffer, a.byteOffset, a.length);
};

describe("float16 inputs and outputs", () => {
  const spec = (elemType: number) => onnxModel({
    inputs: [{ name: "x", shape: [1, 2, 5, 5], elemType }], outputs: [{ name: "y", elemType }],
    nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { pads: [1, 1, 1, 1] } }, { op: "Relu", inputs: ["c"], outputs: ["y"] }],
    initializers: { w: randomTensor(new Rng(6), [3, 2, 3, 3]) },
  });

  it("take float16 bits (or float32 values) and return float16 bits, the float32 result rounded to nearest even", async () => {
    const half = await e.loadOnnx(spec(DataType.FLOAT16));
    const single = await e.loadOnnx(spec(DataType.FLOAT));
    expect(half.inputs[0].dtype).toBe("float16");
    expect(half.outputs[0].dtype).toBe("float16");
    const rng = new Rng(7);
    const xBits = floatsToHalfBits(rng.f32(50, -2, 2));
    const out = half.run({ x: xBits }).y;
    // Where JavaScript has no Float16Array (Node 20, 22), the bits come in a Uint16Array.
    expect(out).toBeInstanceOf(globalThis.Float16Array === undefined ? Uint16Array : globalThis.Float16Array);
    const f = single.run({ x: halfBitsToFloats(xBits) }).y as Float32Array;
    expect(Array.from(bitsOf(out))).toEqual(Array.from(f, nearestHalf));
    // Float32 values for a float16 input are used as they are.
    expect(Array.from(bitsOf(half.run({ x: halfBitsToFloats(xBits) }).y))).toEqual(Array.from(bitsOf(out)));
    const into = new Uint16Array(75);
    expect(half.run({ x: xBits }, { into: { y: into } }).y).toBe(into);
    expect(Array.from(into)).toEqual(Array.from(bitsOf(out)));
    expect(() => half.run({ x: xBits }, { into: { y: new Float32Array(75) } })).toThrow(/into 'y' must be a Float16Array or a Uint16Array/);
    expect(() => half.run({ x: new Int32Array(50) })).toThrow(/input 'x' is float16: expected a Float16Array, a Uint16Array/);
    half.dispose();
    single.dispose();
  });
});

/** The float32 embedded Conv model of the external-data tests, and its weights. */
function externalModel(location: string, offset = 0) {
  const rng = new Rng(8);
  const w = rng.f32(4 * 27, -1, 1);
  const b = rng.f32(4, -1, 1);
  const ext = (dims: number[], at: number) => ({
    dims, data: [], proto: { rawData: new Uint8Array(0), dataLocation: 1, externalData: [{ key: "location", value: location }, { key: "offset", value: String(at) }, { key: "length", value: String(4 * prod(dims)) }] },
  });
  const spec = (wt: TensorSpec, bt: TensorSpec) => onnxModel({
    inputs: [{ name: "x", shape: [1, 3, 6, 7] }], outputs: [{ name: "y" }],
    nodes: [{ op: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attrs: { pads: [1, 1, 1, 1] } }],
    initializers: { w: wt, b: bt },
  });
  // The data file: some leading bytes (the offset), then w, then b.
  const data = new Uint8Array(offset + 4 * 112);
  data.set(new Uint8Array(w.buffer), offset);
  data.set(new Uint8Array(b.buffer), offset + 4 * 108);
  return { external: spec(ext([4, 3, 3, 3], offset), ext([4], offset + 432)), embedded: spec({ dims: [4, 3, 3, 3], data: w }, { dims: [4], data: b }), data };
}

describe("external data", () => {
  const input = new Rng(9).f32(3 * 42);

  it("loadOnnx(path) reads the data file beside the model; bytes take it from options.externalData; both equal the embedded model", async () => {
    const { external, embedded, data } = externalModel("weights/conv.bin", 24);
    const folder = join(dir, "ext");
    mkdirSync(join(folder, "weights"), { recursive: true });
    writeFileSync(join(folder, "m.onnx"), external);
    writeFileSync(join(folder, "weights", "conv.bin"), data);
    const want = (await e.loadOnnx(embedded)).run({ x: input }).y as Float32Array;
    const byPath = await e.loadOnnx(join(folder, "m.onnx"));
    expect(compareBits(byPath.run({ x: input }).y as Float32Array, want, "by path")).toBe("");
    const byBytes = await e.loadOnnx(external, { externalData: { "weights/conv.bin": data } });
    expect(compareBits(byBytes.run({ x: input }).y as Float32Array, want, "by bytes")).toBe("");
    const byBuffer = await e.loadOnnx(external.slice().buffer, { externalData: { "weights/conv.bin": data.slice().buffer } });
    expect(compareBits(byBuffer.run({ x: input }).y as Float32Array, want, "ArrayBuffers")).toBe("");
  });

  it("bytes without the file, a truncated file, a location outside the model's folder: typed errors naming the file", async () => {
    const { external, data } = externalModel("w.bin");
    await expect(e.loadOnnx(external)).rejects.toThrow(ArgumentError);
    await expect(e.loadOnnx(external)).rejects.toThrow(/initializer 'w' keeps its values in the file 'w.bin'; pass its bytes as options.externalData\['w.bin'\]/);
    await expect(e.loadOnnx(external, { externalData: { "w.bin": data.subarray(0, 400) } })).rejects.toThrow(/reads bytes 0 to 432 of 'w.bin', which holds 400/);
    await expect(e.loadOnnx(external, { externalData: { "w.bin": data.subarray(0, 400) } })).rejects.toThrow(ModelFormatError);
    await expect(e.loadOnnx(external, { externalData: "w.bin" as never })).rejects.toThrow(/externalData must be an object/);
    for (const location of ["../w.bin", "a/../../w.bin", "/etc/passwd", "C:\\w.bin"]) {
      const folder = join(dir, "escape");
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "m.onnx"), externalModel(location).external);
      writeFileSync(join(dir, "w.bin"), data);
      const err = await e.loadOnnx(join(folder, "m.onnx")).catch((x: unknown) => x);
      expect(err, location).toBeInstanceOf(ModelFormatError);
      expect((err as Error).message).toMatch(/names the external data file '.*', outside its folder; expected a path relative to the model's folder without '\.\.'/);
    }
  });

  it("a model whose external data passes 2 GiB is refused before any file is read", async () => {
    const big = onnxModel({
      inputs: [{ name: "x", shape: [1, 4] }], outputs: [{ name: "y" }],
      nodes: [{ op: "Add", inputs: ["x", "w"], outputs: ["y"] }],
      initializers: { w: { dims: [2 ** 29 + 1], data: [], proto: { rawData: new Uint8Array(0), dataLocation: 1, externalData: [{ key: "location", value: "absent.bin" }] } } },
    });
    writeFileSync(join(dir, "big.onnx"), big);
    // absent.bin does not exist: a FileError would mean it was read first.
    await expect(e.loadOnnx(join(dir, "big.onnx"))).rejects.toThrow(UnsupportedError);
    await expect(e.loadOnnx(join(dir, "big.onnx"))).rejects.toThrow(/hold 2\.00 GiB; simdcnn runs in a 32-bit WebAssembly memory and loads models of at most 2 GiB/);
  });
});

describe("a PyTorch export with external data, and its float16 copy (test/fixtures/formats/make.py)", () => {
  const input = new Rng(10).f32(3 * 16 * 16, -1, 1);

  it("the external-data model matches onnxruntime-web given the same data file", async () => {
    const bytes = readFileSync(join(FIXTURES, "small.onnx"));
    const data = readFileSync(join(FIXTURES, "small.onnx.data"));
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], externalData: [{ path: "small.onnx.data", data }] });
    const want = (await session.run({ x: new ort.Tensor("float32", input, [1, 3, 16, 16]) })).scores.data as Float32Array;
    await session.release();
    for (const [name, engine] of Object.entries(E)) {
      const m = await engine.loadOnnx(join(FIXTURES, "small.onnx"));
      const got = m.run({ x: input }).scores as Float32Array;
      // float32 sums in another order than onnxruntime's: a few ulps of values of order 1.
      for (let i = 0; i < 5; i++) expect(Math.abs(got[i] - want[i]), `${name} [${i}]`).toBeLessThanOrEqual(1e-5);
      m.dispose();
    }
  });

  it("the float16 model returns float16 scores: those of the float32 model with the weights widened, each rounded to the nearest half", async () => {
    const half = await e.loadOnnx(join(FIXTURES, "small-fp16.onnx"));
    const xBits = floatsToHalfBits(input);
    const got = bitsOf(half.run({ x: xBits }).scores);
    // The reference: the external model's weights, rounded to float16 as the fixture's numpy did, in float32.
    const fp32 = readFileSync(join(FIXTURES, "small.onnx"));
    const data = new Uint8Array(readFileSync(join(FIXTURES, "small.onnx.data")));
    const floats = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    const rounded = new Uint8Array(halfBitsToFloats(floatsToHalfBits(floats)).buffer);
    const session = await ort.InferenceSession.create(fp32, { executionProviders: ["wasm"], externalData: [{ path: "small.onnx.data", data: rounded }] });
    const ortScores = (await session.run({ x: new ort.Tensor("float32", halfBitsToFloats(xBits), [1, 3, 16, 16]) })).scores.data as Float32Array;
    await session.release();
    // Rounding to float16 is a half ulp (2^-11 relative); a float32 difference of 1e-5 can move a value across a rounding boundary: one ulp apart at most.
    for (let i = 0; i < 5; i++) {
      const want = nearestHalf(ortScores[i]);
      expect(Math.abs(got[i] - want), `[${i}] 0x${got[i].toString(16)} vs 0x${want.toString(16)}`).toBeLessThanOrEqual(1);
    }
    half.dispose();
  });
});

describe("the cache of bindings", () => {
  it("plans at load for a static shape; alternating input shapes reuse their plans, with bit-identical results", async () => {
    const rng = new Rng(11);
    const bytes = onnxModel({
      inputs: [{ name: "x", shape: ["N", 3, "H", "W"] }], outputs: [{ name: "y" }],
      nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["c"], attrs: { pads: [1, 1, 1, 1] } }, { op: "Relu", inputs: ["c"], outputs: ["y"] }],
      initializers: { w: randomTensor(rng, [5, 3, 3, 3]) },
    });
    const m = await e.loadOnnx(bytes);
    const plansAtLoad = m.plans;
    expect(plansAtLoad).toBe(1);
    const small = e.tensor(rng.f32(3 * 8 * 9), [1, 3, 8, 9]);
    const large = e.tensor(rng.f32(2 * 3 * 12 * 10), [2, 3, 12, 10]);
    const first = { small: m.run({ x: small }).y as Float32Array, large: m.run({ x: large }).y as Float32Array };
    expect(m.plans).toBe(plansAtLoad + 2);
    for (let i = 0; i < 6; i++) {
      const which = i % 2 === 0 ? "small" : "large";
      const y = m.run({ x: which === "small" ? small : large }).y as Float32Array;
      expect(compareBits(y, first[which], `${which}, run ${i}`)).toBe("");
    }
    expect(m.plans).toBe(plansAtLoad + 2);
    small.dispose();
    large.dispose();
    m.dispose();
    // A model with static shapes is planned once, at load: its first run plans nothing.
    const fixed = await e.loadOnnx(join(FIXTURES, "small.onnx"));
    expect(fixed.plans).toBe(1);
    fixed.run({ x: new Float32Array(768) });
    expect(fixed.plans).toBe(1);
    fixed.dispose();
  });
});
