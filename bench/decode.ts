// Decoding speed of compressed DICOM on one core: a 512 x 512 16-bit CT-like slice (the phantom
// of test/fixtures/dicom/, made by dcmtk) as JPEG Lossless (first-order prediction, .70) and
// JPEG-LS lossless (.80), and as 12-bit lossy JPEG (.51, dcmtk's 12-bit rendering of it), through
// readSlices (codec, then rescale to float32). Codecs are loaded before timing starts.
//   npm run bench:decode
import { readFileSync } from "node:fs";
import { Bench } from "tinybench";
import { readSlices } from "../src/io/read.js";
import { parseFlags } from "./args.js";

parseFlags({
  script: "bench/decode.ts",
  synopsis: "npm run bench:decode",
  about: "Decoding speed of compressed DICOM on one core (JPEG Lossless, JPEG-LS: 512 x 512 16-bit; 12-bit lossy JPEG: 512 x 512): a table on stdout, nothing written.",
  flags: {},
});

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../test/fixtures/dicom/${name}`, import.meta.url)));
const files: Record<string, Uint8Array> = {
  "JPEG Lossless SV1 (.70), 512x512 16-bit": fixture("ct512.jpeg-lossless-sv1.dcm"),
  "JPEG-LS lossless (.80), 512x512 16-bit": fixture("ct512.jpeg-ls.dcm"),
  "JPEG Extended 12-bit lossy (.51), 512x512": fixture("ct512.jpeg-extended.dcm"),
};

const bench = new Bench({ time: 3000, warmup: true, warmupTime: 500 });
for (const [name, bytes] of Object.entries(files)) {
  await readSlices(bytes);
  bench.add(name, async () => {
    await readSlices(bytes);
  });
}
await bench.run();
console.log("| file | slices/s | ms per slice | samples |");
console.log("|---|---:|---:|---:|");
for (const task of bench.tasks) {
  const r = task.result;
  if (!r || r.state !== "completed") throw new Error(`${task.name}: ${r?.state ?? "no result"}`);
  console.log(`| ${task.name} | ${r.throughput.mean.toFixed(1)} | ${r.latency.mean.toFixed(2)} | ${r.latency.samplesCount} |`);
}
