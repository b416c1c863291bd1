// Identity in real browsers: the library, bundled for the browser, runs the workload of
// test/browser/workload.ts (every op family, networks built and ONNX-imported, PNG and DICOM
// slice preprocessing) in both builds in headless Chromium and Firefox, on a page served with a
// Content-Security-Policy that forbids eval, and every output's SHA-256 must equal Node's.
// Without a browser the tests are skipped with a message; SIMDCNN_REQUIRE_BROWSERS=1 (.ci/run)
// makes that a failure.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFixtures } from "./browser/fixtures.js";
import {
  BROWSER_NAMES, REQUIRE_BROWSERS, type BrowserName, type BrowserSession, type Server, browserPresent, bundleForBrowser, installedPackage,
  launch, missingMessage, serve,
} from "./browser/harness.js";
import { FIXTURE_NAMES, type Hashes, type CoreApi, type IoApi, cases, runWorkload } from "./browser/workload.js";

const BACKENDS = ["simd", "scalar"] as const;
// The case names, known before anything runs, so that each case is its own test.
const CASES = [
  "engine.backend",
  ...Object.keys(cases({ layers: undefined } as unknown as CoreApi, {} as IoApi)),
  "memory returned",
];

const fixtures = makeFixtures();
let installed: Awaited<ReturnType<typeof installedPackage>>;
let node: Hashes;
let pageScript: string;
let nodeCore: CoreApi;

beforeAll(async () => {
  installed = await installedPackage();
  // Node's reference: the same workload through the package's Node entry ("simdcnn" with the
  // node condition), resolved from the app like a user's script would.
  const entry = join(installed.app, "node-reference.mjs");
  writeFileSync(entry, 'export * as core from "simdcnn";\nexport * as io from "simdcnn/io";\n');
  const { core, io } = (await import(pathToFileURL(entry).href)) as { core: CoreApi; io: IoApi };
  nodeCore = core;
  node = {};
  for (const b of BACKENDS) Object.assign(node, await runWorkload(core, io, fixtures, b));
  pageScript = await bundleForBrowser(new URL("./browser/page.ts", import.meta.url).pathname, installed.app);
}, 120_000);

afterAll(() => installed?.remove());

describe("Node reference", () => {
  it("runs every case of the workload without an error, in both builds", () => {
    const errors = Object.entries(node).filter(([, v]) => v.startsWith("error"));
    expect(errors).toEqual([]);
    expect(node["simd: engine.backend"]).toBe("simd");
    expect(node["scalar: engine.backend"]).toBe("scalar");
    expect(node["simd: memory returned"]).toBe("0");
  });

  it("took the package's Node entry: model paths are read from disk", async () => {
    const engine = await nodeCore.init();
    const model = await engine.loadOnnx(new URL("../examples/phantom/phantom.onnx", import.meta.url).pathname);
    expect(model.inputs[0].name).toBe("slice");
    model.dispose();
  });
});

const html = `<!doctype html>
<meta charset="utf-8">
<title>simdcnn identity</title>
<script type="module" src="/page.js"></script>
`;

describe.each(BROWSER_NAMES)("%s", (name: BrowserName) => {
  if (!browserPresent(name)) {
    const message = missingMessage(name, "test/browser.test.ts");
    console.warn(message);
    if (REQUIRE_BROWSERS) it(`is installed`, () => {
      throw new Error(message);
    });
    if (!REQUIRE_BROWSERS) it.skip(message, () => undefined);
    return;
  }

  let browser: BrowserSession | undefined;
  let server: Server | undefined;
  let report: { userAgent?: string; evalBlocked?: boolean; violations?: string[]; hashes?: Hashes; error?: string } = {};
  let failure: Error | undefined;

  beforeAll(async () => {
    try {
      server = await serve((path) => {
        if (path === "/index.html") return html;
        if (path === "/page.js") return pageScript;
        const file = path.startsWith("/fixtures/") ? path.slice("/fixtures/".length) : undefined;
        return file && (FIXTURE_NAMES as readonly string[]).includes(file) ? fixtures[file as (typeof FIXTURE_NAMES)[number]] : undefined;
      });
      browser = await launch(name);
      report = await browser.visit(server);
    } catch (e) {
      failure = e as Error;
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("loads the bundle on a page whose CSP forbids eval, and runs the whole workload", () => {
    if (failure) throw failure;
    expect(report.error, `the page threw in ${name}`).toBeUndefined();
    expect(report.evalBlocked, "the CSP is in force (new Function throws)").toBe(true);
    expect(report.violations, "CSP violations while the library ran").toEqual([]);
    console.info(`${name}: ${report.userAgent}`);
  });

  describe.each(BACKENDS)("%s build", (backend) => {
    it.each(CASES)("%s: same bits as Node", (c) => {
      if (failure) throw failure;
      const key = `${backend}: ${c}`;
      const got = report.hashes?.[key];
      expect(got, `${name}, ${backend} build, ${c}: output differs from Node's`).toBe(node[key]);
    });
  });
});
