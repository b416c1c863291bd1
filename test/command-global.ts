// Global set-up of the suite: the sources compiled to JavaScript once, for the tests that run the
// simdcnn command in child processes. Each such process (and each worker process it starts) run
// through tsx would resolve and transform every module of the command again through tsx's loader,
// which costs more than the command does on a small input; compiled once here, a child process
// starts as fast as the published dist/ does. It is the same compiler tsx uses (esbuild), file
// for file, from the sources as they are now: never a stale dist/. Beside the output sit what the
// modules reach by relative path: build/ (the kernels and codecs), package.json and node_modules.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The compiled src/cli/main.ts: run as `node <command> ...args`. */
    command: string;
  }
}

const root = new URL("..", import.meta.url).pathname;

export default async function setup(project: TestProject): Promise<() => void> {
  const out = mkdtempSync(join(tmpdir(), "simdcnn-command-"));
  await build({
    entryPoints: readdirSync(join(root, "src"), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
      .map((e) => join(e.parentPath, e.name)),
    outbase: root,
    outdir: out,
    format: "esm",
    platform: "node",
    target: "es2022",
    tsconfig: join(root, "tsconfig.json"),
    logLevel: "error",
  });
  for (const name of ["build", "node_modules"]) symlinkSync(join(root, name), join(out, name));
  copyFileSync(join(root, "package.json"), join(out, "package.json"));
  project.provide("command", join(out, "src", "cli", "main.js"));
  return () => rmSync(out, { recursive: true, force: true });
}
