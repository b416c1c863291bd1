import { DicomwebError } from "../errors.js";

// The two DICOMweb requests simdcnn makes, QIDO-RS (search) and WADO-RS (retrieve), over fetch,
// which Node and browsers both have. The dicomweb-client package builds every request on
// XMLHttpRequest, which Node does not have (it throws "XMLHttpRequest is not defined" before
// sending), and a polyfill for it would be a larger dependency than these two requests.

export interface DicomwebOptions {
  /** Milliseconds a request may take, answer included, before it fails with a DicomwebError. */
  timeoutMs: number;
  /** Extra request headers, e.g. Authorization. */
  headers?: Record<string, string>;
}

/** A DICOM JSON data set (PS3.18 F.2): attributes by 8-hex-digit tag. */
type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

/**
 * The Series Instance UIDs of a study, in the order the server lists them (QIDO-RS
 * `GET {base}/studies/{study}/series`). A study the server does not know is a DicomwebError
 * with status 404 (or an empty list: servers differ, and an empty answer is not an error here).
 */
export async function searchSeries(base: string, study: string, options: DicomwebOptions): Promise<string[]> {
  return search(`${trimmed(base)}/studies/${encodeURIComponent(study)}/series`, "0020000E", options);
}

/** The SOP Instance UIDs of a series (QIDO-RS `GET {base}/studies/{study}/series/{series}/instances`), as searchSeries. */
export async function searchInstances(base: string, study: string, series: string, options: DicomwebOptions): Promise<string[]> {
  return search(`${trimmed(base)}/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances`, "00080018", options);
}

// The values of one UID attribute over the data sets a QIDO-RS search answers.
async function search(url: string, tag: string, options: DicomwebOptions): Promise<string[]> {
  const response = await request(url, "application/dicom+json", options);
  const text = await body(response, url, options).then((b) => new TextDecoder().decode(b));
  if (text.trim() === "") return [];
  let found: unknown;
  try {
    found = JSON.parse(text);
  } catch {
    throw new DicomwebError(`the QIDO-RS answer of ${url} is not JSON: ${text.slice(0, 80)}`, url, response.status);
  }
  if (!Array.isArray(found)) throw new DicomwebError(`the QIDO-RS answer of ${url} is not a JSON array of data sets`, url, response.status);
  return (found as DicomJson[]).flatMap((ds) => {
    const uid = ds?.[tag]?.Value?.[0];
    return typeof uid === "string" ? [uid] : [];
  });
}

/**
 * Every instance of a series as a DICOM Part 10 file (WADO-RS `GET
 * {base}/studies/{study}/series/{series}`, multipart/related of application/dicom, in the
 * transfer syntax the server stores, which readSlices decodes). A series the server does not
 * know, a refusal or an answer that is not multipart DICOM is a DicomwebError.
 */
export async function retrieveSeries(base: string, study: string, series: string, options: DicomwebOptions): Promise<Uint8Array[]> {
  const url = `${trimmed(base)}/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}`;
  const response = await request(url, 'multipart/related; type="application/dicom"; transfer-syntax=*', options);
  const type = response.headers.get("content-type") ?? "";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!/^multipart\/related/i.test(type) || !boundary) {
    throw new DicomwebError(`the WADO-RS answer of ${url} is '${type || "without a Content-Type"}', not multipart/related with a boundary`, url, response.status);
  }
  const parts = multipartParts(await body(response, url, options), boundary);
  if (parts === undefined) throw new DicomwebError(`the WADO-RS answer of ${url} is cut off or malformed multipart (boundary '${boundary}')`, url, response.status);
  return parts;
}

const trimmed = (base: string) => base.replace(/\/+$/, "");

async function request(url: string, accept: string, options: DicomwebOptions): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: accept, ...options.headers }, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (e) {
    throw failure(e, url, options);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    const detail = text.trim() ? `: ${text.trim().replace(/\s+/g, " ").slice(0, 160)}` : "";
    throw new DicomwebError(`${url} answered ${response.status} ${response.statusText}${detail}`, url, response.status);
  }
  return response;
}

async function body(response: Response, url: string, options: DicomwebOptions): Promise<Uint8Array> {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    throw failure(e, url, options);
  }
}

function failure(e: unknown, url: string, options: DicomwebOptions): DicomwebError {
  const name = (e as { name?: string })?.name;
  if (name === "TimeoutError" || name === "AbortError") return new DicomwebError(`${url} did not answer within ${options.timeoutMs} ms`, url);
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  return new DicomwebError(`${url} cannot be reached: ${cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))}`, url);
}

/**
 * The bodies of a multipart message (RFC 2046): what lies between each `--boundary` line's
 * header block and the next delimiter, up to the closing `--boundary--`. Undefined when the
 * closing delimiter is missing (a cut-off answer) or a part has no header block end.
 */
export function multipartParts(bytes: Uint8Array, boundary: string): Uint8Array[] | undefined {
  const delimiter = Uint8Array.from(`--${boundary}`, (c) => c.charCodeAt(0));
  const find = (from: number) => {
    outer: for (let i = from; i <= bytes.length - delimiter.length; i++) {
      for (let k = 0; k < delimiter.length; k++) if (bytes[i + k] !== delimiter[k]) continue outer;
      // A delimiter starts the message or a line.
      if (i === 0 || (bytes[i - 1] === 0x0a)) return i;
    }
    return -1;
  };
  const parts: Uint8Array[] = [];
  let at = find(0);
  while (at >= 0) {
    const after = at + delimiter.length;
    if (bytes[after] === 0x2d && bytes[after + 1] === 0x2d) return parts;
    let headersEnd = -1;
    for (let i = after; i + 3 < bytes.length; i++) {
      if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a && bytes[i + 2] === 0x0d && bytes[i + 3] === 0x0a) {
        headersEnd = i + 4;
        break;
      }
    }
    if (headersEnd < 0) return undefined;
    const next = find(headersEnd);
    if (next < 0) return undefined;
    // The CRLF before a delimiter belongs to the delimiter, not to the part.
    const end = next >= 2 && bytes[next - 2] === 0x0d ? next - 2 : next - 1;
    parts.push(bytes.slice(headersEnd, end));
    at = next;
  }
  return undefined;
}
