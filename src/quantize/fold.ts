// BatchNormalization folded into the convolution before it, as onnxruntime's quantization
// pre-processing does: quantizing the convolution's output before a separate normalization would
// spend the 8-bit range on values about to be rescaled, and leave a float op between 8-bit ones.
// Exporters in inference mode usually fold already; models from other tools may not.
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/model.js";

function floats(model: OnnxModel, name: string | undefined): Float32Array | undefined {
  const t = name ? model.graph.initializers.get(name) : undefined;
  return t?.dataType === DataType.FLOAT ? t.floats : undefined;
}

/**
 * The model with every BatchNormalization whose input is a Conv's output read by nothing else,
 * with constant weights and statistics, folded into that Conv's weights and bias (computed in
 * float64, stored as float32). Other nodes are kept as they are.
 */
export function foldBatchNorms(model: OnnxModel): OnnxModel {
  const g = model.graph;
  const outputs = new Set(g.outputs.map((o) => o.name));
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const inits = new Map(g.initializers);
  const replaced = new Map<OnnxNode, OnnxNode>();
  const dropped = new Set<OnnxNode>();
  for (const bn of g.nodes) {
    if (bn.opType !== "BatchNormalization" || bn.domain !== "" || bn.outputs.filter((o) => o !== "").length !== 1) continue;
    const conv = producer.get(bn.inputs[0]);
    const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((i) => floats(model, i));
    const w = conv && g.initializers.get(conv.inputs[1]);
    if (!conv || conv.opType !== "Conv" || conv.domain !== "" || replaced.has(conv) || readers.get(bn.inputs[0]) !== 1 || outputs.has(bn.inputs[0])) continue;
    if (!w?.floats || !gamma || !beta || !mean || !variance) continue;
    const cout = w.dims[0];
    const bias = conv.inputs[2] ? floats(model, conv.inputs[2]) : new Float32Array(cout);
    if (!bias || [gamma, beta, mean, variance, bias].some((a) => a.length !== cout)) continue;
    const eps = bn.attributes.get("epsilon");
    const epsilon = eps?.type === "float" ? eps.value : 1e-5;
    const scale = Array.from(gamma, (gm, c) => gm / Math.sqrt(variance[c] + epsilon));
    const inner = w.floats.length / cout;
    const wName = `${w.name}_folded`;
    const bName = `${w.name}_folded_bias`;
    inits.set(wName, { name: wName, dims: w.dims, dataType: DataType.FLOAT, floats: Float32Array.from(w.floats, (v, i) => v * scale[Math.floor(i / inner)]) } satisfies OnnxTensor);
    inits.set(bName, { name: bName, dims: [cout], dataType: DataType.FLOAT, floats: Float32Array.from(bias, (b, c) => (b - mean[c]) * scale[c] + beta[c]) });
    replaced.set(conv, { ...conv, inputs: [conv.inputs[0], wName, bName], outputs: [bn.outputs[0]] });
    dropped.add(bn);
  }
  if (dropped.size === 0) return model;
  const nodes = g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = new Map([...inits].filter(([name]) => used.has(name)));
  return { ...model, graph: { ...g, nodes, initializers, inputs: g.inputs.filter((i) => !g.initializers.has(i.name) || used.has(i.name)) } };
}
