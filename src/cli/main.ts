#!/usr/bin/env node
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type Backend, SimdcnnError, init } from "../node.js";
import { coreCount } from "../runtime/platform.js";
import { classify, emit } from "./classify.js";
import { expandInputs } from "./inputs.js";
import { classifyInProcesses } from "./pool.js";
import { info } from "./info.js";
import { USAGE, UsageError } from "./usage.js";

function positiveInt(v: string | undefined, flag: string, def?: number): number | undefined {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got '${v}'`);
  return n;
}

function window(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(",").map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite) || parts[1] <= 0) throw new UsageError(`--window expects center,width with width > 0, got '${v}'`);
  return [parts[0], parts[1]];
}

function backendOf(v: string | undefined): "auto" | Backend {
  if (v === undefined || v === "auto" || v === "simd" || v === "scalar") return v ?? "auto";
  throw new UsageError(`--backend expects auto, simd or scalar, got '${v}'`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
  if (command === undefined || command === "--help" || command === "-h") {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "info") {
    const { positionals, values } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { backend: { type: "string" } } });
    if (positionals.length !== 1) throw new UsageError("info takes one model file");
    if (!existsSync(positionals[0])) throw new UsageError(`model '${positionals[0]}' does not exist`);
    const engine = await init({ backend: backendOf(values.backend) });
    await info(engine, new Uint8Array(await readFile(positionals[0])), out);
    return 0;
  }
  if (command !== "classify") throw new UsageError(`unknown command '${command}'`);
  const { positionals, values: v, tokens } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    tokens: true,
    options: {
      model: { type: "string" },
      json: { type: "boolean" },
      csv: { type: "boolean" },
      out: { type: "string" },
      "top-k": { type: "string" },
      batch: { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      window: { type: "string" },
      labels: { type: "string" },
      output: { type: "string" },
      resize: { type: "string" },
      "input-size": { type: "string" },
      heatmap: { type: "string" },
      patch: { type: "string" },
      stride: { type: "string" },
      "skip-existing": { type: "boolean" },
    },
  });
  if (!v.model) throw new UsageError("--model is required");
  if (!existsSync(v.model)) throw new UsageError(`model '${v.model}' does not exist`);
  // A pool's worker process gets its share of the files from its parent (pool.ts).
  const shared = process.env.SIMDCNN_FILES;
  if (shared !== undefined) positionals.push(...(JSON.parse(await readFile(shared, "utf8")) as string[]));
  if (positionals.length === 0) throw new UsageError("no input files, folders or globs given");
  if (v.json && v.csv) throw new UsageError("--json and --csv exclude each other");
  if (v.heatmap !== undefined && !existsSync(v.heatmap)) {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(v.heatmap, { recursive: true });
  }
  const overrides = {
    ...(v.labels !== undefined ? { labels: v.labels.split(",") } : {}),
    ...(v.output !== undefined ? { output: v.output } : {}),
    ...(v.resize !== undefined ? { resize: v.resize } : {}),
    ...(v["input-size"] !== undefined ? { input_size: v["input-size"] } : {}),
    ...(v.window !== undefined ? { window: window(v.window) } : {}),
  };
  const threads = v.threads === undefined || v.threads === "auto" ? coreCount() : positiveInt(v.threads, "--threads")!;
  const format = v.json ? "json" : v.csv ? "csv" : "table";
  const options = {
    model: v.model, inputs: positionals, format, out: v.out,
    topK: positiveInt(v["top-k"], "--top-k", 3)!, batch: positiveInt(v.batch, "--batch", 8)!, overrides,
    heatmap: v.heatmap, patch: positiveInt(v.patch, "--patch"), stride: positiveInt(v.stride, "--stride"),
    skipExisting: v["skip-existing"] ?? false,
  } as const;
  const files = await expandInputs(positionals);
  if (threads > 1 && files.length > 1) {
    // Several files: a pool of single-threaded processes (see pool.ts for why), each given this
    // command's own options.
    const passOn = tokens.flatMap((t) =>
      t.kind !== "option" || ["json", "csv", "out", "threads"].includes(t.name) ? [] : t.value === undefined ? [`--${t.name}`] : [`--${t.name}`, t.value],
    );
    return emit(await classifyInProcesses(files, Math.min(threads, files.length), passOn), options, out);
  }
  const engine = await init({ backend: backendOf(v.backend), threads });
  return classify(engine, { ...options, files }, out);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const usage = e instanceof UsageError || (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"));
    if (usage) {
      process.stderr.write(`simdcnn: ${(e as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (e instanceof SimdcnnError) {
      process.stderr.write(`simdcnn: ${e.name}: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      throw e;
    }
  },
);
