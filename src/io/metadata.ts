import { ArgumentError, ModelFormatError, ShapeError } from "../errors.js";
import { type InputSpec, type Normalize, type ResizeMode, normalizeProblem } from "./preprocess.js";

export type OutputActivation = "softmax" | "sigmoid" | "logits";

/**
 * Where a detector's outputs put its boxes (docs/model-metadata.md): boxes [N, 4] and per-class
 * scores [N, C]; YOLO rows [N, 5 + C] (box, objectness, class scores); or boxes, scores and classes
 * a model already chose with its own non-maximum suppression.
 */
export type DetectionLayout = "boxes-scores" | "yolo" | "selected";

/** How a detector writes a box: corners (x0, y0, x1, y1), or centre and size (cx, cy, w, h). */
export type BoxFormat = "xyxy" | "cxcywh";

/** What a detector's box coordinates are measured in: the model input's pixels, or fractions of its width and height. */
export type BoxUnits = "pixels" | "normalized";

/** A model's settings, as docs/model-metadata.md defines them. */
export interface ModelSettings {
  /** The class names; given, or class_0… when the output size is known, else undefined. */
  labels?: string[];
  /** A segmentation's background class, left uncoloured in overlays, when given (else 0 is). */
  background?: number;
  /** Each class's colour as [r, g, b] (0..255), when given (else `defaultColor(i)`). */
  colors?: [number, number, number][];
  resize: ResizeMode;
  normalize: Normalize;
  output: OutputActivation;
  /** [center, width] for DICOM slices, in modality units. */
  window?: [number, number];
  /** The model's input, when its declared shape was given. */
  input?: InputSpec;
  /** A detector's output layout and box coordinates, when given. */
  detection?: DetectionLayout;
  boxFormat?: BoxFormat;
  boxUnits?: BoxUnits;
}

export type SettingName = "labels" | "resize" | "normalize" | "output" | "window" | "input_size" | "background" | "colors" | "detection" | "box_format" | "box_units";

export interface SettingsSources {
  /** The ONNX model's metadata_props. Keys without the `simdcnn:` prefix are not ours and are ignored. */
  metadata?: Readonly<Record<string, string>>;
  /** The sidecar file's text (or its parsed JSON): the same keys, values as strings or as the JSON they hold. */
  sidecar?: string | object;
  /** Command-line flags by setting name (`window`, not `simdcnn:window`), as strings or parsed values. */
  overrides?: Partial<Record<SettingName, unknown>>;
  /** The model's declared input shape, rank 4, NCHW or NHWC; symbolic dimensions as strings. */
  inputShape?: readonly (number | string)[];
  /** The number of classes the model outputs, when known. */
  outputSize?: number;
  /** Values for settings no source gives, where the caller's use differs from the defaults below. */
  defaults?: { output?: OutputActivation };
}

/**
 * What modelSettings reads from a loaded model: simdcnn's Model has these (declared here by
 * shape, so that this entry does not import the engine).
 */
export interface ModelDescription {
  /** The ONNX metadata_props. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputs: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
  readonly outputs: readonly { readonly shape: readonly (number | string)[]; readonly dtype?: string }[];
}

const PARSERS: Record<SettingName, (value: unknown) => unknown> = {
  labels: (v) => {
    const labels = typeof v === "string" ? json(v) : v;
    if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === "string")) {
      throw new Error(`expected a JSON array of class names, got ${show(v)}`);
    }
    return labels;
  },
  resize: (v) => oneOf(v, ["bilinear", "nearest"]),
  normalize: (v) => {
    const n = v === "unit" ? v : typeof v === "string" ? json(v) : v;
    const { mean, std } = (n ?? {}) as { mean?: unknown[]; std?: unknown[] };
    const problem = normalizeProblem(n, Array.isArray(mean) ? mean.length : 0);
    if (problem) throw new Error(problem);
    return n === "unit" ? n : { mean: [...mean!], std: [...std!] };
  },
  output: (v) => oneOf(v, ["softmax", "sigmoid", "logits"]),
  window: (v) => {
    const parts = typeof v === "string" ? v.split(",").map((s) => (s.trim() === "" ? NaN : Number(s))) : v;
    if (!Array.isArray(parts) || parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[1] > 0)) {
      throw new Error(`expected center,width with a positive width (e.g. 40,400), got ${show(v)}`);
    }
    return parts;
  },
  input_size: (v) => {
    const parts = typeof v === "string" ? v.split(",").map((s) => (s.trim() === "" ? NaN : Number(s))) : v;
    if (!Array.isArray(parts) || parts.length !== 2 || !parts.every((d) => Number.isSafeInteger(d) && d > 0 && d <= 1 << 16)) {
      throw new Error(`expected height,width as positive integers (e.g. 224,224), got ${show(v)}`);
    }
    return parts;
  },
  background: (v) => {
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
    if (!Number.isSafeInteger(n) || (n as number) < 0) throw new Error(`expected a class index (a non-negative integer), got ${show(v)}`);
    return n;
  },
  colors: (v) => {
    const list = typeof v === "string" ? (v.trim().startsWith("[") ? json(v) : v.split(",")) : v;
    if (!Array.isArray(list) || list.length === 0 || !list.every((c) => typeof c === "string" && /^#?[0-9a-f]{6}$/i.test(c.trim()))) {
      throw new Error(`expected a list of colours as #rrggbb, got ${show(v)}`);
    }
    return list.map((c: string) => {
      const hex = c.trim().replace(/^#/, "");
      return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    });
  },
  detection: (v) => oneOf(v, ["boxes-scores", "yolo", "selected"]),
  box_format: (v) => oneOf(v, ["xyxy", "cxcywh"]),
  box_units: (v) => oneOf(v, ["pixels", "normalized"]),
};

// Distinct, saturated colours for classes without given ones (index 0, usually background, is black).
const PALETTE: [number, number, number][] = [
  [0, 0, 0], [255, 59, 48], [52, 199, 89], [0, 122, 255], [255, 204, 0], [175, 82, 222], [255, 149, 0], [90, 200, 250],
  [255, 45, 85], [162, 132, 94], [0, 199, 190], [142, 142, 147],
];

/** Class `i`'s default colour: the palette, then golden-angle hues for any beyond it. */
export function defaultColor(i: number): [number, number, number] {
  if (i < PALETTE.length) return PALETTE[i];
  const h = ((i * 137.508) % 360) / 60;
  const x = Math.round(255 * (1 - Math.abs((h % 2) - 1)));
  const sector = Math.floor(h);
  return ([[255, x, 0], [x, 255, 0], [0, 255, x], [0, x, 255], [x, 0, 255], [255, 0, x]] as [number, number, number][])[sector];
}

const NAMES = Object.keys(PARSERS) as SettingName[];

/**
 * Merges a model's settings from its metadata_props, its sidecar JSON and command-line
 * overrides (each overriding the one before), validates every value, and derives the input spec
 * from the declared input shape. A bad value in the model or sidecar is a ModelFormatError, a bad
 * override an ArgumentError; both name the key and where it came from.
 *
 * Given a loaded model, its metadata, its one input's shape and its output's class count are
 * the sources, with an optional sidecar and overrides.
 */
export function modelSettings(model: ModelDescription, extra?: Pick<SettingsSources, "sidecar" | "overrides">): ModelSettings & { input: InputSpec };
export function modelSettings(sources?: SettingsSources): ModelSettings;
export function modelSettings(given: SettingsSources | ModelDescription = {}, extra: Pick<SettingsSources, "sidecar" | "overrides"> = {}): ModelSettings {
  const sources = "inputs" in given ? fromModel(given, extra) : given;
  const chosen = new Map<SettingName, { value: unknown; from: Source }>();
  const take = (from: Source, entries: Iterable<[string, unknown]>) => {
    for (const [key, value] of entries) {
      const name = from.prefix ? (key.startsWith("simdcnn:") ? key.slice(8) : undefined) : key;
      if (name === undefined) continue;
      if (!NAMES.includes(name as SettingName)) {
        throw from.error(`${from.prefix}${name}`, `unknown key; the keys are ${NAMES.map((n) => from.prefix + n).join(", ")}`);
      }
      try {
        chosen.set(name as SettingName, { value: PARSERS[name as SettingName](value), from });
      } catch (e) {
        throw from.error(`${from.prefix}${name}`, (e as Error).message);
      }
    }
  };
  if (sources.metadata !== undefined) take(MODEL, Object.entries(sources.metadata));
  if (sources.sidecar !== undefined) take(SIDECAR, Object.entries(sidecarObject(sources.sidecar)));
  if (sources.overrides !== undefined) take(OVERRIDE, Object.entries(sources.overrides).filter(([, v]) => v !== undefined));

  const get = <T>(name: SettingName, fallback: T): T => (chosen.get(name)?.value as T) ?? fallback;
  const settings: ModelSettings = {
    resize: get<ResizeMode>("resize", "bilinear"),
    normalize: get<Normalize>("normalize", "unit"),
    output: get<OutputActivation>("output", sources.defaults?.output ?? "logits"),
  };
  const window = get<[number, number] | undefined>("window", undefined);
  if (window) settings.window = window;
  const detection = get<DetectionLayout | undefined>("detection", undefined);
  if (detection) settings.detection = detection;
  const boxFormat = get<BoxFormat | undefined>("box_format", undefined);
  if (boxFormat) settings.boxFormat = boxFormat;
  const boxUnits = get<BoxUnits | undefined>("box_units", undefined);
  if (boxUnits) settings.boxUnits = boxUnits;

  const { outputSize, inputShape } = sources;
  const labels = chosen.get("labels");
  if (labels && outputSize !== undefined && (labels.value as string[]).length !== outputSize) {
    throw labels.from.error(`${labels.from.prefix}labels`, `${(labels.value as string[]).length} names but the model outputs ${outputSize} classes`);
  }
  if (labels) settings.labels = labels.value as string[];
  else if (outputSize !== undefined) settings.labels = Array.from({ length: outputSize }, (_, i) => `class_${i}`);
  const classes = settings.labels?.length;
  const colors = chosen.get("colors");
  if (colors && classes !== undefined && (colors.value as unknown[]).length !== classes) {
    throw colors.from.error(`${colors.from.prefix}colors`, `${(colors.value as unknown[]).length} colours but the model has ${classes} classes`);
  }
  if (colors) settings.colors = colors.value as [number, number, number][];
  const background = chosen.get("background");
  if (background && classes !== undefined && (background.value as number) >= classes) {
    throw background.from.error(`${background.from.prefix}background`, `class ${background.value} but the model has ${classes} classes (0..${classes - 1})`);
  }
  if (background) settings.background = background.value as number;

  if (inputShape !== undefined) {
    const size = chosen.get("input_size");
    const { layout, channels, height, width } = inputLayout(inputShape, size?.value as [number, number] | undefined);
    if (size && (height !== (size.value as number[])[0] || width !== (size.value as number[])[1])) {
      throw size.from.error(`${size.from.prefix}input_size`, `${(size.value as number[]).join(",")} differs from the model's declared input [${inputShape.join(", ")}]`);
    }
    const normalize = chosen.get("normalize");
    const problem = normalizeProblem(settings.normalize, channels);
    if (normalize && problem) throw normalize.from.error(`${normalize.from.prefix}normalize`, problem);
    settings.input = { layout, channels, height, width, resize: settings.resize, normalize: settings.normalize };
  }
  return settings;
}

function fromModel(model: ModelDescription, extra: Pick<SettingsSources, "sidecar" | "overrides">): SettingsSources {
  const { inputs, outputs } = model;
  if (!Array.isArray(inputs) || !Array.isArray(outputs)) {
    throw new ArgumentError(`modelSettings: a model's inputs and outputs must be arrays, got ${typeof inputs} and ${typeof outputs}`);
  }
  if (inputs.length !== 1) {
    throw new ArgumentError(`modelSettings: a classifier takes one input; this model takes ${inputs.length} (${inputs.map((i) => i.name).join(", ")})`);
  }
  const last = outputs[0]?.shape.at(-1);
  return {
    metadata: model.metadata,
    inputShape: inputs[0].shape,
    outputSize: typeof last === "number" ? last : undefined,
    sidecar: extra.sidecar,
    overrides: extra.overrides,
  };
}

/**
 * Where the channel dimension (1 or 3) sits: second (NCHW, preferred when both fit) or last
 * (NHWC); symbolic height and width take `size`.
 */
function inputLayout(shape: readonly (number | string)[], size?: [number, number]): Pick<InputSpec, "layout" | "channels" | "height" | "width"> {
  const text = Array.isArray(shape) ? `[${shape.join(", ")}]` : show(shape);
  if (!Array.isArray(shape) || shape.length !== 4) throw new ShapeError(`the model's input must have rank 4 (NCHW or NHWC), got ${text}`);
  const layout = shape[1] === 1 || shape[1] === 3 ? "NCHW" : shape[3] === 1 || shape[3] === 3 ? "NHWC" : undefined;
  if (!layout) throw new ShapeError(`the model's input ${text} has no channel dimension of 1 or 3 second (NCHW) or last (NHWC)`);
  let [channels, height, width] = (layout === "NCHW" ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]]) as [1 | 3, unknown, unknown];
  if (size && typeof height !== "number") height = size[0];
  if (size && typeof width !== "number") width = size[1];
  if (!Number.isInteger(height) || !Number.isInteger(width) || (height as number) < 1 || (width as number) < 1) {
    throw new ShapeError(`the model's input ${text} has no fixed height and width to resize slices to; give them with the simdcnn:input_size key`);
  }
  return { layout, channels, height: height as number, width: width as number };
}

interface Source {
  prefix: string;
  error(key: string, problem: string): Error;
}

const MODEL: Source = { prefix: "simdcnn:", error: (key, problem) => new ModelFormatError(`${key} in the model's metadata_props: ${problem}`) };
const SIDECAR: Source = { prefix: "simdcnn:", error: (key, problem) => new ModelFormatError(`${key} in the sidecar JSON: ${problem}`) };
const OVERRIDE: Source = { prefix: "", error: (key, problem) => new ArgumentError(`${key} (command-line override): ${problem}`) };

function sidecarObject(sidecar: string | object): object {
  let parsed: unknown = sidecar;
  if (typeof sidecar === "string") {
    try {
      parsed = JSON.parse(sidecar);
    } catch (e) {
      throw new ModelFormatError(`the sidecar JSON is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ModelFormatError(`the sidecar JSON must be an object of simdcnn:* keys, got ${show(parsed)}`);
  }
  return parsed;
}

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not valid JSON: ${show(text)}`);
  }
}

function oneOf(v: unknown, allowed: string[]): string {
  if (typeof v !== "string" || !allowed.includes(v)) throw new Error(`expected ${allowed.map((a) => `'${a}'`).join(", ")}, got ${show(v)}`);
  return v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
