// A full garbage collection on demand, without `node --expose-gc`: the engines are timed one
// after another in one process, and the arrays one leaves behind (a fresh output per run, for the
// ONNX paths) would otherwise be collected, and their memory returned, on the next one's time.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A tinybench task hook: each engine's task starts on a collected heap. */
export const collected = { beforeAll: (): void => gc() };
