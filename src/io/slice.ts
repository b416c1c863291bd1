/**
 * One decoded image slice, before any model-specific preprocessing.
 *
 * `data` holds `height * width * channels` values, row-major with the channels of a pixel next to
 * each other. Values are in the file's own units: 0..255 for 8-bit images, 0..65535 for 16-bit
 * PNGs, modality units (after Rescale Slope/Intercept) for DICOM. `range` is the span of those
 * values that means "black to white" (for DICOM, the intensity window); preprocessing maps it to
 * 0..1 and clamps what lies outside.
 *
 * Alpha is dropped (a slice is never composited), grey+alpha becomes grey and palette images
 * become RGB.
 */
export interface Slice {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
  range: [number, number];
  /**
   * The distance between pixel centres in mm, [between rows, between columns], when the file says
   * (DICOM Pixel Spacing, else Imager Pixel Spacing).
   */
  spacing?: [number, number];
  /** What the slice was decoded from, for messages: 'png 16-bit grey', 'dicom CT 12-bit MONOCHROME2 frame 2/5'. */
  source: string;
}

/**
 * The slice as display grey levels, 0..255 (not rounded): its range mapped to black..white and
 * clamped, an RGB slice by its luma (ITU-R BT.601).
 */
export function displayGrey(slice: Slice): Float64Array {
  const { width, height, channels, data, range } = slice;
  const [lo, hi] = range;
  const grey = new Float64Array(width * height);
  for (let p = 0; p < grey.length; p++) {
    const v = channels === 1 ? data[p] : 0.299 * data[3 * p] + 0.587 * data[3 * p + 1] + 0.114 * data[3 * p + 2];
    const t = hi > lo ? (v - lo) / (hi - lo) : 0;
    grey[p] = 255 * (t > 0 ? (t < 1 ? t : 1) : 0);
  }
  return grey;
}
