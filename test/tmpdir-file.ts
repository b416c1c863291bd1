// Per test file: os.tmpdir() (and the TMPDIR of every process the file starts) is a fresh folder,
// and whatever is left in it when the file's tests are done fails that file, by name.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, inject } from "vitest";

// Caches that tools keep there on purpose, across runs, are not something a test left: tsx's
// (tsx-<uid>) and Node's module compile cache (node-compile-cache, Node 22 and later, which tsc
// turns on).
const CACHES = new Set([`tsx-${process.geteuid?.() ?? userInfo().username}`, "node-compile-cache"]);

const dir = mkdtempSync(join(inject("tmpBase"), "file-"));
process.env.TMPDIR = dir;

// vitest passes the fixtures first (none are used here) and the file's suite second.
afterAll(({}, file) => {
  const left = readdirSync(dir).filter((name) => !CACHES.has(name));
  rmSync(dir, { recursive: true, force: true });
  if (left.length > 0) {
    throw new Error(`${file.name} left ${left.join(", ")} in the temporary directory (os.tmpdir()): remove what a test creates there`);
  }
});
