// The reference runtime: onnxruntime-web's CPU (wasm) backend, run in Node. One thread, so it
// needs no workers or SharedArrayBuffer; the first session costs ~0.5 s (compiling ORT's wasm),
// later ones a few ms.
import * as ort from "onnxruntime-web";

ort.env.wasm.numThreads = 1;
// Warnings out of the test output: env.logLevel covers the JavaScript side and the runtime's
// start-up, a session's own log (e.g. the opset 6 models' "only guarantees support for opset 7")
// needs logSeverityLevel (3 = errors) on the session.
ort.env.logLevel = "error";
const SESSION: ort.InferenceSession.SessionOptions = { executionProviders: ["wasm"], logSeverityLevel: 3 };

export interface OrtInput {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

export interface OrtOutput {
  data: Float32Array;
  dims: number[];
}

/** Runs the model once on `inputs` and returns every output, converted to float32 (e.g. Shape's int64). */
export async function runOrt(model: Uint8Array, inputs: Record<string, OrtInput>): Promise<Record<string, OrtOutput>> {
  const session = await ort.InferenceSession.create(model, SESSION);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, { data, dims }] of Object.entries(inputs)) {
      feeds[name] = data instanceof Float32Array ? new ort.Tensor("float32", data, dims) : new ort.Tensor("int64", data, dims);
    }
    const results = await session.run(feeds);
    const out: Record<string, OrtOutput> = {};
    for (const name of session.outputNames) {
      const t = results[name];
      const data = t.data instanceof Float32Array ? t.data.slice() : Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
      out[name] = { data, dims: [...t.dims] };
    }
    return out;
  } finally {
    await session.release();
  }
}
