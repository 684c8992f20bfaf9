import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3SnapshotStore } from '#adapters/s3-snapshot-store';
import { SnapshotSearchIndex } from '#adapters/embedded-search-index';
import type { SearchDocument } from '#domain/ports';
import { SEARCH_SNAPSHOT_KEY } from '#lib/constructs/search-index';
import { ApiClient } from '../support/api.ts';
import { localS3 } from '../support/clients.ts';

const platform = inject('platform');
/**
 * The route's read path over HTTP: documents go straight into the embedded index's snapshot (as
 * the indexer writes it, with conditional saves, so a concurrent indexer loses nothing), and the
 * search function finds them through its ETag check. The indexer's own path (table → stream →
 * index) is covered by `search.test.ts`.
 */
const index = new SnapshotSearchIndex(new S3SnapshotStore(localS3(platform), platform.mediaBucket, SEARCH_SNAPSHOT_KEY));
/** A word no other test uses, so these documents are the only hits. */
const word = `zq${randomUUID().replace(/-/g, '').slice(0, 10)}`;
const written: string[] = [];

let alice: ApiClient;
let bob: ApiClient;
const subOf = (client: ApiClient) => JSON.parse(Buffer.from(client.idToken.split('.')[1]!, 'base64url').toString('utf8')).sub as string;

function doc(n: number, over: Partial<SearchDocument> = {}): SearchDocument {
  const id = `s${word.slice(2, 8)}${String(n).padStart(4, '0')}`;
  written.push(id);
  return {
    id,
    ownerId: 'someone-else',
    // Odd numbers carry the word in the title, even ones in the description only.
    title: n % 2 ? `${word} lesson ${n}` : `lesson ${n}`,
    description: n % 2 ? 'nothing to see' : `all about ${word}`,
    tags: n % 3 ? ['music'] : ['music', 'jazz'],
    visibility: 'public',
    status: 'ready',
    createdAt: new Date().toISOString(),
    views: n,
    trend: 0,
    trendAt: Date.now(),
    indexedAt: Date.now(),
    ...over,
  };
}

async function anonymous(path: string) {
  const response = await fetch(`${platform.apiUrl}${path}`);
  return { status: response.status, body: (await response.json()) as any };
}

/** Polls until `check` passes (the function re-checks the snapshot at most once a second). */
async function eventually<T>(fn: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (check(value)) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  [alice, bob] = await Promise.all([ApiClient.signUp(platform, 'alice'), ApiClient.signUp(platform, 'bob')]);
  await index.upsert([
    ...Array.from({ length: 12 }, (_, i) => doc(i)),
    doc(100, { visibility: 'private', ownerId: subOf(alice), title: `${word} private diary` }),
    doc(101, { visibility: 'unlisted', title: `${word} unlisted` }),
    doc(102, { status: 'processing', title: `${word} processing` }),
  ]);
  await eventually(() => anonymous(`/api/v1/search/videos?q=${word}`), (r) => r.status === 200 && r.body.items.length > 0);
});

afterAll(async () => {
  await index.remove(written);
});

describe('GET /api/v1/search/videos', () => {
  it('pages through every public ready hit exactly once, best first', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await anonymous(`/api/v1/search/videos?q=${word}&page_size=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.items.map((c: { id: string }) => c.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    // A title match ranks before a description match: odd numbers first, then by id.
    expect(seen.map((id) => Number(id.slice(-4)))).toEqual([1, 3, 5, 7, 9, 11, 0, 2, 4, 6, 8, 10]);
  });

  it('narrows by tags, and finds by a typo', async () => {
    const jazz = await anonymous(`/api/v1/search/videos?q=${word}&tags=Jazz`);
    expect(jazz.body.items.map((c: { tags: string[] }) => c.tags)).toEqual(Array(4).fill(['music', 'jazz']));
    const typo = await anonymous(`/api/v1/search/videos?q=${word.slice(0, 6)}x${word.slice(7)}&page_size=50`);
    expect(typo.body.items).toHaveLength(12);
  });

  it("shows the owner their private video, and nobody else; never another user's unlisted or unready one", async () => {
    const ids = (r: { body: any }) => r.body.items.map((c: { title: string }) => c.title) as string[];
    const own = await alice.request('GET', `/api/v1/search/videos?q=${word}&page_size=50`);
    expect(ids(own)).toContain(`${word} private diary`);
    for (const r of [await bob.request('GET', `/api/v1/search/videos?q=${word}&page_size=50`), await anonymous(`/api/v1/search/videos?q=${word}&page_size=50`)]) {
      expect(r.status).toBe(200);
      expect(ids(r)).toHaveLength(12);
      expect(ids(r).some((t) => /private|unlisted|processing/.test(t))).toBe(false);
    }
  });

  it('answers 400 naming cursor for a forged, altered or reused cursor', async () => {
    const first = await anonymous(`/api/v1/search/videos?q=${word}&page_size=5`);
    const cursor = first.body.nextCursor as string;
    const [body, signature] = cursor.split('.');
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), last_score: 99 })).toString('base64url');
    for (const bad of [`${altered}.${signature}`, `${body}.${'A'.repeat(22)}`, 'not-a-cursor']) {
      const r = await anonymous(`/api/v1/search/videos?q=${word}&page_size=5&cursor=${encodeURIComponent(bad)}`);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(/^cursor: /);
    }
    const reused = await anonymous(`/api/v1/search/videos?q=other&page_size=5&cursor=${encodeURIComponent(cursor)}`);
    expect(reused.status).toBe(400);
    expect(reused.body.error.message).toMatch(/another search/);
  });

  it('answers 400 without q or tags, and 401 for a bad token', async () => {
    const none = await anonymous('/api/v1/search/videos');
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/send q/);
    const bad = await fetch(`${platform.apiUrl}/api/v1/search/videos?q=${word}`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
  });

  it('finds a change saved to the snapshot within a few seconds', async () => {
    const fresh = doc(200, { title: `${word} brand new upload` });
    await index.upsert([fresh]);
    const { ms } = await eventually(
      () => anonymous(`/api/v1/search/videos?q=${word}%20brand&page_size=1`),
      (r) => r.body.items[0]?.id === fresh.id,
    );
    console.log(`snapshot save → searchable over HTTP: ${ms} ms`);
    expect(ms).toBeLessThan(5000);
  });
});
