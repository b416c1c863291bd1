#!/usr/bin/env node
// Synthetic MR-like slices for the simdcnn phantom demo. A demonstration, not a clinical tool.
//
// phantomSlice(index, { size }) is a pure function of (index, size): every random choice comes
// from a PRNG seeded by the index (splitmix32 -> mulberry32), never from Math.random. A slice
// has a body outline (an ellipse with a wobbly, per-index shape and a bright fat rim), one or
// two organs inside it at another intensity, a faint tissue texture, and, for label 1, a small
// round lesion brighter than the tissue around it (radius 3-8 px at size 128, contrast from
// subtle to obvious, always well inside the body). A smooth multiplicative bias field and
// Rician noise are applied last. Values are 12-bit, 0..4095.
//
// Labels are balanced exactly: of the two indices 2k and 2k+1, one has a lesion and the other
// has not (which one is decided by a hash of k), so any range starting at an even index with an
// even count holds as many lesion slices as normal ones.
//
// Coordinates: x is the column and y the row of the size x size slice, from its top-left
// corner, in pixels, with pixel (column i, row j) centred at (i, j). The lesion's radius r is in
// the same unit.
//
// CLI:
//   node generate.mjs --out DIR --count N [--start S] [--size 128] [--format raw|png]
//     raw: DIR/slices.f32 (N*size*size float32 little-endian, value/4095 in 0..1, slice after
//          slice, row-major), DIR/masks.u8 (N*size*size bytes, each pixel's class in MASK_LABELS)
//          and DIR/labels.json ({ size, start, count, scale, labels, lesions })
//     png: DIR/slice-0007-lesion.png / slice-0003-normal.png (16-bit grey; the 12-bit value v
//          is stored as round(v * 65535 / 4095), so that pixel/65535 equals v/4095 to within
//          1e-5) and DIR/samples.json ({ file: { index, label, lesion: { x, y, r } | null } })

import { mkdirSync, writeFileSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const MAX_VALUE = 4095;
export const LABELS = ["normal", "lesion"];
/** The classes of a slice's mask (`mask` of phantomSlice), by index. */
export const MASK_LABELS = ["background", "body", "organ", "lesion"];

/** splitmix32: a well-mixed 32-bit hash, used to seed the per-slice generator. */
function hash32(n) {
  let z = (n + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand) {
  // Box-Muller; 1 - u keeps the logarithm finite.
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const smoothstep = (e0, e1, x) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

/** 0 or 1; exactly one of 2k and 2k+1 is 1. */
export function phantomLabel(index) {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`phantomSlice: index must be a non-negative integer, got ${index}`);
  const k = Math.floor(index / 2);
  return ((index & 1) ^ (hash32(k ^ 0x5bd1e995) & 1));
}

/**
 * A closed, wobbly outline: an ellipse (centre cx, cy; semi-axes a, b; rotation th) whose radius
 * is modulated by a few low harmonics. `inside(x, y)` returns the approximate signed distance in
 * pixels from the outline (positive inside).
 */
function outline(cx, cy, a, b, th, harmonics) {
  const c = Math.cos(th);
  const s = Math.sin(th);
  return (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    const u = dx * c + dy * s;
    const v = -dx * s + dy * c;
    const phi = Math.atan2(v / b, u / a);
    let m = 1;
    for (const h of harmonics) m += h.amp * Math.cos(h.k * phi + h.phase);
    const rho = Math.hypot(u / a, v / b) / m; // 1 on the outline
    // Scale the normalised radius back to pixels with the local radius of the outline.
    const ca = Math.cos(phi);
    const sa = Math.sin(phi);
    const local = m * Math.hypot(a * ca, b * sa);
    return (1 - rho) * local;
  };
}

/**
 * One synthetic slice. Returns { pixels: Uint16Array(size*size) of 12-bit values, size,
 * label: 0 | 1, lesion: { x, y, r } | null (pixel units of this size), mask: Uint8Array(size*size)
 * of each pixel's class in MASK_LABELS: background, body, organ, lesion }. A pixel belongs to
 * the last of body, organ and lesion whose soft outline it is more than half inside.
 */
export function phantomSlice(index, { size = 128 } = {}) {
  if (!Number.isInteger(size) || size < 32) throw new RangeError(`phantomSlice: size must be an integer >= 32, got ${size}`);
  const label = phantomLabel(index);
  const rand = mulberry32(hash32(index) ^ 0x1b873593);
  const uni = (lo, hi) => lo + (hi - lo) * rand();
  const k = size / 128; // geometry is specified for 128 x 128 and scaled
  const mid = (size - 1) / 2;

  // Body: a wobbly ellipse with a bright subcutaneous fat rim.
  const bodyA = uni(42, 56) * k;
  const bodyB = uni(32, 46) * k;
  const body = outline(
    mid + uni(-5, 5) * k,
    mid + uni(-5, 5) * k,
    bodyA,
    bodyB,
    uni(-0.35, 0.35),
    [
      { k: 2, amp: uni(0, 0.06), phase: uni(0, 2 * Math.PI) },
      { k: 3, amp: uni(0, 0.05), phase: uni(0, 2 * Math.PI) },
      { k: 5, amp: uni(0, 0.02), phase: uni(0, 2 * Math.PI) },
    ],
  );
  const fat = uni(2, 5) * k;
  const tissue = uni(850, 1250);
  const fatLevel = tissue * uni(1.55, 2.0);

  // Organs: one or two smaller wobbly ellipses inside the body, darker or brighter than tissue,
  // with a thin dark rim.
  const organs = [];
  const nOrgans = rand() < 0.5 ? 1 : 2;
  for (let o = 0; o < nOrgans; o++) {
    const a = uni(10, 22) * k;
    const b = uni(8, 16) * k;
    // Centre: somewhere inside the body's inner part.
    let cx = mid;
    let cy = mid;
    for (let tries = 0; tries < 50; tries++) {
      cx = mid + uni(-0.55, 0.55) * bodyA;
      cy = mid + uni(-0.55, 0.55) * bodyB;
      if (body(cx, cy) > Math.max(a, b) + fat + 2 * k) break;
    }
    const factor = rand() < 0.5 ? uni(0.5, 0.8) : uni(1.2, 1.45);
    organs.push({
      f: outline(cx, cy, a, b, uni(0, Math.PI), [
        { k: 2, amp: uni(0, 0.08), phase: uni(0, 2 * Math.PI) },
        { k: 3, amp: uni(0, 0.06), phase: uni(0, 2 * Math.PI) },
      ]),
      level: tissue * factor,
    });
  }

  // Faint, large-scale tissue texture: a few broad Gaussian bumps of +-6%.
  const bumps = [];
  for (let i = 0, n = 4 + Math.floor(rand() * 4); i < n; i++) {
    bumps.push({ x: uni(0, size), y: uni(0, size), s2: (uni(8, 18) * k) ** 2, amp: uni(-0.06, 0.06) });
  }

  // Bias field: exp of a low-order polynomial over the slice, roughly 0.75..1.3.
  const bias = { gx: uni(-0.18, 0.18), gy: uni(-0.18, 0.18), qx: uni(-0.12, 0.12), qy: uni(-0.12, 0.12), xy: uni(-0.1, 0.1) };
  const sigma = tissue * uni(0.025, 0.05); // noise level, per slice

  // Lesion (label 1 only): drawn after the anatomy, so the anatomy's distribution is the same
  // for both labels.
  let lesion = null;
  let lesionContrast = 0;
  if (label === 1) {
    const r = uni(3, 8) * k;
    // Contrast relative to the tissue under it: mostly clear, some subtle (down to +18%).
    lesionContrast = 0.18 + 0.55 * rand() ** 1.5;
    let x = mid;
    let y = mid;
    for (let tries = 0; tries < 1000; tries++) {
      x = mid + uni(-1, 1) * bodyA;
      y = mid + uni(-1, 1) * bodyB;
      if (x - r < 2 || y - r < 2 || x + r > size - 3 || y + r > size - 3) continue;
      if (body(x, y) >= r + fat + 4 * k) break; // never on the border or in the fat rim
    }
    lesion = { x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10, r: Math.round(r * 10) / 10 };
  }

  const pixels = new Uint16Array(size * size);
  // The true class of each pixel: where the soft outlines drawn below are past half-way. A lesion
  // covers an organ, an organ the body.
  const mask = new Uint8Array(size * size);
  const edge = 0.8 * k; // anti-aliasing width of outlines, pixels
  for (let yy = 0; yy < size; yy++) {
    for (let xx = 0; xx < size; xx++) {
      const d = body(xx, yy);
      let s = 0;
      let cls = d > 0 ? 1 : 0;
      if (d > -2 * edge) {
        const inBody = smoothstep(-edge, edge, d);
        const inInner = smoothstep(fat - edge, fat + edge, d);
        let t = tissue;
        for (const org of organs) {
          const od = org.f(xx, yy);
          if (od > -3 * k) {
            const inOrg = smoothstep(-edge, edge, od);
            if (od > 0 && cls === 1) cls = 2;
            const rim = Math.exp(-((od - 0.8 * k) ** 2) / (2 * (0.7 * k) ** 2));
            t = t + (org.level - t) * inOrg;
            t *= 1 - 0.25 * rim;
          }
        }
        let tex = 1;
        for (const b of bumps) tex += b.amp * Math.exp(-((xx - b.x) ** 2 + (yy - b.y) ** 2) / (2 * b.s2));
        t *= tex;
        if (lesion) {
          const ld = Math.hypot(xx - lesion.x, yy - lesion.y);
          const inLesion = 1 / (1 + Math.exp((ld - lesion.r) / (0.6 * k)));
          if (ld < lesion.r) cls = 3;
          t *= 1 + lesionContrast * inLesion;
        }
        s = inBody * (fatLevel + (t - fatLevel) * inInner);
      }
      const u = (2 * xx) / (size - 1) - 1;
      const v = (2 * yy) / (size - 1) - 1;
      s *= Math.exp(bias.gx * u + bias.gy * v + bias.qx * u * u + bias.qy * v * v + bias.xy * u * v);
      // Rician noise: the magnitude of a complex signal with Gaussian noise on both channels.
      const re = s + sigma * gaussian(rand);
      const im = sigma * gaussian(rand);
      pixels[yy * size + xx] = Math.min(MAX_VALUE, Math.round(Math.hypot(re, im)));
      mask[yy * size + xx] = cls;
    }
  }
  return { pixels, size, label, lesion, mask };
}

/** 16-bit PNG sample value for a 12-bit value: pixel/65535 = v/4095 to within 1e-5. */
export function to16bit(v) {
  return Math.round((v * 65535) / MAX_VALUE);
}

export function sliceFileName(index, label) {
  return `slice-${String(index).padStart(4, "0")}-${LABELS[label]}.png`;
}

async function writePng(path, pixels, size) {
  const { PNG } = (await import("pngjs")).default ?? (await import("pngjs"));
  const png = new PNG({ width: size, height: size, bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  // pngjs reads 16-bit input from a Uint16Array-backed buffer in native order.
  const data = new Uint16Array(size * size);
  for (let i = 0; i < data.length; i++) data[i] = to16bit(pixels[i]);
  png.data = Buffer.from(data.buffer);
  writeFileSync(path, PNG.sync.write(png, { width: size, height: size, bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false }));
}

function parseArgs(argv) {
  const opts = { out: null, count: null, start: 0, size: 128, format: "raw", indices: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--out") opts.out = val();
    else if (a === "--count") opts.count = Number(val());
    else if (a === "--start") opts.start = Number(val());
    else if (a === "--size") opts.size = Number(val());
    else if (a === "--format") opts.format = val();
    else if (a === "--indices") opts.indices = val().split(",").map(Number);
    else if (a === "-h" || a === "--help") opts.help = true;
    else throw new Error(`unknown argument '${a}'`);
  }
  return opts;
}

const USAGE = `usage: node generate.mjs --out DIR (--count N [--start S] | --indices I,J,...) [--size 128] [--format raw|png]`;

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const indices = opts.indices ?? (Number.isInteger(opts.count) && opts.count > 0 && Number.isInteger(opts.start) && opts.start >= 0
    ? Array.from({ length: opts.count }, (_, i) => opts.start + i)
    : null);
  if (!opts.out || !indices || indices.some((i) => !Number.isInteger(i) || i < 0) || !["raw", "png"].includes(opts.format)) {
    console.error(USAGE);
    process.exit(2);
  }
  mkdirSync(opts.out, { recursive: true });
  const size = opts.size;
  if (opts.format === "raw") {
    const data = new Float32Array(indices.length * size * size);
    const masks = new Uint8Array(indices.length * size * size);
    const labels = [];
    const lesions = [];
    indices.forEach((index, n) => {
      const s = phantomSlice(index, { size });
      const base = n * size * size;
      for (let i = 0; i < s.pixels.length; i++) data[base + i] = s.pixels[i] / MAX_VALUE;
      masks.set(s.mask, base);
      labels.push(s.label);
      lesions.push(s.lesion);
    });
    let buf;
    if (endianness() === "LE") buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    else {
      buf = Buffer.alloc(data.length * 4);
      for (let i = 0; i < data.length; i++) buf.writeFloatLE(data[i], i * 4);
    }
    writeFileSync(join(opts.out, "slices.f32"), buf);
    writeFileSync(join(opts.out, "masks.u8"), masks);
    writeFileSync(join(opts.out, "labels.json"), JSON.stringify({ size, indices, scale: `value/${MAX_VALUE}`, labels, lesions }));
    console.log(`wrote ${indices.length} slices (${labels.filter((l) => l === 1).length} with a lesion) to ${opts.out}/slices.f32 masks.u8 and labels.json`);
  } else {
    const samples = {};
    for (const index of indices) {
      const s = phantomSlice(index, { size });
      const file = sliceFileName(index, s.label);
      await writePng(join(opts.out, file), s.pixels, size);
      samples[file] = { index, label: LABELS[s.label], lesion: s.lesion };
    }
    writeFileSync(join(opts.out, "samples.json"), JSON.stringify({ size, coordinates: "x = column, y = row, pixel (i, j) centred at (i, j); r = radius; all in pixels", files: samples }, null, 2) + "\n");
    console.log(`wrote ${indices.length} PNG slices and samples.json to ${opts.out}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
