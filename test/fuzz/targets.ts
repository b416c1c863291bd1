// The fuzz targets: each an arbitrary (fast-check) of plain data and the case it runs. A case
// passes when it returns or throws a SimdcnnError subclass, within 5 s, leaving the engine's memory
// in use as it was (harness.ts). run() drives one target for a number of cases or a time budget
// with a fixed seed, and shrinks every new failure to a minimal input.
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import type { Engine, Tensor } from "../../src/index.js";
import { toInput } from "../../src/io/preprocess.js";
import { readSlices } from "../../src/io/read.js";
import { loadOnnx } from "../../src/onnx/load.js";
import type { Runtime } from "../../src/runtime/runtime.js";
import { type Canary, type Ctx, FuzzFailure, guard } from "./harness.js";
import {
  applyBytes, applyDicom, applyJpeg, applyOnnx, applyPng, byteMutation, dicomMutation, edgeFloat, jpegMutation, onnxMutation, pngMutation,
} from "./mutate.js";
import { seedDicomSpecs, seedJpegs, seedModels, seedPngs } from "./seeds.js";

export interface FuzzCtx extends Ctx {
  canary: Canary;
  /** A second engine, for tensors that belong to another engine. */
  other: Engine;
}

export interface Target<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** The bytes a case feeds the engine, for the byte-input targets (kept as regression files). */
  bytes?: (v: T) => Uint8Array;
  run(ctx: FuzzCtx, v: T): Promise<string>;
}

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;

/** Loads model bytes and, when they load, runs the model once on its declared shapes; disposes it. */
export function loadAndRun(ctx: FuzzCtx, bytes: Uint8Array): Promise<string> {
  return guard(ctx, () => {
    const model = loadOnnx(rtOf(ctx.engine), bytes);
    try {
      const inputs: Record<string, Float32Array | BigInt64Array> = {};
      for (const io of model.inputs) {
        const n = io.shape.reduce<number>((a, d) => a * (typeof d === "number" ? d : 1), 1);
        if (n > 2 ** 22) return; // a legitimately large input: loading it was the test
        inputs[io.name] = io.dtype === "float32" ? Float32Array.from({ length: n }, (_, i) => Math.sin(i)) : BigInt64Array.from({ length: n }, (_, i) => (i === 0 ? -1n : 1n));
      }
      model.run(inputs);
    } finally {
      model.dispose();
    }
  });
}

const SPECS = [
  { layout: "NCHW", channels: 1, height: 16, width: 16, resize: "bilinear", normalize: "unit" },
  { layout: "NHWC", channels: 3, height: 5, width: 7, resize: "nearest", normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] } },
] as const;

/** Decodes image bytes and preprocesses every slice; a slice the preprocessing rejects is a decoder bug. */
export function readAndPrepare(ctx: FuzzCtx, bytes: Uint8Array): Promise<string> {
  return guard(ctx, async () => {
    const slices = await readSlices(bytes);
    for (const s of slices) {
      if (s.data.length !== s.width * s.height * s.channels) throw new FuzzFailure("invalid", `slice ${s.source} of ${s.width} x ${s.height} x ${s.channels} holds ${s.data.length} values`);
      for (const spec of SPECS) {
        try {
          toInput(s, spec);
        } catch (e) {
          throw new FuzzFailure("invalid", `readSlices returned a slice (${s.source}, ${s.width} x ${s.height}, range [${s.range}]) that toInput rejects: ${(e as Error).message}`);
        }
      }
    }
  });
}

type Of<A> = A extends fc.Arbitrary<infer T> ? T : never;

const base = (n: number) => fc.nat({ max: n - 1 });

export const onnxStructured: Target<{ base: number; ms: Of<typeof onnxMutation>[] }> = {
  name: "onnx-structured",
  arbitrary: fc.record({ base: base(5), ms: fc.array(onnxMutation, { minLength: 1, maxLength: 4 }) }),
  bytes: (v) => applyOnnx(seedModels()[v.base], v.ms),
  run: (ctx, v) => loadAndRun(ctx, applyOnnx(seedModels()[v.base], v.ms)),
};

export const onnxBytes: Target<{ base: number; ms: Of<typeof byteMutation>[] }> = {
  name: "onnx-bytes",
  arbitrary: fc.record({ base: base(5), ms: fc.array(byteMutation, { minLength: 1, maxLength: 4 }) }),
  bytes: (v) => applyBytes(seedModels()[v.base], v.ms),
  run: (ctx, v) => loadAndRun(ctx, applyBytes(seedModels()[v.base], v.ms)),
};

const deflate = (b: Uint8Array) => new Uint8Array(deflateSync(b));

export const png: Target<{ base: number; ms: Of<typeof pngMutation>[]; raw: Of<typeof byteMutation>[] }> = {
  name: "png",
  arbitrary: fc.record({ base: base(7), ms: fc.array(pngMutation, { maxLength: 3 }), raw: fc.array(byteMutation, { maxLength: 2 }) }),
  bytes: (v) => applyBytes(applyPng(seedPngs()[v.base], v.ms, deflate), v.raw),
  run: (ctx, v) => readAndPrepare(ctx, png.bytes!(v)),
};

export const jpeg: Target<{ base: number; ms: Of<typeof jpegMutation>[] }> = {
  name: "jpeg",
  arbitrary: fc.record({ base: base(3), ms: fc.array(jpegMutation, { minLength: 1, maxLength: 3 }) }),
  bytes: (v) => applyJpeg(seedJpegs()[v.base], v.ms),
  run: (ctx, v) => readAndPrepare(ctx, jpeg.bytes!(v)),
};

export const dicom: Target<{ base: number; ms: Of<typeof dicomMutation>[] }> = {
  name: "dicom",
  arbitrary: fc.record({ base: base(5), ms: fc.array(dicomMutation, { minLength: 1, maxLength: 4 }) }),
  bytes: (v) => applyDicom(seedDicomSpecs()[v.base], v.ms),
  run: (ctx, v) => readAndPrepare(ctx, dicom.bytes!(v)),
};

// ---------------------------------------------------------------------------------------------
// model.run inputs.

type Fill = "pattern" | "nan" | "inf" | "-inf" | "mixed" | "huge" | "denormal" | "neg0";
const fill = fc.constantFrom<Fill>("pattern", "nan", "inf", "-inf", "mixed", "huge", "denormal", "neg0");

function filled(n: number, how: Fill): Float32Array {
  const special = { nan: NaN, inf: Infinity, "-inf": -Infinity, huge: 3.4e38, denormal: 1e-45, neg0: -0 } as Record<string, number>;
  return Float32Array.from({ length: n }, (_, i) =>
    how === "pattern" ? Math.sin(i) : how === "mixed" ? [NaN, Infinity, -Infinity, 0, 1, -3.4e38][i % 6] : special[how],
  );
}

type RunValue =
  | { t: "f32"; len: number; fill: Fill }
  | { t: "junk"; v: number }
  | { t: "tensor"; shape: number[]; state: "live" | "disposed" | "foreign" };

const SLICE = 128 * 128;
const runValue: fc.Arbitrary<RunValue> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant("f32" as const), len: fc.oneof(fc.constantFrom(0, 1, SLICE - 1, SLICE, SLICE + 1, 2 * SLICE, 3 * SLICE, 5 * SLICE + 7, 6, 5, 7, 12), fc.nat({ max: 70000 })), fill }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("junk" as const), v: fc.nat({ max: 13 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("tensor" as const),
      shape: fc.oneof(fc.constantFrom<number[]>([1, 1, 128, 128], [2, 1, 128, 128], [1, 128, 128, 1], [1, 6], [2, 3], [SLICE]), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 5 })),
      state: fc.constantFrom("live" as const, "disposed" as const, "foreign" as const),
    }),
  },
);

const JUNK: (() => unknown)[] = [
  () => null, () => undefined, () => 0, () => "slice", () => ({}), () => [1, 2, 3], () => new Float64Array(SLICE), () => new Int32Array(SLICE),
  () => new BigInt64Array(6), () => new Uint8Array(SLICE), () => new Float32Array(2 * SLICE).subarray(SLICE), () => Int32Array.of(2, 3),
  () => BigInt64Array.of(2n ** 40n, 1n), () => Int32Array.of(-1, -1),
];

type RunCase = { model: "phantom" | "fed"; inputs: "object" | "null" | "array" | "string"; a?: RunValue; b?: RunValue; extra: boolean };

function shapeValue(v: number): BigInt64Array | Int32Array {
  const shapes = [[2, 3], [-1, 2], [0, 0], [6], [-1], [2 ** 31, 1], [-5, -5], [1, 2, 3], [3, -1], [1e9, 1e9], [6, 0], []];
  const s = shapes[v % shapes.length];
  return v % 2 ? Int32Array.from(s, (x) => x | 0) : BigInt64Array.from(s, (x) => BigInt(x));
}

export const runInputs: Target<RunCase> = {
  name: "run-inputs",
  arbitrary: fc.record({
    model: fc.constantFrom("phantom" as const, "fed" as const),
    inputs: fc.constantFrom("object" as const, "object" as const, "object" as const, "null" as const, "array" as const, "string" as const),
    a: fc.option(runValue, { nil: undefined, freq: 8 }),
    b: fc.option(fc.oneof(runValue, fc.record({ t: fc.constant("junk" as const), v: fc.nat({ max: 30 }).map((v) => 100 + v) })), { nil: undefined, freq: 3 }),
    extra: fc.boolean(),
  }),
  run(ctx, c) {
    const made: Tensor[] = [];
    const value = (v: RunValue | undefined): unknown => {
      if (v === undefined) return undefined;
      if (v.t === "f32") return filled(v.len, v.fill);
      if (v.t === "junk") return v.v >= 100 ? shapeValue(v.v - 100) : JUNK[v.v % JUNK.length]();
      const e = v.state === "foreign" ? ctx.other : ctx.engine;
      const n = v.shape.reduce((p, q) => p * q, 1);
      const t = e.tensor(filled(n, "pattern"), v.shape);
      made.push(t);
      if (v.state === "disposed") t.dispose();
      return t;
    };
    return guard(ctx, async () => {
      let fed: ReturnType<typeof loadOnnx> | undefined;
      const plans = ctx.canary.model.plans;
      try {
        const model = c.model === "phantom" ? ctx.canary.model : (fed = loadOnnx(rtOf(ctx.engine), seedModels()[4]));
        const [first, second] = model.inputs.map((i) => i.name);
        const record: Record<string, unknown> = {};
        if (c.a) record[first] = value(c.a);
        if (c.b && second) record[second] = value(c.b);
        if (c.extra) record.bogus = new Float32Array(1);
        const inputs = c.inputs === "object" ? record : c.inputs === "null" ? null : c.inputs === "array" ? [record[first]] : "slice";
        const out = model.run(inputs as never);
        for (const v of Object.values(out)) if (!(v instanceof Float32Array)) throw new FuzzFailure("invalid", "run returned a non-Float32Array output");
      } finally {
        fed?.dispose();
        for (const t of made) if (!t.disposed) t.dispose();
        if (ctx.canary.model.plans > plans) await ctx.canary.renew(ctx.engine);
        ctx.canary.check(ctx.engine, "after a bad model.run input");
      }
    });
  },
};

// ---------------------------------------------------------------------------------------------
// The op API.

type TDesc = { t: "tensor"; shape: number[]; fill: Fill } | { t: "disposed"; shape: number[] } | { t: "foreign"; shape: number[] } | { t: "junk"; v: number };

const dim = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 9 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 16, 33) });
const anyShape = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), dim, dim, dim) },
  { weight: 1, arbitrary: fc.array(dim, { maxLength: 5 }) },
);
const tdesc: fc.Arbitrary<TDesc> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ t: fc.constant("tensor" as const), shape: anyShape, fill: fc.constantFrom<Fill>("pattern", "pattern", "pattern", "nan", "inf", "mixed", "huge") }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("disposed" as const), shape: anyShape }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("foreign" as const), shape: anyShape }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("junk" as const), v: fc.nat({ max: 7 }) }) },
);

const OPT_KEYS = ["bias", "strides", "dilations", "padding", "groups", "activation", "kernel", "countIncludePad", "transA", "transB", "alpha", "beta", "c", "bogus"];
const num = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: edgeFloat }, { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 31, 2 ** 32, 1e15, 1.5, 2 ** 31 - 1) });
const optValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: num },
  { weight: 2, arbitrary: fc.constantFrom("same", "valid", "relu", "relu6", "sigmoid", "tanh", "none", "SAME", "", "elu") },
  { weight: 3, arbitrary: fc.array(num, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.record({ clip: fc.array(edgeFloat, { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ leakyRelu: edgeFloat }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, true, false, "TENSOR", "F32", "F32x0", 2n, [1n, 1n]) },
);
const opts = fc.option(fc.dictionary(fc.constantFrom(...OPT_KEYS), optValue, { maxKeys: 4 }), { nil: undefined, freq: 6 });

const OPS = ["conv2d", "prepareConv2d", "gemm", "prepareGemm", "maxPool2d", "avgPool2d", "globalAvgPool", "globalMaxPool", "relu", "sigmoid", "tanh", "exp", "clip", "leakyRelu", "add", "sub", "mul", "div", "softmax", "tensor"] as const;

type OpCase = { op: (typeof OPS)[number]; x: TDesc; w: TDesc; opts?: Record<string, unknown>; out: "none" | "same" | "x" | TDesc; n1: number; n2: number; data: number; shape: unknown[] };

const JUNK_ARGS: unknown[] = [null, undefined, 0, "x", {}, [], Float32Array.of(1, 2), { shape: [1], ptr: 16, size: 1 }];

export const ops: Target<OpCase> = {
  name: "ops",
  arbitrary: fc.record({
    op: fc.constantFrom(...OPS),
    x: tdesc,
    w: tdesc,
    opts,
    out: fc.oneof({ weight: 6, arbitrary: fc.constant("none" as const) }, { weight: 2, arbitrary: fc.constantFrom("same" as const, "x" as const) }, { weight: 1, arbitrary: tdesc }),
    n1: edgeFloat,
    n2: edgeFloat,
    data: fc.oneof(fc.nat({ max: 40 }), fc.constant(-1)),
    shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(-1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 53, "3", null)), { maxLength: 5 }),
  }),
  run(ctx, c) {
    const e = ctx.engine;
    const made: Tensor[] = [];
    const prepared: { dispose(): void }[] = [];
    const make = (d: TDesc): unknown => {
      if (d.t === "junk") return JUNK_ARGS[d.v % JUNK_ARGS.length];
      const owner = d.t === "foreign" ? ctx.other : e;
      const t = owner.tensor(filled(d.shape.reduce((p, q) => p * q, 1), d.t === "tensor" ? d.fill : "pattern"), d.shape);
      made.push(t);
      if (d.t === "disposed") t.dispose();
      return t;
    };
    return guard(ctx, () => {
      try {
        const x = make(c.x) as Tensor;
        const w = make(c.w) as Tensor;
        let o: Record<string, unknown> | undefined;
        if (c.opts) {
          o = {};
          for (const [k, v] of Object.entries(c.opts)) {
            // A tensor only where one is expected: a tensor anywhere else is formatted into the
            // error message with JSON.stringify, which serialises the engine's whole memory (reported).
            const tensorOk = k === "bias" || k === "c";
            o[k] = v === "TENSOR" && tensorOk ? make({ t: "tensor", shape: [Math.max(1, (w as Tensor)?.shape?.[0] ?? 1)], fill: "pattern" }) : v === "F32" ? filled((w as Tensor)?.shape?.[0] ?? 3, "pattern") : v === "F32x0" ? new Float32Array(0) : v;
          }
        }
        const out = c.out === "none" ? undefined : c.out === "same" ? "same" : c.out === "x" ? x : make(c.out);
        const any = e as unknown as Record<string, (...a: unknown[]) => unknown>;
        // Results are tracked as they come, so that an error in a later call still disposes them.
        const results = {
          list: [] as unknown[],
          push(r: unknown) {
            this.list.push(r);
            if (typeof (r as Tensor)?.dispose === "function" && !made.includes(r as Tensor)) made.push(r as Tensor);
          },
        };
        switch (c.op) {
          case "prepareConv2d":
          case "prepareGemm": {
            const op = any[c.op](w, o) as { run(x: unknown, out?: unknown): unknown; dispose(): void };
            prepared.push(op);
            const first = op.run(x);
            results.push(first);
            // Again, into an output: the previous result, an explicit tensor, or x itself.
            results.push(op.run(x, out === "same" ? first : out));
            break;
          }
          case "conv2d":
          case "gemm":
            results.push(any[c.op](x, w, o));
            break;
          case "maxPool2d":
          case "avgPool2d":
            results.push(any[c.op](x, o));
            break;
          case "clip":
            results.push(e.clip(x, c.n1, c.n2));
            break;
          case "leakyRelu":
            results.push(e.leakyRelu(x, c.n1));
            break;
          case "add":
          case "sub":
          case "mul":
          case "div":
            results.push(any[c.op](x, w));
            break;
          case "tensor": {
            const n = c.data < 0 ? 0 : c.data;
            results.push(e.tensor(c.data < 0 ? (null as never) : filled(n, "mixed"), c.shape as number[]));
            break;
          }
          default:
            results.push(any[c.op](x));
        }
        for (const r of results.list) {
          const t = r as Tensor;
          if (typeof t?.dispose !== "function" || !Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
            throw new FuzzFailure("invalid", `${c.op} returned ${String(r)} without throwing`);
          }
        }
      } finally {
        for (const p of prepared) p.dispose();
        for (const t of made) if (!t.disposed) t.dispose();
      }
    });
  },
};

export const TARGETS: Target<never>[] = [onnxStructured, onnxBytes, png, jpeg, dicom, runInputs, ops] as unknown as Target<never>[];

// ---------------------------------------------------------------------------------------------
// Driving a target.

export interface Found {
  target: string;
  failure: FuzzFailure;
  /** The minimised input (fast-check's shrunk counterexample). */
  input: unknown;
  seed: number;
  path: string | null;
}

export interface Report {
  target: string;
  cases: number;
  outcomes: Record<string, number>;
  found: Found[];
  ms: number;
}

/**
 * Runs a target from `seed` for `runs` cases or until `untilMs` (performance.now()) passes, in
 * rounds of fast-check runs (seed, seed + 1, ...). A new failure is shrunk and recorded, then
 * treated as known, so that the run goes on looking for others.
 */
export async function fuzz<T>(target: Target<T>, ctx: FuzzCtx, o: { seed: number; runs?: number; untilMs?: number; onFound?: (f: Found) => void }): Promise<Report> {
  const t0 = performance.now();
  const report: Report = { target: target.name, cases: 0, outcomes: {}, found: [], ms: 0 };
  // Outcomes are counted for every run, shrinking runs included; cases only for generated ones.
  const prop = fc.asyncProperty(target.arbitrary, async (v) => {
    const outcome = await target.run(ctx, v);
    report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
  });
  let round = 0;
  const total = o.runs ?? Infinity;
  while (report.cases < total && (o.untilMs === undefined || performance.now() < o.untilMs)) {
    const numRuns = Math.min(200, total - report.cases);
    const seed = (o.seed + round++) | 0;
    const details = await fc.check(prop, {
      seed, numRuns,
      ...(o.untilMs !== undefined ? { interruptAfterTimeLimit: Math.max(1, o.untilMs - performance.now()) } : {}),
      reporter: () => {},
    } as fc.Parameters<[T]>);
    if (details.failed) {
      const err = details.errorInstance;
      const failure = err instanceof FuzzFailure ? err : new FuzzFailure("exception", `the property threw ${String(err)}`);
      const found: Found = { target: target.name, failure, input: details.counterexample?.[0], seed, path: details.counterexamplePath };
      report.found.push(found);
      ctx.known.set(failure.signature, 1);
      o.onFound?.(found);
    }
    report.cases += details.numRuns;
    if (details.numRuns === 0) break;
  }
  report.ms = performance.now() - t0;
  return report;
}
