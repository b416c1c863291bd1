// model.run(inputs, { outputs }) returns any named tensor of the graph. Each generated model is
// also written with every node output as an extra graph output and run by onnxruntime-web: those
// values are the reference. simdcnn runs the original model (fused by default) asking for one
// name at a time, which is the hard case (only that value may lose its fusion), and for all of
// them at once. Tolerance: STACK of onnx-models.test.ts (1e-5 + 1e-5 |ref|, up to 7 layers of
// He-scaled float32 arithmetic summed in another order than ORT's); relu/pool/copies of equal
// values meet it trivially.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, type Engine } from "../src/index.js";
import { type BackendName, compare, compareBits, engines } from "./grid.js";
import { Net, feed } from "./networks.js";
import { onnxModel } from "./onnx-builder.js";
import { runOrt } from "./ort.js";
import { Rng } from "./reference.js";

const TOL = { atol: 1e-5, rtol: 1e-5 };

let E: Record<BackendName, Engine>;
beforeAll(async () => {
  E = await engines();
});
afterAll(() => {
  for (const e of Object.values(E)) e.dispose();
});

interface Case {
  net: Net;
  input: number[];
  output: number[];
}

/** Every node output of the net, in node order. */
function names(n: Net): string[] {
  return n.nodes.flatMap((node) => node.outputs);
}

async function check(c: Case, seed: number) {
  const { net: n, input, output } = c;
  const spec = { opset: 13, inputs: [{ name: "x", shape: input }], outputs: [{ name: "y", shape: output }] };
  const bytes = n.model(spec);
  const all = names(n);
  const withAll = onnxModel({ ...spec, nodes: n.nodes, initializers: n.initializers, outputs: all.map((name) => ({ name })) });
  const x = feed(new Rng(seed), input);
  const ref = await runOrt(withAll, { x });
  const got: Record<string, Record<string, Float32Array>> = {};
  for (const backend of ["simd", "scalar"] as const) {
    const model = await E[backend].loadOnnx(bytes);
    try {
      for (const name of all) {
        const out = model.run({ x: x.data }, { outputs: [name] });
        expect(Object.keys(out)).toEqual([name]);
        expect(compare(out[name], ref[name].data, (k) => TOL.atol + TOL.rtol * Math.abs(ref[name].data[k]), `${backend} ${name}`)).toBe("");
        got[backend] = { ...got[backend], [name]: out[name] };
      }
      const together = model.run({ x: x.data }, { outputs: all });
      // Asked together, a BN output is computed unfolded (its input is asked for too), so it
      // rounds differently from the folded value asked alone: both are held to ORT.
      for (const name of all) expect(compare(together[name], ref[name].data, (k) => TOL.atol + TOL.rtol * Math.abs(ref[name].data[k]), `${backend} ${name} together`)).toBe("");
      // The declared output, fused again, is still right after the other plans.
      const y = model.run({ x: x.data }).y;
      expect(compare(y, ref.y.data, (k) => TOL.atol + TOL.rtol * Math.abs(ref.y.data[k]), `${backend} y`)).toBe("");
    } finally {
      model.dispose();
    }
  }
  for (const name of all) expect(compareBits(got.simd[name], got.scalar[name], `${name} simd vs scalar`)).toBe("");
}

describe("run(inputs, { outputs }) against onnxruntime-web with every node output as a graph output", () => {
  it("conv + BN + relu, twice (BN folded and relu fused unless asked for), pooling, flatten, gemm + softmax", async () => {
    const n = new Net(new Rng(1));
    let t = n.op("Relu", [n.batchNorm(n.conv("x", 3, 8, 3, { pads: [1, 1, 1, 1] }, false), 8)]);
    t = n.op("Relu", [n.batchNorm(n.conv(t, 8, 8, 3, { pads: [1, 1, 1, 1] }), 8)]);
    t = n.op("MaxPool", [t], { kernel_shape: [2, 2], strides: [2, 2] });
    t = n.op("Flatten", [n.op("GlobalAveragePool", [t])], { axis: 1 });
    n.output(n.op("Softmax", [n.gemm(t, 8, 4)], { axis: 1 }));
    await check({ net: n, input: [2, 3, 10, 9], output: [2, 4] }, 11);
  });

  it("a residual block (the Add fused into the second conv's store unless its operands are asked for)", async () => {
    const n = new Net(new Rng(2));
    const x = n.op("Relu", [n.conv("x", 3, 8, 3, { pads: [1, 1, 1, 1] })]);
    let t = n.op("Relu", [n.batchNorm(n.conv(x, 8, 8, 3, { pads: [1, 1, 1, 1] }, false), 8)]);
    t = n.batchNorm(n.conv(t, 8, 8, 3, { pads: [1, 1, 1, 1] }, false), 8);
    n.output(n.op("Relu", [n.op("Add", [t, x])]));
    await check({ net: n, input: [1, 3, 7, 6], output: [1, 8, 7, 6] }, 12);
  });

  it("an NHWC model (tf2onnx-style transposes around each NCHW op) and a sigmoid head", async () => {
    const n = new Net(new Rng(3));
    let t = n.op("Transpose", ["x"], { perm: [0, 3, 1, 2] });
    t = n.conv(t, 4, 8, 3, { pads: [1, 1, 1, 1] });
    t = n.op("Transpose", [t], { perm: [0, 2, 3, 1] });
    t = n.op("Relu", [t]);
    t = n.op("Transpose", [t], { perm: [0, 3, 1, 2] });
    t = n.op("MaxPool", [t], { kernel_shape: [2, 2], strides: [2, 2] });
    t = n.op("Flatten", [n.op("GlobalMaxPool", [t])], { axis: 1 });
    n.output(n.op("Sigmoid", [n.gemm(t, 8, 1)]));
    await check({ net: n, input: [1, 8, 6, 4], output: [1, 1] }, 13);
  });
});

describe("run's outputs option: errors", () => {
  it("an unknown name is an ArgumentError listing close names; a bad list is refused", async () => {
    const n = new Net(new Rng(4));
    const conv = n.conv("x", 1, 2, 3);
    n.output(n.op("Relu", [conv]));
    const model = await E.simd.loadOnnx(n.model({ opset: 13, inputs: [{ name: "x", shape: [1, 1, 5, 5] }], outputs: [{ name: "y", shape: [1, 2, 3, 3] }] }));
    const x = new Float32Array(25);
    expect(() => model.run({ x }, { outputs: ["conv_out"] })).toThrow(ArgumentError);
    expect(() => model.run({ x }, { outputs: ["conv_out"] })).toThrow(/'conv_out', which is no tensor of the graph; close names: 'conv\d+_out'/);
    expect(() => model.run({ x }, { outputs: [] })).toThrow(/non-empty array of tensor names/);
    expect(() => model.run({ x }, { outputs: "y" as unknown as string[] })).toThrow(/non-empty array/);
    expect(() => model.run({ x }, { outputs: [conv], into: { y: new Float32Array(18) } })).toThrow(/into names 'y', which is not an output of this run/);
    expect(model.tensorNames).toEqual(expect.arrayContaining(["x", conv, "y"]));
    model.dispose();
  });
});
