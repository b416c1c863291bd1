import { SCALAR, SIMD } from "../../build/simdcnn.wasm.js";
import { ArgumentError, BackendError } from "../errors.js";
import { type Kernels, checkKernels } from "./kernels.js";

export type Backend = "simd" | "scalar";

/** A kernel module given by the caller instead of the embedded one (e.g. for a strict CSP). */
export type WasmSource = BufferSource | URL | WebAssembly.Module;

// The smallest module that uses a SIMD128 instruction: (func (result v128) i32.const 0 i32x4.splat).
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03,
  0x02, 0x01, 0x00, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b,
]);

export function simdSupported(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

/** The embedded modules: the two builds, and the SIMD build over a shared memory for threads. */
type Build = Backend | "threads";

const compiled = new Map<Build, Promise<WebAssembly.Module>>();

function decode(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The SIMD module over a shared memory: the same bytes with the memory import's limits changed
 * from (min 0) to (shared, min 0, max 65536 pages). That is the only difference asc's
 * --sharedMemory build makes (a test compares the two), and it spares the bundle a third copy.
 */
export function sharedMemoryVariant(bytes: Uint8Array): Uint8Array {
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    let size = 0;
    let shift = 0;
    let p = at + 1;
    for (;;) {
      const b = bytes[p++];
      size |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    const end = p + size;
    if (id === 2) {
      if (bytes[end - 3] !== 0x02 || bytes[end - 2] !== 0x00 || bytes[end - 1] !== 0x00) {
        throw new BackendError("internal: the SIMD module's memory import is not the unshared one expected");
      }
      const body = [...bytes.subarray(p, end - 2), 0x03, 0x00, 0x80, 0x80, 0x04];
      const sizeBytes: number[] = [];
      for (let n = body.length; ; ) {
        const b = n & 0x7f;
        n >>>= 7;
        sizeBytes.push(n ? b | 0x80 : b);
        if (!n) break;
      }
      return Uint8Array.from([...bytes.subarray(0, at), 2, ...sizeBytes, ...body, ...bytes.subarray(end)]);
    }
    at = end;
  }
  throw new BackendError("internal: the SIMD module has no import section");
}

/** An embedded build, compiled once per process (asynchronously, as browsers want it). */
export function embedded(build: Build): Promise<WebAssembly.Module> {
  let module = compiled.get(build);
  if (!module) {
    const bytes = build === "scalar" ? decode(SCALAR) : build === "simd" ? decode(SIMD) : sharedMemoryVariant(decode(SIMD));
    module = WebAssembly.compile(bytes as BufferSource);
    compiled.set(build, module);
  }
  return module;
}

async function given(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof URL) {
    const response = await fetch(source);
    if (!response.ok) throw new BackendError(`could not fetch ${source.href}: HTTP ${response.status}`);
    return WebAssembly.compile(await response.arrayBuffer());
  }
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
    try {
      return await WebAssembly.compile(source);
    } catch (e) {
      throw new BackendError(`the wasm given to init() does not compile: ${(e as Error).message}`);
    }
  }
  throw new ArgumentError("init: wasm must be the module's bytes, a URL, or a compiled WebAssembly.Module");
}

/**
 * Instantiates a kernel module over `memory`, the only import any build has: the embedded build
 * of `backend` (its shared-memory form when `threaded`), or the caller's module, which then
 * decides the backend by what it reports.
 */
export async function instantiate(
  backend: Backend | undefined, memory: WebAssembly.Memory, source?: WasmSource, threaded = false,
): Promise<{ kernels: Kernels; backend: Backend; module: WebAssembly.Module }> {
  if (source === undefined && backend === "simd" && !simdSupported()) {
    throw new BackendError("backend 'simd' was asked for, but this WebAssembly engine does not support SIMD128; use 'auto' or 'scalar'");
  }
  const build = backend ?? (simdSupported() ? "simd" : "scalar");
  const module = source === undefined ? await embedded(threaded ? "threads" : build) : await given(source);
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (e) {
    throw new BackendError(`the kernel module does not instantiate: ${(e as Error).message}`);
  }
  const flag = instance.exports.SIMDCNN_BUILD_SIMD;
  if (!(flag instanceof WebAssembly.Global)) throw new BackendError("the wasm given to init() is not a simdcnn kernel module");
  const kernels = checkKernels(instance.exports);
  const actual: Backend = flag.value === 1 ? "simd" : "scalar";
  if (backend !== undefined && actual !== backend) throw new BackendError(`the kernel module is the ${actual} build, but backend '${backend}' was asked for`);
  return { kernels, backend: actual, module };
}
