import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { VideoCard } from '#contracts/api';
import { EmbeddedSearchIndex } from '#adapters/embedded-search-index';
import { S3SnapshotStore } from '#adapters/s3-snapshot-store';
import type { SearchDocument } from '#domain/ports';
import { ConflictError } from '#domain/errors';
import { ApiClient } from '../support/api.ts';
import { localS3 } from '../support/clients.ts';
import { makeClip } from '../support/media.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';
import { localTarget, reindex } from '../../local/reindex.ts';

const platform = inject('platform');
const s3 = localS3(platform);
const dir = mkdtempSync(join(tmpdir(), 'vodstack-search-'));

/** A word nothing else in the index contains (letters only, so every tokenizer keeps it whole). */
const uniqueWord = () =>
  Array.from(randomBytes(10), (b) => String.fromCharCode(97 + (b % 26))).join('');

/** Someone not signed in (no Authorization header at all). */
const anonymous = 'anonymous' as const;
type Searcher = ApiClient | typeof anonymous;

async function searchIds(who: Searcher, q: string): Promise<string[]> {
  const path = `/api/v1/search/videos?q=${encodeURIComponent(q)}`;
  let status: number;
  let body: unknown;
  if (who === anonymous) {
    const response = await fetch(`${platform.apiUrl}${path}`);
    status = response.status;
    body = await response.json().catch(() => undefined);
  } else {
    ({ status, body } = await who.request('GET', path));
  }
  expect(status, JSON.stringify(body)).toBe(200);
  return (body as { items: { id: string }[] }).items.map((v) => v.id);
}

/** The indexed document of the first hit, as the index holds it. */
async function searchHit(owner: ApiClient, q: string): Promise<SearchDocument> {
  const { body } = await owner.request('GET', `/api/v1/search/videos?q=${encodeURIComponent(q)}`);
  const card = (body as { items: VideoCard[] }).items[0]!;
  return {
    id: card.id,
    ownerId: card.ownerId,
    title: card.title,
    description: card.description,
    tags: card.tags,
    visibility: card.visibility,
    status: 'ready',
    createdAt: card.createdAt,
    views: 0,
    trend: 0,
    trendAt: 0,
    indexedAt: Date.now(),
  };
}

/** Polls search until `done(ids)`; how long it took, ms. */
async function until(client: Searcher, q: string, done: (ids: string[]) => boolean, timeoutMs = 15_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (done(await searchIds(client, q))) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`search for "${q}" did not settle within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

describe('search index fed from the table stream, over HTTP', () => {
  let creator: ApiClient;
  let other: ApiClient;
  let id: string;
  const word = uniqueWord();
  const latencies: Record<string, number[]> = { ready: [], edit: [], delete: [] };

  beforeAll(async () => {
    [creator, other] = await Promise.all([ApiClient.signUp(platform, 'search'), ApiClient.signUp(platform, 'search-other')]);
    const clip = join(dir, 'clip-144p.mp4');
    await makeClip(clip, { width: 256, height: 144, seconds: 3 });
    id = await uploadFile(creator, clip, { title: `The ${word} documentary`, visibility: 'public' });
    const outcome = await waitForOutcome(creator, id, 180_000);
    expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
    // The status poll saw `ready` up to 250 ms after the write: this is a lower bound of the lag.
    latencies['ready']!.push(await until(anonymous, word, (ids) => ids.includes(id)));
  }, 240_000);

  afterAll(() => {
    const line = (name: string, values: number[]) =>
      values.length ? `${name}: n=${values.length} p50=${percentile(values, 50).toFixed(0)} ms p99=${percentile(values, 99).toFixed(0)} ms max=${Math.max(...values).toFixed(0)} ms` : `${name}: n=0`;
    console.log(`[search index latency] ${Object.entries(latencies).map(([k, v]) => line(k, v)).join('; ')}`);
  });

  it('finds a video that became ready, for anyone, within seconds', async () => {
    expect(latencies['ready']![0]).toBeLessThan(5000);
    expect(await searchIds(other, word)).toContain(id);
  });

  it('shows an edited title in search within seconds, and no longer finds the old one', async () => {
    let previous: string | undefined;
    for (let i = 0; i < 20; i++) {
      const renamed = uniqueWord();
      const patch = await creator.request('PATCH', `/api/v1/videos/${id}`, { title: `The ${word} ${renamed} cut` });
      expect(patch.status, JSON.stringify(patch.body)).toBe(200);
      latencies['edit']!.push(await until(anonymous, renamed, (ids) => ids.includes(id)));
      if (previous) expect(await searchIds(anonymous, previous)).not.toContain(id);
      previous = renamed;
    }
    expect(percentile(latencies['edit']!, 100)).toBeLessThan(5000);
  });

  it('rebuilds the index from the table: stale documents go, every video is back', async () => {
    const target = localTarget(platform);
    if (target.backend !== 'embedded') throw new Error('local mode runs the embedded backend');
    const store = new S3SnapshotStore(target.s3, target.bucket, target.key);
    // A document with no video behind it (as if a removal had been lost).
    const current = (await store.load())!;
    const tampered = EmbeddedSearchIndex.fromSnapshot(current.body);
    const ghost = { ...(await searchHit(creator, word)), id: 'ghostvideo1', ownerId: 'nobody' };
    await tampered.upsert([ghost]);
    await store.save(tampered.toSnapshot(), current.etag);
    await until(anonymous, word, (ids) => ids.includes('ghostvideo1'));

    const outcome = await reindex(target);
    expect(outcome.removed).toBeGreaterThanOrEqual(1);
    expect(outcome.indexed).toBeGreaterThanOrEqual(1);
    await until(anonymous, word, (ids) => !ids.includes('ghostvideo1') && ids.includes(id));
  });

  it("never shows a private video in another user's search, but its owner finds it", async () => {
    const patch = await creator.request('PATCH', `/api/v1/videos/${id}`, { visibility: 'private' });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    await until(other, word, (ids) => !ids.includes(id));
    expect(await searchIds(anonymous, word)).not.toContain(id);
    expect(await searchIds(creator, word)).toContain(id);
  });

  it('drops a deleted video from the index', async () => {
    const removed = await creator.request('DELETE', `/api/v1/videos/${id}`);
    expect(removed.status, JSON.stringify(removed.body)).toBeLessThan(300);
    latencies['delete']!.push(await until(creator, word, (ids) => !ids.includes(id)));
    expect(latencies['delete']![0]).toBeLessThan(5000);
  });
});

describe('S3SnapshotStore on the local S3 (conditional writes as S3 does them)', () => {
  const store = () => new S3SnapshotStore(s3, platform.mediaBucket, `search-test/${uniqueWord()}.json`);

  it('has nothing to load before the first save', async () => {
    const s = store();
    expect(await s.load()).toBeUndefined();
    expect(await s.etag()).toBeUndefined();
  });

  it('creates once: a second "first" save conflicts', async () => {
    const s = store();
    const etag = await s.save('{"v":1}', undefined);
    expect(await s.etag()).toBe(etag);
    expect(await s.load()).toEqual({ body: '{"v":1}', etag });
    await expect(s.save('{"v":"other"}', undefined)).rejects.toBeInstanceOf(ConflictError);
    expect((await s.load())?.body).toBe('{"v":1}');
  });

  it('replaces only the version it read: a stale ETag conflicts and changes nothing', async () => {
    const s = store();
    const first = await s.save('{"v":1}', undefined);
    const second = await s.save('{"v":2}', first);
    expect(second).not.toBe(first);
    await expect(s.save('{"v":"stale"}', first)).rejects.toBeInstanceOf(ConflictError);
    expect(await s.load()).toEqual({ body: '{"v":2}', etag: second });
  });

  it('conflicts when the version it expects is gone (no snapshot at all)', async () => {
    const s = store();
    await expect(s.save('{"v":1}', '"0123456789abcdef0123456789abcdef"')).rejects.toBeInstanceOf(ConflictError);
    expect(await s.load()).toBeUndefined();
  });

  it('lets exactly one of two concurrent writers of the same version win', async () => {
    const s = store();
    const base = await s.save('{"v":0}', undefined);
    const results = await Promise.allSettled([s.save('{"v":"a"}', base), s.save('{"v":"b"}', base)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ConflictError);
  });
});
