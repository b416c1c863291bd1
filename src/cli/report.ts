import cliProgress from "cli-progress";
import { writeAtomic } from "./files.js";

/** A progress bar on stderr, shown only when it is a terminal. */
export function progressBar(total: number): { increment(): void; stop(): void } {
  if (!process.stderr.isTTY || total < 2) return { increment: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar({ clearOnComplete: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}

/**
 * Writes a command's formatted results to `out` (a file) or stdout; the exit code is 1 when any
 * input failed. Results are never lost to a failed write: they go to stdout instead, with the reason.
 */
export async function emit(text: string, results: readonly object[], out: string | undefined, stdout: (s: string) => void): Promise<number> {
  const failed = results.some((r) => "error" in r) ? 1 : 0;
  if (!out) {
    stdout(text);
    return failed;
  }
  try {
    await writeAtomic(out, text);
    return failed;
  } catch (e) {
    process.stderr.write(`simdcnn: ${(e as Error).message}; the results follow on stdout\n`);
    stdout(text);
    return 1;
  }
}

/** Tells stderr how many files of a kind a run wrote, and where; `note` qualifies them in brackets. */
export function wrote(count: number, what: string, folder: string, note?: string): void {
  process.stderr.write(`${count} ${what}${count === 1 ? "" : "s"} in ${folder}${note ? ` (${note})` : ""}\n`);
}
