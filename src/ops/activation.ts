import { show } from "../runtime/runtime.js";
import { ArgumentError } from "../errors.js";
import { ACT } from "../runtime/kernels.js";

/** An activation fused into the store of the op that produces the values. */
export type Activation =
  | "none"
  | "relu"
  | "relu6"
  | "sigmoid"
  | "tanh"
  | { clip: readonly [number, number] }
  | { leakyRelu: number };

export interface ActivationCode {
  kind: number;
  p0: number;
  p1: number;
}

export function activationCode(act: Activation | undefined, what: string): ActivationCode {
  if (act === undefined || act === "none") return { kind: ACT.none, p0: 0, p1: 0 };
  if (act === "relu") return { kind: ACT.clamp, p0: 0, p1: Infinity };
  if (act === "relu6") return { kind: ACT.clamp, p0: 0, p1: 6 };
  if (act === "sigmoid") return { kind: ACT.sigmoid, p0: 0, p1: 0 };
  if (act === "tanh") return { kind: ACT.tanh, p0: 0, p1: 0 };
  if (typeof act === "object" && act !== null) {
    if ("clip" in act) {
      const c = act.clip;
      if (!Array.isArray(c) || c.length !== 2 || c.some((v) => typeof v !== "number" || Number.isNaN(v)) || c[0] > c[1]) {
        throw new ArgumentError(`${what}: clip expects [min, max] with min <= max and no NaN, got ${show(c)}`);
      }
      return { kind: ACT.clamp, p0: c[0], p1: c[1] };
    }
    if ("leakyRelu" in act) {
      if (typeof act.leakyRelu !== "number" || !Number.isFinite(act.leakyRelu)) {
        throw new ArgumentError(`${what}: leakyRelu expects a finite alpha, got ${show(act.leakyRelu)}`);
      }
      return { kind: ACT.leaky, p0: act.leakyRelu, p1: 0 };
    }
  }
  throw new ArgumentError(
    `${what}: unknown activation ${show(act)}; expected 'none', 'relu', 'relu6', 'sigmoid', 'tanh', { clip: [min, max] } or { leakyRelu: alpha }`,
  );
}
