/** A fragment of encapsulated pixel data as dicom-parser lists it. */
export interface Fragment {
  /** Offset of the fragment's item tag from the first fragment's, as offset tables count. */
  offset: number;
  /** Where the fragment's bytes start in the file. */
  position: number;
  length: number;
}

/**
 * Splits encapsulated pixel data into `frames` frames' compressed bytes. Frames are found by the
 * Basic Offset Table (`offsets`) if it is not empty, else one fragment per frame if the counts
 * agree, else (one frame) all fragments, else by the fragments that begin a codestream
 * (`startsFrame`). Throws an Error saying what does not fit:
 * a fragment that runs past the end of the file, an offset that is not a fragment's, fewer or
 * more frames than Number of Frames.
 */
export function encapsulatedFrames(
  bytes: Uint8Array,
  fragments: Fragment[],
  frames: number,
  offsets: number[] | undefined,
  startsFrame: ((fragment: Uint8Array) => boolean) | undefined,
): Uint8Array[] {
  if (fragments.length === 0) throw new Error("the encapsulated pixel data holds no fragments");
  const parts = fragments.map((f, i) => {
    if (f.position + f.length > bytes.length) {
      throw new Error(
        `fragment ${i + 1} of ${fragments.length} claims ${f.length} bytes, the file ends ${Math.max(bytes.length - f.position, 0)} bytes into it (truncated?)`,
      );
    }
    return bytes.subarray(f.position, f.position + f.length);
  });

  let groups: Uint8Array[][];
  if (offsets && offsets.length > 0) {
    if (offsets.length !== frames) throw new Error(`the offset table lists ${offsets.length} frame(s), Number of Frames is ${frames}`);
    const starts = offsets.map((o, f) => {
      const at = fragments.findIndex((g) => g.offset === o);
      if (at < 0 || (f > 0 && o <= offsets[f - 1])) throw new Error(`the offset table's entry for frame ${f + 1} (${o}) is not the start of a fragment after the previous frame's`);
      return at;
    });
    groups = starts.map((s, f) => parts.slice(s, starts[f + 1] ?? parts.length));
  } else if (fragments.length === frames) {
    groups = parts.map((p) => [p]);
  } else if (frames === 1) {
    groups = [parts];
  } else {
    groups = [];
    for (const p of parts) {
      if (groups.length === 0 || startsFrame?.(p)) groups.push([p]);
      else groups[groups.length - 1].push(p);
    }
    if (groups.length !== frames) {
      throw new Error(`the ${fragments.length} fragments hold ${groups.length} frame(s), Number of Frames is ${frames}`);
    }
  }
  return groups.map(join);
}

function join(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
