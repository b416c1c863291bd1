import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { ArgumentError, type Engine, FileError, type Model, SimdcnnError, UnsupportedError, asFloats } from "../node.js";
import { type ModelSettings, type SettingName, type SettingsSources, modelSettings } from "../io/metadata.js";
import { toInput } from "../io/preprocess.js";
import { readSlices } from "../io/read.js";
import type { Slice } from "../io/slice.js";
import type { Axis } from "../io/volume.js";
import { readModelFile } from "./files.js";
import type { Input } from "./inputs.js";
import { sliceName } from "./naming.js";
import type { Failure, Where } from "./output.js";
import { UsageError } from "./usage.js";
import { readVolumeSlices } from "./volumes.js";

/** An input with the name of its outputs (see naming.ts), or the reason it yields no file. */
export type Job = Input & { name?: string };

/** A model loaded for a command, with its settings. */
export interface Loaded {
  model: Model;
  settings: ModelSettings;
}

/** How a command reads its model: what it is called in messages and what the sources lack. */
export interface ModelRole {
  /** 'a classifier', 'a segmentation model': the subject of "takes one input". */
  role: string;
  /** The class count the model's output declares, when it does. */
  classes(model: Model): number | undefined;
  /** Settings sources besides metadata, sidecar, input shape and class count. */
  extra?(model: Model): Pick<SettingsSources, "defaults">;
}

/**
 * Loads the model and resolves its settings (metadata, then the sidecar `<model>.json`, then
 * `overrides`), so that every problem with either is found before any input is read. A model
 * path that cannot be read, or a bad override, is a UsageError; a model that is malformed,
 * unsupported or not of the role keeps its own error class.
 */
export async function loadModel(engine: Engine, path: string, overrides: Partial<Record<SettingName, unknown>>, role: ModelRole): Promise<Loaded> {
  const bytes = await readModelFile(path, "--model");
  const model = await engine.loadOnnx(bytes);
  try {
    if (model.inputs.length !== 1) throw new UnsupportedError(`${role.role} takes one input; this model takes ${model.inputs.length}`);
    const sidecarPath = path.replace(/\.onnx$/i, "") + ".json";
    let sidecar: string | undefined;
    if (existsSync(sidecarPath)) {
      try {
        sidecar = await readFile(sidecarPath, "utf8");
      } catch (e) {
        throw FileError.from(e, sidecarPath, "read the model's sidecar");
      }
    }
    const sources = { metadata: model.metadata, sidecar, inputShape: model.inputs[0].shape, outputSize: role.classes(model), ...role.extra?.(model) };
    // The model's own settings first, so that a bad override is told apart from a bad model.
    modelSettings(sources);
    let settings: ModelSettings;
    try {
      settings = modelSettings({ ...sources, overrides });
    } catch (e) {
      throw asUsage(e);
    }
    return { model, settings };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A bad override (metadata.ts's ArgumentError) as the user typed it: a flag, --input-size not input_size. */
export function asUsage(e: unknown): unknown {
  if (!(e instanceof ArgumentError)) return e;
  return new UsageError(e.message.replace(/^(\w+) \(command-line override\)/, (_, key: string) => `--${key.replaceAll("_", "-")}`));
}

/** One slice of a job, prepared for the model. */
export interface SliceJob {
  slice: Slice;
  input: Float32Array;
  /** The job's output name (naming.ts). */
  name?: string;
  /** Its frame number (from 1) in a multi-frame file. */
  frame?: number;
  /** The output name of this slice of a volume (naming.ts's sliceName), which its files take. */
  label?: string;
}

/** What a command makes of each slice: a result line, or an error line (see `failed`). */
export type Handle<R> = (p: SliceJob, output: Float32Array, batch: number) => Promise<R>;

/** A result line of any command: a slice's own fields, or why it failed. */
export type Line<R> = R | Failure;

/** What runJobs takes from a command's options: the batch size, and the axis volumes are sliced along. */
export interface RunOptions {
  batch: number;
  axis: Axis;
}

/**
 * Runs the model on every slice of every job, in order, in full batches, and hands each job's
 * result lines to `done` as soon as they are complete: a file's slices (a multi-frame file's
 * frames), or a volume's slices along `o.axis` (of its slab, when it has one). An input that
 * cannot be read or run gets a line with the reason; it never stops the others.
 */
export async function runJobs<R extends object>(loaded: Loaded, jobs: Job[], o: RunOptions, handle: Handle<R>, done: (results: Line<R & Where>[]) => void): Promise<void> {
  type Full = Line<R & Where>;
  const { model, settings } = loaded;
  const input = model.inputs[0];
  const spec = settings.input!;
  const fixed = typeof input.shape[0] === "number" ? input.shape[0] : undefined;
  const batch = fixed ?? o.batch;

  const results: Full[][] = jobs.map(() => []);
  let reported = 0;
  const report = (upTo: number) => {
    for (; reported < upTo; reported++) done(results[reported]);
  };
  const pending: (SliceJob & { job: number; index: number; where: Where })[] = [];

  const flush = async () => {
    if (pending.length === 0) return;
    const size = pending[0].input.length;
    const data = new Float32Array(batch * size);
    pending.forEach((p, i) => data.set(p.input, i * size));
    // Every run is a full batch (a short one padded with copies of the first slice), so that the
    // model keeps one memory plan.
    for (let i = pending.length; i < batch; i++) data.set(pending[0].input, i * size);
    let out: Float32Array | undefined;
    let error: unknown;
    try {
      out = asFloats(Object.values(model.run({ [input.name]: data }))[0]);
    } catch (e) {
      error = e;
    }
    const k = out ? out.length / batch : 0;
    for (const [i, p] of pending.entries()) {
      try {
        if (!out) throw error;
        results[p.job][p.index] = { ...p.where, ...(await handle(p, out.subarray(i * k, (i + 1) * k), batch)) };
      } catch (e) {
        results[p.job][p.index] = { ...p.where, error: reason(e) };
      }
    }
    pending.length = 0;
  };

  for (const [j, job] of jobs.entries()) {
    // Jobs before the first one still in the batch are complete.
    report(pending.length > 0 ? pending[0].job : j);
    if ("error" in job) {
      results[j].push({ file: job.file, error: job.error });
      continue;
    }
    if ("volume" in job) {
      const series = job.volume.kind === "series" && job.volume.plan.uid ? { series: job.volume.plan.uid } : {};
      try {
        let index = 0;
        for await (const slice of readVolumeSlices(job, o.axis, settings.window)) {
          const where = { file: job.file, ...series, axis: o.axis, slice: slice.index, position: Number(slice.position.toFixed(3)) };
          const label = job.name === undefined ? undefined : sliceName(job.name, o.axis, slice.index);
          pending.push({ job: j, index: index++, where, slice, input: toInput(slice, spec), name: job.name, label });
          if (pending.length === batch) await flush();
        }
      } catch (e) {
        // A volume that fails part way fails whole, as one that fails at once: its slices still
        // waiting for a batch are dropped, and its lines are the one reason.
        for (let i = pending.length - 1; i >= 0; i--) if (pending[i].job === j) pending.splice(i, 1);
        results[j] = [{ file: job.file, ...series, error: reason(e, job.file) }];
      }
      continue;
    }
    try {
      const slices = await readSlices(new Uint8Array(await readFile(job.file)), { window: settings.window });
      const inputs = slices.map((slice) => toInput(slice, spec));
      for (const [f, slice] of slices.entries()) {
        const frame = slices.length > 1 ? f + 1 : undefined;
        pending.push({ job: j, index: f, where: { file: job.file, ...(frame === undefined ? {} : { frame }) }, slice, input: inputs[f], name: job.name, frame });
        if (pending.length === batch) await flush();
      }
    } catch (e) {
      results[j] = [{ file: job.file, error: reason(e, job.file) }];
    }
  }
  await flush();
  report(jobs.length);
}

/** Why an input failed, in one line; any error is confined to its input. */
export function reason(e: unknown, file?: string): string {
  if (e instanceof SimdcnnError) return `${e.name}: ${e.message}`;
  if (file !== undefined && typeof e === "object" && e !== null && "code" in e) {
    const f = FileError.from(e, file, "read");
    return `${f.name}: ${f.message}`;
  }
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}
