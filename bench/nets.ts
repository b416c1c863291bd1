// The whole networks the benchmarks run, built with the layers API from seeded random weights.
import { type Engine, type Layer, type Model, type SymbolicTensor, layers } from "../src/index.js";

export function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

let seed = 1;
const he = (n: number, fanIn: number) => random(n, seed++, Math.sqrt(3 / fanIn));

function conv(cin: number, cout: number, k: number, o: { strides?: number; activation?: "relu" | "relu6"; groups?: number } = {}): Layer {
  const g = o.groups ?? 1;
  return layers.conv2d({
    filters: cout, kernel: k, padding: "same", strides: o.strides, groups: g,
    weights: he(cout * k * k * (cin / g), k * k * (cin / g)), bias: random(cout, seed++, 0.05), activation: o.activation,
  });
}

function bn(c: number): Layer {
  return layers.batchNorm({
    gamma: random(c, seed++, 0.2).map((v) => 1 + v), beta: random(c, seed++, 0.1),
    mean: random(c, seed++, 0.1), variance: random(c, seed++, 0.2).map((v) => 1 + v),
  });
}

function dense(i: number, o: number): Layer {
  return layers.dense({ units: o, weights: he(i * o, i), bias: random(o, seed++, 0.05) });
}

export interface NetDef {
  name: string;
  /** NHWC input without batch. */
  input: [number, number, number];
  build(e: Engine): Model;
}

export const lenet: NetDef = {
  name: "LeNet 28x28x1",
  input: [28, 28, 1],
  build: (e) =>
    e.sequential([
      layers.input([28, 28, 1]),
      layers.conv2d({ filters: 6, kernel: 5, weights: he(6 * 25, 25), bias: random(6, 2, 0.05), activation: "relu" }),
      layers.maxPool2d({ kernel: 2 }),
      layers.conv2d({ filters: 16, kernel: 5, weights: he(16 * 25 * 6, 150), bias: random(16, 3, 0.05), activation: "relu" }),
      layers.maxPool2d({ kernel: 2 }),
      layers.flatten(),
      layers.dense({ units: 120, weights: he(256 * 120, 256), bias: random(120, 4, 0.05), activation: "relu" }),
      layers.dense({ units: 84, weights: he(120 * 84, 120), bias: random(84, 5, 0.05), activation: "relu" }),
      dense(84, 10),
      layers.softmax(),
    ]),
};

export const sliceClassifier: NetDef = {
  name: "slice classifier 256x256x1",
  input: [256, 256, 1],
  build(e) {
    const stack: Layer[] = [];
    let cin = 1;
    for (const c of [16, 32, 64, 128]) {
      stack.push(conv(cin, c, 3, { activation: "relu" }), conv(c, c, 3, { activation: "relu" }), layers.maxPool2d({ kernel: 2 }));
      cin = c;
    }
    return e.sequential([layers.input([256, 256, 1]), ...stack, layers.globalAvgPool2d(), dense(128, 2), layers.softmax()]);
  },
};

function basicBlock(x: SymbolicTensor, cin: number, cout: number, stride: number): SymbolicTensor {
  let y = conv(cin, cout, 3, { strides: stride }).apply(x);
  y = layers.relu().apply(bn(cout).apply(y));
  y = bn(cout).apply(conv(cout, cout, 3).apply(y));
  const shortcut = stride === 1 && cin === cout ? x : bn(cout).apply(conv(cin, cout, 1, { strides: stride }).apply(x));
  return layers.relu().apply(layers.add().apply([y, shortcut]));
}

export const resnet: NetDef = {
  name: "ResNet-style 64x64x3",
  input: [64, 64, 3],
  build(e) {
    const input = layers.input([64, 64, 3]);
    let x = layers.relu().apply(bn(32).apply(conv(3, 32, 3).apply(input)));
    let c = 32;
    for (const [cout, stride] of [[32, 1], [32, 1], [64, 2], [64, 1], [128, 2], [128, 1]] as const) {
      x = basicBlock(x, c, cout, stride);
      c = cout;
    }
    const out = layers.softmax().apply(dense(c, 10).apply(layers.globalAvgPool2d().apply(x)));
    return e.graph({ inputs: [input], outputs: [out] });
  },
};

export const mobilenet: NetDef = {
  name: "MobileNet-style 112x112x3",
  input: [112, 112, 3],
  build(e) {
    const stack: Layer[] = [conv(3, 32, 3, { strides: 2 }), bn(32), layers.relu6()];
    let c = 32;
    for (const [cout, stride] of [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2]] as const) {
      stack.push(
        layers.depthwiseConv2d({ kernel: 3, padding: "same", strides: stride, weights: he(c * 9, 9) }), bn(c), layers.relu6(),
        conv(c, cout, 1), bn(cout), layers.relu6(),
      );
      c = cout;
    }
    return e.sequential([layers.input([112, 112, 3]), ...stack, layers.globalAvgPool2d(), dense(c, 10), layers.softmax()]);
  },
};

export const networks: NetDef[] = [lenet, sliceClassifier, resnet, mobilenet];
