import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FileError, SimdcnnError, UnsupportedError } from "../errors.js";
import type { DataSet } from "../io/dicom-write.js";
import { decodePng } from "../io/png.js";
import { type Axis, slicing } from "../io/volume.js";
import { writeAtomic } from "./files.js";
import { hasDicomMarker } from "./inputs.js";
import type { Job } from "./jobs.js";
import type { Failure, Result, SegmentResult, Where } from "./output.js";

// Results back into the archive: after a run, a DICOM Segmentation (segment --seg) or Structured
// Report (classify --sr) per DICOM input (a series, or a file with all its frames), written into
// a folder and, with --store, sent to the DICOMweb service with STOW-RS. The objects are made
// from the lines and masks the run produced, so that they come out the same however the slices
// were run (in this process, in worker processes, in slabs).

/** Where the objects go: a folder, and with `store` also the DICOMweb service at that URL. */
export interface ArchiveOptions {
  dir: string;
  store?: string;
  axis: Axis;
  /** The model file, whose name and hash identify the algorithm. */
  model: string;
}

// How long one STOW-RS request may take.
const STORE_TIMEOUT_MS = 120_000;

/** One DICOM input's source frames in order: each frame's file, its frame index, and its lines. */
interface Frames<R> {
  job: Job & { name: string };
  files: string[];
  /** Per line of the input: which source file (index into `files`; -1 for a volume's slice across its files) and frame it is. */
  lines: { line: R; file: number; frame: number }[];
  where: Where;
}

/**
 * Writes a DICOM Segmentation per DICOM input into `o.dir` (`<name>.seg.dcm`), from the masks
 * that the lines name, and records its path (and stored URL) on the input's lines. An input
 * that is not DICOM, or whose object cannot be made, written or stored, gets a line with the
 * reason; its other lines stay as they are.
 */
export async function archiveSegmentations(
  jobs: readonly Job[], results: SegmentResult[], s: { labels: string[]; colors: [number, number, number][]; background: number }, o: ArchiveOptions,
): Promise<number> {
  const algorithm = await algorithmOf(o.model);
  const { writeDicomSeg } = await import("../io/dicom-seg.js");
  return archive(jobs, results, o, "seg", async (input) => {
    const headers = await sourceHeaders(input.files);
    const labels = input.files.map((_, k) => new Uint8Array(Number(headers[k].Rows) * Number(headers[k].Columns) * frameCount(headers[k])));
    const volume = "volume" in input.job && input.job.volume.kind === "series" ? input.job.volume.plan : undefined;
    for (const { line, file, frame } of input.lines) {
      const r = line as Extract<SegmentResult, { mask: string }>;
      const mask = await readMask(r.mask);
      if (volume === undefined) {
        const [rows, columns] = [Number(headers[file].Rows), Number(headers[file].Columns)];
        if (mask.length !== rows * columns) throw new UnsupportedError(`the mask '${r.mask}' is ${r.width} x ${r.height}; the DICOM frame is ${columns} x ${rows}`);
        labels[file].set(mask, frame * rows * columns);
        continue;
      }
      // A slice of a volume along any axis: each mask pixel back to its voxel, i.e. to a pixel of one file.
      const sl = slicing(volume, o.axis);
      const { dims } = volume;
      const [w, hgt] = [dims[sl.column], dims[sl.row]];
      if (mask.length !== w * hgt) throw new UnsupportedError(`the mask '${r.mask}' is ${r.width} x ${r.height}; the series' ${o.axis} slices are ${w} x ${hgt}`);
      const n = sl.flipNormal ? sl.count - 1 - r.slice! : r.slice!;
      const voxel = [0, 0, 0];
      voxel[sl.normal] = n;
      for (let y = 0; y < hgt; y++) {
        voxel[sl.row] = sl.flipRow ? hgt - 1 - y : y;
        for (let x = 0; x < w; x++) {
          voxel[sl.column] = sl.flipColumn ? w - 1 - x : x;
          labels[voxel[2]][voxel[1] * dims[0] + voxel[0]] = mask[y * w + x];
        }
      }
    }
    const frames = input.files.flatMap((_, k) => {
      const size = Number(headers[k].Rows) * Number(headers[k].Columns);
      return Array.from({ length: frameCount(headers[k]) }, (_, f) => ({ source: headers[k], frame: f, labels: labels[k].subarray(f * size, (f + 1) * size) }));
    });
    return writeDicomSeg(frames, { labels: s.labels, colors: s.colors, background: s.background, algorithm });
  });
}

/**
 * Writes a DICOM Comprehensive SR per DICOM input into `o.dir` (`<name>.sr.dcm`): each classified
 * frame's top class and probability, referencing that frame. As archiveSegmentations, an input
 * that cannot have one gets a line with the reason. A volume's slices must be the series' own
 * (sliced along the axis its files stack on), so that each is one source image.
 */
export async function archiveReports(jobs: readonly Job[], results: Result[], o: ArchiveOptions): Promise<number> {
  const algorithm = await algorithmOf(o.model);
  const { writeDicomSr } = await import("../io/dicom-sr.js");
  return archive(jobs, results, o, "sr", async (input) => {
    const headers = await sourceHeaders(input.files);
    const findings = input.lines.map(({ line, file, frame }) => {
      const top = (line as Extract<Result, { top: unknown }>).top[0];
      return { source: headers[file], frame, label: top.label, probability: top.probability };
    });
    return writeDicomSr(findings, { algorithm });
  });
}

async function archive<R extends Where>(
  jobs: readonly Job[], results: (R | Failure)[], o: ArchiveOptions, kind: "seg" | "sr", make: (input: Frames<R>) => Promise<Uint8Array>,
): Promise<number> {
  let written = 0;
  for (const job of jobs) {
    if ("error" in job || job.name === undefined) continue;
    const named = job as Job & { name: string };
    let input: Frames<R> | undefined;
    try {
      input = await framesOf(named, results, o.axis, kind);
      if (input === undefined) continue;
      const path = join(o.dir, `${named.name}.${kind}.dcm`);
      const bytes = await make(input);
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (e) {
        throw FileError.from(e, dirname(path), "create");
      }
      await writeAtomic(path, bytes);
      written++;
      for (const l of input.lines) Object.assign(l.line, { [kind]: path });
      if (o.store !== undefined) {
        const { storeInstance } = await import("../io/dicomweb.js");
        const stored = await storeInstance(o.store, bytes, { timeoutMs: STORE_TIMEOUT_MS });
        for (const l of input.lines) Object.assign(l.line, { stored });
      }
    } catch (e) {
      if (!(e instanceof SimdcnnError)) throw e;
      results.push({ ...(input?.where ?? { file: job.file }), error: `${e.name}: ${e.message}` } as Failure);
    }
  }
  return written;
}

/**
 * A job's lines with the source frame of each; undefined when the job has no successful lines
 * or any failed ones (its failure is already reported, and no object is made of part of it).
 */
async function framesOf<R extends Where>(job: Job & { name: string }, results: (R | Failure)[], axis: Axis, kind: string): Promise<Frames<R> | undefined> {
  const what = kind === "seg" ? "a DICOM Segmentation (--seg)" : "a DICOM SR (--sr)";
  if ("volume" in job) {
    const { volume } = job;
    if (volume.kind === "nifti") throw new UnsupportedError(`'${job.file}' is a NIfTI volume; ${what} is made of DICOM inputs only, which it references`);
    const series = volume.plan.uid;
    const mine = results.filter((r) => r.file === job.file && (r as Where).series === (series || undefined));
    if (mine.length === 0 || mine.some((r) => "error" in r)) return undefined;
    const s = slicing(volume.plan, axis);
    if (kind === "sr" && s.normal !== 2) {
      throw new UnsupportedError(`${what} references one source image per slice: slice the series along the axis its files stack on, not --axis ${axis}`);
    }
    if (new Set(mine.map((r) => (r as Where).slice)).size !== s.count) return undefined;
    const file = (slice: number) => (s.normal !== 2 ? -1 : s.flipNormal ? s.count - 1 - slice : slice);
    const lines = (mine as R[]).map((line) => ({ line, file: file(line.slice!), frame: 0 }));
    return { job, files: volume.paths, lines, where: { file: job.file, ...(series ? { series } : {}) } };
  }
  const mine = results.filter((r) => r.file === job.file);
  if (mine.length === 0 || mine.some((r) => "error" in r)) return undefined;
  if (!(await hasDicomMarker(job.file))) throw new UnsupportedError(`'${job.file}' is not DICOM; ${what} is made of DICOM inputs only, which it references`);
  const lines = (mine as R[]).map((line) => ({ line, file: 0, frame: (line.frame ?? 1) - 1 }));
  return { job, files: [job.file], lines, where: { file: job.file } };
}

async function sourceHeaders(files: readonly string[]): Promise<DataSet[]> {
  const { readHeader } = await import("../io/dicom-write.js");
  const out: DataSet[] = [];
  for (const f of files) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(f));
    } catch (e) {
      throw FileError.from(e, f, "read");
    }
    out.push(await readHeader(bytes, f));
  }
  return out;
}

const frameCount = (h: DataSet) => Math.max(1, Number(h.NumberOfFrames ?? 1) || 1);

async function readMask(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw FileError.from(e, path, "read");
  }
  return Uint8Array.from(decodePng(bytes).data);
}

/** The model as an algorithm: its file name without .onnx, and the start of its SHA-256 as the version. */
async function algorithmOf(model: string): Promise<{ name: string; version: string }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(model));
  } catch (e) {
    throw FileError.from(e, model, "read");
  }
  return { name: basename(model).replace(/\.onnx$/i, ""), version: `sha256:${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}` };
}
