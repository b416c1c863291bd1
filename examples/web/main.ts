// The page: file picking and dropping, samples, and drawing what the worker sends back. All the
// decoding and inference happen in worker.ts; nothing here takes long enough to block.
import type { BuildChoice, DetectResult, Method, Reply, Request, SegmentResult, SliceResult, Task } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const DEMO_MODELS: Record<Task, Omit<Extract<Request, { type: "model" }>, "type">> = {
  classify: { task: "classify", name: "phantom.onnx (demo)", url: new URL("phantom/phantom.onnx", location.href).href },
  segment: { task: "segment", name: "phantom-seg.onnx (demo)", url: new URL("phantom-seg/phantom-seg.onnx", location.href).href },
  detect: { task: "detect", name: "phantom-detect.onnx (demo)", url: new URL("phantom-detect/phantom-detect.onnx", location.href).href },
};
const SAMPLES = new URL("phantom/samples/", location.href);
const LABELS: Record<string, string> = { simd: "SIMD", scalar: "scalar" };

let worker: Worker | undefined;
let model = DEMO_MODELS.classify;
const task = (): Task => model.task;
let nextId = 1;
/** Files sent to the worker and not finished: their first card, and how many results came. */
const pending = new Map<number, { card: HTMLLIElement; last: HTMLLIElement; results: number }>();

function send(request: Request, transfer: Transferable[] = []): void {
  worker!.postMessage(request, transfer);
}

function setStatus(text: string): void {
  $("status").textContent = text;
}

function updateStatus(): void {
  setStatus(pending.size === 0 ? "" : `Working on ${pending.size} file${pending.size === 1 ? "" : "s"}…`);
}

/** (Re)starts the worker with a build, and loads the current model into it. */
function startWorker(backend: BuildChoice): void {
  worker?.terminate();
  for (const p of pending.values()) fail(p.card, "stopped: the build was changed");
  pending.clear();
  updateStatus();
  $("backend").textContent = "starting…";
  worker = new Worker("dist/worker.js", { name: "simdcnn" });
  worker.onmessage = (e: MessageEvent<Reply>) => receive(e.data);
  worker.onerror = (e) => {
    $("backend").textContent = "failed";
    setStatus(`The worker failed: ${e.message || "see the console"}`);
    for (const p of pending.values()) fail(p.card, "the worker failed");
    pending.clear();
  };
  send({ type: "init", backend });
  loadModel(model);
}

function loadModel(m: typeof model): void {
  $("model-status").textContent = `Loading ${m.name}…`;
  send({ type: "model", ...m });
}

function receive(r: Reply): void {
  switch (r.type) {
    case "ready":
      $("backend").textContent = `${LABELS[r.backend]}, ${r.threads} thread${r.threads === 1 ? "" : "s"}`;
      $("backend").title = r.threadsNote;
      break;
    case "model": {
      const m = r.model;
      $("model-status").textContent = `Ready: ${m.name}.`;
      $("model-name").textContent = m.name;
      $("model-input").textContent = m.input;
      $("model-labels").textContent =
        m.task === "segment"
          ? `${m.labels.join(", ")} (per pixel)`
          : m.task === "detect"
            ? `${m.labels.join(", ") || "class indices"} (boxes)`
            : `${m.labels.join(", ")} (${m.probabilities === "logits" ? "raw outputs" : m.probabilities})`;
      $("model-info").hidden = false;
      break;
    }
    case "model-error":
      $("model-status").textContent = `Could not load ${r.name}: ${r.message}`;
      if (model.name === r.name) model = DEMO_MODELS[model.task];
      break;
    case "result":
      show(r.result);
      break;
    case "segmented":
      showSegments(r.result);
      break;
    case "detected":
      showBoxes(r.result);
      break;
    case "done": {
      const p = pending.get(r.id);
      if (p && p.results === 0) fail(p.card, "the file holds no slices");
      pending.delete(r.id);
      updateStatus();
      break;
    }
    case "error": {
      const p = r.id === undefined ? undefined : pending.get(r.id);
      if (p) {
        fail(p.card, r.message);
        pending.delete(r.id!);
        updateStatus();
      } else {
        if ($("backend").textContent === "starting…") $("backend").textContent = "failed";
        setStatus(r.message);
      }
    }
  }
}

/** A result card: newest file first, a file's frames in order (after `after`). */
function newCard(name: string, after?: HTMLLIElement): HTMLLIElement {
  const card = ($("result-template") as HTMLTemplateElement).content.firstElementChild!.cloneNode(true) as HTMLLIElement;
  card.querySelector(".name")!.textContent = name;
  if (after) after.after(card);
  else $("results").prepend(card);
  return card;
}

function fail(card: HTMLLIElement, message: string): void {
  card.dataset.state = "error";
  card.setAttribute("aria-busy", "false");
  card.querySelector(".class")!.textContent = "—";
  for (const el of card.querySelectorAll(".body figure, .probs, .details .facts")) el.remove();
  const error = card.querySelector<HTMLElement>(".error")!;
  error.textContent = message;
  error.hidden = false;
}

const ms = (t: number) => (t < 10 ? t.toFixed(2) : t < 100 ? t.toFixed(1) : t.toFixed(0));
const percent = (p: number) => (p > 0.999 && p < 1 ? "> 99.9%" : p > 0 && p < 0.001 ? "< 0.1%" : `${(100 * p).toFixed(1)}%`);

/** The card of a result (a file's first, or a new one after its last) with the slice drawn, toggled between overlay and plain. */
function cardFor(r: SliceResult | SegmentResult | DetectResult): { card: HTMLLIElement; title: string } | undefined {
  const p = pending.get(r.id);
  if (!p) return undefined;
  const title = r.frames > 1 ? `${r.name} — frame ${r.frame} of ${r.frames}` : r.name;
  let card = p.card;
  if (p.results++ > 0) card = p.last = newCard(title, p.last);
  else card.querySelector(".name")!.textContent = title;

  const canvas = card.querySelector<HTMLCanvasElement>("canvas")!;
  canvas.width = r.width;
  canvas.height = r.height;
  // Small slices are scaled up with visible pixels; large ones are shown at most 320 px wide.
  canvas.style.imageRendering = r.width < 320 ? "pixelated" : "auto";
  const images = {
    overlay: new ImageData(new Uint8ClampedArray(r.overlay), r.width, r.height),
    plain: new ImageData(new Uint8ClampedArray(r.plain), r.width, r.height),
  };
  const toggle = card.querySelector<HTMLInputElement>(".show-heat")!;
  const draw = () => canvas.getContext("2d")!.putImageData(toggle.checked ? images.overlay : images.plain, 0, 0);
  toggle.addEventListener("change", draw);
  draw();
  canvas.setAttribute("role", "img");
  card.querySelector(".caption")!.textContent = `${r.width} × ${r.height} px, ${r.source}`;
  card.querySelector(".time")!.textContent = `${ms(r.inferenceMs)} ms per inference (${LABELS[r.backend]}, median of ${r.timedRuns})`;
  card.dataset.inferenceMs = String(r.inferenceMs);
  card.dataset.backend = r.backend;
  return { card, title };
}

function done(card: HTMLLIElement): void {
  card.dataset.state = "done";
  card.setAttribute("aria-busy", "false");
}

function show(r: SliceResult): void {
  const shown = cardFor(r);
  if (!shown) return;
  const { card, title } = shown;
  const canvas = card.querySelector<HTMLCanvasElement>("canvas")!;
  const top = r.classes[0];
  canvas.setAttribute("aria-label", `${title}: ${top.label} ${percent(top.probability)}, heat map overlaid`);

  card.querySelector(".class")!.textContent = top.label;
  const list = card.querySelector(".probs")!;
  list.replaceChildren();
  for (const c of r.classes.slice(0, 5)) {
    const li = document.createElement("li");
    const label = Object.assign(document.createElement("span"), { className: "label", textContent: c.label, title: c.label });
    const track = Object.assign(document.createElement("span"), { className: "track" });
    track.setAttribute("aria-hidden", "true");
    const fill = Object.assign(document.createElement("span"), { className: "fill" });
    fill.style.display = "block";
    fill.style.width = `${Math.max(0, Math.min(1, c.probability)) * 100}%`;
    track.append(fill);
    const value = Object.assign(document.createElement("span"), { className: "value", textContent: percent(c.probability) });
    li.append(label, track, value);
    list.append(li);
  }
  const o = r.occlusion;
  card.querySelector(".occlusion")!.textContent =
    o.method === "scorecam"
      ? `${ms(o.ms)} ms: Score-CAM over ${o.layer} (${o.patches} channels), ${o.runs} inferences of batch ${o.batch}`
      : `${ms(o.ms)} ms: ${o.patches} patches of ${o.patch.join(" and ")} px, stride half a patch, ${o.runs} inferences of batch ${o.batch}`;
  card.querySelector(".box")!.textContent = r.box ? `x ${r.box.x}, y ${r.box.y}, ${r.box.width} × ${r.box.height} px` : "none (flat: nothing hidden changed the score)";
  card.dataset.occlusionMs = String(o.ms);
  card.dataset.probability = String(top.probability);
  card.dataset.box = JSON.stringify(r.box);
  done(card);
}

const area = (c: SegmentResult["classes"][number]) => (c.area_mm2 === undefined ? "" : `, ${c.area_mm2.toFixed(1)} mm²`);

/** A segmented slice: the mask overlay, the largest class found besides the background, and every class's pixels and area. */
function showSegments(r: SegmentResult): void {
  const shown = cardFor(r);
  if (!shown) return;
  const { card, title } = shown;
  card.dataset.task = "segment";
  card.querySelector(".toggle-label")!.textContent = "mask";
  for (const el of card.querySelectorAll(".occlusion-row")) el.remove();
  const found = r.classes.filter((c) => c.index !== r.background && c.pixels > 0).sort((a, b) => b.pixels - a.pixels);
  card.querySelector(".prediction-label")!.textContent = "Largest class found: ";
  card.querySelector(".class")!.textContent = found[0]?.label ?? "none";
  card.querySelector("canvas")!.setAttribute("aria-label", `${title}: ${found.map((c) => c.label).join(", ") || "nothing"} found, mask overlaid`);
  const list = card.querySelector(".probs")!;
  list.replaceChildren();
  list.classList.add("areas");
  for (const c of r.classes) {
    const li = document.createElement("li");
    li.dataset.label = c.label;
    li.dataset.pixels = String(c.pixels);
    if (c.area_mm2 !== undefined) li.dataset.areaMm2 = String(c.area_mm2);
    const swatch = Object.assign(document.createElement("span"), { className: "swatch" });
    swatch.style.background = c.color;
    swatch.setAttribute("aria-hidden", "true");
    const label = Object.assign(document.createElement("span"), { className: "label", textContent: c.label, title: c.label });
    const value = Object.assign(document.createElement("span"), {
      className: "value", textContent: `${c.pixels} px (${percent(c.fraction)}${area(c)})`,
    });
    li.append(swatch, label, value);
    list.append(li);
  }
  done(card);
}

/** A slice a detector looked at: the boxes drawn on it, how many, and each box's class, score and corners. */
function showBoxes(r: DetectResult): void {
  const shown = cardFor(r);
  if (!shown) return;
  const { card, title } = shown;
  card.dataset.task = "detect";
  card.querySelector(".toggle-label")!.textContent = "boxes";
  for (const el of card.querySelectorAll(".occlusion-row")) el.remove();
  card.querySelector(".prediction-label")!.textContent = "Boxes found: ";
  card.querySelector(".class")!.textContent = r.boxes.length === 0 ? "none" : `${r.boxes.length} (best: ${r.boxes[0].label} ${percent(r.boxes[0].score)})`;
  card.querySelector("canvas")!.setAttribute("aria-label", `${title}: ${r.boxes.length} box${r.boxes.length === 1 ? "" : "es"} drawn`);
  const list = card.querySelector(".probs")!;
  list.replaceChildren();
  list.classList.add("areas");
  for (const b of r.boxes) {
    const li = document.createElement("li");
    li.dataset.label = b.label;
    li.dataset.score = String(b.score);
    li.dataset.box = JSON.stringify(b.box);
    const swatch = Object.assign(document.createElement("span"), { className: "swatch" });
    swatch.style.background = b.color;
    swatch.setAttribute("aria-hidden", "true");
    const label = Object.assign(document.createElement("span"), { className: "label", textContent: b.label, title: b.label });
    const value = Object.assign(document.createElement("span"), {
      className: "value", textContent: `${percent(b.score)} at x ${b.box.x0}..${b.box.x1}, y ${b.box.y0}..${b.box.y1}`,
    });
    li.append(swatch, label, value);
    list.append(li);
  }
  done(card);
}

/** The DICOM window field: undefined when empty, else [center, width]; throws if it is neither. */
function dicomWindow(): [number, number] | undefined {
  const text = $<HTMLInputElement>("window").value.trim();
  if (text === "") return undefined;
  const parts = text.split(",").map((s) => (s.trim() === "" ? NaN : Number(s)));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[1] > 0)) {
    throw new Error(`the DICOM window must be center,width with a positive width (e.g. 40,400), got "${text}"`);
  }
  return [parts[0], parts[1]];
}

function classify(name: string, bytes: ArrayBuffer): void {
  const card = newCard(name);
  let window: [number, number] | undefined;
  try {
    window = dicomWindow();
  } catch (e) {
    fail(card, (e as Error).message);
    return;
  }
  const id = nextId++;
  pending.set(id, { card, last: card, results: 0 });
  updateStatus();
  send({ type: "slices", id, name, bytes, window, method: $<HTMLSelectElement>("method").value as Method }, [bytes]);
}

async function useFiles(files: File[]): Promise<void> {
  const onnx = files.filter((f) => /\.onnx$/i.test(f.name));
  const json = files.filter((f) => /\.json$/i.test(f.name));
  const slices = files.filter((f) => !onnx.includes(f) && !json.includes(f));
  if (onnx.length > 1) $("model-status").textContent = "Give one .onnx model at a time.";
  else if (onnx.length === 1) {
    const stem = onnx[0].name.replace(/\.onnx$/i, "");
    const sidecar = json.find((f) => f.name.replace(/\.json$/i, "") === stem) ?? (json.length === 1 ? json[0] : undefined);
    model = { task: task(), name: onnx[0].name, bytes: await onnx[0].arrayBuffer(), sidecar: sidecar && (await sidecar.text()) };
    loadModel(model);
  } else if (json.length > 0) $("model-status").textContent = "A sidecar .json goes with its .onnx model: give both together.";
  for (const f of slices) classify(f.name, await f.arrayBuffer());
}

async function loadSamples(): Promise<void> {
  const select = $<HTMLSelectElement>("sample");
  try {
    const response = await fetch(new URL("samples.json", SAMPLES));
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { files } = (await response.json()) as { files: Record<string, { label: string }> };
    select.replaceChildren(
      ...Object.entries(files).map(([file, { label }]) => new Option(`${file.replace(/\.png$/, "")} (${label})`, file)),
    );
    // A lesion slice first: its heat map has something to show.
    select.value = Object.keys(files).find((f) => files[f].label === "lesion") ?? Object.keys(files)[0];
    select.disabled = false;
    $<HTMLButtonElement>("load-sample").disabled = false;
  } catch (e) {
    select.replaceChildren(new Option("no samples"));
    setStatus(`Could not list the samples: ${(e as Error).message}`);
  }
}

async function loadSample(): Promise<void> {
  const file = $<HTMLSelectElement>("sample").value;
  const response = await fetch(new URL(file, SAMPLES));
  if (!response.ok) {
    setStatus(`Could not fetch ${file}: HTTP ${response.status}`);
    return;
  }
  classify(file, await response.arrayBuffer());
}

function wire(): void {
  const build = $<HTMLSelectElement>("build");
  const asked = new URLSearchParams(location.search).get("build");
  if (asked === "simd" || asked === "scalar") build.value = asked;
  build.addEventListener("change", () => startWorker(build.value as BuildChoice));

  $<HTMLInputElement>("files").addEventListener("change", (e) => {
    const input = e.target as HTMLInputElement;
    void useFiles([...(input.files ?? [])]).finally(() => (input.value = ""));
  });
  $<HTMLInputElement>("model-file").addEventListener("change", (e) => {
    const input = e.target as HTMLInputElement;
    void useFiles([...(input.files ?? [])]).finally(() => (input.value = ""));
  });
  $("model-default").addEventListener("click", () => {
    model = DEMO_MODELS[task()];
    loadModel(model);
  });
  const taskSelect = $<HTMLSelectElement>("task");
  taskSelect.addEventListener("change", () => {
    model = DEMO_MODELS[taskSelect.value as Task];
    loadModel(model);
  });
  $("load-sample").addEventListener("click", () => void loadSample());
  $("clear").addEventListener("click", () => {
    for (const card of [...$("results").children]) if ((card as HTMLElement).dataset.state !== "working") card.remove();
  });

  const drop = $("drop");
  // A file dropped outside the zone must not navigate away from the page.
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());
  drop.addEventListener("dragenter", () => drop.classList.add("over"));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", (e) => {
    if (!drop.contains(e.relatedTarget as Node | null)) drop.classList.remove("over");
  });
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    void useFiles([...(e.dataTransfer?.files ?? [])]);
  });

  startWorker(build.value as BuildChoice);
  void loadSamples();
}

wire();
