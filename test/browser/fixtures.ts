// The workload's file inputs, made in Node: the phantom model's bytes, a layers network written
// as ONNX by encodeModel, a 16-bit greyscale PNG and a signed 12-bit two-frame CT DICOM file
// (both written byte by byte by test/io-helpers.ts, so that every pixel value is known), and
// compressed DICOM fixtures of test/fixtures/dicom/.
import { readFileSync } from "node:fs";
import { encodeModel } from "../../src/onnx/encode.js";
import { layers, networkGraph } from "../../src/layers/layers.js";
import { EXPLICIT_LE, dicomFile, greyImage, rawPng, words } from "../io-helpers.js";
import { COMPRESSED_DICOM, type Fixtures, random } from "./workload.js";

export const ROOT = new URL("../../", import.meta.url);

function encodedNetwork(): Uint8Array {
  const r = (n: number, seed: number) => random(n, seed, -0.5, 0.5);
  const x = layers.input([12, 12, 2]);
  const a = layers.conv2d({ filters: 6, kernel: 3, padding: "same", weights: r(6 * 9 * 2, 61), bias: r(6, 62), activation: "relu" }).apply(x);
  const b = layers.conv2d({ filters: 6, kernel: 1, weights: r(6 * 6, 63), bias: r(6, 64) }).apply(a);
  let y = layers.leakyRelu(0.2).apply(layers.add().apply([a, b]));
  y = layers.concat().apply([y, layers.maxPool2d({ kernel: 3, strides: 1, padding: "same" }).apply(a)]);
  y = layers.avgPool2d({ kernel: 2 }).apply(y);
  y = layers.flatten().apply(y);
  y = layers.dense({ units: 4, weights: r(6 * 6 * 12 * 4, 65), bias: r(4, 66), activation: "sigmoid" }).apply(y);
  return encodeModel(networkGraph([x], [y]));
}

function png16(): Uint8Array {
  const width = 45;
  const height = 37;
  const samples = Array.from(random(width * height, 71, 0, 65536), (v) => Math.floor(v));
  return rawPng({ width, height, colorType: 0, bitDepth: 16, samples });
}

function ct(): Uint8Array {
  const rows = 31;
  const columns = 26;
  const intercept = -1024;
  const hu = Array.from(random(2 * rows * columns, 81, -1024, 3071), (v) => Math.floor(v));
  return dicomFile(EXPLICIT_LE, [
    [0x00080060, "CS", "CT"],
    ...greyImage({ rows, columns, allocated: 16, stored: 12, signed: true, frames: 2 }),
    [0x00281050, "DS", "300"],
    [0x00281051, "DS", "1500"],
    [0x00281052, "DS", String(intercept)],
    [0x00281053, "DS", "1"],
    [0x7fe00010, "OW", words(hu.map((v) => (v - intercept - 2048) & 0xfff))],
  ]);
}

export function makeFixtures(): Fixtures {
  return {
    "phantom.onnx": new Uint8Array(readFileSync(new URL("examples/phantom/phantom.onnx", ROOT))),
    "encoded.onnx": encodedNetwork(),
    "slice16.png": png16(),
    "ct.dcm": ct(),
    ...Object.fromEntries(COMPRESSED_DICOM.map((name) => [name, new Uint8Array(readFileSync(new URL(`test/fixtures/dicom/${name}`, ROOT)))])),
  } as Fixtures;
}
