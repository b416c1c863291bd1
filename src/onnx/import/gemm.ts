import { sizeOfShape } from "../../graph/ir.js";
import type { Value } from "../../graph/ir.js";
import type { Importer, Sym } from "./importer.js";
import { nhwcRows, permuteK } from "./flatten.js";
import { broadcastDims, floatsOf } from "./util.js";

/** ONNX Gemm: checked and passed on as it is; src/ops/gemm.ts implements its semantics. */
export function gemm(im: Importer): void {
  const a = im.required(0);
  const b = im.required(1);
  const transA = im.int("transA", 0) === 1;
  const transB = im.int("transB", 0) === 1;
  const alpha = im.float("alpha", 1);
  const beta = im.float("beta", 1);
  if (a.dims.length !== 2 || b.dims.length !== 2) im.bad(`A [${a.dims.join(", ")}] and B [${b.dims.join(", ")}] must be 2-d`);
  const [m, k] = transA ? [a.dims[1], a.dims[0]] : a.dims;
  const [kb, n] = transB ? [b.dims[1], b.dims[0]] : b.dims;
  if (k !== kb) im.bad(`A gives K = ${k}, B gives K = ${kb}`);
  const c = im.input(2);
  let cv: Value | undefined;
  if (c) {
    if (c.dims.length > 2) im.bad(`C [${c.dims.join(", ")}] must have rank 2 or less, to broadcast to [${m}, ${n}]`);
    if (broadcastDims([m, n], c.dims, im).join() !== [m, n].join()) im.bad(`C [${c.dims.join(", ")}] does not broadcast to [${m}, ${n}]`);
    cv = c.kind === "const" ? im.constValue(c) : im.plain(c);
  }
  const bf = floatsOf(im.asConst(b, 1, "B"), im);
  const y = im.value([m, n]);
  const bShape: [number, number] = [b.dims[0], b.dims[1]];
  const rows = transA ? undefined : nhwcRows(im, a);
  const [av, bv] = rows ? [rows.v, permuteK(bf, bShape, transB, rows.nchwK)] : [im.plain(a), bf];
  im.emit({ op: "gemm", a: av, y, b: bv, bShape, transA, transB, alpha, beta, c: cv, act: "none" });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: [m, n] });
}

export function matmul(im: Importer): void {
  const a = im.required(0);
  const b = im.required(1);
  if (a.dims.length < 1 || b.dims.length < 1) im.bad("inputs must have rank >= 1");
  const ad = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const bd = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
  const [m, k] = ad.slice(-2);
  const [kb, n] = bd.slice(-2);
  if (k !== kb) im.bad(`A [${a.dims.join(", ")}] and B [${b.dims.join(", ")}] do not agree on K`);
  const batchA = ad.slice(0, -2);
  const batchB = bd.slice(0, -2);
  const batch = broadcastDims(batchA, batchB, im);
  let outDims = [...batch, m, n];
  if (a.dims.length === 1) outDims = [...batch, n];
  if (b.dims.length === 1) outDims = a.dims.length === 1 ? batch : [...batch, m];
  if (b.kind === "const" && bd.length === 2) {
    // A's leading dimensions fold into M: one GEMM with the weights packed once.
    const y = im.value(outDims.length ? outDims : [1]);
    const rows = nhwcRows(im, a);
    const [av, bv] = rows ? [rows.v, permuteK(floatsOf(b, im), [k, n], false, rows.nchwK)] : [im.plain(a), floatsOf(b, im)];
    im.emit({ op: "gemm", a: av, y, b: bv, bShape: [k, n], transA: false, transB: false, alpha: 1, beta: 1, act: "none" });
    return im.setOutput({ kind: "value", v: y, layout: "plain", dims: outDims });
  }
  const nb = sizeOfShape(batch);
  // Batch dimensions that broadcast are materialised; one that is shared (size 1) is read with stride 0.
  const side = (v: Value, own: number[], rows: number, cols: number) => {
    if (sizeOfShape(own) === 1) return { v, stride: 0 };
    if (own.length === batch.length && own.every((d, i) => d === batch[i])) return { v, stride: rows * cols };
    const src: Sym = { kind: "value", v, layout: "plain", dims: [...own, rows, cols] };
    return { v: im.broadcast(src, [...batch, rows, cols], false), stride: rows * cols };
  };
  const A = side(im.plain(a), batchA, m, k);
  const B = side(im.plain(b), batchB, k, n);
  dynamicMatmul(im, A.v, B.v, nb, m, k, n, A.stride, B.stride, outDims);
}

export function dynamicMatmul(im: Importer, a: Value, b: Value, batch: number, m: number, k: number, n: number, aStride: number, bStride: number, outDims: number[]): void {
  const y = im.value(outDims.length ? outDims : [1]);
  im.emit({ op: "matmul", a, b, y, batch, m, k, n, aBatchStride: aStride, bBatchStride: bStride });
  im.setOutput({ kind: "value", v: y, layout: "plain", dims: outDims });
}
