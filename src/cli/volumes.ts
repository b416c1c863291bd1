import { open, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Gunzip } from "fflate";
import { FileError, InputFormatError, SimdcnnError } from "../errors.js";
import { decodeDicom, dicomGeometry, type DicomGeometry } from "../io/dicom.js";
import { readNifti, readNiftiHeader } from "../io/nifti.js";
import { type SeriesPlan, planSeries, seriesVolume } from "../io/series.js";
import { type Axis, type VolumeSlice, slicing, volumeSlices } from "../io/volume.js";
import type { Input } from "./inputs.js";

/**
 * A volume that a command (classify, segment) reads slice by slice: a NIfTI file, or a DICOM
 * series planned from its files' headers. `key` names its outputs (a folder of one series is
 * named as the folder, a folder of several `<folder>/series-N`); `count` is its number of slices
 * along the axis; `slab`, when set, the slices [from, to) that this job covers. Plain data: a
 * worker process gets it as JSON.
 */
export interface VolumeInput {
  file: string;
  key: string;
  volume: { kind: "nifti" } | { kind: "series"; plan: SeriesPlan; paths: string[] };
  count: number;
  slab?: [number, number];
}

const NIFTI_FILE = /\.nii(\.gz)?$/i;
// A DICOM header (everything before the Pixel Data) fits in this many bytes but for rare files
// with large private data, which are then read whole.
const HEAD = 64 * 1024;

/**
 * Turns the volumes among a command's inputs into volume inputs, in the place of their first
 * file: each NIfTI file (.nii, .nii.gz), and the single-frame DICOM files of one folder that
 * share a Series Instance UID, two or more of them (series.ts orders them). Other files stay as
 * they are. A series' warnings (a missing slice, uneven spacing) go to `warn`; a series or NIfTI
 * header that cannot be used becomes a failed input with the reason.
 */
export async function volumeInputs(inputs: readonly Input[], axis: Axis, warn: (message: string) => void): Promise<Input[]> {
  const out: (Input | undefined)[] = [];
  const dicom = new Map<string, { at: number; file: string; geometry: DicomGeometry }[]>();
  for (const input of inputs) {
    if ("error" in input || "volume" in input || "dicomweb" in input || "s3" in input) {
      out.push(input);
      continue;
    }
    const { file } = input;
    if (NIFTI_FILE.test(file)) {
      out.push(await niftiInput(file, axis));
      continue;
    }
    const geometry = await dicomHead(file);
    if (geometry?.seriesUid !== undefined && geometry.frames === 1) {
      const dir = dirname(file);
      dicom.set(dir, [...(dicom.get(dir) ?? []), { at: out.length, file, geometry }]);
    }
    out.push(input);
  }
  for (const [dir, files] of dicom) {
    const counts = new Map<string, number>();
    for (const f of files) counts.set(f.geometry.seriesUid!, (counts.get(f.geometry.seriesUid!) ?? 0) + 1);
    const members = files.filter((f) => counts.get(f.geometry.seriesUid!)! > 1);
    const at = new Map(members.map((m) => [m.file, m.at]));
    const plans = planSeries(members.map((m) => ({ name: m.file, geometry: m.geometry })));
    for (const [n, p] of plans.entries()) {
      const first = Math.min(...p.files.map((f) => at.get(f)!));
      for (const f of p.files) out[at.get(f)!] = undefined;
      const key = plans.length === 1 ? dir : join(dir, `series-${n + 1}`);
      if ("error" in p) {
        out[first] = { file: dir, error: `${p.error.name}: ${p.error.message}` };
        continue;
      }
      for (const w of p.warnings) warn(`${dir}: ${w}`);
      out[first] = { file: dir, key, volume: { kind: "series", plan: p, paths: p.files }, count: slicing(p, axis).count };
    }
  }
  return out.filter((i): i is Input => i !== undefined);
}

async function niftiInput(file: string, axis: Axis): Promise<Input> {
  try {
    const head = await niftiHead(file);
    const header = await readNiftiHeader(head);
    // Named without .gz, so that outputs take the name without .nii: volume.nii.gz -> volume-axial3.png.
    return { file, key: file.replace(/\.gz$/i, ""), volume: { kind: "nifti" }, count: slicing(header, axis).count };
  } catch (e) {
    if (e instanceof SimdcnnError) return { file, error: `${e.name}: ${e.message}` };
    const f = FileError.from(e, file, "read");
    return { file, error: `${f.name}: ${f.message}` };
  }
}

// The first 544 bytes of a NIfTI file's (inflated) data: both headers and the extension flag.
async function niftiHead(file: string): Promise<Uint8Array> {
  const want = 544;
  const handle = await open(file, "r");
  try {
    const chunk = new Uint8Array(HEAD);
    const first = await handle.read(chunk, 0, HEAD, 0);
    if (!(chunk[0] === 0x1f && chunk[1] === 0x8b)) return chunk.slice(0, first.bytesRead);
    // A gzipped file is inflated only as far as the header: a volume of hundreds of megabytes is not read here.
    const parts: Uint8Array[] = [];
    let have = 0;
    const gunzip = new Gunzip((data) => {
      parts.push(data);
      have += data.length;
    });
    let position = 0;
    let read = first.bytesRead;
    while (read > 0 && have < want) {
      try {
        gunzip.push(chunk.slice(0, read));
      } catch (e) {
        throw new InputFormatError(`nifti: the gzip stream does not inflate: ${e instanceof Error ? e.message : String(e)}`);
      }
      position += read;
      read = (await handle.read(chunk, 0, HEAD, position)).bytesRead;
    }
    const all = new Uint8Array(have);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return all;
  } finally {
    await handle.close();
  }
}

async function dicomHead(file: string): Promise<DicomGeometry | undefined> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    // The marker first, so that a folder of PNGs costs one small read per file.
    const marker = new Uint8Array(132);
    if ((await handle.read(marker, 0, 132, 0)).bytesRead < 132 || String.fromCharCode(...marker.subarray(128, 132)) !== "DICM") return undefined;
    const head = new Uint8Array(HEAD);
    const { bytesRead } = await handle.read(head, 0, HEAD, 0);
    try {
      const g = dicomGeometry(head.subarray(0, bytesRead));
      if (g.rows > 0 || bytesRead < HEAD) return g;
    } catch {
      if (bytesRead < HEAD) return undefined;
    }
    return dicomGeometry(new Uint8Array(await readFile(file)));
  } catch {
    // A file whose header does not parse is read on its own, where its error is reported.
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Splits each volume of more than `minimum` slices into up to `parts` contiguous slabs of about
 * equal size, so that one large volume keeps every worker process busy. Other inputs stay whole.
 */
export function slabs(inputs: readonly Input[], parts: number, minimum: number): Input[] {
  return inputs.flatMap((input) => {
    if (!("volume" in input) || input.slab) return [input];
    const n = Math.max(1, Math.min(parts, Math.floor(input.count / minimum)));
    return Array.from({ length: n }, (_, i) => ({ ...input, slab: [Math.floor((input.count * i) / n), Math.floor((input.count * (i + 1)) / n)] as [number, number] }));
  });
}

/**
 * The slices of a volume input along `axis` (its slab's, if it has one), one at a time, so that
 * only the volume (when it must be read whole) and the slices in flight are in memory. A DICOM
 * series sliced along its own stacking axis decodes one file per slice when the window is known
 * (given, or in the files); otherwise, or cut across, the whole volume is read first.
 */
export async function* readVolumeSlices(input: VolumeInput, axis: Axis, window?: readonly [number, number]): AsyncGenerator<VolumeSlice> {
  const [from, to] = input.slab ?? [0, input.count];
  const { volume } = input;
  if (volume.kind === "nifti") {
    const v = await readNifti(new Uint8Array(await readFile(input.file)));
    if (window) v.range = [window[0] - window[1] / 2, window[0] + window[1] / 2];
    for (let i = from; i < to; i++) yield* volumeSlices(v, axis, i, i + 1);
    return;
  }
  const { plan, paths } = volume;
  const s = slicing(plan, axis);
  const read = async (path: string) => {
    try {
      return (await decodeDicom(new Uint8Array(await readFile(path)), window))[0];
    } catch (e) {
      if (!(e instanceof SimdcnnError)) throw FileError.from(e, path, "read");
      e.message = `'${path}': ${e.message}`;
      throw e;
    }
  };
  if (s.normal === 2 && (window ?? plan.window)) {
    for (let i = from; i < to; i++) {
      const k = s.flipNormal ? s.count - 1 - i : i;
      // A volume of the one file: its slice is slice i of the series, at that file's position.
      const [slice] = volumeSlices(seriesVolume(plan, [await read(paths[k])], k, window), axis);
      yield { ...slice, index: i, source: slice.source.replace(/ slice \d+\/\d+$/, ` slice ${i + 1}/${s.count}`) };
    }
    return;
  }
  const decoded = [];
  for (const path of paths) decoded.push(await read(path));
  const v = seriesVolume(plan, decoded, 0, window);
  decoded.length = 0;
  for (let i = from; i < to; i++) yield* volumeSlices(v, axis, i, i + 1);
}
