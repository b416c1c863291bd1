/** How the pixel data of a transfer syntax is decoded: natively, or by which codec. */
export type PixelEncoding = "native" | "jpeg" | "jpeg-lossless" | "jpeg-ls" | "jpeg-2000" | "rle";

export interface TransferSyntax {
  uid: string;
  name: string;
  /** Undefined for syntaxes that are not decoded. */
  encoding?: PixelEncoding;
  /** Explicit VR big endian. */
  bigEndian?: boolean;
  /** The data set after the file meta information is deflated (raw deflate). */
  deflated?: boolean;
}

const SYNTAXES: TransferSyntax[] = [
  { uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian", encoding: "native" },
  { uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian", encoding: "native" },
  { uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian", encoding: "native", deflated: true },
  { uid: "1.2.840.10008.1.2.2", name: "Explicit VR Big Endian", encoding: "native", bigEndian: true },
  { uid: "1.2.840.10008.1.2.1.98", name: "Encapsulated Uncompressed Explicit VR Little Endian" },
  { uid: "1.2.840.10008.1.2.4.50", name: "JPEG Baseline (Process 1)", encoding: "jpeg" },
  { uid: "1.2.840.10008.1.2.4.51", name: "JPEG Extended (Process 2 & 4)", encoding: "jpeg" },
  { uid: "1.2.840.10008.1.2.4.57", name: "JPEG Lossless, Non-Hierarchical (Process 14)", encoding: "jpeg-lossless" },
  {
    uid: "1.2.840.10008.1.2.4.70",
    name: "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
    encoding: "jpeg-lossless",
  },
  { uid: "1.2.840.10008.1.2.4.80", name: "JPEG-LS Lossless", encoding: "jpeg-ls" },
  { uid: "1.2.840.10008.1.2.4.81", name: "JPEG-LS Lossy (Near-Lossless)", encoding: "jpeg-ls" },
  { uid: "1.2.840.10008.1.2.4.90", name: "JPEG 2000 Image Compression (Lossless Only)", encoding: "jpeg-2000" },
  { uid: "1.2.840.10008.1.2.4.91", name: "JPEG 2000 Image Compression", encoding: "jpeg-2000" },
  { uid: "1.2.840.10008.1.2.4.201", name: "High-Throughput JPEG 2000 (Lossless Only)" },
  { uid: "1.2.840.10008.1.2.4.202", name: "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)" },
  { uid: "1.2.840.10008.1.2.4.203", name: "High-Throughput JPEG 2000" },
  { uid: "1.2.840.10008.1.2.4.100", name: "MPEG2 Main Profile / Main Level" },
  { uid: "1.2.840.10008.1.2.4.101", name: "MPEG2 Main Profile / High Level" },
  { uid: "1.2.840.10008.1.2.4.102", name: "MPEG-4 AVC/H.264 High Profile / Level 4.1" },
  { uid: "1.2.840.10008.1.2.4.103", name: "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1" },
  { uid: "1.2.840.10008.1.2.4.107", name: "HEVC/H.265 Main Profile / Level 5.1" },
  { uid: "1.2.840.10008.1.2.4.108", name: "HEVC/H.265 Main 10 Profile / Level 5.1" },
  { uid: "1.2.840.10008.1.2.5", name: "RLE Lossless", encoding: "rle" },
];

const BY_UID = new Map(SYNTAXES.map((s) => [s.uid, s]));

/** The transfer syntax of `uid`; one not in the table has the name 'unknown' and is not decoded. */
export function transferSyntax(uid: string): TransferSyntax {
  return BY_UID.get(uid) ?? { uid, name: "unknown" };
}

/** The UIDs of the syntaxes that are decoded, for the error that refuses the others. */
export function decodedSyntaxes(): string[] {
  return SYNTAXES.filter((s) => s.encoding).map((s) => s.uid);
}
