// The sizes README.md's "Browsers" section reports: what a browser app ships when it imports
// simdcnn, minified by esbuild (--bundle --minify, platform browser, so the package's browser
// entries) and gzipped at level 9, from the built dist/ (`npm run build` first).
// Run: npx tsx test/browser/sizes.ts
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { ROOT, forbiddenCode } from "./harness.js";

const ENTRIES: Record<string, string> = {
  "core: init + ops (`import { init } from \"simdcnn\"`)":
    'import { init } from "simdcnn";\nconst e = await init();\nconst x = e.tensor(new Float32Array(4), [1, 2, 2, 1]);\nconsole.log(e.softmax(e.conv2d(x, x, {})).toArray());\n',
  "ONNX path: init + loadOnnx + run":
    'import { init } from "simdcnn";\nconst e = await init();\nconst m = await e.loadOnnx(new Uint8Array(await (await fetch("m.onnx")).arrayBuffer()));\nconsole.log(m.run({ x: new Float32Array(4) }));\n',
  "slices: `simdcnn/io` (readSlices, toInput, modelSettings, overlayHeatmap, encodePng)":
    'export { readSlices, toInput, modelSettings, overlayHeatmap, encodePng } from "simdcnn/io";\n',
};

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const gz = (b: Uint8Array | string) => gzipSync(b, { level: 9 }).length;

// withoutWasm: the embedded modules' base64 strings emptied, to measure their share of a bundle.
async function bundle(contents: string, withoutWasm = false) {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: "js" }, bundle: true, minify: true, format: "esm", platform: "browser",
    target: "es2022", write: false, metafile: true, logLevel: "error",
    plugins: withoutWasm ? [{
      name: "empty-wasm",
      setup(b) {
        b.onLoad({ filter: /simdcnn\.wasm\.js$/ }, (args) => ({
          contents: readFileSync(args.path, "utf8").replace(/"[A-Za-z0-9+/=]{100,}"/g, '""'), loader: "js",
        }));
      },
    }] : [],
  });
  return { code: result.outputFiles[0].text, meta: result.metafile };
}

const stale = newest(`${ROOT}/src`) > statSync(`${ROOT}/dist/index.js`).mtimeMs;
if (stale) console.warn("dist/ is older than src/: run `npm run build` for current figures\n");
console.log("| bundle | minified | min + gzip -9 | embedded wasm in it (min / gzip) | ONNX importer + protobuf in it (min) | eval / Function |");
console.log("|---|---:|---:|---:|---:|---|");
for (const [name, contents] of Object.entries(ENTRIES)) {
  const { code, meta } = await bundle(contents);
  const bare = (await bundle(contents, true)).code;
  const inputs = Object.entries(Object.values(meta.outputs)[0].inputs);
  const share = (test: (p: string) => boolean) => inputs.filter(([p]) => test(p)).reduce((n, [, v]) => n + v.bytesInOutput, 0);
  const wasm = share((p) => p.includes("simdcnn.wasm.js"));
  const onnx = share((p) => /dist\/(onnx|layers)\/|@bufbuild/.test(p));
  const evals = forbiddenCode(code).length;
  console.log(
    `| ${name} | ${kb(code.length)} | ${kb(gz(code))} | ${wasm ? `${kb(wasm)} / ${kb(gz(code) - gz(bare))}` : "none"} | ${onnx ? kb(onnx) : "none"} | ${evals === 0 ? "none" : `${evals} (see the text)`} |`,
  );
}
console.log();
// The codecs of compressed DICOM are dynamic imports: with code splitting (vite and webpack split
// by default, esbuild with --splitting) each is a chunk fetched when a file first needs it.
{
  const io = Object.values(ENTRIES)[2];
  const result = await build({
    stdin: { contents: io, resolveDir: ROOT, loader: "js" }, bundle: true, minify: true, format: "esm", platform: "browser",
    target: "es2022", write: false, splitting: true, outdir: "out", metafile: true, logLevel: "error",
  });
  console.log("| `simdcnn/io` with --splitting: chunk | minified | min + gzip -9 | eval / Function |");
  console.log("|---|---:|---:|---|");
  for (const file of result.outputFiles) {
    const meta = result.metafile.outputs[`out/${file.path.split("/").pop()}`];
    const codec = Object.keys(meta?.inputs ?? {}).map((p) => /build\/codecs\/(\w+)\.js$/.exec(p)?.[1]).find(Boolean);
    const name = codec ? `${codec} (lazy)` : meta?.entryPoint ? "entry (loaded at once)" : "shared by the codecs";
    console.log(`| ${name} | ${kb(file.contents.length)} | ${kb(gz(file.contents))} | ${forbiddenCode(file.text).length === 0 ? "none" : "found"} |`);
  }
}
console.log();
for (const b of ["simd", "scalar"]) {
  const wasm = readFileSync(`${ROOT}/build/simdcnn.${b}.wasm`);
  console.log(`build/simdcnn.${b}.wasm: ${kb(wasm.length)}, gzip -9 ${kb(gz(wasm))}`);
}
const js = readFileSync(`${ROOT}/build/simdcnn.wasm.js`);
console.log(`build/simdcnn.wasm.js (every embedded build, base64): ${kb(js.length)}, gzip -9 ${kb(gz(js))}`);

function newest(dir: string): number {
  return Math.max(...readdirSync(dir).map((n) => {
    const s = statSync(join(dir, n));
    return s.isDirectory() ? newest(join(dir, n)) : s.mtimeMs;
  }));
}
