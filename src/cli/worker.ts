import { parseFlags } from "./args.js";
import { USAGE, UsageError } from "./usage.js";

function positive(v: string | undefined, flag: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} expects a positive number, got '${v}'`);
  return n;
}

/** `simdcnn worker --queue URL`: runs queued jobs until stopped (src/queue/worker.ts, loaded only here, so BullMQ stays out of every other command). */
export async function workerCommand(args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseFlags(args, { queue: "string", threads: "string", "stall-seconds": "string" });
  if (values.help) {
    out(USAGE.worker);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`worker takes no inputs (they come from the queue), got '${positionals[0]}'`);
  if (typeof values.queue !== "string") throw new UsageError("--queue redis://HOST:PORT/N is required");
  const threads = positive(values.threads as string | undefined, "--threads", 1);
  if (!Number.isSafeInteger(threads)) throw new UsageError(`--threads expects a positive integer, got '${values.threads}'`);
  const stallSeconds = positive(values["stall-seconds"] as string | undefined, "--stall-seconds", 30);
  const { connectionOf } = await import("../queue/connection.js");
  connectionOf(values.queue);
  const { runWorker } = await import("../queue/worker.js");
  return runWorker({ url: values.queue, threads, stallSeconds });
}
