// `simdcnn quantize`: a float ONNX model -> its static int8 QDQ version, calibrated on slices read
// and preprocessed exactly as `simdcnn classify` reads them for that model.
import { readFile } from "node:fs/promises";
import { FileError, InputFormatError, SimdcnnError, init } from "../node.js";
import type { ModelSettings } from "../io/metadata.js";
import { toInput } from "../io/preprocess.js";
import { readSlices } from "../io/read.js";
import { decodeModel } from "../onnx/decode.js";
import { encodeModel } from "../onnx/encode.js";
import { planQuantization } from "../quantize/qdq.js";
import { type QuantizeOptions, quantizeModel } from "../quantize/quantize.js";
import { parseFlags } from "./args.js";
import { checkOutputFile, readModelFile, writeAtomic } from "./files.js";
import { expandInputs } from "./inputs.js";
import { loadModel } from "./jobs.js";
import { USAGE, UsageError } from "./usage.js";

const FLAGS = { model: "string", calibrate: "string", out: "string", percentile: "string", activations: "string", batch: "string", window: "string" } as const;

/** Runs the command; returns the exit code. */
export async function quantizeCommand(args: string[], write: (s: string) => void): Promise<number> {
  const { values: v, positionals } = parseFlags(args, FLAGS);
  if (v.help) {
    write(USAGE.quantize);
    return 0;
  }
  const str = (k: keyof typeof FLAGS) => v[k] as string | undefined;
  for (const flag of ["model", "calibrate", "out"] as const) if (str(flag) === undefined) throw new UsageError(`--${flag} is required`);
  if (positionals.length > 0) throw new UsageError(`quantize takes no positional arguments, got '${positionals[0]}'; calibration slices go in --calibrate`);
  const options: QuantizeOptions = {};
  const percentile = str("percentile");
  if (percentile !== undefined) {
    const p = Number(percentile);
    if (percentile.trim() === "" || !(p > 50 && p <= 100)) throw new UsageError(`--percentile expects a percentage above 50 and at most 100 (e.g. 99.99), got '${percentile}'`);
    options.percentile = p;
  }
  const activations = str("activations");
  if (activations !== undefined) {
    if (activations !== "uint8" && activations !== "int8") throw new UsageError(`--activations expects uint8 or int8, got '${activations}'`);
    options.activations = activations;
  }
  const batch = str("batch");
  if (batch !== undefined) {
    const n = Number(batch);
    if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--batch expects a positive integer, got '${batch}'`);
    options.batch = n;
  }
  const out = str("out")!;
  if (!/\.onnx$/i.test(out)) throw new UsageError(`--out expects an .onnx file path, got '${out}'`);
  await checkOutputFile(out, "--out");
  const engine = await init({ threads: 1 });
  try {
    const path = str("model")!;
    const window = str("window");
    const { model: float, settings } = await loadModel(engine, path, window === undefined ? {} : { window }, { role: "a model to quantize", classes: () => undefined });
    try {
      const bytes = await readModelFile(path, "--model");
      const onnx = decodeModel(bytes);
      // Planned first, so that a model it cannot quantize is refused before any slice is read.
      const plan = planQuantization(onnx);
      const samples = await calibrationSamples(str("calibrate")!, settings);
      const { model, summary } = quantizeModel(float, onnx, samples.inputs, options, plan);
      const encoded = encodeModel(model);
      // Loaded once here, so that a file written is one simdcnn runs.
      (await engine.loadOnnx(encoded)).dispose();
      await writeAtomic(out, encoded);
      const method = options.percentile === undefined ? "min-max" : `percentile ${options.percentile}`;
      write(`quantized ${summary.ops} Conv/MatMul/Gemm ops (int8 weights per channel) and ${summary.activations} activations (${options.activations ?? "uint8"}, ${method} over ${samples.inputs.length} slices from ${samples.files} files)`);
      write(`wrote ${out}: ${encoded.length} bytes (the float model: ${bytes.length} bytes, ${(bytes.length / encoded.length).toFixed(2)}x smaller)`);
    } finally {
      float.dispose();
    }
  } finally {
    engine.dispose();
  }
  return 0;
}

/** Every slice of the files --calibrate names, as the model's input; a file that cannot be read stops the command. */
async function calibrationSamples(calibrate: string, settings: ModelSettings): Promise<{ inputs: Float32Array[]; files: number }> {
  const files = await expandInputs([calibrate]);
  const inputs: Float32Array[] = [];
  for (const f of files) {
    if ("error" in f) throw new UsageError(`--calibrate: ${f.error}`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(f.file));
    } catch (e) {
      throw FileError.from(e, f.file, "read");
    }
    try {
      for (const slice of await readSlices(bytes, { window: settings.window })) inputs.push(toInput(slice, settings.input!));
    } catch (e) {
      if (e instanceof SimdcnnError) throw new InputFormatError(`calibration slice '${f.file}': ${e.message}`);
      throw e;
    }
  }
  return { inputs, files: files.length };
}
