import type { Codec } from "./codecs.js";
import { jpegFrameHeader } from "./jpeg-header.js";

// dcmjs-codecs' wasm is DCMTK's IJG libraries (8, 12 and 16-bit), CharLS, OpenJPEG, OpenJPH and
// libjxl behind a C interface: a context holds one frame's description and buffers, and DecodeJpeg
// picks the IJG build by the bits stored. These are the exports that decoding a frame uses.
interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  CreateCodecsContext(): number;
  ReleaseCodecsContext(context: number): void;
  SetColumns(context: number, value: number): void;
  SetRows(context: number, value: number): void;
  SetBitsAllocated(context: number, value: number): void;
  SetBitsStored(context: number, value: number): void;
  SetSamplesPerPixel(context: number, value: number): void;
  SetPixelRepresentation(context: number, value: number): void;
  SetPlanarConfiguration(context: number, value: number): void;
  SetPhotometricInterpretation(context: number, index: number): void;
  SetEncodedBufferSize(context: number, size: number): void;
  GetEncodedBuffer(context: number): number;
  GetDecodedBuffer(context: number): number;
  GetDecodedBufferSize(context: number): number;
  CreateDecoderParameters(): number;
  ReleaseDecoderParameters(parameters: number): void;
  DecodeJpeg(context: number, parameters: number): void;
}

// The module's index of MONOCHROME2 in its list of photometric interpretations.
const MONOCHROME2 = 1;
// WASI's errno for a call that is not supported here.
const ENOSYS = 52;
// IJG's warnings that the decoder made up pixels: the scan ended early (the module's source
// manager answers the end of the data with an end-of-image marker), or it resynchronised after bad
// data. IJG carries on with grey; here the frame fails, as truncated frames do in the other
// codecs. (Extraneous bytes before a marker lose nothing and pass.)
const INVENTED = /^(Premature end of JPEG file|Corrupt JPEG data: (premature end of data segment|bad Huffman code|found marker))/;
const MESSAGE = /^JpegDecoder12::EmitMessage::/;

/**
 * A decoder of 12-bit lossy JPEG frames (Process 4, greyscale) on a fresh instance of `module`.
 * `failed` is told when a frame fails: the instance is then spoilt and must not decode another.
 */
export async function jpeg12(module: WebAssembly.Module, failed: () => void): Promise<Codec> {
  let exports!: Exports;
  let invented: string | undefined;
  const text = (at: number, length: number) => new TextDecoder().decode(new Uint8Array(exports.memory.buffer, at, length));
  const imports: WebAssembly.Imports = {
    env: {
      // The module reports an error through this and expects it not to return: throwing unwinds
      // the wasm stack back to the caller of DecodeJpeg.
      onCodecsException: (at: number, length: number) => {
        throw new Error(text(at, length));
      },
      // IJG's traces and warnings, all through one call: the libraries' messages are not ours to
      // show, but a warning that pixels were made up fails the frame once the decoder returns.
      onCodecsInfo: (at: number, length: number) => {
        const message = text(at, length).replace(MESSAGE, "");
        if (INVENTED.test(message)) invented ??= message;
      },
      onCodecsTrace: () => {},
      emscripten_notify_memory_growth: () => {},
    },
    // The C library's system interface, which decoding a frame in memory never needs: output is
    // dropped, there is no environment, and the module may not end the process.
    wasi_snapshot_preview1: {
      fd_write: (_fd: number, vectors: number, count: number, written: number) => {
        const view = new DataView(exports.memory.buffer);
        let total = 0;
        for (let i = 0; i < count; i++) total += view.getUint32(vectors + 8 * i + 4, true);
        view.setUint32(written, total, true);
        return 0;
      },
      fd_seek: () => ENOSYS,
      fd_close: () => 0,
      environ_sizes_get: (count: number, size: number) => {
        const view = new DataView(exports.memory.buffer);
        view.setUint32(count, 0, true);
        view.setUint32(size, 0, true);
        return 0;
      },
      environ_get: () => 0,
      clock_time_get: () => ENOSYS,
      proc_exit: (code: number) => {
        throw new Error(`the JPEG decoder exited with status ${code}`);
      },
    },
  };
  exports = (await WebAssembly.instantiate(module, imports)).exports as unknown as Exports;
  // A WASI reactor runs its static constructors here, once, before any other call.
  exports._initialize();

  return (frame) => {
    const { precision, width, height, components } = jpegFrameHeader(frame);
    if (precision !== 12) throw new Error(`the frame's samples have ${precision} bits; this decoder takes 12-bit lossy JPEG`);
    if (components !== 1) throw new Error(`the frame has ${components} components; 12-bit lossy JPEG is decoded in greyscale only`);
    const context = exports.CreateCodecsContext();
    const parameters = exports.CreateDecoderParameters();
    try {
      exports.SetColumns(context, width);
      exports.SetRows(context, height);
      exports.SetBitsAllocated(context, 16);
      exports.SetBitsStored(context, precision);
      exports.SetSamplesPerPixel(context, 1);
      // The samples as coded: sign and masking are the data set's business, applied later.
      exports.SetPixelRepresentation(context, 0);
      exports.SetPlanarConfiguration(context, 0);
      exports.SetPhotometricInterpretation(context, MONOCHROME2);
      exports.SetEncodedBufferSize(context, frame.length);
      new Uint8Array(exports.memory.buffer).set(frame, exports.GetEncodedBuffer(context));
      invented = undefined;
      exports.DecodeJpeg(context, parameters);
      if (invented) throw new Error(invented);
      const at = exports.GetDecodedBuffer(context);
      const size = exports.GetDecodedBufferSize(context);
      if (size !== 2 * width * height) throw new Error(`the decoder gave ${size} bytes for ${width} x ${height} 16-bit samples`);
      // Copied out of the module's memory, which the next frame reuses (by the constructor, not
      // slice(), for the reason src/runtime/heap.ts's copyOut gives).
      const samples = new Uint16Array(new Uint8Array(new Uint8Array(exports.memory.buffer, at, size)).buffer);
      exports.ReleaseDecoderParameters(parameters);
      exports.ReleaseCodecsContext(context);
      return { width, height, components: 1, bits: precision, samples };
    } catch (e) {
      // An error leaves the module without freeing what the decoder held, and DCMTK's state
      // after it is not promised: the next file gets a fresh instance.
      failed();
      throw e instanceof WebAssembly.RuntimeError ? new Error(`the decoder failed on the frame's data (${e.message})`) : e;
    }
  };
}
