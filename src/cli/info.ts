import { type Engine, SUPPORTED_ONNX_OPS, UnsupportedError } from "../node.js";
import { decodeModel } from "../onnx/decode.js";

/** `simdcnn info m.onnx`: inputs, outputs, layers, parameters, FLOPs, planned memory, unsupported ops. */
export async function info(engine: Engine, bytes: Uint8Array, write: (s: string) => void): Promise<void> {
  const decoded = decodeModel(bytes);
  const opsets = [...decoded.opsets].map(([d, v]) => `${d || "ai.onnx"} ${v}`).join(", ");
  write(`producer: ${decoded.producer || "unknown"}, IR ${decoded.irVersion}, opsets: ${opsets}`);
  const unsupported = [...new Set(decoded.graph.nodes.filter((n) => !(SUPPORTED_ONNX_OPS as readonly string[]).includes(n.opType)).map((n) => n.opType))];
  if (unsupported.length > 0) {
    write(`unsupported ops: ${unsupported.join(", ")}`);
    throw new UnsupportedError(`the model uses ops simdcnn does not support: ${unsupported.join(", ")}`);
  }
  const model = await engine.loadOnnx(bytes);
  try {
    const io = (l: typeof model.inputs) => l.map((i) => `${i.name} [${i.shape.join(", ")}] ${i.dtype}`).join(", ");
    write(`inputs: ${io(model.inputs)}`);
    write(`outputs: ${io(model.outputs)}`);
    const meta = Object.entries(model.metadata);
    if (meta.length > 0) write(`metadata: ${meta.map(([k, v]) => `${k}=${v}`).join("; ")}`);
    write(model.summary());
  } finally {
    model.dispose();
  }
}
