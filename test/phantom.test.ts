// The bundled demo: the phantom model classifies its sample slices as their labels say, and its
// occlusion boxes cover the lesions the generator placed (and, as documented, normal slices get
// a box too).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { COMMAND } from "./cli-run.js";

const run = promisify(execFile);
const root = new URL("../", import.meta.url).pathname;
const samples = join(root, "examples/phantom/samples");

interface Sample {
  label: string;
  lesion: { x: number; y: number; r: number } | null;
}

describe("phantom demo", () => {
  it("classifies every sample slice as labelled and boxes every lesion", async () => {
    const meta = JSON.parse(readFileSync(join(samples, "samples.json"), "utf8")) as { files: Record<string, Sample> };
    const heat = mkdtempSync(join(tmpdir(), "simdcnn-phantom-"));
    let stdout: string;
    try {
      ({ stdout } = await run(
        process.execPath,
        [COMMAND, "classify", "--json", "--model", join(root, "examples/phantom/phantom.onnx"), "--heatmap", heat, samples],
        { encoding: "utf8" },
      ));
    } finally {
      rmSync(heat, { recursive: true, force: true });
    }
    const results = JSON.parse(stdout) as { file: string; top: { label: string }[]; box?: { x: number; y: number; width: number; height: number } }[];
    expect(results).toHaveLength(Object.keys(meta.files).length);
    for (const r of results) {
      const s = meta.files[r.file.split("/").at(-1)!];
      expect(r.top[0].label, r.file).toBe(s.label);
      // As the README says: the box marks where hiding the slice most lowered the predicted
      // class's score, so normal slices get one too.
      expect(r.box, r.file).toBeDefined();
      if (s.lesion) {
        const { x, y, width, height } = r.box!;
        expect(s.lesion.x >= x && s.lesion.x < x + width && s.lesion.y >= y && s.lesion.y < y + height, `${r.file}: lesion at (${s.lesion.x}, ${s.lesion.y}) inside box ${JSON.stringify(r.box)}`).toBe(true);
      }
    }
  });
});
