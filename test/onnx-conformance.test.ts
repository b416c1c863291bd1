// The ONNX project's own single-operator test cases, read from ../shared/onnx-conformance (never
// copied into this repository): each model is loaded with engine.loadOnnx in both builds, fed
// its input_N.pb, and every output compared with output_N.pb at the ONNX backend tests'
// tolerance. A case using an operator outside SUPPORTED_ONNX_OPS is skipped and listed; any
// other case that fails fails the test. The two builds must also agree to the bit.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../src/index.js";
import { decodeModel, decodeTensor } from "../src/onnx/decode.js";
import { DataType, type OnnxModel, type OnnxTensor } from "../src/onnx/model.js";
import { isSupportedOp } from "../src/onnx/ops.js";
import { BACKENDS, type BackendName, compare, compareBits, engines } from "./grid.js";

const ROOT = fileURLToPath(new URL("../../shared/onnx-conformance/", import.meta.url));
const SUITES = ["node", "pytorch-converted"];
// The tolerance the folder's README gives (that of ONNX's backend tests): |got - want| <= ATOL + RTOL |want|.
const RTOL = 1e-3;
const ATOL = 1e-7;

const present = existsSync(ROOT);
if (!present) console.warn(`onnx-conformance: skipped, ${ROOT} does not exist (the ONNX node test cases are read from there)`);

interface Case {
  id: string;
  dir: string;
  bytes: Uint8Array;
  model: OnnxModel;
  /** Operators outside SUPPORTED_ONNX_OPS. */
  unsupported: string[];
}

function collect(): Case[] {
  return SUITES.flatMap((suite) =>
    readdirSync(ROOT + suite).sort().map((name) => {
      const dir = `${ROOT}${suite}/${name}/`;
      const bytes = readFileSync(dir + "model.onnx");
      const model = decodeModel(bytes);
      const unsupported = [...new Set(model.graph.nodes.filter((n) => !isSupportedOp(n.opType, n.domain)).map((n) => n.opType))];
      return { id: `${suite}/${name}`, dir, bytes, model, unsupported };
    }),
  );
}

/** A test-data tensor as run() takes it: in its own element type. */
function feed(t: OnnxTensor): Float32Array | BigInt64Array | Int32Array {
  if (t.floats !== undefined) return t.floats;
  if (t.dataType === DataType.INT64) return BigInt64Array.from(t.ints!, BigInt);
  return Int32Array.from(t.ints!);
}

function tensorFiles(dir: string, kind: "input" | "output"): string[] {
  const files: string[] = [];
  while (existsSync(`${dir}test_data_set_0/${kind}_${files.length}.pb`)) files.push(`${dir}test_data_set_0/${kind}_${files.length}.pb`);
  return files;
}

describe.skipIf(!present)("ONNX conformance (../shared/onnx-conformance)", () => {
  const cases = present ? collect() : [];
  const passed: string[] = [];
  const failed: string[] = [];
  let E: Record<BackendName, Engine>;

  beforeAll(async () => {
    E = await engines();
  });

  afterAll(() => {
    const skipped = cases.filter((c) => c.unsupported.length > 0);
    const byOp = new Map<string, number>();
    for (const c of skipped) for (const op of c.unsupported) byOp.set(op, (byOp.get(op) ?? 0) + 1);
    const ops = [...byOp].map(([op, n]) => `${op} x${n}`).join(", ");
    console.log(
      `ONNX conformance: ${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped by op${ops ? ` (${ops})` : ""}` +
        (failed.length > 0 ? `\n  failed: ${failed.join(", ")}` : ""),
    );
  });

  it("finds the cases", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    if (c.unsupported.length > 0) {
      it.skip(`${c.id} (unsupported: ${c.unsupported.join(", ")})`);
      continue;
    }
    it(c.id, async () => {
      const problems = await runCase(c, E);
      (problems.length === 0 ? passed : failed).push(c.id);
      expect(problems, `${c.id} (opsets ${[...c.model.opsets].map(([d, v]) => `${d || "ai.onnx"}:${v}`).join(", ")})`).toEqual([]);
    });
  }
});

/** Loads, runs and checks one case in both builds; returns what went wrong. */
async function runCase(c: Case, E: Record<BackendName, Engine>): Promise<string[]> {
  const { graph } = c.model;
  // Old exporters list initializers as inputs too: input_N.pb are the others, in order.
  const inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
  const inputFiles = tensorFiles(c.dir, "input");
  const outputFiles = tensorFiles(c.dir, "output");
  if (inputFiles.length !== inputs.length || outputFiles.length !== graph.outputs.length) {
    return [`${inputFiles.length} input_N.pb for ${inputs.length} non-initializer inputs, ${outputFiles.length} output_N.pb for ${graph.outputs.length} outputs`];
  }
  const feeds = Object.fromEntries(inputs.map((v, i) => [v.name, feed(decodeTensor(readFileSync(inputFiles[i])))]));
  const expected = outputFiles.map((file) => decodeTensor(readFileSync(file)));

  const problems: string[] = [];
  const results: Partial<Record<BackendName, Record<string, Float32Array>>> = {};
  for (const backend of BACKENDS) {
    let model: Awaited<ReturnType<Engine["loadOnnx"]>> | undefined;
    try {
      model = await E[backend].loadOnnx(c.bytes);
      const out = model.run(feeds);
      results[backend] = out;
      for (const [i, v] of graph.outputs.entries()) {
        const want = expected[i];
        const declared = model.outputs.find((o) => o.name === v.name)?.shape;
        if (declared !== undefined && declared.every((d) => typeof d === "number") && declared.join() !== want.dims.join()) {
          problems.push(`${backend}: output ${v.name}: shape [${declared}], expected [${want.dims}]`);
        }
        const got = out[v.name];
        if (got === undefined) {
          problems.push(`${backend}: output ${v.name} is missing from run()'s result`);
          continue;
        }
        const ref = want.floats ?? Float64Array.from(want.ints!);
        const p = compare(got, ref, (k) => ATOL + RTOL * Math.abs(ref[k]), `${backend}: output ${v.name} [${want.dims}]`);
        if (p) problems.push(p);
      }
    } catch (e) {
      problems.push(`${backend}: ${(e as Error).name}: ${(e as Error).message}`);
    } finally {
      model?.dispose();
    }
  }
  if (results.simd && results.scalar) {
    for (const v of graph.outputs) {
      const [a, b] = [results.simd[v.name], results.scalar[v.name]];
      const p = a && b ? compareBits(a, b, `output ${v.name}: simd vs scalar`) : "";
      if (p) problems.push(p);
    }
  }
  return problems;
}
