// What counts as a fuzzing failure, and the checks run around every case: an exception that is not
// a SimdcnnError subclass (a WebAssembly.RuntimeError is a wasm trap), one case taking over 5 s,
// the engine's memory in use not back to where it was after the case, or the memory the engine
// reserves growing past a bound. The canary (a known model on a fixed input) checks that the
// engine still gives the same bits after the bad inputs as before them.
import { readFileSync } from "node:fs";
import { type Engine, type Model, SimdcnnError } from "../../src/index.js";

/** One case may take this long at most (a hang otherwise). */
export const CASE_MS = 5000;
/** The engine's WebAssembly memory may not grow past this (1.5 GiB). */
export const RESERVED_BOUND = 1.5 * 2 ** 30;

export type FailureKind = "exception" | "trap" | "hang" | "leak" | "memory" | "canary" | "invalid";

/** A failed case: thrown inside a property, so that fast-check records and shrinks it. */
export class FuzzFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly detail: string,
  ) {
    super(`${kind}: ${detail}`);
  }

  /** What identifies the bug, for telling new failures from ones already found (digits dropped). */
  get signature(): string {
    return `${this.kind}:${this.detail.split("\n")[0].replace(/\d+/g, "#").slice(0, 160)}`;
  }
}

export interface Ctx {
  engine: Engine;
  /** engine.memoryBytes between cases (the canary model loaded, nothing else). */
  baseline: number;
  /** Failures already reported: a case failing the same way again passes (counted, not shrunk again). */
  known: Map<string, number>;
}

function reservedBytes(engine: Engine): number {
  return (engine as unknown as { rt: { heap: { bytesReserved: number } } }).rt.heap.bytesReserved;
}

/** Why a thrown value is a failure, or undefined when it is a SimdcnnError (the allowed outcome). */
export function failureOf(e: unknown): FuzzFailure | undefined {
  if (e instanceof FuzzFailure) return e;
  if (e instanceof SimdcnnError) return undefined;
  if (e instanceof WebAssembly.RuntimeError) return new FuzzFailure("trap", `WebAssembly.RuntimeError: ${e.message}\n${e.stack ?? ""}`);
  if (e instanceof Error) return new FuzzFailure("exception", `${e.name}: ${e.message}\n${e.stack ?? ""}`);
  return new FuzzFailure("exception", `a non-Error was thrown: ${String(e)}`);
}

/**
 * Runs one case: returns "ok" or the name of the SimdcnnError it threw; throws a FuzzFailure for
 * anything else, a case over 5 s, memory in use not back to the baseline or reserved memory past
 * the bound. A failure whose signature is already known is counted and passes.
 */
export async function guard(ctx: Ctx, fn: () => unknown): Promise<string> {
  const reservedBefore = reservedBytes(ctx.engine);
  const t0 = performance.now();
  let outcome = "ok";
  let failure: FuzzFailure | undefined;
  try {
    await fn();
  } catch (e) {
    failure = failureOf(e);
    if (!failure) outcome = (e as Error).name;
  }
  const ms = performance.now() - t0;
  if (!failure && ms > CASE_MS) {
    // Timed again before it counts: on a shared, busy machine one slow run can be the machine's.
    const t1 = performance.now();
    try {
      await fn();
    } catch {}
    const again = performance.now() - t1;
    if (again > CASE_MS) failure = new FuzzFailure("hang", `one case took ${Math.round(ms)} ms, and ${Math.round(again)} ms again (limit ${CASE_MS} ms)`);
  }
  const bytes = ctx.engine.memoryBytes;
  if (!failure && bytes !== ctx.baseline) failure = new FuzzFailure("leak", `memoryBytes is ${bytes} after the case, ${ctx.baseline} before (outcome ${outcome})`);
  ctx.baseline = bytes; // one leak is reported once, not again by every case after it
  const reserved = reservedBytes(ctx.engine);
  // Memory, once grown, stays reserved: the case that grew it past the bound is the one to blame.
  if (!failure && reserved > RESERVED_BOUND && reservedBefore <= RESERVED_BOUND) {
    failure = new FuzzFailure("memory", `the case made the engine reserve ${reserved} bytes (${reservedBefore} before), over the bound of ${RESERVED_BOUND}`);
  }
  if (failure) {
    const seen = ctx.known.get(failure.signature);
    if (seen !== undefined) {
      ctx.known.set(failure.signature, seen + 1);
      return `known ${failure.kind}`;
    }
    throw failure;
  }
  return outcome;
}

export const PHANTOM = new URL("../../examples/phantom/phantom.onnx", import.meta.url).pathname;

/** The canary's fixed input: one 128 x 128 slice of a smooth pattern with a bright spot. */
export function canaryInput(): Float32Array {
  return Float32Array.from({ length: 128 * 128 }, (_, i) => {
    const x = i % 128;
    const y = Math.floor(i / 128);
    return 0.3 + 0.2 * Math.sin(x / 9) * Math.cos(y / 13) + ((x - 70) ** 2 + (y - 50) ** 2 < 36 ? 0.3 : 0);
  });
}

export interface Canary {
  model: Model;
  bits: Uint32Array;
  /** engine.memoryBytes with the canary loaded and run once. */
  bytes: number;
  /** Runs the canary again; a FuzzFailure unless bits and bytes are as before. */
  check(engine: Engine, when: string): void;
  /**
   * Loads the model afresh, after a case fed it an input shape of its own: the model keeps that
   * shape's plan (a Model keeps the plans of its last four shapes), memory in use but no leak.
   */
  renew(engine: Engine): Promise<void>;
}

/** Loads examples/phantom/phantom.onnx, runs it on canaryInput() and remembers its bits and the memory in use. */
export async function canary(engine: Engine): Promise<Canary> {
  const model = await engine.loadOnnx(readFileSync(PHANTOM));
  const input = canaryInput();
  const bits = new Uint32Array(model.run({ slice: input }).logits.buffer);
  const bytes = engine.memoryBytes;
  return {
    model, bits, bytes,
    async renew(e: Engine) {
      this.model.dispose();
      this.model = await e.loadOnnx(readFileSync(PHANTOM));
      this.model.run({ slice: input });
    },
    check(e: Engine, when: string) {
      const now = new Uint32Array(this.model.run({ slice: input }).logits.buffer);
      if (now.length !== bits.length || now.some((b, i) => b !== bits[i])) {
        throw new FuzzFailure("canary", `${when}: the known model gives bits [${[...now].map((b) => b.toString(16))}], before [${[...bits].map((b) => b.toString(16))}]`);
      }
      if (e.memoryBytes !== bytes) throw new FuzzFailure("canary", `${when}: memoryBytes is ${e.memoryBytes}, ${bytes} before`);
    },
  };
}
