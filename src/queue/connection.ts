import type { RedisOptions } from "bullmq";
import { Redis } from "ioredis";
import { UsageError } from "../cli/usage.js";

/** The BullMQ queue every producer and worker of one Redis database shares. */
export const QUEUE_NAME = "simdcnn";

/**
 * The connection options for `--queue redis://[user:password@]HOST:PORT/N` (rediss:// for TLS).
 * Commands wait for a Redis that went away instead of failing (maxRetriesPerRequest: null, which
 * BullMQ's blocking connections require anyway), and reconnection backs off to one try a second,
 * so that producers and workers pause while it is gone and go on when it returns.
 */
export function connectionOf(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--queue expects redis://HOST:PORT/N, got '${url}'`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new UsageError(`--queue expects a redis:// or rediss:// URL, got '${url}'`);
  if (u.hostname === "") throw new UsageError(`--queue '${url}' names no host`);
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new UsageError(`--queue '${url}': the path must be a database number, got '/${db}'`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port === "" ? 6379 : Number(u.port),
    db: db === "" ? 0 : Number(db),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  };
}

/**
 * Watches the Redis server on a connection of its own and says on stderr, once per outage, that
 * it is unreachable and the process waits, and when it is back. BullMQ's own connections
 * reconnect by themselves; their errors during an outage say the same thing again, so `quiet`
 * keeps them off the terminal.
 */
export function watchRedis(options: RedisOptions, url: string, who: string): { close(): void } {
  let down = false;
  const client = new Redis({ ...options, lazyConnect: false, connectionName: `simdcnn-${who}-watch` });
  client.on("error", (e: Error) => {
    if (down) return;
    down = true;
    process.stderr.write(`simdcnn: ${who}: Redis at ${redact(url)} is unreachable (${e.message || (e as { code?: string }).code}); waiting for it to return\n`);
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    process.stderr.write(`simdcnn: ${who}: Redis at ${redact(url)} is back; going on\n`);
  });
  return { close: () => client.disconnect() };
}

// Errors that only say the server cannot be reached; watchRedis reports those.
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|Connection is closed|connect ETIMEDOUT/;

/**
 * Keeps a BullMQ object's errors from ending the process: those of an unreachable server are left
 * to watchRedis, any other is said once on stderr.
 */
export function quiet(emitter: { on(event: "error", f: (e: Error) => void): unknown }, who: string): void {
  const said = new Set<string>();
  emitter.on("error", (e: Error) => {
    const text = `${(e as { code?: string }).code ?? ""} ${e.message}`;
    if (UNREACHABLE.test(text) || said.has(e.message)) return;
    said.add(e.message);
    process.stderr.write(`simdcnn: ${who}: ${e.message}\n`);
  });
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
