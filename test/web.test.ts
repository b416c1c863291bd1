// The web demo (examples/web/) in headless Chromium: a sample slice is classified in the worker,
// the page shows its class and a heat map, and the main thread keeps running meanwhile; in the
// segmentation mode it shows the mask overlay and each class's pixels, and in the detection mode
// the boxes drawn and listed, as the CLI writes them.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyJobs, loadClassifier } from "../src/cli/classify.js";
import { detectJobs, loadDetector } from "../src/cli/detect.js";
import { loadSegmenter, segmentJobs } from "../src/cli/segment.js";
import { init } from "../src/node.js";
// @ts-expect-error: a plain ESM script without type declarations
import { startServer } from "../examples/web/serve.mjs";

const CHROMIUM = process.env.SIMDCNN_CHROMIUM ?? "/usr/bin/chromium";
const REQUIRED = process.env.SIMDCNN_REQUIRE_BROWSERS === "1";
const present = existsSync(CHROMIUM);
const skip = !present && !REQUIRED;
if (skip) console.warn(`test/web.test.ts: skipped, no Chromium at ${CHROMIUM} (SIMDCNN_REQUIRE_BROWSERS=1 makes this a failure)`);

const SAMPLE = "slice-90003-lesion.png";
const samples = JSON.parse(readFileSync(new URL("../examples/phantom/samples/samples.json", import.meta.url), "utf8"));
const OUT = new URL("../test-output/", import.meta.url);
const PHANTOM = new URL("../examples/phantom/", import.meta.url).pathname;

/** What `simdcnn classify --heatmap` makes of the sample in Node: its result line and overlay pixels. */
async function cli(method?: "scorecam"): Promise<{ top: { label: string; probability: number }[]; box: object; rgba: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), "simdcnn-web-"));
  try {
    const results: object[] = [];
    const engine = await init();
    const options = { model: join(PHANTOM, "phantom.onnx"), format: "json", topK: 2, batch: 8, overrides: {}, heatmap: dir, skipExisting: false, axis: "axial", method } as const;
    const classifier = await loadClassifier(engine, options);
    await classifyJobs(engine, classifier, [{ file: join(PHANTOM, "samples", SAMPLE), name: SAMPLE.replace(/\.png$/, "") }], options, (r) => results.push(...r));
    classifier.model.dispose();
    const [result] = results;
    return { ...result, rgba: new Uint8Array(PNG.sync.read(readFileSync(join(dir, SAMPLE))).data) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `simdcnn segment --overlay` makes of the sample in Node: its classes and overlay pixels. */
async function cliSegment(): Promise<{ classes: { label: string; pixels: number }[]; rgba: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), "simdcnn-web-seg-"));
  try {
    const results: object[] = [];
    const engine = await init();
    const options = { model: new URL("../examples/phantom-seg/phantom-seg.onnx", import.meta.url).pathname, format: "json", out: dir, overlay: true, threshold: 0.5, batch: 8, axis: "axial", overrides: {} } as const;
    const segmenter = await loadSegmenter(engine, options);
    const name = SAMPLE.replace(/\.png$/, "");
    await segmentJobs(engine, segmenter, [{ file: join(PHANTOM, "samples", SAMPLE), name }], options, (r) => results.push(...r));
    segmenter.model.dispose();
    const [result] = results as { classes: { label: string; pixels: number }[] }[];
    return { classes: result.classes, rgba: new Uint8Array(PNG.sync.read(readFileSync(join(dir, `${name}.overlay.png`))).data) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `simdcnn detect --boxes` makes of the sample in Node: its boxes and box image pixels. */
async function cliDetect(): Promise<{ detections: { class: string; score: number; box: object }[]; rgba: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), "simdcnn-web-detect-"));
  try {
    const results: object[] = [];
    const engine = await init();
    const options = { model: new URL("../examples/phantom-detect/phantom-detect.onnx", import.meta.url).pathname, format: "json", boxes: dir, score: 0.5, iou: 0.45, maxBoxes: 100, batch: 8, axis: "axial", overrides: {} } as const;
    const detector = await loadDetector(engine, options);
    const name = SAMPLE.replace(/\.png$/, "");
    await detectJobs(detector, [{ file: join(PHANTOM, "samples", SAMPLE), name }], options, (r) => results.push(...r));
    detector.model.dispose();
    const [result] = results as { detections: { class: string; score: number; box: object }[] }[];
    return { detections: result.detections, rgba: new Uint8Array(PNG.sync.read(readFileSync(join(dir, `${name}.boxes.png`))).data) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** test-output/web.png: the page as it is once the result is shown (or the wait failed). */
async function screenshot(page: Page): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: new URL("web.png", OUT).pathname, fullPage: true });
}

describe.skipIf(skip)(skip ? `web page (skipped: no Chromium at ${CHROMIUM})` : "web page", () => {
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!present) throw new Error(`SIMDCNN_REQUIRE_BROWSERS=1 but there is no Chromium at ${CHROMIUM}`);
    server = await startServer({ port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    // Page errors, worker errors and CSP violations all reach the console.
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("worker", (w) => w.on("console", (m) => m.type() === "error" && problems.push(`worker: ${m.text()}`)));
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("classifies a sample slice in a worker and shows its class, heat map and timing", async () => {
    const response = await page.goto(server.url);
    expect(response?.headers()["cross-origin-embedder-policy"]).toBe("require-corp");
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await expect.poll(() => page.textContent("#backend"), { timeout: 10_000 }).toMatch(/^(SIMD|scalar), \d+ threads?$/);
    // Chromium has had SIMD128 since 91; the page is cross-origin isolated, so threads run.
    expect(await page.textContent("#backend")).toBe(`SIMD, ${await page.evaluate(() => navigator.hardwareConcurrency)} threads`);
    await expect.poll(() => page.textContent("#model-status"), { timeout: 10_000 }).toMatch(/^Ready/);
    await page.waitForSelector("#load-sample:not([disabled])");

    // A main-thread timer: if the work ran on the main thread, its ticks would stop meanwhile.
    await page.evaluate(() => {
      const w = window as unknown as { ticks: number[] };
      w.ticks = [performance.now()];
      setInterval(() => w.ticks.push(performance.now()), 10);
    });
    await page.selectOption("#sample", SAMPLE);
    await page.getByRole("button", { name: "Load a sample" }).click();
    const card = page.locator('#results li[data-state="done"]');
    await card.waitFor({ timeout: 20_000 }).finally(() => screenshot(page));
    expect(problems).toEqual([]);
    const ticks = await page.evaluate(() => (window as unknown as { ticks: number[] }).ticks);

    expect(await card.locator('[data-testid="class"]').textContent()).toBe(samples.files[SAMPLE].label);
    expect(await card.locator(".name").textContent()).toBe(SAMPLE);
    const timing = await card.evaluate((el) => ({ ...el.dataset }));
    expect(timing.backend).toBe("simd");
    expect(Number(timing.inferenceMs)).toBeGreaterThan(0);
    expect(await card.locator(".time").textContent()).toMatch(/ms per inference \(SIMD/);

    // The heat map canvas: the slice's size, drawn, and coloured (grey alone would mean no heat).
    const pixels = await card.locator("canvas").evaluate((c: HTMLCanvasElement) => {
      const { data } = c.getContext("2d")!.getImageData(0, 0, c.width, c.height);
      let opaque = 0;
      let coloured = 0;
      const values = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 255) opaque++;
        if (Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 24) coloured++;
        values.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
      return { width: c.width, height: c.height, opaque, coloured, distinct: values.size };
    });
    expect([pixels.width, pixels.height]).toEqual([samples.size, samples.size]);
    expect(pixels.opaque).toBe(pixels.width * pixels.height);
    expect(pixels.distinct).toBeGreaterThan(100);
    expect(pixels.coloured).toBeGreaterThan(0.01 * pixels.width * pixels.height);

    // The same pieces as the CLI, so the same numbers and the same overlay, to the bit.
    const node = await cli();
    expect(Number(timing.probability)).toBe(node.top[0].probability);
    expect(JSON.parse(timing.box!)).toEqual(node.box);
    const canvas = await card.locator("canvas").evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data));
    expect(Buffer.from(canvas).equals(Buffer.from(node.rgba))).toBe(true);

    // The timer kept ticking through the worker's whole computation.
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]);
    const longest = Math.max(...gaps);
    const work = 5 * Number(timing.inferenceMs) + Number(timing.occlusionMs);
    console.log(
      `web: inference ${Number(timing.inferenceMs).toFixed(2)} ms, occlusion ${Number(timing.occlusionMs).toFixed(0)} ms; ` +
        `main-thread timer: ${ticks.length} ticks, longest gap ${longest.toFixed(0)} ms`,
    );
    expect(longest).toBeLessThan(Math.max(100, work / 2));
  }, 30_000);

  it("runs the scalar build when asked, with the same result to the bit", async () => {
    const pixels = (c: HTMLCanvasElement) => Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data);
    const simd = await page.locator('#results li[data-state="done"] canvas').first().evaluate(pixels);
    await page.selectOption("#build", "scalar");
    await expect.poll(() => page.textContent("#backend"), { timeout: 10_000 }).toBe("scalar, 1 thread");
    await expect.poll(() => page.textContent("#model-status"), { timeout: 10_000 }).toMatch(/^Ready/);
    await page.getByRole("button", { name: "Load a sample" }).click();
    const card = page.locator('#results li[data-state="done"][data-backend="scalar"]');
    await card.waitFor({ timeout: 20_000 });
    expect(problems).toEqual([]);
    expect(await card.locator('[data-testid="class"]').textContent()).toBe(samples.files[SAMPLE].label);
    expect(await card.locator(".time").textContent()).toMatch(/ms per inference \(scalar/);
    expect(await card.locator("canvas").evaluate(pixels)).toEqual(simd);
    const timing = await card.evaluate((el) => ({ ...el.dataset }));
    console.log(`web, scalar: inference ${Number(timing.inferenceMs).toFixed(2)} ms, occlusion ${Number(timing.occlusionMs).toFixed(0)} ms`);
  }, 30_000);
  it("draws a Score-CAM heat map when chosen, the same as the command's", async () => {
    await page.selectOption("#method", "scorecam");
    await page.getByRole("button", { name: "Load a sample" }).click();
    const card = page.locator('#results li[data-state="done"]', { hasText: "Score-CAM over" });
    await card.waitFor({ timeout: 20_000 });
    expect(problems).toEqual([]);
    expect(await card.locator(".occlusion").textContent()).toMatch(/Score-CAM over \/score\/Conv_output_0 \(1 channels\)/);
    const node = await cli("scorecam");
    const timing = await card.evaluate((el) => ({ ...el.dataset }));
    expect(JSON.parse(timing.box!)).toEqual(node.box);
    const canvas = await card.locator("canvas").evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data));
    expect(Buffer.from(canvas).equals(Buffer.from(node.rgba))).toBe(true);
    await page.selectOption("#method", "occlusion");
  }, 30_000);

  it("segments a sample slice: the mask overlay and every class's pixels, as the CLI's to the bit", async () => {
    await page.selectOption("#build", "simd");
    await expect.poll(() => page.textContent("#backend"), { timeout: 10_000 }).toMatch(/^SIMD/);
    await page.selectOption("#task", "segment");
    await expect.poll(() => page.textContent("#model-status"), { timeout: 10_000 }).toBe("Ready: phantom-seg.onnx (demo).");
    await page.selectOption("#sample", SAMPLE);
    await page.getByRole("button", { name: "Load a sample" }).click();
    const card = page.locator('#results li[data-task="segment"][data-state="done"]');
    await card.waitFor({ timeout: 20_000 }).finally(() => screenshot(page));
    expect(problems).toEqual([]);
    const node = await cliSegment();
    const rows = await card.locator(".probs li").evaluateAll((lis) => lis.map((li) => ({ label: li.dataset.label, pixels: Number(li.dataset.pixels) })));
    expect(rows).toEqual(node.classes.map((c) => ({ label: c.label, pixels: c.pixels })));
    expect(rows.find((r) => r.label === "lesion")!.pixels).toBeGreaterThan(0);
    expect(await card.locator('[data-testid="class"]').textContent()).not.toBe("none");
    expect(await card.locator(".probs li").first().textContent()).toMatch(/^background\d+ px \(\d/);
    const canvas = await card.locator("canvas").evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data));
    expect(Buffer.from(canvas).equals(Buffer.from(node.rgba))).toBe(true);
  }, 30_000);

  it("detects a sample slice's lesion: the boxes drawn and listed, as the CLI's to the bit", async () => {
    await page.selectOption("#task", "detect");
    await expect.poll(() => page.textContent("#model-status"), { timeout: 10_000 }).toBe("Ready: phantom-detect.onnx (demo).");
    await page.selectOption("#sample", SAMPLE);
    await page.getByRole("button", { name: "Load a sample" }).click();
    const card = page.locator('#results li[data-task="detect"][data-state="done"]');
    await card.waitFor({ timeout: 20_000 }).finally(() => screenshot(page));
    expect(problems).toEqual([]);
    const node = await cliDetect();
    const rows = await card.locator(".probs li").evaluateAll((lis) => lis.map((li) => ({ class: li.dataset.label, score: Number(li.dataset.score), box: JSON.parse(li.dataset.box!) })));
    expect(rows).toEqual(node.detections.map((d) => ({ class: d.class, score: d.score, box: d.box })));
    // The sample's lesion (samples.json: centre (78.7, 50.9), radius 4.2) is inside the box.
    const { lesion } = samples.files[SAMPLE];
    expect(rows).toHaveLength(1);
    expect(rows[0].box.x0).toBeLessThan(lesion.x + 0.5);
    expect(rows[0].box.x1).toBeGreaterThan(lesion.x + 0.5);
    expect(rows[0].box.y0).toBeLessThan(lesion.y + 0.5);
    expect(rows[0].box.y1).toBeGreaterThan(lesion.y + 0.5);
    expect(await card.locator('[data-testid="class"]').textContent()).toMatch(/^1 \(best: lesion \d/);
    const canvas = await card.locator("canvas").evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data));
    expect(Buffer.from(canvas).equals(Buffer.from(node.rgba))).toBe(true);
  }, 30_000);

  it("served without COOP/COEP, the page runs on one thread and says why", async () => {
    const plain = await startServer({ port: 0, isolated: false });
    const p = await browser.newPage();
    try {
      await p.goto(plain.url);
      expect(await p.evaluate(() => crossOriginIsolated)).toBe(false);
      await expect.poll(() => p.textContent("#backend"), { timeout: 10_000 }).toBe("SIMD, 1 thread");
      expect(await p.getAttribute("#backend", "title")).toMatch(/cross-origin isolated/);
    } finally {
      await p.close();
      await plain.close();
    }
  });
});
