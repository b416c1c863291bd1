import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { progressBar } from "./classify.js";
import type { Result } from "./output.js";

/**
 * Classifies files in `processes` worker processes of this command, each with a single-threaded
 * engine and a contiguous share of the files, and returns their results in input order. For a
 * folder of slices this beats one process with threaded kernels (bench/slices.ts: 330-345 against
 * 235-250 slices/s on 2 cores), because reading and preparing the slices is most of the work and
 * only processes run it in parallel. `flags` are this command's options, passed on as they are.
 */
export async function classifyInProcesses(files: string[], processes: number, flags: string[]): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), "simdcnn-pool-"));
  const bar = progressBar(files.length);
  try {
    const shares = Array.from({ length: processes }, (_, i) =>
      files.slice(Math.floor((files.length * i) / processes), Math.floor((files.length * (i + 1)) / processes)),
    ).filter((s) => s.length > 0);
    const parts = await Promise.all(
      shares.map((share, i) => {
        const list = join(dir, `files-${i}.json`);
        writeFileSync(list, JSON.stringify(share));
        return worker(share, list, [...flags, "--json", "--threads", "1"], () => bar.increment());
      }),
    );
    return parts.flat();
  } finally {
    bar.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function worker(share: string[], list: string, args: string[], onFile: () => void): Promise<Result[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], "classify", ...args], {
      env: { ...process.env, SIMDCNN_REPORT: "1", SIMDCNN_FILES: list },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      for (const line of d.split("\n")) {
        if (line === "\u0001") onFile();
        else if (line) err += `${line}\n`;
      }
    });
    // Every file still gets its line when a worker fails as a whole.
    const failed = (why: string) => resolve(share.map((file) => ({ file, error: `worker process failed: ${why}` })));
    child.on("error", (e) => failed(e.message));
    child.on("close", (code) => {
      try {
        const results = JSON.parse(out) as Result[];
        if (!Array.isArray(results)) throw new Error("no results");
        resolve(results);
      } catch {
        failed(`exit code ${code}${err ? `: ${err.trim().split("\n").at(-1)}` : ""}`);
      }
    });
  });
}
