// A network description as a JSON file plus one binary file of weights (the shape of TensorFlow.js's
// model.json + weights.bin), so that the cold-start child loads the TensorFlow.js model from disk
// as it loads the ONNX file for the other engines.
import type { NetSpec } from "../nets.js";

export function packSpec(spec: NetSpec): { json: string; bin: Uint8Array } {
  const arrays: Float32Array[] = [];
  let at = 0;
  const json = JSON.stringify(spec, (_k, v: unknown) => {
    if (!(v instanceof Float32Array)) return v;
    arrays.push(v);
    at += v.length;
    return { f32: [at - v.length, v.length] };
  });
  const all = new Float32Array(at);
  let o = 0;
  for (const a of arrays) all.set(a, (o += a.length) - a.length);
  return { json, bin: new Uint8Array(all.buffer) };
}

export function unpackSpec(json: string, bin: Uint8Array): NetSpec {
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  return JSON.parse(json, (_k, v: unknown) => {
    const ref = (v as { f32?: [number, number] } | null)?.f32;
    return Array.isArray(ref) ? all.subarray(ref[0], ref[0] + ref[1]) : v;
  }) as NetSpec;
}
