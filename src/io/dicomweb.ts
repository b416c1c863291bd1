import { DicomwebError } from "../errors.js";

// The three DICOMweb requests simdcnn makes, QIDO-RS (search), WADO-RS (retrieve) and STOW-RS
// (store), over fetch, which Node and browsers both have. The dicomweb-client package builds
// every request on XMLHttpRequest, which Node does not have (it throws "XMLHttpRequest is not
// defined" before sending), and a polyfill for it would be a larger dependency than these requests.

export interface DicomwebOptions {
  /** Milliseconds a request may take, answer included, before it fails with a DicomwebError. */
  timeoutMs: number;
  /** Extra request headers, e.g. Authorization. */
  headers?: Record<string, string>;
}

/** A DICOM JSON data set (PS3.18 F.2): attributes by 8-hex-digit tag. */
type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

/** A series as QIDO-RS lists it: its Series Instance UID, and its Modality when the server gives it. */
export interface FoundSeries {
  uid: string;
  modality?: string;
}

/**
 * The series of a study, in the order the server lists them (QIDO-RS
 * `GET {base}/studies/{study}/series`). A study the server does not know is a DicomwebError
 * with status 404 (or an empty list: servers differ, and an empty answer is not an error here).
 */
export async function searchSeries(base: string, study: string, options: DicomwebOptions): Promise<FoundSeries[]> {
  const found = await search(`${trimmed(base)}/studies/${encodeURIComponent(study)}/series`, options);
  return found.flatMap((ds) => {
    const uid = ds?.["0020000E"]?.Value?.[0];
    const modality = ds?.["00080060"]?.Value?.[0];
    return typeof uid === "string" ? [{ uid, ...(typeof modality === "string" ? { modality } : {}) }] : [];
  });
}

/** The SOP Instance UIDs of a series (QIDO-RS `GET {base}/studies/{study}/series/{series}/instances`), as searchSeries. */
export async function searchInstances(base: string, study: string, series: string, options: DicomwebOptions): Promise<string[]> {
  const found = await search(`${trimmed(base)}/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances`, options);
  return found.flatMap((ds) => {
    const uid = ds?.["00080018"]?.Value?.[0];
    return typeof uid === "string" ? [uid] : [];
  });
}

// The data sets a QIDO-RS search answers.
async function search(url: string, options: DicomwebOptions): Promise<DicomJson[]> {
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
  return found as DicomJson[];
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

/**
 * Stores one DICOM Part 10 file (STOW-RS `POST {base}/studies`, multipart/related of
 * application/dicom) and returns the URL the server gives the stored instance (its Retrieve URL,
 * or failing that the request's). A refusal, of the request or (in the answer's Failed SOP
 * Sequence) of the instance, is a DicomwebError.
 */
export async function storeInstance(base: string, instance: Uint8Array, options: DicomwebOptions): Promise<string> {
  const url = `${trimmed(base)}/studies`;
  const boundary = `simdcnn-${crypto.randomUUID()}`;
  const encode = (t: string) => new TextEncoder().encode(t);
  const head = encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const tail = encode(`\r\n--${boundary}--\r\n`);
  const message = new Uint8Array(head.length + instance.length + tail.length);
  message.set(head);
  message.set(instance, head.length);
  message.set(tail, head.length + instance.length);
  const response = await request(url, "application/dicom+json", options, {
    method: "POST", body: message, contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  const text = new TextDecoder().decode(await body(response, url, options));
  let answer: DicomJson | undefined;
  try {
    answer = text.trim() ? (JSON.parse(text) as DicomJson) : undefined;
  } catch {
    answer = undefined;
  }
  // Failed SOP Sequence (0008,1198) and its Failure Reason (0008,1197).
  const failed = answer?.["00081198"]?.Value?.[0] as DicomJson | undefined;
  if (failed) {
    const why = failed["00081197"]?.Value?.[0];
    throw new DicomwebError(`${url} refused the instance${why !== undefined ? ` (failure reason ${why})` : ""}`, url, response.status);
  }
  const stored = (answer?.["00081199"]?.Value?.[0] as DicomJson | undefined)?.["00081190"]?.Value?.[0];
  return typeof stored === "string" ? stored : url;
}

const trimmed = (base: string) => base.replace(/\/+$/, "");

async function request(url: string, accept: string, options: DicomwebOptions, send?: { method: "POST"; body: Uint8Array<ArrayBuffer>; contentType: string }): Promise<Response> {
  let response: Response;
  try {
    const headers = { Accept: accept, ...(send ? { "Content-Type": send.contentType } : {}), ...options.headers };
    response = await fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs), ...(send ? { method: send.method, body: send.body } : {}) });
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
