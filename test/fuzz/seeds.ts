// The valid inputs the fuzz targets mutate: ONNX models (the phantom example and small models
// built here that between them use every supported op) and small PNG, JPEG and DICOM files of
// every kind the readers decode. All deterministic.
import { readFileSync } from "node:fs";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { DataType } from "../../src/onnx/model.js";
import { EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, dicomFile, greyImage, rawPng, words } from "../io-helpers.js";
import { f, onnxModel, randomTensor } from "../onnx-builder.js";
import { Rng } from "../reference.js";
import { PHANTOM } from "./harness.js";
import type { DicomSpec } from "./mutate.js";

let models: Uint8Array[] | undefined;

/** Valid models: [phantom, convnet, shapes, old opset, int64 input]. */
export function seedModels(): Uint8Array[] {
  if (models) return models;
  const rng = new Rng(808);
  const i64 = (v: number[]) => ({ dims: [v.length], data: v, dataType: DataType.INT64 });
  const convnet = onnxModel({
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 2, 8, 8] }],
    outputs: [{ name: "y", shape: ["N", 3] }],
    nodes: [
      { op: "Conv", inputs: ["x", "w1", "b1"], outputs: ["c1"], attrs: { pads: [1, 1, 1, 1], strides: [1, 1], kernel_shape: [3, 3] } },
      { op: "BatchNormalization", inputs: ["c1", "s", "t", "m", "v"], outputs: ["n1"], attrs: { epsilon: f(1e-5) } },
      { op: "Relu", inputs: ["n1"], outputs: ["r1"] },
      { op: "MaxPool", inputs: ["r1"], outputs: ["p1"], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: "Conv", inputs: ["p1", "w2"], outputs: ["c2"], attrs: { group: 4, auto_pad: "SAME_UPPER", dilations: [1, 1] } },
      { op: "Add", inputs: ["c2", "p1"], outputs: ["a2"] },
      { op: "LeakyRelu", inputs: ["a2"], outputs: ["l2"], attrs: { alpha: f(0.1) } },
      { op: "GlobalAveragePool", inputs: ["l2"], outputs: ["g"] },
      { op: "Flatten", inputs: ["g"], outputs: ["fl"], attrs: { axis: 1 } },
      { op: "Gemm", inputs: ["fl", "wd", "bd"], outputs: ["z"], attrs: { transB: 1, alpha: f(0.5) } },
      { op: "Softmax", inputs: ["z"], outputs: ["y"], attrs: { axis: -1 } },
    ],
    initializers: {
      w1: randomTensor(rng, [4, 2, 3, 3]), b1: randomTensor(rng, [4]),
      s: randomTensor(rng, [4]), t: randomTensor(rng, [4]), m: randomTensor(rng, [4]),
      v: { dims: [4], data: Float32Array.of(1, 0.5, 2, 0.25) },
      w2: randomTensor(rng, [4, 1, 3, 3]), wd: randomTensor(rng, [3, 4]), bd: randomTensor(rng, [3]),
    },
  });
  const shapes = onnxModel({
    opset: 13,
    inputs: [{ name: "x", shape: [1, 3, 4, 4] }],
    outputs: [{ name: "y", shape: [1, 12, 4] }, { name: "q" }],
    nodes: [
      { op: "Shape", inputs: ["x"], outputs: ["sh"] },
      { op: "Gather", inputs: ["sh", "i0"], outputs: ["n"], attrs: { axis: 0 } },
      { op: "Constant", inputs: [], outputs: ["k"], attrs: { value: i64([12, 4]) } },
      { op: "Concat", inputs: ["n", "k"], outputs: ["target"], attrs: { axis: 0 } },
      { op: "Reshape", inputs: ["x", "target"], outputs: ["r"] },
      { op: "Transpose", inputs: ["r"], outputs: ["tr"], attrs: { perm: [0, 2, 1] } },
      { op: "Slice", inputs: ["tr", "st", "en", "ax", "sp"], outputs: ["sl"] },
      { op: "Pad", inputs: ["sl", "pads", "cv"], outputs: ["pd"], attrs: { mode: "constant" } },
      { op: "MatMul", inputs: ["pd", "mm"], outputs: ["mt"] },
      { op: "Unsqueeze", inputs: ["mt", "ua"], outputs: ["us"] },
      { op: "Squeeze", inputs: ["us", "ua"], outputs: ["sq"] },
      { op: "Clip", inputs: ["sq", "lo", "hi"], outputs: ["cl"] },
      { op: "Sigmoid", inputs: ["cl"], outputs: ["sg"] },
      { op: "Mul", inputs: ["sg", "sc"], outputs: ["mu"] },
      { op: "Sub", inputs: ["mu", "sc"], outputs: ["su"] },
      { op: "Div", inputs: ["su", "sc"], outputs: ["dv"] },
      { op: "Exp", inputs: ["dv"], outputs: ["ex"] },
      { op: "Tanh", inputs: ["ex"], outputs: ["th"] },
      { op: "Dropout", inputs: ["th"], outputs: ["dr"] },
      { op: "Identity", inputs: ["dr"], outputs: ["y"] },
      { op: "AveragePool", inputs: ["x"], outputs: ["ap"], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, count_include_pad: 1, pads: [1, 1, 1, 1] } },
      { op: "PRelu", inputs: ["ap", "slope"], outputs: ["pr"] },
      { op: "GlobalMaxPool", inputs: ["pr"], outputs: ["gm"] },
      { op: "Concat", inputs: ["gm", "gm"], outputs: ["q"], attrs: { axis: 1 } },
    ],
    initializers: {
      i0: i64([0]),
      st: i64([0, 0]), en: i64([12, 100]), ax: i64([1, 2]), sp: i64([2, 1]),
      pads: i64([0, 1, 0, 0, 1, 0]), cv: { dims: [], data: [0.5] },
      mm: randomTensor(rng, [12, 4]), ua: i64([0]),
      lo: { dims: [], data: [-1] }, hi: { dims: [], data: [1] },
      sc: { dims: [4], data: Float32Array.of(1, 2, -1, 0.5) },
      slope: { dims: [3, 1, 1], data: Float32Array.of(0.1, 0.2, 0.3) },
    },
  });
  const old = onnxModel({
    opset: 9,
    inputs: [{ name: "x", shape: [2, 3, 5] }],
    outputs: [{ name: "y", shape: [2, 16] }],
    nodes: [
      { op: "Pad", inputs: ["x"], outputs: ["p"], attrs: { pads: [0, 0, 1, 0, 0, 0], value: f(1) } },
      { op: "Clip", inputs: ["p"], outputs: ["c"], attrs: { min: f(-0.5), max: f(0.5) } },
      { op: "Slice", inputs: ["c"], outputs: ["s"], attrs: { starts: [0, 0], ends: [4, 4], axes: [1, 2] } },
      { op: "Unsqueeze", inputs: ["s"], outputs: ["u"], attrs: { axes: [1] } },
      { op: "Squeeze", inputs: ["u"], outputs: ["q"], attrs: { axes: [1] } },
      { op: "Reshape", inputs: ["q", "shape"], outputs: ["r"] },
      { op: "Softmax", inputs: ["r"], outputs: ["y"], attrs: { axis: 1 } },
    ],
    initializers: { shape: i64([2, -1]) },
  });
  const fed = onnxModel({
    opset: 13,
    inputs: [{ name: "x", shape: [1, 6] }, { name: "shape", shape: [2], elemType: DataType.INT64 }],
    outputs: [{ name: "y", shape: [null, null] }],
    nodes: [
      { op: "Reshape", inputs: ["x", "shape"], outputs: ["r"] },
      { op: "Relu", inputs: ["r"], outputs: ["y"] },
    ],
  });
  models = [new Uint8Array(readFileSync(PHANTOM)), convnet, shapes, old, fed];
  return models;
}

function pngjs(width: number, height: number, colorType: 0 | 2, bitDepth: 8 | 16, value: (i: number) => number): Uint8Array {
  const p = new PNG({ width, height, colorType, inputColorType: colorType, bitDepth });
  const n = width * height * (colorType === 0 ? 1 : 3);
  if (bitDepth === 16) {
    const buf = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) buf.writeUInt16BE(value(i) & 0xffff, 2 * i);
    p.data = buf;
  } else {
    p.data = Buffer.from(Array.from({ length: n }, (_, i) => value(i) & 255));
  }
  return new Uint8Array(PNG.sync.write(p, { colorType, inputColorType: colorType, bitDepth }));
}

let pngs: Uint8Array[] | undefined;

/** PNGs: 8-bit grey, 16-bit grey, 8-bit RGB, palette, 2-bit grey interlaced, grey+tRNS, RGBA. */
export function seedPngs(): Uint8Array[] {
  pngs ??= [
    pngjs(9, 7, 0, 8, (i) => i * 5),
    pngjs(6, 5, 0, 16, (i) => i * 2000),
    pngjs(5, 4, 2, 8, (i) => i * 13),
    rawPng({ width: 5, height: 3, colorType: 3, bitDepth: 4, samples: [0, 1, 2, 3, 1, 2, 3, 0, 1, 2, 3, 3, 2, 1, 0], palette: [[0, 0, 0], [255, 0, 0], [0, 255, 0], [9, 9, 9]] }),
    rawPng({ width: 10, height: 9, colorType: 0, bitDepth: 2, interlace: true, samples: Array.from({ length: 90 }, (_, i) => i % 4) }),
    rawPng({ width: 4, height: 4, colorType: 0, bitDepth: 8, samples: Array.from({ length: 16 }, (_, i) => i * 16), trns: [0, 32] }),
    rawPng({ width: 3, height: 2, colorType: 6, bitDepth: 8, samples: Array.from({ length: 24 }, (_, i) => i * 10) }),
  ];
  return pngs;
}

let jpegs: Uint8Array[] | undefined;

/** JPEGs (baseline, from jpeg-js's encoder): a gradient and a noisy image, at two qualities. */
export function seedJpegs(): Uint8Array[] {
  if (jpegs) return jpegs;
  const rng = new Rng(17);
  const img = (w: number, h: number, v: (x: number, y: number, k: number) => number) => {
    const data = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < 4; k++) data[(y * w + x) * 4 + k] = k === 3 ? 255 : v(x, y, k) & 255;
    return { data, width: w, height: h };
  };
  jpegs = [
    new Uint8Array(jpeg.encode(img(16, 16, (x, y) => x * 8 + y * 4), 90).data),
    new Uint8Array(jpeg.encode(img(13, 9, () => rng.int(0, 255)), 50).data),
    new Uint8Array(jpeg.encode(img(24, 8, (x, y, k) => (k === 0 ? x * 10 : k === 1 ? y * 30 : 128)), 75).data),
  ];
  return jpegs;
}

let dicoms: DicomSpec[] | undefined;

/** DICOM files: 16-bit and 8-bit grey in each uncompressed syntax, signed, multi-frame, RGB. */
export function seedDicoms(): Uint8Array[] {
  return seedDicomSpecs().map(([syntax, els]) => dicomFile(syntax, els));
}

export function seedDicomSpecs(): DicomSpec[] {
  dicoms ??= [
    [EXPLICIT_LE, [
      ...greyImage({ rows: 4, columns: 5, allocated: 16, stored: 12 }),
      [0x00281050, "DS", "2000"], [0x00281051, "DS", "4000"], [0x00281052, "DS", "-1024"], [0x00281053, "DS", "1"],
      [0x00080060, "CS", "CT"],
      [0x7fe00010, "OW", words(Array.from({ length: 20 }, (_, i) => i * 200))],
    ]],
    [IMPLICIT_LE, [...greyImage({ rows: 3, columns: 3, allocated: 8, stored: 8 }), [0x7fe00010, "OB", Uint8Array.from({ length: 10 }, (_, i) => i * 25)]]],
    [EXPLICIT_BE, [
      ...greyImage({ rows: 2, columns: 4, allocated: 16, stored: 16, signed: true, photometric: "MONOCHROME1" }),
      [0x7fe00010, "OW", words([-5, 0, 5, 100, -100, 32767, -32768, 7], false)],
    ]],
    [EXPLICIT_LE, [
      ...greyImage({ rows: 3, columns: 2, allocated: 16, stored: 10, frames: 3, highBit: 11 }),
      [0x7fe00010, "OW", words(Array.from({ length: 18 }, (_, i) => (i * 97) << 2))],
    ]],
    [EXPLICIT_LE, [
      [0x00280002, "US", [3]], [0x00280004, "CS", "RGB"], [0x00280006, "US", [1]],
      [0x00280010, "US", [2]], [0x00280011, "US", [2]], [0x00280100, "US", [8]], [0x00280101, "US", [8]], [0x00280102, "US", [7]],
      [0x7fe00010, "OB", Uint8Array.from({ length: 12 }, (_, i) => i * 20)],
    ]],
  ];
  return dicoms;
}
