import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Backend } from "../node.js";
import type { ClassifyOptions } from "../cli/classify.js";
import type { DetectOptions } from "../cli/detect.js";
import type { DetectResult, Result, SegmentResult } from "../cli/output.js";
import type { SegmentOptions } from "../cli/segment.js";
import type { SeriesSource } from "../cli/dicomweb.js";
import type { VolumeInput } from "../cli/volumes.js";
import type { S3Object } from "./s3.js";

/**
 * The commands a queue worker runs. Each names its settings type; further commands join as
 * entries with their own settings, and workers that do not know a command fail its jobs with that
 * reason instead of guessing.
 */
export interface CommandSettings {
  classify: Omit<ClassifyOptions, "format" | "out">;
  /** `out` is the masks' folder, absolute. */
  segment: Omit<SegmentOptions, "format">;
  /** `boxes` is the box images' folder, absolute. */
  detect: Omit<DetectOptions, "format">;
}
export type CommandName = keyof CommandSettings;

/** The result lines of one input, per command. */
export interface CommandResults {
  classify: Result;
  segment: SegmentResult;
  detect: DetectResult;
}
export type QueueResult = CommandResults[CommandName];

/**
 * One job on the queue: one input for one command (a file, a slab of a volume: a NIfTI file or
 * a DICOM series, or a series of a PACS study, which the worker fetches), with everything a worker on another machine needs and nothing it would have
 * to ask the producer for. Paths are absolute, so they must name the same files on every machine
 * (a shared filesystem); the hashes make a job's id idempotent and let a worker refuse a file
 * that changed after it was enqueued.
 */
export interface JobRecord<C extends CommandName = CommandName> {
  command: C;
  /** The input's absolute path (a PACS series or an object in a bucket: its URL). */
  input: string;
  /** The input as the user named it, for the results. */
  file: string;
  /**
   * sha256 of the input's bytes, hex (of a series: of its files' hashes, in the plan's order; of a
   * PACS series: of its instances' UIDs; of an object in a bucket: of its ETag).
   */
  inputHash: string;
  /** A volume's plan (paths absolute) and the slab of its slices along the axis this job covers. */
  volume?: VolumeInput;
  /** A PACS series to fetch. */
  dicomweb?: SeriesSource;
  /** An object of a bucket to fetch. */
  s3?: S3Object;
  /** The model's absolute path, and sha256 of its bytes (and of its sidecar's, when there is one). */
  model: string;
  modelHash: string;
  backend: "auto" | Backend;
  /** The command's settings, model path made absolute, output folders absolute. */
  settings: CommandSettings[C];
  /** The name of the input's output files (src/cli/naming.ts), when the command writes any. */
  name?: string;
}

export function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/**
 * The job's id: a hash of what decides its result (command, input path and content, model and
 * settings), so that enqueueing the same work twice, from a restarted producer or another one,
 * adds nothing. BullMQ refuses ids that are plain integers, hence the prefix.
 */
export function jobId(r: JobRecord): string {
  const { command, input, inputHash, modelHash, backend, settings, name, volume } = r;
  return `j${sha256(JSON.stringify([command, input, inputHash, modelHash, backend, settings, name ?? null, volume?.slab ?? null])).slice(0, 40)}`;
}

/** sha256 of a model file and of its sidecar (PATH.json) when it has one: both decide its settings. */
export async function modelHashOf(path: string): Promise<string> {
  const model = await readFile(path);
  const sidecar = await readFile(path.replace(/\.onnx$/i, "") + ".json").catch(() => undefined);
  return sha256(model, sidecar === undefined ? "" : "\u0000sidecar\u0000", sidecar ?? "");
}

/** The files an input reads: a series' files, else the input itself. */
export function inputFiles(input: string, volume: VolumeInput | undefined): string[] {
  return volume?.volume.kind === "series" ? volume.volume.paths : [input];
}

/** sha256 of an input's bytes; of a series, of its files' hashes in order. */
export async function inputHashOf(files: readonly string[]): Promise<string> {
  if (files.length === 1) return sha256(await readFile(files[0]));
  const hashes: string[] = [];
  for (const f of files) hashes.push(sha256(await readFile(f)));
  return sha256(hashes.join("\n"));
}
