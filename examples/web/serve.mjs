// The web demo's build and static server: `npm run web` (PORT=8080 by default, 127.0.0.1 only).
// build() bundles main.ts and worker.ts with esbuild from the package's browser sources into
// dist/; startServer() builds, then serves this folder, the demo classifier and samples of
// examples/phantom/ under /phantom/, the demo segmentation model under /phantom-seg/ and the demo
// detector under /phantom-detect/.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const here = resolve(fileURLToPath(new URL(".", import.meta.url)));
const root = resolve(here, "../..");
const dist = join(here, "dist");

const ROUTES = [
  { prefix: "/phantom/", dir: join(root, "examples/phantom") },
  { prefix: "/phantom-seg/", dir: join(root, "examples/phantom-seg") },
  { prefix: "/phantom-detect/", dir: join(root, "examples/phantom-detect") },
  { prefix: "/", dir: here },
];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".png": "image/png",
  ".onnx": "application/octet-stream",
};

// Cross-origin isolation (COOP + COEP) so that simdcnn can share memory with its threads; scripts
// only from this origin, plus WebAssembly compilation.
const BASE_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    // simdcnn's kernel threads are Blob-URL workers started by the page's own worker.
    "worker-src 'self' blob:",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/** Bundles the page and its worker into dist/; fails if anything Node-only would be bundled. */
export async function build() {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: join(here, "main.ts"), worker: join(here, "worker.ts") },
    outdir: dist,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    metafile: true,
    legalComments: "none",
    logLevel: "warning",
  });
  const nodeOnly = Object.keys(result.metafile.inputs).filter((p) => /^node:|(^|\/)src\/node\.ts$|(^|\/)src\/cli\//.test(p));
  if (nodeOnly.length > 0) throw new Error(`examples/web: Node-only modules were bundled: ${nodeOnly.join(", ")}`);
  return Object.fromEntries(Object.entries(result.metafile.outputs).map(([file, o]) => [relative(root, file), o.bytes]));
}

async function respond(req, res, HEADERS) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { ...HEADERS, Allow: "GET, HEAD" }).end();
    return;
  }
  let path;
  try {
    path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
  } catch {
    res.writeHead(400, HEADERS).end();
    return;
  }
  if (path === "/") path = "/index.html";
  const route = ROUTES.find((r) => path.startsWith(r.prefix));
  const file = resolve(route.dir, "." + path.slice(route.prefix.length - 1));
  const type = TYPES[extname(file)];
  const inside = file.startsWith(route.dir + sep) && !path.includes("\0");
  if (!inside || !type || (await stat(file).then((s) => !s.isFile(), () => true))) {
    res.writeHead(404, { ...HEADERS, "Content-Type": "text/plain; charset=utf-8" }).end(`not found: ${path}\n`);
    return;
  }
  const body = await readFile(file);
  res.writeHead(200, { ...HEADERS, "Content-Type": type, "Content-Length": body.length });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** Builds, then listens on host:port (port 0: any free one). Resolves to { url, outputs, close }. */
/**
 * Builds, then serves. `isolated: false` leaves out COOP and COEP, as a host that does not send
 * them would: the page then runs on one thread and says why.
 */
export async function startServer({ port = 8080, host = "127.0.0.1", isolated = true } = {}) {
  const outputs = await build();
  const headers = { ...BASE_HEADERS };
  if (!isolated) {
    delete headers["Cross-Origin-Opener-Policy"];
    delete headers["Cross-Origin-Embedder-Policy"];
  }
  const server = createServer((req, res) => {
    respond(req, res, headers).catch((e) => {
      if (!res.headersSent) res.writeHead(500, HEADERS);
      res.end();
      console.error(e);
    });
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, ok);
  });
  const { port: actual } = server.address();
  return {
    url: `http://${host}:${actual}/`,
    outputs,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = process.env.PORT === undefined ? 8080 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
    process.exit(2);
  }
  const { url, outputs } = await startServer({ port });
  for (const [file, bytes] of Object.entries(outputs)) if (file.endsWith(".js")) console.log(`built ${file} (${(bytes / 1024).toFixed(0)} KiB)`);
  console.log(`simdcnn web demo on ${url} (Ctrl-C stops it)`);
}
