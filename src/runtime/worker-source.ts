// The code each worker thread runs, as a string so that one file serves Node (worker_threads with
// `eval: true`) and browsers (a Blob URL) without a bundler having to find a worker file. It is
// plain JavaScript that uses nothing but WebAssembly and Atomics: it instantiates the kernel
// module over the shared memory and then, woken through the control block, runs the kernel call
// in its slot (see threads.ts for the layout).
export const WORKER_SOURCE = `
"use strict";
const port = typeof require === "function" ? require("node:worker_threads").parentPort : self;
const listen = (fn) => (port.on ? port.on("message", fn) : (port.onmessage = (e) => fn(e.data)));
listen(({ module, memory, ctrl, slot, names }) => {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = names.map((n) => exports[n]);
  const i32 = new Int32Array(memory.buffer);
  const f64 = new Float64Array(memory.buffer);
  const GEN = ctrl >> 2, DONE = GEN + 1, ERROR = GEN + 2;
  const s32 = slot >> 2, s64 = (slot >> 3) + 2;
  port.postMessage("ready");
  let seen = 0;
  for (;;) {
    // Spin briefly before sleeping: the next op of a network usually follows within
    // microseconds, and a futex wake-up costs tens of them.
    for (let spin = 0; spin < 20000 && Atomics.load(i32, GEN) === seen; spin++);
    Atomics.wait(i32, GEN, seen);
    seen = Atomics.load(i32, GEN);
    if (seen < 0) break;
    if (Atomics.load(i32, s32) === 1) {
      const fn = i32[s32 + 1], n = i32[s32 + 2];
      const args = [];
      for (let k = 0; k < n; k++) args.push(f64[s64 + k]);
      try {
        kernels[fn](...args);
      } catch (e) {
        Atomics.store(i32, ERROR, 1);
      }
      Atomics.store(i32, s32, 0);
    }
    Atomics.add(i32, DONE, 1);
    Atomics.notify(i32, DONE);
  }
  if (port.close) port.close();
});
`;
