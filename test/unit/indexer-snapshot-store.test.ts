import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3SnapshotStore } from '#adapters/s3-snapshot-store';
import { ConflictError, UnavailableError } from '#domain/errors';

const s3 = mockClient(S3Client);
const store = () => new S3SnapshotStore(s3 as unknown as S3Client, 'media', 'search/videos.json');

const failure = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', message: name, $metadata: { httpStatusCode: status } });

beforeEach(() => s3.reset());

describe('S3SnapshotStore (what it asks of S3)', () => {
  it('creates the first snapshot only if none exists (If-None-Match: *)', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    expect(await store().save('{}', undefined)).toBe('"e1"');
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ Bucket: 'media', Key: 'search/videos.json', IfNoneMatch: '*', ContentType: 'application/json' });
    expect(input.IfMatch).toBeUndefined();
  });

  it('replaces only the version it loaded (If-Match)', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await store().save('{}', '"e1"');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ IfMatch: '"e1"' });
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
    ['NoSuchKey', 404],
  ])('turns %s (%i) into ConflictError, which the writer retries', async (name, status) => {
    s3.on(PutObjectCommand).rejects(failure(name, status));
    await expect(store().save('{}', '"e1"')).rejects.toBeInstanceOf(ConflictError);
  });

  it('turns throttling into UnavailableError, not a conflict', async () => {
    s3.on(PutObjectCommand).rejects(failure('SlowDown', 503));
    await expect(store().save('{}', '"e1"')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('loads the body with its ETag, and reads the ETag alone with HEAD', async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e3"', Body: { transformToString: async () => '{"v":1}' } as never });
    s3.on(HeadObjectCommand).resolves({ ETag: '"e3"' });
    expect(await store().load()).toEqual({ body: '{"v":1}', etag: '"e3"' });
    expect(await store().etag()).toBe('"e3"');
  });

  it('reports no snapshot (not an error) before the first save', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no key', $metadata: { httpStatusCode: 404 } }));
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'not found', $metadata: { httpStatusCode: 404 } }));
    expect(await store().load()).toBeUndefined();
    expect(await store().etag()).toBeUndefined();
  });
});
