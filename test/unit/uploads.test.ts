import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { StartUploadRequest, UploadSession } from '#contracts/api';
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UploadGoneError,
  ValidationError,
} from '#domain/errors';
import { MAX_PARTS, partSizeFor, planParts } from '#domain/uploads';
import { rawKeyFor } from '#domain/video';
import { fakeUploads, type FakeUploads } from '../fakes/in-memory.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const OWNER = 'user-alice';
const OTHER = 'user-mallory';

/** 4 parts at the test part size of 5 MiB: 5, 5, 5 and a shorter last part of 1 MiB + 7. */
const FILE_SIZE = 16 * MiB + 7;

const request = (overrides: Partial<StartUploadRequest> = {}): StartUploadRequest => ({
  title: 'Harbour at dusk',
  visibility: 'private',
  fileName: 'harbour.mp4',
  fileSize: FILE_SIZE,
  contentType: 'video/mp4',
  ...overrides,
});

/** Distinct, position-dependent bytes, so a reassembly in the wrong order shows. */
const bytesOf = (size: number, seed: number): Uint8Array => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096 + seed) % 251;
  return bytes;
};

let f: FakeUploads;

beforeEach(() => {
  f = fakeUploads();
});

/** PUTs every part the session offers, as a browser would; returns what complete needs. */
async function putParts(session: UploadSession, only?: number[]) {
  const sent: { partNumber: number; etag: string }[] = [];
  for (const part of session.parts) {
    if (only && !only.includes(part.partNumber)) continue;
    sent.push({ partNumber: part.partNumber, etag: await f.store.put(part.url, bytesOf(part.size, part.partNumber)) });
  }
  return sent;
}

async function startAndUploadAll(overrides: Partial<StartUploadRequest> = {}) {
  const session = await f.uploads.start(OWNER, request(overrides));
  const parts = await putParts(session);
  return { session, parts };
}

/** Asserts a ValidationError whose message names `partNumber` and leaves the upload untouched. */
async function expectPartRejected(session: UploadSession, attempt: Promise<unknown>, partNumber: number) {
  const error = await attempt.then(
    () => expect.unreachable('complete should have been rejected'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as Error).message).toMatch(new RegExp(`\\b${partNumber}\\b`));
  expect((await f.videos.get(session.id))?.status).toBe('pending_upload');
  expect(f.store.isOpen(session.uploadId)).toBe(true);
}

describe('partSizeFor and planParts', () => {
  it('keeps the preferred part size when the file fits in 1,000 parts', () => {
    expect(partSizeFor(1000 * 8 * MiB, 8 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(1, 8 * MiB)).toBe(8 * MiB);
  });

  it('grows the part size in whole MiB once a file would need more than 1,000 parts', () => {
    expect(partSizeFor(1000 * 8 * MiB + 1, 8 * MiB)).toBe(9 * MiB);
    for (const fileSize of [10 * GiB, 20 * GiB - 1, 20 * GiB, 50 * GiB + 12345]) {
      const partSize = partSizeFor(fileSize, 8 * MiB);
      expect(partSize % MiB).toBe(0);
      expect(Math.ceil(fileSize / partSize)).toBeLessThanOrEqual(MAX_PARTS);
      // The smallest whole-MiB size that fits: one MiB less would need too many parts.
      expect(Math.ceil(fileSize / (partSize - MiB))).toBeGreaterThan(MAX_PARTS);
    }
  });

  it('plans full parts and one shorter last part that together are exactly the file', () => {
    expect(planParts(12 * MiB + 3, 5 * MiB)).toEqual([
      { partNumber: 1, size: 5 * MiB },
      { partNumber: 2, size: 5 * MiB },
      { partNumber: 3, size: 2 * MiB + 3 },
    ]);
  });

  it('plans no empty last part when the file is a whole number of parts', () => {
    expect(planParts(10 * MiB, 5 * MiB)).toEqual([
      { partNumber: 1, size: 5 * MiB },
      { partNumber: 2, size: 5 * MiB },
    ]);
  });
});

describe('start', () => {
  it('answers pending_upload with part URLs that cover the file exactly, the last part shorter', async () => {
    const session = await f.uploads.start(OWNER, request());

    expect(session).toMatchObject({ status: 'pending_upload', fileSize: FILE_SIZE, partSize: 5 * MiB, partCount: 4 });
    expect(session.parts.map((p) => p.partNumber)).toEqual([1, 2, 3, 4]);
    expect(session.parts.map((p) => p.size)).toEqual([5 * MiB, 5 * MiB, 5 * MiB, MiB + 7]);
    expect(session.parts.reduce((sum, p) => sum + p.size, 0)).toBe(FILE_SIZE);
    expect(new Set(session.parts.map((p) => p.url)).size).toBe(4);
    expect(session.uploadedParts).toEqual([]);
    expect(session.expiresAt).toBe(new Date(f.clock.now().getTime() + 900_000).toISOString());
    expect(await f.videos.get(session.id)).toMatchObject({
      ownerId: OWNER,
      status: 'pending_upload',
      title: 'Harbour at dusk',
      fileSize: FILE_SIZE,
      uploadId: session.uploadId,
    });
  });

  it('signs each part URL for its own part number and exact size', async () => {
    const session = await f.uploads.start(OWNER, request());

    for (const part of session.parts) {
      const query = new URL(part.url).searchParams;
      expect(query.get('partNumber')).toBe(String(part.partNumber));
      expect(query.get('size')).toBe(String(part.size));
      expect(query.get('uploadId')).toBe(session.uploadId);
    }
  });

  it('grows the part size for a huge file so it needs at most 1,000 parts, in whole MiB', async () => {
    f = fakeUploads({ maxBytes: 20 * GiB, partSizeBytes: 8 * MiB });
    const fileSize = 20 * GiB - 1;

    const session = await f.uploads.start(OWNER, request({ fileSize }));

    expect(session.partSize).toBeGreaterThan(8 * MiB);
    expect(session.partSize % MiB).toBe(0);
    expect(session.partCount).toBeLessThanOrEqual(MAX_PARTS);
    expect(session.parts).toHaveLength(session.partCount);
    expect(session.parts.reduce((sum, p) => sum + p.size, 0)).toBe(fileSize);
    expect(session.parts.slice(0, -1).every((p) => p.size === session.partSize)).toBe(true);
    expect(session.parts.at(-1)?.size).toBeLessThan(session.partSize);
  });

  it('stores the source under a key made from the video id, never from the file name', async () => {
    const session = await f.uploads.start(OWNER, request({ fileName: '../../other-user/source.mp4' }));

    const video = await f.videos.get(session.id);
    expect(video?.rawKey).toBe(rawKeyFor(session.id));
    expect(video?.rawKey).toBe(`uploads/${session.id}/source`);
    for (const part of session.parts) {
      expect(new URL(part.url).pathname).toBe(`/uploads/${session.id}/source`);
    }
  });

  it('refuses a fileSize over the limit with PayloadTooLargeError, creating nothing', async () => {
    const attempt = f.uploads.start(OWNER, request({ fileSize: 64 * MiB + 1 }));

    await expect(attempt).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(f.uploads.start(OWNER, request({ fileSize: 64 * MiB + 1 }))).rejects.toThrow(/64 MiB|67108864/);
    expect(await f.videos.get('vid00000001')).toBeUndefined();
  });

  it('accepts a fileSize exactly at the limit', async () => {
    await expect(f.uploads.start(OWNER, request({ fileSize: 64 * MiB }))).resolves.toMatchObject({
      status: 'pending_upload',
    });
  });

  it('does not count a refused oversized start against the hourly limit', async () => {
    await expect(f.uploads.start(OWNER, request({ fileSize: 64 * MiB + 1 }))).rejects.toBeInstanceOf(PayloadTooLargeError);
    for (let i = 0; i < 5; i++) await f.uploads.start(OWNER, request());
  });

  it('refuses the 6th start within an hour with RateLimitedError and a positive retryAfter', async () => {
    for (let i = 0; i < 5; i++) {
      await f.uploads.start(OWNER, request());
      f.clock.advance({ seconds: 600 });
    }

    const error = await f.uploads.start(OWNER, request()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RateLimitedError);
    // The first start was 50 minutes ago: its slot frees in 10 minutes.
    expect((error as RateLimitedError).retryAfterSeconds).toBe(600);
    expect((error as RateLimitedError).headers['Retry-After']).toBe('600');
    expect(await f.videos.get('vid00000006')).toBeUndefined();
  });

  it('allows a start again once the oldest start has left the hour window', async () => {
    for (let i = 0; i < 5; i++) {
      await f.uploads.start(OWNER, request());
      f.clock.advance({ seconds: 600 });
    }
    await expect(f.uploads.start(OWNER, request())).rejects.toBeInstanceOf(RateLimitedError);

    f.clock.advance({ seconds: 600 });
    await expect(f.uploads.start(OWNER, request())).resolves.toMatchObject({ status: 'pending_upload' });
    // The window rolls: the other four starts are still inside it.
    await expect(f.uploads.start(OWNER, request())).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('aborts the multipart upload when the video cannot be recorded', async () => {
    const begin = vi.spyOn(f.store, 'begin');
    vi.spyOn(f.videos, 'create').mockRejectedValueOnce(new Error('table unavailable'));

    await expect(f.uploads.start(OWNER, request())).rejects.toThrow('table unavailable');
    const uploadId = await begin.mock.results[0]?.value;
    expect(uploadId).toEqual(expect.any(String));
    expect(f.store.isOpen(uploadId)).toBe(false);
  });

  it('counts starts per user', async () => {
    for (let i = 0; i < 5; i++) await f.uploads.start(OWNER, request());

    await expect(f.uploads.start(OTHER, request())).resolves.toMatchObject({ status: 'pending_upload' });
  });
});

describe('resume', () => {
  it('lists the stored parts and signs URLs only for the missing ones', async () => {
    const session = await f.uploads.start(OWNER, request());
    const [one, three] = await putParts(session, [1, 3]);
    f.clock.advance({ seconds: 1200 });

    const resumed = await f.uploads.resume(OWNER, session.id);

    expect(resumed.uploadedParts).toEqual([
      { partNumber: 1, etag: one?.etag, size: 5 * MiB },
      { partNumber: 3, etag: three?.etag, size: 5 * MiB },
    ]);
    expect(resumed.parts.map((p) => [p.partNumber, p.size])).toEqual([
      [2, 5 * MiB],
      [4, MiB + 7],
    ]);
    expect(resumed).toMatchObject({ id: session.id, uploadId: session.uploadId, partCount: 4, status: 'pending_upload' });
    // Fresh URLs: their expiry counts from now, not from the start.
    expect(resumed.expiresAt).toBe(new Date(f.clock.now().getTime() + 900_000).toISOString());
  });

  it('offers no URLs once every part is stored', async () => {
    const { session } = await startAndUploadAll();

    const resumed = await f.uploads.resume(OWNER, session.id);

    expect(resumed.parts).toEqual([]);
    expect(resumed.uploadedParts?.map((p) => p.partNumber)).toEqual([1, 2, 3, 4]);
  });

  it('answers ConflictError when storage no longer has the upload', async () => {
    const session = await f.uploads.start(OWNER, request());
    await f.store.abort(rawKeyFor(session.id), session.uploadId);

    await expect(f.uploads.resume(OWNER, session.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('answers ConflictError for a completed upload', async () => {
    const { session, parts } = await startAndUploadAll();
    await f.uploads.complete(OWNER, session.id, parts);

    const error = await f.uploads.resume(OWNER, session.id).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/already complete \(status uploaded\)/);
  });
});

describe('complete', () => {
  it('assembles the parts in order and marks the video uploaded', async () => {
    const { session, parts } = await startAndUploadAll();

    const result = await f.uploads.complete(OWNER, session.id, parts);

    expect(result).toEqual({ id: session.id, status: 'uploaded', progress: 0 });
    expect((await f.videos.get(session.id))?.status).toBe('uploaded');
    expect(f.store.isOpen(session.uploadId)).toBe(false);
    const expected = Buffer.concat(session.parts.map((p) => bytesOf(p.size, p.partNumber)));
    expect(Buffer.from(f.store.object(rawKeyFor(session.id)) ?? []).equals(expected)).toBe(true);
  });

  it('keeps the completing request\'s correlation id on the video, and starts the run with it', async () => {
    const { session, parts } = await startAndUploadAll();

    await f.uploads.complete(OWNER, session.id, parts, 'req-complete-1');

    // On the item, so the storage event starts the same run with the same id if it gets there first.
    expect((await f.videos.get(session.id))?.correlationId).toBe('req-complete-1');
    expect(f.workflow.correlationIds.get(`${session.id}-g1`)).toBe('req-complete-1');
  });

  it('accepts the parts in any order and ETags with or without quotes', async () => {
    const { session, parts } = await startAndUploadAll();
    const shuffled = [...parts].reverse().map((p, i) => (i % 2 ? p : { ...p, etag: p.etag.replaceAll('"', '') }));

    await expect(f.uploads.complete(OWNER, session.id, shuffled)).resolves.toMatchObject({ status: 'uploaded' });
    expect(await f.store.sizeOf(rawKeyFor(session.id))).toBe(FILE_SIZE);
  });

  it('rejects a parts list that leaves a part out, naming it', async () => {
    const { session, parts } = await startAndUploadAll();

    await expectPartRejected(session, f.uploads.complete(OWNER, session.id, parts.filter((p) => p.partNumber !== 2)), 2);
  });

  it('rejects completing before a listed part was uploaded, naming it', async () => {
    const session = await f.uploads.start(OWNER, request());
    const parts = await putParts(session, [1, 2, 4]);

    await expectPartRejected(
      session,
      f.uploads.complete(OWNER, session.id, [...parts, { partNumber: 3, etag: '"0123456789abcdef"' }]),
      3,
    );
  });

  it('rejects a parts list that names a part twice, naming it', async () => {
    const { session, parts } = await startAndUploadAll();
    const third = parts.find((p) => p.partNumber === 3);

    await expectPartRejected(session, f.uploads.complete(OWNER, session.id, [...parts, third!]), 3);
  });

  it('rejects a part number outside the upload, naming it', async () => {
    const { session, parts } = await startAndUploadAll();

    await expectPartRejected(session, f.uploads.complete(OWNER, session.id, [...parts, { partNumber: 7, etag: '"x"' }]), 7);
  });

  it('rejects an ETag that does not match the stored part, naming the part', async () => {
    const { session, parts } = await startAndUploadAll();
    const tampered = parts.map((p) => (p.partNumber === 3 ? { ...p, etag: '"deadbeefdeadbeefdeadbeefdeadbeef"' } : p));

    await expectPartRejected(session, f.uploads.complete(OWNER, session.id, tampered), 3);
  });

  it('answers a second complete exactly as the first, even with a different parts list', async () => {
    const { session, parts } = await startAndUploadAll();
    const first = await f.uploads.complete(OWNER, session.id, parts);
    const version = (await f.videos.get(session.id))?.version;

    expect(await f.uploads.complete(OWNER, session.id, parts)).toEqual(first);
    expect(await f.uploads.complete(OWNER, session.id, [{ partNumber: 1, etag: 'stale' }])).toEqual(first);
    expect((await f.videos.get(session.id))?.version).toBe(version);
  });

  it('lets two concurrent completes both succeed with the same answer', async () => {
    const { session, parts } = await startAndUploadAll();

    const [a, b] = await Promise.all([
      f.uploads.complete(OWNER, session.id, parts),
      f.uploads.complete(OWNER, session.id, parts),
    ]);

    expect(a).toEqual({ id: session.id, status: 'uploaded', progress: 0 });
    expect(b).toEqual(a);
    expect(await f.store.sizeOf(rawKeyFor(session.id))).toBe(FILE_SIZE);
  });

  it('succeeds when another call already assembled the object and the upload is gone', async () => {
    const { session, parts } = await startAndUploadAll();
    // The other call got as far as storage but not yet to the status write.
    await f.store.complete(rawKeyFor(session.id), session.uploadId, parts);
    expect((await f.videos.get(session.id))?.status).toBe('pending_upload');

    await expect(f.uploads.complete(OWNER, session.id, parts)).resolves.toEqual({
      id: session.id,
      status: 'uploaded',
      progress: 0,
    });
    expect((await f.videos.get(session.id))?.status).toBe('uploaded');
  });

  it('answers ConflictError when the upload is gone and no object was stored', async () => {
    const { session, parts } = await startAndUploadAll();
    await f.store.abort(rawKeyFor(session.id), session.uploadId);

    await expect(f.uploads.complete(OWNER, session.id, parts)).rejects.toBeInstanceOf(ConflictError);
    expect((await f.videos.get(session.id))?.status).toBe('pending_upload');
  });

  it('on a size mismatch removes the object, fails the video and answers ValidationError', async () => {
    const session = await f.uploads.start(OWNER, request());
    const parts = await putParts(session, [1, 2, 3]);
    // A last part 7 bytes short, written past the signed length (which the fake URL would refuse).
    const short = await f.store.uploadPart(rawKeyFor(session.id), session.uploadId, 4, bytesOf(MiB, 4));
    parts.push({ partNumber: 4, etag: short });

    const error = await f.uploads.complete(OWNER, session.id, parts).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain(String(FILE_SIZE));
    expect((error as Error).message).toContain(String(FILE_SIZE - 7));
    expect(await f.store.sizeOf(rawKeyFor(session.id))).toBeUndefined();
    expect(await f.videos.get(session.id)).toMatchObject({ status: 'failed', failure: { code: 'SizeMismatch' } });
    expect(await f.queries.status(OWNER, session.id)).toMatchObject({
      status: 'failed',
      failure: { code: 'SizeMismatch' },
    });
  });

  it('leaves either an uploaded video with its source or an aborted one without, when abort races complete', async () => {
    const { session, parts } = await startAndUploadAll();
    const assemble = f.store.complete.bind(f.store);
    // The abort arrives after storage assembled the object but before complete records it.
    vi.spyOn(f.store, 'complete').mockImplementationOnce(async (...args) => {
      await assemble(...args);
      await f.uploads.abort(OWNER, session.id).catch(() => undefined);
    });

    await f.uploads.complete(OWNER, session.id, parts).catch(() => undefined);

    const status = (await f.videos.get(session.id))?.status;
    const size = await f.store.sizeOf(rawKeyFor(session.id));
    expect(['uploaded with its source', 'aborted without a source']).toContain(
      `${status} ${size === undefined ? 'without a source' : 'with its source'}`,
    );
  });

  it('refuses to complete an aborted upload with ConflictError', async () => {
    const { session, parts } = await startAndUploadAll();
    await f.uploads.abort(OWNER, session.id);

    await expect(f.uploads.complete(OWNER, session.id, parts)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('abort', () => {
  it('marks the video aborted and drops the stored parts', async () => {
    const session = await f.uploads.start(OWNER, request());
    await putParts(session, [1, 2]);

    const result = await f.uploads.abort(OWNER, session.id);

    expect(result).toEqual({ id: session.id, status: 'aborted', progress: 0 });
    expect((await f.videos.get(session.id))?.status).toBe('aborted');
    expect(f.store.isOpen(session.uploadId)).toBe(false);
    await expect(f.store.listParts(rawKeyFor(session.id), session.uploadId)).rejects.toBeInstanceOf(UploadGoneError);
  });

  it('answers the same when aborted twice', async () => {
    const session = await f.uploads.start(OWNER, request());
    const first = await f.uploads.abort(OWNER, session.id);

    await expect(f.uploads.abort(OWNER, session.id)).resolves.toEqual(first);
  });

  it('refuses to abort a completed upload with ConflictError, keeping the source', async () => {
    const { session, parts } = await startAndUploadAll();
    await f.uploads.complete(OWNER, session.id, parts);

    await expect(f.uploads.abort(OWNER, session.id)).rejects.toBeInstanceOf(ConflictError);
    expect((await f.videos.get(session.id))?.status).toBe('uploaded');
    expect(await f.store.sizeOf(rawKeyFor(session.id))).toBe(FILE_SIZE);
  });
});

describe('status and get', () => {
  it('reports progress as the share of chunks done while processing, and 1 when ready', async () => {
    const { session, parts } = await startAndUploadAll();
    await f.uploads.complete(OWNER, session.id, parts);
    await f.videos.transition(session.id, ['uploaded'], 'processing');
    for (const index of [0, 1, 3, 1]) await f.videos.recordChunkDone(session.id, 1, index, 4);

    expect(await f.queries.status(OWNER, session.id)).toEqual({ id: session.id, status: 'processing', progress: 0.75 });

    await f.videos.transition(session.id, ['processing'], 'ready');
    expect(await f.queries.status(OWNER, session.id)).toMatchObject({ status: 'ready', progress: 1 });
  });

  it('gives the owner the metadata of their video at any status', async () => {
    const session = await f.uploads.start(OWNER, request({ description: 'boats', tags: ['sea'] }));

    expect(await f.queries.get(OWNER, session.id)).toMatchObject({
      id: session.id,
      ownerId: OWNER,
      title: 'Harbour at dusk',
      description: 'boats',
      tags: ['sea'],
      status: 'pending_upload',
      fileName: 'harbour.mp4',
    });
  });

  it('gives anyone the metadata of a public video that is ready', async () => {
    const session = await f.uploads.start(OWNER, request({ visibility: 'public' }));
    const video = await f.videos.get(session.id);
    f.videos.seed({ ...video!, status: 'ready' });

    await expect(f.queries.get(OTHER, session.id)).resolves.toMatchObject({ id: session.id, status: 'ready' });
  });

  it('hides a public video from others until it is ready', async () => {
    const session = await f.uploads.start(OWNER, request({ visibility: 'public' }));

    await expect(f.queries.get(OTHER, session.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('hides a private video that is ready from others', async () => {
    const session = await f.uploads.start(OWNER, request({ visibility: 'private' }));
    const video = await f.videos.get(session.id);
    f.videos.seed({ ...video!, status: 'ready' });

    await expect(f.queries.get(OTHER, session.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("another user's upload", () => {
  let session: UploadSession;
  let parts: { partNumber: number; etag: string }[];

  beforeEach(async () => {
    ({ session, parts } = await startAndUploadAll({ visibility: 'public' }));
  });

  it.each([
    ['resume', () => f.uploads.resume(OTHER, session.id)],
    ['complete', () => f.uploads.complete(OTHER, session.id, parts)],
    ['abort', () => f.uploads.abort(OTHER, session.id)],
    ['status', () => f.queries.status(OTHER, session.id)],
    ['get', () => f.queries.get(OTHER, session.id)],
  ])('answers NotFoundError to %s, as for a video that does not exist, changing nothing', async (_, call) => {
    const error = await call().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NotFoundError);
    const missing = await f.queries.status(OWNER, 'vid99999999').catch((e: unknown) => e);
    expect((error as Error).message.replace(session.id, 'ID')).toBe((missing as Error).message.replace('vid99999999', 'ID'));
    expect((await f.videos.get(session.id))?.status).toBe('pending_upload');
    expect(f.store.isOpen(session.uploadId)).toBe(true);
  });
});

describe('starting the workflow', () => {
  it('starts the execution for the video and generation once the upload completes, and again harmlessly on a repeat', async () => {
    const f = fakeUploads();
    const bytes = new Uint8Array(12 * 1024 * 1024);
    const session = await f.uploads.start('owner-1', {
      title: 't',
      visibility: 'private',
      fileName: 'a.mp4',
      fileSize: bytes.length,
      contentType: 'video/mp4',
    });
    expect(f.workflow.executions).toEqual([]);
    const parts = [];
    for (const part of session.parts) {
      const from = (part.partNumber - 1) * session.partSize;
      parts.push({ partNumber: part.partNumber, etag: await f.store.put(part.url, bytes.subarray(from, from + part.size)) });
    }
    await f.uploads.complete('owner-1', session.id, parts);
    expect(f.workflow.executions).toEqual([`${session.id}-g1`]);
    await f.uploads.complete('owner-1', session.id, parts);
    expect(f.workflow.executions).toEqual([`${session.id}-g1`]);
  });
});
