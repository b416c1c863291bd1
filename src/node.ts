// The Node entry of the package: everything of the browser entry, plus model paths read from
// the file system and worker threads from node:worker_threads.
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { FileError } from "./errors.js";
import { setCores, setFileReader } from "./runtime/platform.js";
import { setSpawner } from "./runtime/threads.js";
import { WORKER_SOURCE } from "./runtime/worker-source.js";

setFileReader(async (path) => {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw FileError.from(e, path, "read");
  }
});

setCores(availableParallelism());

setSpawner(() => {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  // A script that forgets engine.dispose() still exits when its work is done.
  worker.unref();
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  return { handle: worker, ready };
});

export * from "./index.js";
