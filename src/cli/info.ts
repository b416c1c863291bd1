import { type Engine, type Model, SimdcnnError, UnsupportedError } from "../node.js";
import { decodeModel } from "../onnx/decode.js";
import { loadModelFile, readModelFile } from "./files.js";
import { UsageError } from "./usage.js";

/**
 * `simdcnn info m.onnx`: producer and opsets, inputs, outputs, layers, parameters, FLOPs, planned
 * memory; for a model that cannot load, every unsupported node with its reason, then the error.
 */
export async function info(engine: Engine, path: string, write: (s: string) => void): Promise<void> {
  const decoded = decodeModel(await readModelFile(path, "info"));
  const opsets = [...decoded.opsets].map(([d, v]) => `${d || "ai.onnx"} ${v}`).join(", ");
  write(`producer: ${decoded.producer || "unknown"}, IR ${decoded.irVersion}, opsets: ${opsets}`);
  let model: Model;
  try {
    model = await loadModelFile(engine, path, "info");
  } catch (e) {
    if (e instanceof UnsupportedError) for (const p of e.problems) write(`unsupported: ${p}`);
    throw e;
  }
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

/**
 * `simdcnn info --check m.onnx...`: whether each model would load, as `path: ok` or one line per
 * problem. Returns the number of models that would not.
 */
export async function check(engine: Engine, paths: readonly string[], write: (s: string) => void): Promise<number> {
  let failed = 0;
  for (const path of paths) {
    try {
      (await loadModelFile(engine, path, "info")).dispose();
      write(`${path}: ok`);
    } catch (e) {
      if (!(e instanceof SimdcnnError || e instanceof UsageError)) throw e;
      failed++;
      const problems = e instanceof UnsupportedError ? e.problems : [`${e.name === "UsageError" ? "" : `${e.name}: `}${e.message.replace(/^info:? /, "")}`];
      for (const p of problems) write(`${path}: ${p}`);
    }
  }
  return failed;
}
