// The command-line flags of the benchmark scripts, parsed one way (node:util parseArgs, strict):
// --help prints the script's usage and exits 0 before anything is measured, and a flag the script
// does not know, or a flag without its value, is an error that names it and exits 2. A script
// that ran on any unknown flag would run a whole benchmark for a typo.
import { parseArgs } from "node:util";

export interface Flag {
  type: "boolean" | "string";
  /** The value's placeholder in the usage text, for a string flag. */
  arg?: string;
  help: string;
}

export interface Usage<F extends Record<string, Flag>> {
  /** The script's path from the repository root, which prefixes its error messages. */
  script: string;
  /** How a user runs it, e.g. "npm run bench -- [flags]". */
  synopsis: string;
  /** What it measures and what it writes. */
  about: string;
  flags: F;
  /** The positional arguments it accepts, described for the usage text; none when absent. */
  positionals?: string;
}

type Values<F extends Record<string, Flag>> = { [K in keyof F]: (F[K]["type"] extends "boolean" ? boolean : string) | undefined };

export interface Parsed<F extends Record<string, Flag>> {
  values: Values<F>;
  positionals: string[];
}

function usageText<F extends Record<string, Flag>>(u: Usage<F>): string {
  const rows: [string, string][] = Object.entries(u.flags).map(([name, f]) => [`--${name}${f.type === "string" ? ` ${f.arg ?? "VALUE"}` : ""}`, f.help]);
  rows.push(["-h, --help", "print this text and exit"]);
  const width = Math.max(...rows.map(([l]) => l.length));
  return [
    `usage: ${u.synopsis}`,
    "",
    u.about,
    ...(u.positionals ? ["", u.positionals] : []),
    "",
    "flags:",
    ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`),
  ].join("\n");
}

/** Prints "<script>: <message>" and a pointer to --help on stderr and exits 2. */
export function usageError<F extends Record<string, Flag>>(u: Usage<F>, message: string): never {
  process.stderr.write(`${u.script}: ${message}\nrun with --help for the flags\n`);
  process.exit(2);
}

/** The flags of `argv` (default: this process's), or the usage (exit 0) or an error (exit 2). */
export function parseFlags<const F extends Record<string, Flag>>(u: Usage<F>, argv = process.argv.slice(2)): Parsed<F> {
  const options = Object.fromEntries([
    ...Object.entries(u.flags).map(([name, f]) => [name, { type: f.type }]),
    ["help", { type: "boolean", short: "h" }],
  ]) as Record<string, { type: "boolean" | "string"; short?: string }>;
  // A lenient pass first: --help wins over any other problem on the line, and an unknown flag is
  // named with the closest known one, which the strict parser's message does not offer.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === "option" && t.name === "help")) {
    process.stdout.write(`${usageText(u)}\n`);
    process.exit(0);
  }
  for (const t of tokens) {
    if (t.kind !== "option" || Object.hasOwn(options, t.name)) continue;
    const near = closest(t.name, Object.keys(options));
    usageError(u, `unknown flag ${t.rawName}${near ? ` (did you mean --${near}?)` : ""}`);
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: u.positionals !== undefined });
    return { values: values as Values<F>, positionals };
  } catch (e) {
    usageError(u, (e as Error).message);
  }
}

/** The known name nearest to `name` by edit distance, if it is near enough to be a typo of it. */
export function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  // One edit in three characters: "--sav" and "--qiuck" are typos; "--bogus" is not "--only".
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance, with a transposition of two neighbours counted as one edit. */
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
