import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { InputFormatError } from "../src/errors.js";
import { decodePng, encodePng } from "../src/io/png.js";
import { readSlices } from "../src/io/read.js";
import { SAMPLES_PER_PIXEL, rawPng } from "./io-helpers.js";

// Deterministic sample values covering 0 and the maximum of the depth.
function samples(count: number, depth: number, seed = 1): number[] {
  const max = 2 ** depth - 1;
  return Array.from({ length: count }, (_, i) => (i === 0 ? 0 : i === 1 ? max : (i * 7919 * seed + 13) % (max + 1)));
}

// What the slice should hold: alpha dropped, grey+alpha -> grey.
function expected(values: number[], colorType: number): number[] {
  const spp = SAMPLES_PER_PIXEL[colorType];
  const keep = colorType === 0 || colorType === 4 ? 1 : 3;
  return values.filter((_, i) => i % spp < keep);
}

const KINDS: Record<number, string> = { 0: "grey", 2: "RGB", 4: "grey+alpha", 6: "RGBA" };

describe("PNG written by pngjs", () => {
  for (const colorType of [0, 2, 4, 6] as const) {
    for (const depth of [8, 16] as const) {
      it(`${KINDS[colorType]} ${depth}-bit decodes exactly`, async () => {
        const width = 5;
        const height = 3;
        const values = samples(width * height * SAMPLES_PER_PIXEL[colorType], depth, colorType + 1);
        const png = new PNG({ width, height, colorType, inputColorType: colorType, bitDepth: depth, inputHasAlpha: colorType >= 4 });
        // pngjs's packer reads 16-bit input as native-endian words.
        png.data = depth === 16 ? Buffer.from(new Uint16Array(values).buffer) : Buffer.from(values);
        const bytes = PNG.sync.write(png, { colorType, inputColorType: colorType, bitDepth: depth, inputHasAlpha: colorType >= 4 });
        const [slice] = await readSlices(new Uint8Array(bytes));
        expect(slice.width).toBe(width);
        expect(slice.height).toBe(height);
        expect(slice.channels).toBe(colorType === 0 || colorType === 4 ? 1 : 3);
        expect(Array.from(slice.data)).toEqual(expected(values, colorType));
        expect(slice.range).toEqual([0, 2 ** depth - 1]);
        expect(slice.source).toBe(`png ${depth}-bit ${KINDS[colorType]}`);
      });
    }
  }
});

describe("PNG written byte by byte", () => {
  const sizes = [[1, 1], [3, 5], [9, 7], [17, 2]];
  const cases: { colorType: 0 | 2 | 3 | 4 | 6; depth: 1 | 2 | 4 | 8 | 16 }[] = [
    ...([1, 2, 4, 8, 16] as const).map((depth) => ({ colorType: 0 as const, depth })),
    ...([1, 2, 4, 8] as const).map((depth) => ({ colorType: 3 as const, depth })),
    ...([8, 16] as const).flatMap((depth) => ([2, 4, 6] as const).map((colorType) => ({ colorType, depth }))),
  ];
  for (const interlace of [false, true]) {
    for (const { colorType, depth } of cases) {
      it(`colour type ${colorType} ${depth}-bit${interlace ? " interlaced" : ""}`, () => {
        for (const [width, height] of sizes) {
          const spp = SAMPLES_PER_PIXEL[colorType];
          const palette = colorType === 3 ? Array.from({ length: 2 ** depth }, (_, i) => [i, (i * 37) % 256, 255 - i]) : undefined;
          const values = samples(width * height * spp, depth, width + height);
          const bytes = rawPng({ width, height, colorType, bitDepth: depth, samples: values, interlace, palette });
          const slice = decodePng(bytes);
          const want = colorType === 3 ? values.flatMap((i) => palette![i]) : expected(values, colorType);
          expect(Array.from(slice.data), `${width} x ${height}`).toEqual(want);
          expect(slice.range).toEqual([0, colorType === 3 ? 255 : 2 ** depth - 1]);
          expect(slice.source.endsWith(interlace ? " interlaced" : depth + "-bit " + ({ 0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA" })[colorType])).toBe(true);
        }
      });
    }
  }

  it("keeps the values of pixels that a tRNS chunk makes transparent", () => {
    const values = [0, 1000, 40000, 1000, 65535, 7];
    const slice = decodePng(rawPng({ width: 3, height: 2, colorType: 0, bitDepth: 16, samples: values, trns: [0x03, 0xe8] }));
    expect(Array.from(slice.data)).toEqual(values);
    const rgb = [10, 20, 30, 1, 2, 3];
    const colour = decodePng(rawPng({ width: 2, height: 1, colorType: 2, bitDepth: 8, samples: rgb, trns: [0, 10, 0, 20, 0, 30] }));
    expect(Array.from(colour.data)).toEqual(rgb);
  });
});

describe("corrupt PNG", () => {
  const good = rawPng({ width: 4, height: 4, colorType: 0, bitDepth: 8, samples: samples(16, 8) });

  it("truncated anywhere gives an InputFormatError", async () => {
    for (let n = 8; n < good.length; n++) {
      await expect(readSlices(good.subarray(0, n)), `${n} bytes`).rejects.toThrow(InputFormatError);
    }
  });

  it("a damaged chunk gives an InputFormatError", async () => {
    const bad = good.slice();
    bad[40] ^= 0xff; // inside the IDAT data: the chunk's CRC no longer matches
    await expect(readSlices(bad)).rejects.toThrow(InputFormatError);
    const badHeader = good.slice();
    badHeader[24] = 3; // bit depth 3 does not exist
    await expect(readSlices(badHeader)).rejects.toThrow(/png/);
  });
});

describe("encodePng", () => {
  it("writes RGBA that decodes back to the same bytes", () => {
    const rgba = new Uint8Array(Array.from({ length: 6 * 4 * 4 }, (_, i) => (i * 53) % 256));
    const png = PNG.sync.read(Buffer.from(encodePng(6, 4, rgba)));
    expect(png.width).toBe(6);
    expect(png.height).toBe(4);
    expect(new Uint8Array(png.data)).toEqual(rgba);
  });

  it("checks its arguments", () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(/16 bytes/);
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(/positive integers/);
  });
});
