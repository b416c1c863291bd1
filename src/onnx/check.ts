import { ModelFormatError, UnsupportedError } from "../errors.js";
import type { OnnxModel, OnnxNode } from "./model.js";
import { MAX_OPSET, MIN_OPSET, isSupportedOp } from "./ops.js";

/** Opset of the default domain, checked against what simdcnn supports. */
export function defaultOpset(model: OnnxModel): number {
  const v = model.opsets.get("");
  if (v === undefined) throw new ModelFormatError("the model imports no opset of the default ONNX domain");
  if (v < MIN_OPSET || v > MAX_OPSET) {
    throw new UnsupportedError(`the model uses opset ${v} of the default domain; simdcnn supports opsets ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  return v;
}

/** Why an op outside SUPPORTED_ONNX_OPS fails, in the importer's and the static check's lists alike. */
export const UNSUPPORTED_OP = "an operator simdcnn does not support (see SUPPORTED_ONNX_OPS and docs/onnx.md)";

/** One error for everything that keeps a model from loading, a line per problem. */
export function problemsError(opset: number, problems: readonly string[]): UnsupportedError {
  const unique = [...new Set(problems)];
  if (unique.length === 1) return new UnsupportedError(`the model (opset ${opset}) cannot be loaded: ${unique[0]}`, unique);
  return new UnsupportedError(`the model (opset ${opset}) cannot be loaded, ${unique.length} problems:\n  ${unique.join("\n  ")}`, unique);
}

/**
 * The problems visible without importing: unsupported ops and tensors simdcnn cannot read, as
 * the importer words them. The loader reports these when the import cannot run to list them.
 */
export function staticProblems(model: OnnxModel): string[] {
  const opset = defaultOpset(model);
  const problems: string[] = [];
  const read = new Set([...model.graph.nodes.flatMap((n) => n.inputs), ...model.graph.outputs.map((o) => o.name)]);
  for (const [name, t] of model.graph.initializers) if (t.unsupported !== undefined && read.has(name)) problems.push(t.unsupported);
  for (const n of model.graph.nodes) {
    const where = `${n.domain ? `${n.domain}.` : ""}${n.opType} node '${n.name || n.outputs[0]}' (opset ${opset})`;
    if (!isSupportedOp(n.opType, n.domain)) problems.push(`${where}: ${UNSUPPORTED_OP}`);
    for (const a of n.attributes.values()) if (a.type === "tensor" && a.value.unsupported !== undefined) problems.push(`${where}: ${a.value.unsupported}`);
  }
  return problems;
}

/**
 * Checks the graph's structure: every name is defined, and the graph has no cycle. Returns the
 * nodes in an order where each comes after the producers of its inputs.
 */
export function checkGraph(model: OnnxModel): OnnxNode[] {
  const g = model.graph;
  defaultOpset(model);
  const produced = new Map<string, OnnxNode>();
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (o === "") continue;
      if (produced.has(o) || g.initializers.has(o)) throw new ModelFormatError(`tensor '${o}' is produced more than once`);
      produced.set(o, n);
    }
  }
  const available = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== "" && !available.has(i) && !produced.has(i)) {
        throw new ModelFormatError(`node '${n.name || n.opType}' reads '${i}', which no node, input or initializer defines`);
      }
    }
  }
  for (const o of g.outputs) {
    if (!available.has(o.name) && !produced.has(o.name)) throw new ModelFormatError(`graph output '${o.name}' is never defined`);
  }
  // Kahn's algorithm; what is left over lies on a cycle.
  const pending = new Map<OnnxNode, number>();
  const users = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    const deps = new Set(n.inputs.filter((i) => i !== "" && produced.has(i) && !available.has(i)));
    pending.set(n, deps.size);
    for (const d of deps) users.set(d, [...(users.get(d) ?? []), n]);
  }
  const order: OnnxNode[] = [];
  const ready = g.nodes.filter((n) => pending.get(n) === 0);
  while (ready.length > 0) {
    const n = ready.shift()!;
    order.push(n);
    for (const o of n.outputs) {
      for (const u of users.get(o) ?? []) {
        const left = pending.get(u)! - 1;
        pending.set(u, left);
        if (left === 0) ready.push(u);
      }
    }
  }
  if (order.length !== g.nodes.length) {
    const stuck = g.nodes.filter((n) => !order.includes(n)).map((n) => n.name || n.opType);
    throw new ModelFormatError(`the graph has a cycle through node(s) ${stuck.slice(0, 5).join(", ")}`);
  }
  return order;
}

/** The graph inputs that are not initializers (old exporters list initializers as inputs too). */
export function realInputs(model: OnnxModel) {
  return model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
}
