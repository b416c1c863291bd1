// What the host provides beyond WebAssembly that differs between Node and browsers: reading a
// model from a path, and the number of cores. The Node entry (src/node.ts) installs Node's, so
// the browser entry never imports a Node module.
type Reader = (path: string) => Promise<Uint8Array>;

let reader: Reader | undefined;
let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;

export function setFileReader(r: Reader): void {
  reader = r;
}

export function fileReader(): Reader | undefined {
  return reader;
}

export function setCores(n: number): void {
  cores = n;
}

/** The cores the platform reports (os.availableParallelism in Node, hardwareConcurrency in browsers). */
export function coreCount(): number {
  return Math.max(1, cores);
}
