// ONNX models for onnxruntime-web and simdcnn's ONNX path, written with simdcnn's own encoder:
// whole networks from their description in bench/nets.ts, and the single-node models of the
// kernel workloads. They are NCHW, ONNX's native layout, so that both run them as they run any
// exported model: Transposes only where an exporter writes them (before a feature map's Reshape).
import { DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from "../../src/onnx/model.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { resolvePadding } from "../../src/ops/options.js";
import { type Act, type NetSpec, featureMaps, shapes } from "../nets.js";

const ints = (value: number[]): OnnxAttribute => ({ type: "ints", value });
const int = (value: number): OnnxAttribute => ({ type: "int", value });
const str = (value: string): OnnxAttribute => ({ type: "string", value });

/** A graph under construction: nodes, initializers and fresh value names. */
export class OnnxGraph {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers = new Map<string, OnnxTensor>();
  private serial = 0;

  constant(dims: number[], floats: Float32Array): string {
    const name = `c${this.serial++}`;
    this.initializers.set(name, { name, dims, dataType: DataType.FLOAT, floats });
    return name;
  }

  int64s(values: number[]): string {
    const name = `c${this.serial++}`;
    this.initializers.set(name, { name, dims: [values.length], dataType: DataType.INT64, ints: values });
    return name;
  }

  node(opType: string, inputs: string[], attrs: Record<string, OnnxAttribute> = {}): string {
    const out = `v${this.serial++}`;
    this.nodes.push({ name: out, opType, domain: "", inputs, outputs: [out], attributes: new Map(Object.entries(attrs)) });
    return out;
  }

  act(x: string, a: Act | undefined): string {
    if (a === "relu") return this.node("Relu", [x]);
    if (a === "relu6") return this.node("Clip", [x, this.constant([], Float32Array.of(0)), this.constant([], Float32Array.of(6))]);
    return x;
  }

  /** The model from input 'input' (dims as given) to `output`, serialized. */
  encode(inputDims: number[], output: string): Uint8Array {
    const model: OnnxModel = {
      irVersion: 8,
      opsets: new Map([["", 13]]),
      producer: "simdcnn bench",
      metadata: {},
      graph: {
        name: "bench",
        nodes: [...this.nodes, { name: "output", opType: "Identity", domain: "", inputs: [output], outputs: ["output"], attributes: new Map() }],
        initializers: this.initializers,
        inputs: [{ name: "input", elemType: DataType.FLOAT, shape: inputDims }],
        outputs: [{ name: "output", elemType: DataType.FLOAT, shape: null }],
      },
    };
    return encodeModel(model);
  }
}

/** OHWI [O, kH, kW, I] -> OIHW. */
export function ohwiToOihw(w: Float32Array, o: number, k: number, i: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let f = 0; f < o; f++)
    for (let y = 0; y < k; y++)
      for (let x = 0; x < k; x++)
        for (let c = 0; c < i; c++) out[((f * i + c) * k + y) * k + x] = w[((f * k + y) * k + x) * i + c];
  return out;
}

/** Adds a Conv node (explicit pads, the same 'same' rule as simdcnn's and TensorFlow's). */
export function conv(g: OnnxGraph, x: string, hw: [number, number], o: { cout: number; cin: number; k: number; stride: number; padding: "same" | "valid"; groups: number; weights: Float32Array; bias?: Float32Array }): string {
  const s: [number, number] = [o.stride, o.stride];
  const pads = resolvePadding(o.padding, hw[0], hw[1], [o.k, o.k], s, [1, 1], "conv");
  const cg = o.cin / o.groups;
  const inputs = [x, g.constant([o.cout, cg, o.k, o.k], ohwiToOihw(o.weights, o.cout, o.k, cg))];
  if (o.bias) inputs.push(g.constant([o.cout], o.bias));
  return g.node("Conv", inputs, { kernel_shape: ints([o.k, o.k]), strides: ints(s), pads: ints(pads), group: int(o.groups) });
}

/** The network as an NCHW ONNX model: input [1, C, H, W], output as the network's (NCHW for a feature map). */
export function onnxNetwork(spec: NetSpec): Uint8Array {
  const g = new OnnxGraph();
  const shape = shapes(spec);
  const maps = featureMaps(spec);
  const values = ["input"];
  for (const n of spec.nodes) {
    const from = Array.isArray(n.from) ? n.from[0] : n.from;
    const x = values[from];
    const xs = shape[from];
    switch (n.op) {
      case "conv": {
        let y = conv(g, x, [xs[0], xs[1]], { ...n, cin: xs[2] });
        if (n.bn) {
          const c = (a: Float32Array) => g.constant([n.cout], a);
          y = g.node("BatchNormalization", [y, c(n.bn.gamma), c(n.bn.beta), c(n.bn.mean), c(n.bn.variance)], { epsilon: { type: "float", value: n.bn.epsilon } });
        }
        values.push(g.act(y, n.act));
        break;
      }
      case "deconv": {
        // [cin, k, k, cout] -> ONNX's [cin, cout, k, k].
        const cin = xs[2];
        const w = new Float32Array(n.weights.length);
        for (let i = 0; i < cin; i++)
          for (let t = 0; t < n.k * n.k; t++)
            for (let o = 0; o < n.cout; o++) w[(i * n.cout + o) * n.k * n.k + t] = n.weights[(i * n.k * n.k + t) * n.cout + o];
        const inputs = [x, g.constant([cin, n.cout, n.k, n.k], w)];
        if (n.bias) inputs.push(g.constant([n.cout], n.bias));
        values.push(g.act(g.node("ConvTranspose", inputs, { kernel_shape: ints([n.k, n.k]), strides: ints([n.stride, n.stride]) }), n.act));
        break;
      }
      case "resize": {
        const attrs: Record<string, OnnxAttribute> =
          n.mode === "bilinear"
            ? { mode: str("linear"), coordinate_transformation_mode: str("half_pixel") }
            : { mode: str("nearest"), coordinate_transformation_mode: str("asymmetric"), nearest_mode: str("floor") };
        values.push(g.node("Resize", [x, "", g.constant([4], Float32Array.of(1, 1, 2, 2))], attrs));
        break;
      }
      case "maxPool":
        values.push(g.node("MaxPool", [x], { kernel_shape: ints([n.k, n.k]), strides: ints([n.k, n.k]) }));
        break;
      case "globalAvgPool":
        values.push(g.node("Flatten", [g.node("GlobalAveragePool", [x])], { axis: int(1) }));
        break;
      case "flatten":
        values.push(g.node("Flatten", [x], { axis: int(1) }));
        break;
      case "dense": {
        // The description's dense weights take HWC-ordered features; an NCHW Flatten yields CHW
        // order, so a dense layer after a spatial flatten gets its rows permuted to match.
        const prev = spec.nodes[from - 1];
        const src = prev?.op === "flatten" && maps[prev.from] ? shape[prev.from] : undefined;
        let w = n.weights;
        if (src) {
          const [h, wd, c] = src;
          w = new Float32Array(n.weights.length);
          for (let y = 0; y < h; y++)
            for (let q = 0; q < wd; q++)
              for (let ch = 0; ch < c; ch++) {
                const hwc = (y * wd + q) * c + ch;
                const chw = (ch * h + y) * wd + q;
                w.set(n.weights.subarray(hwc * n.units, (hwc + 1) * n.units), chw * n.units);
              }
        }
        const d = g.node("Gemm", [x, g.constant([xs[0], n.units], w), g.constant([n.units], n.bias)]);
        values.push(g.act(d, n.act));
        break;
      }
      case "add":
        values.push(g.act(g.node("Add", [x, values[n.from[1]]]), n.act));
        break;
      case "softmax":
        // A feature map's channels are axis 1 in NCHW.
        values.push(g.node("Softmax", [x], { axis: int(maps[from] ? 1 : -1) }));
        break;
      case "sigmoid":
        values.push(g.node("Sigmoid", [x]));
        break;
      case "reshape": {
        // A feature map's elements in the description's HWC order: NHWC first, as exporters write it.
        const hwc = maps[from] ? g.node("Transpose", [x], { perm: ints([0, 2, 3, 1]) }) : x;
        values.push(g.node("Reshape", [hwc, g.int64s([1, ...n.shape])]));
        break;
      }
      case "concat":
        values.push(g.node("Concat", n.from.map((i) => values[i]), { axis: int(1) }));
        break;
    }
  }
  const [h, w, c] = spec.input;
  return g.encode([1, c, h, w], values[values.length - 1]);
}
