// Flatten (or Reshape) of an NHWC activation into rows read by a GEMM with constant weights: ONNX
// flattens NCHW order, so importing node by node transposes the activation back to NCHW first, a
// layout copy per run. The GEMM can read the NHWC storage as its rows instead, with its weights'
// K axis permuted once at load to the same (h, w, c) order.
import { type Value, rootOf } from "../../graph/ir.js";
import { NHWC_TO_NCHW } from "../../graph/layout.js";
import type { Importer, Sym } from "./importer.js";

/**
 * When `a` ([M, K], plain) is a view of the NCHW copy of an NHWC activation with one image per
 * row, that activation's storage as [M, K], and for each of its K positions (h, w, c) the NCHW
 * position (c, h, w) whose weights row it meets.
 */
export function nhwcRows(im: Importer, a: Sym): { v: Value; nchwK: Int32Array } | undefined {
  if (a.kind !== "value" || a.layout !== "plain" || a.dims.length !== 2) return undefined;
  const at = im.producer.get(rootOf(a.v));
  if (at === undefined) return undefined;
  const s = im.steps[at];
  if (s.op !== "copy" || s.perm?.join() !== NHWC_TO_NCHW.join()) return undefined;
  const [n, h, w, c] = s.x.shape;
  if (a.dims[0] !== n || a.dims[1] !== h * w * c) return undefined;
  const nchwK = new Int32Array(h * w * c);
  for (let y = 0, q = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) nchwK[q++] = (ch * h + y) * w + x;
  return { v: im.alias(s.x, [...a.dims]), nchwK };
}

/** B ([K, N], or [N, K] with transB) with its K axis reordered: position q takes B's nchwK[q]. */
export function permuteK(b: Float32Array, shape: [number, number], transB: boolean, nchwK: Int32Array): Float32Array {
  const [rows, cols] = shape;
  const out = new Float32Array(b.length);
  if (transB) {
    for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) out[r * cols + q] = b[r * cols + nchwK[q]];
  } else {
    for (let q = 0; q < rows; q++) out.set(b.subarray(nchwK[q] * cols, nchwK[q] * cols + cols), q * cols);
  }
  return out;
}
