// The identity workload: a fixed list of named cases (every op family, whole networks built with
// the layers API and imported from ONNX, slice decoding and preprocessing) run on seeded inputs
// through the library's public exports only, each reduced to the SHA-256 of its output bytes.
// Node runs it over the Node entry; the browser tests run the same module bundled with the
// browser entry, and the two maps of hashes must be equal case by case.
//
// Nothing here may import a Node module or the library itself: the caller passes the library's
// exports in (types only are imported), so that the same code runs in every environment.
import type * as Core from "../../src/index.js";
import type * as Io from "../../src/io/index.js";
import { Rng } from "../reference.js";

export type CoreApi = Pick<typeof Core, "init" | "layers">;
export type IoApi = Pick<typeof Io, "readSlices" | "toInput" | "overlayHeatmap" | "encodePng">;
type Engine = Core.Engine;
type Tensor = Core.Tensor;

/** Inputs that are files (built in Node by test/browser/fixtures.ts, fetched by the page). */
export const COMPRESSED_DICOM = ["mf.jpeg-ls.dcm", "u12.j2k.dcm", "u8.jpeg-baseline.dcm", "s16.jpeg-lossless-sv1.dcm", "u12.rle.dcm", "ct12.jpeg-extended.dcm"] as const;
export const FIXTURE_NAMES = ["phantom.onnx", "encoded.onnx", "slice16.png", "ct.dcm", ...COMPRESSED_DICOM] as const;
export type Fixtures = Record<(typeof FIXTURE_NAMES)[number], Uint8Array>;

/** Case name -> "sha256-hex n=<number of values>" (or "error: …" when the case threw). */
export type Hashes = Record<string, string>;

// ---------------------------------------------------------------------------------------------
// Seeded inputs (mulberry32: integer arithmetic, then exact float operations, so that every
// engine produces the same floats)

export function random(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed).f32(n, lo, hi);
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export async function sha256(data: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------
// Cases

type Output = Float32Array | Uint8Array;
type Case = (e: Engine, f: Fixtures) => Output | Promise<Output>;

/** A tensor of seeded random values; every tensor made through it is disposed after the case. */
function scope(e: Engine) {
  const made: Tensor[] = [];
  let seed = 1;
  const t = (shape: number[], lo = -1, hi = 1): Tensor => {
    const x = e.tensor(random(prod(shape), seed++ * 7919, lo, hi), shape);
    made.push(x);
    return x;
  };
  const keep = (x: Tensor): Tensor => {
    made.push(x);
    return x;
  };
  const out = (x: Tensor): Float32Array => {
    made.push(x);
    return x.toArray();
  };
  const dispose = () => {
    for (const x of made) if (!x.disposed) x.dispose();
  };
  return { t, keep, out, dispose, f: (n: number, lo = -1, hi = 1) => random(n, seed++ * 7919, lo, hi) };
}

type Scope = ReturnType<typeof scope>;
const op = (run: (s: Scope, e: Engine) => Float32Array): Case => (e) => {
  const s = scope(e);
  try {
    return run(s, e);
  } finally {
    s.dispose();
  }
};

const conv = (x: number[], w: number[], opts: Core.Conv2dOptions = {}, bias = true): Case =>
  op((s, e) => s.out(e.conv2d(s.t(x), s.t(w), bias ? { bias: s.f(w[0], -0.2, 0.2), ...opts } : opts)));

const unary = (name: "relu" | "sigmoid" | "tanh" | "exp", lo: number, hi: number): Case =>
  op((s, e) => s.out(e[name](s.t([3, 37], lo, hi))));

const binary = (name: "add" | "sub" | "mul" | "div", b: number[]): Case =>
  op((s, e) => s.out(e[name](s.t([2, 5, 5, 7]), s.t(b, 0.5, 2))));

export function cases(core: CoreApi, io: IoApi): Record<string, Case> {
  const { layers } = core;
  return {
    // Convolutions: 1x1 (plain GEMM), 3x3 indirect GEMM, strides/dilations/asymmetric padding,
    // grouped, depthwise (3x3 and generic), single input channel; every fused activation.
    "conv2d 1x1 relu": conv([2, 7, 9, 16], [24, 1, 1, 16], { activation: "relu" }),
    "conv2d 3x3 same relu6": conv([1, 13, 11, 8], [16, 3, 3, 8], { padding: "same", activation: "relu6" }),
    "conv2d 3x3 stride2 dilation2 clip": conv([1, 17, 15, 6], [10, 3, 3, 6], { strides: 2, dilations: 2, activation: { clip: [-0.5, 0.5] } }),
    "conv2d 5x3 asymmetric padding no bias": conv([1, 12, 10, 4], [12, 5, 3, 4], { padding: [1, 2, 0, 1] }, false),
    "conv2d grouped leakyRelu": conv([1, 10, 10, 16], [16, 3, 3, 4], { groups: 4, activation: { leakyRelu: 0.1 } }),
    "conv2d depthwise 3x3 sigmoid": conv([1, 12, 12, 20], [20, 3, 3, 1], { groups: 20, padding: "same", activation: "sigmoid" }),
    "conv2d depthwise 5x5 stride2 tanh": conv([1, 15, 15, 8], [8, 5, 5, 1], { groups: 8, strides: 2, padding: "same", activation: "tanh" }),
    "conv2d single-channel 3x3 relu": conv([1, 33, 31, 1], [8, 3, 3, 1], { padding: "same", activation: "relu" }),
    "conv2d single-channel 5x5 stride2": conv([2, 20, 20, 1], [6, 5, 5, 1], { strides: 2 }),
    "conv2d prepared, run twice": op((s, e) => {
      const c = e.prepareConv2d(s.t([12, 3, 3, 5]), { bias: s.f(12), padding: "same", activation: "relu" });
      try {
        c.run(s.t([1, 9, 9, 5])).dispose();
        return s.out(c.run(s.t([2, 9, 9, 5])));
      } finally {
        c.dispose();
      }
    }),

    // GEMM and its options.
    "gemm bias relu": op((s, e) => s.out(e.gemm(s.t([9, 33]), s.t([33, 17]), { bias: s.f(17), activation: "relu" }))),
    "gemm transA transB alpha beta c[M,N]": op((s, e) =>
      s.out(e.gemm(s.t([20, 7]), s.t([11, 20]), { transA: true, transB: true, alpha: 0.5, beta: 2, c: s.t([7, 11]) }))),
    "gemm c[N] sigmoid": op((s, e) => s.out(e.gemm(s.t([13, 8]), s.t([8, 21]), { beta: 0.75, c: s.t([21]), activation: "sigmoid" }))),

    // Pooling.
    "maxPool2d 3x3 stride2 same": op((s, e) => s.out(e.maxPool2d(s.t([1, 15, 13, 10]), { kernel: 3, strides: 2, padding: "same" }))),
    "maxPool2d 2x2 17 channels": op((s, e) => s.out(e.maxPool2d(s.t([1, 16, 16, 17]), { kernel: 2 }))),
    "avgPool2d 3x3 pad1": op((s, e) => s.out(e.avgPool2d(s.t([1, 11, 9, 6]), { kernel: 3, strides: 1, padding: [1, 1, 1, 1] }))),
    "avgPool2d countIncludePad": op((s, e) =>
      s.out(e.avgPool2d(s.t([2, 8, 8, 5]), { kernel: [3, 2], strides: [2, 1], padding: [1, 0, 1, 1], countIncludePad: true }))),
    "globalAvgPool": op((s, e) => s.out(e.globalAvgPool(s.t([2, 7, 5, 19])))),
    "globalMaxPool": op((s, e) => s.out(e.globalMaxPool(s.t([2, 7, 5, 19])))),

    // Elementwise and softmax.
    "unary relu": unary("relu", -3, 3),
    "unary sigmoid": unary("sigmoid", -9, 9),
    "unary tanh": unary("tanh", -5, 5),
    "unary exp": unary("exp", -20, 20),
    "unary clip": op((s, e) => s.out(e.clip(s.t([3, 37], -3, 3), -1.25, 0.5))),
    "unary leakyRelu": op((s, e) => s.out(e.leakyRelu(s.t([3, 37], -3, 3), 0.07))),
    "binary add same shape": binary("add", [2, 5, 5, 7]),
    "binary sub [C]": binary("sub", [7]),
    "binary mul scalar": binary("mul", [1]),
    "binary div [C]": binary("div", [7]),
    "softmax [4,10]": op((s, e) => s.out(e.softmax(s.t([4, 10], -8, 8)))),
    "softmax [2,3,3,33]": op((s, e) => s.out(e.softmax(s.t([2, 3, 3, 33], -4, 4)))),

    // Networks built with the layers API: BN folded, a residual add fused, depthwise, dense.
    "network layers residual+bn": (e) => {
      const r = (n: number, seed: number, lo = -0.5, hi = 0.5) => random(n, seed, lo, hi);
      const bn = (c: number, seed: number) =>
        layers.batchNorm({ gamma: r(c, seed, 0.5, 1.5), beta: r(c, seed + 1, -0.2, 0.2), mean: r(c, seed + 2, -0.2, 0.2), variance: r(c, seed + 3, 0.5, 2) });
      const x = layers.input([16, 16, 3]);
      const a = layers.relu().apply(bn(8, 10).apply(layers.conv2d({ filters: 8, kernel: 3, padding: "same", weights: r(8 * 9 * 3, 1), bias: r(8, 2) }).apply(x)));
      const b = bn(8, 20).apply(layers.conv2d({ filters: 8, kernel: 3, padding: "same", weights: r(8 * 9 * 8, 3), bias: r(8, 4) }).apply(a));
      let y = layers.relu().apply(layers.add().apply([a, b]));
      y = layers.maxPool2d({ kernel: 2 }).apply(y);
      y = layers.depthwiseConv2d({ kernel: 3, padding: "same", weights: r(8 * 9, 5), bias: r(8, 6), activation: "relu6" }).apply(y);
      y = layers.globalAvgPool2d().apply(y);
      y = layers.softmax().apply(layers.dense({ units: 5, weights: r(8 * 5, 7), bias: r(5, 8) }).apply(y));
      const net = e.graph({ inputs: [x], outputs: [y] });
      try {
        return net.run({ input: random(2 * 16 * 16 * 3, 99, 0, 1) }).output;
      } finally {
        net.dispose();
      }
    },
    "network layers sequential": (e) => {
      const r = (n: number, seed: number) => random(n, seed, -0.4, 0.4);
      const net = e.sequential([
        layers.input([28, 28, 1]),
        layers.conv2d({ filters: 8, kernel: 3, padding: "same", weights: r(8 * 9, 31), bias: r(8, 32), activation: "relu" }),
        layers.maxPool2d({ kernel: 2 }),
        layers.conv2d({ filters: 12, kernel: 3, strides: 2, weights: r(12 * 9 * 8, 33), activation: "tanh" }),
        layers.avgPool2d({ kernel: 2 }),
        layers.flatten(),
        layers.dense({ units: 10, weights: r(3 * 3 * 12 * 10, 34), bias: r(10, 35) }),
        layers.softmax(),
      ]);
      try {
        return net.run({ input: random(3 * 28 * 28, 36, 0, 1) }).output;
      } finally {
        net.dispose();
      }
    },
    // ONNX-imported: the trained phantom classifier (NCHW, from PyTorch) and a layers network
    // written as an .onnx file by encodeModel.
    "network onnx phantom": async (e, f) => {
      const model = await e.loadOnnx(f["phantom.onnx"]);
      try {
        return model.run({ slice: random(2 * 128 * 128, 41, 0, 1) }).logits;
      } finally {
        model.dispose();
      }
    },
    "network onnx encodeModel": async (e, f) => {
      const model = await e.loadOnnx(f["encoded.onnx"]);
      try {
        return model.run({ input: random(2 * 12 * 12 * 2, 42, -1, 1) }).output;
      } finally {
        model.dispose();
      }
    },

    // Slices: decoding (16-bit PNG, signed 12-bit multi-frame DICOM), preprocessing, a heat-map PNG.
    "slice png16 decode": async (_, f) => (await io.readSlices(f["slice16.png"]))[0].data,
    "slice png16 toInput NCHW bilinear unit": async (_, f) =>
      io.toInput((await io.readSlices(f["slice16.png"]))[0], { layout: "NCHW", channels: 1, height: 128, width: 128, resize: "bilinear", normalize: "unit" }),
    "slice dicom decode (2 frames)": async (_, f) => {
      const frames = await io.readSlices(f["ct.dcm"]);
      return Float32Array.from(frames.flatMap((s) => [...s.range, ...s.data]));
    },
    // Each codec once (CharLS, OpenJPEG, libjpeg-turbo, DCMTK's 12-bit JPEG as wasm; the JPEG
    // Lossless decoder; RLE).
    "slice dicom compressed decode (JPEG-LS, JPEG 2000, JPEG, JPEG Lossless, RLE, 12-bit JPEG)": async (_, f) => {
      const frames = [];
      for (const name of COMPRESSED_DICOM) frames.push(...(await io.readSlices(f[name])));
      return Float32Array.from(frames.flatMap((s) => [...s.range, ...s.data]));
    },
    "slice dicom toInput NHWC 3ch nearest mean/std": async (_, f) =>
      io.toInput((await io.readSlices(f["ct.dcm"], { window: [40, 400] }))[1], {
        layout: "NHWC", channels: 3, height: 57, width: 23, resize: "nearest", normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      }),
    "slice heatmap overlay encodePng": async (_, f) => {
      const slice = (await io.readSlices(f["slice16.png"]))[0];
      const rgba = io.overlayHeatmap(slice, random(64, 51, 0, 1), { size: [8, 8], box: { x: 2, y: 1, width: 3, height: 4 } });
      return io.encodePng(slice.width, slice.height, rgba);
    },
    "pipeline png16 -> phantom": async (e, f) => {
      const input = io.toInput((await io.readSlices(f["slice16.png"]))[0], { layout: "NCHW", channels: 1, height: 128, width: 128, resize: "bilinear", normalize: "unit" });
      const model = await e.loadOnnx(f["phantom.onnx"]);
      try {
        return model.run({ slice: input }).logits;
      } finally {
        model.dispose();
      }
    },
  };
}

/** Runs every case on a fresh engine of `backend` and returns the hashes, keyed `<backend>: <case>`. */
export async function runWorkload(core: CoreApi, io: IoApi, fixtures: Fixtures, backend: "simd" | "scalar"): Promise<Hashes> {
  const engine = await core.init({ backend });
  const out: Hashes = {};
  out[`${backend}: engine.backend`] = engine.backend;
  for (const [name, run] of Object.entries(cases(core, io))) {
    try {
      const y = await run(engine, fixtures);
      out[`${backend}: ${name}`] = `${await sha256(y)} n=${y.length}`;
    } catch (e) {
      out[`${backend}: ${name}`] = `error: ${(e as Error)?.message ?? String(e)}`;
    }
  }
  out[`${backend}: memory returned`] = String(engine.memoryBytes);
  return out;
}
