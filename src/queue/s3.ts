import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { UsageError } from "../cli/usage.js";

/** An object of a bucket, as a queued job names it: its ETag makes the job's id and lets a worker refuse a changed object. */
export interface S3Object {
  bucket: string;
  key: string;
  etag: string;
}

/** `s3://bucket/prefix` to its bucket and prefix (without a leading slash), or a UsageError. */
export function s3Location(url: string, flag: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) throw new UsageError(`${flag} expects s3://BUCKET/PREFIX with a bucket name of 3-63 lowercase letters, digits, dots and hyphens, got '${url}'`);
  return { bucket: m[1], prefix: m[2] };
}

/**
 * A client for the S3 service the environment names: AWS's by default; another S3-compatible one
 * (MinIO, Ceph, a test server) through AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, which such servers
 * serve by path rather than by bucket host name. Credentials and region come from the SDK's own
 * chain (AWS_ACCESS_KEY_ID, profiles, instance roles).
 */
export function s3Client(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return new S3Client({ region: process.env.AWS_REGION ?? "us-east-1", ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
}

// Objects named like slices, or without an extension (DICOM files named by UID), as a folder's files are read (cli/inputs.ts).
const SLICE_OBJECT = /(^|\/)[^./]+$|\.(png|jpe?g|dcm|dicom|ima)$/i;

/** The slice objects below `s3://bucket/prefix`, sorted by key: an object named exactly is itself, a prefix its objects. */
export async function listObjects(client: S3Client, url: string): Promise<S3Object[]> {
  const { bucket, prefix } = s3Location(url, "an input");
  const found: S3Object[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || o.ETag === undefined) continue;
      const exact = o.Key === prefix;
      const below = prefix === "" || prefix.endsWith("/") || o.Key.startsWith(`${prefix}/`);
      if (exact || (below && SLICE_OBJECT.test(o.Key))) found.push({ bucket, key: o.Key, etag: o.ETag });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The object's bytes, and its ETag now. */
export async function getObject(client: S3Client, o: Pick<S3Object, "bucket" | "key">): Promise<{ bytes: Uint8Array; etag: string }> {
  const r = await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key }));
  return { bytes: await r.Body!.transformToByteArray(), etag: r.ETag ?? "" };
}

/** Writes an object whole: S3 makes a put visible all at once, so a reader never sees half of it. */
export async function putObject(client: S3Client, bucket: string, key: string, bytes: Uint8Array, type: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: type }));
}

/**
 * The inputs of `s3://` arguments for a queue: each object named, or below a prefix, with its
 * ETag; an argument with nothing below it, or whose listing the service refused, is a failed input.
 */
export async function bucketInputs(urls: readonly string[]): Promise<({ file: string; s3: S3Object } | { file: string; error: string })[]> {
  if (urls.length === 0) return [];
  const client = s3Client();
  const out: ({ file: string; s3: S3Object } | { file: string; error: string })[] = [];
  try {
    for (const url of urls) {
      try {
        const objects = await listObjects(client, url);
        if (objects.length === 0) out.push({ file: url, error: `no slice objects below '${url}'` });
        for (const o of objects) out.push({ file: `s3://${o.bucket}/${o.key}`, s3: o });
      } catch (e) {
        if (e instanceof UsageError) throw e;
        out.push({ file: url, error: `S3: ${(e as Error).name}: ${(e as Error).message}` });
      }
    }
  } finally {
    client.destroy();
  }
  return out;
}
