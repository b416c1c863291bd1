// The QDQ model's bytes beyond its weights, cut while every runtime still reads the same graph:
// in a small model the tensor names of the QDQ pairs (each activation's scale, zero point,
// quantized and dequantized tensors, each node's name) weigh as much as the int8 weights.
// - Tensors other than the graph's inputs and outputs get short names, nodes none (ONNX
//   allows an empty node name);
// - initializers of equal type, shape and values are stored once (pass-through ops give equal
//   activation parameters, and weights of as many channels share their zero points of 0).
// The weights' zero points stay, though ONNX defines an absent one as zero: without them
// onnxruntime no longer fuses the pair into its integer kernels (its outputs then differ in the
// last float bits), and they are a few bytes once shared.
import type { OnnxModel, OnnxTensor } from "../onnx/model.js";

function contentKey(t: OnnxTensor): string {
  const values = t.floats ? Array.from(new Uint32Array(t.floats.buffer, t.floats.byteOffset, t.floats.length)) : (t.ints ?? []);
  return `${t.dataType}|${t.dims.join(",")}|${values.join(",")}`;
}

/** Short names from a counter in base 36, skipping the names that must stay. */
function namer(kept: ReadonlySet<string>): () => string {
  let next = 0;
  return () => {
    let name: string;
    do name = (next++).toString(36);
    while (kept.has(name));
    return name;
  };
}

/** `model` with the same graph and values, in fewer bytes (see above). */
export function compactModel(model: OnnxModel): OnnxModel {
  const g = model.graph;
  const kept = new Set([...g.inputs.map((i) => i.name), ...g.outputs.map((o) => o.name)]);
  const fresh = namer(kept);
  const rename = new Map<string, string>();
  const inits = new Map<string, OnnxTensor>();
  const byContent = new Map<string, string>();
  for (const [name, t] of g.initializers) {
    if (kept.has(name)) {
      inits.set(name, t);
      continue;
    }
    const key = contentKey(t);
    const same = byContent.get(key);
    if (same !== undefined) {
      rename.set(name, same);
      continue;
    }
    const short = fresh();
    byContent.set(key, short);
    rename.set(name, short);
    inits.set(short, { ...t, name: short });
  }
  for (const n of g.nodes) for (const o of n.outputs) if (o && !kept.has(o) && !rename.has(o)) rename.set(o, fresh());
  const to = (name: string) => (name === "" ? name : (rename.get(name) ?? name));
  const nodes = g.nodes.map((n) => ({ ...n, name: "", inputs: n.inputs.map(to), outputs: n.outputs.map(to) }));
  const used = new Set(nodes.flatMap((n) => n.inputs));
  for (const name of [...inits.keys()]) if (!kept.has(name) && !used.has(name)) inits.delete(name);
  return { ...model, graph: { ...g, nodes, initializers: inits } };
}
