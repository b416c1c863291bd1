import { ArgumentError, InputFormatError, SimdcnnError, UnsupportedError } from "../errors.js";
import { type DicomGeometry, decodeDicomImage } from "./dicom.js";
import type { Slice } from "./slice.js";
import { type Volume, extent } from "./volume.js";

/** One single-frame DICOM file of a folder, by the name the caller knows it by, and its geometry. */
export interface SeriesMember {
  name: string;
  geometry: DicomGeometry;
}

/**
 * A DICOM series in order, with the geometry of the volume its files make, found from their
 * headers alone: what reading the files' pixels (seriesVolume) needs. Plain data, so that it can
 * be handed to another process as JSON.
 */
export interface SeriesPlan {
  /** Series Instance UID, or '' for files without one. */
  uid: string;
  /** The files' names in slice order: by position along the slice normal, or by Instance Number. */
  files: string[];
  sortedBy: "position" | "instance number" | "name";
  dims: [number, number, number];
  spacing: [number, number, number];
  /** Voxel (i, j, k) to RAS millimetres; see Volume. */
  affine: number[][];
  /** The RAS position of each file's first pixel, when every file has one. */
  planes?: [number, number, number][];
  window?: [number, number];
  modality?: string;
  /** What is wrong but not fatal: a gap where a slice is missing, uneven spacing, two slices at one position, no positions. */
  warnings: string[];
}

/** A series whose files cannot make one volume, and why. */
export interface SeriesFailure {
  uid: string;
  files: string[];
  error: SimdcnnError;
}

// Direction cosines of two files agree when they differ by less than this: scanners write them
// with 6 or so decimals, and a real difference between series is far larger.
const COSINE_TOLERANCE = 1e-3;
// Spacing between neighbouring slices may differ from the series' usual spacing by this fraction
// (rounding of positions written with few decimals) before it is called uneven.
const SPACING_TOLERANCE = 0.1;

const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: readonly number[], b: readonly number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const mm = (v: number) => `${Number(v.toFixed(3))} mm`;
// DICOM's LPS to NIfTI's RAS: x and y change sign.
const ras = (v: readonly number[]): [number, number, number] => [-v[0], -v[1], v[2]];

/**
 * Groups single-frame DICOM files by Series Instance UID (in the order each UID is first met) and
 * orders each series: by Image Position (Patient) projected on the slice normal (the cross product
 * of Image Orientation (Patient)'s row and column cosines) when every file has both, else by
 * Instance Number, else by name, with a warning. A gap where slices are missing, uneven spacing
 * or two slices at one position are warnings with the positions in question; files of one series
 * that differ in size or orientation make that series a failure.
 */
export function planSeries(members: readonly SeriesMember[]): (SeriesPlan | SeriesFailure)[] {
  const groups = new Map<string, SeriesMember[]>();
  for (const m of members) {
    const uid = m.geometry.seriesUid ?? "";
    groups.set(uid, [...(groups.get(uid) ?? []), m]);
  }
  return [...groups].map(([uid, group]) => {
    try {
      return plan(uid, group);
    } catch (e) {
      if (!(e instanceof SimdcnnError)) throw e;
      return { uid, files: group.map((m) => m.name), error: e };
    }
  });
}

function plan(uid: string, group: SeriesMember[]): SeriesPlan {
  const first = group[0].geometry;
  const label = uid ? `series ${uid}` : "files without a Series Instance UID";
  for (const m of group) {
    const g = m.geometry;
    if (g.frames !== 1) throw new UnsupportedError(`${label}: '${m.name}' has ${g.frames} frames; a series is read from single-frame files`);
    if (g.rows !== first.rows || g.columns !== first.columns) {
      throw new InputFormatError(`${label}: '${m.name}' is ${g.columns} x ${g.rows} pixels, '${group[0].name}' ${first.columns} x ${first.rows}; one volume needs one size`);
    }
    if (first.orientation && g.orientation && g.orientation.some((c, i) => Math.abs(c - first.orientation![i]) > COSINE_TOLERANCE)) {
      throw new InputFormatError(`${label}: '${m.name}' has Image Orientation (Patient) ${g.orientation.join("\\")}, '${group[0].name}' ${first.orientation.join("\\")}; one volume needs one orientation`);
    }
  }
  const warnings: string[] = [];
  const located = group.every((m) => m.geometry.position && m.geometry.orientation);
  const orientation = first.orientation ?? [1, 0, 0, 0, 1, 0];
  const rowCos = orientation.slice(0, 3);
  const colCos = orientation.slice(3, 6);
  const normal = cross(rowCos, colCos);
  const [rowSpacing, colSpacing] = first.pixelSpacing ?? [1, 1];

  let sorted: SeriesMember[];
  let sortedBy: SeriesPlan["sortedBy"];
  if (located) {
    sorted = [...group].sort((a, b) => dot(a.geometry.position!, normal) - dot(b.geometry.position!, normal));
    sortedBy = "position";
  } else {
    const missing = group.filter((m) => !(m.geometry.position && m.geometry.orientation)).length;
    const numbered = group.every((m) => m.geometry.instanceNumber !== undefined);
    sorted = [...group].sort((a, b) =>
      numbered ? a.geometry.instanceNumber! - b.geometry.instanceNumber! : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    sortedBy = numbered ? "instance number" : "name";
    warnings.push(`${label}: ${missing} of ${group.length} files lack Image Position/Orientation (Patient); slices are ordered by ${sortedBy} and their positions are nominal`);
  }

  const n = sorted.length;
  let step = first.sliceThickness ?? 1;
  let kVector = normal.map((c) => c * step);
  if (located && n > 1) {
    const along = sorted.map((m) => dot(m.geometry.position!, normal));
    const steps = along.slice(1).map((s, i) => s - along[i]);
    const nominal = [...steps].sort((a, b) => a - b)[Math.floor(steps.length / 2)];
    let even = true;
    for (const [i, d] of steps.entries()) {
      const where = `'${sorted[i].name}' at ${mm(along[i])} and '${sorted[i + 1].name}' at ${mm(along[i + 1])}`;
      if (d < 1e-3) {
        warnings.push(`${label}: two slices at one position: ${where}`);
        even = false;
      } else if (Math.abs(d - nominal) > SPACING_TOLERANCE * nominal) {
        // A whole multiple of the spacing is slices missing; anything else is just uneven.
        const missing = Math.abs(d / nominal - Math.round(d / nominal)) < SPACING_TOLERANCE ? Math.round(d / nominal) - 1 : 0;
        const why = missing >= 1 ? ` (${missing} slice${missing === 1 ? "" : "s"} missing?)` : "";
        warnings.push(`${label}: a gap of ${mm(d)} between ${where}, where the spacing is ${mm(nominal)}${why}`);
        even = false;
      }
    }
    if (nominal > 1e-3) step = nominal;
    // An evenly spaced series steps by the mean offset between first and last slice, which keeps
    // a gantry tilt (slices shifted within their planes); otherwise by the usual spacing along the normal.
    const p0 = sorted[0].geometry.position!;
    const pn = sorted[n - 1].geometry.position!;
    kVector = even ? [0, 1, 2].map((w) => (pn[w] - p0[w]) / (n - 1)) : normal.map((c) => c * step);
  }
  const origin = sorted[0].geometry.position ?? [0, 0, 0];
  const lps = [0, 1, 2].map((w) => [rowCos[w] * colSpacing, colCos[w] * rowSpacing, kVector[w], origin[w]]);
  const affine = [[-lps[0][0], -lps[0][1], -lps[0][2], -lps[0][3]], [-lps[1][0], -lps[1][1], -lps[1][2], -lps[1][3]], lps[2], [0, 0, 0, 1]];
  return {
    uid, files: sorted.map((m) => m.name), sortedBy,
    dims: [first.columns, first.rows, n],
    spacing: [colSpacing, rowSpacing, step],
    affine,
    ...(located ? { planes: sorted.map((m) => ras(m.geometry.position!)) } : {}),
    ...(first.window ? { window: first.window } : {}),
    ...(first.modality ? { modality: first.modality } : {}),
    warnings,
  };
}

/**
 * The volume of files `first` .. `first + slices.length - 1` of a planned series (all by
 * default), from their decoded slices in plan order. Its range is `window` ([center, width]) if
 * given, else the series' first Window Center/Width, else the extent of the values.
 */
export function seriesVolume(plan: SeriesPlan, slices: readonly Slice[], first = 0, window?: readonly [number, number]): Volume {
  const [columns, rows] = plan.dims;
  const count = slices.length;
  if (first < 0 || first + count > plan.files.length) throw new ArgumentError(`seriesVolume: slices ${first}..${first + count - 1} are not in a series of ${plan.files.length}`);
  for (const [k, s] of slices.entries()) {
    if (s.channels !== 1 || s.width !== columns || s.height !== rows) {
      throw new InputFormatError(`'${plan.files[first + k]}' decodes to ${s.width} x ${s.height} with ${s.channels} channel(s); the series is ${columns} x ${rows} grey`);
    }
  }
  // A volume of one slice takes that slice's data as it is.
  const data = slices.length === 1 ? slices[0].data : new Float32Array(columns * rows * count);
  if (slices.length !== 1) slices.forEach((s, k) => data.set(s.data, k * columns * rows));
  const w = window ?? plan.window;
  const affine = plan.affine.map((row) => [...row]);
  const planes = plan.planes?.slice(first, first + count);
  if (planes) [0, 1, 2].forEach((r) => (affine[r][3] = planes[0][r]));
  else [0, 1, 2].forEach((r) => (affine[r][3] += affine[r][2] * first));
  const what = ["dicom series", plan.modality, `${count}${count === plan.files.length ? "" : ` of ${plan.files.length}`} slices`].filter(Boolean).join(" ");
  return {
    dims: [columns, rows, count], spacing: plan.spacing, affine, ...(planes ? { planes } : {}), data,
    range: w ? [w[0] - w[1] / 2, w[0] + w[1] / 2] : extent(data),
    source: what,
  };
}

/** A series read whole: its plan and volume, or why it could not be read. */
export type SeriesResult = { plan: SeriesPlan; volume: Volume } | SeriesFailure;

/**
 * Reads a folder's worth of DICOM files (each a single-frame image of some series) into one
 * volume per series: planSeries's grouping and order, then every file decoded. A file that does
 * not decode fails its series, not the others.
 */
export async function readSeries(files: readonly { name: string; bytes: Uint8Array }[], options: { window?: readonly [number, number] } = {}): Promise<SeriesResult[]> {
  const decoded = new Map<string, Slice>();
  const members: SeriesMember[] = [];
  const failed = new Map<string, SimdcnnError>();
  for (const f of files) {
    try {
      const { slices, geometry } = await decodeDicomImage(f.bytes, options.window);
      members.push({ name: f.name, geometry });
      decoded.set(f.name, slices[0]);
    } catch (e) {
      if (!(e instanceof SimdcnnError)) throw e;
      failed.set(f.name, e);
    }
  }
  const out: SeriesResult[] = [...failed].map(([name, error]) => ({ uid: "", files: [name], error }));
  for (const p of planSeries(members)) {
    if ("error" in p) out.push(p);
    else {
      try {
        out.push({ plan: p, volume: seriesVolume(p, p.files.map((name) => decoded.get(name)!), 0, options.window) });
      } catch (e) {
        if (!(e instanceof SimdcnnError)) throw e;
        out.push({ uid: p.uid, files: p.files, error: e });
      }
    }
  }
  return out;
}
