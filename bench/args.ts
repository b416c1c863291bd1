// The command-line flags of the benchmark scripts, parsed one way (node:util parseArgs, strict):
// --help prints the script's usage and exits 0 before anything is measured, and a flag the script
// does not know, or a flag without its value, is an error that names it and exits 2. A script
// that ran on any unknown flag would run a whole benchmark for a typo.
import { parseArgs } from "node:util";
import { closest } from "../src/cli/args.js";

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
