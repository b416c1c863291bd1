import { parseArgs } from "node:util";
import { UsageError } from "./usage.js";

/** A command's flags: name -> whether it takes a value. */
export type FlagSpec = Readonly<Record<string, "string" | "boolean">>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `args` against `spec`, with '-h' as '--help'. Unlike node:util's strict mode, an unknown
 * flag is named with the closest known one, and a flag missing its value or given one it does not
 * take says which.
 */
export function parseFlags(args: string[], spec: FlagSpec): Parsed {
  const options = Object.fromEntries(Object.entries(spec).map(([name, type]) => [name, { type }]));
  const { tokens } = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: false, tokens: true });
  const values: Parsed["values"] = {};
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    if (t.name === "help") {
      values.help = true;
      continue;
    }
    const type = Object.hasOwn(spec, t.name) ? spec[t.name] : undefined;
    if (type === undefined) {
      const near = closest(t.name, Object.keys(spec));
      throw new UsageError(`unknown flag ${t.rawName}${near ? `; did you mean --${near}?` : ""}`);
    }
    if (type === "string" && t.value === undefined) throw new UsageError(`--${t.name} needs a value`);
    if (type === "boolean" && t.inlineValue) throw new UsageError(`--${t.name} takes no value`);
    if (values[t.name] !== undefined) throw new UsageError(`--${t.name} is given twice`);
    values[t.name] = type === "string" ? t.value : true;
  }
  return { values, positionals };
}

/** The known name nearest to `name` by edit distance, if it is near enough to be a typo of it. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  // One edit in three characters: "--jsn" and "--qiuck" are typos; "--bogus" is not "--only".
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance, with a transposition of neighbours counted as one edit. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
