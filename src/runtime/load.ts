import { BackendError } from "../errors.js";
import type { Kernels } from "./kernels.js";

export type Backend = "simd" | "scalar";

// The smallest module that uses a SIMD128 instruction: (func (result v128) i32.const 0 i32x4.splat).
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03,
  0x02, 0x01, 0x00, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b,
]);

export function simdSupported(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

const compiled = new Map<Backend, Promise<WebAssembly.Module>>();

async function fetchBytes(url: URL): Promise<ArrayBuffer | Uint8Array> {
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new BackendError(`could not fetch ${url.href}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

function moduleFor(backend: Backend): Promise<WebAssembly.Module> {
  let module = compiled.get(backend);
  if (!module) {
    const url = new URL(`../../build/simdcnn.${backend}.wasm`, import.meta.url);
    module = fetchBytes(url).then((bytes) => WebAssembly.compile(bytes as BufferSource));
    module.catch(() => compiled.delete(backend));
    compiled.set(backend, module);
  }
  return module;
}

/** Instantiates the `backend` build over `memory`, the only import any build has. */
export async function instantiate(backend: Backend, memory: WebAssembly.Memory): Promise<Kernels> {
  if (backend === "simd" && !simdSupported()) {
    throw new BackendError("backend 'simd' was asked for, but this WebAssembly engine does not support SIMD128; use 'auto' or 'scalar'");
  }
  const instance = await WebAssembly.instantiate(await moduleFor(backend), { env: { memory } });
  const kernels = instance.exports as unknown as Kernels;
  const isSimd = kernels.SIMDCNN_BUILD_SIMD.value === 1;
  if (isSimd !== (backend === "simd")) {
    throw new BackendError(`build/simdcnn.${backend}.wasm reports itself as the ${isSimd ? "simd" : "scalar"} build`);
  }
  return kernels;
}
