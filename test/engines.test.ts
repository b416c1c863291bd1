// The Node versions the package declares (package.json engines) are ones every installed package
// declares too, so that `npm install` on any of them prints no EBADENGINE warning, and the README
// states the same range.
import { readFileSync } from "node:fs";
import semver from "semver";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8")) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe("engines", () => {
  const range = manifest.engines.node;

  it("every package in package-lock.json accepts every Node version package.json's engines allows", () => {
    expect(semver.validRange(range), `engines.node ${range}`).not.toBeNull();
    const narrower = Object.entries(lock.packages)
      .filter(([path]) => path !== "")
      // Old packages wrote engines as an array of strings, which npm does not check.
      .flatMap(([path, p]) => (p.engines && !Array.isArray(p.engines) && p.engines.node ? [[path, p.version, p.engines.node] as const] : []))
      .filter(([, , node]) => !semver.subset(range, node))
      .map(([path, version, node]) => `${path.replace(/^.*node_modules\//, "")}@${version} wants node ${node}`);
    expect(narrower, `narrower than ${range}`).toEqual([]);
  });

  it("the README states the range package.json declares", () => {
    const readme = readFileSync(new URL("README.md", root), "utf8");
    expect(readme).toContain(`\`${range}\``);
  });
});
