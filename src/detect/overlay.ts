import { ArgumentError } from "../errors.js";
import { ADVANCE, GLYPH_HEIGHT, drawText } from "../io/glyphs.js";
import { type Slice, displayGrey } from "../io/slice.js";
import type { Detection } from "./detect.js";

export interface BoxOverlayOptions {
  /** Class names, by index: each box's label. */
  labels: readonly string[];
  /** Each class's colour, [r, g, b] 0..255, by index. */
  colors: readonly (readonly [number, number, number])[];
}

/**
 * Draws a slice in grey (as heatmap.ts does) with each detection's box outlined in its class's
 * colour and labelled with its class and score (white on the colour, above the box, or inside it
 * at the slice's top edge). Boxes are drawn lowest score first, so the best one is on top. Lines
 * and the 5 x 7 font are doubled on slices of 256 pixels and more. Returns RGBA bytes, opaque,
 * for encodePng or a canvas.
 */
export function overlayBoxes(slice: Slice, detections: readonly Detection[], options: BoxOverlayOptions): Uint8Array {
  const { width, height } = slice;
  const { labels, colors } = options;
  for (const d of detections) {
    if (!(d.class < labels.length && d.class < colors.length)) throw new ArgumentError(`overlayBoxes: a box of class ${d.class}, but there are ${labels.length} labels and ${colors.length} colours`);
  }
  const grey = displayGrey(slice);
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const g = Math.round(grey[p]);
    rgba.set([g, g, g, 255], 4 * p);
  }
  const put = (x: number, y: number, c: readonly number[]) => {
    if (x >= 0 && y >= 0 && x < width && y < height) rgba.set(c, 4 * (y * width + x));
  };
  const scale = Math.min(width, height) >= 256 ? 2 : 1;
  for (const d of [...detections].reverse()) {
    const color = colors[d.class];
    // The pixels the box covers: pixel i spans i..i+1.
    const x0 = Math.floor(d.box[0]);
    const y0 = Math.floor(d.box[1]);
    const x1 = Math.max(x0, Math.ceil(d.box[2]) - 1);
    const y1 = Math.max(y0, Math.ceil(d.box[3]) - 1);
    for (let t = 0; t < scale; t++) {
      for (let x = x0 - t; x <= x1 + t; x++) {
        put(x, y0 - t - 1, color);
        put(x, y1 + t + 1, color);
      }
      for (let y = y0 - t - 1; y <= y1 + t + 1; y++) {
        put(x0 - t - 1, y, color);
        put(x1 + t + 1, y, color);
      }
    }
    const text = `${labels[d.class]} ${d.score.toFixed(2)}`;
    const tagW = [...text].length * ADVANCE * scale + scale;
    const tagH = (GLYPH_HEIGHT + 2) * scale;
    const top = y0 - scale - tagH >= 0 ? y0 - scale - tagH : y0;
    // Moved left as far as it must to stay on the slice.
    const left = Math.max(0, Math.min(x0 - scale, width - tagW));
    for (let y = 0; y < tagH; y++) for (let x = 0; x < tagW; x++) put(left + x, top + y, color);
    drawText(text, scale, (x, y) => put(left + scale + x, top + scale + y, [255, 255, 255, 255]));
  }
  return rgba;
}
