// The kernel ABI: src/runtime/kernels.ts's view (kernel names, parameters in order, constants)
// against what the builds export and what the AssemblyScript source declares. Any kernel added,
// removed, reordered or renamed on one side only, or a constant changed on one side only, fails
// here; a module that disagrees is refused at load.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BackendError } from "../src/errors.js";
import { CONSTANTS, SIGNATURES, checkKernels } from "../src/runtime/kernels.js";

const root = new URL("..", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const BUILDS = ["simd", "scalar", "threads"] as const;

function exportsOf(build: (typeof BUILDS)[number]): WebAssembly.ModuleExportDescriptor[] {
  return WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(new URL(`build/simdcnn.${build}.wasm`, root))));
}

async function instance(build: "simd" | "scalar"): Promise<WebAssembly.Exports> {
  const module = new WebAssembly.Module(readFileSync(new URL(`build/simdcnn.${build}.wasm`, root)));
  return (await WebAssembly.instantiate(module, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } })).exports;
}

/**
 * What assembly/index.ts exports, read from the source: each re-exported name, resolved in its
 * file to a function's parameter names or a constant's literal value.
 */
function sourceAbi(): { functions: Map<string, string[]>; constants: Map<string, number> } {
  const functions = new Map<string, string[]>();
  const constants = new Map<string, number>();
  for (const m of read("assembly/index.ts").matchAll(/export \{([^}]*)\} from "\.\/(\w+)"/g)) {
    const file = read(`assembly/${m[2]}.ts`);
    for (const name of m[1].split(",").map((s) => s.trim())) {
      const fn = new RegExp(`export function ${name}\\s*\\(([^)]*)\\)`).exec(file);
      const c = new RegExp(`export const ${name}: i32 = (-?\\d+);`).exec(file);
      if (fn) functions.set(name, fn[1].split(",").map((p) => p.split(":")[0].trim()).filter((p) => p !== ""));
      else if (c) constants.set(name, Number(c[1]));
      else if (name !== "SIMDCNN_BUILD_SIMD") throw new Error(`assembly/${m[2]}.ts: no exported function or literal i32 constant ${name}`);
    }
  }
  return { functions, constants };
}

describe("the kernel ABI", () => {
  it("src/runtime/kernels.ts lists every kernel of the AssemblyScript source, with its parameter names in order", () => {
    const { functions } = sourceAbi();
    expect([...functions.keys()].sort()).toEqual(Object.keys(SIGNATURES).sort());
    for (const [name, params] of functions) expect([...SIGNATURES[name as keyof typeof SIGNATURES]], name).toEqual(params);
  });

  it("and every constant of the source, with its value", () => {
    const { constants } = sourceAbi();
    expect(Object.fromEntries(constants)).toEqual(CONSTANTS);
  });

  it.each(BUILDS)("build/simdcnn.%s.wasm exports exactly those kernels (same arity) and constants", (build) => {
    const exports = exportsOf(build);
    expect(exports.filter((e) => e.kind === "function").map((e) => e.name).sort()).toEqual(Object.keys(SIGNATURES).sort());
    expect(exports.filter((e) => e.kind === "global").map((e) => e.name).sort()).toEqual([...Object.keys(CONSTANTS), "SIMDCNN_BUILD_SIMD"].sort());
  });

  it.each(["simd", "scalar"] as const)("the %s build passes the load-time check, whose arities and values come from the module itself", async (build) => {
    const e = await instance(build);
    for (const [name, params] of Object.entries(SIGNATURES)) expect((e[name] as (...a: number[]) => unknown).length, name).toBe(params.length);
    for (const [name, value] of Object.entries(CONSTANTS)) expect((e[name] as WebAssembly.Global).value, name).toBe(value);
    expect(() => checkKernels(e)).not.toThrow();
  });

  it("the load-time check refuses a module whose kernels or constants differ, saying what differs", async () => {
    const e = await instance("simd");
    const altered = (change: Record<string, unknown>) => ({ ...e, ...change }) as WebAssembly.Exports;
    const wrongArity = (a: number, b: number) => a + b;
    expect(() => checkKernels(altered({ softmax_f32: wrongArity }))).toThrow(BackendError);
    expect(() => checkKernels(altered({ softmax_f32: wrongArity }))).toThrow(/softmax_f32 takes 2 arguments, expected 4/);
    expect(() => checkKernels(altered({ BIN_MUL: new WebAssembly.Global({ value: "i32" }, 7) }))).toThrow(/BIN_MUL is 7, expected 2/);
    expect(() => checkKernels(altered({ GEMM_NR: undefined }))).toThrow(/constant GEMM_NR is missing/);
    expect(() => checkKernels(altered({ pad_f32: undefined }))).toThrow(/kernel pad_f32 is missing/);
  });
});
