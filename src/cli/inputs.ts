import { open, readdir, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { glob } from "tinyglobby";
import { FileError } from "../errors.js";
import type { DicomwebInput } from "./dicomweb.js";
import type { S3Object } from "../queue/s3.js";
import type { VolumeInput } from "./volumes.js";

// In a folder, files with these extensions, or none (DICOM files often have none), are slices, and
// so is any file with DICOM's "DICM" marker at byte 128 (PACS exports name files by their UIDs,
// dots and all); other files (notes, sidecars) are passed over. Files named on the command line are
// always read.
const SLICE_FILE = /(^|\/)[^./]+$|\.(png|jpe?g|dcm|dicom|ima|nii|nii\.gz)$/i;

/** True for a file with DICOM Part 10's "DICM" marker at byte 128. */
export async function hasDicomMarker(path: string): Promise<boolean> {
  const file = await open(path, "r").catch(() => undefined);
  if (!file) return false;
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await file.read(b, 0, 4, 128);
    return bytesRead === 4 && b.toString("latin1") === "DICM";
  } finally {
    await file.close();
  }
}

/** True for an `s3://bucket/prefix` argument: objects in a bucket, which queue workers read and write. */
export const isS3 = (path: string | undefined): path is string => path !== undefined && /^s3:\/\//i.test(path);

/**
 * One input of a command: a file to read, an argument that yields none and why, a volume
 * (volumes.ts), or what a queue's worker fetches: a PACS series (dicomweb.ts) or an object in a
 * bucket (its s3:// URL as `file`).
 */
export type Input = { file: string } | { file: string; error: string } | VolumeInput | DicomwebInput | { file: string; s3: S3Object };

/**
 * The files a command line names, in its order: a file as given, a folder's slice files sorted by
 * path (recursively), a glob's matches sorted; each file once. Paths keep the form the user gave
 * (relative to the current folder, or absolute). An argument that yields no file is kept with the
 * reason, so that it is reported as a failed input rather than silently dropped.
 */
export async function expandInputs(args: string[]): Promise<Input[]> {
  const out: Input[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    const key = resolve(file);
    if (!seen.has(key)) out.push({ file });
    seen.add(key);
  };
  for (const a of args) {
    const s = await stat(a).catch(() => undefined);
    if (s?.isDirectory()) {
      const files = await walk(a).catch((e: unknown) => FileError.from(e, a, "list"));
      if (files instanceof FileError) out.push({ file: a, error: `${files.name}: ${files.message}` });
      else if (files.length === 0) out.push({ file: a, error: `no slice files (.png, .jpg, .jpeg, .dcm, .dicom, .ima, .nii, .nii.gz, no extension, or DICOM by content) in the folder '${a}'` });
      else files.forEach(add);
    } else if (s || !/[*?[{]/.test(a)) add(a);
    else {
      const matches = (await glob(a, { onlyFiles: true, absolute: isAbsolute(a), expandDirectories: false })).sort();
      if (matches.length === 0) out.push({ file: a, error: `no files match '${a}'` });
      matches.forEach(add);
    }
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.name.startsWith(".")) continue;
    else if (!SLICE_FILE.test(e.name)) {
      if (e.isFile() && (await hasDicomMarker(p))) out.push(p);
    } else if (e.isFile()) out.push(p);
    // A symbolic link to a file is a slice too, and a broken one is listed so that it is reported;
    // links to folders are not followed (they could make a cycle).
    else if (e.isSymbolicLink() && !(await stat(p).catch(() => undefined))?.isDirectory()) out.push(p);
  }
  return out;
}
