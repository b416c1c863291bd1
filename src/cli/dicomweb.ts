import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileError, SimdcnnError } from "../errors.js";
import { retrieveSeries, searchSeries } from "../io/dicomweb.js";
import type { Input } from "./inputs.js";

// How long one DICOMweb request may take: a series of a few hundred CT slices comes in one answer.
const TIMEOUT_MS = 120_000;

// Modalities of series that hold no images: segmentations, reports, key objects, presentation
// states, radiotherapy structures and plans, encapsulated documents.
const NOT_IMAGES = new Set(["SEG", "SR", "KO", "PR", "RTSTRUCT", "RTPLAN", "DOC"]);

/** What --dicomweb, --study and --series ask for. */
export interface DicomwebSource {
  url: string;
  study: string;
  series?: string;
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
      // Results that simdcnn (or anything else) stored in the study are not images to read.
      uids = (await searchSeries(base, source.study, options)).filter((s) => !NOT_IMAGES.has(s.modality ?? "")).map((s) => s.uid);
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
