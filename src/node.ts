// The Node entry of the package: everything of the browser entry, plus model paths read from
// the file system.
import { readFile } from "node:fs/promises";
import { setFileReader } from "./runtime/files.js";

setFileReader(async (path) => new Uint8Array(await readFile(path)));

export * from "./index.js";
