// Einsum of two operands in the patterns of matrix products (batch labels in both operands and the
// output, row labels in one operand and the output, summed labels in both operands only), and of
// one operand that only permutes: lowered to Transpose / Reshape / MatMul nodes imported by their
// own handlers, so their folds, aliases and kernels apply unchanged.
import type { OnnxNode } from "../model.js";
import type { Importer } from "./importer.js";

/** Labels of the ellipsis's axes: characters no equation uses (labels are letters). */
const ELLIPSIS_LABELS = "0123456789";

function labelsOf(im: Importer, term: string, rank: number | undefined): string[] {
  const parts = term.split("...");
  if (parts.length > 2) im.bad(`'${term}' has more than one ellipsis`);
  const [head, tail = ""] = parts;
  for (const c of head + tail) if (!/[a-zA-Z]/.test(c)) im.bad(`'${term}' holds '${c}', which is no label`);
  if (parts.length === 1) return [...head];
  const free = (rank ?? 0) - head.length - tail.length;
  if (free < 0 || free > ELLIPSIS_LABELS.length) im.bad(`'${term}' does not fit rank ${rank}`);
  return [...head, ...ELLIPSIS_LABELS.slice(ELLIPSIS_LABELS.length - free), ...tail];
}

export function einsum(im: Importer): void {
  const node = im.node;
  const eq = im.string("equation", "").replace(/\s/g, "");
  const [lhs, rhs] = eq.split("->");
  const terms = lhs.split(",");
  const ins = node.inputs.map((_, i) => im.required(i));
  if (terms.length !== ins.length) im.bad(`the equation '${eq}' has ${terms.length} operands for ${ins.length} inputs`);
  if (ins.length > 2) im.fail(`${ins.length} operands (only one or two are supported)`);
  const labels = terms.map((t, i) => labelsOf(im, t, ins[i].dims.length));
  labels.forEach((l, i) => {
    if (l.length !== ins[i].dims.length) im.bad(`'${terms[i]}' has ${l.length} labels for an input of rank ${ins[i].dims.length}`);
    if (new Set(l).size !== l.length) im.fail(`'${terms[i]}' repeats a label (diagonals are not supported)`);
  });
  const all = labels.flat();
  const size = new Map<string, number>();
  labels.forEach((l, i) => l.forEach((c, j) => {
    const d = ins[i].dims[j];
    if (size.has(c) && size.get(c) !== d) im.fail(`label '${c}' is ${size.get(c)} in one operand and ${d} in another (broadcasting is not supported)`);
    size.set(c, d);
  }));
  const ell = all.filter((c) => ELLIPSIS_LABELS.includes(c));
  const out = rhs !== undefined
    ? labelsOf(im, rhs, rhs.replace("...", "").length + new Set(ell).size)
    : [...new Set(ell)].concat([...new Set(all)].filter((c) => !ELLIPSIS_LABELS.includes(c) && all.indexOf(c) === all.lastIndexOf(c)).sort());
  for (const c of out) if (!size.has(c)) im.bad(`output label '${c}' is in no operand`);

  const emit = (opType: string, inputs: string[], attrs: [string, number[]][] = []): string => {
    const name = `${node.name || node.outputs[0]}/einsum_${opType}_${im.steps.length}_${im.syms.size}`;
    const n: OnnxNode = { name, opType, domain: "", inputs, outputs: [name], attributes: new Map(attrs.map(([k, v]) => [k, { type: "ints", value: v }])) };
    im.node = n;
    im.importNode(n);
    im.node = node;
    return name;
  };
  const shapeConst = (dims: number[]): string => {
    const name = `${node.name || node.outputs[0]}/einsum_shape_${im.syms.size}`;
    im.syms.set(name, { kind: "const", dims: [dims.length], i: dims });
    return name;
  };
  const prod = (ls: string[]) => ls.reduce((a, c) => a * size.get(c)!, 1);
  const permute = (input: string, from: string[], to: string[]): string =>
    to.every((c, i) => from[i] === c) ? input : emit("Transpose", [input], [["perm", to.map((c) => from.indexOf(c))]]);

  let result: string;
  let resultLabels: string[];
  if (ins.length === 1) {
    if (out.length !== labels[0].length) im.fail(`'${eq}' sums over labels of its one operand (only permutations are supported)`);
    result = node.inputs[0];
    resultLabels = labels[0];
  } else {
    const [la, lb] = labels;
    const inA = new Set(la);
    const inB = new Set(lb);
    const inOut = new Set(out);
    for (const c of all) {
      if (!inOut.has(c) && !(inA.has(c) && inB.has(c))) im.fail(`label '${c}' is summed within one operand (only matrix-product patterns are supported)`);
    }
    const batch = out.filter((c) => inA.has(c) && inB.has(c));
    const m = out.filter((c) => inA.has(c) && !inB.has(c));
    const n = out.filter((c) => inB.has(c) && !inA.has(c));
    const k = la.filter((c) => inB.has(c) && !inOut.has(c));
    const lead = batch.length ? [prod(batch)] : [];
    const a = emit("Reshape", [permute(node.inputs[0], la, [...batch, ...m, ...k]), shapeConst([...lead, prod(m), prod(k)])]);
    const b = emit("Reshape", [permute(node.inputs[1], lb, [...batch, ...k, ...n]), shapeConst([...lead, prod(k), prod(n)])]);
    resultLabels = [...batch, ...m, ...n];
    result = emit("Reshape", [emit("MatMul", [a, b]), shapeConst(resultLabels.map((c) => size.get(c)!))]);
  }
  im.setOutput(im.sym(permute(result, resultLabels, out)));
}
