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
  /** What the slice was decoded from, for messages: 'png 16-bit grey', 'dicom CT 12-bit MONOCHROME2 frame 2/5'. */
  source: string;
}
