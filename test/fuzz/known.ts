// Failures found by fuzzing in code outside the fuzzers' remit (src/graph, src/ops, src/runtime,
// src/engine.ts), reported with a reproduction and not fixed here. The fuzz runs count a case that
// fails one of these ways as a known issue instead of a new failure; test/regressions/ replays
// each reproduction as an expected failure (it.fails), which starts failing once the bug is fixed,
// as a reminder to move the case to the fixed ones and to delete its entry here.
export interface KnownIssue {
  signature: string;
  where: string;
  repro: string;
}

export const KNOWN_ISSUES: KnownIssue[] = [
  {
    signature: "exception:TypeError: Cannot read properties of null (reading 'constructor')",
    where: "src/graph/model.ts Model.shapeOf: `given.constructor.name` in the message for an input of the wrong type",
    repro: "model.run({ slice: null })",
  },
  {
    signature: "exception:TypeError: Cannot convert object to primitive value",
    where: "src/ops (conv2d.ts, options.ts, pool.ts, gemm.ts, elementwise.ts, activation.ts): String(v) in error messages",
    repro: "engine.conv2d(x, w, { groups: Object.create(null) })",
  },
  {
    signature: "exception:TypeError: Do not know how to serialize a BigInt",
    where: "src/ops/options.ts and activation.ts: JSON.stringify(v) in error messages",
    repro: "engine.maxPool2d(x, { kernel: 2n })",
  },
  {
    signature: "memory:the case made the engine reserve # bytes (# before), over the bound of #",
    where: "src/graph (no memory limit): a model whose declared input is large is planned at load, and the memory grown for it is never given back",
    repro: "a Relu model declaring input [1, 1, 16384, 16384]: loadOnnx reserves 2 GiB (test/regressions/onnx-huge-declared-input.onnx)",
  },
];
