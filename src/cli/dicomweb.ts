import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileError, SimdcnnError } from "../errors.js";
import { retrieveSeries, searchInstances, searchSeries } from "../io/dicomweb.js";
import type { Axis } from "../io/volume.js";
import { type Input, expandInputs } from "./inputs.js";
import type { Job } from "./jobs.js";
import { outputNames } from "./naming.js";
import { volumeInputs } from "./volumes.js";

// How long one DICOMweb request may take: a series of a few hundred CT slices comes in one answer.
const TIMEOUT_MS = 120_000;

/** What --dicomweb, --study and --series ask for. */
export interface DicomwebSource {
  url: string;
  study: string;
  series?: string;
}

/** One series of a PACS study, as a queued job names it: fetched by the worker that takes the job. */
export interface SeriesSource {
  url: string;
  study: string;
  series: string;
  /** The SOP Instance UIDs the server listed, sorted: a series that gains or loses instances is other work. */
  instances: string[];
}

/** An input that is a PACS series, fetched where it runs (a queue's worker). */
export interface DicomwebInput {
  /** The series' URL, as the output names it. */
  file: string;
  /** `series-N`, N its place in the server's list: the name a local run gives its folder. */
  key: string;
  dicomweb: SeriesSource;
}

/**
 * The series of a study (or the one asked for) as inputs for a queue (QIDO-RS only: nothing is
 * fetched here), each with its instances' UIDs; a series or study the server refused, did not know
 * or did not answer in time is a failed input.
 */
export async function seriesInputs(source: DicomwebSource): Promise<(DicomwebInput | { file: string; error: string })[]> {
  const base = source.url.replace(/\/+$/, "");
  const studyLabel = `${base}/studies/${source.study}`;
  const options = { timeoutMs: TIMEOUT_MS };
  let uids: string[];
  try {
    uids = source.series !== undefined ? [source.series] : await searchSeries(base, source.study, options);
  } catch (e) {
    return [{ file: studyLabel, error: reason(e) }];
  }
  if (uids.length === 0) return [{ file: studyLabel, error: `DicomwebError: ${studyLabel}: the server lists no series in this study` }];
  const out: (DicomwebInput | { file: string; error: string })[] = [];
  for (const [n, series] of uids.entries()) {
    const file = `${studyLabel}/series/${series}`;
    try {
      const instances = (await searchInstances(base, source.study, series, options)).sort();
      if (instances.length === 0) out.push({ file, error: `DicomwebError: ${file}: the server lists no instances` });
      else out.push({ file, key: `series-${n + 1}`, dicomweb: { url: base, study: source.study, series, instances } });
    } catch (e) {
      out.push({ file, error: reason(e) });
    }
  }
  return out;
}

/**
 * For a queue's worker: fetches a series into a folder below `dir` and gives its jobs as a local
 * run makes them (a volume, and loose files for instances that are not slices of it), named below
 * `name`, and `relabel`, which puts the series' URL in place of the folder in messages. A series
 * the server no longer serves throws its DicomwebError, so the job is retried and then fails.
 */
export async function fetchSeriesJobs(s: SeriesSource, dir: string, axis: Axis, name: string, warn: (message: string) => void): Promise<{ jobs: Job[]; relabel(text: string): string }> {
  const fetched = await fetchDicomweb(s, dir);
  if (fetched.failed.length > 0) throw new Error("error" in fetched.failed[0] ? fetched.failed[0].error : "the series was not fetched");
  const [{ folder, label }] = fetched.folders;
  const relabel = (text: string) => text.replaceAll(folder, label);
  const inputs = await volumeInputs(await expandInputs([folder]), axis, (w) => warn(relabel(w)));
  const loose = outputNames(inputs.flatMap((i) => ("volume" in i || "error" in i ? [] : [i.file])));
  const jobs = inputs.map((i): Job => ("error" in i ? i : { ...i, name: "volume" in i ? name : `${name}/${loose.get(i.file)}` }));
  return { jobs, relabel };
}

/**
 * Fetches the series of a study (or the one series asked for) into folders below `dir`, one per
 * series (`series-N`, in the server's order), so that they are read like folders given on
 * the command line. Returns the inputs: a folder per series fetched, or a failed input per
 * series or study the server refused, did not know or did not answer in time; and `labels`, the
 * URL that stands for each folder in the output.
 */
export async function fetchDicomweb(source: DicomwebSource, dir: string): Promise<{ folders: { folder: string; label: string }[]; failed: Input[] }> {
  const base = source.url.replace(/\/+$/, "");
  const studyLabel = `${base}/studies/${source.study}`;
  const options = { timeoutMs: TIMEOUT_MS };
  const failed: Input[] = [];
  const folders: { folder: string; label: string }[] = [];
  let uids: string[];
  if (source.series !== undefined) uids = [source.series];
  else {
    try {
      uids = await searchSeries(base, source.study, options);
    } catch (e) {
      return { folders, failed: [{ file: studyLabel, error: reason(e) }] };
    }
    if (uids.length === 0) return { folders, failed: [{ file: studyLabel, error: `DicomwebError: ${studyLabel}: the server lists no series in this study` }] };
  }
  for (const [n, uid] of uids.entries()) {
    const label = `${studyLabel}/series/${uid}`;
    try {
      const instances = await retrieveSeries(base, source.study, uid, options);
      if (instances.length === 0) {
        failed.push({ file: label, error: `DicomwebError: ${label}: the server sent no instances` });
        continue;
      }
      const folder = join(dir, `series-${n + 1}`);
      try {
        await mkdir(folder, { recursive: true });
        for (const [i, bytes] of instances.entries()) await writeFile(join(folder, `${i + 1}.dcm`), bytes);
      } catch (e) {
        throw FileError.from(e, folder, "write in");
      }
      folders.push({ folder, label });
    } catch (e) {
      failed.push({ file: label, error: reason(e) });
    }
  }
  return { folders, failed };
}

function reason(e: unknown): string {
  if (e instanceof SimdcnnError) return `${e.name}: ${e.message}`;
  throw e;
}
