// Running the simdcnn command in a child process (the sources as compiled once for the suite:
// test/command-global.ts) and writing the small PNGs its tests feed it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PNG } from "pngjs";
import { inject } from "vitest";

const run = promisify(execFile);
/** The compiled command: `node COMMAND ...args`. */
export const COMMAND = inject("command");

/** Runs `simdcnn ...args`; a non-zero exit is returned as its code, not thrown. */
export async function simdcnn(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [COMMAND, ...args], { encoding: "utf8", cwd, maxBuffer: 1 << 26 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** An 8-bit grey PNG whose pixel (x, y) is value(x, y). */
export function png(width: number, height: number, value: (x: number, y: number) => number): Buffer {
  const p = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) p.data[y * width + x] = value(x, y);
  return PNG.sync.write(p, { colorType: 0, inputColorType: 0, bitDepth: 8 });
}
