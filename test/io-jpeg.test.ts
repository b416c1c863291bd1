import { readFileSync } from "node:fs";
import jpeg from "jpeg-js";
import { describe, expect, it } from "vitest";
import { InputFormatError } from "../src/errors.js";
import { readSlices } from "../src/io/read.js";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`fixtures/io/${name}`, import.meta.url)));
const W = 24;
const H = 16;

// The pixels the fixtures were encoded from (see fixtures/io/README.md).
function source(kind: "rgb" | "grey"): number[] {
  const out: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (kind === "rgb") out.push(x * 10, y * 15, 128 + ((x + y) % 8) * 10);
      else out.push(x * 9 + y * 3);
    }
  }
  return out;
}

// A binary PPM or PGM without comments: three header lines, then the samples.
function reference(kind: "rgb" | "grey"): Uint8Array {
  const bytes = fixture(kind === "rgb" ? "rgb-reference.ppm" : "grey-reference.pgm");
  let at = 0;
  for (let lines = 0; lines < 3; at++) if (bytes[at] === 10) lines++;
  return bytes.subarray(at);
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe("JPEG", () => {
  it("decodes a baseline RGB JPEG written by jpeg-js", async () => {
    const pixels = source("rgb");
    const rgba = new Uint8Array(W * H * 4).map((_, i) => (i % 4 === 3 ? 255 : pixels[Math.floor(i / 4) * 3 + (i % 4)]));
    const bytes = jpeg.encode({ width: W, height: H, data: rgba }, 100).data;
    const [slice] = await readSlices(new Uint8Array(bytes));
    expect([slice.width, slice.height, slice.channels]).toEqual([W, H, 3]);
    expect(slice.range).toEqual([0, 255]);
    expect(slice.source).toBe("jpeg baseline RGB");
    expect(maxDifference(slice.data, pixels)).toBeLessThanOrEqual(6);
  });

  for (const kind of ["rgb", "grey"] as const) {
    it(`decodes ${kind} progressive exactly as its baseline twin`, async () => {
      const [baseline] = await readSlices(fixture(`${kind}-baseline.jpg`));
      const [progressive] = await readSlices(fixture(`${kind}-progressive.jpg`));
      const channels = kind === "rgb" ? 3 : 1;
      const name = kind === "rgb" ? "RGB" : "grey";
      expect(baseline.source).toBe(`jpeg baseline ${name}`);
      expect(progressive.source).toBe(`jpeg progressive ${name}`);
      expect([progressive.width, progressive.height, progressive.channels]).toEqual([W, H, channels]);
      expect(progressive.data).toEqual(baseline.data);
      // libjpeg-turbo's decode of the same file: IDCT and colour conversion round differently by a level or so.
      expect(maxDifference(progressive.data, reference(kind))).toBeLessThanOrEqual(kind === "rgb" ? 3 : 1);
    });
  }

  it("truncated or damaged files give an InputFormatError", async () => {
    for (const name of ["rgb-baseline.jpg", "grey-progressive.jpg"]) {
      const good = fixture(name);
      for (let n = 3; n < good.length - 2; n += 7) {
        await expect(readSlices(good.subarray(0, n)), `${name}: ${n} bytes`).rejects.toThrow(InputFormatError);
      }
    }
    const bad = fixture("rgb-baseline.jpg");
    bad.fill(0xff, 20, 60); // the quantisation tables
    await expect(readSlices(bad)).rejects.toThrow(InputFormatError);
  });
});
