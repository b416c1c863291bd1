// Integer values at run time and data-dependent row counts, as the importer tracks them: which
// steps may read int32 values, how int64 constants become int32 ones, and which ops keep the
// row count of a NonMaxSuppression output for the graph's outputs.
import { type Step, isInt, stepInputs } from "../../graph/ir.js";
import type { OnnxNode } from "../model.js";
import type { ConstSym, Importer } from "./importer.js";

/** Steps that take int32 inputs by design (their own output types); every other step computes on float32. */
const INT_STEPS = new Set<string>(["compare", "logic", "where", "cast", "gather", "gatherElements", "gatherND", "scatterND", "topk", "nms", "nonZero"]);

/**
 * A copy moves 4-byte elements whatever they hold, so its output has its input's type; any other
 * step not made for integers refuses an int32 input here, at import, rather than reading its bits
 * as floats.
 */
export function checkIntSteps(im: Importer, s: Step): void {
  if (s.op === "copy") {
    if (isInt(s.x)) s.y.dtype = "i32";
    return;
  }
  if (INT_STEPS.has(s.op)) return;
  const int = stepInputs(s).find(isInt);
  if (int) im.fail(`its ${s.op} step reads the integer tensor '${int.name ?? int.id}', but computes on float32 only (Cast it to float first)`);
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * The int32 elements of an integer constant that the graph reads at run time (int64 is stored as
 * int32: indices and counts of the models this engine runs are far below 2^31).
 */
export function intsOf(s: ConstSym, at: { fail(m: string): never }): Int32Array {
  const out = new Int32Array(s.i!.length);
  for (let k = 0; k < out.length; k++) {
    const v = s.i![k];
    if (!(v >= INT32_MIN && v <= INT32_MAX)) at.fail(`the integer constant [${s.dims.join(", ")}] holds ${v}, outside int32; integer tensors computed at run time are int32`);
    out[k] = v;
  }
  return out;
}

/**
 * Ops whose output row i comes from input row i when the first axes agree: an output of such an op
 * on a NonMaxSuppression result keeps that result's row count.
 */
const ROW_WISE = new Set([
  "Cast", "Identity", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Slice", "Gather", "GatherElements", "Where", "Equal", "Greater",
  "GreaterOrEqual", "Less", "LessOrEqual", "Not", "And", "Or", "Xor", "Add", "Sub", "Mul", "Div", "Concat", "Sigmoid", "Relu", "Exp",
]);

/**
 * After node n is imported: each of its outputs whose first axis is that of an input with a row
 * count gets that count, when n works row by row. Rows past the count hold what the op makes of
 * the zero rows NonMaxSuppression writes there; only the graph's outputs are trimmed. Any other
 * reader of a counted tensor (one that mixes rows, reads its shape, or moves its first axis)
 * would see those rows as data, so it is refused.
 */
export function carryCount(im: Importer, n: OnnxNode): void {
  const counted = n.inputs.flatMap((name) => {
    const s = name ? im.syms.get(name) : undefined;
    return s?.kind === "value" && s.count ? [s] : [];
  });
  if (counted.length === 0) return;
  const columns = counted.find((c) => c.count!.lastAxis);
  if (columns) im.fail(`reads '${columns.v.name ?? "?"}', a NonZero result whose number of columns only the run knows: it can only be an output of the model`);
  const refuse: () => never = () =>
    im.fail(`reads '${counted[0].v.name ?? "?"}', whose number of rows only the run knows (a NonMaxSuppression result); it may only be read by ops that keep its rows as rows (${[...ROW_WISE].join(", ")}), with its first axis first`);
  if (!ROW_WISE.has(n.opType)) refuse();
  for (const name of n.outputs) {
    const s = name ? im.syms.get(name) : undefined;
    if (s?.kind !== "value" || s.count) continue;
    const from = counted.find((c) => c.dims.length > 0 && s.dims.length > 0 && c.dims[0] === s.dims[0]);
    if (!from) refuse();
    im.syms.set(name, { ...s, count: from.count });
  }
}
