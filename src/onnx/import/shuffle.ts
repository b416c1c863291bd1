// ShuffleNet's channel shuffle, Reshape [N, C, H, W] -> [N, g, C/g, H, W], Transpose (0, 2, 1, 3, 4),
// Reshape back to [N, C, H, W], written against NCHW. Imported node by node it costs three copies
// on an NHWC activation (to NCHW, the 5-d transpose, back to NHWC); the whole chain only permutes
// each pixel's channels, which on NHWC storage is one batched transpose of [H W, g, C/g].
import { rootOf } from "../../graph/ir.js";
import { NHWC_TO_NCHW, permuteStep } from "../../graph/layout.js";
import type { Importer, Sym, ValueSym } from "./importer.js";

/**
 * When reshaping `x` to 4-d `dims` ends a channel shuffle of an NHWC activation, the result as
 * that one transpose (stored NHWC); otherwise undefined. The copies the chain made on the way
 * are left unread, and the import drops them.
 */
export function channelShuffle(im: Importer, x: Sym, dims: number[]): ValueSym | undefined {
  if (x.kind !== "value" || x.layout !== "plain" || dims.length !== 4) return undefined;
  const t = im.transposed.get(x.v);
  if (!t || t.perm.join() !== "0,2,1,3,4") return undefined;
  const [n, g, cg, h, w] = t.x.dims;
  if (dims.join() !== [n, g * cg, h, w].join()) return undefined;
  // The 5-d input must be the NCHW copy of an NHWC value: a view of a layout transpose's output.
  const at = im.producer.get(rootOf(t.x.v));
  if (at === undefined) return undefined;
  const s = im.steps[at];
  if (s.op !== "copy" || s.perm?.join() !== NHWC_TO_NCHW.join() || s.x.shape.join() !== [n, h, w, g * cg].join()) return undefined;
  const pixels = n * h * w;
  const y = im.value([pixels, cg, g]);
  im.emit(permuteStep(im.alias(s.x, [pixels, g, cg]), y, [0, 2, 1]));
  return { kind: "value", v: im.alias(y, [n, h, w, g * cg]), layout: "nhwc", dims };
}
