// The page's worker: owns the engine and the model, and turns each file into results the way
// `simdcnn classify --heatmap` (src/cli/classify.ts), `simdcnn segment --overlay`
// (src/cli/segment.ts) or `simdcnn detect --boxes` (src/cli/detect.ts) does, so the page never blocks.
// Only the browser entry (src/index.ts) and src/io are imported: nothing Node-only is bundled.
import { type Engine, type Model, SimdcnnError, UnsupportedError, init, outputFloats } from "../../src/index.js";
import { detect } from "../../src/detect/detect.js";
import { type DetectorLayout, detectorClasses, detectorLayout } from "../../src/detect/layout.js";
import { overlayBoxes } from "../../src/detect/overlay.js";
import { defaultPatches, explain } from "../../src/explain/explain.js";
import type { InputGeometry } from "../../src/explain/geometry.js";
import { probabilities as scoresOf, ranked, unitHeat } from "../../src/explain/predict.js";
import { overlayHeatmap } from "../../src/io/heatmap.js";
import { overlayMask } from "../../src/io/mask-overlay.js";
import { type ModelSettings, defaultColor, modelSettings } from "../../src/io/metadata.js";
import type { InputSpec } from "../../src/io/preprocess.js";
import { toInput } from "../../src/io/preprocess.js";
import { readSlices } from "../../src/io/read.js";
import { type ScoreLayout, classAreas, labelMap, scoreLayout, scoreMap, scoreSettings } from "../../src/io/segmentation.js";
import type { DetectResult, Method, ModelInfo, Reply, Request, SegmentResult, SliceResult } from "./protocol.js";

/** Occluded copies per inference when the model's batch dimension is free (the CLI's default). */
const OCCLUSION_BATCH = 8;
/** Inferences timed per slice; the median is shown. */
const TIMED_RUNS = 5;
/** The command's defaults (simdcnn detect --score, --iou, --max-boxes). */
const DETECTION = { score: 0.5, iou: 0.45, maxBoxes: 100 };

interface Loaded {
  info: ModelInfo;
  settings: ModelSettings;
  spec: InputSpec;
  geo: InputGeometry;
  /** A model bound to a batch of one, for the classification and its timing... */
  single: Model;
  /** ...and one bound to the occlusion batch, so that neither re-plans its memory per slice. */
  batched: Model;
  batch: number;
  probabilities: (logits: Float32Array) => Float32Array;
  /** For segmentation: where the scores sit, and the classes' names and colours. */
  scores?: ScoreLayout;
  /** For detection: which outputs hold the boxes and scores. */
  detector?: DetectorLayout;
  colors: [number, number, number][];
  background: number;
}

let engine: Engine | undefined;
let loaded: Loaded | undefined;

const post = (reply: Reply, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(reply, transfer);

function describe(e: unknown): string {
  if (e instanceof SimdcnnError) return `${e.name}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

let queue = Promise.resolve();
self.onmessage = (event: MessageEvent<Request>) => {
  const request = event.data;
  queue = queue.then(() => handle(request)).catch((e) => post({ type: "error", id: "id" in request ? request.id : undefined, message: describe(e) }));
};

async function handle(r: Request): Promise<void> {
  if (r.type === "init") {
    engine?.dispose();
    // Threads when the page is cross-origin isolated and the build is SIMD; otherwise one, and why.
    engine = await init({ backend: r.backend, threads: "auto" });
    post({ type: "ready", backend: engine.backend, threads: engine.threads, threadsNote: engine.threadsNote });
  } else if (r.type === "model") {
    try {
      const next = await load(r);
      dispose(loaded);
      loaded = next;
      post({ type: "model", model: next.info });
    } catch (e) {
      post({ type: "model-error", name: r.name, message: describe(e) });
    }
  } else {
    if (!engine || !loaded) throw new Error("no model is loaded");
    const slices = await readSlices(new Uint8Array(r.bytes), { window: r.window ?? loaded.settings.window });
    for (const [i, slice] of slices.entries()) {
      if (loaded.info.task === "detect") {
        const result = boxes(engine, loaded, slice, r.id, r.name, i + 1, slices.length);
        post({ type: "detected", result }, [result.overlay, result.plain]);
      } else if (loaded.info.task === "segment") {
        const result = segment(engine, loaded, slice, r.id, r.name, i + 1, slices.length);
        post({ type: "segmented", result }, [result.overlay, result.plain]);
      } else {
        const result = classify(engine, loaded, slice, r.id, r.name, i + 1, slices.length, r.method);
        post({ type: "result", result }, [result.overlay, result.plain]);
      }
    }
    post({ type: "done", id: r.id });
  }
}

function dispose(l: Loaded | undefined): void {
  l?.single.dispose();
  if (l && l.batched !== l.single) l.batched.dispose();
}

async function load(r: Extract<Request, { type: "model" }>): Promise<Loaded> {
  if (!engine) throw new Error("the engine is not initialised");
  let bytes: Uint8Array;
  if (r.bytes) bytes = new Uint8Array(r.bytes);
  else {
    const response = await fetch(r.url!);
    if (!response.ok) throw new Error(`could not fetch ${r.url}: HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  }
  const single = await engine.loadOnnx(bytes);
  try {
    const role = r.task === "segment" ? "a segmentation model" : r.task === "detect" ? "a detector" : "a classifier";
    if (single.inputs.length !== 1) throw new UnsupportedError(`${role} takes one input; this model takes ${single.inputs.length}`);
    const input = single.inputs[0];
    // As in the CLI (src/cli/segment.ts): the class count and default activation follow the scores.
    const scores = r.task === "segment" ? scoreLayout(single) : undefined;
    const settings = scores
      ? modelSettings({ metadata: single.metadata, sidecar: r.sidecar, inputShape: input.shape, ...scoreSettings(scores) }) as ModelSettings & { input: InputSpec }
      : r.task === "detect"
        ? modelSettings({ metadata: single.metadata, sidecar: r.sidecar, inputShape: input.shape }) as ModelSettings & { input: InputSpec }
        : modelSettings(single, { sidecar: r.sidecar });
    if (scores && !settings.labels) throw new UnsupportedError("this model outputs class indices (it ends in ArgMax): give its class names with simdcnn:labels in a sidecar");
    // As in the CLI (src/cli/detect.ts): the layout follows the settings, the class count the layout.
    const detector = r.task === "detect" ? detectorLayout(single.outputs, settings) : undefined;
    if (detector) {
      const classes = detectorClasses(single.outputs, detector);
      if (settings.labels && classes !== undefined && settings.labels.length !== classes) throw new UnsupportedError(`${settings.labels.length} class names but the detector scores ${classes} class${classes === 1 ? "" : "es"}`);
      settings.labels ??= classes === undefined ? undefined : Array.from({ length: classes }, (_, i) => `class_${i}`);
    }
    const spec = settings.input;
    const geo: InputGeometry = { name: input.name, layout: spec.layout, channels: spec.channels, height: spec.height, width: spec.width };
    const fixed = typeof input.shape[0] === "number" ? input.shape[0] : undefined;
    const batch = fixed ?? OCCLUSION_BATCH;
    const batched = fixed === undefined && !scores && !detector ? await engine.loadOnnx(bytes) : single;
    const probabilities = scoresOf(engine, settings.output);
    const info: ModelInfo = {
      task: r.task,
      name: r.name,
      input: `${input.name} [${input.shape.join(", ")}] ${spec.layout}`,
      output: single.outputs.map((o) => `${o.name} [${o.shape.join(", ")}]`).join(", "),
      labels: settings.labels ?? [],
      probabilities: settings.output,
    };
    const labels = settings.labels ?? [];
    // A detector's class 0 takes the palette's second colour, as in the CLI: the first is black.
    const colors = settings.colors ?? labels.map((_, i) => defaultColor(detector ? i + 1 : i));
    return { info, settings, spec, geo, single, batched, batch, probabilities, scores, detector, colors, background: settings.background ?? 0 };
  } catch (e) {
    single.dispose();
    throw e;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Patch origins along one axis, as src/explain/occlusion.ts places them. */
function positions(size: number, patch: number, stride: number): number {
  return Math.ceil(Math.max(size - patch, 0) / stride) + 1;
}

/** Runs the model on one slice (copies of it for a fixed batch) TIMED_RUNS times: the first sample's outputs (the first, and all by name) and the median time. */
function timed(m: Loaded, input: Float32Array): { output: Float32Array; outputs: Record<string, Float32Array>; ms: number } {
  const fixed = typeof m.single.inputs[0].shape[0] === "number" ? m.single.inputs[0].shape[0] : 1;
  const data = new Float32Array(fixed * input.length);
  for (let b = 0; b < fixed; b++) data.set(input, b * input.length);
  const times: number[] = [];
  let out: Record<string, Float32Array> = {};
  for (let i = 0; i < TIMED_RUNS; i++) {
    const t0 = performance.now();
    out = Object.fromEntries(Object.entries(m.single.run({ [m.geo.name]: data })).map(([name, o]) => [name, outputFloats(o)]));
    times.push(performance.now() - t0);
  }
  const outputs = Object.fromEntries(Object.entries(out).map(([name, o]) => [name, o.subarray(0, o.length / fixed)]));
  return { output: outputs[m.single.outputs[0].name], outputs, ms: median(times) };
}

const hex = (c: readonly number[]) => `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;

function segment(
  engine: Engine, m: Loaded, slice: Awaited<ReturnType<typeof readSlices>>[number], id: number, name: string, frame: number, frames: number,
): SegmentResult {
  const { output, ms } = timed(m, toInput(slice, m.spec));
  const labels = m.settings.labels!;
  const map = scoreMap(m.scores!, output.length, m.spec.height, m.spec.width);
  const mask = labelMap(output, map, slice.width, slice.height, { probabilities: m.probabilities });
  const overlay = overlayMask(slice, mask, { labels, colors: m.colors, background: m.background });
  const plain = overlayHeatmap(slice, new Float32Array(1), { size: [1, 1], opacity: 0 });
  const classes = classAreas(mask, labels, slice.spacing).map((c) => ({ ...c, color: hex(m.colors[c.index]) }));
  return {
    id, name, frame, frames, source: slice.source, width: slice.width, height: slice.height,
    overlay: overlay.buffer as ArrayBuffer, plain: plain.buffer as ArrayBuffer,
    classes, background: m.background, inferenceMs: ms, timedRuns: TIMED_RUNS, backend: engine.backend,
  };
}

function boxes(
  engine: Engine, m: Loaded, slice: Awaited<ReturnType<typeof readSlices>>[number], id: number, name: string, frame: number, frames: number,
): DetectResult {
  const { outputs, ms } = timed(m, toInput(slice, m.spec));
  const found = detect(m.detector!, outputs, m.spec, slice.width, slice.height, DETECTION);
  const labels = m.settings.labels;
  const classes = Math.max(0, ...found.map((f) => f.class + 1));
  const labelOf = (k: number) => labels?.[k] ?? `class_${k}`;
  const colorOf = (k: number) => m.colors[k] ?? defaultColor(k + 1);
  const overlay = overlayBoxes(slice, found, { labels: Array.from({ length: classes }, (_, k) => labelOf(k)), colors: Array.from({ length: classes }, (_, k) => colorOf(k)) });
  const plain = overlayHeatmap(slice, new Float32Array(1), { size: [1, 1], opacity: 0 });
  const round = (v: number) => Number(v.toFixed(2));
  return {
    id, name, frame, frames, source: slice.source, width: slice.width, height: slice.height,
    overlay: overlay.buffer as ArrayBuffer, plain: plain.buffer as ArrayBuffer,
    boxes: found.map((f) => ({ label: labelOf(f.class), score: f.score, box: { x0: round(f.box[0]), y0: round(f.box[1]), x1: round(f.box[2]), y1: round(f.box[3]) }, color: hex(colorOf(f.class)) })),
    inferenceMs: ms, timedRuns: TIMED_RUNS, backend: engine.backend,
  };
}

function classify(
  engine: Engine, m: Loaded, slice: Awaited<ReturnType<typeof readSlices>>[number], id: number, name: string, frame: number, frames: number,
  method: Method,
): SliceResult {
  const { geo, spec, batch } = m;
  const input = toInput(slice, spec);
  const { output, ms } = timed(m, input);
  const scores = m.probabilities(output);
  const classes = ranked(scores, m.settings.labels);
  const cls = scores.indexOf(Math.max(...scores));

  const sides = defaultPatches(geo);
  const t0 = performance.now();
  const { heat, region, layer, channels = 0 } = explain(m.batched, input, geo, m.settings.output, cls, { method, batch });
  const box = region.box;
  const occlusionMs = performance.now() - t0;
  const counts = sides.map((side) => {
    const p = Math.min(side, geo.height, geo.width);
    const stride = Math.max(1, Math.ceil(p / 2));
    return positions(geo.height, p, stride) * positions(geo.width, p, stride);
  });
  // Score-CAM's copies: one per channel of its layer, after the sample and the baseline.
  const patches = method === "scorecam" ? channels : counts.reduce((a, b) => a + b, 0);
  const runs = method === "scorecam" ? 1 + Math.ceil((2 + channels) / batch) : Math.ceil((1 + patches) / batch);

  // As the command draws it: a flat map (rounding noise) is not drawn.
  const overlay = overlayHeatmap(slice, region.flat ? new Float32Array(heat.length) : unitHeat(heat), { size: [geo.height, geo.width], box: box ?? undefined });
  const plain = overlayHeatmap(slice, new Float32Array(1), { size: [1, 1], opacity: 0 });
  const sx = slice.width / geo.width;
  const sy = slice.height / geo.height;
  return {
    id, name, frame, frames, source: slice.source, width: slice.width, height: slice.height,
    overlay: overlay.buffer as ArrayBuffer, plain: plain.buffer as ArrayBuffer,
    classes, inferenceMs: ms, timedRuns: TIMED_RUNS,
    occlusion: { ms: occlusionMs, method, patches, runs, batch, patch: sides.map((side) => Math.min(side, geo.height, geo.width)), ...(layer ? { layer } : {}) },
    box: box && { x: Math.round(box.x * sx), y: Math.round(box.y * sy), width: Math.round(box.width * sx), height: Math.round(box.height * sy) },
    backend: engine.backend,
  };
}
