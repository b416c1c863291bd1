import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Engine } from "../engine.js";
import { FileError } from "../errors.js";
import type { Model } from "../graph/model.js";
import { encodePng } from "../io/png.js";
import { UsageError } from "./usage.js";

/** The bytes of the model file named by `flag`; a path that is missing, a folder or unreadable is a UsageError. */
export async function readModelFile(path: string, flag: string): Promise<Uint8Array> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new UsageError(`${flag} '${path}' is a folder; expected an ONNX file`);
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageError(`${flag}: ${FileError.from(e, path, "read").message}`);
  }
}

/**
 * The model file named by `flag`, loaded with its external data files read from its folder; a
 * path that is missing, a folder or unreadable is a UsageError, a model that cannot load keeps
 * its own error.
 */
export async function loadModelFile(engine: Engine, path: string, flag: string): Promise<Model> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new UsageError(`${flag} '${path}' is a folder; expected an ONNX file`);
  try {
    return await engine.loadOnnx(path);
  } catch (e) {
    if (e instanceof FileError && e.path === path) throw new UsageError(`${flag}: ${e.message}`);
    throw e;
  }
}

/** Writes through a temporary file and a rename, so that a killed run leaves no half-written file. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw FileError.from(e, path, "write");
  }
}

/** Writes an image atomically, creating its folder (names below the inputs' common folder can hold folders). */
export async function writePng(path: string, width: number, height: number, pixels: Uint8Array, channels?: 1 | 4): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw FileError.from(e, dirname(path), "create");
  }
  await writeAtomic(path, encodePng(width, height, pixels, channels));
}

/**
 * Makes sure a file can be written at `path` before any work is done: its folder is created, and
 * a probe file is written and removed there. A path that is a folder, or whose folder cannot be
 * made or written, is a UsageError naming `flag`.
 */
export async function checkOutputFile(path: string, flag: string): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new UsageError(`${flag} '${path}' is a folder; expected a file path`);
  await checkWritableFolder(dirname(path), flag, path);
}

/** Makes sure `folder` exists (creating it) and files can be written in it, before any work is done. */
export async function checkOutputFolder(folder: string, flag: string): Promise<void> {
  const s = await stat(folder).catch(() => undefined);
  if (s !== undefined && !s.isDirectory()) throw new UsageError(`${flag} '${folder}' is a file; expected a folder`);
  await checkWritableFolder(folder, flag, folder);
}

async function checkWritableFolder(folder: string, flag: string, given: string): Promise<void> {
  const probe = join(folder, `.simdcnn-probe-${process.pid}`);
  try {
    await mkdir(folder, { recursive: true });
    await writeFile(probe, "");
    await rm(probe);
  } catch (e) {
    const why = (e as { code?: string }).code === "EEXIST" ? `'${folder}' is a file; expected a folder` : FileError.from(e, folder, "write in").message;
    throw new UsageError(`${flag} '${given}': ${why}`);
  }
}
