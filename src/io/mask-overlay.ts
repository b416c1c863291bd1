import { ArgumentError } from "../errors.js";
import { ADVANCE, GLYPH_HEIGHT, drawText } from "./glyphs.js";
import { type Slice, displayGrey } from "./slice.js";

export interface MaskOverlayOptions {
  /** Class names, by index: the legend's text. */
  labels: readonly string[];
  /** Each class's colour, [r, g, b] 0..255, by index. */
  colors: readonly (readonly [number, number, number])[];
  /** The class drawn as the slice alone and left out of the legend. Default 0. */
  background?: number;
  /** How much of a class's colour covers the slice, 0..1. Default 0.5. */
  opacity?: number;
}

/**
 * Draws a slice in grey (as heatmap.ts does) with each non-background class of a label map
 * (`width` x `height` class indices) blended over it in its colour, and a legend of those classes
 * (a swatch and the name) in the top-left corner on a darkened panel, clipped to the slice. The
 * font is 5 x 7 pixels, doubled on slices of 256 pixels and more. Returns RGBA bytes, opaque, for
 * encodePng or a canvas.
 */
export function overlayMask(slice: Slice, mask: Uint8Array, options: MaskOverlayOptions): Uint8Array {
  const { width, height } = slice;
  const { labels, colors } = options;
  const background = options.background ?? 0;
  const opacity = options.opacity ?? 0.5;
  if (!(mask instanceof Uint8Array) || mask.length !== width * height) {
    throw new ArgumentError(`overlayMask: expected a Uint8Array of ${width} x ${height} class indices, got ${mask?.length}`);
  }
  if (colors.length < labels.length) throw new ArgumentError(`overlayMask: ${labels.length} labels but ${colors.length} colours`);
  if (!(opacity >= 0 && opacity <= 1)) throw new ArgumentError(`overlayMask: opacity must be in 0..1, got ${opacity}`);
  const grey = displayGrey(slice);
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const cls = mask[p];
    if (cls >= labels.length) throw new ArgumentError(`overlayMask: the mask holds class ${cls}, but there are ${labels.length} labels`);
    const a = cls === background ? 0 : opacity;
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = Math.round((1 - a) * grey[p] + a * colors[cls][k]);
    rgba[4 * p + 3] = 255;
  }
  legend(rgba, width, height, options, background);
  return rgba;
}

function legend(rgba: Uint8Array, width: number, height: number, o: MaskOverlayOptions, background: number): void {
  const entries = o.labels.map((label, index) => ({ label, index })).filter((e) => e.index !== background);
  if (entries.length === 0) return;
  const scale = Math.min(width, height) >= 256 ? 2 : 1;
  const line = (GLYPH_HEIGHT + 3) * scale;
  const pad = 2 * scale;
  const textX = pad + (GLYPH_HEIGHT + 3) * scale;
  const panelW = textX + Math.max(...entries.map((e) => [...e.label].length)) * ADVANCE * scale + pad;
  const panelH = 2 * pad + entries.length * line - 3 * scale;
  const put = (x: number, y: number, c: readonly number[]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    rgba.set(c, 4 * (y * width + x));
  };
  // The panel halves what is under it, so that white text reads on any slice.
  for (let y = 0; y < Math.min(panelH, height); y++) {
    for (let x = 0; x < Math.min(panelW, width); x++) {
      const at = 4 * (y * width + x);
      for (let k = 0; k < 3; k++) rgba[at + k] = rgba[at + k] >> 1;
    }
  }
  entries.forEach((e, row) => {
    const y0 = pad + row * line;
    for (let y = 0; y < GLYPH_HEIGHT * scale; y++) for (let x = 0; x < GLYPH_HEIGHT * scale; x++) put(pad + x, y0 + y, o.colors[e.index]);
    drawText(e.label, scale, (x, y) => put(textX + x, y0 + y, [255, 255, 255]));
  });
}
