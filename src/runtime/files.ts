// Reading a model from a path is a Node feature: the Node entry (src/node.ts) installs the
// reader, so the browser entry never imports a file system module.
type Reader = (path: string) => Promise<Uint8Array>;

let reader: Reader | undefined;

export function setFileReader(r: Reader): void {
  reader = r;
}

export function fileReader(): Reader | undefined {
  return reader;
}
