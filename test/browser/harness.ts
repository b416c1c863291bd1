// Shared machinery of the browser tests (test/browser.test.ts, test/bundlers.test.ts): the
// package laid out as npm would install it, a static server that sends a Content-Security-Policy
// without 'unsafe-eval', the two real browsers (Debian's chromium through playwright-core,
// firefox-esr through puppeteer-core over WebDriver BiDi), and the scan for eval in bundles.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, relative } from "node:path";
import { build } from "esbuild";

export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

// ---------------------------------------------------------------------------------------------
// Which browsers there are

export type BrowserName = "chromium" | "firefox";
export const BROWSER_NAMES: BrowserName[] = ["chromium", "firefox"];
export const BROWSER_PATHS: Record<BrowserName, string> = {
  chromium: process.env.SIMDCNN_CHROMIUM ?? "/usr/bin/chromium",
  firefox: process.env.SIMDCNN_FIREFOX ?? "/usr/bin/firefox-esr",
};
/** Set by .ci/run: a missing browser fails the tests instead of skipping them. */
export const REQUIRE_BROWSERS = process.env.SIMDCNN_REQUIRE_BROWSERS === "1";

export function browserPresent(name: BrowserName): boolean {
  return existsSync(BROWSER_PATHS[name]);
}

/** The message of a skipped (or, with SIMDCNN_REQUIRE_BROWSERS=1, failed) browser test. */
export function missingMessage(name: BrowserName, file: string): string {
  const install = name === "chromium" ? "apt-get install chromium" : "apt-get install firefox-esr";
  return REQUIRE_BROWSERS
    ? `${file}: ${name} is required (SIMDCNN_REQUIRE_BROWSERS=1) but there is none at ${BROWSER_PATHS[name]} (${install})`
    : `${file}: SKIPPED the ${name} tests: no ${name} at ${BROWSER_PATHS[name]} (${install}; SIMDCNN_REQUIRE_BROWSERS=1 makes this a failure)`;
}

// ---------------------------------------------------------------------------------------------
// The package as installed

/**
 * The package as `npm install simdcnn` lays it out, in a temporary directory: package.json (its
 * exports map) and the files it lists, with dist/ compiled from the current src/ by esbuild (one
 * output file per source file, as tsc writes them; the checked-in dist/ may be older than src/)
 * and the dependencies through a node_modules link. Returns the directory of an app with
 * node_modules/simdcnn linked to it, so that bundlers and Node resolve "simdcnn" through the
 * exports map.
 */
export async function installedPackage(): Promise<{ app: string; pkg: string; remove(): void }> {
  const base = mkdtempSync(join(tmpdir(), "simdcnn-browser-"));
  const pkg = join(base, "simdcnn");
  const app = join(base, "app");
  mkdirSync(pkg);
  mkdirSync(join(app, "node_modules"), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { files: string[] };
  cpSync(join(ROOT, "package.json"), join(pkg, "package.json"));
  for (const entry of manifest.files) {
    if (entry === "dist" || entry.startsWith("dist/")) continue;
    if (!existsSync(join(ROOT, entry))) throw new Error(`package.json lists ${entry}, which does not exist: run npm run build:wasm`);
    cpSync(join(ROOT, entry), join(pkg, entry), { recursive: true });
  }
  const sources = walk(join(ROOT, "src")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
  await build({
    entryPoints: sources, outdir: join(pkg, "dist"), outbase: join(ROOT, "src"),
    bundle: false, format: "esm", platform: "neutral", target: "es2022", logLevel: "error",
  });
  symlinkSync(join(ROOT, "node_modules"), join(pkg, "node_modules"), "dir");
  symlinkSync(pkg, join(app, "node_modules", "simdcnn"), "dir");
  return { app, pkg, remove: () => rmSync(base, { recursive: true, force: true }) };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

// ---------------------------------------------------------------------------------------------
// A static server with a strict CSP

/** Scripts from the page's origin only, WebAssembly compilation allowed, and no eval of any kind. */
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

export type Body = string | Uint8Array;

export interface Server {
  url: string;
  /** The next JSON body POSTed to /result (the pages report there). */
  result(timeoutMs: number, describe?: () => string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".map": "application/json",
};

/**
 * Serves `files` (URL path -> body, or a function of the path) on 127.0.0.1 at a free port, every
 * response with `csp` as its Content-Security-Policy.
 */
export async function serve(files: Record<string, Body> | ((path: string) => Body | undefined), csp = CSP): Promise<Server> {
  const lookup = typeof files === "function" ? files : (path: string) => files[path];
  const waiting: ((body: Record<string, unknown>) => void)[] = [];
  const posted: Record<string, unknown>[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (req.method === "POST" && path === "/result") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(204).end();
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
        const next = waiting.shift();
        if (next) next(body);
        else posted.push(body);
      });
      return;
    }
    const body = lookup(path === "/" ? "/index.html" : path);
    if (body === undefined) {
      res.writeHead(404, { "content-security-policy": csp }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(path)] ?? (path === "/" ? TYPES[".html"] : "application/octet-stream"),
      "content-security-policy": csp,
      "cache-control": "no-store",
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    result: (timeoutMs, describe) => {
      const ready = posted.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          reject(new Error(`the page reported nothing within ${timeoutMs / 1000} s${describe ? `; ${describe()}` : ""}`));
        }, timeoutMs);
        const done = (body: Record<string, unknown>) => {
          clearTimeout(timer);
          resolve(body);
        };
        waiting.push(done);
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Files of a directory (recursively) as server routes under `prefix`. */
export function directoryRoutes(dir: string, prefix = "/"): Record<string, Uint8Array> {
  const routes: Record<string, Uint8Array> = {};
  for (const file of walk(dir)) routes[prefix + relative(dir, file).split("\\").join("/")] = readFileSync(file);
  return routes;
}

// ---------------------------------------------------------------------------------------------
// Browsers

export interface BrowserSession {
  name: BrowserName;
  version: string;
  /** Opens `url` in a new page, waits for what it POSTs to /result, closes the page. */
  visit(server: Server, path?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

interface PageLike {
  goto(url: string): Promise<unknown>;
  close(): Promise<unknown>;
}

export async function launch(name: BrowserName): Promise<BrowserSession> {
  const executablePath = BROWSER_PATHS[name];
  let browser: { close(): Promise<void>; version(): string | Promise<string> };
  let newPage: (logs: string[]) => Promise<PageLike>;
  if (name === "chromium") {
    const { chromium } = await import("playwright-core");
    const b = await chromium.launch({ executablePath, args: ["--disable-dev-shm-usage"] });
    browser = b;
    newPage = async (logs) => {
      const page = await b.newPage();
      page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => logs.push(`pageerror: ${e.stack ?? e.message}`));
      return page;
    };
  } else {
    const { default: puppeteer } = await import("puppeteer-core");
    const b = await puppeteer.launch({ browser: "firefox", executablePath, headless: true });
    browser = b;
    newPage = async (logs) => {
      const page = await b.newPage();
      page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => logs.push(`pageerror: ${(e as Error).stack ?? String(e)}`));
      return page;
    };
  }
  const version = await browser.version();
  return {
    name,
    version,
    async visit(server, path = "", timeoutMs = 90_000) {
      const logs: string[] = [];
      const page = await newPage(logs);
      try {
        await page.goto(server.url + path);
        return await server.result(timeoutMs, () => `${name} logged:\n${logs.join("\n") || "(nothing)"}`);
      } finally {
        await page.close().catch(() => undefined);
      }
    },
    close: () => browser.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Bundles

/** eval, new Function and calls of Function: what a CSP without 'unsafe-eval' refuses. */
const FORBIDDEN = /\beval\s*\(|\bnew\s+Function\s*\(|(?<![\w$.])Function\s*\(/g;

/** Every use of eval or the Function constructor in `code`, with some context, for messages. */
export function forbiddenCode(code: string): string[] {
  return [...code.matchAll(FORBIDDEN)].map((m) => code.slice(Math.max(0, m.index - 60), m.index + 60).replace(/\s+/g, " "));
}

// Imports of Node modules (static, dynamic, required, or as vite's stub for a browser bundle) and
// what the Node entry (dist/node.js) alone does: reading files, counting cores, Node workers.
// dcmjs's DicomMessage.readFile (src/io/dicom-write.ts) parses bytes, not a file: not Node's.
const NODE_ONLY = /\bfrom\s*["'](node:[\w/]+|fs|fs\/promises|path|os|zlib|stream|worker_threads)["']|\bimport\s*\(\s*["']node:|__vite-browser-external|\bavailableParallelism\b|(?<!DicomMessage\.)\breadFile\(/g;

/** Every trace of a Node module in `code`, with some context, for messages. */
export function nodeOnlyCode(code: string): string[] {
  return [...code.matchAll(NODE_ONLY)].map((m) => code.slice(Math.max(0, m.index - 60), m.index + 60).replace(/\s+/g, " "));
}

/** Bundles `entry` for browsers with esbuild, "simdcnn" resolved from `app`'s node_modules. */
export async function bundleForBrowser(entry: string, app: string, minify = false): Promise<string> {
  const result = await build({
    entryPoints: [entry], bundle: true, format: "esm", platform: "browser", target: "es2022", minify, write: false, logLevel: "error",
    plugins: [{
      // The test pages live in this repository, where "simdcnn" would resolve to itself (its
      // checked-in dist/); resolve it from the app instead, through the installed package.
      name: "simdcnn-from-app",
      setup(b) {
        b.onResolve({ filter: /^simdcnn(\/.*)?$/ }, async (args) => {
          if (args.pluginData === "from-app") return undefined;
          return b.resolve(args.path, { kind: args.kind, resolveDir: app, pluginData: "from-app" });
        });
      },
    }],
  });
  return result.outputFiles[0].text;
}
