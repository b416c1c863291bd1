// Real servers the tests start: a free local port, and a redis-server without persistence in a
// folder of the test's own, stopped by PID.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createConnection, createServer } from "node:net";

export const REDIS = process.env.SIMDCNN_REDIS_SERVER ?? "/usr/bin/redis-server";
export const REDIS_REQUIRED = process.env.SIMDCNN_REQUIRE_REDIS === "1";
export const redisPresent = existsSync(REDIS);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: "127.0.0.1" });
    s.on("error", () => resolve(false));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
  });
}

/** A redis-server on `port` keeping its files in `dir`; started and stopped as often as a test needs. */
export class Redis {
  private child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.child = spawn(REDIS, ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    const end = Date.now() + 10_000;
    while (!(await pong(this.port))) {
      if (this.child.exitCode !== null || Date.now() > end) throw new Error(`redis-server did not answer on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const r = this.child;
    if (!r || r.exitCode !== null) return;
    const gone = new Promise((resolve) => r.once("exit", resolve));
    r.kill("SIGTERM");
    await gone;
  }
}
