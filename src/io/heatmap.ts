import { ArgumentError } from "../errors.js";
import { resize } from "./preprocess.js";
import { type Slice, displayGrey } from "./slice.js";

export interface OverlayOptions {
  /** The heat map's size, [height, width]; it is resized (bilinear) to the slice's. Default: the slice's. */
  size?: readonly [number, number];
  /** How much of the colour covers the slice, 0..1. Default 0.45. */
  opacity?: number;
  /** A rectangle to outline (the most sensitive region, say), in heat-map pixels like the heat map. */
  box?: { x: number; y: number; width: number; height: number };
}

// An inferno-like ramp: dark purple through red and orange to pale yellow, interpolated linearly.
const RAMP = [
  [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164],
];
const BOX = [0, 255, 255];

/**
 * Draws a slice in grey (its range mapped to black..white; an RGB slice as its luma) with a heat
 * map (values 0..1, clamped; NaN counts as 0) blended over it in colour, and an optional
 * rectangle outline. Returns RGBA bytes, opaque, for encodePng.
 */
export function overlayHeatmap(slice: Slice, heat: Float32Array, options: OverlayOptions = {}): Uint8Array {
  const { width, height } = slice;
  const [heatHeight, heatWidth] = options.size ?? [height, width];
  const opacity = options.opacity ?? 0.45;
  if (!Number.isInteger(heatHeight) || !Number.isInteger(heatWidth) || heatHeight < 1 || heatWidth < 1) {
    throw new ArgumentError(`overlayHeatmap: size must be two positive integers, got ${JSON.stringify(options.size)}`);
  }
  if (!(heat instanceof Float32Array) || heat.length !== heatHeight * heatWidth) {
    throw new ArgumentError(`overlayHeatmap: expected a Float32Array of ${heatHeight} x ${heatWidth} heat values, got ${heat?.length}`);
  }
  if (!(opacity >= 0 && opacity <= 1)) throw new ArgumentError(`overlayHeatmap: opacity must be in 0..1, got ${opacity}`);
  const sized = resize(heat, heatWidth, heatHeight, 1, width, height, "bilinear");
  const grey = displayGrey(slice);
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const colour = ramp(clamp01(sized[p]));
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = Math.round((1 - opacity) * grey[p] + opacity * colour[k]);
    rgba[4 * p + 3] = 255;
  }
  if (options.box) {
    const { x, y, width: w, height: h } = options.box;
    const sx = width / heatWidth;
    const sy = height / heatHeight;
    outline(rgba, width, height, { x: x * sx, y: y * sy, width: w * sx, height: h * sy });
  }
  return rgba;
}

function ramp(t: number): number[] {
  const s = t * (RAMP.length - 1);
  const i = Math.min(Math.floor(s), RAMP.length - 2);
  const f = s - i;
  return RAMP[i].map((a, k) => a + f * (RAMP[i + 1][k] - a));
}

function clamp01(t: number): number {
  return t > 0 ? (t < 1 ? t : 1) : 0;
}

// A one-pixel line just inside the rectangle (in slice pixels), clipped to the image.
function outline(rgba: Uint8Array, width: number, height: number, box: NonNullable<OverlayOptions["box"]>): void {
  const x0 = Math.max(Math.round(box.x), 0);
  const y0 = Math.max(Math.round(box.y), 0);
  const x1 = Math.min(Math.round(box.x + box.width), width) - 1;
  const y1 = Math.min(Math.round(box.y + box.height), height) - 1;
  if (!(x1 >= x0 && y1 >= y0)) return;
  const paint = (x: number, y: number) => rgba.set(BOX, 4 * (y * width + x));
  for (let x = x0; x <= x1; x++) {
    paint(x, y0);
    paint(x, y1);
  }
  for (let y = y0; y <= y1; y++) {
    paint(x0, y);
    paint(x1, y);
  }
}
