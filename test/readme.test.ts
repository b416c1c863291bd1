// The README's code as written: every ```ts block type-checks against the package's types, and
// the `simdcnn/io` example classifies the demo's sample slices in Node (through the package as npm
// installs it) and in both browsers, against the labels the generator gave the slices and the
// logits PyTorch computed for them.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { transform } from "esbuild";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  BROWSER_NAMES, REQUIRE_BROWSERS, ROOT, type BrowserName, type BrowserSession, type Server, browserPresent, bundleForBrowser, installedPackage,
  launch, missingMessage, serve,
} from "./browser/harness.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const PHANTOM = join(ROOT, "examples/phantom");

/** The ```ts blocks of the README, each named after the heading above it. */
function tsBlocks(markdown: string): { name: string; code: string }[] {
  const blocks: { name: string; code: string }[] = [];
  let heading = "(top)";
  const fence = /^(#+ .*)$|^```ts\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(fence)) {
    if (m[1]) heading = m[1].replace(/^#+ /, "");
    else blocks.push({ name: `${heading} #${blocks.filter((b) => b.name.startsWith(heading)).length + 1}`, code: m[2] });
  }
  return blocks;
}

const BLOCKS = tsBlocks(README);
const IO_EXAMPLE = BLOCKS.find((b) => b.code.includes('from "simdcnn/io"') && b.code.includes("readSlices("));

// What the README's snippets take as given, declared as globals: a block's own declarations shadow
// them, and a name that is neither is a type error.
const GIVEN = `
declare const engine: import("simdcnn").Engine;
declare const pixels: Float32Array, w: Float32Array, b: Float32Array, image: Float32Array;
declare const w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array;
declare const modelBytes: Uint8Array, fileBytes: Uint8Array;
declare const backbone: import("simdcnn").Model, head: import("simdcnn").Model, out: Float32Array;
`;

/** Type errors of each snippet, compiled as an ES module against the package's sources. */
function typeErrors(snippets: { name: string; code: string }[]): Record<string, string[]> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"], types: ["node"], strict: true, noEmit: true, skipLibCheck: true,
    baseUrl: ROOT, paths: { simdcnn: ["src/index.ts"], "simdcnn/io": ["src/io/index.ts"] },
  };
  const virtual = new Map<string, string>([[join(ROOT, "readme-given.d.ts"), GIVEN]]);
  // Every snippet is a module (so its names shadow the given ones), even one without imports.
  snippets.forEach((s, i) => virtual.set(join(ROOT, `readme-block-${i}.ts`), `${s.code}\nexport {};\n`));
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists(f);
  host.readFile = (f) => virtual.get(f) ?? readFile(f);
  host.getSourceFile = (f, v, ...rest) => (virtual.has(f) ? ts.createSourceFile(f, virtual.get(f)!, v) : getSourceFile(f, v, ...rest));
  const program = ts.createProgram([...virtual.keys()], options, host);
  const errors: Record<string, string[]> = {};
  snippets.forEach((s, i) => {
    const file = program.getSourceFile(join(ROOT, `readme-block-${i}.ts`))!;
    errors[s.name] = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
      const { line } = d.start === undefined ? { line: -1 } : file.getLineAndCharacterOfPosition(d.start);
      return `line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
  });
  return errors;
}

describe("README and package.json scripts", () => {
  // Steps of `npm run build` and npm's lifecycle hooks, which nobody runs by name.
  const INTERNAL = new Set(["build:wasm", "build:ts", "build:codecs", "prepare", "pretest"]);
  const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);

  it("the README shows every script a user runs, and names no script that does not exist", () => {
    const shown = (name: string) => new RegExp(`npm (run )?${name}(?![\\w:-])`).test(README);
    expect(scripts.filter((s) => !INTERNAL.has(s) && !shown(s))).toEqual([]);
    const named = [...README.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(named.filter((n) => !scripts.includes(n))).toEqual([]);
  });
});

describe("README ```ts blocks", () => {
  it("there are blocks, and one of them is the simdcnn/io example", () => {
    expect(BLOCKS.length).toBeGreaterThanOrEqual(3);
    expect(IO_EXAMPLE, "a ```ts block that imports readSlices from simdcnn/io").toBeDefined();
  });

  it("every block type-checks against the package's types (and a broken one does not)", () => {
    const broken = { name: "broken", code: 'import { init } from "simdcnn";\nconst e = await init();\ne.add(e.tensor(pixels, [1]), "2");\n' };
    const errors = typeErrors([...BLOCKS, broken]);
    expect(errors.broken.join("\n")).toMatch(/string/);
    delete errors.broken;
    expect(Object.entries(errors).filter(([, e]) => e.length > 0)).toEqual([]);
  }, 60_000);
});

interface Sample {
  index: number;
  label: string;
}
const SAMPLES = (JSON.parse(readFileSync(join(PHANTOM, "samples/samples.json"), "utf8")) as { files: Record<string, Sample> }).files;
const PYTORCH = (JSON.parse(readFileSync(join(PHANTOM, "reference-logits.json"), "utf8")) as { logits: Record<string, [number, number]> }).logits;
const LESION = "slice-90001-lesion.png";
const NORMAL = "slice-90000-normal.png";

/**
 * One line the example printed: the sample's label from the generator and PyTorch's logits for it.
 * 2e-3: the PNGs quantise the input (pixel/65535 against PyTorch's v/4095, at most 7.6e-6 apart),
 * which moves these logits by up to 1.2e-3 (examples/phantom/README.md); float32 summation order
 * adds ~1e-5. The smallest margin between the two logits of a sample is 2.7.
 */
function checkPrinted(printed: unknown[][], file: string): void {
  expect(printed, `${file}: one console.log per slice`).toHaveLength(1);
  const [label, scores] = printed[0] as [string, ArrayLike<number>];
  expect(label, file).toBe(SAMPLES[file].label);
  const ref = PYTORCH[String(SAMPLES[file].index)];
  expect(Array.from(scores)).toHaveLength(ref.length);
  Array.from(scores).forEach((v, k) => expect(Math.abs(v - ref[k]), `${file}: logit ${k} ${v} against PyTorch's ${ref[k]}`).toBeLessThan(2e-3));
}

describe("README simdcnn/io example, as written", () => {
  let installed: Awaited<ReturnType<typeof installedPackage>>;
  let example: string;

  beforeAll(async () => {
    installed = await installedPackage();
    // Types stripped, nothing else changed: the snippet's imports resolve through the installed
    // package's exports map, its free names modelBytes and fileBytes are globals set by the test.
    example = (await transform(IO_EXAMPLE!.code, { loader: "ts", format: "esm", target: "es2022" })).code;
  }, 120_000);

  afterAll(() => installed?.remove());

  it.each([LESION, NORMAL])("in Node: %s", async (file) => {
    const path = join(installed.app, `readme-io-${file}.mjs`);
    writeFileSync(path, example);
    const printed: unknown[][] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void printed.push(args));
    const given = globalThis as { modelBytes?: Uint8Array; fileBytes?: Uint8Array };
    try {
      given.modelBytes = readFileSync(join(PHANTOM, "phantom.onnx"));
      given.fileBytes = readFileSync(join(PHANTOM, "samples", file));
      await import(pathToFileURL(path).href);
    } finally {
      log.mockRestore();
      delete given.modelBytes;
      delete given.fileBytes;
    }
    checkPrinted(printed, file);
  });

  // The page fetches the bytes, as the README's comment says, then runs the example's browser
  // bundle and reports what it printed.
  const SETUP = `
const printed = [];
console.log = (...args) => printed.push(args.map((a) => (ArrayBuffer.isView(a) ? Array.from(a) : a)));
const post = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });
const bytes = async (path) => new Uint8Array(await (await fetch(path)).arrayBuffer());
try {
  globalThis.modelBytes = await bytes("/phantom.onnx");
  globalThis.fileBytes = await bytes("/slice.png");
  await import("/example.js");
  await post({ printed });
} catch (e) {
  await post({ error: String(e?.stack ?? e) });
}
`;

  describe.each(BROWSER_NAMES)("in %s", (name: BrowserName) => {
    if (!browserPresent(name)) {
      const message = missingMessage(name, "test/readme.test.ts");
      console.warn(message);
      if (REQUIRE_BROWSERS) it("is installed", () => {
        throw new Error(message);
      });
      else it.skip(message, () => undefined);
      return;
    }
    let browser: BrowserSession | undefined;
    let server: Server | undefined;
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it(LESION, async () => {
      const entry = join(installed.app, "readme-io-browser.mjs");
      writeFileSync(entry, example);
      const bundle = await bundleForBrowser(entry, installed.app);
      const files: Record<string, string | Uint8Array> = {
        "/index.html": '<!doctype html>\n<meta charset="utf-8">\n<script type="module" src="/setup.js"></script>\n',
        "/setup.js": SETUP,
        "/example.js": bundle,
        "/phantom.onnx": readFileSync(join(PHANTOM, "phantom.onnx")),
        "/slice.png": readFileSync(join(PHANTOM, "samples", LESION)),
      };
      server = await serve(files);
      browser = await launch(name);
      const report = (await browser.visit(server)) as { printed?: unknown[][]; error?: string };
      expect(report.error, `the page threw in ${name}`).toBeUndefined();
      checkPrinted(report.printed!, LESION);
    }, 120_000);
  });
});
