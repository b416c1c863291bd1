// TensorFlow.js versions of the networks of bench/nets.ts, as tf ops over resident weight tensors
// (NHWC activations, HWIO filters). Batch normalization is folded into the preceding convolution,
// as TensorFlow.js's converter does for a graph model; simdcnn and onnxruntime fold it at load.
// The tf module is passed in, so that the cold-start child can time its import.
import type * as TF from "@tensorflow/tfjs-core";
import type { NetSpec } from "../nets.js";

type Tf = typeof TF;

export interface TfNetwork {
  /** Runs the network on an NHWC batch of one; the caller disposes the result. */
  run(x: TF.Tensor4D): TF.Tensor;
  dispose(): void;
}

/** OHWI [O, k, k, I] -> HWIO [k, k, I, O]. */
function ohwiToHwio(w: Float32Array, o: number, k: number, i: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let f = 0; f < o; f++)
    for (let y = 0; y < k; y++)
      for (let x = 0; x < k; x++)
        for (let c = 0; c < i; c++) out[((y * k + x) * i + c) * o + f] = w[((f * k + y) * k + x) * i + c];
  return out;
}

export function tfNetwork(tf: Tf, spec: NetSpec): TfNetwork {
  const held: TF.Tensor[] = [];
  const keep = <T extends TF.Tensor>(t: T): T => (held.push(t), t);
  const layers: ((values: TF.Tensor[]) => TF.Tensor)[] = [];
  const act = (a: "relu" | "relu6" | undefined) => a ?? "linear";
  for (const n of spec.nodes) {
    switch (n.op) {
      case "conv": {
        const c = n.cout;
        const cin = n.weights.length / (c * n.k * n.k);
        let w = n.weights;
        let b = n.bias ?? new Float32Array(c);
        if (n.bn) {
          const { gamma, beta, mean, variance, epsilon } = n.bn;
          const scale = gamma.map((g, i) => g / Math.sqrt(variance[i] + epsilon));
          const per = w.length / c;
          w = w.map((v, i) => v * scale[Math.floor(i / per)]);
          b = b.map((v, i) => (v - mean[i]) * scale[i] + beta[i]);
        }
        const bias = keep(tf.tensor1d(b));
        const pad = n.padding;
        const strides: [number, number] = [n.stride, n.stride];
        if (n.groups > 1) {
          // Depthwise only (groups = channels): OHWI [C, k, k, 1] -> HWIO [k, k, 1, C], which has
          // the element order of TensorFlow's [k, k, C, multiplier 1].
          const filter = keep(tf.tensor4d(ohwiToHwio(w, c, n.k, 1), [n.k, n.k, c, 1]));
          layers.push((v) => tf.fused.depthwiseConv2d({ x: v[n.from] as TF.Tensor4D, filter, strides, pad, bias, activation: act(n.act) }));
        } else {
          const filter = keep(tf.tensor4d(ohwiToHwio(w, c, n.k, cin), [n.k, n.k, cin, c]));
          layers.push((v) => tf.fused.conv2d({ x: v[n.from] as TF.Tensor4D, filter, strides, pad, bias, activation: act(n.act) }));
        }
        break;
      }
      case "deconv": {
        // [cin, k, k, cout] -> TensorFlow's [k, k, cout, cin].
        const cin = n.weights.length / (n.k * n.k * n.cout);
        const w = new Float32Array(n.weights.length);
        for (let i = 0; i < cin; i++)
          for (let t = 0; t < n.k * n.k; t++)
            for (let o = 0; o < n.cout; o++) w[(t * n.cout + o) * cin + i] = n.weights[(i * n.k * n.k + t) * n.cout + o];
        const filter = keep(tf.tensor4d(w, [n.k, n.k, n.cout, cin]));
        const bias = keep(tf.tensor1d(n.bias ?? new Float32Array(n.cout)));
        layers.push((v) => {
          const x = v[n.from] as TF.Tensor4D;
          const shape: [number, number, number, number] = [x.shape[0], (x.shape[1] - 1) * n.stride + n.k, (x.shape[2] - 1) * n.stride + n.k, n.cout];
          const y = tf.add(tf.conv2dTranspose(x, filter, shape, n.stride, "valid"), bias);
          return n.act === "relu" ? tf.relu(y) : n.act === "relu6" ? tf.relu6(y) : y;
        });
        break;
      }
      case "resize":
        layers.push((v) => {
          const x = v[n.from] as TF.Tensor4D;
          const size: [number, number] = [2 * x.shape[1], 2 * x.shape[2]];
          return n.mode === "bilinear" ? tf.image.resizeBilinear(x, size, false, true) : tf.image.resizeNearestNeighbor(x, size, false, false);
        });
        break;
      case "maxPool":
        layers.push((v) => tf.maxPool(v[n.from] as TF.Tensor4D, n.k, n.k, "valid"));
        break;
      case "globalAvgPool":
        layers.push((v) => tf.mean(v[n.from], [1, 2]));
        break;
      case "flatten":
        layers.push((v) => tf.reshape(v[n.from], [v[n.from].shape[0], -1]));
        break;
      case "dense": {
        const w = keep(tf.tensor2d(n.weights, [n.weights.length / n.units, n.units]));
        const bias = keep(tf.tensor1d(n.bias));
        layers.push((v) => tf.fused.matMul({ a: v[n.from] as TF.Tensor2D, b: w, bias, activation: act(n.act) }));
        break;
      }
      case "add":
        layers.push((v) => {
          const s = tf.add(v[n.from[0]], v[n.from[1]]);
          return n.act === "relu" ? tf.relu(s) : n.act === "relu6" ? tf.relu6(s) : s;
        });
        break;
      case "softmax":
        layers.push((v) => tf.softmax(v[n.from]));
        break;
      case "sigmoid":
        layers.push((v) => tf.sigmoid(v[n.from]));
        break;
      case "reshape":
        layers.push((v) => tf.reshape(v[n.from], [v[n.from].shape[0], ...n.shape]));
        break;
      case "concat":
        // Feature maps along their channels (NHWC axis 3), other values along their first axis.
        layers.push((v) => tf.concat(n.from.map((i) => v[i]), v[n.from[0]].rank === 4 ? 3 : 1));
        break;
    }
  }
  return {
    run: (x) =>
      tf.tidy(() => {
        const values: TF.Tensor[] = [x];
        for (const l of layers) values.push(l(values));
        return values[values.length - 1];
      }),
    dispose: () => held.forEach((t) => t.dispose()),
  };
}
