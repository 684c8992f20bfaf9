import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../local/s3.ts';

const BUCKET = 'raw';
const MiB = 1024 * 1024;
/** S3's smallest non-last part, which the stand-in enforces like S3. */
const PART = 5 * MiB;
const ORIGIN = 'http://localhost:5173';

/** Bytes as fetch's DOM typings accept them (a Node `Buffer` is not a `BodyInit`). */
type Bytes = Uint8Array<ArrayBuffer>;
const bytes = (size: number): Bytes => Uint8Array.from(randomBytes(size));
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
/** The `<Code>` of an S3 XML error document. */
const errorCode = async (res: Response) => /<Code>([^<]*)<\/Code>/.exec(await res.text())?.[1];

describe('local S3 stand-in', { timeout: 30_000 }, () => {
  let directory: string;
  let s3: LocalS3;
  let client: S3Client;
  const events: S3Event[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'local-s3-'));
    s3 = await startLocalS3({ directory, buckets: [{ name: BUCKET, cors: true }] });
    s3.events.on('object-created', (event) => events.push(event));
    client = new S3Client(s3.clientConfig);
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await rm(directory, { recursive: true, force: true });
  });

  /** Starts an upload of `source` cut into 5 MiB parts and presigns every part for its exact length. */
  async function startUpload(key: string, source: Bytes, signer: S3Client = client) {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const uploadId = UploadId!;
    const parts = Array.from({ length: Math.ceil(source.length / PART) }, (_, i) => source.subarray(i * PART, (i + 1) * PART));
    const urls = await Promise.all(
      parts.map((body, i) =>
        getSignedUrl(
          signer,
          new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: i + 1, ContentLength: body.length }),
          { expiresIn: 600 },
        ),
      ),
    );
    const put = (i: number, body: Bytes = parts[i]!, headers: Record<string, string> = {}) =>
      fetch(urls[i]!, { method: 'PUT', body, headers });
    const listParts = () => client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    return { uploadId, parts, urls, put, listParts };
  }

  it('lists exactly the uploaded parts, with the sizes and ETags their PUTs answered', async () => {
    const source = bytes(2 * PART + 1234);
    const upload = await startUpload('list/parts.bin', source);

    const first = await upload.put(0);
    const third = await upload.put(2);
    expect([first.status, third.status]).toEqual([200, 200]);

    const { Parts } = await upload.listParts();
    expect(Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, PART, first.headers.get('etag')],
      [3, 1234, third.headers.get('etag')],
    ]);
    expect(first.headers.get('etag')).toBe(`"${createHash('md5').update(upload.parts[0]!).digest('hex')}"`);
  });

  it('pages ListParts with max-parts and part-number-marker', async () => {
    const upload = await startUpload('list/paged.bin', bytes(2 * PART + 10));
    await Promise.all([upload.put(0), upload.put(1), upload.put(2)]);

    const first = await client.send(
      new ListPartsCommand({ Bucket: BUCKET, Key: 'list/paged.bin', UploadId: upload.uploadId, MaxParts: 2 }),
    );
    expect(first.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(first).toMatchObject({ IsTruncated: true, NextPartNumberMarker: '2', MaxParts: 2 });

    const second = await client.send(
      new ListPartsCommand({
        Bucket: BUCKET,
        Key: 'list/paged.bin',
        UploadId: upload.uploadId,
        MaxParts: 2,
        PartNumberMarker: first.NextPartNumberMarker,
      }),
    );
    expect(second.Parts?.map((p) => p.PartNumber)).toEqual([3]);
    expect(second.IsTruncated).toBe(false);
  });

  it('assembles a completed upload byte for byte, with the multipart ETag S3 gives', async () => {
    const source = bytes(2 * PART + MiB + 17);
    const upload = await startUpload('complete/whole.bin', source);
    const responses = await Promise.all(upload.parts.map((_, i) => upload.put(i)));

    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'complete/whole.bin',
        UploadId: upload.uploadId,
        MultipartUpload: { Parts: responses.map((r, i) => ({ PartNumber: i + 1, ETag: r.headers.get('etag')! })) },
      }),
    );
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);

    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'complete/whole.bin' }));
    const stored = await object.Body!.transformToByteArray();
    expect(stored.length).toBe(source.length);
    expect(sha256(stored)).toBe(sha256(source));
    expect(object.ETag).toBe(done.ETag);
    await expect(upload.listParts()).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('emits a completion as a Lambda S3Event: CompleteMultipartUpload, encoded key, bucket ARN, size, eTag', async () => {
    const key = 'uploads/my video+1.mp4';
    const source = bytes(PART + 99);
    const upload = await startUpload(key, source);
    const responses = await Promise.all(upload.parts.map((_, i) => upload.put(i)));
    const before = events.length;

    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: upload.uploadId,
        MultipartUpload: { Parts: responses.map((r, i) => ({ PartNumber: i + 1, ETag: r.headers.get('etag')! })) },
      }),
    );

    const emitted = events.slice(before);
    expect(emitted).toHaveLength(1);
    const record = emitted[0]!.Records[0]!;
    expect(record).toMatchObject({
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:CompleteMultipartUpload',
      s3: {
        bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
        object: { key: 'uploads/my+video%2B1.mp4', size: source.length, eTag: done.ETag!.replace(/"/g, '') },
      },
    });
    expect(decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '))).toBe(key);
    expect(record.s3.object.sequencer).toMatch(/^[0-9A-F]+$/);
  });

  it('emits ObjectCreated:Put for a PutObject', async () => {
    const before = events.length;
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put/a b.txt', Body: 'hello' }));
    expect(events.slice(before).map((e) => e.Records[0]!.eventName)).toEqual(['ObjectCreated:Put']);
    expect(events.at(-1)!.Records[0]!.s3.object).toMatchObject({ key: 'put/a+b.txt', size: 5, eTag: put.ETag!.replace(/"/g, '') });
  });

  it('refuses a part whose Content-Length differs from the signed one, and stores nothing', async () => {
    const upload = await startUpload('signed/length.bin', bytes(PART + 100));
    await upload.put(0);
    expect(new URL(upload.urls[1]!).searchParams.get('X-Amz-SignedHeaders')).toContain('content-length');

    const longer = await upload.put(1, bytes(101));
    expect(longer.status).toBe(403);
    expect(await errorCode(longer)).toBe('SignatureDoesNotMatch');
    const shorter = await upload.put(1, bytes(99));
    expect(shorter.status).toBe(403);

    const { Parts } = await upload.listParts();
    expect(Parts?.map((p) => p.PartNumber)).toEqual([1]);
  });

  it('refuses a presigned part URL whose part number was changed', async () => {
    const upload = await startUpload('signed/number.bin', bytes(PART + 100));
    const tampered = new URL(upload.urls[1]!);
    tampered.searchParams.set('partNumber', '1');

    const res = await fetch(tampered, { method: 'PUT', body: upload.parts[1]! });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('SignatureDoesNotMatch');
    expect((await upload.listParts()).Parts ?? []).toEqual([]);
  });

  it('refuses a presigned URL signed with another secret', async () => {
    const stranger = new S3Client({ ...s3.clientConfig, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } });
    const upload = await startUpload('signed/secret.bin', bytes(100), stranger);
    const res = await upload.put(0);
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('SignatureDoesNotMatch');
  });

  it('refuses an expired presigned URL with AccessDenied "Request has expired"', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'signed/expired.bin' }));
    const url = await getSignedUrl(
      client,
      new UploadPartCommand({ Bucket: BUCKET, Key: 'signed/expired.bin', UploadId, PartNumber: 1, ContentLength: 3 }),
      { expiresIn: 60, signingDate: new Date(Date.now() - 2 * 3600 * 1000) },
    );

    const res = await fetch(url, { method: 'PUT', body: bytes(3) });
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain('<Code>AccessDenied</Code>');
    expect(body).toContain('<Message>Request has expired</Message>');
  });

  it('refuses a part presigned with the SDK default checksum (CRC32 of an empty body), as S3 does', async () => {
    const defaults = new S3Client({ ...s3.clientConfig, requestChecksumCalculation: 'WHEN_SUPPORTED' });
    const upload = await startUpload('signed/checksum.bin', bytes(100), defaults);
    expect(new URL(upload.urls[0]!).searchParams.get('x-amz-checksum-crc32')).toBe('AAAAAA==');

    const res = await upload.put(0);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('BadDigest');
    expect((await upload.listParts()).Parts ?? []).toEqual([]);
  });

  it('aborts with 204, after which the upload is unknown to every multipart call', async () => {
    const upload = await startUpload('abort/me.bin', bytes(PART + 5));
    const part = await upload.put(0);

    const aborted = await client.send(
      new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'abort/me.bin', UploadId: upload.uploadId }),
    );
    expect(aborted.$metadata.httpStatusCode).toBe(204);

    await expect(upload.listParts()).rejects.toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    const late = await upload.put(1);
    expect(late.status).toBe(404);
    expect(await errorCode(late)).toBe('NoSuchUpload');
    await expect(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'abort/me.bin',
          UploadId: upload.uploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.headers.get('etag')! }] },
        }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('refuses to complete with a part that was not uploaded, or a non-last part under 5 MiB', async () => {
    const upload = await startUpload('complete/invalid.bin', bytes(PART + 5));
    const [first, second] = await Promise.all([upload.put(0), upload.put(1)]);
    const complete = (parts: { PartNumber: number; ETag: string }[]) =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'complete/invalid.bin',
          UploadId: upload.uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );

    await expect(complete([{ PartNumber: 1, ETag: '"0123456789abcdef0123456789abcdef"' }])).rejects.toMatchObject({
      name: 'InvalidPart',
    });
    await expect(
      complete([
        { PartNumber: 2, ETag: second!.headers.get('etag')! },
        { PartNumber: 1, ETag: first!.headers.get('etag')! },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPartOrder' });

    // Part 2 holds 5 bytes: fine as the last part, too small before part 3.
    const third = await client.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'complete/invalid.bin', UploadId: upload.uploadId, PartNumber: 3, Body: 'x' }),
    );
    await expect(
      complete([
        { PartNumber: 1, ETag: first!.headers.get('etag')! },
        { PartNumber: 2, ETag: second!.headers.get('etag')! },
        { PartNumber: 3, ETag: third.ETag! },
      ]),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
    expect((await upload.listParts()).Parts?.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
  });

  it('lists open multipart uploads and forgets completed ones', async () => {
    const open = await startUpload('uploads-list/open.bin', bytes(10));
    const done = await startUpload('uploads-list/done.bin', bytes(10));
    const part = await done.put(0);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'uploads-list/done.bin',
        UploadId: done.uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.headers.get('etag')! }] },
      }),
    );

    const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'uploads-list/' }));
    expect(Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['uploads-list/open.bin', open.uploadId]]);
  });

  it('serves the last N bytes for a suffix range and one byte for bytes=0-0', async () => {
    const source = bytes(100);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'range/object.bin', Body: source }));

    const suffix = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range/object.bin', Range: 'bytes=-5' }));
    expect(suffix.ContentRange).toBe('bytes 95-99/100');
    expect(await suffix.Body!.transformToByteArray()).toEqual(source.subarray(95));

    const first = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range/object.bin', Range: 'bytes=0-0' }));
    expect(first.ContentRange).toBe('bytes 0-0/100');
    expect(await first.Body!.transformToByteArray()).toEqual(source.subarray(0, 1));
  });

  it('answers a CORS preflight for a part URL and exposes ETag to the browser on the PUT', async () => {
    const upload = await startUpload('cors/part.bin', bytes(64));

    const preflight = await fetch(upload.urls[0]!, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');

    const put = await upload.put(0, upload.parts[0], { Origin: ORIGIN });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe('*');
    expect(put.headers.get('access-control-expose-headers')?.split(/,\s*/)).toContain('ETag');
    expect(put.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('pages ListObjectsV2 with continuation tokens, in S3 key order', async () => {
    const keys = ['list/a', 'list/a-c', 'list/a/b', 'list/b', 'list/z y', 'list/ü'];
    for (const key of [...keys].reverse()) {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', MaxKeys: 2, ContinuationToken: token }),
      );
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
      pages++;
    } while (token);

    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
  });

  it('decodes aws-chunked bodies of an SDK left on default checksums instead of storing the framing', async () => {
    const defaults = new S3Client({ ...s3.clientConfig, requestChecksumCalculation: 'WHEN_SUPPORTED' });
    const { Readable } = await import('node:stream');
    const body = Readable.from([Buffer.from('abc'), Buffer.from('def')]);
    await defaults.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked/body.txt', Body: body, ContentLength: 6 }));

    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'chunked/body.txt' }));
    expect(await object.Body!.transformToString()).toBe('abcdef');
  });

  it('keeps objects and open uploads across a restart on the same directory', async () => {
    const own = await mkdtemp(path.join(tmpdir(), 'local-s3-restart-'));
    try {
      const source = bytes(1000);
      let first: LocalS3 | undefined = await startLocalS3({ directory: own, buckets: [{ name: BUCKET }] });
      const before = new S3Client(first.clientConfig);
      const put = await before.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept.bin', Body: source }));
      const { UploadId } = await before.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'open.bin' }));
      await before.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'open.bin', UploadId, PartNumber: 1, Body: source }));
      before.destroy();
      await first.close();
      first = undefined;

      const second = await startLocalS3({ directory: own, buckets: [{ name: BUCKET }] });
      const after = new S3Client(second.clientConfig);
      try {
        const object = await after.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept.bin' }));
        expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(source));
        expect(object.ETag).toBe(put.ETag);
        const { Parts } = await after.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'open.bin', UploadId }));
        expect(Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 1000]]);
      } finally {
        after.destroy();
        await second.close();
      }
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('refuses a presigned PutObject of another length and stores the one of the signed length', async () => {
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/put.bin', ContentLength: 42 }), {
      expiresIn: 60,
    });
    const tooLong = await fetch(url, { method: 'PUT', body: bytes(43) });
    expect(tooLong.status).toBe(403);
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'presigned/put.bin' }))).rejects.toMatchObject({
      name: 'NotFound',
    });

    const ok = await fetch(url, { method: 'PUT', body: bytes(42) });
    expect(ok.status).toBe(200);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'presigned/put.bin' }));
    expect([head.ContentLength, head.ETag]).toEqual([42, ok.headers.get('etag')]);
  });

  describe('a completed multipart object (kept as its parts, not rewritten)', () => {
    /** Uploads `source` in 5 MiB parts through the SDK and completes it; answers the ETag. */
    async function completeMultipart(on: S3Client, key: string, source: Bytes, contentType?: string): Promise<string> {
      const { UploadId } = await on.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: contentType, Metadata: { origin: 'test' } }),
      );
      const parts = [];
      for (let i = 0; i * PART < source.length; i++) {
        const body = source.subarray(i * PART, (i + 1) * PART);
        const { ETag } = await on.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body: body }));
        parts.push({ PartNumber: i + 1, ETag });
      }
      const done = await on.send(
        new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
      );
      return done.ETag!;
    }
    const getRange = async (key: string, range: string, on: S3Client = client) => {
      const res = await on.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
      return { contentRange: res.ContentRange, body: await res.Body!.transformToByteArray() };
    };
    /** What the bucket folder holds next to `name` (the object's files and its parts folder). */
    const filesOf = async (dir: string, folder: string, name: string) =>
      (await readdir(path.join(dir, BUCKET, folder)).catch(() => [] as string[])).filter((f) => f.startsWith(name)).sort();

    it('serves ranges within a part, across part boundaries, suffix ranges, and past the end', async () => {
      const source = bytes(3 * PART + 4321);
      const key = 'parts/ranges.bin';
      await completeMultipart(client, key, source);

      const cases: [string, number, number][] = [
        ['bytes=0-0', 0, 0],
        ['bytes=10-99', 10, 99],
        [`bytes=${PART - 3}-${PART + 2}`, PART - 3, PART + 2], // 1 → 2
        [`bytes=${PART - 1}-${3 * PART}`, PART - 1, 3 * PART], // 1 → 4, the whole of 2 and 3
        [`bytes=${2 * PART}-${2 * PART}`, 2 * PART, 2 * PART], // first byte of part 3
        [`bytes=${PART + 5}-`, PART + 5, source.length - 1], // open-ended
        ['bytes=-4400', source.length - 4400, source.length - 1], // suffix across the last boundary
        [`bytes=0-${source.length + 1000}`, 0, source.length - 1], // end past the object
      ];
      for (const [range, start, end] of cases) {
        const got = await getRange(key, range);
        expect(got.contentRange, range).toBe(`bytes ${start}-${end}/${source.length}`);
        expect(sha256(got.body), range).toBe(sha256(source.subarray(start, end + 1)));
      }
      const res = await fetch(`${s3.endpoint}/${BUCKET}/${key}`, { headers: { Range: `bytes=${source.length}-` } });
      expect(res.status).toBe(416);
    });

    it('answers HEAD and ListObjects with its size, multipart ETag, Content-Type and metadata', async () => {
      const source = bytes(2 * PART + 7);
      const key = 'parts/head.bin';
      const etag = await completeMultipart(client, key, source, 'video/mp4');
      expect(etag).toMatch(/^"[0-9a-f]{32}-3"$/);

      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect([head.ContentLength, head.ETag, head.ContentType, head.Metadata]).toEqual([
        source.length,
        etag,
        'video/mp4',
        { origin: 'test' },
      ]);
      const { Contents } = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'parts/head' }));
      expect(Contents?.map((c) => [c.Key, c.Size, c.ETag])).toEqual([[key, source.length, etag]]);
      const whole = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(sha256(await whole.Body!.transformToByteArray())).toBe(sha256(source));
    });

    it('removes its parts when deleted, and when overwritten by a PutObject or another completion', async () => {
      const folder = 'parts-gone';
      await completeMultipart(client, `${folder}/deleted.bin`, bytes(PART + 1));
      expect(await filesOf(directory, folder, 'deleted.bin')).toContain('deleted.bin._S3rver_parts');
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${folder}/deleted.bin` }));
      expect(await filesOf(directory, folder, 'deleted.bin')).toEqual([]);
      await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${folder}/deleted.bin` }))).rejects.toMatchObject({
        name: 'NotFound',
      });

      const key = `${folder}/overwritten.bin`;
      await completeMultipart(client, key, bytes(2 * PART));
      const small = bytes(300);
      const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: small }));
      expect(await filesOf(directory, folder, 'overwritten.bin')).not.toContain('overwritten.bin._S3rver_parts');
      const afterPut = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect([afterPut.ContentLength, afterPut.ETag]).toEqual([300, put.ETag]);
      expect(sha256(await afterPut.Body!.transformToByteArray())).toBe(sha256(small));

      // Part-backed over part-backed: only the new upload's parts remain.
      await completeMultipart(client, key, bytes(2 * PART));
      const second = bytes(PART + 99);
      const etag = await completeMultipart(client, key, second);
      const parts = await readdir(path.join(directory, BUCKET, folder, 'overwritten.bin._S3rver_parts'));
      expect(parts.filter((f) => /^\d+$/.test(f)).sort()).toEqual(['1', '2']);
      expect((await filesOf(directory, folder, 'overwritten.bin')).filter((f) => f.endsWith('.old') || f.endsWith('.tmp'))).toEqual([]);
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(got.ETag).toBe(etag);
      expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(second));
    });

    it('copies to another key byte for byte with the source ETag', async () => {
      const source = bytes(PART + 555);
      const etag = await completeMultipart(client, 'parts/copy-src.bin', source);
      await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'parts/copy-dst.bin', CopySource: `${BUCKET}/parts/copy-src.bin` }));
      const copy = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'parts/copy-dst.bin' }));
      expect(copy.ETag).toBe(etag);
      expect(sha256(await copy.Body!.transformToByteArray())).toBe(sha256(source));
    });

    it('keeps serving it after a restart on the same directory', async () => {
      const own = await mkdtemp(path.join(tmpdir(), 'local-s3-parts-restart-'));
      try {
        const source = bytes(2 * PART + 123);
        const first = await startLocalS3({ directory: own, buckets: [{ name: BUCKET }] });
        const before = new S3Client(first.clientConfig);
        const etag = await completeMultipart(before, 'kept/multi.bin', source, 'video/webm');
        before.destroy();
        await first.close();

        const second = await startLocalS3({ directory: own, buckets: [{ name: BUCKET }] });
        const after = new S3Client(second.clientConfig);
        try {
          const object = await after.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept/multi.bin' }));
          expect([object.ETag, object.ContentLength, object.ContentType]).toEqual([etag, source.length, 'video/webm']);
          expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(source));
          const span = await getRange('kept/multi.bin', `bytes=${PART - 10}-${PART + 9}`, after);
          expect(sha256(span.body)).toBe(sha256(source.subarray(PART - 10, PART + 10)));
        } finally {
          after.destroy();
          await second.close();
        }
      } finally {
        await rm(own, { recursive: true, force: true });
      }
    });
  });

  it('answers every HEAD of an object while it is overwritten again and again (never a half-written metadata file)', async () => {
    const key = 'search/snapshot.json';
    const versions = Array.from({ length: 40 }, (_, i) => JSON.stringify({ v: i, docs: 'x'.repeat(2000 + i) }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: versions[0], ContentType: 'application/json' }));
    const statuses: number[] = [];
    // No SDK retries: a 500 must show, not be retried away.
    const once = new S3Client({ ...s3.clientConfig, maxAttempts: 1 });
    const writes = versions.map((body) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/json' })));
    const reads = Array.from({ length: 120 }, async () => {
      // HEAD: the metadata race this is about; a GET's body has a race of its own (see writeMetadataAtomically).
      const res = await once.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
        () => 200,
        (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode ?? 0,
      );
      statuses.push(res);
    });
    await Promise.all([...writes, ...reads]);
    once.destroy();
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });
});
