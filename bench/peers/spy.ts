// Records the size of every WebAssembly binary compiled in this process, whichever way an engine
// compiles it, so that the benchmark reports the wasm each engine really loads (and which of its
// builds: a peer that picks its SIMD or non-SIMD binary at run time is identified by the size).
export function spyOnWasm(): number[] {
  const sizes: number[] = [];
  const W = WebAssembly;
  const record = (src: unknown) => {
    if (ArrayBuffer.isView(src) || src instanceof ArrayBuffer) sizes.push(src.byteLength);
  };
  const streamed = async (source: Response | PromiseLike<Response>) => {
    const r = await source;
    sizes.push((await r.clone().arrayBuffer()).byteLength);
    return r;
  };
  const { compile, instantiate, compileStreaming, instantiateStreaming, Module } = W;
  W.compile = (bytes) => (record(bytes), compile(bytes));
  W.instantiate = ((src: never, imports?: WebAssembly.Imports) => (record(src), instantiate(src, imports))) as typeof W.instantiate;
  W.compileStreaming = async (source) => compileStreaming(await streamed(source));
  W.instantiateStreaming = async (source, imports) => instantiateStreaming(await streamed(source), imports);
  W.Module = new Proxy(Module, {
    construct(target, args: [BufferSource]) {
      record(args[0]);
      return new target(...args);
    },
  });
  return sizes;
}
