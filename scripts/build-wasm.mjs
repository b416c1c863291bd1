// Compiles assembly/ for the three targets of asconfig.json and embeds the modules
// (assembly/embed.mjs), unless build/ already holds what these sources make. `npm test` runs this
// first so that the tests never see stale kernels, and a build of the three targets takes minutes
// that a run whose kernels have not changed should not pay. Up to date means: the SHA-256 of every
// file under assembly/, asconfig.json, this script and the compiler's and optimizer's versions is
// the one the last successful build recorded in build/wasm.sha256, and so are the outputs' own
// digests (an output edited or removed by hand is rebuilt, not trusted). The targets are
// independent compiler processes, each on one core: they run side by side.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const stampFile = join(root, "build", "wasm.sha256");
const config = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
const targets = Object.keys(config.targets);
const outputs = [
  ...targets.flatMap((t) => [config.targets[t].outFile, config.targets[t].textFile]),
  "build/simdcnn.wasm.js",
  "build/simdcnn.wasm.d.ts",
];

const files = (dir) =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();

function digest(paths, extra = "") {
  const h = createHash("sha256").update(extra);
  for (const p of paths) h.update(`\0${relative(root, p)}\0`).update(readFileSync(p));
  return h.digest("hex");
}

const version = (pkg) => JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;
const inputs = digest(
  [...files(join(root, "assembly")), join(root, "asconfig.json"), fileURLToPath(import.meta.url)],
  `assemblyscript ${version("assemblyscript")}, binaryen ${version("binaryen")}`,
);
const outputPaths = outputs.map((o) => join(root, o));

function upToDate() {
  if (!existsSync(stampFile) || !outputPaths.every((p) => existsSync(p))) return false;
  const stamp = JSON.parse(readFileSync(stampFile, "utf8"));
  return stamp.inputs === inputs && stamp.outputs === digest(outputPaths);
}

const running = new Set();

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: "inherit" });
    running.add(child);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      running.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${args.slice(1).join(" ")} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

if (upToDate()) {
  console.log(`build-wasm: ${outputs.filter((o) => o.endsWith(".wasm")).join(", ")} are up to date with assembly/`);
} else {
  rmSync(stampFile, { force: true });
  const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
  // Longest first: the targets with more features compile more code (the SIMD paths).
  const queue = [...targets].sort((a, b) => (config.targets[b].enable?.length ?? 0) - (config.targets[a].enable?.length ?? 0));
  const lane = async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) await run([asc, "assembly/index.ts", "--target", t]);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(targets.length, availableParallelism()) }, lane));
    await run([join(root, "assembly", "embed.mjs")]);
  } catch (e) {
    for (const child of running) child.kill();
    console.error(`build-wasm: ${e.message}`);
    process.exit(1);
  }
  writeFileSync(stampFile, `${JSON.stringify({ inputs, outputs: digest(outputPaths) })}\n`);
}
