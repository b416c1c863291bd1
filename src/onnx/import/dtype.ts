// Integer values at run time and data-dependent row counts, as the importer tracks them: which
// steps may read int32 values, how int64 constants become int32 ones, and which ops keep the
// row count of a NonMaxSuppression output for the graph's outputs.
import { type Step, isInt, stepInputs } from "../../graph/ir.js";
import type { OnnxNode } from "../model.js";
import type { ConstSym, Importer, ValueSym } from "./importer.js";

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

/** Ops that keep a NonZero result's columns as columns, element by element. */
const COLUMN_WISE = new Set(["Cast", "Identity"]);

/**
 * After node n is imported: each of its outputs whose first axis is that of an input with a row
 * count gets that count, when n works row by row. Rows past the count hold what the op makes of
 * the zero rows NonMaxSuppression writes there; only the graph's outputs are trimmed. Any other
 * reader of a counted tensor (one that mixes rows, reads its shape, or moves its first axis)
 * would see those rows as data, so it is refused. A NonZero result, counted along its last axis
 * (columns, zeros past the count: valid indices), may be read by ops that move whole columns:
 * Transpose to [columns, rank] (then counted by rows), Gather of rows (axis 0), Cast, Identity.
 * GatherND and Gather (axis 0) keep the rows of counted indices.
 */
export function carryCount(im: Importer, n: OnnxNode): void {
  const counted = n.inputs.flatMap((name, i) => {
    const s = name ? im.syms.get(name) : undefined;
    return s?.kind === "value" && s.count ? [{ s, i }] : [];
  });
  if (counted.length === 0) return;
  const columns = counted.find((c) => c.s.count!.lastAxis);
  if (columns) return carryColumns(im, n, columns.s, columns.i, counted.length);
  const refuse: () => never = () =>
    im.fail(`reads '${counted[0].s.v.name ?? "?"}', whose number of rows only the run knows (a NonMaxSuppression result or a transposed NonZero result); it may only be read by ops that keep its rows as rows (${[...ROW_WISE, "GatherND"].join(", ")}), with its first axis first`);
  // The output rows of a gather follow the rows of its indices only when the indices' first axis
  // becomes the output's first axis.
  const indices = counted.some((c) => c.i === 1);
  if (n.opType === "GatherND" ? counted.some((c) => c.i !== 1) || im.int("batch_dims", 0) !== 0 : !ROW_WISE.has(n.opType)) refuse();
  if (n.opType === "Gather" && indices && im.int("axis", 0) !== 0) refuse();
  for (const name of n.outputs) {
    const s = name ? im.syms.get(name) : undefined;
    if (s?.kind !== "value" || s.count) continue;
    const from = counted.find((c) => c.s.dims.length > 0 && s.dims.length > 0 && c.s.dims[0] === s.dims[0]);
    if (!from) refuse();
    im.syms.set(name, { ...s, count: from.s.count });
  }
}

/** carryCount for a reader of a NonZero result x ([rank, bound], counted along its last axis), its input i. */
function carryColumns(im: Importer, n: OnnxNode, x: ValueSym, i: number, countedInputs: number): void {
  const rank = x.dims.length;
  const transpose = n.opType === "Transpose" && rank === 2 && (im.ints("perm") ?? [1, 0]).join() === "1,0";
  const gatherRows = n.opType === "Gather" && i === 0 && im.int("axis", 0) === 0;
  if (countedInputs > 1 || !(transpose || gatherRows || COLUMN_WISE.has(n.opType))) {
    im.fail(`reads '${x.v.name ?? "?"}', a NonZero result whose number of columns only the run knows: it may only be read by Transpose (perm [1, 0]), Gather of rows (axis 0), ${[...COLUMN_WISE].join(", ")}, or be an output of the model`);
  }
  const name = n.outputs[0];
  const s = name ? im.syms.get(name) : undefined;
  if (s?.kind !== "value") return;
  // A rank-1 result is counted along its only axis, the first.
  const lastAxis = !transpose && s.dims.length > 1;
  im.syms.set(name, { ...s, count: { value: x.count!.value, offset: x.count!.offset, ...(lastAxis ? { lastAxis: true as const } : {}) } });
}
