// What the thread tests share: engines at several thread counts, the bits of an output to compare
// across them, and a spy on the dispatcher that shows a dispatch really was split.
import { afterAll, beforeAll } from "vitest";
import { type Engine, init } from "../src/node.js";

/** One engine per thread count, started before the file's tests and disposed after them. */
export function threadEngines(counts: readonly number[]): Map<number, Engine> {
  const engines = new Map<number, Engine>();
  beforeAll(async () => {
    for (const n of counts) engines.set(n, await init({ threads: n }));
  });
  afterAll(() => {
    for (const e of engines.values()) e.dispose();
  });
  return engines;
}

/** An array's bytes as a string, for exact comparisons that print short. */
export function bits(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

/** The most calls any one dispatch of `e` was split into while `f` ran: n shows n threads worked. */
export function widest<T>(e: Engine, f: () => T): { result: T; calls: number } {
  const rt = (e as unknown as { rt: { dispatch(calls: unknown[], what: string): void } }).rt;
  const own = rt.dispatch;
  let calls = 0;
  rt.dispatch = (c, what) => {
    calls = Math.max(calls, c.length);
    own.call(rt, c, what);
  };
  try {
    return { result: f(), calls };
  } finally {
    delete (rt as { dispatch?: unknown }).dispatch;
  }
}
