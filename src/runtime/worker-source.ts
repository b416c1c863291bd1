// The code each worker thread runs, as a string so that one file serves Node (worker_threads with
// `eval: true`) and browsers (a Blob URL) without a bundler having to find a worker file. It is
// plain JavaScript that uses nothing but WebAssembly and Atomics: it instantiates the kernel
// module over the shared memory and then, woken through the control block, takes kernel calls
// from its table (see threads.ts for the layout).
export const WORKER_SOURCE = `
"use strict";
const port = typeof require === "function" ? require("node:worker_threads").parentPort : self;
const listen = (fn) => (port.on ? port.on("message", fn) : (port.onmessage = (e) => fn(e.data)));
listen(({ module, memory, ctrl, table, slot, names }) => {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = names.map((n) => exports[n]);
  const i32 = new Int32Array(memory.buffer);
  const f64 = new Float64Array(memory.buffer);
  const GEN = ctrl >> 2, CLAIM = GEN + 1, FINISHED = GEN + 2, ERROR = GEN + 3;
  port.postMessage("ready");
  let seen = 0;
  for (;;) {
    // Spin briefly before sleeping: the next op of a network usually follows within
    // microseconds, and a futex wake-up costs tens of them.
    for (let spin = 0; spin < 20000 && Atomics.load(i32, GEN) === seen; spin++);
    Atomics.wait(i32, GEN, seen);
    seen = Atomics.load(i32, GEN);
    if (seen < 0) break;
    // Take calls until none is left. A claim that succeeds is of the dispatch in progress: the
    // table is rewritten only after all of a dispatch's calls have finished.
    for (;;) {
      const v = Atomics.load(i32, CLAIM);
      const k = v & 0xff;
      if (k >= v >> 8) break;
      if (Atomics.compareExchange(i32, CLAIM, v, v + 1) !== v) continue;
      const s32 = (table + k * slot) >> 2, s64 = ((table + k * slot) >> 3) + 2;
      const fn = i32[s32], n = i32[s32 + 1];
      const args = [];
      for (let a = 0; a < n; a++) args.push(f64[s64 + a]);
      try {
        kernels[fn](...args);
      } catch (e) {
        Atomics.store(i32, ERROR, 1);
      }
      Atomics.add(i32, FINISHED, 1);
      Atomics.notify(i32, FINISHED);
    }
  }
  if (port.close) port.close();
});
`;
