import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { glob } from "tinyglobby";

// In a folder, files with these extensions, or none (DICOM files often have none), are slices;
// other files (notes, sidecars) are passed over. Files named on the command line are always read.
const SLICE_FILE = /(^|\/)[^./]+$|\.(png|jpe?g|dcm|dicom|ima)$/i;

/**
 * The files a command line names, in its order: a file as given, a folder's slice files sorted by
 * path (recursively), a glob's matches sorted. A name that matches nothing is kept, so that it is
 * reported as a failed input rather than silently dropped.
 */
export async function expandInputs(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const s = await stat(a).catch(() => undefined);
    if (s?.isDirectory()) out.push(...(await walk(a)));
    else if (s || !/[*?[{]/.test(a)) out.push(a);
    else {
      const matches = (await glob(a, { onlyFiles: true })).sort();
      out.push(...(matches.length ? matches : [a]));
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
    else if (e.name.startsWith(".") || !SLICE_FILE.test(e.name)) continue;
    else if (e.isFile()) out.push(p);
    // A symbolic link to a file is a slice too, and a broken one is listed so that it is reported;
    // links to folders are not followed (they could make a cycle).
    else if (e.isSymbolicLink() && !(await stat(p).catch(() => undefined))?.isDirectory()) out.push(p);
  }
  return out;
}
