import { jpeg12 } from "./jpeg12.js";
import type { PixelEncoding } from "./transfer-syntax.js";

/** One frame as a codec decoded it: samples interleaved, a pixel's components next to each other. */
export interface DecodedFrame {
  width: number;
  height: number;
  components: number;
  /** The codec's sample precision in bits. */
  bits: number;
  samples: Uint8Array | Uint16Array | Int16Array;
}

export type Codec = (frame: Uint8Array) => DecodedFrame;

// The surface the emscripten builds of libjpeg-turbo, CharLS and OpenJPEG share.
interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}
interface NativeDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): FrameInfo;
  delete(): void;
}
type NativeModule = Record<string, new () => NativeDecoder> & { getExceptionMessage?: (e: unknown) => string | [string, string] };
interface Embedded {
  factory: (module: object) => Promise<unknown>;
  WASM: string;
}

// The modules are imported only when a file needs them, each once; the import specifiers are
// literal so that bundlers split each codec into a chunk of its own.
const loading = new Map<CodecName, Promise<Codec>>();

/** What a codec decodes: a compressed encoding, or "jpeg-12", JPEG with 12-bit samples (Process 4). */
export type CodecName = Exclude<PixelEncoding, "native" | "rle"> | "jpeg-12";

/** The decoder of `encoding`'s frames, loaded on first use. */
export function codec(encoding: CodecName): Promise<Codec> {
  let pending = loading.get(encoding);
  if (!pending) {
    pending = load(encoding);
    loading.set(encoding, pending);
    // A failed load (an aborted chunk download) is tried again by the next file.
    pending.catch(() => loading.delete(encoding));
  }
  return pending;
}

async function load(encoding: CodecName): Promise<Codec> {
  switch (encoding) {
    case "jpeg":
      return native(await import("../../build/codecs/libjpegturbo.js"), "JPEGDecoder", encoding);
    case "jpeg-12":
      return jpeg12(await compile("jpeg-12", await import("../../build/codecs/jpeg12.js")), () => loading.delete(encoding));
    case "jpeg-ls":
      return native(await import("../../build/codecs/charls.js"), "JpegLSDecoder", encoding);
    case "jpeg-2000":
      return native(await import("../../build/codecs/openjpeg.js"), "J2KDecoder", encoding);
    case "jpeg-lossless": {
      const { Decoder } = await import("../../build/codecs/jpeglossless.js");
      return (frame) => {
        const decoder = new Decoder();
        // The decoder takes an ArrayBuffer and the frame's place in it.
        const samples = decoder.decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.byteLength);
        return { width: decoder.xDim, height: decoder.yDim, components: decoder.numComp, bits: decoder.precision, samples };
      };
    }
  }
}

// Each wasm module is compiled once; instances are cheap and replaced after any failure.
const compiled = new Map<string, Promise<WebAssembly.Module>>();

function compile(name: string, embedded: { WASM: string }): Promise<WebAssembly.Module> {
  let wasm = compiled.get(name);
  if (!wasm) {
    wasm = WebAssembly.compile(fromBase64(embedded.WASM));
    compiled.set(name, wasm);
  }
  return wasm;
}

// A plain loop over atob's string: Uint8Array.from(string, fn) goes through the string's iterator
// and a call per byte, which is far slower on a module of megabytes.
function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function native(embedded: Embedded, name: string, encoding: CodecName): Promise<Codec> {
  const module = await compile(name, embedded);
  // Emscripten's factory waits for `receive` forever when instantiation fails: the failure goes
  // to this promise instead, which the factory's is raced against.
  let failed!: (e: unknown) => void;
  const instantiation = new Promise<never>((_, reject) => (failed = reject));
  const instance = (await Promise.race([
    embedded.factory({
      // Emscripten's hook for instantiating the module itself, from the compiled module here.
      instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
        WebAssembly.instantiate(module, imports).then((i) => receive(i, module), failed);
        return {};
      },
      // The libraries' warnings are not ours to show; failures throw.
      print() {},
      printErr() {},
    }),
    instantiation,
  ])) as NativeModule;
  return (frame) => {
    const decoder = new instance[name]();
    try {
      decoder.getEncodedBuffer(frame.length).set(frame);
      decoder.decode();
      const info = decoder.getFrameInfo();
      // The decoded buffer is a view of the module's memory: copied before the decoder goes (by the
      // constructor, not slice(), for the reason src/runtime/heap.ts's copyOut gives).
      const bytes = new Uint8Array(decoder.getDecodedBuffer());
      const samples = info.bitsPerSample <= 8 ? bytes : info.isSigned ? new Int16Array(bytes.buffer) : new Uint16Array(bytes.buffer);
      return { width: info.width, height: info.height, components: info.componentCount, bits: info.bitsPerSample, samples };
    } catch (e) {
      // A C++ exception that leaves the module unwinds no wasm stack and frees nothing, and
      // corrupt data can trap inside it: repeated failures end in accesses out of bounds. The
      // next file gets a fresh instance, so that no bad file spoils another.
      loading.delete(encoding);
      throw new Error(message(instance, e));
    } finally {
      try {
        decoder.delete();
      } catch {
        // The instance is given up above; its memory goes with it.
      }
    }
  };
}

// C++ exceptions reach JavaScript as a pointer (a number) or an object holding one; the module
// turns them into text when it can.
function message(module: NativeModule, e: unknown): string {
  if (e instanceof WebAssembly.RuntimeError) return `the decoder failed on the frame's data (${e.message})`;
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  if (module.getExceptionMessage) {
    try {
      const text = module.getExceptionMessage(e);
      return Array.isArray(text) ? text.filter(Boolean).join(": ") : text;
    } catch {
      // Not an exception the module knows: described below.
    }
  }
  return "the decoder rejected the frame's data as corrupt";
}
