// The machine's memcpy bandwidth as code on a wasm memory sees it, measured in the run that
// compares layout copies with it: Uint8Array.copyWithin (a memmove in V8) of 16 MiB inside a
// WebAssembly.Memory, the median of several copies. 16 MiB is larger than any one tensor of the
// benchmark's workloads (the largest is 4 MiB), so smaller copies that stay in cache can
// beat this rate: it is the bar for a layout copy, not its limit. Bytes copied per second: a
// copy reads and writes each of them once.
import { Bench } from "tinybench";

const BYTES = 16 << 20;

export async function measureMemcpy(quick: boolean): Promise<number> {
  const memory = new WebAssembly.Memory({ initial: (2 * BYTES) / 65536 });
  const bytes = new Uint8Array(memory.buffer);
  // Pages that were never written may be mapped lazily; the first pass would time the faults.
  for (let i = 0; i < BYTES; i += 4096) bytes[i] = i & 255;
  bytes.copyWithin(BYTES, 0, BYTES);
  const bench = new Bench({ time: quick ? 200 : 600, iterations: 10, warmupIterations: 3 });
  bench.add("memcpy", () => void bytes.copyWithin(BYTES, 0, BYTES));
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== "completed") throw new Error("memcpy benchmark did not complete");
  return BYTES / (r.latency.p50 / 1000) / 1e9;
}
