import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../local/node20.ts';
import { startPlatform, type Platform } from '../../local/platform.ts';
import { ApiClient } from '../support/api.ts';
import { localCredentials, localS3, localSfn } from '../support/clients.ts';
import { makeClip } from '../support/media.ts';
import { outcomeOf, problemWith, RetryingClient, uploadResiliently, type Answer } from '../support/resilient.ts';

/**
 * Fault tolerance, on a platform of its own started with fault proxies in front of every stand-in
 * (`faults`): throttling, a dependency stopped under load, duplicated and out-of-order events, and
 * the redrive paths. Clips are tiny (2 s at 160×90, one 144p rung) so 20 pipelines fit two cores.
 */
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'vodstack-faults-'));
const clip = join(dir, 'clip.mp4');
let platform: Platform;
let creator: ApiClient;
/** The platform's log (requests, workflow events, function output), kept for a failed run. */
const logFile = join('test-results', 'integration', 'faults-platform.log');

beforeAll(async () => {
  mkdirSync(join('test-results', 'integration'), { recursive: true });
  writeFileSync(logFile, '');
  platform = await startPlatform({
    dataDir: join(dir, 'data'),
    inMemoryTables: true,
    port: 0,
    context: { ladderRungs: '144p', chunkSeconds: 6, uploadPartSizeBytes: 5 * MiB, uploadStartsPerHour: 1000 },
    log: (line) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`),
    sweepEveryMs: 0,
    stuckAfterMinutes: 0.1,
    faults: { throttleRate: 0, seed: 6 },
  });
  await makeClip(clip, { width: 160, height: 90, seconds: 2 });
  creator = await ApiClient.signUp(platform, 'faults');
}, 180_000);

afterAll(async () => {
  await platform?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sfn = () => localSfn(platform);
const executionsOf = async (id: string) =>
  ((await sfn().send(new ListExecutionsCommand({ stateMachineArn: platform.workflowArn }))).executions ?? [])
    .filter((e) => e.name!.startsWith(`${id}-`))
    .map((e) => ({ name: e.name!, status: e.status! }));

/** Objects under the video's media prefix (one set of media per video: no leftovers of another run). */
async function mediaKeys(id: string): Promise<string[]> {
  const listed = await localS3(platform).send(new ListObjectsV2Command({ Bucket: platform.mediaBucket, Prefix: `videos/${id}/` }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

/** The owner's list, every page: ids as listed (duplicates would show twice). */
async function listedIds(client: RetryingClient): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const { status, body } = await client.request('GET', `/api/v1/me/videos?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(status).toBe(200);
    ids.push(...body.items.map((v: { id: string }) => v.id));
    cursor = body.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

/** The SQS message the starter gets for a stored source (S3 → EventBridge → SQS). */
function objectCreated(id: string, messageId: string): SQSEvent {
  return {
    Records: [
      {
        messageId,
        receiptHandle: messageId,
        body: JSON.stringify({
          'detail-type': 'Object Created',
          source: 'aws.s3',
          detail: { bucket: { name: platform.rawBucket }, object: { key: `uploads/${id}/source` } },
        }),
        attributes: {} as never,
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:upload-events',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

const starter = async () => (await import('../../lambdas/handlers/events/start-transcode.ts')).handler;

describe('throttling', () => {
  it('ends every pipeline ready with each dependency throttled on 20% of calls, and the API only ever says "retry"', async () => {
    const client = new RetryingClient(creator);
    platform.faults.throttle(0.2);
    try {
      const ids = await Promise.all(Array.from({ length: 5 }, (_, n) => uploadResiliently(client, clip, { title: `throttled ${n}` })));
      // Reads, edits and searches under throttling too (the stream route reads a secret).
      await Promise.all(
        ids.flatMap((id) => [
          client.request('GET', `/api/v1/videos/${id}`),
          client.request('PATCH', `/api/v1/videos/${id}`, { description: 'edited while throttled' }),
          client.request('GET', `/api/v1/search/videos?q=throttled`),
        ]),
      );
      const outcomes = await Promise.all(ids.map((id) => outcomeOf(client, id)));
      expect(outcomes.map((o) => o.status)).toEqual(ids.map(() => 'ready'));
      for (const id of ids) {
        expect((await client.request('GET', `/api/v1/videos/${id}/stream`)).status).toBe(200);
        expect((await client.request('GET', `/api/v1/videos/${id}`)).body.description).toBe('edited while throttled');
        expect((await executionsOf(id)).filter((e) => e.status === 'SUCCEEDED')).toHaveLength(1);
      }
      expect(client.problems()).toEqual([]);
      const stats = platform.faults.stats();
      for (const service of ['s3', 'dynamodb', 'sfn', 'secrets'] as const) {
        expect(stats[service].throttled, `${service} was throttled`).toBeGreaterThan(0);
      }
    } finally {
      platform.faults.throttle(0);
    }
  }, 180_000);
});

describe('a dependency stopped under load', () => {
  it('answers 503 with Retry-After (never a 500, never a false success) while DynamoDB is down for 30 s, and finishes all 20 pipelines after', async () => {
    const client = new RetryingClient(creator);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, n) => uploadResiliently(client, clip, { title: `outage ${n}` })));
    const statuses = await Promise.all(ids.map(async (id) => (await creator.request('GET', `/api/v1/videos/${id}/status`)).body.status));
    const inFlight = statuses.filter((s) => s !== 'ready').length;

    // The sweeper runs every 2 s meanwhile, as a short schedule would.
    const sweeper = setInterval(() => void platform.sweep().catch(() => undefined), 2000);
    const answers: Answer[] = [];
    const writes: { kind: 'patch' | 'start'; id: string; title: string; status: number }[] = [];
    let loading = true;
    const load = (async () => {
      for (let n = 0; loading; n++) {
        const id = ids[n % ids.length]!;
        const title = `edited ${n}`;
        const calls: [string, string, unknown?][] = [
          ['GET', `/api/v1/videos/${id}`],
          ['GET', `/api/v1/videos/${id}/status`],
          ['GET', `/api/v1/search/videos?q=outage`],
          ['GET', `/api/v1/me/videos`],
          ['PATCH', `/api/v1/videos/${id}`, { title }],
          ...(n % 10 === 0
            ? [['POST', '/api/v1/videos/upload', { title: `late ${n}`, visibility: 'private', fileName: 'c.mp4', fileSize: 1000, contentType: 'video/mp4' }] as [string, string, unknown]]
            : []),
        ];
        await Promise.all(
          calls.map(async ([method, path, body]) => {
            const response = await creator.request(method, path, body);
            answers.push({ what: `${method} ${path}`, status: response.status, retryAfter: response.headers.get('retry-after'), body: response.body });
            if (method === 'PATCH') writes.push({ kind: 'patch', id, title, status: response.status });
            if (method === 'POST') writes.push({ kind: 'start', id: (response.body as { id?: string })?.id ?? '', title: `late ${n}`, status: response.status });
          }),
        );
        await sleep(100);
      }
    })();

    const outageStarted = Date.now();
    await platform.faults.outage('dynamodb', 30_000);
    const outageMs = Date.now() - outageStarted;
    await sleep(2000);
    loading = false;
    await load;

    const outcomes = await Promise.all(ids.map((id) => outcomeOf(client, id, 240_000)));
    clearInterval(sweeper);
    expect(outageMs).toBeGreaterThanOrEqual(30_000);
    expect(inFlight, 'pipelines still running when DynamoDB stopped').toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 503).length, 'the outage was seen by the API').toBeGreaterThan(0);
    expect(answers.map(problemWith).filter(Boolean)).toEqual([]);
    expect(outcomes.map((o) => o.status)).toEqual(ids.map(() => 'ready'));

    // No false success: every write answered 2xx happened.
    for (const write of writes.filter((w) => w.status < 300)) {
      const { body } = await client.request('GET', `/api/v1/videos/${write.id}`);
      if (write.kind === 'start') expect(body.title).toBe(write.title);
      else expect(body.version, `PATCH ${write.title} of ${write.id}`).toBeGreaterThan(1);
    }
    // Nothing lost, nothing twice: each video ready once, listed once, one successful run each.
    const started = writes.filter((w) => w.kind === 'start' && w.status === 201).map((w) => w.id);
    const listed = await listedIds(client);
    expect(new Set(listed).size).toBe(listed.length);
    for (const id of [...ids, ...started]) expect(listed).toContain(id);
    for (const id of ids) {
      expect((await executionsOf(id)).filter((e) => e.status === 'SUCCEEDED'), id).toHaveLength(1);
    }
    expect(client.problems()).toEqual([]);
  }, 300_000);
});

describe('duplicate and out-of-order events', () => {
  it('starts one execution when the S3 event comes first, the API second, and the event twice', async () => {
    const client = new RetryingClient(creator);
    // Step Functions refuses every start, so the complete call cannot start the run...
    platform.faults.throttle(1, ['sfn']);
    const raw = new ApiClient(creator.baseUrl, creator.idToken, creator.email);
    let id: string;
    try {
      id = await uploadResilientlyButComplete(client, raw);
    } finally {
      platform.faults.throttle(0, ['sfn']);
    }
    // ...then the event arrives (twice, at once), and only then the client's retried complete.
    const handler = await starter();
    const results = await Promise.all([handler(objectCreated(id, 'e-1')), handler(objectCreated(id, 'e-2'))]);
    for (const result of results) expect(result.batchItemFailures).toEqual([]);
    const again = await client.request('POST', `/api/v1/videos/${id}/upload/complete`, { parts: lastParts });
    expect(again.status).toBe(200);
    expect((await outcomeOf(client, id)).status).toBe('ready');
    // A stale event for a video long done starts nothing.
    expect((await handler(objectCreated(id, 'e-3'))).batchItemFailures).toEqual([]);
    expect(await executionsOf(id)).toEqual([{ name: `${id}-g1`, status: 'SUCCEEDED' }]);
  }, 120_000);

  it('changes nothing when an execution of another generation runs against a ready video', async () => {
    const client = new RetryingClient(creator);
    const id = await uploadResiliently(client, clip, { title: 'generation guard' });
    expect((await outcomeOf(client, id)).status).toBe('ready');
    const before = await mediaKeys(id);
    // A run for a generation the video is not at: its claim is refused, and its Fail step leaves the video alone.
    await sfn().send(
      new StartExecutionCommand({ stateMachineArn: platform.workflowArn, name: `${id}-g5`, input: JSON.stringify({ videoId: id, generation: 5 }) }),
    );
    await until(async () => (await executionsOf(id)).every((e) => e.status !== 'RUNNING'));
    expect(await executionsOf(id)).toEqual(expect.arrayContaining([{ name: `${id}-g5`, status: 'FAILED' }, { name: `${id}-g1`, status: 'SUCCEEDED' }]));
    const { body } = await client.request('GET', `/api/v1/videos/${id}/status`);
    expect(body.status).toBe('ready');
    expect(await mediaKeys(id)).toEqual(before);
  }, 120_000);

  it('indexes a video once when its stream records are replayed, in order or as a retried batch', async () => {
    const client = new RetryingClient(creator);
    const word = `replay${Date.now().toString(36)}`;
    const id = await uploadResiliently(client, clip, { title: `${word} first` });
    expect((await outcomeOf(client, id)).status).toBe('ready');
    const dynamo = new DynamoDBClient({ endpoint: platform.dynamoEndpoint, region: 'us-east-1', credentials: localCredentials });
    const image = async () =>
      (await dynamo.send(new GetItemCommand({ TableName: platform.tableName, Key: { pk: { S: `VIDEO#${id}` }, sk: { S: 'VIDEO' } }, ConsistentRead: true }))).Item!;
    const first = await image();
    expect((await client.request('PATCH', `/api/v1/videos/${id}`, { title: `${word} second` })).status).toBe(200);
    await platform.idle();
    const second = await image();
    const record = (n: number, newImage: typeof first, oldImage: typeof first) => ({
      eventID: `replay-${n}`,
      eventName: 'MODIFY' as const,
      eventSource: 'aws:dynamodb',
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/replay/stream/1',
      awsRegion: 'us-east-1',
      dynamodb: { Keys: { pk: first['pk']!, sk: first['sk']! } as never, NewImage: newImage as never, OldImage: oldImage as never, SequenceNumber: String(n), StreamViewType: 'NEW_AND_OLD_IMAGES' as const },
    });
    const { handler } = await import('../../lambdas/handlers/events/index-videos.ts');
    const change: DynamoDBStreamEvent = { Records: [record(1, first, first), record(2, second, first)] };
    // The same batch twice (a retry), then its tail alone (a retry from a failed record).
    for (const event of [change, change, { Records: change.Records.slice(1) }]) {
      expect(await handler(event, { awsRequestId: 'replay', functionName: 'IndexVideos' } as never)).toEqual({ batchItemFailures: [] });
    }
    await sleep(1100); // search functions re-read the snapshot at most once a second
    const { body } = await client.request('GET', `/api/v1/search/videos?q=${word}`);
    expect(body.items.map((v: { id: string; title: string }) => [v.id, v.title])).toEqual([[id, `${word} second`]]);
  }, 120_000);
});

describe('redrive', () => {
  it('starts a video once from its dead-lettered upload event after Step Functions was down', async () => {
    const client = new RetryingClient(creator);
    const raw = new ApiClient(creator.baseUrl, creator.idToken, creator.email);
    await platform.faults.stop('sfn');
    let id: string;
    try {
      // The complete call answers 503 (the run could not start) and this client does not retry it;
      // the starter fails the upload event five times and the queue dead-letters it.
      id = await uploadResilientlyButComplete(client, raw);
      // S3 may deliver an event again; here it is the one that arrives once the video is `uploaded`
      // (locally the first one can come before the complete call has recorded it).
      const s3 = localS3(platform);
      const key = `uploads/${id}/source`;
      const source = await (await s3.send(new GetObjectCommand({ Bucket: platform.rawBucket, Key: key }))).Body!.transformToByteArray();
      await s3.send(new PutObjectCommand({ Bucket: platform.rawBucket, Key: key, Body: source }));
      const deadline = Date.now() + 60_000;
      while (!platform.uploadDeadLetters.list().some((m) => m.body.includes(id)) && Date.now() < deadline) await sleep(200);
      expect(platform.uploadDeadLetters.list().filter((m) => m.body.includes(id)).length).toBeGreaterThan(0);
    } finally {
      await platform.faults.start('sfn');
    }
    expect((await raw.request('GET', `/api/v1/videos/${id}/status`)).body.status).toBe('uploaded');
    await sleep(2500); // any delivery still retrying is dead-lettered too
    expect((await platform.uploadDeadLetters.redrive()).moved).toBeGreaterThan(0);
    expect((await outcomeOf(client, id)).status).toBe('ready');
    expect(await platform.uploadDeadLetters.redrive()).toEqual({ moved: 0 });
    expect(await executionsOf(id)).toEqual([{ name: `${id}-g1`, status: 'SUCCEEDED' }]);
    expect(platform.uploadDeadLetters.list()).toEqual([]);
  }, 120_000);

  it('restarts an execution that ended without a verdict under a new generation, once, and ends ready with one set of media', async () => {
    const client = new RetryingClient(creator);
    // The run dies part-way and cannot record why: DynamoDB goes away (the run waits in its
    // retries, unable to publish) and the execution is stopped meanwhile.
    const id = await uploadResiliently(client, clip, { title: 'redriven' });
    await platform.faults.stop('dynamodb');
    try {
      const first = `${platform.workflowArn.replace(':stateMachine:', ':execution:')}:${id}-g1`;
      await sfn().send(new StopExecutionCommand({ executionArn: first }));
      await until(async () => (await executionsOf(id)).every((e) => e.status !== 'RUNNING'));
    } finally {
      await platform.faults.start('dynamodb');
    }
    expect(await executionsOf(id)).toEqual([{ name: `${id}-g1`, status: 'ABORTED' }]);
    expect((await client.request('GET', `/api/v1/videos/${id}/status`)).body.status).not.toBe('ready');
    await sleep(6500); // stuck for longer than the sweeper's deadline (0.1 min here)
    await platform.sweep();
    await platform.sweep(); // a second sweep while it runs changes nothing
    expect((await outcomeOf(client, id)).status).toBe('ready');
    await platform.sweep();
    expect((await executionsOf(id)).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: `${id}-g1`, status: 'ABORTED' },
      { name: `${id}-g2`, status: 'SUCCEEDED' },
    ]);
    const keys = await mediaKeys(id);
    expect(keys.filter((k) => k.endsWith('master.m3u8'))).toHaveLength(1);
    expect(new Set(keys).size).toBe(keys.length);
  }, 120_000);
});

let lastParts: { partNumber: number; etag: string }[] = [];

/** Polls until `condition` holds (at most a minute). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 60 s');
    await sleep(200);
  }
}

/**
 * Start and parts through the retrying client; the complete call once, through the raw client,
 * which must answer 503 (its run could not start). Leaves the parts in `lastParts`.
 */
async function uploadResilientlyButComplete(client: RetryingClient, raw: ApiClient): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const file = await readFile(clip);
  const start = await client.request('POST', '/api/v1/videos/upload', {
    title: 'event order',
    visibility: 'private',
    fileName: 'clip.mp4',
    fileSize: file.length,
    contentType: 'video/mp4',
  });
  expect(start.status).toBe(201);
  lastParts = await Promise.all(
    start.body.parts.map(async (part: { partNumber: number; size: number; url: string }) => {
      const from = (part.partNumber - 1) * start.body.partSize;
      const response = await fetch(part.url, { method: 'PUT', body: file.subarray(from, from + part.size) });
      expect(response.status).toBe(200);
      return { partNumber: part.partNumber, etag: response.headers.get('etag')! };
    }),
  );
  const complete = await raw.request('POST', `/api/v1/videos/${start.body.id}/upload/complete`, { parts: lastParts });
  expect(complete.status, JSON.stringify(complete.body)).toBe(503);
  expect(problemWith({ what: 'complete', status: complete.status, retryAfter: complete.headers.get('retry-after'), body: complete.body })).toBeUndefined();
  return start.body.id;
}
