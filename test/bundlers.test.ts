// `import { init } from "simdcnn"` works in browsers without configuration: a tiny app is built
// with vite, webpack 5 and esbuild (and, fourth, served unbundled as a plain <script type="module">
// with an import map), each from a temporary directory where node_modules/simdcnn is the package as
// npm installs it; each bundle must resolve the browser entry, carry no Node module, no eval and no
// Function constructor, and print in Chromium and Firefox (page CSP: no eval) the hash Node prints.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BROWSER_NAMES, REQUIRE_BROWSERS, type BrowserName, type BrowserSession, CSP, ROOT, type Server, browserPresent, bundleForBrowser, directoryRoutes,
  forbiddenCode, installedPackage, nodeOnlyCode, launch, missingMessage, serve,
} from "./browser/harness.js";

const run = promisify(execFile);

// The app: a 3x3 convolution with relu, a global average pool and a softmax, in both builds (and,
// where the page passes them, with the kernel module given to init() as a URL and as a compiled
// WebAssembly.Module), each output reduced to the SHA-256 of its bytes.
const COMPUTE = `
export async function compute(init, sources = {}) {
  const seeded = (n, seed) => {
    let a = seed >>> 0;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    }
    return out;
  };
  const runs = { simd: { backend: "simd" }, scalar: { backend: "scalar" } };
  for (const [name, wasm] of Object.entries(sources)) runs[name] = { wasm };
  const result = {};
  for (const [name, options] of Object.entries(runs)) {
    const engine = await init(options);
    const x = engine.tensor(seeded(2 * 12 * 12 * 3, 1), [2, 12, 12, 3]);
    const w = engine.tensor(seeded(8 * 3 * 3 * 3, 2), [8, 3, 3, 3]);
    const y = engine.conv2d(x, w, { bias: seeded(8, 3), padding: "same", activation: "relu" });
    const p = engine.globalAvgPool(y);
    const s = engine.softmax(p);
    const bytes = new Uint8Array(s.toArray().buffer);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    result[name] = engine.backend + " " + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    for (const t of [x, w, y, p, s]) t.dispose();
  }
  return result;
}
`;

const MAIN = `
import { init } from "simdcnn";
import { compute } from "./compute.js";

const post = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });
compute(init).then((hashes) => post({ hashes }), (e) => post({ error: String(e && e.stack || e) }));
`;

// The plain page also passes the kernel modules to init() itself, for strict-CSP set-ups.
const PLAIN_MAIN = `
import { init } from "simdcnn";
import { compute } from "./compute.js";

const post = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });
(async () => {
  const url = new URL("/pkg/build/simdcnn.scalar.wasm", location.href);
  const module = await WebAssembly.compileStreaming(fetch("/pkg/build/simdcnn.simd.wasm"));
  return compute(init, { "wasm: URL": url, "wasm: Module": module });
})().then((hashes) => post({ hashes }), (e) => post({ error: String(e && e.stack || e) }));
`;

const page = (script: string, module = true, head = "") =>
  `<!doctype html>\n<meta charset="utf-8">\n<title>simdcnn app</title>\n${head}<script ${module ? 'type="module" ' : ""}src="${script}"></script>\n`;

let installed: Awaited<ReturnType<typeof installedPackage>>;
let app: string;
let node: Record<string, string>;
const timings: Record<string, number> = {};

interface Built {
  /** The server's files. */
  routes: Record<string, string | Uint8Array> | ((path: string) => string | Uint8Array | undefined);
  /** The JavaScript of the bundle (all chunks), for the scans. */
  code: string;
  /** The CSP the page is served with. */
  csp?: string;
}

const built: Partial<Record<string, Built>> = {};

async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

const jsOf = (routes: Record<string, string | Uint8Array>) =>
  Object.entries(routes).filter(([p]) => p.endsWith(".js")).map(([, b]) => (typeof b === "string" ? b : Buffer.from(b).toString("utf8"))).join("\n");

const BUNDLERS: Record<string, () => Promise<Built>> = {
  async vite() {
    const { build } = await import("vite");
    writeFileSync(join(app, "index.html"), page("./main.js"));
    const outDir = join(app, "out-vite");
    await build({ root: app, configFile: false, logLevel: "error", build: { outDir, emptyOutDir: true, minify: true } });
    const routes = directoryRoutes(outDir);
    return { routes, code: jsOf(routes) };
  },

  async webpack() {
    const outDir = join(app, "out-webpack");
    writeFileSync(join(app, "webpack.config.mjs"), `export default {
  mode: "production", target: "web", entry: "./main.js",
  output: { path: ${JSON.stringify(outDir)}, filename: "main.js", clean: true },
  performance: { hints: false },
};\n`);
    // The webpack CLI, as a user runs it.
    await run(process.execPath, [join(ROOT, "node_modules/webpack-cli/bin/cli.js"), "--config", "webpack.config.mjs", "--no-color"], { cwd: app });
    writeFileSync(join(outDir, "index.html"), page("/main.js", false));
    const routes = directoryRoutes(outDir);
    return { routes, code: jsOf(routes) };
  },

  async esbuild() {
    const code = await bundleForBrowser(join(app, "main.js"), app, true);
    return { routes: { "/index.html": page("/main.js"), "/main.js": code }, code };
  },

  // No bundler: the package's files as they are, found through an import map (the only
  // configuration a browser needs for bare specifiers), which the CSP admits by its hash.
  async "plain <script type=module>"() {
    const protobuf = join(ROOT, "node_modules/@bufbuild/protobuf");
    const { exports } = JSON.parse(readFileSync(join(protobuf, "package.json"), "utf8")) as { exports: Record<string, { import?: string }> };
    const imports: Record<string, string> = {
      simdcnn: "/pkg/dist/index.js",
      "simdcnn/io": "/pkg/dist/io/index.js",
    };
    for (const [sub, target] of Object.entries(exports)) {
      if (target.import) imports[`@bufbuild/protobuf${sub.slice(1)}`] = `/deps/@bufbuild/protobuf${target.import.slice(1)}`;
    }
    const importMap = JSON.stringify({ imports });
    const hash = createHash("sha256").update(importMap).digest("base64");
    const html = page("/main.js", true, `<script type="importmap">${importMap}</script>\n`);
    const files: Record<string, string> = { "/index.html": html, "/main.js": PLAIN_MAIN, "/compute.js": COMPUTE };
    const routes = (path: string) => {
      if (files[path]) return files[path];
      const [dir, prefix] = path.startsWith("/pkg/") ? [installed.pkg, "/pkg/"] : path.startsWith("/deps/@bufbuild/protobuf/") ? [protobuf, "/deps/@bufbuild/protobuf/"] : [];
      if (!dir || path.includes("..")) return undefined;
      const file = join(dir, path.slice(prefix!.length));
      // The kernel modules as files, for the init({ wasm }) cases.
      if (path === "/pkg/build/simdcnn.simd.wasm" || path === "/pkg/build/simdcnn.scalar.wasm") return readFileSync(join(ROOT, path.slice(5)));
      return existsSync(file) ? readFileSync(file) : undefined;
    };
    // What the page loads: dist/ but the Node entry, the CLI and the queue the CLI loads.
    const code = Object.entries(directoryRoutes(join(installed.pkg, "dist")))
      .filter(([p]) => p.endsWith(".js") && p !== "/node.js" && !p.startsWith("/cli/") && !p.startsWith("/queue/"))
      .map(([, b]) => Buffer.from(b).toString("utf8")).join("\n");
    return { routes, code, csp: `${CSP} 'sha256-${hash}'` };
  },
};

beforeAll(async () => {
  installed = await installedPackage();
  app = installed.app;
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  writeFileSync(join(app, "compute.js"), COMPUTE);
  writeFileSync(join(app, "main.js"), MAIN);
  // Node's answer: the same app code over the Node entry, resolved the same way.
  writeFileSync(join(app, "node-main.mjs"), 'import { init } from "simdcnn";\nexport { init };\nexport { compute } from "./compute.js";\n');
  const { init, compute } = await import(pathToFileURL(join(app, "node-main.mjs")).href);
  node = await compute(init);
}, 60_000);

afterAll(() => {
  console.info(`bundler test timings (ms): ${JSON.stringify(timings)}`);
  installed?.remove();
});

describe("Node", () => {
  it("runs the app through the package's Node entry, in both builds", () => {
    expect(Object.keys(node)).toEqual(["simd", "scalar"]);
    expect(node.simd.split(" ")[1]).toBe(node.scalar.split(" ")[1]);
  });
});

describe.each(Object.keys(BUNDLERS))("%s", (bundler) => {
  it("builds the app, resolving the browser entry, with no Node module, no eval and no Function constructor", async () => {
    const b = await timed(`build ${bundler}`, BUNDLERS[bundler]);
    built[bundler] = b;
    expect(b.code.length).toBeGreaterThan(1000);
    // dist/node.js sets a file reader and worker threads up; its markers must not be there.
    expect(nodeOnlyCode(b.code), "Node modules in the bundle").toEqual([]);
    expect(forbiddenCode(b.code), "eval or the Function constructor in the bundle").toEqual([]);
  }, 60_000);

  for (const name of BROWSER_NAMES) {
    if (!browserPresent(name)) {
      const message = missingMessage(name, "test/bundlers.test.ts");
      if (bundler === "vite") console.warn(message);
      if (REQUIRE_BROWSERS) it(`${name} is installed`, () => {
        throw new Error(message);
      });
      if (!REQUIRE_BROWSERS) it.skip(message, () => undefined);
      continue;
    }
    it(`runs in ${name} under a CSP without eval and prints Node's hashes`, async () => {
      const b = built[bundler];
      if (!b) throw new Error(`the ${bundler} build failed`);
      const result = await timed(`${bundler} in ${name}`, () => visit(name, b));
      expect(result.error, `${bundler} app threw in ${name}`).toBeUndefined();
      const hashes = result.hashes as Record<string, string>;
      expect({ simd: hashes.simd, scalar: hashes.scalar }).toEqual(node);
      // The init({ wasm }) cases of the plain page: a URL of the scalar build, a compiled SIMD Module.
      if (hashes["wasm: URL"]) {
        expect(hashes["wasm: URL"]).toBe(node.scalar);
        expect(hashes["wasm: Module"]).toBe(node.simd);
      }
    }, 60_000);
  }
});

// One browser of each kind for the whole file, started when first needed.
const sessions: Partial<Record<BrowserName, Promise<BrowserSession>>> = {};
afterAll(async () => {
  for (const s of Object.values(sessions)) await (await s!).close();
});

async function visit(name: BrowserName, b: Built): Promise<Record<string, unknown>> {
  sessions[name] ??= launch(name);
  const session = await sessions[name]!;
  const server: Server = await serve(b.routes, b.csp);
  try {
    return await session.visit(server, "", 30_000);
  } finally {
    await server.close();
  }
}

describe("the 'simdcnn/io' entry", () => {
  let code = "";
  beforeAll(async () => {
    writeFileSync(join(app, "io-main.js"), 'export { readSlices, toInput, modelSettings, overlayHeatmap, encodePng } from "simdcnn/io";\n');
    code = await bundleForBrowser(join(app, "io-main.js"), app, true);
  });

  it("bundles for browsers without a Node module", () => {
    expect(nodeOnlyCode(code)).toEqual([]);
    expect(code).not.toMatch(/require\("(fs|zlib|stream|path)"\)/);
  });

  // The PNG decoder once was pngjs's browserify build, whose polyfills use the Function
  // constructor; it is fast-png now (src/io/png.ts), and this keeps it that way.
  it("has no eval and no Function constructor", () => {
    expect(forbiddenCode(code)).toEqual([]);
  });

  // The DICOM codecs are dynamic imports of build/codecs/*.js: vite and webpack must bundle them
  // without configuration (no "fs", no .wasm to locate) as chunks of their own.
  it("vite and webpack split the DICOM codecs into chunks, without Node modules or eval", async () => {
    writeFileSync(join(app, "io-app.js"), 'import { readSlices } from "simdcnn/io";\nwindow.readSlices = readSlices;\n');
    writeFileSync(join(app, "io.html"), page("./io-app.js"));
    const viteOut = join(app, "out-io-vite");
    const { build } = await import("vite");
    await build({ root: app, configFile: false, logLevel: "error", build: { outDir: viteOut, emptyOutDir: true, minify: true, rollupOptions: { input: join(app, "io.html") } } });
    const webpackOut = join(app, "out-io-webpack");
    writeFileSync(join(app, "webpack.io.config.mjs"), `export default {
  mode: "production", target: "web", entry: "./io-app.js",
  output: { path: ${JSON.stringify(webpackOut)}, filename: "main.js", clean: true },
  performance: { hints: false },
};\n`);
    await run(process.execPath, [join(ROOT, "node_modules/webpack-cli/bin/cli.js"), "--config", "webpack.io.config.mjs", "--no-color"], { cwd: app });
    for (const out of [viteOut, webpackOut]) {
      const chunks = Object.entries(directoryRoutes(out)).filter(([p]) => p.endsWith(".js")).map(([p, b]) => [p, Buffer.from(b).toString("utf8")] as const);
      const all = chunks.map(([, c]) => c).join("\n");
      expect(nodeOnlyCode(all), out).toEqual([]);
      expect(forbiddenCode(all), out).toEqual([]);
      // Four chunks embed a wasm module ("AGFzbQEAAAA" is base64 for its header, \0asm 1): CharLS,
      // OpenJPEG, libjpeg-turbo and DCMTK's codecs (12-bit JPEG); one holds the JavaScript JPEG
      // Lossless decoder; the entry holds none of them.
      const wasm = chunks.filter(([, c]) => c.includes("AGFzbQEAAAA"));
      const lossless = chunks.filter(([, c]) => c.includes("Not a JPEG file"));
      expect(wasm.length, `${out}: chunks with wasm`).toBe(4);
      expect(lossless.length, `${out}: chunks with the JPEG Lossless decoder`).toBe(1);
      const entry = chunks.filter(([p]) => !wasm.some(([q]) => q === p) && !lossless.some(([q]) => q === p)).find(([, c]) => c.includes("readSlices"));
      expect(entry, `${out}: an entry chunk without codecs`).toBeDefined();
    }
  }, 120_000);
});
