import { describe, expect, it } from "vitest";
import { SimdcnnError, UnsupportedError } from "../src/errors.js";
import { InputFormatError } from "../src/errors.js";
import { toInput } from "../src/io/preprocess.js";
import { readSlices } from "../src/io/read.js";
import type { Slice } from "../src/io/slice.js";
import { EXPLICIT_BE, EXPLICIT_LE, type Element, IMPLICIT_LE, dicomFile, greyImage, words } from "./io-helpers.js";

const ROWS = 2;
const COLUMNS = 3;

function unitOf(slice: Slice): number[] {
  return Array.from(toInput(slice, { layout: "NCHW", channels: 1, height: slice.height, width: slice.width, resize: "nearest", normalize: "unit" }));
}

// The expected 0..1 value: the window's linear ramp, clamped (computed here, not by src/io).
function windowed(v: number, center: number, width: number): number {
  return Math.fround(Math.min(Math.max((v - (center - width / 2)) / width, 0), 1));
}

describe("DICOM transfer syntaxes and pixel formats", () => {
  it("explicit VR little endian, 16-bit unsigned 12 bits stored, rescale and the file's window", async () => {
    const stored = [0, 1, 100, 2047, 4095, 300];
    const bytes = dicomFile(EXPLICIT_LE, [
      [0x00080060, "CS", "MR"],
      ...greyImage({ rows: ROWS, columns: COLUMNS, allocated: 16, stored: 12 }),
      [0x00281050, "DS", "300"],
      [0x00281051, "DS", "400"],
      [0x00281052, "DS", "-100"],
      [0x00281053, "DS", "2"],
      [0x7fe00010, "OW", words(stored)],
    ]);
    const [slice] = await readSlices(bytes);
    const modality = stored.map((s) => s * 2 - 100);
    expect(Array.from(slice.data)).toEqual(modality);
    expect(slice.range).toEqual([100, 500]);
    expect(slice.source).toBe("dicom MR 12-bit MONOCHROME2");
    expect(unitOf(slice)).toEqual(modality.map((v) => windowed(v, 300, 400)));
  });

  it("implicit VR little endian, 16-bit signed CT with a user window over the file's", async () => {
    const hu = [-1024, -160, 0, 40, 240, 3071];
    const intercept = -1024;
    const bytes = dicomFile(IMPLICIT_LE, [
      [0x00080060, "CS", "CT"],
      ...greyImage({ rows: ROWS, columns: COLUMNS, allocated: 16, stored: 16, signed: true }),
      [0x00281050, "DS", "-600"],
      [0x00281051, "DS", "1500"],
      [0x00281052, "DS", String(intercept)],
      [0x00281053, "DS", "1"],
      [0x7fe00010, "OW", words(hu.map((v) => v - intercept - 1000))], // stored values, some negative
    ]);
    const stored = hu.map((v) => v - intercept - 1000);
    const [fromFile] = await readSlices(bytes);
    expect(Array.from(fromFile.data)).toEqual(stored.map((s) => s + intercept));
    expect(fromFile.range).toEqual([-1350, 150]);
    const [slice] = await readSlices(bytes, { window: [40, 400] });
    expect(slice.range).toEqual([-160, 240]);
    expect(unitOf(slice)).toEqual(stored.map((s) => windowed(s + intercept, 40, 400)));
  });

  it("explicit VR big endian, 12 bits stored at high bit 13, signed, with other bits set", async () => {
    // Bits 2..13 hold the sample; bits 0, 1, 14 and 15 carry unrelated data that must be masked off.
    const samples = [-2048, -1, 0, 1, 2047, 1000];
    const raw = samples.map((s) => (((s & 0xfff) << 2) | 0b11 | 0xc000));
    const bytes = dicomFile(EXPLICIT_BE, [
      ...greyImage({ rows: ROWS, columns: COLUMNS, allocated: 16, stored: 12, highBit: 13, signed: true }),
      [0x7fe00010, "OW", words(raw, false)],
    ]);
    const [slice] = await readSlices(bytes);
    expect(Array.from(slice.data)).toEqual(samples);
    expect(slice.range).toEqual([-2048, 2047]);
  });

  it("8-bit unsigned and signed; without a window the range is the data's", async () => {
    const unsigned = [3, 250, 7, 8, 9, 100];
    const [u] = await readSlices(dicomFile(EXPLICIT_LE, [
      ...greyImage({ rows: ROWS, columns: COLUMNS, allocated: 8, stored: 8 }),
      [0x7fe00010, "OB", new Uint8Array(unsigned)],
    ]));
    expect(Array.from(u.data)).toEqual(unsigned);
    expect(u.range).toEqual([3, 250]);
    expect(unitOf(u)).toEqual(unsigned.map((v) => Math.fround((v - 3) / 247)));

    const signed = [-128, -1, 0, 1, 127, 5];
    const [s] = await readSlices(dicomFile(IMPLICIT_LE, [
      ...greyImage({ rows: ROWS, columns: COLUMNS, allocated: 8, stored: 8, signed: true }),
      [0x00281052, "DS", "0.5"],
      [0x00281053, "DS", "0.25"],
      [0x7fe00010, "OB", new Uint8Array(signed.map((v) => v & 0xff))],
    ]));
    expect(Array.from(s.data)).toEqual(signed.map((v) => v * 0.25 + 0.5));
  });

  it("8-bit samples in OW under big endian are byte-swapped pairwise; in OB they are not", async () => {
    const values = [1, 2, 3, 4, 5, 6];
    const image = greyImage({ rows: ROWS, columns: COLUMNS, allocated: 8, stored: 8 });
    const [ow] = await readSlices(dicomFile(EXPLICIT_BE, [...image, [0x7fe00010, "OW", new Uint8Array([2, 1, 4, 3, 6, 5])]]));
    const [ob] = await readSlices(dicomFile(EXPLICIT_BE, [...image, [0x7fe00010, "OB", new Uint8Array(values)]]));
    expect(Array.from(ow.data)).toEqual(values);
    expect(Array.from(ob.data)).toEqual(values);
  });

  it("MONOCHROME1 is mirrored inside the window, so that 0..1 runs the other way", async () => {
    const stored = [0, 50, 100, 150, 200, 255];
    const bytes = dicomFile(EXPLICIT_LE, [
      ...greyImage({ rows: ROWS, columns: COLUMNS, allocated: 16, stored: 8, photometric: "MONOCHROME1" }),
      [0x00281050, "DS", "100"],
      [0x00281051, "DS", "100"],
      [0x7fe00010, "OW", words(stored)],
    ]);
    const [slice] = await readSlices(bytes);
    expect(slice.range).toEqual([50, 150]);
    expect(unitOf(slice)).toEqual(stored.map((v) => Math.fround(1 - windowed(v, 100, 100))));
    expect(slice.source).toBe("dicom 8-bit MONOCHROME1");
  });

  it("a multi-frame file gives one slice per frame; the first of several window values counts", async () => {
    const frames = [[0, 1, 2, 3, 4, 5], [10, 11, 12, 13, 14, 15], [100, 90, 80, 70, 60, 50]];
    const image = greyImage({ rows: ROWS, columns: COLUMNS, allocated: 16, stored: 16, frames: 3 });
    const pixels: Element = [0x7fe00010, "OW", words(frames.flat())];
    const withWindow = await readSlices(dicomFile(EXPLICIT_LE, [...image, [0x00281050, "DS", "40\\80"], [0x00281051, "DS", "20\\60"], pixels]));
    expect(withWindow.map((s) => Array.from(s.data))).toEqual(frames);
    expect(withWindow.map((s) => s.range)).toEqual([[30, 50], [30, 50], [30, 50]]);
    expect(withWindow.map((s) => s.source)).toEqual(["frame 1/3", "frame 2/3", "frame 3/3"].map((f) => `dicom 16-bit MONOCHROME2 ${f}`));
    // Without a window all frames share the range of the whole file.
    const plain = await readSlices(dicomFile(EXPLICIT_LE, [...image, pixels]));
    expect(plain.map((s) => s.range)).toEqual([[0, 100], [0, 100], [0, 100]]);
  });

  it("enhanced multi-frame: rescale and window from the per-frame and shared functional groups", async () => {
    const image = greyImage({ rows: 1, columns: 2, allocated: 16, stored: 16, frames: 2 });
    const rescale = (slope: string, intercept: string): Element => [0x00289145, "SQ", [[[0x00281052, "DS", intercept], [0x00281053, "DS", slope], [0x00281054, "LO", "US"]]]];
    const slices = await readSlices(dicomFile(EXPLICIT_LE, [
      ...image,
      [0x52009229, "SQ", [[[0x00289132, "SQ", [[[0x00281050, "DS", "10"], [0x00281051, "DS", "4"]]]], rescale("1", "0")]]],
      [0x52009230, "SQ", [[rescale("2", "1")], []]],
      [0x7fe00010, "OW", words([1, 2, 3, 4])],
    ]));
    expect(slices.map((s) => Array.from(s.data))).toEqual([[3, 5], [3, 4]]);
    expect(slices.map((s) => s.range)).toEqual([[8, 12], [8, 12]]);
  });

  it("RGB, interleaved and planar, keeps its stored range", async () => {
    const rgb = [10, 20, 30, 40, 50, 60];
    const colour = (planar: number, data: number[]) => dicomFile(EXPLICIT_LE, [
      [0x00280002, "US", [3]], [0x00280004, "CS", "RGB"], [0x00280006, "US", [planar]],
      [0x00280010, "US", [1]], [0x00280011, "US", [2]],
      [0x00280100, "US", [8]], [0x00280101, "US", [8]], [0x00280102, "US", [7]], [0x00280103, "US", [0]],
      [0x7fe00010, "OB", new Uint8Array(data)],
    ]);
    const [interleaved] = await readSlices(colour(0, rgb), { window: [40, 400] });
    const [planar] = await readSlices(colour(1, [10, 40, 20, 50, 30, 60]));
    for (const slice of [interleaved, planar]) {
      expect(slice.channels).toBe(3);
      expect(Array.from(slice.data)).toEqual(rgb);
      expect(slice.range).toEqual([0, 255]);
    }
  });
});

describe("DICOM that is not decoded", () => {
  // The compressed syntaxes that are decoded are tested in io-dicom-compressed.test.ts.
  const compressed: [string, RegExp][] = [
    ["1.2.840.10008.1.2.4.100", /MPEG2 Main Profile \/ Main Level/],
    ["1.2.840.10008.1.2.4.102", /MPEG-4 AVC\/H.264 High Profile/],
    ["1.2.840.10008.1.2.4.201", /High-Throughput JPEG 2000 \(Lossless Only\)/],
    ["1.2.840.10008.1.2.1.98", /Encapsulated Uncompressed Explicit VR Little Endian/],
    ["1.2.3.4", /unknown/],
  ];
  for (const [uid, name] of compressed) {
    it(`transfer syntax ${uid} gives an UnsupportedError naming it`, async () => {
      const bytes = dicomFile(uid, [...greyImage({ rows: 1, columns: 1, allocated: 8, stored: 8 })]);
      await expect(readSlices(bytes)).rejects.toThrow(UnsupportedError);
      await expect(readSlices(bytes)).rejects.toThrow(uid);
      await expect(readSlices(bytes)).rejects.toThrow(name);
    });
  }

  it("unsupported pixel formats give an UnsupportedError", async () => {
    const image = (allocated: number, photometric: string, samples = 1): Element[] => [
      ...greyImage({ rows: 1, columns: 1, allocated, stored: allocated, photometric }).filter(([tag]) => tag !== 0x00280002),
      [0x00280002, "US", [samples]],
      [0x7fe00010, "OB", new Uint8Array(8)],
    ];
    await expect(readSlices(dicomFile(EXPLICIT_LE, image(32, "MONOCHROME2")))).rejects.toThrow(/Bits Allocated 32/);
    await expect(readSlices(dicomFile(EXPLICIT_LE, image(8, "PALETTE COLOR")))).rejects.toThrow(UnsupportedError);
    await expect(readSlices(dicomFile(EXPLICIT_LE, image(8, "YBR_FULL", 3)))).rejects.toThrow(/YBR_FULL/);
  });

  it("missing or inconsistent attributes give an InputFormatError", async () => {
    const image = greyImage({ rows: ROWS, columns: COLUMNS, allocated: 16, stored: 16 });
    await expect(readSlices(dicomFile(EXPLICIT_LE, image))).rejects.toThrow(/no Pixel Data/);
    await expect(readSlices(dicomFile(EXPLICIT_LE, [...image, [0x7fe00010, "OW", words([1, 2, 3])]]))).rejects.toThrow(/Pixel Data holds 6 bytes/);
    const noRows = image.filter(([tag]) => tag !== 0x00280010);
    await expect(readSlices(dicomFile(EXPLICIT_LE, [...noRows, [0x7fe00010, "OW", words([1])]]))).rejects.toThrow(InputFormatError);
    const badBits = greyImage({ rows: 1, columns: 1, allocated: 8, stored: 12 });
    await expect(readSlices(dicomFile(EXPLICIT_LE, [...badBits, [0x7fe00010, "OB", new Uint8Array(2)]]))).rejects.toThrow(/Bits Stored 12/);
  });

  it("a file cut anywhere gives a typed error, never a raw exception", async () => {
    const good = dicomFile(EXPLICIT_LE, [
      [0x00080060, "CS", "CT"],
      ...greyImage({ rows: ROWS, columns: COLUMNS, allocated: 16, stored: 16 }),
      [0x00281050, "DS", "40"],
      [0x00281051, "DS", "400"],
      [0x7fe00010, "OW", words([1, 2, 3, 4, 5, 6])],
    ]);
    expect(await readSlices(good)).toHaveLength(1);
    for (let n = 0; n < good.length; n++) {
      let error: unknown;
      try {
        await readSlices(good.subarray(0, n));
      } catch (e) {
        error = e;
      }
      expect(error, `${n} of ${good.length} bytes`).toBeInstanceOf(SimdcnnError);
    }
  });
});
