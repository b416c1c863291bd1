import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { ArgumentError } from "../src/errors.js";
import { InputFormatError } from "../src/errors.js";
import { overlayHeatmap } from "../src/io/heatmap.js";
import { decodePng, encodePng } from "../src/io/png.js";
import { readSlices } from "../src/io/read.js";
import type { Slice } from "../src/io/slice.js";
import { EXPLICIT_LE, dicomFile, greyImage, rawPng, words } from "./io-helpers.js";

describe("readSlices", () => {
  it("tells the formats apart by their leading bytes", async () => {
    const png = rawPng({ width: 1, height: 1, colorType: 0, bitDepth: 8, samples: [9] });
    expect((await readSlices(png))[0].source).toBe("png 8-bit grey");
    const dicom = dicomFile(EXPLICIT_LE, [...greyImage({ rows: 1, columns: 1, allocated: 16, stored: 16, frames: 2 }), [0x7fe00010, "OW", words([1, 2])]]);
    expect(await readSlices(dicom)).toHaveLength(2);
    // A Node Buffer is a Uint8Array and a view may start anywhere in its buffer.
    const padded = new Uint8Array(dicom.length + 3);
    padded.set(dicom, 3);
    expect((await readSlices(Buffer.from(padded.buffer, 3, dicom.length))).map((s) => Array.from(s.data))).toEqual([[1], [2]]);
  });

  it("an unknown, empty or garbage file gives an InputFormatError", async () => {
    await expect(readSlices(new Uint8Array(0))).rejects.toThrow(InputFormatError);
    await expect(readSlices(new TextEncoder().encode("GIF89a..."))).rejects.toThrow(/not a PNG, JPEG or DICOM Part 10 file \(9 bytes, starting 47 49 46 38/);
    await expect(readSlices(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2]))).rejects.toThrow(InputFormatError);
    await expect(readSlices(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]))).rejects.toThrow(InputFormatError);
    const dicm = new Uint8Array(200);
    dicm.set([68, 73, 67, 77], 128);
    await expect(readSlices(dicm)).rejects.toThrow(InputFormatError);
  });

  it("checks its arguments", async () => {
    const png = rawPng({ width: 1, height: 1, colorType: 0, bitDepth: 8, samples: [9] });
    await expect(readSlices([1, 2] as unknown as Uint8Array)).rejects.toThrow(ArgumentError);
    await expect(readSlices(png, { window: [40, 0] })).rejects.toThrow(/positive width/);
    await expect(readSlices(png, { window: [NaN, 4] })).rejects.toThrow(ArgumentError);
  });
});

describe("overlayHeatmap", () => {
  const slice: Slice = { width: 4, height: 2, channels: 1, data: new Float32Array([0, 50, 100, 150, 200, 250, 300, 100]), range: [0, 200], source: "test" };

  it("with no opacity draws the slice in grey, its range mapped to black..white", () => {
    const rgba = overlayHeatmap(slice, new Float32Array(8), { opacity: 0 });
    const grey = [0, 64, 128, 191, 255, 255, 255, 128];
    expect(Array.from(rgba)).toEqual(grey.flatMap((g) => [g, g, g, 255]));
  });

  it("blends the colour ramp and outlines the box", () => {
    const heat = new Float32Array([0, 0, 0, 0, 1, 1, 0, 0]);
    const rgba = overlayHeatmap(slice, heat, { opacity: 1, box: { x: 0, y: 1, width: 2, height: 1 } });
    expect(Array.from(rgba.subarray(0, 4))).toEqual([0, 0, 4, 255]); // the ramp's bottom
    expect(Array.from(rgba.subarray(4 * 4, 4 * 4 + 4))).toEqual([0, 255, 255, 255]); // the box
    expect(Array.from(rgba.subarray(4 * 6, 4 * 6 + 4))).toEqual([0, 0, 4, 255]);
    const hot = overlayHeatmap(slice, heat, { opacity: 1 });
    expect(Array.from(hot.subarray(4 * 4, 4 * 4 + 4))).toEqual([252, 255, 164, 255]); // the ramp's top
  });

  it("resizes a coarser heat map and its box to the slice and encodes as PNG", () => {
    const boxed = overlayHeatmap(slice, new Float32Array([0, 1]), { size: [1, 2], opacity: 0, box: { x: 1, y: 0, width: 1, height: 1 } });
    const cyan = Array.from({ length: 8 }, (_, p) => boxed[4 * p] === 0 && boxed[4 * p + 1] === 255 && boxed[4 * p + 2] === 255);
    expect(cyan).toEqual([false, false, true, true, false, false, true, true]);
    const rgba = overlayHeatmap(slice, new Float32Array([0, 1]), { size: [1, 2], opacity: 0.5 });
    const back = decodePng(encodePng(4, 2, rgba));
    expect([back.width, back.height, back.channels]).toEqual([4, 2, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(rgba).filter((_, i) => i % 4 !== 3));
    expect(PNG.sync.read(Buffer.from(encodePng(4, 2, rgba))).data.length).toBe(32);
  });

  it("checks its arguments", () => {
    expect(() => overlayHeatmap(slice, new Float32Array(7))).toThrow(ArgumentError);
    expect(() => overlayHeatmap(slice, new Float32Array(8), { opacity: 2 })).toThrow(/opacity/);
    expect(() => overlayHeatmap(slice, new Float32Array(8), { size: [2.5, 4] })).toThrow(/size/);
  });
});
