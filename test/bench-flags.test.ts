// The benchmark scripts' command lines: --help and a bad flag must end the script at once, with
// the documented exit code, and leave the tracked results in bench/results as they were.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { closest } from "../src/cli/args.js";

const ROOT = new URL("..", import.meta.url).pathname;
const TSX = new URL("../node_modules/.bin/tsx", import.meta.url).pathname;
const RESULTS = new URL("../bench/results/", import.meta.url);
// A script that ignored its flags would start measuring; it is stopped here, which fails the test.
const TIMEOUT_MS = 60_000;

/** Each script, and whether it has results to save. */
const SCRIPTS: [string, boolean][] = [
  ["kernels", true],
  ["networks", true],
  ["peers", true],
  ["threads", true],
  ["slices", false],
  ["decode", false],
  ["steps", false],
  ["norm", false],
  ["keras", false],
  ["bindings", false],
  ["small-conv", false],
  ["small-conv-profile", false],
  ["tile-bound", false],
  ["winograd", false],
  ["winograd-error", false],
  ["qwinograd", false],
];

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(script: string, ...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(TSX, [`bench/${script}.ts`, ...args], { cwd: ROOT, timeout: TIMEOUT_MS, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function snapshot(): Record<string, string> {
  return Object.fromEntries(readdirSync(RESULTS).map((f) => [f, createHash("sha256").update(readFileSync(new URL(f, RESULTS))).digest("hex")]));
}

describe("benchmark flags", () => {
  let before: Record<string, string>;
  beforeAll(() => {
    before = snapshot();
  });

  for (const [script, saves] of SCRIPTS) {
    it(`bench/${script}.ts --help prints its usage and exits 0`, async () => {
      const r = await runScript(script, "--help");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^usage: npm run bench/);
      expect(r.stdout).toContain("--help");
      if (saves) expect(r.stdout).toMatch(/--save +write bench\/results\//);
    });

    it(`bench/${script}.ts --bogus names the flag and exits 2`, async () => {
      const r = await runScript(script, "--bogus");
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`bench/${script}.ts: unknown flag --bogus`);
      expect(r.stdout).toBe("");
    });
  }

  it("a mistyped flag gets a suggestion; a flag without its value is an error", async () => {
    const typo = await runScript("kernels", "--quik");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown flag --quik (did you mean --quick?)");
    const missing = await runScript("peers", "--only");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--only");
  });

  it("bench/small-conv-profile.ts names a layer that is not HW,CIN,COUT and exits 2 before measuring", async () => {
    const r = await runScript("small-conv-profile", "256,3");
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("expected HW,CIN,COUT as three positive integers with COUT at most 8, got 256,3");
    expect(r.stdout).toBe("");
  });

  it("--save cannot be combined with --only (a subset would replace the whole table)", async () => {
    const r = await runScript("kernels", "--only", "gemm", "--save");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot be combined with --only");
  });

  it("suggests a known flag only within a typo's distance", () => {
    const known = ["quick", "only", "compare", "save", "help"];
    expect(closest("sav", known)).toBe("save");
    expect(closest("qucik", known)).toBe("quick");
    expect(closest("compaer", known)).toBe("compare");
    expect(closest("bogus", known)).toBeUndefined();
    expect(closest("x", known)).toBeUndefined();
  });

  // Last in the file, after every run above.
  it("leaves every file in bench/results as it was", () => {
    expect(snapshot()).toEqual(before);
  });
});
