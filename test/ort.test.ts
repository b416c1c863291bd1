// The reference runtime keeps quiet: onnxruntime-web's warnings (here: an opset 6 model, which it
// only "may run depending upon legacy support") must not reach the test output. Its wasm writes
// them past any console spy, so the check runs runOrt in a process of its own and reads what that
// process prints.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const SCRIPT = `
import { onnxModel } from ${JSON.stringify(new URL("./onnx-builder.ts", import.meta.url).pathname)};
import { runOrt } from ${JSON.stringify(new URL("./ort.ts", import.meta.url).pathname)};
const model = onnxModel({
  opset: 6,
  inputs: [{ name: "x", shape: [2, 3] }],
  outputs: [{ name: "y", shape: [2, 3] }],
  nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
});
const { y } = await runOrt(model, { x: { data: new Float32Array([-1, 2, -3, 4, -5, 6]), dims: [2, 3] } });
process.stdout.write(JSON.stringify(Array.from(y.data)));
`;

describe("runOrt", () => {
  it("runs an opset 6 model and prints nothing else", async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toEqual([0, 2, 0, 4, 0, 6]);
  });
});
