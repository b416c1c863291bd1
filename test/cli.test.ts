// The simdcnn command end to end, in child processes, on a model and slices made here.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileError, SimdcnnError, init, layers } from "../src/node.js";
import { lastWords } from "../src/cli/processes.js";
import { networkGraph } from "../src/layers/layers.js";
import { encodeModel } from "../src/onnx/encode.js";
import { png, simdcnn } from "./cli-run.js";
import { onnxModel, randomTensor } from "./onnx-builder.js";
import { EXPLICIT_LE, dicomFile, greyImage, words } from "./io-helpers.js";
import { Rng } from "./reference.js";

const run = promisify(execFile);

let dir: string;
let model: string;
let slices: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "simdcnn-cli-"));
  const rng = new Rng(5);
  const x = layers.input([32, 32, 1]);
  let t = layers.conv2d({ filters: 4, kernel: 3, padding: "same", weights: rng.f32(36, -0.5, 0.5), activation: "relu" }).apply(x);
  t = layers.globalAvgPool2d().apply(layers.maxPool2d({ kernel: 2 }).apply(t));
  t = layers.dense({ units: 3, weights: rng.f32(12, -1, 1), bias: Float32Array.of(0.1, 0, -0.1) }).apply(t);
  const g = networkGraph([x], [t]);
  g.metadata = { "simdcnn:labels": '["alpha","beta","gamma"]', "simdcnn:output": "softmax" };
  model = join(dir, "m.onnx");
  writeFileSync(model, encodeModel(g));
  slices = join(dir, "slices");
  mkdirSync(slices);
  writeFileSync(join(slices, "a.png"), png(40, 40, (x, y) => (x * 7 + y * 3) % 256));
  writeFileSync(join(slices, "b.png"), png(20, 30, (x) => x * 12));
  writeFileSync(join(slices, "c-corrupt.png"), png(16, 16, () => 9).subarray(0, 60));
  const mpeg2 = dicomFile("1.2.840.10008.1.2.4.100", [...greyImage({ rows: 4, columns: 4, allocated: 16, stored: 16 }), [0x7fe00010, "OB", new Uint8Array(16)]]);
  writeFileSync(join(slices, "d-compressed.dcm"), mpeg2);
  const frames = dicomFile(EXPLICIT_LE, [
    ...greyImage({ rows: 8, columns: 8, allocated: 16, stored: 12, frames: 2 }),
    [0x7fe00010, "OW", words(Array.from({ length: 128 }, (_, i) => (i * 37) % 4096))],
  ]);
  writeFileSync(join(slices, "e-frames.dcm"), frames);
  writeFileSync(join(slices, "notes.txt"), "not a slice; passed over in a folder");
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("simdcnn classify", () => {
  it("classifies compressed DICOM as its uncompressed source, frame by frame", async () => {
    const fixture = (name: string) => new URL(`./fixtures/dicom/${name}`, import.meta.url).pathname;
    const rows = async (file: string) => {
      const r = await simdcnn(["classify", "--model", model, "--json", fixture(file)]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Record<string, unknown>[]).map(({ file: _, ...rest }) => rest);
    };
    for (const [compressed, source] of [["mf.jpeg-ls.dcm", "mf.dcm"], ["u12.j2k.dcm", "u12.dcm"], ["s16.jpeg-lossless-sv1.dcm", "s16.dcm"]]) {
      const got = await rows(compressed);
      expect(got.length, compressed).toBe(source === "mf.dcm" ? 3 : 1);
      expect(got, compressed).toEqual(await rows(source));
    }
  });

  it("prints a table of every slice, reports the bad files with their reason, and exits 1", async () => {
    const before = Object.fromEntries(readdirSync(slices).map((f) => [f, readFileSync(join(slices, f))]));
    const r = await simdcnn(["classify", "--model", model, slices]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^file\s+class\s+probability/);
    expect(lines).toHaveLength(1 + 6);
    expect(lines[1]).toMatch(/a\.png\s+(alpha|beta|gamma)\s+0\.\d{4}/);
    expect(lines[3]).toMatch(/c-corrupt\.png\s+ERROR.*InputFormatError/);
    expect(lines[4]).toMatch(/d-compressed\.dcm\s+ERROR.*UnsupportedError.*1\.2\.840\.10008\.1\.2\.4\.100 \(MPEG2/);
    expect(lines[5]).toMatch(/e-frames\.dcm \[frame 1\]/);
    expect(lines[6]).toMatch(/e-frames\.dcm \[frame 2\]/);
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(slices, f)).equals(bytes), `${f} unchanged`).toBe(true);
  });

  it("writes JSON whose probabilities are a softmax over the model's labels, and CSV with one line per slice", async () => {
    const j = await simdcnn(["classify", "--model", model, "--json", "--top-k", "3", join(slices, "a.png"), join(slices, "b.png")]);
    expect(j.code).toBe(0);
    const results = JSON.parse(j.stdout) as { file: string; top: { label: string; probability: number }[] }[];
    expect(results.map((x) => x.file)).toEqual([join(slices, "a.png"), join(slices, "b.png")]);
    for (const x of results) {
      expect(x.top.map((p) => p.label).sort()).toEqual(["alpha", "beta", "gamma"]);
      expect(x.top.reduce((a, p) => a + p.probability, 0)).toBeCloseTo(1, 5);
      expect(x.top[0].probability).toBeGreaterThanOrEqual(x.top[1].probability);
    }
    const out = join(dir, "out.csv");
    const c = await simdcnn(["classify", "--model", model, "--csv", "--out", out, slices]);
    expect(c.code).toBe(1);
    expect(c.stdout).toBe("");
    const rows = readFileSync(out, "utf8").trim().split("\n");
    expect(rows[0]).toBe("file,frame,class,probability,top_k,box,peak,heatmap,error");
    expect(rows).toHaveLength(7);
    expect(rows[3]).toMatch(/c-corrupt\.png,,,,,,,,InputFormatError/);
  });

  it("writes an occlusion heatmap PNG per slice (batched) with its box in the JSON", async () => {
    const hm = join(dir, "heat");
    const r = await simdcnn(["classify", "--model", model, "--json", "--heatmap", hm, "--batch", "4", join(slices, "a.png"), join(slices, "e-frames.dcm")]);
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout) as { heatmap: string; box?: { x: number; y: number; width: number; height: number } }[];
    expect(readdirSync(hm).sort()).toEqual(["a.png", "e-frames-frame1.png", "e-frames-frame2.png"]);
    const img = PNG.sync.read(readFileSync(results[0].heatmap));
    expect([img.width, img.height]).toEqual([40, 40]);
    for (const x of results) if (x.box) expect(x.box.x + x.box.width).toBeLessThanOrEqual(40);
    const mtime = statSync(results[0].heatmap).mtimeMs;
    const again = await simdcnn(["classify", "--model", model, "--heatmap", hm, "--skip-existing", join(slices, "a.png")]);
    expect(again.code).toBe(0);
    expect(statSync(results[0].heatmap).mtimeMs).toBe(mtime);
  });

  it("--method scorecam and --baseline/--patch for occlusion: heat, peak in the slice's pixels, box or a flat note", async () => {
    for (const flags of [["--method", "scorecam", "--baseline", "mean"], ["--baseline", "zero", "--patch", "4,8", "--stride", "2"]]) {
      const hm = join(dir, `heat-${flags.join("")}`);
      const r = await simdcnn(["classify", "--model", model, "--json", "--heatmap", hm, ...flags, join(slices, "a.png"), join(slices, "b.png")]);
      expect(r.code, r.stderr).toBe(0);
      type Row = { file: string; box?: { x: number; width: number }; peak: { x: number; y: number; value: number }; explanation: { method: string; score: string; flat: boolean; note: string } };
      const rows = JSON.parse(r.stdout) as Row[];
      for (const row of rows) {
        const [w, h] = row.file.endsWith("a.png") ? [40, 40] : [20, 30];
        expect(row.explanation.method).toBe(flags[0] === "--method" ? "scorecam" : "occlusion");
        expect(row.explanation.score).toMatch(/^log-odds of the class/);
        expect(row.peak.x).toBeGreaterThanOrEqual(0);
        expect(row.peak.x).toBeLessThan(w);
        expect(row.peak.y).toBeLessThan(h);
        if (row.explanation.flat) {
          expect(row.box).toBeUndefined();
          expect(row.explanation.note).toMatch(/^flat heat/);
        } else {
          expect(row.box!.x + row.box!.width).toBeLessThanOrEqual(w);
          expect(row.explanation.note).toMatch(/within 50% of the peak/);
        }
      }
    }
  });

  it("--method, --baseline and --patch errors: exit 2, one line", async () => {
    for (const [args, message] of [
      [["--heatmap", join(dir, "h1"), "--method", "gradcam"], /--method expects occlusion or scorecam, got 'gradcam'/],
      [["--heatmap", join(dir, "h2"), "--baseline", "noise"], /--baseline expects blur or mean or zero, got 'noise'/],
      [["--heatmap", join(dir, "h3"), "--patch", "4,x"], /--patch expects a positive integer, got 'x'/],
      [["--method", "scorecam"], /--method needs --heatmap DIR/],
      [["--baseline", "mean"], /--baseline needs --heatmap DIR/],
      [["--heatmap", join(dir, "h4"), "--method", "scorecam", "--patch", "4"], /--patch and --stride are occlusion's/],
    ] as const) {
      const r = await simdcnn(["classify", "--model", model, ...args, join(slices, "a.png")]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0], args.join(" ")).toMatch(message);
    }
  });

  it("exits 2 with a one-line error and the usage for a missing model, an unknown flag or a bad value", async () => {
    for (const args of [
      ["classify", "--model", join(dir, "missing.onnx"), slices],
      ["classify", "--model", model, "--frobnicate", slices],
      ["classify", "--model", model, "--batch", "0", slices],
      ["classify", "--model", model, "--window", "40", slices],
      ["classify", slices],
      ["transmogrify"],
    ]) {
      const r = await simdcnn(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(/^simdcnn: /);
      expect(r.stderr).toMatch(/usage:/);
    }
  });

  it("info prints inputs, outputs, layers, parameters, FLOPs and planned memory", async () => {
    const r = await simdcnn(["info", model]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inputs: input \[N, 32, 32, 1\]/);
    expect(r.stdout).toMatch(/conv 3x3 1->4 \+relu/);
    expect(r.stdout).toMatch(/parameters: \d+, FLOPs: \d+/);
    expect(r.stdout).toMatch(/memory: weights/);
  });

  it("info lists every problem of a model that cannot load; info --check gives ok or a line per problem for each model, exit 1 if any fails", async () => {
    const bad = join(dir, "bad.onnx");
    writeFileSync(bad, onnxModel({
      inputs: [{ name: "x", shape: [1, 3, 4, 4] }], outputs: [{ name: "h" }, { name: "mask" }],
      nodes: [
        { op: "LSTM", name: "lstm", inputs: ["x", "W", "R"], outputs: ["", "h"], attrs: { hidden_size: 2 } },
        { op: "Dropout", name: "drop", inputs: ["x"], outputs: ["d", "mask"] },
      ],
      initializers: { W: randomTensor(new Rng(6), [1, 8, 16]), R: randomTensor(new Rng(7), [1, 8, 2]) },
    }));
    const r = await simdcnn(["info", bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^producer: simdcnn-test/);
    expect(r.stdout).toMatch(/\nunsupported: LSTM node 'lstm' \(opset 13\): an operator simdcnn does not support/);
    expect(r.stdout).toMatch(/\nunsupported: Dropout node 'drop' \(opset 13\): the mask output is read/);
    expect(r.stderr).toMatch(/^simdcnn: UnsupportedError: the model \(opset 13\) cannot be loaded, 2 problems/);
    const absent = join(dir, "absent.onnx");
    // A model whose weights are in an external data file beside it loads too.
    const external = new URL("./fixtures/formats/small.onnx", import.meta.url).pathname;
    const check = await simdcnn(["info", "--check", model, external, bad, absent]);
    expect(check.code).toBe(1);
    expect(check.stdout.trimEnd().split("\n")).toEqual([
      `${model}: ok`,
      `${external}: ok`,
      expect.stringMatching(new RegExp(`^${bad}: LSTM node 'lstm' \\(opset 13\\): an operator simdcnn does not support`)),
      expect.stringMatching(new RegExp(`^${bad}: Dropout node 'drop' \\(opset 13\\): the mask output is read`)),
      `${absent}: '${absent}' does not exist`,
    ]);
    expect((await simdcnn(["info", new URL("./fixtures/formats/small-fp16.onnx", import.meta.url).pathname])).stdout).toMatch(/inputs: x \[1, 3, 16, 16\] float16\noutputs: scores \[1, 5\] float16/);
    const ok = await simdcnn(["info", "--check", model]);
    expect([ok.code, ok.stdout]).toEqual([0, `${model}: ok\n`]);
    expect((await simdcnn(["info", model, bad])).stderr).toMatch(/info takes one model file, got 2; --check takes several/);
  });
});

// Issue 12: the command fails as cleanly as the library and never overwrites a result.
describe("simdcnn classify: outputs that cannot collide", () => {
  let scans: string;
  // Each input has its own size, so that a heatmap shows whose it is.
  const SIZES: Record<string, [number, number]> = {
    "s1/IM00.dcm": [12, 10], "s2/IM00.dcm": [14, 9], "s2/a.png": [20, 18], "s2/a.jpg": [24, 16], "s3/x.dcm": [10, 13], "s3/x-frame2.png": [30, 11],
  };
  const dicom = (w: number, h: number, frames?: number) => dicomFile(EXPLICIT_LE, [
    ...greyImage({ rows: h, columns: w, allocated: 16, stored: 12, frames }),
    [0x7fe00010, "OW", words(Array.from({ length: w * h * (frames ?? 1) }, (_, i) => (i * 53) % 4096))],
  ]);

  beforeAll(() => {
    scans = join(dir, "scans");
    for (const [rel, [w, h]] of Object.entries(SIZES)) {
      mkdirSync(join(scans, rel, ".."), { recursive: true });
      const bytes = rel.endsWith(".png") ? png(w, h, (x, y) => (x * 9 + y * 5) % 256)
        : rel.endsWith(".jpg") ? jpeg.encode({ width: w, height: h, data: Buffer.alloc(w * h * 4, 128) }, 90).data
        : dicom(w, h, rel === "s3/x.dcm" ? 2 : undefined);
      writeFileSync(join(scans, rel), bytes);
    }
  });

  type Row = { file: string; frame?: number; heatmap: string };
  const expected = ["s1/IM00.png", "s2/IM00.png", "s2/a-jpg.png", "s2/a-png.png", "s3/x-dcm-frame1.png", "s3/x-dcm-frame2.png", "s3/x-frame2-png.png"];

  it("names each heatmap after its input's path below the inputs' common folder, one file per slice, in worker processes as in one process", async () => {
    const byThreads: Row[][] = [];
    for (const threads of ["1", "2"]) {
      const heat = join(dir, `heat-${threads}`);
      const r = await simdcnn(["classify", "--model", model, "--json", "--threads", threads, "--heatmap", heat, scans]);
      expect(r.code, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout) as Row[];
      expect(rows).toHaveLength(7);
      expect(rows.map((x) => x.heatmap.slice(heat.length + 1)).sort()).toEqual(expected);
      expect(r.stderr).toMatch(/^7 heatmaps in /m);
      for (const x of rows) {
        const img = PNG.sync.read(readFileSync(x.heatmap));
        expect([img.width, img.height], x.heatmap).toEqual(SIZES[x.file.slice(scans.length + 1)]);
      }
      byThreads.push(rows.map((x) => ({ ...x, heatmap: x.heatmap.slice(heat.length) })));
    }
    expect(byThreads[1]).toEqual(byThreads[0]);
  });

  it("gives each CSV row its own heatmap, and --skip-existing keys on that same name", async () => {
    const heat = join(dir, "heat-csv");
    const first = await simdcnn(["classify", "--model", model, "--csv", "--heatmap", heat, scans]);
    expect(first.code).toBe(0);
    const column = (text: string) => text.trim().split("\n").slice(1).map((l) => l.split(",")[7]);
    const paths = column(first.stdout);
    expect(new Set(paths).size).toBe(7);
    const mtimes = paths.map((p) => statSync(p).mtimeMs);
    // One heatmap removed: only its slice is occluded again; the others are credited to their own slices.
    rmSync(join(heat, "s2/a-jpg.png"));
    const again = await simdcnn(["classify", "--model", model, "--csv", "--heatmap", heat, "--skip-existing", scans]);
    expect(again.code).toBe(0);
    expect(column(again.stdout)).toEqual(paths);
    paths.forEach((p, i) => {
      if (p.endsWith("a-jpg.png")) expect(PNG.sync.read(readFileSync(p)).width).toBe(24);
      else expect(statSync(p).mtimeMs, p).toBe(mtimes[i]);
    });
  });
});

describe("simdcnn classify: setup errors are one line, before any worker starts", () => {
  const files = () => [join(slices, "a.png"), join(slices, "b.png"), join(slices, "e-frames.dcm")];

  it("reports a bad flag value once with exit 2, with one thread or worker processes", async () => {
    for (const threads of ["1", "2"]) {
      for (const [flag, value, message] of [
        ["--backend", "gpu", /--backend expects auto, simd or scalar, got 'gpu'/],
        ["--output", "odds", /--output: expected 'softmax', 'sigmoid', 'logits', got "odds"/],
        ["--resize", "cubic", /--resize: expected 'bilinear', 'nearest', got "cubic"/],
        ["--labels", "a,b", /--labels: 2 names but the model outputs 3 classes/],
        ["--input-size", "64,64", /--input-size: 64,64 differs from the model's declared input/],
        ["--input-size", "7", /--input-size: expected height,width/],
      ] as const) {
        const r = await simdcnn(["classify", "--model", model, "--threads", threads, flag, value, ...files()]);
        const what = `${flag} ${value} --threads ${threads}`;
        expect(r.code, what).toBe(2);
        expect(r.stdout, what).toBe("");
        const lines = r.stderr.trim().split("\n");
        expect(lines[0], what).toMatch(message);
        expect(lines[0], what).toMatch(/^simdcnn: /);
        expect(r.stderr, what).not.toMatch(/worker process failed|\n\s+at /);
      }
    }
  });

  it("reports a malformed model once with exit 1, with one thread or worker processes", async () => {
    const truncated = join(dir, "truncated.onnx");
    writeFileSync(truncated, readFileSync(model).subarray(0, 100));
    const notOnnx = join(dir, "not-onnx.onnx");
    writeFileSync(notOnnx, png(4, 4, () => 0));
    for (const threads of ["1", "2"]) {
      for (const m of [truncated, notOnnx]) {
        const r = await simdcnn(["classify", "--model", m, "--threads", threads, ...files()]);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(/^simdcnn: ModelFormatError: /);
      }
    }
  });

  it("a dead worker's rows carry its own last error, not a usage text or Node's banner", async () => {
    const crash = async (code: string) => {
      try {
        await run(process.execPath, ["-e", code], { encoding: "utf8" });
        throw new Error("did not fail");
      } catch (e) {
        return (e as { stderr: string }).stderr;
      }
    };
    expect(lastWords(await crash("throw new RangeError('Invalid typed array length: 99')"))).toBe("RangeError: Invalid typed array length: 99");
    expect(lastWords(await crash("process.stderr.write('simdcnn: FileError: x\\n'); process.exit(1)"))).toBe("FileError: x");
    expect(lastWords("")).toBeUndefined();
  });
});

describe("simdcnn: file-system problems are one clear line", () => {
  const noStack = (r: { stderr: string }) => expect(r.stderr).not.toMatch(/\n\s+at |node:internal|Node\.js v/);

  it("a folder given as the model, to info, or as --out; a file given as --heatmap: exit 2, nothing written", async () => {
    for (const [args, message] of [
      [["classify", "--model", slices, join(slices, "a.png")], /--model '.*slices' is a folder; expected an ONNX file/],
      [["classify", "--model", model, "--model", slices, join(slices, "a.png")], /--model is given twice/],
      [["info", slices], /info '.*slices' is a folder; expected an ONNX file/],
      [["classify", "--model", model, "--out", slices, join(slices, "a.png")], /--out '.*slices' is a folder; expected a file path/],
      [["classify", "--model", model, "--heatmap", model, join(slices, "a.png")], /--heatmap '.*m\.onnx' is a file; expected a folder/],
      [["classify", "--model", model, "--out", join(model, "r.csv"), join(slices, "a.png")], /--out '.*m\.onnx\/r\.csv': '.*m\.onnx' is a file; expected a folder/],
      [["info", join(dir, "absent.onnx")], /info: '.*absent\.onnx' does not exist/],
    ] as const) {
      const r = await simdcnn([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.split("\n")[0], args.join(" ")).toMatch(message);
      noStack(r);
    }
  });

  it("--out in folders that do not exist yet creates them and keeps every result", async () => {
    const out = join(dir, "missing", "deeper", "results.csv");
    const r = await simdcnn(["classify", "--model", model, "--csv", "--out", out, join(slices, "a.png"), join(slices, "b.png")]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(3);
    expect(readdirSync(join(dir, "missing", "deeper"))).toEqual(["results.csv"]);
  });

  it("engine.loadOnnx(path) throws a FileError for a missing file or a folder", async () => {
    const engine = await init({ backend: "scalar" });
    for (const [path, message] of [[join(dir, "missing.onnx"), /'.*missing\.onnx' does not exist/], [slices, /'.*slices' is a folder; expected a file/]] as const) {
      const e = await engine.loadOnnx(path).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(FileError);
      expect(e).toBeInstanceOf(SimdcnnError);
      expect((e as FileError).message).toMatch(message);
      expect((e as FileError).path).toBe(path);
    }
  });
});

describe("simdcnn: help, version and suggestions", () => {
  it("--help and -h for every command, help <command>, --version: exit 0 on stdout", async () => {
    const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
    for (const [args, first] of [
      [["--help"], /^usage:\n  simdcnn classify/],
      [["-h"], /^usage:\n  simdcnn classify/],
      [["classify", "--help"], /^usage: simdcnn classify --model/],
      [["classify", "-h"], /^usage: simdcnn classify --model/],
      [["classify", "--model", model, "-h", "whatever"], /^usage: simdcnn classify --model/],
      [["info", "--help"], /^usage: simdcnn info/],
      [["help"], /^usage:\n  simdcnn classify/],
      [["help", "classify"], /^usage: simdcnn classify --model/],
      [["help", "info"], /^usage: simdcnn info/],
      [["--version"], new RegExp(`^simdcnn ${version.replaceAll(".", "\\.")}\n$`)],
    ] as const) {
      const r = await simdcnn([...args]);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout, args.join(" ")).toMatch(first);
      expect(r.stderr).toBe("");
    }
  });

  it("names the closest flag or command for a mistyped one", async () => {
    for (const [args, message] of [
      [["classify", "--model", model, "--jsn", slices], /unknown flag --jsn; did you mean --json\?/],
      [["classify", "--model", model, "--heatmaps", "h", slices], /unknown flag --heatmaps; did you mean --heatmap\?/],
      [["classify", "--model", model, "--skip-exsting", slices], /did you mean --skip-existing\?/],
      [["clasify"], /unknown command 'clasify'; did you mean 'classify'\?/],
      [["help", "inf"], /unknown command 'inf'; did you mean 'info'\?/],
      [["help", "constructor"], /unknown command 'constructor'/],
      [["toString"], /unknown command 'toString'/],
      [["classify", "--model", model, "--constructor", slices], /unknown flag --constructor/],
      [["classify", "--model"], /--model needs a value/],
      [["classify", "--model", model, "--json=yes", slices], /--json takes no value/],
    ] as const) {
      const r = await simdcnn([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(message);
    }
  });
});

describe("simdcnn classify: globs and how paths are shown", () => {
  it("a glob that matches nothing is its own row, in its place; the other inputs are classified, with one thread or worker processes", async () => {
    const glob = join(dir, "nowhere", "**", "*.dcm");
    for (const threads of ["1", "2"]) {
      const r = await simdcnn(["classify", "--model", model, "--json", "--threads", threads, join(slices, "b.png"), glob, join(slices, "a.png")]);
      expect(r.code).toBe(1);
      const rows = JSON.parse(r.stdout) as { file: string; error?: string }[];
      expect(rows).toEqual([
        expect.objectContaining({ file: join(slices, "b.png"), top: expect.any(Array) }),
        { file: glob, error: `no files match '${glob}'` },
        expect.objectContaining({ file: join(slices, "a.png"), top: expect.any(Array) }),
      ]);
    }
    expect(existsSync(join(dir, "nowhere"))).toBe(false);
  });

  it("a folder's DICOM files named by their UIDs (dots, no slice extension) are read; other files are passed over", async () => {
    const pacs = join(dir, "pacs");
    mkdirSync(pacs);
    writeFileSync(join(pacs, "1.2.840.113619.2.55.3.6046"), readFileSync(join(dir, "scans", "s1", "IM00.dcm")));
    writeFileSync(join(pacs, "notes.v2.txt"), "not a slice");
    const r = await simdcnn(["classify", "--model", model, "--json", pacs]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { file: string }[]).map((x) => x.file)).toEqual([join(pacs, "1.2.840.113619.2.55.3.6046")]);
  });

  it("paths are shown as given: an absolute glob or folder absolute, a relative one relative to the current folder", async () => {
    const absolute = await simdcnn(["classify", "--model", model, "--json", join(slices, "[ab].png"), join(dir, "scans", "s1")]);
    expect((JSON.parse(absolute.stdout) as { file: string }[]).map((x) => x.file)).toEqual([join(slices, "a.png"), join(slices, "b.png"), join(dir, "scans", "s1", "IM00.dcm")]);
    const relative = await simdcnn(["classify", "--model", model, "--json", "slices/[ab].png", "./scans/s1", "slices/../slices/a.png"], dir);
    expect((JSON.parse(relative.stdout) as { file: string }[]).map((x) => x.file)).toEqual(["slices/a.png", "slices/b.png", "scans/s1/IM00.dcm"]);
  });
});
