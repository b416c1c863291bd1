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
  | "hardSwish"
  | "softplus"
  | "softsign"
  | "mish"
  /** x/2 (1 + erf(x / sqrt 2)) */
  | "gelu"
  /** GELU's tanh approximation (ONNX Gelu with approximate = "tanh") */
  | "geluTanh"
  /** x * sigmoid(x), also called swish */
  | "silu"
  | { clip: readonly [number, number] }
  | { leakyRelu: number }
  | { elu: number }
  | { celu: number }
  /** [alpha, gamma] */
  | { selu: readonly [number, number] }
  /** max(0, min(1, alpha x + beta)): [alpha, beta] */
  | { hardSigmoid: readonly [number, number] };

export interface ActivationCode {
  kind: number;
  p0: number;
  p1: number;
}

const PLAIN: Readonly<Record<string, ActivationCode>> = {
  none: { kind: ACT.none, p0: 0, p1: 0 },
  relu: { kind: ACT.clamp, p0: 0, p1: Infinity },
  relu6: { kind: ACT.clamp, p0: 0, p1: 6 },
  sigmoid: { kind: ACT.sigmoid, p0: 0, p1: 0 },
  tanh: { kind: ACT.tanh, p0: 0, p1: 0 },
  // ONNX HardSwish: x * max(0, min(1, x/6 + 1/2)).
  hardSwish: { kind: ACT.hardswish, p0: 1 / 6, p1: 0.5 },
  softplus: { kind: ACT.softplus, p0: 0, p1: 0 },
  softsign: { kind: ACT.softsign, p0: 0, p1: 0 },
  mish: { kind: ACT.mish, p0: 0, p1: 0 },
  gelu: { kind: ACT.gelu, p0: 0, p1: 0 },
  geluTanh: { kind: ACT.gelu_tanh, p0: 0, p1: 0 },
  silu: { kind: ACT.silu, p0: 0, p1: 0 },
};

/** The activations named by a string alone. */
export const ACTIVATION_NAMES = Object.keys(PLAIN);

const EXPECTED =
  "'none', 'relu', 'relu6', 'sigmoid', 'tanh', 'hardSwish', 'softplus', 'softsign', 'mish', 'gelu', 'geluTanh', 'silu', " +
  "{ clip: [min, max] }, { leakyRelu: alpha }, { elu: alpha }, { celu: alpha }, { selu: [alpha, gamma] } or { hardSigmoid: [alpha, beta] }";

export function activationCode(act: Activation | undefined, what: string): ActivationCode {
  if (act === undefined) return PLAIN.none;
  if (typeof act === "string" && Object.hasOwn(PLAIN, act)) return PLAIN[act];
  if (typeof act === "object" && act !== null) {
    if ("clip" in act) {
      const c = act.clip;
      if (!Array.isArray(c) || c.length !== 2 || c.some((v) => typeof v !== "number" || Number.isNaN(v)) || c[0] > c[1]) {
        throw new ArgumentError(`${what}: clip expects [min, max] with min <= max and no NaN, got ${show(c)}`);
      }
      return { kind: ACT.clamp, p0: c[0], p1: c[1] };
    }
    if ("leakyRelu" in act) return { kind: ACT.leaky, p0: finiteParam(act.leakyRelu, what, "leakyRelu", "alpha"), p1: 0 };
    if ("elu" in act) return { kind: ACT.elu, p0: finiteParam(act.elu, what, "elu", "alpha"), p1: 0 };
    if ("celu" in act) {
      const alpha = finiteParam(act.celu, what, "celu", "alpha");
      if (alpha === 0) throw new ArgumentError(`${what}: celu divides by alpha, which must not be 0`);
      return { kind: ACT.celu, p0: alpha, p1: 0 };
    }
    if ("selu" in act) {
      const [alpha, gamma] = pair(act.selu, what, "selu", "[alpha, gamma]");
      return { kind: ACT.selu, p0: alpha, p1: gamma };
    }
    if ("hardSigmoid" in act) {
      const [alpha, beta] = pair(act.hardSigmoid, what, "hardSigmoid", "[alpha, beta]");
      return { kind: ACT.hardsigmoid, p0: alpha, p1: beta };
    }
  }
  throw new ArgumentError(`${what}: unknown activation ${show(act)}; expected ${EXPECTED}`);
}

function finiteParam(v: unknown, what: string, name: string, param: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgumentError(`${what}: ${name} expects a finite ${param}, got ${show(v)}`);
  return v;
}

function pair(v: unknown, what: string, name: string, form: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
    throw new ArgumentError(`${what}: ${name} expects ${form}, two finite numbers, got ${show(v)}`);
  }
  return [v[0], v[1]];
}
