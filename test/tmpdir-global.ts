// Global set-up of the suite: one private temporary directory for the whole run, so that what the
// tests leave behind can be told apart from what other programs on the machine put in the system's
// (test/tmpdir-file.ts gives each test file its own folder in it and checks that one). At the end,
// anything still in it (written by a process that outlived its test file) fails the run, and the
// directory is removed either way.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    tmpBase: string;
  }
}

export default function setup(project: TestProject): () => void {
  const base = mkdtempSync(join(tmpdir(), "simdcnn-test-"));
  project.provide("tmpBase", base);
  return () => {
    // A test file whose tests were all skipped never runs its afterAll, and leaves its own
    // folder empty: that is not something a test left.
    const left = readdirSync(base).filter((name) => !/^file-/.test(name) || readdirSync(join(base, name)).length > 0);
    rmSync(base, { recursive: true, force: true });
    if (left.length > 0) {
      // vitest reports an error thrown here but still exits 0, so the exit code is set as well.
      process.exitCode = 1;
      throw new Error(`the test run left ${left.join(", ")} in its temporary directory (removed now)`);
    }
  };
}
