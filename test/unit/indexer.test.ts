import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SnapshotSearchIndex } from '#adapters/embedded-search-index';
import { ConflictError } from '#domain/errors';
import { Indexer } from '#domain/indexer';
import type { SearchDocument, SearchIndex, SnapshotStore } from '#domain/ports';
import { handler } from '#handlers/events/index-videos';
import { FakeClock, InMemorySearchIndex } from '../fakes/in-memory.ts';

let index: SearchIndex;
let clock: FakeClock;
vi.mock('#composition/indexing', () => ({ indexingDeps: () => ({ indexer: new Indexer({ index, clock }) }) }));

beforeEach(() => {
  index = new InMemorySearchIndex();
  clock = new FakeClock('2026-01-02T03:04:05.000Z');
});

/** A video item as `DynamoVideoRepository` stores it. */
function videoItem(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pk: `VIDEO#${id}`,
    sk: 'VIDEO',
    gsi1pk: 'OWNER#alice',
    gsi1sk: `VIDEO#2026-01-01T00:00:00.000Z#${id}`,
    entity: 'video',
    id,
    ownerId: 'alice',
    title: `Title of ${id}`,
    description: 'A description',
    tags: ['cats'],
    visibility: 'public',
    status: 'ready',
    fileName: 'clip.mp4',
    fileSize: 1234,
    contentType: 'video/mp4',
    rawKey: `uploads/${id}/source`,
    uploadId: 'u1',
    partSize: 8388608,
    generation: 1,
    version: 3,
    chunksDone: new Set([0, 1]),
    media: { durationSeconds: 42.5, width: 1280, height: 720, renditions: [], hlsMaster: 'm', dashManifest: 'd', poster: 'p', candidates: [], storyboard: 's', storyboardVtt: 'v' },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:10:00.000Z',
    ...overrides,
  };
}

let sequence = 0;
function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', item: Record<string, unknown>, old?: Record<string, unknown>): DynamoDBRecord {
  sequence++;
  const keys = { pk: item['pk'], sk: item['sk'] };
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      SequenceNumber: String(1000 + sequence),
      Keys: marshall(keys) as never,
      ...(eventName === 'REMOVE' ? {} : { NewImage: marshall(item, { removeUndefinedValues: true }) as never }),
      ...(old ? { OldImage: marshall(old, { removeUndefinedValues: true }) as never } : {}),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const run = (...records: DynamoDBRecord[]) => handler({ Records: records } satisfies DynamoDBStreamEvent);
const docs = () => (index as InMemorySearchIndex).docs;

describe('indexer: table stream → search index', () => {
  it('indexes a new video item with the fields search uses, counts defaulting to 0', async () => {
    const result = await run(record('INSERT', videoItem('v1')));
    expect(result.batchItemFailures).toEqual([]);
    expect(docs().get('v1')).toEqual<SearchDocument>({
      id: 'v1',
      ownerId: 'alice',
      title: 'Title of v1',
      description: 'A description',
      tags: ['cats'],
      visibility: 'public',
      status: 'ready',
      createdAt: '2026-01-01T00:00:00.000Z',
      durationSeconds: 42.5,
      views: 0,
      trend: 0,
      trendAt: 0,
      indexedAt: clock.now().getTime(),
    });
  });

  it('carries view counts and trend from the item', async () => {
    await run(record('INSERT', videoItem('v1', { views: 7, trend: 3.5, trendAt: 1_700_000_000_000 })));
    expect(docs().get('v1')).toMatchObject({ views: 7, trend: 3.5, trendAt: 1_700_000_000_000 });
  });

  it('indexes every video, private and unfinished ones too (search filters by viewer)', async () => {
    await run(record('INSERT', videoItem('v1', { visibility: 'private' })), record('INSERT', videoItem('v2', { status: 'processing', media: undefined })));
    expect(docs().get('v1')?.visibility).toBe('private');
    expect(docs().get('v2')).toMatchObject({ status: 'processing' });
    expect(docs().get('v2')).not.toHaveProperty('durationSeconds');
  });

  it('ignores items that are not videos (co-views, view dedupe, rate limits)', async () => {
    const coView = { pk: 'VIDEO#v1', sk: 'COVIEW#v2', count: 3 };
    const limit = { pk: 'LIMIT#alice', sk: 'LIMIT', slots: [] };
    const result = await run(record('INSERT', coView), record('INSERT', limit));
    expect(result.batchItemFailures).toEqual([]);
    expect(docs().size).toBe(0);
  });

  it('removes a deleted video from the index', async () => {
    await run(record('INSERT', videoItem('v1')));
    await run(record('REMOVE', videoItem('v1')));
    expect(docs().has('v1')).toBe(false);
  });

  it('applies an edit: the new title replaces the old', async () => {
    await run(record('INSERT', videoItem('v1')));
    clock.advance({ seconds: 5 });
    await run(record('MODIFY', videoItem('v1', { title: 'Renamed', version: 4 }), videoItem('v1')));
    expect(docs().get('v1')).toMatchObject({ title: 'Renamed', indexedAt: clock.now().getTime() });
  });

  it('lets the last change of each video in a batch win, in one upsert and one removal', async () => {
    const upsert = vi.spyOn(index, 'upsert');
    const remove = vi.spyOn(index, 'remove');
    await run(
      record('INSERT', videoItem('a')),
      record('MODIFY', videoItem('a', { title: 'A2' }), videoItem('a')),
      record('INSERT', videoItem('b')),
      record('REMOVE', videoItem('b')),
      record('REMOVE', videoItem('c')),
      record('INSERT', videoItem('c', { title: 'C again' })),
    );
    expect(upsert).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledTimes(1);
    expect(upsert.mock.calls[0]![0].map((d) => [d.id, d.title])).toEqual([
      ['a', 'A2'],
      ['c', 'C again'],
    ]);
    expect(remove.mock.calls[0]![0]).toEqual(['b']);
  });

  it('writes nothing for a change no indexed field sees (transcode progress)', async () => {
    const before = videoItem('v1', { status: 'processing', chunksDone: new Set([0]) });
    const after = videoItem('v1', { status: 'processing', chunksDone: new Set([0, 1]), updatedAt: '2026-01-01T00:11:00.000Z', version: 4 });
    const upsert = vi.spyOn(index, 'upsert');
    expect((await run(record('MODIFY', after, before))).batchItemFailures).toEqual([]);
    expect(upsert).not.toHaveBeenCalled();
  });

  it('reports an unreadable video item at its position, after applying the changes before it', async () => {
    const bad = record('INSERT', videoItem('bad', { visibility: 'everyone' }));
    const result = await run(record('INSERT', videoItem('ok')), bad, record('INSERT', videoItem('later')));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad.dynamodb!.SequenceNumber }]);
    expect(docs().has('ok')).toBe(true);
    expect(docs().has('later')).toBe(false); // retried from `bad` on, in order
  });

  it('reports the whole batch from its first video change when the index cannot be written', async () => {
    vi.spyOn(index, 'upsert').mockRejectedValue(new Error('storage unavailable'));
    const other = record('INSERT', { pk: 'LIMIT#x', sk: 'LIMIT' });
    const first = record('INSERT', videoItem('v1'));
    const result = await run(other, first, record('INSERT', videoItem('v2')));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: first.dynamodb!.SequenceNumber }]);
  });
});

/** A snapshot store in memory, whose ETag changes on every save; `race` saves once in between. */
class RacingSnapshotStore implements SnapshotStore {
  body: string | undefined;
  private version = 0;
  race: (() => Promise<void>) | undefined;
  saves = 0;
  conflicts = 0;

  async load() {
    return this.body === undefined ? undefined : { body: this.body, etag: `"${this.version}"` };
  }

  async etag() {
    return this.body === undefined ? undefined : `"${this.version}"`;
  }

  async save(body: string, ifMatch: string | undefined): Promise<string> {
    const race = this.race;
    this.race = undefined;
    if (race) await race();
    const current = this.body === undefined ? undefined : `"${this.version}"`;
    if (current !== ifMatch) {
      this.conflicts++;
      throw new ConflictError('the snapshot changed');
    }
    this.saves++;
    this.body = body;
    this.version++;
    return `"${this.version}"`;
  }
}

describe('indexer over the embedded snapshot', () => {
  it('retries on a conflicting save, so a concurrent writer\'s change and its own both survive', async () => {
    const store = new RacingSnapshotStore();
    const other = new SnapshotSearchIndex(store);
    index = new SnapshotSearchIndex(store);
    await run(record('INSERT', videoItem('first')));
    store.race = () => other.upsert([{ ...new Indexer({ index: other, clock }).document({ ...base('racer') }) }]);
    const result = await run(record('INSERT', videoItem('mine')));
    expect(result.batchItemFailures).toEqual([]);
    expect(store.conflicts).toBe(1);
    const reader = new SnapshotSearchIndex(store);
    const ids = (await reader.search({ limit: 10, viewerId: 'alice' })).map((h) => h.doc.id).sort();
    expect(ids).toEqual(['first', 'mine', 'racer']);
  });
});

function base(id: string) {
  return {
    id,
    ownerId: 'alice',
    title: `Title of ${id}`,
    description: '',
    tags: [],
    visibility: 'public' as const,
    status: 'ready' as const,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}
