import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    globalSetup: ["test/tmpdir-global.ts", "test/command-global.ts"],
    setupFiles: ["test/tmpdir-file.ts"],
    // A file per core, not vitest's default of one core fewer: many files spend their time
    // waiting on child processes (the command, browsers, servers), which leaves a core idle, and
    // on a 2-core machine the default is one file at a time.
    maxWorkers: availableParallelism(),
  },
});
