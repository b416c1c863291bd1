import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { opsTable } from "../src/onnx/ops.js";

describe("docs", () => {
  it("docs/onnx.md lists exactly the operators the loader supports", () => {
    const doc = readFileSync(new URL("../docs/onnx.md", import.meta.url), "utf8");
    expect(doc.trimEnd().endsWith(opsTable()), "paste the output of opsTable() (src/onnx/ops.ts) at the end of docs/onnx.md").toBe(true);
  });
});
