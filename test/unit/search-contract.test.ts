import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedSearchIndex } from '#adapters/embedded-search-index';
import { INDEX_DEFINITION, OpenSearchSearchIndex } from '#adapters/opensearch-search-index';
import type { SearchDocument, SearchIndex } from '#domain/ports';
import { TREND_HALF_LIFE_MS } from '#domain/search';
import { FakeOpenSearch } from '../fakes/fake-opensearch.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
let seq = 0;

/** A ready public video; override what a case is about. */
function doc(over: Partial<SearchDocument> & { id: string }): SearchDocument {
  return {
    ownerId: 'alice',
    title: 'Untitled',
    description: '',
    tags: [],
    visibility: 'public',
    status: 'ready',
    createdAt: '2026-11-01T00:00:00.000Z',
    views: 0,
    trend: 0,
    trendAt: NOW,
    indexedAt: NOW - 1000 + seq++,
    ...over,
  };
}

/** 11-character ids, ordered by their number. */
const id = (n: number) => `vid${String(n).padStart(8, '0')}`;
const iso = (ms: number) => new Date(ms).toISOString();
const ids = (hits: { doc: SearchDocument }[]) => hits.map((h) => h.doc.id);

interface Backend {
  readonly index: SearchIndex;
  /** Checks the backend saw nothing malformed (the OpenSearch fake's request shapes). */
  readonly verify: () => void;
}

/**
 * The search port's contract, run against every adapter: the embedded engine directly, and the
 * OpenSearch adapter against a loopback endpoint that checks request shapes and answers from a
 * model. `fresh` builds an empty index per test.
 */
function searchIndexContract(name: string, fresh: () => Promise<Backend>) {
  describe(`${name}: the SearchIndex contract`, () => {
    let index: SearchIndex;
    let backend: Backend;
    beforeEach(async () => {
      backend = await fresh();
      index = backend.index;
    });
    const verified = () => backend.verify();

    it('ranks a title match above a description match', async () => {
      await index.upsert([
        doc({ id: id(1), title: 'Weekend baking', description: 'A sourdough loaf, step by step' }),
        doc({ id: id(2), title: 'Sourdough loaf basics', description: 'Weekend project' }),
      ]);
      const hits = await index.search({ text: 'sourdough', limit: 10 });
      expect(ids(hits)).toEqual([id(2), id(1)]);
      expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
      verified();
    });

    it('ranks a tag match between a title match and a description match', async () => {
      await index.upsert([
        doc({ id: id(1), title: 'One', description: 'about guitars' }),
        doc({ id: id(2), title: 'Two', tags: ['guitars'] }),
        doc({ id: id(3), title: 'guitars three' }),
      ]);
      expect(ids(await index.search({ text: 'guitars', limit: 10 }))).toEqual([id(3), id(2), id(1)]);
      verified();
    });

    it('still finds a video when the query has a typo', async () => {
      await index.upsert([doc({ id: id(1), title: 'Kubernetes networking explained' }), doc({ id: id(2), title: 'Pasta carbonara' })]);
      expect(ids(await index.search({ text: 'kubernets', limit: 10 }))).toEqual([id(1)]);
      expect(ids(await index.search({ text: 'netwroking', limit: 10 }))).toEqual([id(1)]);
      verified();
    });

    it('ranks an exact match above a typo match', async () => {
      await index.upsert([doc({ id: id(1), title: 'colour grading' }), doc({ id: id(2), title: 'color grading' })]);
      const hits = await index.search({ text: 'color', limit: 10 });
      expect(ids(hits)).toEqual([id(2), id(1)]);
      verified();
    });

    it('sums over query terms, so a video matching more of them ranks higher', async () => {
      await index.upsert([
        doc({ id: id(1), title: 'Piano lesson' }),
        doc({ id: id(2), title: 'Piano jazz lesson' }),
        doc({ id: id(3), title: 'Jazz history' }),
      ]);
      expect(ids(await index.search({ text: 'jazz piano', limit: 10 }))).toEqual([id(2), id(1), id(3)]);
      verified();
    });

    it('narrows by tags (all of them, case-insensitively)', async () => {
      await index.upsert([
        doc({ id: id(1), title: 'Trail running', tags: ['Outdoors', 'running'] }),
        doc({ id: id(2), title: 'Treadmill running', tags: ['running'] }),
        doc({ id: id(3), title: 'Hiking', tags: ['outdoors'] }),
      ]);
      expect(ids(await index.search({ text: 'running', limit: 10 }))).toEqual([id(1), id(2)]);
      expect(ids(await index.search({ text: 'running', tags: ['outdoors'], limit: 10 }))).toEqual([id(1)]);
      expect(ids(await index.search({ tags: ['outdoors', 'running'], limit: 10 }))).toEqual([id(1)]);
      expect(ids(await index.search({ tags: ['outdoors'], limit: 10 }))).toEqual([id(1), id(3)]);
      verified();
    });

    it("never shows a private video to anyone but its owner, in search or trending", async () => {
      await index.upsert([
        doc({ id: id(1), title: 'Family holiday', visibility: 'private', ownerId: 'alice', trend: 100 }),
        doc({ id: id(2), title: 'Holiday tips', ownerId: 'bob', trend: 1 }),
      ]);
      expect(ids(await index.search({ text: 'holiday', limit: 10 }))).toEqual([id(2)]);
      expect(ids(await index.search({ text: 'holiday', viewerId: 'bob', limit: 10 }))).toEqual([id(2)]);
      expect(ids(await index.trending({ limit: 10, now: NOW }))).toEqual([id(2)]);
      expect(ids(await index.trending({ limit: 10, now: NOW, viewerId: 'bob' }))).toEqual([id(2)]);
      // The owner finds their own private video.
      expect(ids(await index.search({ text: 'holiday', viewerId: 'alice', limit: 10 }))).toEqual([id(1), id(2)]);
      expect(ids(await index.trending({ limit: 10, now: NOW, viewerId: 'alice' }))).toEqual([id(1), id(2)]);
      verified();
    });

    it('does not let others find an unlisted video, nor one that is not ready', async () => {
      await index.upsert([
        doc({ id: id(1), title: 'Unlisted drone footage', visibility: 'unlisted' }),
        doc({ id: id(2), title: 'Drone footage in progress', status: 'processing' }),
        doc({ id: id(3), title: 'Drone racing' }),
      ]);
      expect(ids(await index.search({ text: 'drone', viewerId: 'bob', limit: 10 }))).toEqual([id(3)]);
      expect(ids(await index.search({ text: 'drone', limit: 10 }))).toEqual([id(3)]);
      expect(ids(await index.trending({ limit: 10, now: NOW }))).toEqual([id(3)]);
      expect((await index.search({ text: 'drone', viewerId: 'alice', limit: 10 })).map((h) => h.doc.id).sort()).toEqual([id(1), id(2), id(3)]);
      // Trending shows the owner's own ready videos only.
      expect(ids(await index.trending({ limit: 10, now: NOW, viewerId: 'alice' })).sort()).toEqual([id(1), id(3)]);
      verified();
    });

    it('forgets removed documents, and removing a missing id is fine', async () => {
      await index.upsert([doc({ id: id(1), title: 'Origami crane' }), doc({ id: id(2), title: 'Origami frog' })]);
      await index.remove([id(1), id(9)]);
      expect(ids(await index.search({ text: 'origami', limit: 10 }))).toEqual([id(2)]);
      expect(ids(await index.search({ text: 'origami', viewerId: 'alice', limit: 10 }))).toEqual([id(2)]);
      expect(ids(await index.trending({ limit: 10, now: NOW, viewerId: 'alice' }))).toEqual([id(2)]);
      verified();
    });

    it('replaces a document on upsert, so its old words no longer find it', async () => {
      await index.upsert([doc({ id: id(1), title: 'Watercolor basics' })]);
      await index.upsert([doc({ id: id(1), title: 'Oil painting basics' })]);
      expect(ids(await index.search({ text: 'watercolor', limit: 10 }))).toEqual([]);
      expect((await index.search({ text: 'oil', limit: 10 }))[0]!.doc.title).toBe('Oil painting basics');
      verified();
    });

    it('scores a document the same whatever else the index holds', async () => {
      await index.upsert([doc({ id: id(1), title: 'Chess openings', tags: ['chess'] })]);
      const [before] = await index.search({ text: 'chess openings', limit: 1 });
      await index.upsert(Array.from({ length: 30 }, (_, i) => doc({ id: id(100 + i), title: `Chess game ${i}`, description: 'chess chess chess' })));
      const after = (await index.search({ text: 'chess openings', limit: 50 })).find((h) => h.doc.id === id(1));
      expect(after?.score).toBe(before!.score);
      verified();
    });

    it('hides videos created after asOf, and excluded ids', async () => {
      await index.upsert([doc({ id: id(1), title: 'Bread', createdAt: iso(NOW - 10) }), doc({ id: id(2), title: 'Bread rolls', createdAt: iso(NOW + 10) })]);
      expect(ids(await index.search({ text: 'bread', limit: 10, asOf: NOW }))).toEqual([id(1)]);
      expect(ids(await index.search({ text: 'bread', limit: 10, excludeIds: [id(1)] }))).toEqual([id(2)]);
      expect(ids(await index.trending({ limit: 10, now: NOW, excludeIds: [id(1)] }))).toEqual([id(2)]);
      verified();
    });

    it('pages by keyset, returning every hit exactly once while new documents are added and old ones re-indexed', async () => {
      const asOf = NOW;
      await index.upsert(
        Array.from({ length: 23 }, (_, i) =>
          doc({ id: id(i), title: i % 3 === 0 ? 'Climbing knots' : 'Knots', description: i % 2 ? 'climbing' : 'sailing', createdAt: iso(asOf - 100 + i) }),
        ),
      );
      const seen: string[] = [];
      let after: { score: number; id: string } | undefined;
      for (let page = 0; page < 10; page++) {
        const hits = await index.search({ text: 'climbing knots', limit: 5, asOf, ...(after ? { after } : {}) });
        seen.push(...ids(hits));
        // New videos that would rank first arrive between pages; they belong to a later search.
        await index.upsert([doc({ id: id(500 + page), title: 'Climbing knots climbing', createdAt: iso(asOf + 1 + page), indexedAt: asOf + 1 + page })]);
        // And videos already found or still to come are re-indexed (a view, say): none may vanish.
        await index.upsert([doc({ id: id(page), title: page % 3 === 0 ? 'Climbing knots' : 'Knots', description: page % 2 ? 'climbing' : 'sailing', createdAt: iso(asOf - 100 + page), views: page + 1, indexedAt: asOf + 50 + page })]);
        await index.upsert([doc({ id: id(22 - page), title: (22 - page) % 3 === 0 ? 'Climbing knots' : 'Knots', description: (22 - page) % 2 ? 'climbing' : 'sailing', createdAt: iso(asOf - 100 + 22 - page), views: 9, indexedAt: asOf + 60 + page })]);
        if (hits.length < 5) break;
        const last = hits.at(-1)!;
        after = { score: last.score, id: last.doc.id };
      }
      expect(seen).toHaveLength(23);
      expect(new Set(seen).size).toBe(23);
      expect(seen.every((v) => Number(v.slice(3)) < 23)).toBe(true);
      verified();
    });

    it('ranks trending by views decayed with a 24-hour half-life', async () => {
      await index.upsert([
        doc({ id: id(1), title: 'Old hit', trend: 100, trendAt: NOW - 2 * TREND_HALF_LIFE_MS }),
        doc({ id: id(2), title: 'Rising', trend: 30, trendAt: NOW }),
        doc({ id: id(3), title: 'Quiet', trend: 1, trendAt: NOW }),
      ]);
      const hits = await index.trending({ limit: 2, now: NOW });
      expect(ids(hits)).toEqual([id(2), id(1)]);
      expect(hits[1]!.score).toBeCloseTo(25, 3);
      verified();
    });

    it('finds by a word prefix', async () => {
      await index.upsert([doc({ id: id(1), title: 'Photography lighting' }), doc({ id: id(2), title: 'Phone review' })]);
      expect(ids(await index.search({ text: 'photog', limit: 10 }))).toEqual([id(1)]);
      verified();
    });
  });
}

searchIndexContract('EmbeddedSearchIndex', () => Promise.resolve({ index: new EmbeddedSearchIndex(), verify: () => {} }));

describe('OpenSearchSearchIndex', () => {
  let fake: FakeOpenSearch;
  let endpoint: string;
  const connect = () =>
    new Client({
      ...AwsSigv4Signer({
        region: 'eu-west-1',
        service: 'es',
        getCredentials: () => Promise.resolve({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
      }),
      node: endpoint,
    });

  const servers: FakeOpenSearch[] = [];
  const start = async () => {
    fake = new FakeOpenSearch('videos');
    endpoint = await fake.start();
    servers.push(fake);
    return fake;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  searchIndexContract('OpenSearchSearchIndex (fake endpoint)', async () => {
    const server = await start();
    return {
      index: new OpenSearchSearchIndex(connect(), 'videos'),
      verify: () => expect(server.violations).toEqual([]),
    };
  });

  describe('request shapes', () => {
    beforeAll(start);

    it('creates the index once with the mapping, then writes bulk NDJSON, signed with SigV4', async () => {
      const index = new OpenSearchSearchIndex(connect(), 'videos');
      await index.upsert([doc({ id: id(1), title: 'A' }), doc({ id: id(2), title: 'B' })]);
      await index.remove([id(1)]);
      expect(fake.violations).toEqual([]);
      expect(fake.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual(['HEAD /videos', 'PUT /videos', 'POST /_bulk', 'POST /_bulk']);
      const put = JSON.parse(fake.requests[1]!.body);
      expect(put.mappings.properties.title).toEqual({ type: 'text', analyzer: 'english' });
      expect(put.mappings.properties.tags.type).toBe('keyword');
      expect(put).toEqual(JSON.parse(JSON.stringify(INDEX_DEFINITION)));
      const bulk = fake.requests[2]!.body.trim().split('\n').map((l) => JSON.parse(l));
      expect(bulk).toHaveLength(4);
      expect(bulk[0]).toEqual({ index: { _index: 'videos', _id: id(1) } });
      expect(bulk[1]).toMatchObject({ id: id(1), title: 'A', visibility: 'public', status: 'ready' });
      expect(bulk[2]).toEqual({ index: { _index: 'videos', _id: id(2) } });
      expect(fake.requests[3]!.body.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ delete: { _index: 'videos', _id: id(1) } }]);
      for (const request of fake.requests) {
        expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/es\/aws4_request/);
      }
    });

    it('answers an empty list before anything was indexed', async () => {
      const other = new FakeOpenSearch('videos');
      endpoint = await other.start();
      servers.push(other);
      const index = new OpenSearchSearchIndex(connect(), 'videos');
      expect(await index.search({ text: 'anything', limit: 5 })).toEqual([]);
      expect(await index.trending({ limit: 5, now: NOW })).toEqual([]);
    });

    it('sends the keyset as search_after [score, id] and the corpus time as a range filter', async () => {
      const server = await start();
      const index = new OpenSearchSearchIndex(connect(), 'videos');
      await index.upsert([doc({ id: id(1), title: 'Knots' })]);
      await index.search({ text: 'knots', limit: 5, asOf: NOW, after: { score: 3, id: id(0) } });
      const request = server.requests.at(-1)!;
      // GET with a body (as OpenSearch documents _search), so a read-only IAM grant suffices.
      expect(`${request.method} ${request.path.split('?')[0]}`).toBe('GET /videos/_search');
      const body = JSON.parse(request.body);
      expect(body.search_after).toEqual([3, id(0)]);
      expect(body.query.bool.filter).toContainEqual({ range: { createdAt: { lte: NOW, format: 'epoch_millis' } } });
      expect(body.sort).toEqual([{ _score: { order: 'desc' } }, { id: { order: 'asc' } }]);
      expect(server.violations).toEqual([]);
    });
  });
});
