// Throughput of `simdcnn classify` on a folder of demo slices with --threads 1 and 2 (two worker
// processes: src/cli/pool.ts), classification only (no heatmaps). Generates the slices once into a temporary
// folder with the phantom generator.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFlags, usageError } from "./args.js";

const USAGE = {
  script: "bench/slices.ts",
  synopsis: "npm run bench:slices -- [flags]",
  about:
    "Throughput of `simdcnn classify` on generated demo slices with --threads 1 and 2. Prints\n" +
    "slices per second; writes nothing under bench/results.",
  flags: {
    count: { type: "string", arg: "N", help: "how many slices to generate and classify (default 1000)" },
  },
} as const;
const { values: flags } = parseFlags(USAGE);
const count = Number(flags.count ?? 1000);
if (!(Number.isSafeInteger(count) && count >= 1)) usageError(USAGE, `--count expects a positive integer, got '${flags.count}'`);
const root = new URL("../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "simdcnn-slices-"));
try {
  execFileSync("node", [join(root, "examples/phantom/generate.mjs"), "--out", dir, "--count", String(count), "--start", "100000", "--format", "png"]);
  const cli = join(root, "dist/cli/main.js");
  const model = join(root, "examples/phantom/phantom.onnx");
  console.log(`${count} slices (128x128 16-bit PNG), examples/phantom/phantom.onnx, batch 8`);
  for (const threads of ["1", "2", "1", "2"]) {
    const t0 = performance.now();
    execFileSync("node", [cli, "classify", "--model", model, "--threads", threads, "--csv", "--out", join(dir, "out.csv"), dir]);
    const s = (performance.now() - t0) / 1000;
    console.log(`threads ${threads}: ${(count / s).toFixed(0)} slices/s (${s.toFixed(2)} s, process start included)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
