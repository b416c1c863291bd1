import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    globalSetup: ["test/tmpdir-global.ts", "test/command-global.ts"],
    setupFiles: ["test/tmpdir-file.ts"],
  },
});
