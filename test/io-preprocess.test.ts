import { describe, expect, it } from "vitest";
import { ArgumentError } from "../src/errors.js";
import { type InputSpec, resize, toInput } from "../src/io/preprocess.js";
import type { Slice } from "../src/io/slice.js";

function slice(width: number, height: number, channels: 1 | 3, values: number[], range: [number, number] = [0, 255]): Slice {
  return { width, height, channels, data: new Float32Array(values), range, source: "test" };
}

const spec = (s: Partial<InputSpec>): InputSpec => ({ layout: "NCHW", channels: 1, height: 1, width: 1, resize: "bilinear", normalize: "unit", ...s });

// PyTorch's interpolate(mode='bilinear', align_corners=False), written from its definition in float64.
function bilinearReference(src: ArrayLike<number>, w: number, h: number, c: number, ow: number, oh: number): number[] {
  const source = (d: number, size: number, out: number) => Math.max((d + 0.5) * (size / out) - 0.5, 0);
  const out: number[] = [];
  for (let y = 0; y < oh; y++) {
    const sy = source(y, h, oh);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    for (let x = 0; x < ow; x++) {
      const sx = source(x, w, ow);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => src[(yy * w + xx) * c + k];
        const top = at(y0, x0) + (sx - x0) * (at(y0, x1) - at(y0, x0));
        const bottom = at(y1, x0) + (sx - x0) * (at(y1, x1) - at(y1, x0));
        out.push(top + (sy - y0) * (bottom - top));
      }
    }
  }
  return out;
}

function closeTo(actual: ArrayLike<number>, expected: number[], tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tolerance) expect.fail(`element ${i}: ${actual[i]} is not ${expected[i]}`);
  }
}

describe("resize", () => {
  it("bilinear matches PyTorch's align_corners=False values", () => {
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.]]]]), size=(1, 4), mode='bilinear')
    closeTo(resize(new Float32Array([0, 1]), 2, 1, 1, 4, 1, "bilinear"), [0, 0.25, 0.75, 1]);
    // ... of arange(4) to size 2: the means of neighbouring pairs
    closeTo(resize(new Float32Array([0, 1, 2, 3]), 4, 1, 1, 2, 1, "bilinear"), [0.5, 2.5]);
  });

  it("bilinear matches a float64 reference, shrinking and enlarging, 1 and 3 channels", () => {
    for (const [w, h, ow, oh, c] of [[7, 5, 3, 2, 1], [7, 5, 16, 11, 3], [13, 9, 5, 9, 3], [1, 1, 4, 3, 1], [64, 48, 23, 31, 1]]) {
      const src = Float32Array.from({ length: w * h * c }, (_, i) => Math.fround(Math.sin(i * 0.37) * 0.5 + 0.5));
      closeTo(resize(src, w, h, c, ow, oh, "bilinear"), bilinearReference(src, w, h, c, ow, oh));
    }
  });

  it("nearest takes the pixel holding each output pixel's centre", () => {
    const src = new Float32Array([10, 11, 12, 13]);
    expect(Array.from(resize(src, 4, 1, 1, 2, 1, "nearest"))).toEqual([11, 13]);
    expect(Array.from(resize(new Float32Array([1, 2]), 2, 1, 1, 5, 1, "nearest"))).toEqual([1, 1, 2, 2, 2]);
    const grid = Float32Array.from({ length: 9 * 2 }, (_, i) => i);
    const out = resize(grid, 3, 3, 2, 6, 6, "nearest");
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        for (let k = 0; k < 2; k++) expect(out[(y * 6 + x) * 2 + k]).toBe(grid[(Math.floor(y / 2) * 3 + Math.floor(x / 2)) * 2 + k]);
      }
    }
  });

  it("the same size leaves the image as it is", () => {
    const src = new Float32Array([0.1, 0.2, 0.3, 0.4]);
    expect(resize(src, 2, 2, 1, 2, 2, "bilinear")).toEqual(src);
  });
});

describe("toInput", () => {
  it("maps the range to 0..1 and clamps outside it; NaN becomes 0", () => {
    const s = slice(5, 1, 1, [-50, 0, 100, 200, NaN], [0, 200]);
    expect(Array.from(toInput(s, spec({ width: 5 })))).toEqual([0, 0, 0.5, 1, 0]);
    expect(Array.from(toInput({ ...s, range: [7, 7] }, spec({ width: 5 })))).toEqual([0, 0, 0, 0, 0]);
  });

  it("repeats grey into three channels and reduces RGB with BT.601 weights", () => {
    const grey = slice(2, 1, 1, [51, 255]);
    expect(Array.from(toInput(grey, spec({ channels: 3, width: 2, layout: "NHWC" })))).toEqual([0.2, 0.2, 0.2, 1, 1, 1].map(Math.fround));
    const rgb = slice(2, 1, 3, [255, 0, 0, 10, 20, 30]);
    const want = [0.299, (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255];
    closeTo(toInput(rgb, spec({ width: 2 })), want);
    closeTo(toInput(rgb, spec({ channels: 3, width: 2, layout: "NHWC" })), [1, 0, 0, 10 / 255, 20 / 255, 30 / 255]);
  });

  it("lays out NCHW and NHWC", () => {
    const rgb = slice(2, 2, 3, Array.from({ length: 12 }, (_, i) => i * 10));
    const nhwc = Array.from(toInput(rgb, spec({ channels: 3, width: 2, height: 2, layout: "NHWC" })));
    const nchw = Array.from(toInput(rgb, spec({ channels: 3, width: 2, height: 2, layout: "NCHW" })));
    closeTo(nhwc, Array.from({ length: 12 }, (_, i) => (i * 10) / 255));
    for (let p = 0; p < 4; p++) for (let k = 0; k < 3; k++) expect(nchw[k * 4 + p]).toBe(nhwc[p * 3 + k]);
  });

  it("normalises with mean and std per channel after scaling to 0..1", () => {
    const rgb = slice(1, 1, 3, [255, 127.5, 0]);
    const normalize = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    closeTo(toInput(rgb, spec({ channels: 3, normalize })), [(1 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0 - 0.406) / 0.225], 1e-5);
  });

  it("resizes after channel reduction, against the reference", () => {
    const values = Array.from({ length: 6 * 4 * 3 }, (_, i) => (i * 37) % 256);
    const rgb = slice(6, 4, 3, values);
    const grey = Array.from({ length: 24 }, (_, p) => Math.fround((0.299 * values[3 * p] + 0.587 * values[3 * p + 1] + 0.114 * values[3 * p + 2]) / 255));
    closeTo(toInput(rgb, spec({ width: 9, height: 3 })), bilinearReference(grey, 6, 4, 1, 9, 3));
  });

  it("rejects a bad spec or slice with an ArgumentError", () => {
    const s = slice(1, 1, 1, [0]);
    expect(() => toInput(s, spec({ layout: "NWHC" as "NHWC" }))).toThrow(ArgumentError);
    expect(() => toInput(s, spec({ channels: 2 as 1 }))).toThrow(/channels/);
    expect(() => toInput(s, spec({ width: 0 }))).toThrow(/positive integers/);
    expect(() => toInput(s, spec({ resize: "bicubic" as "nearest" }))).toThrow(/bicubic/);
    expect(() => toInput(s, spec({ normalize: { mean: [0.5, 0.5], std: [1, 1] } }))).toThrow(/1 mean and std/);
    expect(() => toInput(s, spec({ normalize: { mean: [0.5], std: [0] } }))).toThrow(/non-zero/);
    expect(() => toInput({ ...s, data: new Float32Array(2) }, spec({}))).toThrow(ArgumentError);
  });
});
