/**
 * Local S3 stand-in: s3rver 3.7.1 (FilesystemStore, so data persists in `directory`) behind a
 * thin HTTP layer of our own that closes the gaps measured on s3rver (/work/shared/STANDINS.md),
 * so the product's AWS usage behaves as it does on AWS.
 *
 * The layer sees every request first, in the same process (no proxy hop), and either answers it
 * itself or hands it to s3rver's Koa callback:
 *
 * | Request                                   | Answered by | Why ours                                    |
 * |-------------------------------------------|-------------|---------------------------------------------|
 * | any SigV4-signed request (query or header) | us, then…   | s3rver skips SigV4: a changed Content-Length, part number or secret passed |
 * | …signed with a session key (local STS)    | us, then…   | its token, expiry, and its role's policy (below) |
 * | `OPTIONS` (CORS preflight)                | us          | S3 never authenticates a preflight          |
 * | PutObject, UploadPart                     | us          | atomic writes, checksums, aws-chunked bodies, NoSuchUpload |
 * | CompleteMultipartUpload                   | us          | validates parts, S3's `"md5-N"` ETag, real event |
 * | ListParts, AbortMultipartUpload           | us          | s3rver answers 405                          |
 * | ListMultipartUploads                      | us          | s3rver answers 501                          |
 * | ListObjects (v1, v2)                      | us          | s3rver 500s on continuation tokens and lists out of S3 order |
 * | GET/HEAD object with `Range`              | s3rver      | after we turn `bytes=-N` into an explicit range |
 * | everything else                           | s3rver      |                                             |
 *
 * Bodies are streamed to a temporary file and renamed into place: nothing is buffered, and a
 * refused or interrupted upload leaves nothing behind. Files keep s3rver's on-disk layout, so
 * s3rver serves what we write and vice versa, with one exception: a completed multipart object
 * keeps its part files (`<name>._S3rver_parts/`, see servePartBackedObjects) so completion copies
 * no bytes; s3rver's store is patched to read, copy, overwrite and delete such objects. MD5 of
 * bodies runs in worker threads (./s3/md5-pool.ts) so parallel parts hash in parallel.
 *
 * Temporary credentials (`sessions`, issued by ./sts.ts) are checked as S3 checks them: an unknown
 * key is `InvalidAccessKeyId`, a missing token too, another token `InvalidToken`, an expired one
 * `ExpiredToken`; the signature is verified with the session's secret. Then the request is
 * authorized by the session's role policy (./iam-policy.ts), as the action and resource S3 would
 * check (see {@link accessOf}): GET/HEAD object `s3:GetObject`; PUT object, UploadPart,
 * Create/CompleteMultipartUpload `s3:PutObject`; CopyObject `s3:PutObject` and `s3:GetObject` on
 * the source; AbortMultipartUpload `s3:AbortMultipartUpload`; ListParts
 * `s3:ListMultipartUploadParts`; DELETE object `s3:DeleteObject`; list objects `s3:ListBucket`
 * with `s3:prefix` (and `s3:delimiter`, `s3:max-keys` when given); ListMultipartUploads
 * `s3:ListBucketMultipartUploads`. DeleteObjects is allowed only with `s3:DeleteObject` on the
 * whole bucket (`arn:aws:s3:::bucket/*`), since the keys are in a body s3rver reads; any other
 * request of a session is denied (`403 AccessDenied`). The root key keeps full access.
 *
 * Not like AWS (on purpose or not needed by the product): anonymous requests are allowed (as in
 * s3rver; there is no bucket policy), chunk signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
 * bodies are not verified (the request signature is), CRC64NVME checksums are accepted unchecked,
 * no versioning, no SSE headers.
 */
import { EventEmitter } from 'node:events';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import type { AccessRequest } from './iam-policy.ts';
import { holdMd5Pool, md5Job } from './s3/md5-pool.ts';
import type { LocalSession, LocalSessions } from './sts.ts';

/** One bucket the stand-in provides at start (created if missing, kept if present). */
export interface LocalS3Bucket {
  readonly name: string;
  /**
   * Give the bucket a CORS rule that lets a browser on any origin GET/PUT/POST/DELETE/HEAD with
   * any header and read the `ETag` response header (needed to complete a multipart upload).
   * @default false - no CORS configuration, as a new S3 bucket
   */
  readonly cors?: boolean;
}

/** Options of {@link startLocalS3}. */
export interface LocalS3Options {
  /** @default 0 - any free port (read it back from {@link LocalS3.port}) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Where objects, parts and bucket configuration live; survives restarts. Created if missing. */
  readonly directory: string;
  readonly buckets: readonly LocalS3Bucket[];
  /** @default 'S3RVER' - s3rver's built-in key, which existing tooling expects */
  readonly accessKeyId?: string;
  /** Secret that SigV4 signatures (presigned URLs included) are verified against. @default 'S3RVER' */
  readonly secretAccessKey?: string;
  /**
   * Temporary credentials the stand-in accepts besides its own key: each request signed with one
   * is authorized by the session's policy (see the header comment).
   * @default - only the key above (and anonymous requests)
   */
  readonly sessions?: LocalSessions;
  /** @default true - no per-request log lines (s3rver logs every request otherwise); faults are always logged */
  readonly silent?: boolean;
  /**
   * Smallest size of a part that is not the last one, checked at CompleteMultipartUpload.
   * @default 5 MiB - S3's limit (`EntityTooSmall`)
   */
  readonly minPartSizeBytes?: number;
}

/** Events of {@link LocalS3.events}. */
export interface LocalS3Events {
  /**
   * An object was created (Put, CompleteMultipartUpload, Copy, or form Post). The payload is
   * shaped as S3 delivers it to Lambda: URL-encoded key (`+` for spaces), `arn:aws:s3:::bucket`,
   * size and unquoted eTag. Emitted synchronously before the response is sent.
   */
  'object-created': [S3Event];
}

/** Settings every S3 client pointed at the stand-in needs: spread them into `new S3Client(...)`. */
export interface LocalS3ClientConfig {
  readonly endpoint: string;
  readonly region: 'us-east-1';
  readonly forcePathStyle: true;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly requestChecksumCalculation: 'WHEN_REQUIRED';
  readonly responseChecksumValidation: 'WHEN_REQUIRED';
}

/** A running stand-in; see {@link startLocalS3}. */
export interface LocalS3 {
  /** `http://127.0.0.1:PORT`: use path-style addressing (`forcePathStyle: true`). */
  readonly endpoint: string;
  readonly port: number;
  readonly events: EventEmitter<LocalS3Events>;
  readonly clientConfig: LocalS3ClientConfig;
  /** Stops listening and drops open connections; the data stays in `directory`. */
  close(): Promise<void>;
}

/**
 * Starts the S3 stand-in and resolves once it accepts connections (~20 ms).
 *
 * ```ts
 * const s3 = await startLocalS3({ directory: '.local/s3', buckets: [{ name: 'raw', cors: true }] });
 * const client = new S3Client(s3.clientConfig);
 * s3.events.on('object-created', (event) => void onUploaded(event));
 * ```
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const silent = options.silent ?? true;
  const credentials = {
    accessKeyId: options.accessKeyId ?? DEFAULT_KEY,
    secretAccessKey: options.secretAccessKey ?? DEFAULT_KEY,
  };
  await mkdir(options.directory, { recursive: true });

  // s3rver still authenticates what we pass on to it (key known, clock skew, expiry): it must know
  // the key (sessions' keys are added as they pass). Its registry is process-wide and keys are
  // never revoked: other instances may use them.
  s3rverAccount.DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);

  const app = new S3rver({
    directory: options.directory,
    silent,
    // Path-style only: a Host that is not an IP or `localhost` (`host.docker.internal:PORT`)
    // must not be read as a bucket name.
    vhostBuckets: false,
    configureBuckets: options.buckets.map((b) => ({ name: b.name, configs: b.cors ? [CORS_XML] : [] })),
  });
  // s3rver has already answered its errors as S3 XML; like Koa's default handler, log only faults
  // (500s), not client errors (404s, 403s).
  app.on('error', (err) => {
    const expected = typeof err === 'object' && err !== null && (err as { expose?: unknown }).expose === true;
    if (!expected && !clientWentAway(err)) console.error('[local-s3]', err);
  });
  await app.configureBuckets();
  for (const bucket of options.buckets) {
    if (!bucket.cors) await app.store.deleteSubresource(bucket.name, undefined, 'cors');
  }
  fixZeroEndRange(app.store);
  servePartBackedObjects(app.store);
  writeMetadataAtomically(app.store);

  const events = new EventEmitter<LocalS3Events>();
  const layer = new S3Layer(app, credentials, options.sessions, events, options.minPartSizeBytes ?? 5 * MiB);
  // No request timeout: a multi-GiB part on a slow link must not be cut off (Node's default is 5 min).
  const server = createServer({ requestTimeout: 0 }, (req, res) => void layer.handle(req, res));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const releaseMd5Pool = holdMd5Pool();
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${endpointHost(options.host ?? '127.0.0.1')}:${port}`;

  return {
    endpoint,
    port,
    events,
    clientConfig: {
      endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      app.logger.exceptions.unhandle();
      app.logger.close();
      await releaseMd5Pool();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// s3rver, typed as far as we use it (it ships no types; the deep modules have no `exports` map).

interface CorsRule {
  readonly hasWildcardOrigin: boolean;
  readonly allowedMethods: readonly string[];
  readonly allowedHeaders: readonly RegExp[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}
interface CorsConfig {
  matchRule(origin: string, method: string): CorsRule | undefined;
}
interface StoredMetadata {
  readonly etag: string;
  readonly 'last-modified': string;
  readonly 'content-length': number;
}
interface RangeOptions {
  start?: number;
  end?: number;
}
interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getBucket(bucket: string): Promise<object | null>;
  getMetadata(bucket: string, key: string): Promise<StoredMetadata>;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5?: string): Promise<void>;
  getSubresource(bucket: string, key: undefined, type: 'cors'): Promise<CorsConfig | null>;
  deleteSubresource(bucket: string, key: undefined, type: 'cors'): Promise<void>;
  getObject(bucket: string, key: string, options?: RangeOptions): Promise<unknown>;
  putObject(object: { bucket: string; key: string }): Promise<unknown>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, metadata?: unknown): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<void>;
}
interface S3rverRecord {
  readonly eventName: string;
  readonly requestParameters: { readonly sourceIPAddress: string };
  readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string; readonly size?: number } };
}
interface S3rverApp {
  readonly store: FilesystemStore;
  readonly logger: { close(): void; readonly exceptions: { unhandle(): void } };
  callback(): (req: IncomingMessage, res: ServerResponse) => unknown;
  configureBuckets(): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  on(event: 'event', listener: (event: { Records: S3rverRecord[] }) => void): unknown;
}
type S3rverConstructor = new (options: {
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  configureBuckets: { name: string; configs: string[] }[];
}) => S3rverApp;
type S3ObjectConstructor = new (bucket: string, key: string, content: unknown, metadata: object) => {
  range?: { start: number; end: number };
};

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverConstructor;
const s3rverAccount = require('s3rver/lib/models/account.js') as {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
};
const S3Object = require('s3rver/lib/models/object.js') as S3ObjectConstructor & { readonly ALLOWED_METADATA: readonly string[] };

/** A temporary name beside `file` (same filesystem, so a rename onto `file` is atomic); the suffix keeps it out of listings. */
function temporaryBeside(file: string): string {
  return `${file}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * s3rver writes an object's `metadata.json` (and `.md5`) in place, so a GET racing an overwrite
 * could read half of it: a 500 ("Unexpected end of JSON input"), seen under `bench:load` on the
 * search snapshot. The same content is written here to a temporary file and renamed over the old
 * one, so a reader sees the old metadata or the new, never a part. (The PUT path already renames
 * the content into place, but s3rver's GET stats the file before it opens it: a GET racing an
 * overwrite of another length can still get a body cut short. Left as is.)
 */
function writeMetadataAtomically(store: FilesystemStore): void {
  const writeAtomically = async (file: string, content: string) => {
    const temporary = temporaryBeside(file);
    try {
      await writeFile(temporary, content);
      await rename(temporary, file);
    } catch (err) {
      await removeQuietly(temporary);
      throw err;
    }
  };
  store.putMetadata = async (bucket, key, metadata, md5) => {
    const stored: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(metadata)) {
      if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) stored[name] = value;
    }
    if (md5) await writeAtomically(store.getResourcePath(bucket, key, 'object.md5'), md5);
    await writeAtomically(store.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(stored, null, 2));
  };
}

/**
 * s3rver's store reads `options.end || Infinity`, so `Range: bytes=0-0` returned the whole object
 * (as a 206 claiming the full range). Only that range has `end === 0` (we drop `start > end`), so
 * only that case is answered here, the same way the store answers the others.
 */
function fixZeroEndRange(store: FilesystemStore): void {
  const getObject = store.getObject.bind(store);
  store.getObject = async (bucket, key, options) => {
    if (options?.end !== 0) return getObject(bucket, key, options);
    let metadata: StoredMetadata;
    try {
      metadata = await store.getMetadata(bucket, key);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
    // An empty object cannot serve byte 0: without content s3rver answers 416 InvalidRange.
    const content =
      Number(metadata['content-length']) === 0
        ? null
        : createReadStream(store.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
    const object = new S3Object(bucket, key, content, metadata);
    object.range = { start: 0, end: 0 };
    return object;
  };
}

/**
 * A completed multipart upload keeps its part files: CompleteMultipartUpload moves the upload's
 * directory beside the object (`<name>._S3rver_parts`, with a `manifest.json`) and leaves a sparse
 * object file of the object's size, so s3rver's stat-based metadata (size, Last-Modified) stays
 * right. Completion is O(parts) metadata work, as on S3, instead of rewriting the whole object.
 *
 * The manifest names the inode of that object file: an object written any other way (a new file
 * renamed over it, or s3rver truncating it in place after we remove the parts) no longer matches,
 * so a stale parts directory is never served. Reads of a part-backed object go through the
 * patched `getObject` (GET, HEAD, Range, CopyObject's source); delete and overwrite remove the parts.
 */
interface PartsManifest {
  readonly ino: number;
  readonly size: number;
  readonly parts: readonly { readonly file: string; readonly size: number }[];
}

const PARTS_RESOURCE = 'parts';
const PARTS_SUFFIX = `._S3rver_${PARTS_RESOURCE}`;
const MANIFEST = 'manifest.json';

/** The manifest of `key` if its object file is the one the manifest was written for. */
async function readPartsManifest(store: FilesystemStore, bucket: string, key: string): Promise<PartsManifest | undefined> {
  const dir = store.getResourcePath(bucket, key, PARTS_RESOURCE);
  let manifest: PartsManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as PartsManifest;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
  const info = await stat(store.getResourcePath(bucket, key, 'object')).catch(() => undefined);
  if (!info || info.size !== manifest.size) return undefined;
  // A copied data directory has new inodes but keeps the placeholder sparse (no blocks): still ours.
  return info.ino === manifest.ino || (info.size > 0 && info.blocks === 0) ? manifest : undefined;
}

/** Bytes `start..end` (inclusive) of the parts, in order. Files are opened now: a delete or
 * overwrite during the response does not cut it short. Closed when the stream closes. */
async function openPartsStream(dir: string, manifest: PartsManifest, start: number, end: number): Promise<Readable> {
  const slices: { handle: FileHandle; from: number; to: number }[] = [];
  let offset = 0;
  try {
    for (const part of manifest.parts) {
      const first = offset;
      const last = offset + part.size - 1;
      offset += part.size;
      if (part.size === 0 || last < start || first > end) continue;
      const handle = await open(path.join(dir, part.file), 'r');
      slices.push({ handle, from: Math.max(start, first) - first, to: Math.min(end, last) - first });
    }
  } catch (err) {
    await Promise.all(slices.map((s) => s.handle.close().catch(() => undefined)));
    throw err;
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const slice of slices) {
      const stream = slice.handle.createReadStream({ start: slice.from, end: slice.to, autoClose: false, highWaterMark: MiB });
      for await (const chunk of stream) yield chunk as Buffer;
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  let closed = false;
  stream.once('close', () => {
    if (closed) return;
    closed = true;
    for (const s of slices) s.handle.close().catch(() => undefined);
  });
  return stream;
}

function servePartBackedObjects(store: FilesystemStore): void {
  const getObject = store.getObject.bind(store);
  const putObject = store.putObject.bind(store);
  const copyObject = store.copyObject.bind(store);
  const deleteObject = store.deleteObject.bind(store);
  const removeParts = (bucket: string, key: string) =>
    rm(store.getResourcePath(bucket, key, PARTS_RESOURCE), { recursive: true, force: true });

  store.getObject = async (bucket, key, options) => {
    const manifest = await readPartsManifest(store, bucket, key);
    if (!manifest) return getObject(bucket, key, options);
    let metadata: StoredMetadata;
    try {
      metadata = await store.getMetadata(bucket, key);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
    // As s3rver's store: an explicit range is reported back; one past the end is unsatisfiable.
    const lastByte = Math.max(0, manifest.size - 1);
    const ranged = options !== undefined && (options.start !== undefined || options.end !== undefined);
    const start = options?.start ?? 0;
    const end = Math.min(options?.end ?? Infinity, lastByte);
    const satisfiable = manifest.size > 0 && start >= 0 && start <= end;
    const content = satisfiable
      ? await openPartsStream(store.getResourcePath(bucket, key, PARTS_RESOURCE), manifest, start, end)
      : null;
    const object = new S3Object(bucket, key, content, metadata);
    if (ranged) object.range = { start, end };
    return object;
  };
  // s3rver writes these in place (same inode): the parts must go first.
  store.putObject = async (object) => {
    await removeParts(object.bucket, object.key);
    return putObject(object);
  };
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, metadata) => {
    const same = srcBucket === destBucket && srcKey === destKey;
    if (same) return copyObject(srcBucket, srcKey, destBucket, destKey, metadata);
    await removeParts(destBucket, destKey);
    const manifest = await readPartsManifest(store, srcBucket, srcKey);
    if (!manifest) return copyObject(srcBucket, srcKey, destBucket, destKey, metadata);
    // A copy of a part-backed object is materialised: copies are rare, reads stay simple.
    const destPath = store.getResourcePath(destBucket, destKey, 'object');
    await mkdir(path.dirname(destPath), { recursive: true });
    const temp = temporaryBeside(destPath);
    try {
      await pipeline(
        await openPartsStream(store.getResourcePath(srcBucket, srcKey, PARTS_RESOURCE), manifest, 0, manifest.size - 1),
        createWriteStream(temp),
      );
      await rename(temp, destPath);
    } catch (err) {
      await removeQuietly(temp);
      throw err;
    }
    // The object is in place: its ETag and metadata are the source's unless replaced, as s3rver does.
    const resource = (bucket: string, key: string, name: string) => store.getResourcePath(bucket, key, name);
    await copyFile(resource(srcBucket, srcKey, 'object.md5'), resource(destBucket, destKey, 'object.md5'));
    if (metadata) return copyObject(destBucket, destKey, destBucket, destKey, metadata);
    await copyFile(resource(srcBucket, srcKey, 'metadata.json'), resource(destBucket, destKey, 'metadata.json')).catch(
      (err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err;
      },
    );
    return store.getMetadata(destBucket, destKey);
  };
  store.deleteObject = async (bucket, key) => {
    await removeParts(bucket, key);
    // s3rver unlinks the files, then prunes empty folders; deletes of sibling keys (DeleteObjects)
    // race on that pruning. The object is gone either way, so a lost race is not an error.
    return deleteObject(bucket, key).catch((err: unknown) => {
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTEMPTY')) throw err;
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Constants

const MiB = 1024 * 1024;
const DEFAULT_KEY = 'S3RVER';
const REGION = 'us-east-1';
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_OBJECT_BYTES = 5 * 1024 * MiB;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const OWNER = { ID: '123456789000', DisplayName: 'S3rver' } as const; // s3rver's dummy account
/** s3rver stores `key` as `<dirs of key>/<last segment>._S3rver_object`, uploads under the bucket. */
const OBJECT_SUFFIX = '._S3rver_object';
const UPLOADS_DIR = '._S3rver_uploads';

const CORS_XML = `<CORSConfiguration><CORSRule>
<AllowedOrigin>*</AllowedOrigin>
${['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('')}
<AllowedHeader>*</AllowedHeader>
<ExposeHeader>ETag</ExposeHeader>
<MaxAgeSeconds>3000</MaxAgeSeconds>
</CORSRule></CORSConfiguration>`;

/** Query parameters that name a sub-resource: such requests are not plain object/bucket requests. */
const SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering',
  'inventory', 'legal-hold', 'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock',
  'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment',
  'restore', 'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions',
  'website',
]);
/** SigV4 query parameters: authentication, not request data (never metadata or checksums). */
const AUTH_PARAMS = new Set([
  'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders',
  'x-amz-signature', 'x-amz-security-token', 'x-amz-content-sha256',
]);
const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

// ---------------------------------------------------------------------------------------------
// Errors, answered as S3's XML error documents

/** A refusal S3 would send: `code` and `detail` become the `<Error>` document. */
class S3Failure extends Error {
  override readonly name = 'S3Failure';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly detail: Readonly<Record<string, string | number>> = {},
  ) {
    super(message);
  }
}

const noSuchBucket = (bucket: string) =>
  new S3Failure('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket });
const noSuchUpload = (uploadId: string) =>
  new S3Failure(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    404,
    { UploadId: uploadId },
  );
const malformedXml = () =>
  new S3Failure(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    400,
  );
const invalidArgument = (message: string, name: string, value: string) =>
  new S3Failure('InvalidArgument', message, 400, { ArgumentName: name, ArgumentValue: value });
const corsRefused = (message: string) => new S3Failure('CORSResponse', message, 403);

// ---------------------------------------------------------------------------------------------
// Requests

/** The parts of a request URL that S3 routes and signs on. */
interface Target {
  /** The path as received (still percent-encoded). */
  readonly rawPath: string;
  /** Query parameters in order, decoded. */
  readonly params: readonly (readonly [string, string])[];
  readonly query: ReadonlyMap<string, string>;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
}

/** What a handler gets: the request, its target, and what authentication established. */
interface Context {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly target: Target;
  readonly requestId: string;
  /** `x-amz-*` values from headers and (presigned) query parameters; the query wins, as in S3. */
  readonly amz: ReadonlyMap<string, string>;
  /** The signed payload hash (`UNSIGNED-PAYLOAD`, `STREAMING-…` or hex), if signed at all. */
  readonly payloadHash: string | undefined;
  /** Access key of a verified signature, for the event's `userIdentity`. */
  readonly accessKeyId: string | undefined;
}

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new S3Failure('InvalidURI', "Couldn't parse the specified URI.", 400, { URI: value });
  }
}

function parseTarget(url: string): Target {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const params = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p): [string, string] => {
      const eq = p.indexOf('=');
      return eq < 0 ? [decodeComponent(p), ''] : [decodeComponent(p.slice(0, eq)), decodeComponent(p.slice(eq + 1))];
    });
  const rest = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  const slash = rest.indexOf('/');
  const bucket = decodeComponent(slash < 0 ? rest : rest.slice(0, slash));
  const key = slash < 0 ? '' : decodeComponent(rest.slice(slash + 1));
  // Names become paths under `directory`: `..` (legal in S3 keys) would reach outside it.
  if (bucket !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket)) {
    throw new S3Failure('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: bucket });
  }
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw invalidArgument('The local S3 stand-in cannot store keys with "." or ".." segments', 'key', key);
  }
  return {
    rawPath,
    params,
    query: new Map(params),
    bucket: bucket === '' ? undefined : bucket,
    key: key === '' ? undefined : key,
  };
}

function hasSubresource(target: Target): boolean {
  return target.params.some(([name]) => SUBRESOURCES.has(name));
}

function amzValues(headers: IncomingHttpHeaders, target: Target): Map<string, string> {
  const amz = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-') && typeof value === 'string') amz.set(name, value);
  }
  for (const [name, value] of target.params) {
    const lower = name.toLowerCase();
    if (lower.startsWith('x-amz-') && !AUTH_PARAMS.has(lower)) amz.set(lower, value);
  }
  return amz;
}

// ---------------------------------------------------------------------------------------------
// SigV4, verified as S3 does: canonical request over the headers actually received

/** RFC 3986 encoding as SigV4 wants it: everything but `A-Za-z0-9-_.~`. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3 signs the path of the decoded key re-encoded per segment (no normalisation of `//` or `.`). */
function canonicalUri(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => uriEncode(decodeComponent(segment)))
    .join('/');
}

function canonicalHeaderValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

function canonicalRequest(
  req: IncomingMessage,
  target: Target,
  signedHeaders: readonly string[],
  payloadHash: string,
): string {
  const query = target.params
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headers = signedHeaders.map((name) => `${name}:${canonicalHeaderValue(req.headers[name])}\n`).join('');
  return [req.method, canonicalUri(target.rawPath), query, headers, signedHeaders.join(';'), payloadHash].join('\n');
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');

/** `yyyyMMdd'T'HHmmss'Z'` → epoch ms, NaN when malformed. */
function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

interface Signature {
  readonly credential: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  readonly payloadHash: string;
}

/** Who holds an access key: its secret, and the session it belongs to unless it is the root key. */
interface Signer {
  readonly secretAccessKey: string;
  readonly session?: LocalSession;
}

/** A verified signature and its signer's session, if any. */
interface Authenticated extends Signature {
  readonly session: LocalSession | undefined;
}

/** The signer of an access key, or the refusal S3 sends for it (unknown key, bad or expired token). */
type SignerOf = (accessKeyId: string) => Signer;

const invalidAccessKeyId = (accessKeyId: string) =>
  new S3Failure('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403, {
    AWSAccessKeyId: accessKeyId,
  });

/**
 * Checks a parsed signature against the signer's secret. `malformed` builds the error S3 uses for
 * a bad scope: `AuthorizationQueryParametersError` (presigned) or `AuthorizationHeaderMalformed`.
 */
function verifySignature(
  req: IncomingMessage,
  target: Target,
  sig: Signature,
  signerOf: SignerOf,
  malformed: (message: string) => S3Failure,
): Authenticated {
  const scope = sig.credential.split('/');
  const [accessKeyId, date, region, service, terminator] = scope;
  if (scope.length !== 5 || terminator !== 'aws4_request') {
    throw malformed(`Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const signer = signerOf(accessKeyId ?? '');
  if (date !== sig.amzDate.slice(0, 8)) {
    throw malformed(`Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${sig.amzDate.slice(0, 8)}".`);
  }
  if (region !== REGION) {
    throw malformed(`Error parsing the X-Amz-Credential parameter; the region '${region}' is wrong; expecting '${REGION}'`);
  }
  if (service !== 's3') {
    throw malformed(`Error parsing the X-Amz-Credential parameter; incorrect service "${service}". This endpoint belongs to "s3".`);
  }
  if (!sig.signedHeaders.includes('host')) {
    throw new S3Failure('AccessDenied', 'There were headers present in the request which were not signed', 403, {
      HeadersNotSigned: 'host',
    });
  }
  // S3 refuses any x-amz-* header the signature does not cover: it could change the request.
  const unsigned = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') && !sig.signedHeaders.includes(h));
  if (unsigned.length > 0) {
    throw new S3Failure('AccessDenied', 'There were headers present in the request which were not signed', 403, {
      HeadersNotSigned: unsigned.join(', '),
    });
  }

  const canonical = canonicalRequest(req, target, sig.signedHeaders, sig.payloadHash);
  const stringToSign = ['AWS4-HMAC-SHA256', sig.amzDate, scope.slice(1).join('/'), sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${signer.secretAccessKey}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'));
  const provided = Buffer.from(sig.signature);
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) {
    const bytes = (s: string) => Buffer.from(s).toString('hex').replace(/(..)(?!$)/g, '$1 ');
    throw new S3Failure(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      403,
      {
        AWSAccessKeyId: accessKeyId ?? '',
        StringToSign: stringToSign,
        SignatureProvided: sig.signature,
        StringToSignBytes: bytes(stringToSign),
        CanonicalRequest: canonical,
        CanonicalRequestBytes: bytes(canonical),
      },
    );
  }
  return { ...sig, session: signer.session };
}

/** A presigned (query-signed) request: expiry first, then the signature, as S3 answers. */
function authenticatePresigned(req: IncomingMessage, target: Target, signerOf: SignerOf, now: number): Authenticated {
  const q = target.query;
  const fail = (message: string) => new S3Failure('AuthorizationQueryParametersError', message, 400);
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw fail('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const credential = q.get('X-Amz-Credential');
  const signature = q.get('X-Amz-Signature');
  const amzDate = q.get('X-Amz-Date');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const expires = q.get('X-Amz-Expires');
  if (!credential || !signature || !amzDate || !signedHeaders || expires === undefined) {
    throw fail(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (req.headers.authorization !== undefined) {
    throw invalidArgument(
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      'Authorization',
      req.headers.authorization,
    );
  }
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt)) throw fail(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  if (!/^\d+$/.test(expires)) throw fail('X-Amz-Expires should be a number');
  const expiresIn = Number(expires);
  if (expiresIn > MAX_PRESIGN_SECONDS) {
    throw fail('X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds');
  }
  if (signedAt - now > MAX_SKEW_MS) throw new S3Failure('AccessDenied', 'Request is not valid yet', 403);
  if (now > signedAt + expiresIn * 1000) {
    throw new S3Failure('AccessDenied', 'Request has expired', 403, {
      'X-Amz-Expires': expires,
      Expires: isoSeconds(signedAt + expiresIn * 1000),
      ServerTime: isoSeconds(now),
    });
  }
  const sig: Signature = {
    credential,
    signature,
    amzDate,
    signedHeaders: signedHeaders.split(';'),
    payloadHash: q.get('X-Amz-Content-Sha256') ?? headerString(req, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD',
  };
  return verifySignature(req, target, sig, signerOf, fail);
}

/** A request signed in the `Authorization` header (the SDK's way). */
function authenticateHeader(req: IncomingMessage, target: Target, signerOf: SignerOf, now: number): Authenticated {
  const authorization = req.headers.authorization ?? '';
  if (!authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    throw new S3Failure(
      'InvalidRequest',
      'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      400,
    );
  }
  const fields = new Map(
    authorization
      .slice('AWS4-HMAC-SHA256 '.length)
      .split(',')
      .map((field): [string, string] => {
        const eq = field.indexOf('=');
        return [field.slice(0, eq).trim(), field.slice(eq + 1).trim()];
      }),
  );
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new S3Failure(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
      400,
    );
  }
  const amzDate = headerString(req, 'x-amz-date');
  if (amzDate === undefined || Number.isNaN(parseAmzDate(amzDate))) {
    throw new S3Failure('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header', 403);
  }
  const payloadHash = headerString(req, 'x-amz-content-sha256');
  if (payloadHash === undefined) {
    throw new S3Failure('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', 400);
  }
  if (!/^(UNSIGNED-PAYLOAD|STREAMING-[A-Z0-9-]+|[0-9a-f]{64})$/.test(payloadHash)) {
    throw invalidArgument(
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.',
      'x-amz-content-sha256',
      payloadHash,
    );
  }
  const signedAt = parseAmzDate(amzDate);
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
    throw new S3Failure('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', 403, {
      RequestTime: amzDate,
      ServerTime: isoSeconds(now),
      MaxAllowedSkewMilliseconds: MAX_SKEW_MS,
    });
  }
  const sig: Signature = { credential, signature, amzDate, signedHeaders: signedHeaders.split(';'), payloadHash };
  return verifySignature(req, target, sig, signerOf, (message) =>
    new S3Failure('AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`, 400),
  );
}

function headerString(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

// ---------------------------------------------------------------------------------------------
// XML

type XmlValue = string | number | boolean | undefined | XmlElement | XmlValue[];
interface XmlElement {
  readonly [name: string]: XmlValue;
}

const escapeXml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

function xmlElement(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => xmlElement(name, v)).join('');
  if (typeof value === 'object') return `<${name}>${xmlChildren(value)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function xmlChildren(element: XmlElement): string {
  return Object.entries(element)
    .map(([name, value]) => xmlElement(name, value))
    .join('');
}

function xmlDocument(root: string, body: XmlElement, namespace = true): string {
  const attrs = namespace ? ` xmlns="${S3_NS}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${attrs}>${xmlChildren(body)}</${root}>`;
}

const decodeXmlText = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|quot|amp|lt|gt|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };
    if (e[0] !== '#') return named[e.toLowerCase()]!;
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });

// ---------------------------------------------------------------------------------------------
// Keys: S3 lists in UTF-8 byte order; events and `encoding-type=url` use form encoding

/** UTF-8 byte order, i.e. code point order (UTF-16 code unit order differs above U+D7FF). */
function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // A surrogate starts a code point above U+FFFF: it sorts after every BMP character.
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** How S3 writes a key into an event (`white space` → `white+space`, `/` kept). */
const formEncodeKey = (key: string) =>
  key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');

const encodeKeyPath = (key: string) => key.split('/').map(uriEncode).join('/');

// ---------------------------------------------------------------------------------------------
// Bodies: streamed to a temporary file while hashing; aws-chunked decoded on the way

interface ChecksumDigest {
  update(chunk: Buffer): void;
  /** Base64, as in `x-amz-checksum-*`. */
  digest(): string;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

const u32Base64 = (value: number) => {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(value >>> 0);
  return buf.toString('base64');
};

/** Undefined for CRC64NVME: accepted without verification locally. */
function checksumDigest(algorithm: ChecksumAlgorithm): ChecksumDigest | undefined {
  switch (algorithm) {
    case 'crc32': {
      let crc = 0;
      return { update: (chunk) => void (crc = crc32(chunk, crc)), digest: () => u32Base64(crc) };
    }
    case 'crc32c': {
      let crc = 0xffffffff;
      return {
        update(chunk) {
          for (let i = 0; i < chunk.length; i++) crc = CRC32C_TABLE[(crc ^ chunk[i]!) & 0xff]! ^ (crc >>> 8);
        },
        digest: () => u32Base64(crc ^ 0xffffffff),
      };
    }
    case 'sha1':
    case 'sha256': {
      const hash = createHash(algorithm);
      return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest('base64') };
    }
    case 'crc64nvme':
      return undefined;
  }
}

/**
 * Decodes `Content-Encoding: aws-chunked` (the SDK's default for streamed uploads with flexible
 * checksums): `<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailers>\r\n\r\n`. s3rver
 * stored these framing bytes inside the object; S3 strips them and checks the trailing checksum.
 */
class AwsChunkedDecoder extends Transform {
  /** Trailing headers (e.g. `x-amz-checksum-crc32`), lower-cased names. */
  readonly trailers = new Map<string, string>();
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line = '';
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, chunk.length - i);
        this.push(chunk.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-end';
      } else if (this.state === 'data-end') {
        if (chunk[i++] === 0x0a) this.state = 'size'; // skip the CRLF that closes a chunk
      } else if (this.state === 'done') {
        break;
      } else {
        const lf = chunk.indexOf(0x0a, i);
        this.line += chunk.toString('latin1', i, lf < 0 ? chunk.length : lf);
        if (this.line.length > 64 * 1024) return callback(incompleteBody());
        if (lf < 0) break;
        i = lf + 1;
        const line = this.line.replace(/\r$/, '');
        this.line = '';
        const error = this.onLine(line);
        if (error) return callback(error);
      }
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(this.state === 'done' || this.state === 'trailer' ? undefined : incompleteBody());
  }

  private onLine(line: string): S3Failure | undefined {
    if (this.state === 'trailer') {
      if (line === '') this.state = 'done';
      else {
        const colon = line.indexOf(':');
        if (colon > 0) this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      return undefined;
    }
    const size = /^[0-9a-f]+/i.exec(line);
    if (!size) return new S3Failure('InvalidRequest', 'Invalid chunked encoding', 400);
    this.remaining = parseInt(size[0], 16);
    this.state = this.remaining === 0 ? 'trailer' : 'data';
    return undefined;
  }
}

const incompleteBody = () =>
  new S3Failure('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header', 400);

/** What a streamed body turned out to be. */
interface Received {
  readonly size: number;
  readonly md5: Buffer;
  /** Checksums the client sent and we verified, for the response headers. */
  readonly checksums: ReadonlyMap<ChecksumAlgorithm, string>;
}

async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => undefined);
}

/**
 * Streams the request body into `temp`, checking what S3 checks: declared length, Content-MD5,
 * the signed payload hash, `x-amz-checksum-*`. On any refusal `temp` is gone.
 */
async function receiveBody(ctx: Context, temp: string): Promise<Received> {
  const { req, amz } = ctx;
  const encodings = (headerString(req, 'content-encoding') ?? '').split(',').map((e) => e.trim());
  const chunked = encodings.includes('aws-chunked') || (ctx.payloadHash?.startsWith('STREAMING-') ?? false);
  // aws-chunked bodies may come with Transfer-Encoding: chunked; their real size is declared apart.
  const declaredHeader = chunked ? amz.get('x-amz-decoded-content-length') : headerString(req, 'content-length');
  const declared = declaredHeader === undefined || !/^\d+$/.test(declaredHeader) ? NaN : Number(declaredHeader);
  if (!Number.isSafeInteger(declared)) {
    throw new S3Failure('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411);
  }
  if (declared > MAX_OBJECT_BYTES) {
    throw new S3Failure('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400, {
      ProposedSize: declared,
      MaxSizeAllowed: MAX_OBJECT_BYTES,
    });
  }

  const trailerNames = (headerString(req, 'x-amz-trailer') ?? '').split(',').map((t) => t.trim().toLowerCase());
  const algorithms = CHECKSUM_ALGORITHMS.filter(
    (a) => amz.has(`x-amz-checksum-${a}`) || trailerNames.includes(`x-amz-checksum-${a}`),
  );
  const digests = algorithms.map((a) => [a, checksumDigest(a)] as const);
  // MD5 (every body) runs in a worker thread: parallel parts hash in parallel (see md5-pool.ts).
  const md5 = md5Job();
  const sha256 = ctx.payloadHash && /^[0-9a-f]{64}$/.test(ctx.payloadHash) ? createHash('sha256') : undefined;
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sha256?.update(chunk);
      for (const [, digest] of digests) digest?.update(chunk);
      size += chunk.length;
      // Only an aws-chunked body can outgrow its declared size: stop it before it fills the disk.
      if (size > declared) return callback(incompleteBody());
      md5.update(chunk).then(
        () => callback(null, chunk),
        (err: unknown) => callback(err as Error),
      );
    },
  });
  // A large buffer lets the file stream batch the socket's 64 KiB reads into few writev calls.
  const file = createWriteStream(temp, { highWaterMark: 4 * MiB });
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;
  try {
    await (decoder ? pipeline(req, decoder, meter, file) : pipeline(req, meter, file));
  } catch (err) {
    md5.drop();
    await removeQuietly(temp);
    // A file-system error is ours (or an aborted upload's directory gone); anything else means
    // the client stopped sending.
    const local = typeof err === 'object' && err !== null && 'syscall' in err;
    throw err instanceof S3Failure || local ? err : incompleteBody();
  }

  const refuse = async (failure: S3Failure): Promise<never> => {
    await removeQuietly(temp);
    throw failure;
  };
  if (size !== declared) {
    md5.drop();
    await refuse(incompleteBody());
  }
  let md5Digest: Buffer;
  try {
    md5Digest = await md5.digest();
  } catch (err) {
    return refuse(err as S3Failure);
  }
  const contentMd5 = headerString(req, 'content-md5');
  if (contentMd5 !== undefined && contentMd5 !== md5Digest.toString('base64')) {
    await refuse(
      new S3Failure('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400, {
        ExpectedDigest: contentMd5,
        CalculatedDigest: md5Digest.toString('base64'),
      }),
    );
  }
  if (sha256) {
    const computed = sha256.digest('hex');
    if (computed !== ctx.payloadHash) {
      await refuse(
        new S3Failure('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", 400, {
          ClientComputedContentSHA256: ctx.payloadHash ?? '',
          S3ComputedContentSHA256: computed,
        }),
      );
    }
  }
  const checksums = new Map<ChecksumAlgorithm, string>();
  for (const [algorithm, digest] of digests) {
    const name = `x-amz-checksum-${algorithm}`;
    const expected = amz.get(name) ?? decoder?.trailers.get(name);
    if (expected === undefined) continue;
    if (digest && digest.digest() !== expected) {
      await refuse(
        new S3Failure('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`, 400),
      );
    }
    checksums.set(algorithm, expected);
  }
  return { size, md5: md5Digest, checksums };
}

/** Reads a small body (CompleteMultipartUpload XML); S3's own cap is a few MiB. */
async function readSmallBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new S3Failure('MaxMessageLengthExceeded', 'Your request was too big.', 400);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Listing helpers

interface StoredPart {
  readonly number: number;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
  readonly file: string;
}

interface OpenUpload {
  readonly uploadId: string;
  readonly dir: string;
  readonly key: string;
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function parseIntegerParam(query: ReadonlyMap<string, string>, name: string, fallback: number): number {
  const value = query.get(name);
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) > 2147483647) {
    throw invalidArgument(`Provided ${name} not an integer or within integer range`, name, value);
  }
  return Number(value);
}

/** Entries of a listing after delimiter grouping, in S3 order, one page long. */
function page<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  opts: {
    prefix: string;
    delimiter: string | undefined;
    /** Whether an item comes after the marker (the previous page). */
    after: (item: T) => boolean;
    /** The marker itself: a common prefix up to it was on a previous page. */
    marker: string;
    max: number;
  },
): { items: T[]; prefixes: string[]; truncated: boolean; last: string | undefined } {
  const out: T[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  let truncated = false;
  const { prefix, delimiter, after, marker, max } = opts;
  // Nothing to page through: a token would have no position to resume from.
  if (max === 0) return { items: out, prefixes, truncated: false, last };
  for (const item of items) {
    if (!after(item)) continue;
    const key = keyOf(item);
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const common = cut < 0 ? undefined : key.slice(0, cut + delimiter!.length);
    // A common prefix is one entry, returned once: skip it if this or a previous page had it.
    if (common !== undefined && compareKeys(common, last ?? marker) <= 0) continue;
    if (out.length + prefixes.length >= max) {
      truncated = true;
      break;
    }
    if (common !== undefined) prefixes.push(common);
    else out.push(item);
    last = common ?? key;
  }
  return { items: out, prefixes, truncated, last };
}

// ---------------------------------------------------------------------------------------------
// The layer

class S3Layer {
  private readonly store: FilesystemStore;
  private readonly passThrough: (req: IncomingMessage, res: ServerResponse) => unknown;
  private sequence = 0;
  /** The last write in flight per `bucket/key` (see {@link S3Layer.exclusively}). */
  private readonly keyLocks = new Map<string, Promise<void>>();

  constructor(
    app: S3rverApp,
    private readonly credentials: Credentials,
    private readonly sessions: LocalSessions | undefined,
    private readonly events: EventEmitter<LocalS3Events>,
    private readonly minPartSize: number,
  ) {
    this.store = app.store;
    this.passThrough = app.callback();
    // What s3rver still creates (Copy, form POST) is normalised into a real S3Event.
    app.on('event', (event) => {
      for (const record of event.Records) {
        if (!record.eventName.startsWith('ObjectCreated:')) continue;
        this.relayS3rverRecord(record).catch((err: unknown) => console.error('[local-s3] event not relayed', err));
      }
    });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    let target: Target | undefined;
    try {
      target = parseTarget(req.url ?? '/');
      if (req.method === 'OPTIONS') return await this.preflight(req, res, target, requestId);
      const now = Date.now();
      const signerOf = this.signerOf(req, target, now);
      const sig = target.query.has('X-Amz-Algorithm')
        ? authenticatePresigned(req, target, signerOf, now)
        : req.headers.authorization !== undefined
          ? authenticateHeader(req, target, signerOf, now)
          : undefined;
      if (sig?.session) authorize(sig.session, req, target);
      const ctx: Context = {
        req,
        res,
        target,
        requestId,
        amz: amzValues(req.headers, target),
        payloadHash: sig?.payloadHash,
        accessKeyId: sig?.credential.split('/')[0],
      };
      const route = this.route(ctx);
      if (route) return await route.call(this, ctx);
      if ((req.method === 'GET' || req.method === 'HEAD') && target.key !== undefined && !hasSubresource(target)) {
        await this.normaliseRange(req, target.bucket!, target.key);
      }
      if (sig?.session) s3rverAccount.DUMMY_ACCOUNT.createKeyPair(sig.session.accessKeyId, sig.session.secretAccessKey);
      this.passThrough(req, res);
    } catch (err) {
      // Nothing may escape: `handle` runs detached from the server, a rejection would end the process.
      await this.fail(req, res, target?.bucket, requestId, err).catch(() => res.destroy());
    }
  }

  /** The root key, or a session's key with its token as S3 checks it (see the header comment). */
  private signerOf(req: IncomingMessage, target: Target, now: number): SignerOf {
    return (accessKeyId) => {
      if (accessKeyId === this.credentials.accessKeyId) return { secretAccessKey: this.credentials.secretAccessKey };
      const session = this.sessions?.find(accessKeyId);
      const token = target.query.get('X-Amz-Security-Token') ?? headerString(req, 'x-amz-security-token');
      // Temporary credentials without their token are an unknown key to S3.
      if (!session || token === undefined) throw invalidAccessKeyId(accessKeyId);
      if (token !== session.sessionToken) {
        throw new S3Failure('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400, { 'Token-0': token });
      }
      if (now >= session.expiresAt.getTime()) {
        throw new S3Failure('ExpiredToken', 'The provided token has expired.', 400, { 'Token-0': token });
      }
      return { secretAccessKey: session.secretAccessKey, session };
    };
  }

  private route(ctx: Context): ((ctx: Context) => Promise<void>) | undefined {
    const { target } = ctx;
    const method = ctx.req.method;
    if (target.bucket === undefined) return undefined;
    if (target.key === undefined) {
      if (method !== 'GET') return undefined;
      if (target.query.has('uploads') && !target.params.some(([n]) => n !== 'uploads' && SUBRESOURCES.has(n))) {
        return this.listMultipartUploads;
      }
      return hasSubresource(target) ? undefined : this.listObjects;
    }
    if (target.query.has('uploadId')) {
      if (method === 'PUT' && ctx.req.headers['x-amz-copy-source'] === undefined) return this.uploadPart;
      if (method === 'GET') return this.listParts;
      if (method === 'DELETE') return this.abortUpload;
      if (method === 'POST') return this.completeUpload;
      return undefined;
    }
    if (method === 'PUT' && !hasSubresource(target) && ctx.req.headers['x-amz-copy-source'] === undefined) {
      return this.putObject;
    }
    return undefined;
  }

  // -- responses ---------------------------------------------------------------------------

  /** CORS headers of an actual (non-preflight) request, as S3 adds them when a rule matches. */
  private async corsHeaders(req: IncomingMessage, bucket: string | undefined): Promise<Record<string, string>> {
    const origin = headerString(req, 'origin');
    if (origin === undefined || bucket === undefined) return {};
    const config = await this.store.getSubresource(bucket, undefined, 'cors').catch(() => null);
    const rule = config?.matchRule(origin, req.method ?? 'GET');
    return rule ? corsResponseHeaders(rule, origin) : {};
  }

  private async send(
    ctx: Context,
    status: number,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<void> {
    const cors = await this.corsHeaders(ctx.req, ctx.target.bucket);
    ctx.res.writeHead(status, {
      ...cors,
      'x-amz-request-id': ctx.requestId,
      'x-amz-id-2': hostId(),
      ...(body === undefined
        ? status === 204
          ? {}
          : { 'Content-Length': '0' }
        : { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(body)) }),
      ...headers,
    });
    ctx.res.end(body);
  }

  private async fail(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string | undefined,
    requestId: string,
    err: unknown,
  ): Promise<void> {
    // A 500 is a fault of the stand-in (or of the disk): worth a line even when silent.
    if (!(err instanceof S3Failure) && !clientWentAway(err)) console.error('[local-s3]', err);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const failure =
      err instanceof S3Failure ? err : new S3Failure('InternalError', 'We encountered an internal error. Please try again.', 500);
    const body = xmlDocument(
      'Error',
      { Code: failure.code, Message: failure.message, ...failure.detail, RequestId: requestId, HostId: hostId() },
      false,
    );
    const cors = req.method === 'OPTIONS' ? {} : await this.corsHeaders(req, bucket).catch(() => ({}));
    res.writeHead(failure.status, {
      ...cors,
      'Content-Type': 'application/xml',
      'Content-Length': String(Buffer.byteLength(body)),
      'x-amz-request-id': requestId,
    });
    // An unread request body is drained by Node so the connection stays usable, as with S3.
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // -- CORS preflight -----------------------------------------------------------------------

  private async preflight(req: IncomingMessage, res: ServerResponse, target: Target, requestId: string): Promise<void> {
    const origin = headerString(req, 'origin');
    const method = headerString(req, 'access-control-request-method');
    if (origin === undefined) throw corsRefused('Insufficient information. Origin request header needed.');
    if (method === undefined) throw corsRefused('Invalid Access-Control-Request-Method: null');
    const config =
      target.bucket === undefined ? null : await this.store.getSubresource(target.bucket, undefined, 'cors').catch(() => null);
    if (!config) throw corsRefused('CORS is not enabled for this bucket.');
    const requested = (headerString(req, 'access-control-request-headers') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    const rule = config.matchRule(origin, method);
    if (!rule || !requested.every((h) => rule.allowedHeaders.some((pattern) => pattern.test(h)))) {
      throw corsRefused(
        "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      );
    }
    res.writeHead(200, {
      ...corsResponseHeaders(rule, origin),
      'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
      ...(requested.length > 0 ? { 'Access-Control-Allow-Headers': requested.join(', ') } : {}),
      'x-amz-request-id': requestId,
      'Content-Length': '0',
    });
    res.end();
  }

  // -- objects ------------------------------------------------------------------------------

  private async requireBucket(bucket: string): Promise<void> {
    if (!(await this.store.getBucket(bucket))) throw noSuchBucket(bucket);
  }

  private async putObject(ctx: Context): Promise<void> {
    const bucket = ctx.target.bucket!;
    const key = ctx.target.key!;
    await this.requireBucket(bucket);
    if (Buffer.byteLength(key) > 1024) {
      throw new S3Failure('KeyTooLongError', 'Your key is too long', 400, { Size: Buffer.byteLength(key), MaxSizeAllowed: 1024 });
    }
    const objectPath = this.store.getResourcePath(bucket, key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    const temp = temporaryBeside(objectPath);
    const received = await receiveBody(ctx, temp);
    const etag = received.md5.toString('hex');
    try {
      // Serialised per key, so a conditional write's check and its write are one step (as on S3).
      await this.exclusively(`${bucket}/${key}`, async () => {
        await this.checkWriteConditions(ctx, bucket, key);
        await this.store.putMetadata(bucket, key, objectMetadata(ctx), etag);
        await rename(temp, objectPath);
      });
    } catch (err) {
      await removeQuietly(temp);
      throw err;
    }
    // A part-backed object it replaces: its manifest no longer matches the new file, drop the parts.
    await rm(this.store.getResourcePath(bucket, key, PARTS_RESOURCE), { recursive: true, force: true });
    this.emitCreated(ctx, 'ObjectCreated:Put', key, received.size, etag);
    await this.send(ctx, 200, { ETag: `"${etag}"`, ...checksumHeaders(received.checksums) });
  }

  /**
   * S3's conditional writes: `If-None-Match: *` only creates (412 if the key exists), `If-Match:
   * "<etag>"` only replaces that version (412 if it changed, 404 NoSuchKey if there is none).
   */
  private async checkWriteConditions(ctx: Context, bucket: string, key: string): Promise<void> {
    const ifMatch = headerString(ctx.req, 'if-match');
    const ifNoneMatch = headerString(ctx.req, 'if-none-match');
    if (ifMatch === undefined && ifNoneMatch === undefined) return;
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
      throw new S3Failure('NotImplemented', 'If-None-Match on a write supports only *', 501, { Header: 'If-None-Match' });
    }
    const current = await this.store.getMetadata(bucket, key).then(
      (metadata) => metadata.etag,
      (err: unknown) => {
        if (isErrno(err, 'ENOENT')) return undefined;
        throw err;
      },
    );
    const precondition = (condition: string) =>
      new S3Failure('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, { Condition: condition });
    if (ifNoneMatch !== undefined && current !== undefined) throw precondition('If-None-Match');
    if (ifMatch !== undefined) {
      if (current === undefined) throw new S3Failure('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
      const bare = (tag: string) => tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
      const wanted = ifMatch.split(',').map(bare);
      if (!wanted.includes('*') && !wanted.includes(bare(current))) throw precondition('If-Match');
    }
  }

  /** Runs `work` after every earlier `work` of the same `name` has settled. */
  private exclusively<T>(name: string, work: () => Promise<T>): Promise<T> {
    const before = this.keyLocks.get(name) ?? Promise.resolve();
    const run = before.then(work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.keyLocks.set(name, settled);
    void settled.then(() => {
      if (this.keyLocks.get(name) === settled) this.keyLocks.delete(name);
    });
    return run;
  }

  /** `Range: bytes=-N` means the last N bytes; s3rver served the first N+1. */
  private async normaliseRange(req: IncomingMessage, bucket: string, key: string): Promise<void> {
    const range = headerString(req, 'range');
    if (range === undefined) return;
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    // S3 serves single ranges only; anything else (several ranges, nonsense) gets the whole object.
    if (!m || (m[1] === '' && m[2] === '') || (m[1] !== '' && m[2] !== '' && Number(m[2]) < Number(m[1]))) {
      delete req.headers.range;
      return;
    }
    if (m[1] !== '') return;
    let size: number;
    try {
      size = Number((await this.store.getMetadata(bucket, key))['content-length']);
    } catch {
      return; // missing object: s3rver answers NoSuchKey
    }
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) {
      throw new S3Failure('InvalidRange', 'The requested range is not satisfiable', 416, {
        RangeRequested: range,
        ActualObjectSize: size,
      });
    }
    req.headers.range = `bytes=${Math.max(0, size - suffix)}-${size - 1}`;
  }

  // -- multipart ----------------------------------------------------------------------------

  private uploadDir(bucket: string, uploadId: string): string {
    return path.join(this.store.getBucketPath(bucket), UPLOADS_DIR, uploadId);
  }

  /** The upload named by `uploadId`, which must exist and belong to this key (else NoSuchUpload). */
  private async openUpload(ctx: Context): Promise<OpenUpload> {
    const bucket = ctx.target.bucket!;
    const uploadId = ctx.target.query.get('uploadId') ?? '';
    await this.requireBucket(bucket);
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(uploadId)) throw noSuchUpload(uploadId);
    const dir = this.uploadDir(bucket, uploadId);
    let key: string;
    try {
      key = await readFile(path.join(dir, 'key'), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw noSuchUpload(uploadId);
      throw err;
    }
    if (key !== ctx.target.key) throw noSuchUpload(uploadId);
    return { uploadId, dir, key };
  }

  private async readParts(dir: string): Promise<StoredPart[]> {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
    const parts = await Promise.all(
      names.map(async (name): Promise<StoredPart | undefined> => {
        const file = path.join(dir, name);
        try {
          const [info, etag] = await Promise.all([stat(file), readFile(`${file}.md5`, 'utf8')]);
          return { number: Number(name), size: info.size, etag: etag.trim(), lastModified: info.mtime, file };
        } catch {
          return undefined; // removed meanwhile (abort, complete)
        }
      }),
    );
    return parts.filter((p): p is StoredPart => p !== undefined).sort((a, b) => a.number - b.number);
  }

  private async uploadPart(ctx: Context): Promise<void> {
    const rawNumber = ctx.target.query.get('partNumber') ?? '';
    const partNumber = /^\d+$/.test(rawNumber) ? Number(rawNumber) : NaN;
    if (!(partNumber >= 1 && partNumber <= 10000)) {
      throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', rawNumber);
    }
    const upload = await this.openUpload(ctx);
    const partPath = path.join(upload.dir, String(partNumber));
    const temp = temporaryBeside(partPath);
    let received: Received;
    try {
      received = await receiveBody(ctx, temp);
    } catch (err) {
      // Aborted or completed while the body streamed in: the directory is gone.
      if (isErrno(err, 'ENOENT')) throw noSuchUpload(upload.uploadId);
      throw err;
    }
    const etag = received.md5.toString('hex');
    try {
      await writeFile(`${partPath}.md5`, etag);
      await rename(temp, partPath);
    } catch (err) {
      await removeQuietly(temp);
      if (isErrno(err, 'ENOENT')) throw noSuchUpload(upload.uploadId);
      throw err;
    }
    await this.send(ctx, 200, { ETag: `"${etag}"`, ...checksumHeaders(received.checksums) });
  }

  private async listParts(ctx: Context): Promise<void> {
    const upload = await this.openUpload(ctx);
    const maxParts = Math.min(1000, parseIntegerParam(ctx.target.query, 'max-parts', 1000));
    const marker = parseIntegerParam(ctx.target.query, 'part-number-marker', 0);
    const after = (await this.readParts(upload.dir)).filter((p) => p.number > marker);
    const parts = after.slice(0, maxParts);
    await this.send(
      ctx,
      200,
      {},
      xmlDocument('ListPartsResult', {
        Bucket: ctx.target.bucket,
        Key: upload.key,
        UploadId: upload.uploadId,
        Initiator: OWNER,
        Owner: OWNER,
        StorageClass: 'STANDARD',
        PartNumberMarker: marker,
        NextPartNumberMarker: parts.at(-1)?.number ?? marker,
        MaxParts: maxParts,
        IsTruncated: after.length > parts.length,
        Part: parts.map((p) => ({
          PartNumber: p.number,
          LastModified: p.lastModified.toISOString(),
          ETag: `"${p.etag}"`,
          Size: p.size,
        })),
      }),
    );
  }

  private async abortUpload(ctx: Context): Promise<void> {
    const upload = await this.openUpload(ctx);
    await rm(upload.dir, { recursive: true, force: true });
    await this.send(ctx, 204);
  }

  private async completeUpload(ctx: Context): Promise<void> {
    const bucket = ctx.target.bucket!;
    const upload = await this.openUpload(ctx);
    const requested = parseCompleteRequest(await readSmallBody(ctx.req, 4 * MiB));
    for (let i = 1; i < requested.length; i++) {
      if (requested[i]!.number <= requested[i - 1]!.number) {
        throw new S3Failure(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
          400,
          { UploadId: upload.uploadId },
        );
      }
    }
    const stored = new Map((await this.readParts(upload.dir)).map((p) => [p.number, p]));
    const parts = requested.map((r, i) => {
      const part = stored.get(r.number);
      if (!part || part.etag !== r.etag) {
        throw new S3Failure(
          'InvalidPart',
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          400,
          { UploadId: upload.uploadId, PartNumber: r.number, ETag: r.etag },
        );
      }
      if (i < requested.length - 1 && part.size < this.minPartSize) {
        throw new S3Failure('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', 400, {
          ProposedSize: part.size,
          MinSizeAllowed: this.minPartSize,
          PartNumber: r.number,
          ETag: r.etag,
        });
      }
      return part;
    });

    // No bytes are copied: the upload's directory becomes the object's parts (see
    // servePartBackedObjects) and the object file is a sparse placeholder of the object's size.
    const objectPath = this.store.getResourcePath(bucket, upload.key, 'object');
    const partsDir = this.store.getResourcePath(bucket, upload.key, PARTS_RESOURCE);
    await mkdir(path.dirname(objectPath), { recursive: true });
    const size = parts.reduce((total, p) => total + p.size, 0);
    // S3's multipart ETag: MD5 of the concatenated binary part MD5s, then "-<part count>".
    const etag = `${createHash('md5')
      .update(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex'))))
      .digest('hex')}-${parts.length}`;
    const chosen = new Set(parts.map((p) => p.number));
    const suffix = randomBytes(6).toString('hex');
    const temp = `${objectPath}.${suffix}.tmp`;
    const trash = `${partsDir}.${suffix}.old`;
    let movedOld = false;
    let movedUpload = false;
    try {
      const metadata = JSON.parse(await readFile(path.join(upload.dir, 'metadata'), 'utf8')) as Record<string, unknown>;
      // Parts not named are discarded, as on S3.
      await Promise.all(
        [...stored.values()]
          .filter((p) => !chosen.has(p.number))
          .flatMap((p) => [removeQuietly(p.file), removeQuietly(`${p.file}.md5`)]),
      );
      await writeFile(temp, '');
      await truncate(temp, size);
      const manifest: PartsManifest = {
        ino: (await stat(temp)).ino,
        size,
        parts: parts.map((p) => ({ file: String(p.number), size: p.size })),
      };
      await writeFile(path.join(upload.dir, MANIFEST), JSON.stringify(manifest));
      movedOld = await rename(partsDir, trash).then(
        () => true,
        (err: unknown) => {
          if (isErrno(err, 'ENOENT')) return false;
          throw err;
        },
      );
      await rename(upload.dir, partsDir);
      movedUpload = true;
      await this.store.putMetadata(bucket, upload.key, metadata, etag);
      await rename(temp, objectPath);
    } catch (err) {
      await removeQuietly(temp);
      if (movedUpload) await rename(partsDir, upload.dir).catch(() => undefined);
      if (movedOld) await rename(trash, partsDir).catch(() => undefined);
      if (isErrno(err, 'ENOENT')) throw noSuchUpload(upload.uploadId);
      throw err;
    }
    if (movedOld) await rm(trash, { recursive: true, force: true }).catch(() => undefined);

    this.emitCreated(ctx, 'ObjectCreated:CompleteMultipartUpload', upload.key, size, etag);
    const host = headerString(ctx.req, 'host') ?? '127.0.0.1';
    await this.send(
      ctx,
      200,
      {},
      xmlDocument('CompleteMultipartUploadResult', {
        Location: `http://${host}/${uriEncode(bucket)}/${encodeKeyPath(upload.key)}`,
        Bucket: bucket,
        Key: upload.key,
        ETag: `"${etag}"`,
      }),
    );
  }

  private async listMultipartUploads(ctx: Context): Promise<void> {
    const bucket = ctx.target.bucket!;
    await this.requireBucket(bucket);
    const q = ctx.target.query;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') || undefined;
    const keyMarker = q.get('key-marker') ?? '';
    const uploadIdMarker = q.get('upload-id-marker') ?? '';
    const maxUploads = Math.min(1000, parseIntegerParam(q, 'max-uploads', 1000));
    const root = path.join(this.store.getBucketPath(bucket), UPLOADS_DIR);
    const ids = await readdir(root).catch(() => [] as string[]);
    const uploads = (
      await Promise.all(
        ids.map(async (uploadId) => {
          const keyFile = path.join(root, uploadId, 'key');
          try {
            const [key, info] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
            return { key, uploadId, initiated: info.mtime };
          } catch {
            return undefined;
          }
        }),
      )
    )
      .filter((u): u is { key: string; uploadId: string; initiated: Date } => u !== undefined && u.key.startsWith(prefix))
      .sort((a, b) => compareKeys(a.key, b.key) || a.initiated.getTime() - b.initiated.getTime() || compareKeys(a.uploadId, b.uploadId));
    const result = page(uploads, (u) => u.key, {
      prefix,
      delimiter,
      max: maxUploads,
      marker: keyMarker,
      after: (u) =>
        keyMarker === '' ||
        compareKeys(u.key, keyMarker) > 0 ||
        (u.key === keyMarker && uploadIdMarker !== '' && compareKeys(u.uploadId, uploadIdMarker) > 0),
    });
    const lastUpload = result.items.at(-1);
    await this.send(
      ctx,
      200,
      {},
      xmlDocument('ListMultipartUploadsResult', {
        Bucket: bucket,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
        NextKeyMarker: result.truncated ? (result.last ?? '') : undefined,
        NextUploadIdMarker: result.truncated && lastUpload?.key === result.last ? lastUpload?.uploadId : undefined,
        Delimiter: delimiter,
        Prefix: prefix,
        MaxUploads: maxUploads,
        IsTruncated: result.truncated,
        Upload: result.items.map((u) => ({
          Key: u.key,
          UploadId: u.uploadId,
          Initiator: OWNER,
          Owner: OWNER,
          StorageClass: 'STANDARD',
          Initiated: u.initiated.toISOString(),
        })),
        CommonPrefixes: result.prefixes.map((p) => ({ Prefix: p })),
      }),
    );
  }

  // -- listing ------------------------------------------------------------------------------

  /** Every key under `prefix`, in S3 order (s3rver's depth-first walk put `a/b` before `a-c`). */
  private async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (dir: string, relative: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      await Promise.all(
        entries.map(async (entry) => {
          if (entry.isDirectory()) {
            if (relative === '' && entry.name === UPLOADS_DIR) return;
            if (entry.name.endsWith(PARTS_SUFFIX) || entry.name.includes(`${PARTS_SUFFIX}.`)) return;
            const sub = `${relative}${entry.name}/`;
            if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(path.join(dir, entry.name), sub);
          } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
            const key = relative + entry.name.slice(0, -OBJECT_SUFFIX.length);
            if (key.startsWith(prefix)) keys.push(key);
          }
        }),
      );
    };
    await walk(this.store.getBucketPath(bucket), '');
    return keys.sort(compareKeys);
  }

  /** ListObjects v1 and v2, with opaque continuation tokens (s3rver's used DES: 500 on OpenSSL 3). */
  private async listObjects(ctx: Context): Promise<void> {
    const bucket = ctx.target.bucket!;
    await this.requireBucket(bucket);
    const q = ctx.target.query;
    const v2 = q.get('list-type') === '2';
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') || undefined;
    const maxKeys = parseIntegerParam(q, 'max-keys', 1000);
    const encodingType = q.get('encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') {
      throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encodingType);
    }
    const token = q.get('continuation-token');
    if (!v2 && token !== undefined) {
      throw invalidArgument('continuation-token only supported in REST.GET.BUCKET with list-type=2', 'continuation-token', token);
    }
    const after = v2 ? (token !== undefined ? decodeContinuationToken(token, bucket) : (q.get('start-after') ?? '')) : (q.get('marker') ?? '');

    const keys = await this.listKeys(bucket, prefix);
    const result = page(keys, (k) => k, {
      prefix,
      delimiter,
      max: Math.min(1000, maxKeys),
      marker: after,
      after: (k) => compareKeys(k, after) > 0,
    });
    const metadata = await Promise.all(result.items.map((k) => this.store.getMetadata(bucket, k).catch(() => undefined)));
    const enc = (s: string | undefined) => (s === undefined || encodingType !== 'url' ? s : formEncodeKey(s));
    const contents = result.items.flatMap((key, i) => {
      const meta = metadata[i];
      if (!meta) return []; // deleted while listing
      return [
        {
          Key: enc(key),
          LastModified: new Date(meta['last-modified']).toISOString(),
          ETag: meta.etag,
          Size: Number(meta['content-length']),
          Owner: !v2 || q.get('fetch-owner') === 'true' ? OWNER : undefined,
          StorageClass: 'STANDARD',
        },
      ];
    });
    const common = {
      Name: bucket,
      Prefix: enc(prefix),
      Delimiter: enc(delimiter),
      MaxKeys: maxKeys,
      EncodingType: encodingType,
      IsTruncated: result.truncated,
    };
    const body = v2
      ? {
          ...common,
          StartAfter: token === undefined ? enc(q.get('start-after')) : undefined,
          ContinuationToken: token,
          NextContinuationToken: result.truncated ? encodeContinuationToken(result.last!, bucket) : undefined,
          KeyCount: contents.length + result.prefixes.length,
        }
      : {
          ...common,
          Marker: enc(after),
          NextMarker: result.truncated && delimiter ? enc(result.last) : undefined,
        };
    await this.send(
      ctx,
      200,
      {},
      xmlDocument('ListBucketResult', {
        ...body,
        Contents: contents,
        CommonPrefixes: result.prefixes.map((p) => ({ Prefix: enc(p) })),
      }),
    );
  }

  // -- events -------------------------------------------------------------------------------

  private emitCreated(ctx: Context, eventName: string, key: string, size: number, etag: string): void {
    this.emit(
      this.record({
        eventName,
        bucket: ctx.target.bucket!,
        key,
        size,
        etag,
        sourceIp: ctx.req.socket.remoteAddress ?? '127.0.0.1',
        requestId: ctx.requestId,
        principalId: ctx.accessKeyId ? `AWS:${ctx.accessKeyId}` : 'Anonymous',
      }),
    );
  }

  private async relayS3rverRecord(raw: S3rverRecord): Promise<void> {
    const bucket = raw.s3.bucket.name;
    const key = raw.s3.object.key;
    // s3rver's Copy record has no eTag (and its size comes from stale metadata): read them back.
    const meta = await this.store.getMetadata(bucket, key).catch(() => undefined);
    if (!meta) return;
    this.emit(
      this.record({
        eventName: raw.eventName,
        bucket,
        key,
        size: Number(meta['content-length']),
        etag: (JSON.parse(meta.etag) as string).replace(/"/g, ''),
        sourceIp: raw.requestParameters.sourceIPAddress,
        requestId: randomBytes(8).toString('hex').toUpperCase(),
        principalId: `AWS:${this.credentials.accessKeyId}`,
      }),
    );
  }

  private record(r: {
    eventName: string;
    bucket: string;
    key: string;
    size: number;
    etag: string;
    sourceIp: string;
    requestId: string;
    principalId: string;
  }): S3EventRecord {
    // S3's sequencer orders events of one key: a hex number that only grows.
    const sequencer = (BigInt(Date.now()) * 1000n + BigInt(this.sequence++ % 1000)).toString(16).toUpperCase().padStart(18, '0');
    return {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: REGION,
      eventTime: new Date().toISOString(),
      eventName: r.eventName,
      userIdentity: { principalId: r.principalId },
      requestParameters: { sourceIPAddress: r.sourceIp.replace(/^::ffff:/, '') },
      responseElements: { 'x-amz-request-id': r.requestId, 'x-amz-id-2': hostId() },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'local-s3',
        bucket: { name: r.bucket, ownerIdentity: { principalId: OWNER.ID }, arn: `arn:aws:s3:::${r.bucket}` },
        object: { key: formEncodeKey(r.key), size: r.size, eTag: r.etag, sequencer },
      },
    };
  }

  private emit(record: S3EventRecord): void {
    try {
      this.events.emit('object-created', { Records: [record] });
    } catch (err) {
      // A failing subscriber must not fail the upload: on AWS, delivery is decoupled too.
      console.error('[local-s3] object-created listener failed', err);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Authorization of session requests

/** Refuses a session's request unless its role's policy allows every access it makes. */
function authorize(session: LocalSession, req: IncomingMessage, target: Target): void {
  const accesses = accessOf(req, target);
  if (!accesses || !accesses.every((access) => session.allows(access))) {
    throw new S3Failure('AccessDenied', 'Access Denied', 403);
  }
}

/**
 * The actions and resources S3 authorizes a request as (all must be allowed), for the requests the
 * product makes; undefined for any other request, which a session may not make.
 */
function accessOf(req: IncomingMessage, target: Target): AccessRequest[] | undefined {
  const { bucket, key, query } = target;
  if (bucket === undefined) return undefined;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const otherSubresource = (...allowed: string[]) => target.params.some(([name]) => SUBRESOURCES.has(name) && !allowed.includes(name));
  const method = req.method;
  if (key === undefined) {
    if (method === 'GET' && query.has('uploads') && !otherSubresource('uploads')) {
      return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }];
    }
    if (method === 'GET' && !hasSubresource(target)) {
      const context: Record<string, string> = { 's3:prefix': query.get('prefix') ?? '' };
      for (const name of ['delimiter', 'max-keys']) {
        const value = query.get(name);
        if (value !== undefined) context[`s3:${name}`] = value;
      }
      return [{ action: 's3:ListBucket', resource: bucketArn, context }];
    }
    // DeleteObjects names its keys in the body: only a right to delete every key covers it.
    if (method === 'POST' && query.has('delete') && !otherSubresource('delete')) {
      return [{ action: 's3:DeleteObject', resource: `${bucketArn}/*` }];
    }
    return undefined;
  }
  const objectArn = `${bucketArn}/${key}`;
  const copySource = headerString(req, 'x-amz-copy-source');
  if (query.has('uploadId') && !otherSubresource('uploadId')) {
    if (method === 'PUT' && copySource === undefined) return [{ action: 's3:PutObject', resource: objectArn }];
    if (method === 'POST') return [{ action: 's3:PutObject', resource: objectArn }];
    if (method === 'GET') return [{ action: 's3:ListMultipartUploadParts', resource: objectArn }];
    if (method === 'DELETE') return [{ action: 's3:AbortMultipartUpload', resource: objectArn }];
    return undefined;
  }
  if (method === 'POST' && query.has('uploads') && !otherSubresource('uploads')) return [{ action: 's3:PutObject', resource: objectArn }];
  if (hasSubresource(target)) return undefined;
  if (method === 'GET' || method === 'HEAD') return [{ action: 's3:GetObject', resource: objectArn }];
  if (method === 'DELETE') return [{ action: 's3:DeleteObject', resource: objectArn }];
  if (method === 'PUT' && copySource === undefined) return [{ action: 's3:PutObject', resource: objectArn }];
  if (method === 'PUT') {
    // `x-amz-copy-source: bucket/key[?versionId=…]`, URL-encoded, with or without a leading slash.
    const source = decodeComponent(copySource!.split('?')[0]!.replace(/^\//, ''));
    return [
      { action: 's3:PutObject', resource: objectArn },
      { action: 's3:GetObject', resource: `arn:aws:s3:::${source}` },
    ];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Small helpers of the layer

function corsResponseHeaders(rule: CorsRule, origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': rule.hasWildcardOrigin ? '*' : origin,
    ...(rule.hasWildcardOrigin ? {} : { 'Access-Control-Allow-Credentials': 'true' }),
    ...(rule.exposeHeaders.length > 0 ? { 'Access-Control-Expose-Headers': rule.exposeHeaders.join(', ') } : {}),
    ...(rule.maxAgeSeconds !== undefined ? { 'Access-Control-Max-Age': String(rule.maxAgeSeconds) } : {}),
    Vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
}

const hostId = () => randomBytes(24).toString('base64');

function checksumHeaders(checksums: ReadonlyMap<ChecksumAlgorithm, string>): Record<string, string> {
  return Object.fromEntries([...checksums].map(([algorithm, value]) => [`x-amz-checksum-${algorithm}`, value]));
}

/** Headers stored with an object: as sent, with presigned `x-amz-meta-*` query values applied. */
function objectMetadata(ctx: Context): Record<string, unknown> {
  const metadata: Record<string, unknown> = { ...ctx.req.headers, ...Object.fromEntries(ctx.amz) };
  // `aws-chunked` describes the transfer, not the object: S3 drops it.
  const encoding = (headerString(ctx.req, 'content-encoding') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e !== 'aws-chunked')
    .join(', ');
  if (encoding === '') delete metadata['content-encoding'];
  else metadata['content-encoding'] = encoding;
  return metadata;
}

function parseCompleteRequest(xml: string): { number: number; etag: string }[] {
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) throw malformedXml();
  const tag = (body: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(body)?.[1];
  const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => {
    const number = tag(m[1]!, 'PartNumber');
    const etag = tag(m[1]!, 'ETag');
    if (number === undefined || etag === undefined || !/^\s*\d+\s*$/.test(number)) throw malformedXml();
    return { number: Number(number), etag: decodeXmlText(etag).replace(/"/g, '').trim() };
  });
  if (parts.length === 0) throw malformedXml();
  return parts;
}

function encodeContinuationToken(after: string, bucket: string): string {
  return Buffer.from(JSON.stringify({ b: bucket, a: after })).toString('base64');
}

function decodeContinuationToken(token: string, bucket: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { b?: unknown; a?: unknown };
    if (parsed.b === bucket && typeof parsed.a === 'string') return parsed.a;
  } catch {
    // fall through: S3 answers the same for any token it did not issue
  }
  throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
}

function endpointHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** A reader that stops early (ffmpeg seeking, a player switching rungs) is normal, not a fault. */
function clientWentAway(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
