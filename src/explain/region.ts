/** A rectangle in pixels of the map it was found in. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The hottest point of a map and the region around it. */
export interface HotRegion {
  peak: { x: number; y: number; value: number };
  /** Pixels at or above BOX_THRESHOLD of the peak, 4-connected to it; null when the map is flat. */
  box: Box | null;
  /** Whether the map is flat: no place changes the score by more than `resolution`. */
  flat: boolean;
}

/** The box holds the pixels within half of the peak value (the usual CAM threshold). */
export const BOX_THRESHOLD = 0.5;

/**
 * The peak of `heat` (w x h, row-major; the first of equal maxima) and the connected component of
 * pixels >= BOX_THRESHOLD x peak around it. The map is flat, and has no box, when its peak is not
 * above `resolution` or is not above its minimum by more than `resolution`: then hiding nothing
 * changed the score (beyond float32 rounding), or everything changed it alike, and a box would
 * point at an arbitrary place.
 */
export function hotRegion(heat: Float32Array, w: number, h: number, resolution: number): HotRegion {
  let best = 0;
  let min = Infinity;
  for (let i = 0; i < heat.length; i++) {
    if (heat[i] > heat[best]) best = i;
    if (heat[i] < min) min = heat[i];
  }
  const max = heat[best];
  const peak = { x: best % w, y: Math.floor(best / w), value: max };
  if (!(max > resolution && max - min > resolution)) return { peak, box: null, flat: true };
  const level = BOX_THRESHOLD * max;
  const seen = new Uint8Array(heat.length);
  const stack = [best];
  seen[best] = 1;
  let [x0, y0, x1, y1] = [w, h, -1, -1];
  while (stack.length) {
    const i = stack.pop()!;
    const x = i % w;
    const y = (i - x) / w;
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
    for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
      const j = ny * w + nx;
      if (nx >= 0 && ny >= 0 && nx < w && ny < h && !seen[j] && heat[j] >= level) {
        seen[j] = 1;
        stack.push(j);
      }
    }
  }
  return { peak, box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }, flat: false };
}

/**
 * The smallest score change an explanation counts: float32 arithmetic rounds a score of size s
 * at about 1e-7 s per operation, and a network's few hundred accumulated roundings stay far below
 * 1e-4 s; below this a heat map is rounding noise.
 */
export function scoreResolution(score: number): number {
  return 1e-4 * Math.max(1, Math.abs(score));
}
