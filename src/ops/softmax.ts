import type { Runtime } from "../runtime/runtime.js";
import type { Tensor } from "../runtime/tensor.js";

/** Softmax over the last axis. */
export function softmax(rt: Runtime, x: Tensor): Tensor {
  rt.check(x, "softmax input");
  const cols = x.shape[x.shape.length - 1];
  const y = rt.empty(x.shape);
  rt.kernels.softmax_f32(x.ptr, x.size / cols, cols, y.ptr);
  return y;
}
