// Layout copies: the transposes that NCHW models pay at their edges (and 1x64x56x56 with x and y
// off their cache lines), against memory.copy of the same bytes and against the general strided
// copy, in one run; then a one-op NCHW max-pool model through loadOnnx against the pooling kernel
// alone; then a 1x1 convolution of NCHW planes run on the planes (src/ops/pointwise.ts) against the transposes around the NHWC GEMM it replaces,
// and a depthwise convolution on the planes (src/ops/dwconv_planes.ts) against the transposes
// around the NHWC depthwise kernel.
//   npx tsx bench/layout.ts [--quick]
import os from "node:os";
import { Bench } from "tinybench";
import { type Engine, init } from "../src/node.js";
import { permutePlan } from "../src/graph/layout.js";
import { encodeModel } from "../src/onnx/encode.js";
import { DataType } from "../src/onnx/model.js";
import { Conv2d } from "../src/ops/conv2d.js";
import { DepthwiseConvNchw } from "../src/ops/dwconv_planes.js";
import { PointwiseConvNchw } from "../src/ops/pointwise.js";
import { Transpose } from "../src/ops/transpose.js";
import type { Runtime } from "../src/runtime/runtime.js";
import type { Tensor } from "../src/runtime/tensor.js";
import { random } from "./nets.js";

const quick = process.argv.includes("--quick");
const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];
const SHAPES = [[1, 16, 256, 256], [1, 32, 112, 112], [1, 64, 56, 56], [1, 1, 256, 256], [1, 3, 224, 224]];
// Other permutations: pixel shuffle's 6-d one (depth to space, factor 3, 16 channels out), and a
// swap of two axes that keeps the last one (runs of 8 floats move whole).
const OTHERS: [string, number[], number[]][] = [
  ["pixel shuffle", [1, 16, 3, 3, 75, 75], [0, 1, 4, 2, 5, 3]],
  ["swap, runs of 8", [1, 96, 96, 8], [0, 2, 1, 3]],
];
// Tensors are 16-aligned, so a graph's pixels of 64 channels often start off a cache line (the
// tensors above happen to start on one): x and y 16 and 48 bytes past a line.
const OFF_LINE = { x: 16, y: 48 };

const rtOf = (e: Engine) => (e as unknown as { rt: Runtime }).rt;

// The machine is shared: tasks run in short alternating rounds, and each task's time is the
// median of its rounds' medians, so that a burst of other load hits every task alike.
const ROUNDS = quick ? 3 : 7;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function medians(tasks: Record<string, () => void>): Promise<Record<string, number>> {
  const rounds: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const bench = new Bench({ time: quick ? 60 : 150, iterations: 3, warmupIterations: r === 0 ? 8 : 2, warmupTime: r === 0 ? 200 : 10 });
    for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
    await bench.run();
    for (const t of bench.tasks) {
      if (t.result.state !== "completed") throw new Error(`${t.name}: ${t.result.state}`);
      (rounds[t.name] ??= []).push(t.result.latency.p50);
    }
  }
  return Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)]));
}

function maxpoolModel(c: number, h: number, w: number): Uint8Array {
  const ints = (value: number[]) => ({ type: "ints" as const, value });
  return encodeModel({
    irVersion: 8,
    opsets: new Map([["", 13]]),
    producer: "simdcnn bench",
    metadata: {},
    graph: {
      name: "maxpool",
      nodes: [{ name: "pool", opType: "MaxPool", domain: "", inputs: ["input"], outputs: ["output"], attributes: new Map([["kernel_shape", ints([2, 2])], ["strides", ints([2, 2])]]) }],
      initializers: new Map(),
      inputs: [{ name: "input", elemType: DataType.FLOAT, shape: [1, c, h, w] }],
      outputs: [{ name: "output", elemType: DataType.FLOAT, shape: null }],
    },
  });
}

async function main(): Promise<void> {
  const engines = { simd: await init({ backend: "simd" }), simd2: await init({ backend: "simd", threads: 2 }) };
  console.log(`${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}\n`);
  console.log("GB/s = (bytes read + bytes written) / median time; memcpy is memory.copy of the same bytes");
  console.log(["shape".padEnd(16), "perm".padEnd(15), "memcpy".padStart(8), "transpose".padStart(10), "% memcpy".padStart(9), "strided".padStart(8), "x strided".padStart(10), "2 thr".padStart(8)].join(" "));
  const cases: [string, number[], number[], { x: number; y: number }?][] = [
    ...SHAPES.flatMap((s): [string, number[], number[]][] => [["NCHW>NHWC", s, NCHW_TO_NHWC], ["NHWC>NCHW", [s[0], s[2], s[3], s[1]], NHWC_TO_NCHW]]),
    ...OTHERS,
    ["NCHW>NHWC off", [1, 64, 56, 56], NCHW_TO_NHWC, OFF_LINE],
    ["NHWC>NCHW off", [1, 56, 56, 64], NHWC_TO_NCHW, OFF_LINE],
  ];
  for (const [label, xShape, perm, at] of cases) {
    const n = xShape.reduce((a, b) => a * b, 1);
    const tasks: Record<string, () => void> = {};
    const cleanup: (() => void)[] = [];
    for (const [name, e] of Object.entries(engines)) {
      const rt = rtOf(e);
      // Off a line: room for x and y to start where `at` says past the first line of theirs.
      const extra = at ? 32 : 0;
      const xt = e.tensor(random(n + extra, 1, 1), [n + extra]);
      const yt = e.tensor(new Float32Array(n + extra), [n + extra]);
      const x = { ptr: at ? Math.ceil(xt.ptr / 64) * 64 + at.x : xt.ptr };
      const y = { ptr: at ? Math.ceil(yt.ptr / 64) * 64 + at.y : yt.ptr };
      const op = new Transpose(rt, xShape, perm);
      cleanup.push(() => {
        xt.dispose();
        yt.dispose();
        op.dispose();
      });
      if (name === "simd") {
        const k = rt.kernels;
        const plan = permutePlan(xShape, perm);
        const [s0, s1, s2, s3, s4, s5] = plan.sizes;
        const [a0, a1, a2, a3, a4, a5] = plan.from;
        const [b0, b1, b2, b3, b4, b5] = plan.to;
        tasks.memcpy = () => k.strided_copy_f32(1, 1, 1, 1, 1, n, x.ptr, 0, 0, 0, 0, 0, 1, y.ptr, 0, 0, 0, 0, 0, 1);
        tasks.strided = () => k.strided_copy_f32(s0, s1, s2, s3, s4, s5, x.ptr, a0, a1, a2, a3, a4, a5, y.ptr, b0, b1, b2, b3, b4, b5);
        tasks.transpose = () => op.exec([x.ptr], y.ptr);
      } else {
        tasks.transpose2 = () => op.exec([x.ptr], y.ptr);
      }
    }
    const ms = await medians(tasks);
    for (const c of cleanup) c();
    const gbs = (m: number) => (8 * n) / (m / 1000) / 1e9;
    console.log(
      [
        xShape.join("x").padEnd(16), label.padEnd(15), gbs(ms.memcpy).toFixed(1).padStart(8), gbs(ms.transpose).toFixed(1).padStart(10),
        `${((100 * ms.memcpy) / ms.transpose).toFixed(0)}%`.padStart(9), gbs(ms.strided).toFixed(1).padStart(8),
        `${(ms.strided / ms.transpose).toFixed(1)}x`.padStart(10), gbs(ms.transpose2).toFixed(1).padStart(8),
      ].join(" "),
    );
  }

  const [c, h, w] = [16, 256, 256];
  const e = engines.simd;
  const model = await e.loadOnnx(maxpoolModel(c, h, w));
  const input = random(c * h * w, 2, 1);
  const xt = e.tensor(input, [1, h, w, c]);
  const ms = await medians({
    model: () => void model.run({ input }),
    kernel: () => e.maxPool2d(xt, { kernel: 2 }).dispose(),
  });
  console.log(`\nmaxpool 2x2 ${h}x${w}x${c}, one-op NCHW ONNX model through loadOnnx (input copied in, output copied out):`);
  console.log(`  model.run ${ms.model.toFixed(3)} ms, the NHWC kernel alone ${ms.kernel.toFixed(3)} ms (${(ms.model / ms.kernel).toFixed(1)}x)`);
  console.log(model.summary().split("\n").map((l) => `  ${l}`).join("\n"));
  model.dispose();
  xt.dispose();
  await pointwise(e);
  await depthwise(e);
  for (const en of Object.values(engines)) en.dispose();
}

/** The 1x1 convolution of bench/peers.ts (56x56, 64 -> 256, bias, relu), outputs written in place. */
async function pointwise(e: Engine): Promise<void> {
  const [h, w, cin, cout] = [56, 56, 64, 256];
  const rt = rtOf(e);
  const wt = e.tensor(random(cout * cin, 4), [cout, 1, 1, cin]);
  const opts = { bias: random(cout, 5), activation: "relu" as const };
  const planes = new PointwiseConvNchw(rt, wt, opts);
  const nhwc = new Conv2d(rt, wt, opts);
  const into = new Transpose(rt, [1, cin, h, w], NCHW_TO_NHWC);
  const back = new Transpose(rt, [1, h, w, cout], NHWC_TO_NCHW);
  const x = e.tensor(random(cin * h * w, 3), [1, cin, h, w]);
  const xh = e.tensor(new Float32Array(cin * h * w), [1, h, w, cin]);
  const yh = e.tensor(new Float32Array(cout * h * w), [1, h, w, cout]);
  const [y1, y2] = [0, 1].map(() => e.tensor(new Float32Array(cout * h * w), [1, cout, h, w]));
  planes.bind([x.shape]);
  nhwc.bind([xh.shape]);
  await planesAgainstTransposes(`conv 1x1 ${h}x${w} ${cin}->${cout} +relu`, "GEMM", { planes, into, nhwc, back }, { x, xh, yh, y1, y2 });
  for (const t of [wt, x, xh, yh, y1, y2]) t.dispose();
  for (const op of [planes, nhwc, into, back]) op.dispose();
}

/** An op on the NCHW planes against transposes around its NHWC form, outputs in place: times and whether the bits agree. */
async function planesAgainstTransposes(
  label: string,
  kernel: string,
  ops: Record<"planes" | "into" | "nhwc" | "back", { exec(inputs: readonly number[], y: number): void }>,
  t: Record<"x" | "xh" | "yh" | "y1" | "y2", Tensor>,
): Promise<void> {
  const ms = await medians({
    planes: () => ops.planes.exec([t.x.ptr], t.y1.ptr),
    transposes: () => {
      ops.into.exec([t.x.ptr], t.xh.ptr);
      ops.nhwc.exec([t.xh.ptr], t.yh.ptr);
      ops.back.exec([t.yh.ptr], t.y2.ptr);
    },
    kernel: () => ops.nhwc.exec([t.xh.ptr], t.yh.ptr),
  });
  const [a1, a2] = [t.y1.toArray(), t.y2.toArray()];
  const same = a1.every((v, i) => Object.is(v, a2[i]));
  console.log(`\n${label}, NCHW in and out (outputs in place; ${same ? "the same bits" : "OUTPUTS DIFFER"}):`);
  console.log(`  on the planes ${ms.planes.toFixed(3)} ms; transposes + NHWC ${kernel} ${ms.transposes.toFixed(3)} ms, of which the ${kernel} ${ms.kernel.toFixed(3)} ms`);
}

await main();

/**
 * The depthwise convolution of bench/peers.ts (3x3, 112x112, 32 channels, bias, relu) at strides 1
 * and 2, and 5x5 (the kernel's general loops); outputs in place.
 */
async function depthwise(e: Engine): Promise<void> {
  const [h, w, c] = [112, 112, 32];
  const rt = rtOf(e);
  const x = e.tensor(random(c * h * w, 7), [1, c, h, w]);
  const xh = e.tensor(new Float32Array(c * h * w), [1, h, w, c]);
  const into = new Transpose(rt, [1, c, h, w], NCHW_TO_NHWC);
  for (const [k, stride] of [[3, 1], [3, 2], [5, 1]]) {
    const wt = e.tensor(random(c * k * k, 6), [c, k, k, 1]);
    const opts = { bias: random(c, 8), activation: "relu" as const, strides: stride, padding: "same" as const };
    const planes = new DepthwiseConvNchw(rt, wt, opts);
    const nhwc = new Conv2d(rt, wt, { ...opts, groups: c });
    const [, , oh, ow] = planes.bind([x.shape]);
    nhwc.bind([xh.shape]);
    const back = new Transpose(rt, [1, oh, ow, c], NHWC_TO_NCHW);
    const yh = e.tensor(new Float32Array(c * oh * ow), [1, oh, ow, c]);
    const [y1, y2] = [0, 1].map(() => e.tensor(new Float32Array(c * oh * ow), [1, c, oh, ow]));
    await planesAgainstTransposes(`depthwise ${k}x${k} stride ${stride} ${h}x${w}x${c} +relu`, "kernel", { planes, into, nhwc, back }, { x, xh, yh, y1, y2 });
    for (const t of [wt, yh, y1, y2]) t.dispose();
    for (const op of [planes, nhwc, back]) op.dispose();
  }
  for (const t of [x, xh]) t.dispose();
  into.dispose();
}
