/**
 * Decodes one frame of RLE Lossless pixel data (DICOM PS3.5 Annex G) to `pixels` samples of
 * `samplesPerPixel` components each, interleaved. The frame starts with a 64-byte header (the
 * number of segments and the byte offset of each, little endian); segment k is PackBits-coded
 * and holds byte k mod bytesPerSample (most significant first) of component k div bytesPerSample
 * for every pixel. Throws an Error saying what is wrong with a malformed frame.
 */
export function decodeRle(frame: Uint8Array, pixels: number, samplesPerPixel: number, bytesPerSample: 1 | 2): Uint8Array | Uint16Array {
  if (frame.length < 64) throw new Error(`the RLE header needs 64 bytes, the frame has ${frame.length}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (count !== expected) throw new Error(`the RLE header lists ${count} segments; ${samplesPerPixel} sample(s) of ${bytesPerSample} byte(s) need ${expected}`);
  const offsets = Array.from({ length: count }, (_, k) => view.getUint32(4 + 4 * k, true));
  offsets.push(frame.length);
  const out = bytesPerSample === 1 ? new Uint8Array(pixels * samplesPerPixel) : new Uint16Array(pixels * samplesPerPixel);
  const segment = new Uint8Array(pixels);
  for (let k = 0; k < count; k++) {
    const start = offsets[k];
    const end = offsets[k + 1];
    if (start < 64 || end < start || end > frame.length) {
      throw new Error(`RLE segment ${k + 1} of ${count} spans bytes ${start}..${end} of a ${frame.length}-byte frame`);
    }
    const filled = unpack(frame, start, end, segment);
    if (filled < pixels) throw new Error(`RLE segment ${k + 1} of ${count} decodes to ${filled} bytes, ${pixels} pixels need ${pixels} (truncated?)`);
    const component = Math.floor(k / bytesPerSample);
    const shift = 8 * (bytesPerSample - 1 - (k % bytesPerSample));
    for (let p = 0, at = component; p < pixels; p++, at += samplesPerPixel) out[at] |= segment[p] << shift;
  }
  return out;
}

// PackBits: a header byte n of 0..127 copies the next n + 1 bytes, -127..-1 repeats the next byte
// 1 - n times, -128 is skipped. Output past `into` (an encoder's padding) is dropped.
function unpack(src: Uint8Array, start: number, end: number, into: Uint8Array): number {
  let at = start;
  let filled = 0;
  while (at < end && filled < into.length) {
    const n = (src[at++] << 24) >> 24;
    if (n >= 0) {
      const run = Math.min(n + 1, end - at, into.length - filled);
      into.set(src.subarray(at, at + run), filled);
      filled += run;
      at += n + 1;
    } else if (n !== -128) {
      if (at >= end) break;
      const run = Math.min(1 - n, into.length - filled);
      into.fill(src[at++], filled, filled + run);
      filled += run;
    }
  }
  return filled;
}
