import { createHash } from "node:crypto";
import { dirname, extname, relative, resolve, sep } from "node:path";

/**
 * The name of each input's output (e.g. its heatmap) below an output folder: the input's path
 * relative to the deepest folder holding all inputs, without its extension. Names that would
 * still meet (a.png and a.jpg; A.dcm and a.dcm on a case-insensitive disk; x.dcm beside the
 * frames of a multi-frame x: x-frame2) take the extension and, if that is not enough, a hash of
 * the input's path: stable for the same inputs, never shared by two inputs. Frame N of a file
 * is `<name>-frameN`.
 */
export function outputNames(files: readonly string[]): Map<string, string> {
  const absolute = files.map((f) => resolve(f));
  const root = commonFolder(absolute);
  const stem = (a: string) => {
    const r = relative(root, a);
    return r.slice(0, r.length - extname(r).length).split(sep).join("/");
  };
  const withExt = (a: string) => {
    const ext = extname(a).slice(1);
    return ext ? `${stem(a)}-${ext}` : stem(a);
  };
  const hashed = (a: string) => `${withExt(a)}-${createHash("sha256").update(relative(root, a)).digest("hex").slice(0, 8)}`;
  let names = absolute.map(stem);
  for (const rename of [withExt, hashed]) {
    const clash = clashes(names);
    if (clash.size === 0) break;
    names = names.map((n, i) => (clash.has(key(n)) ? rename(absolute[i]) : n));
  }
  return new Map(files.map((f, i) => [f, names[i]]));
}

/** A frame's output name; frames are numbered from 1. */
export function frameName(name: string, frame: number | undefined): string {
  return frame === undefined ? name : `${name}-frame${frame}`;
}

/** The output name of slice `index` (from 0) of a volume along `axis`: `<name>-axial12`. */
export function sliceName(name: string, axis: string, index: number): string {
  return `${name}-${axis}${index}`;
}

const key = (n: string) => n.toLowerCase();

// Names that meet another, counting a name of the form `<other>-frameN` as meeting `<other>`,
// whose frames would take it.
function clashes(names: string[]): Set<string> {
  const count = new Map<string, number>();
  for (const n of names) count.set(key(n), (count.get(key(n)) ?? 0) + 1);
  const out = new Set<string>();
  for (const n of names) {
    if (count.get(key(n))! > 1) out.add(key(n));
    const base = /^(.*)-frame\d+$/.exec(n)?.[1];
    if (base !== undefined && count.has(key(base))) {
      out.add(key(n));
      out.add(key(base));
    }
  }
  return out;
}

function commonFolder(paths: string[]): string {
  if (paths.length === 0) return resolve(".");
  let root = dirname(paths[0]);
  while (!paths.every((p) => p.startsWith(root.endsWith(sep) ? root : root + sep))) {
    const up = dirname(root);
    if (up === root) break;
    root = up;
  }
  return root;
}

