import { ArgumentError } from "../errors.js";
import type { Slice } from "./slice.js";

/**
 * A 3-D image: a DICOM series or a NIfTI volume, in one geometry.
 *
 * `data` holds `dims[0] * dims[1] * dims[2]` values with i (dims[0]) fastest, then j, then k, in
 * the file's own units (modality units for DICOM, scl_slope/inter applied for NIfTI). `affine` is
 * the 4x4 row-major matrix from voxel indices (i, j, k, 1) to patient coordinates in millimetres
 * in NIfTI's RAS+ convention (+x toward the patient's Right, +y Anterior, +z Superior); DICOM's
 * LPS positions are converted.
 * `planes`, when given, is the RAS position of voxel (0, 0, k) for every k: a DICOM series whose
 * slices are not evenly spaced (a missing slice) keeps each slice's true position, which the
 * affine's single k step cannot. `range` is what "black to white" means, as for a Slice.
 */
export interface Volume {
  dims: [number, number, number];
  spacing: [number, number, number];
  affine: number[][];
  planes?: [number, number, number][];
  data: Float32Array;
  range: [number, number];
  /** What the volume was read from, for messages: 'nifti-1 int16 64x64x20', 'dicom series CT 16-bit 20 slices'. */
  source: string;
}

/** A plane of patient space that slices are taken in: axial slices stack along S, coronal along A, sagittal along R. */
export type Axis = "axial" | "coronal" | "sagittal";

export const AXES: readonly Axis[] = ["axial", "coronal", "sagittal"];

/** A slice of a volume with where it lies: its index along the axis (from 0) and the position of its centre along the axis, in mm (RAS). */
export interface VolumeSlice extends Slice {
  index: number;
  position: number;
}

// For each axis, the RAS axis the slices stack along, and the directions that a displayed slice's
// columns and rows go in patient space. They follow the radiological convention that DICOM
// viewers use: axial and coronal images show the patient's right on the left, sagittal images
// show anterior on the left, and rows of coronal and sagittal images run from head to foot.
const VIEWS: Record<Axis, { normal: number; column: [number, number]; row: [number, number] }> = {
  axial: { normal: 2, column: [0, -1], row: [1, -1] },
  coronal: { normal: 1, column: [0, -1], row: [2, -1] },
  sagittal: { normal: 0, column: [1, -1], row: [2, -1] },
};

/** How slices along an axis are taken from a volume's array: which voxel axis is across, down and through, and which run backwards. */
export interface Slicing {
  /** Voxel axes (0 = i, 1 = j, 2 = k) of a slice's columns, rows, and the slice stack. */
  column: number;
  row: number;
  normal: number;
  /** Whether that voxel axis runs against the displayed direction (columns, rows) or against increasing position (the stack). */
  flipColumn: boolean;
  flipRow: boolean;
  flipNormal: boolean;
  /** How many slices there are along the axis. */
  count: number;
}

const PERMUTATIONS = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

/**
 * Matches the voxel axes to patient axes by the affine's direction cosines: the pairing whose
 * directions are closest to R, A and S (largest summed |cosine|), so that an oblique (tilted)
 * acquisition is sliced along the voxel axis nearest the requested patient axis, without
 * resampling. Slices come in order of increasing position along the axis.
 */
export function slicing(volume: Pick<Volume, "dims" | "affine">, axis: Axis): Slicing {
  const view = VIEWS[axis];
  if (view === undefined) throw new ArgumentError(`axis must be one of ${AXES.join(", ")}, got '${String(axis)}'`);
  const { affine, dims } = volume;
  // cos[w][v]: the cosine between voxel axis v and patient axis w.
  const cos = [0, 1, 2].map((w) => [0, 1, 2].map((v) => {
    const length = Math.hypot(affine[0][v], affine[1][v], affine[2][v]);
    return length > 0 ? affine[w][v] / length : 0;
  }));
  let best = PERMUTATIONS[0];
  let bestScore = -1;
  for (const p of PERMUTATIONS) {
    // p[w] is the voxel axis that goes with patient axis w.
    const score = p.reduce((s, v, w) => s + Math.abs(cos[w][v]), 0);
    if (score > bestScore + 1e-9) {
      best = p;
      bestScore = score;
    }
  }
  const voxel = (w: number) => best[w];
  const runsBackwards = (w: number, sign: number) => Math.sign(cos[w][voxel(w)]) !== sign;
  const normal = voxel(view.normal);
  return {
    column: voxel(view.column[0]),
    row: voxel(view.row[0]),
    normal,
    flipColumn: runsBackwards(view.column[0], view.column[1]),
    flipRow: runsBackwards(view.row[0], view.row[1]),
    flipNormal: runsBackwards(view.normal, 1),
    count: dims[normal],
  };
}

/** The RAS position of voxel (i, j, k), using the per-slice planes when the volume has them. */
export function voxelPosition(volume: Pick<Volume, "affine" | "planes">, ijk: readonly [number, number, number]): [number, number, number] {
  const a = volume.affine;
  const plane = volume.planes?.[ijk[2]];
  return [0, 1, 2].map((w) =>
    plane !== undefined ? plane[w] + a[w][0] * ijk[0] + a[w][1] * ijk[1] : a[w][0] * ijk[0] + a[w][1] * ijk[1] + a[w][2] * ijk[2] + a[w][3],
  ) as [number, number, number];
}

/**
 * The slices of a volume along `axis`, numbered from 0 in order of increasing position, those
 * with index in [from, to) (all by default). Each is a grey Slice of the volume's range and
 * voxel spacing, with the position of its centre along the axis; a slice that is a plane of the
 * array as displayed shares the volume's data.
 */
export function volumeSlices(volume: Volume, axis: Axis, from = 0, to?: number): VolumeSlice[] {
  const s = slicing(volume, axis);
  const end = Math.min(to ?? s.count, s.count);
  if (!(Number.isInteger(from) && from >= 0 && end >= from)) throw new ArgumentError(`volumeSlices: slice range [${from}, ${to}) is not within 0..${s.count}`);
  const { dims, data } = volume;
  const stride = [1, dims[0], dims[0] * dims[1]];
  const width = dims[s.column];
  const height = dims[s.row];
  const world = VIEWS[axis].normal;
  const out: VolumeSlice[] = [];
  for (let index = from; index < end; index++) {
    const n = s.flipNormal ? s.count - 1 - index : index;
    // A plane of the array as it is displayed (the usual axial case) is a view, not a copy.
    const plane = s.column === 0 && s.row === 1 && !s.flipColumn && !s.flipRow;
    const pixels = plane ? data.subarray(n * stride[2], (n + 1) * stride[2]) : new Float32Array(width * height);
    if (!plane) {
      let at = 0;
      for (let r = 0; r < height; r++) {
        const start = n * stride[s.normal] + (s.flipRow ? height - 1 - r : r) * stride[s.row];
        // Rows that run along i, forwards, are contiguous in the volume.
        if (s.column === 0 && !s.flipColumn) {
          pixels.set(data.subarray(start, start + width), at);
          at += width;
          continue;
        }
        for (let c = 0; c < width; c++) pixels[at++] = data[start + (s.flipColumn ? width - 1 - c : c) * stride[s.column]];
      }
    }
    const centre: [number, number, number] = [0, 0, 0];
    centre[s.column] = (width - 1) / 2;
    centre[s.row] = (height - 1) / 2;
    centre[s.normal] = n;
    out.push({
      width, height, channels: 1, data: pixels, range: volume.range, index, spacing: [volume.spacing[s.row], volume.spacing[s.column]],
      position: voxelPosition(volume, centre)[world],
      source: `${volume.source}, ${axis} slice ${index + 1}/${s.count}`,
    });
  }
  return out;
}

/** The smallest and largest value of `data`: a volume's range when it has no window. */
export function extent(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}
