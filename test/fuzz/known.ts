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

export const KNOWN_ISSUES: KnownIssue[] = [];
