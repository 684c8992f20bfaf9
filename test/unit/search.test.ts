import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SearchQuery, type VideoCardPage } from '#contracts/api';
import { EmbeddedSearchIndex, SnapshotSearchIndex } from '#adapters/embedded-search-index';
import { HmacCursorSigner } from '#adapters/hmac-cursor-signer';
import { ConflictError, UnavailableError, ValidationError } from '#domain/errors';
import type { SearchDocument, SnapshotStore } from '#domain/ports';
import { Search, scoreOf } from '#domain/search';

const secrets = mockClient(SecretsManagerClient);
const KEY = 'k'.repeat(40);

let nowMs = Date.parse('2026-11-25T12:00:00Z');
const clock = { now: () => new Date(nowMs) };

function doc(over: Partial<SearchDocument> & { id: string }): SearchDocument {
  return {
    ownerId: 'alice',
    title: 'Untitled',
    description: '',
    tags: [],
    visibility: 'public',
    status: 'ready',
    createdAt: '2026-11-01T00:00:00.000Z',
    views: 3,
    trend: 0,
    trendAt: nowMs,
    indexedAt: nowMs - 1000,
    ...over,
  };
}
const id = (n: number) => `vid${String(n).padStart(8, '0')}`;
const query = (q: Record<string, string>) => SearchQuery.parse(q);
/** Lets background work on already-resolved promises finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('Search', () => {
  let index: EmbeddedSearchIndex;
  let search: Search;
  beforeEach(() => {
    secrets.reset();
    secrets.on(GetSecretValueCommand, { SecretId: 'cursor-key' }).resolves({ SecretString: JSON.stringify({ key: KEY }) });
    index = new EmbeddedSearchIndex();
    search = new Search({ index, signer: new HmacCursorSigner(new SecretsManagerClient({}), 'cursor-key'), clock });
  });

  async function allPages(viewer: string | undefined, q: Record<string, string>, between?: (page: number) => Promise<void>) {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const result: VideoCardPage = await search.search(viewer, query({ ...q, ...(cursor ? { cursor } : {}) }));
      seen.push(...result.items.map((c) => c.id));
      await between?.(page);
      if (!result.nextCursor) return seen;
      cursor = result.nextCursor;
    }
    throw new Error('paging did not end');
  }

  it('returns every result exactly once across pages while new videos are indexed', async () => {
    await index.upsert(Array.from({ length: 47 }, (_, i) => doc({ id: id(i), title: i % 4 ? 'Skateboard tricks' : 'Skateboard', description: 'tricks' })));
    const seen = await allPages(undefined, { q: 'skateboard tricks', page_size: '10' }, async (page) => {
      nowMs += 1000;
      await index.upsert([doc({ id: id(900 + page), title: 'Skateboard tricks tricks', createdAt: new Date(nowMs).toISOString(), indexedAt: nowMs })]);
      // A video of the first page gets a view (and so is re-indexed): it must not come back or vanish.
      await index.upsert([doc({ id: id(page * 4), title: 'Skateboard', description: 'tricks', views: 99, indexedAt: nowMs })]);
    });
    expect(seen).toHaveLength(47);
    expect(new Set(seen).size).toBe(47);
  });

  it('shows cards with public metadata only, and no cursor on the last page', async () => {
    await index.upsert([doc({ id: id(1), title: 'Sushi at home', durationSeconds: 61 })]);
    const page = await search.search(undefined, query({ q: 'sushi' }));
    expect(page).toEqual({
      items: [
        {
          id: id(1),
          ownerId: 'alice',
          title: 'Sushi at home',
          description: '',
          tags: [],
          visibility: 'public',
          durationSeconds: 61,
          views: 3,
          createdAt: '2026-11-01T00:00:00.000Z',
        },
      ],
    });
  });

  it("finds the caller's own private video, and hides it from everyone else", async () => {
    await index.upsert([doc({ id: id(1), title: 'Private diary', visibility: 'private' })]);
    expect((await search.search('alice', query({ q: 'diary' }))).items.map((c) => c.id)).toEqual([id(1)]);
    expect((await search.search('bob', query({ q: 'diary' }))).items).toEqual([]);
    expect((await search.search(undefined, query({ q: 'diary' }))).items).toEqual([]);
  });

  describe('cursor', () => {
    let cursor: string;
    beforeEach(async () => {
      await index.upsert(Array.from({ length: 5 }, (_, i) => doc({ id: id(i), title: 'Tea ceremony', tags: ['japan'] })));
      cursor = (await search.search(undefined, query({ q: 'tea', tags: 'japan', page_size: '2' }))).nextCursor!;
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    });

    const rejects = async (q: Record<string, string>, message: RegExp) => {
      const error = await search.search(undefined, query(q)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(/^cursor: /);
      expect((error as ValidationError).message).toMatch(message);
      expect((error as ValidationError).details).toEqual([(error as ValidationError).message]);
    };

    it('carries the seed fields in base64url JSON', () => {
      const payload = JSON.parse(Buffer.from(cursor.split('.')[0]!, 'base64url').toString('utf8'));
      expect(payload).toEqual({
        search_timestamp_ms: nowMs,
        last_video_id: id(1),
        last_score: 3,
        query_hash: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    });

    it('continues the same search, with q in another case or spacing, and tags in another order', async () => {
      const next = await search.search(undefined, query({ q: '  TEA ', tags: 'Japan', page_size: '2', cursor }));
      expect(next.items.map((c) => c.id)).toEqual([id(2), id(3)]);
    });

    it('rejects a cursor reused with another q or other tags', async () => {
      await rejects({ q: 'coffee', tags: 'japan', cursor }, /another search/);
      await rejects({ q: 'tea', cursor }, /another search/);
      await rejects({ q: 'tea', tags: 'japan,china', cursor }, /another search/);
    });

    it('rejects a forged cursor (a payload signed with another key, or not signed)', async () => {
      const payload = Buffer.from(JSON.stringify({ search_timestamp_ms: nowMs, last_video_id: id(0), last_score: 0, query_hash: '0'.repeat(32) })).toString('base64url');
      await rejects({ q: 'tea', tags: 'japan', cursor: `${payload}.${'A'.repeat(22)}` }, /not issued by this API or was altered/);
      await rejects({ q: 'tea', tags: 'japan', cursor: payload }, /not issued/);
      await rejects({ q: 'tea', tags: 'japan', cursor: 'garbage' }, /not issued/);
    });

    it('rejects a tampered cursor (its payload changed, signature kept)', async () => {
      const [body, signature] = cursor.split('.');
      const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8'));
      const changed = Buffer.from(JSON.stringify({ ...payload, last_score: 0 })).toString('base64url');
      await rejects({ q: 'tea', tags: 'japan', cursor: `${changed}.${signature}` }, /altered/);
    });

    it('fails as unavailable (not as a bad cursor) when the key cannot be read', async () => {
      secrets.reset();
      secrets.on(GetSecretValueCommand).rejects(new Error('throttled'));
      const fresh = new Search({ index, signer: new HmacCursorSigner(new SecretsManagerClient({}), 'cursor-key'), clock });
      await expect(fresh.search(undefined, query({ q: 'tea', tags: 'japan', cursor }))).rejects.toBeInstanceOf(UnavailableError);
    });
  });
});

describe('scoreOf', () => {
  it('sums, per query term, the best field weight × match kind', () => {
    expect(scoreOf([[{ field: 'title', kind: 'exact' }], [{ field: 'description', kind: 'fuzzy' }, { field: 'tags', kind: 'prefix' }]])).toBe(4.6);
    expect(scoreOf([[], [{ field: 'tags', kind: 'exact' }]])).toBe(2);
  });
});

/** A snapshot store in memory with S3's conditional-write semantics. */
class MemorySnapshotStore implements SnapshotStore {
  body: string | undefined;
  version = 0;
  loads = 0;
  etagChecks = 0;
  /** Saves to fail with a conflict (someone else wrote first) before succeeding. */
  conflicts = 0;

  load() {
    this.loads++;
    return Promise.resolve(this.body === undefined ? undefined : { body: this.body, etag: `"${this.version}"` });
  }
  save(body: string, ifMatch: string | undefined) {
    const current = this.body === undefined ? undefined : `"${this.version}"`;
    if (this.conflicts > 0 || ifMatch !== current) {
      this.conflicts = Math.max(0, this.conflicts - 1);
      return Promise.reject(new ConflictError('changed'));
    }
    this.body = body;
    this.version++;
    return Promise.resolve(`"${this.version}"`);
  }
  etag() {
    this.etagChecks++;
    return Promise.resolve(this.body === undefined ? undefined : `"${this.version}"`);
  }
}

describe('EmbeddedSearchIndex snapshots', () => {
  it('round-trips through a JSON snapshot with the same hits and scores', async () => {
    const index = new EmbeddedSearchIndex();
    await index.upsert(Array.from({ length: 20 }, (_, i) => doc({ id: id(i), title: `Lesson ${i} guitar`, tags: ['music'], description: 'chords' })));
    await index.remove([id(3)]);
    const restored = EmbeddedSearchIndex.fromSnapshot(index.toSnapshot());
    const request = { text: 'guitr chords', tags: ['music'], limit: 50 };
    expect(await restored.search(request)).toEqual(await index.search(request));
    expect(restored.size).toBe(19);
    // The restored index keeps working: updates and removals apply.
    await restored.upsert([doc({ id: id(4), title: 'Drums' })]);
    expect((await restored.search({ text: 'guitar', limit: 50 })).map((h) => h.doc.id)).not.toContain(id(4));
  });

  it('rebuilds from a snapshot in slices, letting other work run in between, to the same index', async () => {
    const index = new EmbeddedSearchIndex();
    await index.upsert(Array.from({ length: 100 }, (_, i) => doc({ id: id(i), title: `Lesson ${i} guitar`, description: i % 2 ? 'chords' : 'scales' })));
    // Other work, as a chain of event-loop turns: it runs only when the rebuild yields.
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const restored = await EmbeddedSearchIndex.fromSnapshotInSlices(index.toSnapshot(), 10);
    done = true;
    // Ten slices: nine yields, each letting a turn of other work run.
    expect(ticks).toBeGreaterThanOrEqual(8);
    const request = { text: 'guitr chords', limit: 100 };
    expect(await restored.search(request)).toEqual(await index.search(request));
    expect(restored.size).toBe(100);
  });

  it('gives the same pages on a query\'s first ask (picked unsorted) as once it is sorted', async () => {
    const docs = Array.from({ length: 300 }, (_, i) =>
      doc({
        id: id((i * 37) % 300),
        title: ['violin scales', 'violin', 'piano scales', 'viola'][i % 4]!,
        description: i % 3 ? 'scales etudes' : 'etudes',
        tags: i % 5 ? ['music'] : ['lesson'],
        visibility: i % 7 ? 'public' : 'private',
        ownerId: i % 2 ? 'alice' : 'bob',
        createdAt: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 60_000).toISOString(),
      }),
    );
    const warm = new EmbeddedSearchIndex();
    await warm.upsert(docs);
    const requests = [
      { text: 'violin scales', limit: 7 },
      { text: 'viloin', limit: 20, viewerId: 'bob' },
      { text: 'scales', limit: 5, tags: ['music'], asOf: Date.parse('2026-11-01T03:00:00Z') },
      { text: '', limit: 9, tags: ['lesson'] },
    ];
    for (const request of requests) {
      await warm.search(request);
      await warm.search(request); // asked twice: now answered from the sorted list
      let after: { score: number; id: string } | undefined;
      for (let page = 0; page < 4; page++) {
        const fresh = new EmbeddedSearchIndex();
        await fresh.upsert(docs);
        const asked = { ...request, ...(after ? { after } : {}) };
        const first = await fresh.search(asked);
        expect(first, JSON.stringify(asked)).toEqual(await warm.search(asked));
        if (first.length === 0) break;
        const last = first.at(-1)!;
        after = { score: last.score, id: last.doc.id };
      }
    }
  });

  it('returns the same top hits whether a page is small or large', async () => {
    const index = new EmbeddedSearchIndex();
    await index.upsert(Array.from({ length: 300 }, (_, i) => doc({ id: id(i), title: i % 7 ? 'violin scales' : 'violin', description: i % 3 ? 'scales' : 'etudes' })));
    const all = await index.search({ text: 'violin scales', limit: 1000 });
    expect(all).toHaveLength(300);
    expect(await index.search({ text: 'violin scales', limit: 25 })).toEqual(all.slice(0, 25));
    const after = { score: all[40]!.score, id: all[40]!.doc.id };
    expect(await index.search({ text: 'violin scales', limit: 25, after })).toEqual(all.slice(41, 66));
  });

  it('answers a repeated query from its ranked list, and forgets that list on every change', async () => {
    const index = new EmbeddedSearchIndex();
    await index.upsert([doc({ id: id(1), title: 'Cello suite' }), doc({ id: id(2), title: 'Cello tuning' })]);
    expect((await index.search({ text: 'cello', limit: 5 })).map((h) => h.doc.id)).toEqual([id(1), id(2)]);
    await index.remove([id(1)]);
    expect((await index.search({ text: 'cello', limit: 5 })).map((h) => h.doc.id)).toEqual([id(2)]);
    await index.upsert([doc({ id: id(0), title: 'Cello' })]);
    expect((await index.search({ text: 'cello', limit: 5 })).map((h) => h.doc.id)).toEqual([id(0), id(2)]);
    await index.upsert([doc({ id: id(0), title: 'Viola' })]);
    expect((await index.search({ text: 'cello', limit: 5 })).map((h) => h.doc.id)).toEqual([id(2)]);
  });

  it('reads a version-1 snapshot (documents plus a MiniSearch index) by rebuilding its terms from the documents', async () => {
    const current = new EmbeddedSearchIndex();
    await current.upsert([doc({ id: id(1), title: 'Harbor at dawn', tags: ['travel'] }), doc({ id: id(2), title: 'Kitchen', description: 'harbor fish' })]);
    const { docs } = JSON.parse(current.toSnapshot()) as { docs: unknown[] };
    const restored = EmbeddedSearchIndex.fromSnapshot(JSON.stringify({ v: 1, docs, engine: { documentCount: 2, index: [] } }));
    expect(restored.size).toBe(2);
    expect(await restored.search({ text: 'harbr', limit: 5 })).toEqual(await current.search({ text: 'harbr', limit: 5 }));
  });

  it('refuses a snapshot of another format', () => {
    expect(() => EmbeddedSearchIndex.fromSnapshot('{"v":99}')).toThrow(/version 1/);
  });
});

describe('SnapshotSearchIndex', () => {
  let store: MemorySnapshotStore;
  let now: number;
  beforeEach(() => {
    store = new MemorySnapshotStore();
    now = 0;
  });

  it('serves searches from the snapshot, checking its ETag at most once a second', async () => {
    const writer = new SnapshotSearchIndex(store, () => now);
    const reader = new SnapshotSearchIndex(store, () => now);
    await writer.upsert([doc({ id: id(1), title: 'Bonsai care' })]);
    expect((await reader.search({ text: 'bonsai', limit: 5 })).map((h) => h.doc.id)).toEqual([id(1)]);

    await writer.upsert([doc({ id: id(2), title: 'Bonsai tools' })]);
    const checks = store.etagChecks;
    now += 500;
    expect(await reader.search({ text: 'bonsai', limit: 5 })).toHaveLength(1);
    expect(store.etagChecks).toBe(checks);
    now += 600;
    // The due check runs in the background: this answer still comes from the index in hand...
    expect(await reader.search({ text: 'bonsai', limit: 5 })).toHaveLength(1);
    await settle();
    // ...and the next one from the new snapshot, without another check.
    expect(await reader.search({ text: 'bonsai', limit: 5 })).toHaveLength(2);
    expect(store.etagChecks).toBe(checks + 1);
  });

  it('keeps answering from the index in hand when a check fails', async () => {
    const reader = new SnapshotSearchIndex(store, () => now);
    await new SnapshotSearchIndex(store, () => now).upsert([doc({ id: id(1), title: 'Bonsai care' })]);
    expect(await reader.search({ text: 'bonsai', limit: 5 })).toHaveLength(1);
    store.etag = () => Promise.reject(new Error('S3 is down'));
    now += 2000;
    expect(await reader.search({ text: 'bonsai', limit: 5 })).toHaveLength(1);
    await settle();
    expect(await reader.search({ text: 'bonsai', limit: 5 })).toHaveLength(1);
  });

  it('does not reload an unchanged snapshot', async () => {
    await new SnapshotSearchIndex(store, () => now).upsert([doc({ id: id(1), title: 'Bonsai care' })]);
    const reader = new SnapshotSearchIndex(store, () => now);
    await reader.search({ text: 'bonsai', limit: 5 });
    const loads = store.loads;
    for (let i = 0; i < 5; i++) {
      now += 2000;
      await reader.search({ text: 'bonsai', limit: 5 });
    }
    expect(store.loads).toBe(loads);
    expect(store.etagChecks).toBeGreaterThanOrEqual(5);
  });

  it('serves an empty index before the first snapshot', async () => {
    expect(await new SnapshotSearchIndex(store, () => now).search({ text: 'x', limit: 5 })).toEqual([]);
  });

  it('retries a write that lost a race, keeping both writers’ changes', async () => {
    const a = new SnapshotSearchIndex(store, () => now);
    const b = new SnapshotSearchIndex(store, () => now);
    await Promise.all([a.upsert([doc({ id: id(1), title: 'Kayak rolls' })]), b.upsert([doc({ id: id(2), title: 'Kayak camping' })])]);
    const both = await new SnapshotSearchIndex(store, () => now).search({ text: 'kayak', limit: 5 });
    expect(both.map((h) => h.doc.id)).toEqual([id(1), id(2)]);
    store.conflicts = 2;
    await a.remove([id(1)]);
    const reader = new SnapshotSearchIndex(store, () => now);
    expect((await reader.search({ text: 'kayak', limit: 5 })).map((h) => h.doc.id)).toEqual([id(2)]);
    expect(store.conflicts).toBe(0);
  });

  it('gives up after repeated conflicts with the conflict', async () => {
    store.conflicts = 100;
    await expect(new SnapshotSearchIndex(store, () => now).upsert([doc({ id: id(1) })])).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('search composition', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    vi.resetModules();
  });

  it('builds the embedded index over the snapshot object by default', async () => {
    Object.assign(process.env, { SEARCH_SNAPSHOT_BUCKET: 'media', SEARCH_SNAPSHOT_KEY: 'search/videos.json', SEARCH_CURSOR_SECRET: 'arn:secret' });
    delete process.env['SEARCH_BACKEND'];
    const { searchIndex, searchDeps } = await import('#composition/search');
    expect(searchIndex()).toBeInstanceOf((await import('#adapters/embedded-search-index')).SnapshotSearchIndex);
    expect(searchDeps().search).toBeInstanceOf(Search);
  });

  it('builds the OpenSearch index when SEARCH_BACKEND is opensearch', async () => {
    Object.assign(process.env, { SEARCH_BACKEND: 'opensearch', OPENSEARCH_ENDPOINT: 'https://search-vodstack.eu-west-1.es.amazonaws.com' });
    const { searchIndex } = await import('#composition/search');
    expect(searchIndex()).toBeInstanceOf((await import('#adapters/opensearch-search-index')).OpenSearchSearchIndex);
  });

  it('fails loudly when the chosen backend has no location', async () => {
    Object.assign(process.env, { SEARCH_BACKEND: 'opensearch' });
    delete process.env['OPENSEARCH_ENDPOINT'];
    const { searchIndex } = await import('#composition/search');
    expect(() => searchIndex()).toThrow(/OPENSEARCH_ENDPOINT must be set/);
  });
});
