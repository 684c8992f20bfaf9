import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  NoSuchUpload,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRateLimiter } from '#adapters/dynamo-rate-limiter';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { S3MediaStore } from '#adapters/s3-media-store';
import { S3UploadStore } from '#adapters/s3-upload-store';
import { ConflictError, NotFoundError, UnavailableError, UploadGoneError } from '#domain/errors';
import type { Video } from '#domain/video';

const TABLE = 'videos';
const BUCKET = 'raw';
const KEY = 'uploads/vid00000001/source';

const dynamo = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));

beforeEach(() => {
  dynamo.reset();
  s3.reset();
});

const conditionFailed = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    ...(item ? { Item: item as ConditionalCheckFailedException['Item'] } : {}),
  });

const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds capacity', $metadata: { httpStatusCode: 400 } });

const video: Video = {
  id: 'vid00000001',
  ownerId: 'user-alice',
  title: 'Harbour at dusk',
  description: '',
  tags: [],
  visibility: 'private',
  status: 'processing',
  fileName: 'harbour.mp4',
  fileSize: 1234,
  contentType: 'video/mp4',
  rawKey: KEY,
  uploadId: 'upload-1',
  partSize: 8 * 1024 * 1024,
  generation: 1,
  version: 3,
  progress: { done: 1, total: 4 },
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:05:00.000Z',
};
const { progress: _progress, ...videoFields } = video;
// Progress is stored as the set of chunk indexes done and the chunk count.
const storedItem = {
  pk: 'VIDEO#vid00000001',
  sk: 'VIDEO',
  gsi1pk: 'OWNER#user-alice',
  entity: 'video',
  ...videoFields,
  chunksDone: new Set([2]),
  chunksTotal: 4,
};

/** The attribute paths an update expression's `SET` assigns, through its name placeholders. */
function assignedFields(input: { UpdateExpression?: string; ExpressionAttributeNames?: Record<string, string> }) {
  const set = (input.UpdateExpression ?? '').replace(/^SET\s+/, '');
  return set.split(',').map((clause) => {
    const target = clause.split('=')[0]?.trim() ?? '';
    return input.ExpressionAttributeNames?.[target] ?? target;
  });
}

describe('DynamoVideoRepository', () => {
  const repository = new DynamoVideoRepository(documents, TABLE);

  it('moves a video with one update conditional on its existing and being in one of the from-statuses', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: storedItem });

    await repository.transition('vid00000001', ['pending_upload', 'uploaded'], 'processing');

    const calls = dynamo.commandCalls(UpdateCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toMatchObject({ TableName: TABLE, Key: { pk: 'VIDEO#vid00000001', sk: 'VIDEO' } });
    const values = input.ExpressionAttributeValues ?? {};
    const names = input.ExpressionAttributeNames ?? {};
    const condition = /^attribute_exists\(pk\) AND (#\w+) IN \(([^)]*)\)$/.exec(input.ConditionExpression ?? '');
    expect(condition, input.ConditionExpression).not.toBeNull();
    expect(names[condition![1]!]).toBe('status');
    expect(condition![2]!.split(',').map((placeholder) => values[placeholder.trim()])).toEqual(['pending_upload', 'uploaded']);
    expect(values[input.UpdateExpression!.match(/#status = (:\w+)/)![1]!]).toBe('processing');
    // Without the old item on a failed condition, conflict and absence would look alike.
    expect(input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it('writes only the status, bookkeeping and allow-listed fields, whatever else the changes hold', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: storedItem });
    const changes = {
      generation: 2,
      ownerId: 'user-mallory',
      rawKey: 'uploads/elsewhere',
      visibility: 'public',
      pk: 'VIDEO#other',
    };

    await repository.transition('vid00000001', ['processing'], 'processing', changes);

    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(assignedFields(input).sort()).toEqual(['generation', 'status', 'updatedAt', 'version']);
    expect(JSON.stringify(input)).not.toMatch(/user-mallory|elsewhere|public|VIDEO#other/);
    expect(Object.values(input.ExpressionAttributeValues ?? {})).toContain(2);
    expect(input.UpdateExpression).toMatch(/#version = #version \+ :\w+/);
  });

  it('sets the failure and generation when a transition carries them', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: storedItem });

    await repository.transition('vid00000001', ['processing'], 'failed', {
      failure: { code: 'InvalidMedia', message: 'no video stream' },
      generation: 2,
    });

    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(assignedFields(input).sort()).toEqual(['failure', 'generation', 'status', 'updatedAt', 'version']);
  });

  it('returns the video as stored after the update, without table keys', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: storedItem });

    const updated = await repository.transition('vid00000001', ['uploaded'], 'processing');

    expect(updated).toEqual(video);
    expect(dynamo.commandCalls(UpdateCommand)[0]!.args[0].input.ReturnValues).toBe('ALL_NEW');
  });

  it('answers ConflictError when the condition fails on an existing video', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed({ status: { S: 'ready' } }));

    await expect(repository.transition('vid00000001', ['uploaded'], 'processing')).rejects.toBeInstanceOf(ConflictError);
  });

  it('answers NotFoundError when the condition fails because there is no video', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());

    await expect(repository.transition('vid00000001', ['uploaded'], 'processing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers UnavailableError, keeping the cause, when the table throttles', async () => {
    const cause = throttled();
    dynamo.on(UpdateCommand).rejects(cause);

    const error = await repository.transition('vid00000001', ['uploaded'], 'processing').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).cause).toBe(cause);
  });

  it('lets a non-transient error through unchanged', async () => {
    const invalid = Object.assign(new Error('Invalid UpdateExpression'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    dynamo.on(UpdateCommand).rejects(invalid);

    await expect(repository.transition('vid00000001', ['uploaded'], 'processing')).rejects.toBe(invalid);
  });

  it('creates a video only if its id is new, with its keys and entity', async () => {
    dynamo.on(PutCommand).resolves({});

    await repository.create(video);

    const input = dynamo.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(input.Item).toMatchObject({
      pk: 'VIDEO#vid00000001',
      sk: 'VIDEO',
      gsi1pk: 'OWNER#user-alice',
      gsi1sk: 'VIDEO#2025-01-01T00:00:00.000Z#vid00000001',
      entity: 'video',
      title: 'Harbour at dusk',
    });
  });

  it('answers ConflictError when creating a video whose id exists', async () => {
    dynamo.on(PutCommand).rejects(conditionFailed());

    await expect(repository.create(video)).rejects.toBeInstanceOf(ConflictError);
  });

  it('reads strongly consistently and answers undefined for a missing video', async () => {
    dynamo.on(GetCommand).resolves({});

    await expect(repository.get('vid00000001')).resolves.toBeUndefined();
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({
      Key: { pk: 'VIDEO#vid00000001', sk: 'VIDEO' },
      ConsistentRead: true,
    });
  });
});

describe("DynamoVideoRepository: a creator's edits, deletes and lists", () => {
  const repository = new DynamoVideoRepository(documents, TABLE);

  it('edits only the allow-listed fields, whatever else the edits hold, and bumps the version', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: storedItem });
    const edits = { title: 'New', tags: ['a'], status: 'ready', ownerId: 'user-mallory', rawKey: 'uploads/elsewhere' };

    await repository.edit('vid00000001', edits, { ownerId: 'user-alice' });

    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(assignedFields(input).sort()).toEqual(['tags', 'title', 'updatedAt', 'version']);
    expect(JSON.stringify(input.ExpressionAttributeValues)).not.toMatch(/user-mallory|elsewhere|ready/);
    expect(input.UpdateExpression).toMatch(/#version = #version \+ :\w+/);
  });

  it('makes the edit conditional on the owner, the expected version and the excluded statuses', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: storedItem });

    await repository.edit('vid00000001', { title: 'New' }, { ownerId: 'user-alice', version: 3, notIn: ['aborted'] });

    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const condition = input.ConditionExpression ?? '';
    expect(condition).toMatch(/^attribute_exists\(pk\) AND #ownerId = (:\w+) AND #version = (:\w+) AND NOT \(#status IN \((:\w+)\)\)$/);
    const [, owner, version, status] = /#ownerId = (:\w+) AND #version = (:\w+) AND NOT \(#status IN \((:\w+)\)\)/.exec(condition)!;
    expect([names['#ownerId'], names['#version'], names['#status']]).toEqual(['ownerId', 'version', 'status']);
    expect([values[owner!], values[version!], values[status!]]).toEqual(['user-alice', 3, 'aborted']);
    expect(input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it("answers NotFoundError for a missing video or another user's, ConflictError for a changed one", async () => {
    const edit = () => repository.edit('vid00000001', { title: 'New' }, { ownerId: 'user-alice', version: 2 });

    dynamo.on(UpdateCommand).rejects(conditionFailed());
    await expect(edit()).rejects.toBeInstanceOf(NotFoundError);
    dynamo.on(UpdateCommand).rejects(conditionFailed({ ownerId: { S: 'user-mallory' }, version: { N: '2' } }));
    await expect(edit()).rejects.toBeInstanceOf(NotFoundError);
    dynamo.on(UpdateCommand).rejects(conditionFailed({ ownerId: { S: 'user-alice' }, version: { N: '3' } }));
    await expect(edit()).rejects.toBeInstanceOf(ConflictError);
  });

  it("deletes only the owner's video, answering NotFoundError otherwise", async () => {
    dynamo.on(DeleteCommand).resolvesOnce({}).rejects(conditionFailed());
    dynamo.on(QueryCommand).resolves({ Items: [] }); // nothing else in the video's partition

    await repository.remove('vid00000001', 'user-alice');
    await expect(repository.remove('vid00000001', 'user-alice')).rejects.toBeInstanceOf(NotFoundError);

    const input = dynamo.commandCalls(DeleteCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      TableName: TABLE,
      Key: { pk: 'VIDEO#vid00000001', sk: 'VIDEO' },
      ConditionExpression: 'attribute_exists(pk) AND #ownerId = :ownerId',
      ExpressionAttributeValues: { ':ownerId': 'user-alice' },
    });
  });

  const itemAt = (n: number) => ({
    ...storedItem,
    id: `vid0000000${n}`,
    createdAt: `2025-01-0${n}T00:00:00.000Z`,
    gsi1sk: `VIDEO#2025-01-0${n}T00:00:00.000Z#vid0000000${n}`,
  });

  it("queries the owner's partition of gsi1 newest first, starting after the given position", async () => {
    dynamo.on(QueryCommand).resolves({ Items: [itemAt(3), itemAt(2)] });

    const page = await repository.listByOwner('user-alice', { limit: 2, after: { createdAt: '2025-01-04T00:00:00.000Z', id: 'vid00000004' } });

    const input = dynamo.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      TableName: TABLE,
      IndexName: 'gsi1',
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'gsi1sk' },
      ExpressionAttributeValues: { ':pk': 'OWNER#user-alice', ':prefix': 'VIDEO#' },
      ScanIndexForward: false,
      ExclusiveStartKey: {
        pk: 'VIDEO#vid00000004',
        sk: 'VIDEO',
        gsi1pk: 'OWNER#user-alice',
        gsi1sk: 'VIDEO#2025-01-04T00:00:00.000Z#vid00000004',
      },
    });
    expect(page.videos.map((v) => v.id)).toEqual(['vid00000003', 'vid00000002']);
    expect(page.next).toBeUndefined();
  });

  it('reads one past the page, giving a next position only when another page follows', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [itemAt(3), itemAt(2), itemAt(1)], LastEvaluatedKey: { pk: 'x' } });

    const page = await repository.listByOwner('user-alice', { limit: 2 });

    expect(dynamo.commandCalls(QueryCommand)[0]!.args[0].input.Limit).toBe(3);
    expect(page.videos.map((v) => v.id)).toEqual(['vid00000003', 'vid00000002']);
    expect(page.next).toEqual({ createdAt: '2025-01-02T00:00:00.000Z', id: 'vid00000002' });
  });

  it('goes on reading when DynamoDB stops a page short (1 MB), until the page is full or the index ends', async () => {
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [itemAt(3)], LastEvaluatedKey: { pk: 'k3' } })
      .resolvesOnce({ Items: [itemAt(2)] });

    const page = await repository.listByOwner('user-alice', { limit: 2 });

    const calls = dynamo.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input).toMatchObject({ ExclusiveStartKey: { pk: 'k3' }, Limit: 2 });
    expect(page.videos.map((v) => v.id)).toEqual(['vid00000003', 'vid00000002']);
    expect(page.next).toBeUndefined();
  });
});

describe('DynamoRateLimiter', () => {
  const limiter = new DynamoRateLimiter(documents, TABLE);
  const now = new Date('2025-01-01T12:00:00.000Z');
  const nowMs = now.getTime();

  it('takes the first slot that is free or outside the window, trying the slots in order', async () => {
    dynamo.on(UpdateCommand).rejectsOnce(conditionFailed()).rejectsOnce(conditionFailed()).resolves({});

    await expect(limiter.acquire('upload-start#user-alice', 5, 3600, now)).resolves.toEqual({ allowed: true });

    const calls = dynamo.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.ExpressionAttributeNames?.['#slot'])).toEqual(['slot0', 'slot1', 'slot2']);
    for (const input of calls) {
      expect(input.Key).toEqual({ pk: 'LIMIT#upload-start#user-alice', sk: 'LIMIT' });
      expect(input.ConditionExpression).toBe('attribute_not_exists(#slot) OR #slot <= :windowStart');
      expect(input.ExpressionAttributeValues).toMatchObject({ ':now': nowMs, ':windowStart': nowMs - 3_600_000 });
      expect(input.UpdateExpression).toMatch(/#slot = :now/);
    }
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('never asks for a wait longer than the window when racers took slots after this request read its clock', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    // All three slots were taken by concurrent requests 1–400 ms after `now`.
    dynamo.on(GetCommand).resolves({ Item: { slot0: nowMs + 1, slot1: nowMs + 400, slot2: nowMs + 250 } });

    const decision = await limiter.acquire('upload-start#user-alice', 3, 3600, now);

    expect(decision).toEqual({ allowed: false, retryAfterSeconds: 3600 });
  });

  it('denies once every slot is taken, with retryAfter counted from the oldest slot', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({
      Item: { slot0: nowMs - 10 * 60_000, slot1: nowMs - 50 * 60_000, slot2: nowMs - 5 * 60_000 },
    });

    const decision = await limiter.acquire('upload-start#user-alice', 3, 3600, now);

    // The oldest slot was taken 50 minutes ago: it leaves the hour in 10 minutes.
    expect(decision).toEqual({ allowed: false, retryAfterSeconds: 600 });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(3);
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({
      Key: { pk: 'LIMIT#upload-start#user-alice', sk: 'LIMIT' },
      ConsistentRead: true,
    });
  });

  it('rounds retryAfter up to a whole second, at least 1', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { slot0: nowMs - 3_599_500 } });

    await expect(limiter.acquire('k', 1, 3600, now)).resolves.toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('answers UnavailableError when the table throttles', async () => {
    dynamo.on(UpdateCommand).rejects(throttled());

    await expect(limiter.acquire('k', 5, 3600, now)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('S3UploadStore', () => {
  const store = new S3UploadStore(new S3Client({ region: 'eu-west-1' }), BUCKET);
  const noSuchUpload = () => new NoSuchUpload({ message: 'The specified upload does not exist', $metadata: { httpStatusCode: 404 } });
  const serviceUnavailable = () =>
    new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'Please reduce your request rate', $metadata: { httpStatusCode: 503 } });

  it('answers UploadGoneError when listing the parts of an upload that no longer exists', async () => {
    s3.on(ListPartsCommand).rejects(noSuchUpload());

    await expect(store.listParts(KEY, 'upload-1')).rejects.toBeInstanceOf(UploadGoneError);
  });

  it('answers UploadGoneError when completing an upload that no longer exists', async () => {
    s3.on(CompleteMultipartUploadCommand).rejects(noSuchUpload());

    await expect(store.complete(KEY, 'upload-1', [{ partNumber: 1, etag: 'a' }])).rejects.toBeInstanceOf(UploadGoneError);
  });

  it('treats aborting an upload that no longer exists as done', async () => {
    s3.on(AbortMultipartUploadCommand).rejects(noSuchUpload());

    await expect(store.abort(KEY, 'upload-1')).resolves.toBeUndefined();
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]!.args[0].input).toEqual({ Bucket: BUCKET, Key: KEY, UploadId: 'upload-1' });
  });

  it('answers UnavailableError when an abort meets a storage outage', async () => {
    s3.on(AbortMultipartUploadCommand).rejects(serviceUnavailable());

    await expect(store.abort(KEY, 'upload-1')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('answers undefined for the size of an object that does not exist', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));

    await expect(store.sizeOf(KEY)).resolves.toBeUndefined();
  });

  it('answers the size of an object that exists', async () => {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: KEY }).resolves({ ContentLength: 1234 });

    await expect(store.sizeOf(KEY)).resolves.toBe(1234);
  });

  it('lists the parts across pages, following NextPartNumberMarker', async () => {
    s3.on(ListPartsCommand)
      .resolvesOnce({
        Parts: [
          { PartNumber: 1, ETag: '"e1"', Size: 5 },
          { PartNumber: 2, ETag: '"e2"', Size: 5 },
        ],
        IsTruncated: true,
        NextPartNumberMarker: '2',
      })
      .resolvesOnce({ Parts: [{ PartNumber: 3, ETag: '"e3"', Size: 2 }], IsTruncated: false });

    const parts = await store.listParts(KEY, 'upload-1');

    expect(parts).toEqual([
      { partNumber: 1, etag: '"e1"', size: 5 },
      { partNumber: 2, etag: '"e2"', size: 5 },
      { partNumber: 3, etag: '"e3"', size: 2 },
    ]);
    const markers = s3.commandCalls(ListPartsCommand).map((call) => call.args[0].input.PartNumberMarker);
    expect(markers).toEqual([undefined, '2']);
  });

  it('completes with the parts sorted by number and every ETag quoted', async () => {
    s3.on(CompleteMultipartUploadCommand).resolves({});

    await store.complete(KEY, 'upload-1', [
      { partNumber: 3, etag: 'c3' },
      { partNumber: 1, etag: '"a1"' },
      { partNumber: 2, etag: 'b2' },
    ]);

    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: KEY,
      UploadId: 'upload-1',
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: '"a1"' },
          { PartNumber: 2, ETag: '"b2"' },
          { PartNumber: 3, ETag: '"c3"' },
        ],
      },
    });
  });

  it('signs each part URL with its content length, so storage refuses a body of another size', async () => {
    // A real client and signer with made-up credentials: presigning is local, no request is sent.
    const signer = new S3UploadStore(
      new S3Client({
        region: 'eu-west-1',
        endpoint: 'http://storage.test:4566',
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
      }),
      BUCKET,
    );

    const urls = await signer.signParts(
      KEY,
      'upload-1',
      [
        { partNumber: 1, size: 5 * 1024 * 1024 },
        { partNumber: 2, size: 1234 },
      ],
      900,
    );

    expect(urls.map(({ partNumber, size }) => ({ partNumber, size }))).toEqual([
      { partNumber: 1, size: 5 * 1024 * 1024 },
      { partNumber: 2, size: 1234 },
    ]);
    for (const { url, partNumber } of urls) {
      const parsed = new URL(url);
      expect(parsed.pathname).toBe(`/${BUCKET}/${KEY}`);
      expect(parsed.searchParams.get('partNumber')).toBe(String(partNumber));
      expect(parsed.searchParams.get('uploadId')).toBe('upload-1');
      expect(parsed.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(parsed.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-length');
    }
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('S3MediaStore', () => {
  const store = new S3MediaStore(new S3Client({ region: 'eu-west-1' }), 'media');

  it('deletes every object under the prefix, page by page', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'videos/a/1' }, { Key: 'videos/a/2' }], IsTruncated: true, NextContinuationToken: 't1' })
      .resolvesOnce({ Contents: [{ Key: 'videos/a/3' }], IsTruncated: false });
    s3.on(DeleteObjectsCommand).resolves({});

    expect(await store.removePrefix('videos/a/')).toBe(3);

    const lists = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(lists).toMatchObject([{ Prefix: 'videos/a/' }, { Prefix: 'videos/a/', ContinuationToken: 't1' }]);
    const deletes = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects?.map((o) => o.Key));
    expect(deletes).toEqual([['videos/a/1', 'videos/a/2'], ['videos/a/3']]);
  });

  it('answers UnavailableError when DeleteObjects reports keys it could not delete (it still answers 200)', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'videos/a/1' }, { Key: 'videos/a/2' }] });
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'videos/a/2', Code: 'InternalError', Message: 'try again' }] });

    const error = await store.removePrefix('videos/a/').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnavailableError);
    expect(String((error as Error).cause)).toMatch(/InternalError on videos\/a\/2/);
  });
});
