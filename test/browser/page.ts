// The identity test's page script, bundled by esbuild for the browser (so "simdcnn" and
// "simdcnn/io" resolve to the package's browser entries). It runs the workload in both builds
// and posts the hashes, and any Content-Security-Policy violation seen, to the test's server.
import * as core from "simdcnn";
import * as io from "simdcnn/io";
import { type CoreApi, FIXTURE_NAMES, type Fixtures, type Hashes, type IoApi, runWorkload } from "./workload.js";

const violations: string[] = [];
addEventListener("securitypolicyviolation", (e) => {
  violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "(inline)"} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`);
});

async function post(body: unknown): Promise<void> {
  await fetch("/result", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function main(): Promise<void> {
  // The CSP must be in force: without 'unsafe-eval', new Function throws (and reports a violation,
  // which is waited for and then forgotten, so that only the library's own violations count).
  let evalBlocked = false;
  try {
    new Function("return 1")();
  } catch {
    evalBlocked = true;
  }
  await new Promise((r) => setTimeout(r, 100));
  violations.length = 0;

  const fixtures = {} as Fixtures;
  for (const name of FIXTURE_NAMES) {
    const response = await fetch(`/fixtures/${name}`);
    fixtures[name] = new Uint8Array(await response.arrayBuffer());
  }
  const hashes: Hashes = {};
  for (const backend of ["simd", "scalar"] as const) Object.assign(hashes, await runWorkload(core as unknown as CoreApi, io as unknown as IoApi, fixtures, backend));
  await new Promise((r) => setTimeout(r, 100));
  await post({ userAgent: navigator.userAgent, evalBlocked, violations, hashes });
}

main().catch((e: Error) => post({ error: `${e?.stack ?? e}` }));
