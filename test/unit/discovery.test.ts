import { beforeEach, describe, expect, it } from 'vitest';
import type { VideoStatus, Visibility } from '#contracts/api';
import { Discovery, listableTo, nextTrend } from '#domain/discovery';
import { NotFoundError, UnavailableError, ValidationError } from '#domain/errors';
import type { ViewStore } from '#domain/ports';
import type { Video } from '#domain/video';
import { FakeClock, InMemorySearchIndex, InMemoryVideoRepository, InMemoryViewStore } from '../fakes/in-memory.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

interface World {
  readonly clock: FakeClock;
  readonly videos: InMemoryVideoRepository;
  readonly views: InMemoryViewStore;
  readonly index: InMemorySearchIndex;
  readonly discovery: Discovery;
}

function world(views?: (store: InMemoryViewStore) => ViewStore): World {
  const clock = new FakeClock('2025-03-01T10:15:00.000Z');
  const videos = new InMemoryVideoRepository(clock);
  const store = new InMemoryViewStore(videos);
  const index = new InMemorySearchIndex();
  const discovery = new Discovery({ videos, views: views ? views(store) : store, index, clock });
  return { clock, videos, views: store, index, discovery };
}

let seq = 0;
/** Seeds a video in the table and (as the indexer would) its document in the index. */
async function publish(
  w: World,
  fields: { ownerId?: string; title?: string; tags?: string[]; description?: string; visibility?: Visibility; status?: VideoStatus; createdAt?: string; trend?: number } = {},
): Promise<string> {
  const id = `vid${String(++seq).padStart(8, '0')}`;
  const createdAt = fields.createdAt ?? new Date(Date.parse('2025-02-01T00:00:00Z') + seq * 1000).toISOString();
  const video: Video = {
    id,
    ownerId: fields.ownerId ?? 'creator',
    title: fields.title ?? `Video ${seq}`,
    description: fields.description ?? '',
    tags: fields.tags ?? [],
    visibility: fields.visibility ?? 'public',
    status: fields.status ?? 'ready',
    fileName: 'clip.mp4',
    fileSize: 1000,
    contentType: 'video/mp4',
    rawKey: `uploads/${id}/source`,
    uploadId: 'u',
    partSize: 5,
    generation: 1,
    version: 1,
    createdAt,
    updatedAt: createdAt,
  };
  w.videos.seed(video);
  await w.index.upsert([
    {
      id,
      ownerId: video.ownerId,
      title: video.title,
      description: video.description,
      tags: video.tags,
      visibility: video.visibility,
      status: video.status,
      createdAt,
      views: 0,
      trend: fields.trend ?? 0,
      trendAt: w.clock.now().getTime(),
      indexedAt: w.clock.now().getTime(),
    },
  ]);
  return id;
}

const ids = (page: { items: { id: string }[] }) => page.items.map((card) => card.id);

describe('views', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('counts a view once per viewer per video per clock hour', async () => {
    const id = await publish(w);
    expect(await w.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa')).toEqual({ counted: true, views: 1 });
    w.clock.advance({ seconds: 30 * 60 }); // 10:45, same hour
    expect(await w.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa')).toEqual({ counted: false, views: 1 });
    expect(await w.discovery.recordView(undefined, id, 'session-bbbbbbbbbbbb')).toEqual({ counted: true, views: 2 });
    w.clock.advance({ seconds: 20 * 60 }); // 11:05, the next hour
    expect(await w.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa')).toEqual({ counted: true, views: 3 });
  });

  it("identifies a signed-in viewer by their user id, whatever sessionId they send", async () => {
    const id = await publish(w);
    expect((await w.discovery.recordView('alice', id, 'session-aaaaaaaaaaaa')).counted).toBe(true);
    expect((await w.discovery.recordView('alice', id, 'session-bbbbbbbbbbbb')).counted).toBe(false);
    expect((await w.discovery.recordView('alice', id, undefined)).counted).toBe(false);
  });

  it('asks an anonymous viewer for a sessionId', async () => {
    const id = await publish(w);
    await expect(w.discovery.recordView(undefined, id, undefined)).rejects.toThrow(ValidationError);
  });

  it("answers 404 for another user's private video, a video not ready, or no video, and counts nothing", async () => {
    const hidden = await publish(w, { ownerId: 'bob', visibility: 'private' });
    const processing = await publish(w, { ownerId: 'bob', status: 'processing' });
    for (const id of [hidden, processing, 'nosuchvideo']) {
      await expect(w.discovery.recordView('alice', id, undefined)).rejects.toThrow(NotFoundError);
    }
    expect((await w.views.counters(hidden))?.views).toBe(0);
    // The owner may watch their own private video, and that counts.
    expect(await w.discovery.recordView('bob', hidden, undefined)).toEqual({ counted: true, views: 1 });
  });

  it('decays the trend with a 24-hour half-life and adds one per counted view', async () => {
    expect(nextTrend({ views: 0, trend: 0 }, 1000)).toEqual({ trend: 1, trendAt: 1000 });
    expect(nextTrend({ views: 4, trend: 4, trendAt: 0 }, DAY)).toEqual({ trend: 3, trendAt: DAY });
    expect(nextTrend({ views: 8, trend: 8, trendAt: 0 }, 2 * DAY).trend).toBeCloseTo(3, 10);
    // A clock behind the stored time neither grows the trend nor moves trendAt back.
    expect(nextTrend({ views: 2, trend: 2, trendAt: DAY }, DAY - 5000)).toEqual({ trend: 3, trendAt: DAY });

    const id = await publish(w);
    await w.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa');
    w.clock.advance({ ms: DAY });
    await w.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa');
    expect(await w.views.counters(id)).toEqual({ views: 2, trend: 1.5, trendAt: w.clock.now().getTime() });
  });

  it('retries the trend update when a concurrent view wins the race, losing neither view', async () => {
    let interfered = false;
    const racing = world((store) => ({
      ...bind(store),
      addView: async (id, next, expect) => {
        if (!interfered) {
          interfered = true;
          await store.addView(id, { trend: 1, trendAt: next.trendAt - 1 }, expect); // the other view lands first
        }
        return store.addView(id, next, expect);
      },
    }));
    const id = await publish(racing);
    const result = await racing.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa');
    expect(result).toEqual({ counted: true, views: 2 });
    expect((await racing.views.counters(id))?.trend).toBeCloseTo(2, 6);
  });

  it('gives up with 503 when the counters keep changing under it, counting at most once', async () => {
    let attempts = 0;
    const hot = world((store) => ({
      ...bind(store),
      addView: async () => {
        attempts++;
        return 'conflict' as const;
      },
    }));
    const id = await publish(hot);
    await expect(hot.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa')).rejects.toThrow(UnavailableError);
    expect(attempts).toBe(10);
    expect(await hot.discovery.recordView(undefined, id, 'session-aaaaaaaaaaaa')).toEqual({ counted: false, views: 0 });
  });

  it("keeps a signed-in viewer's history and co-views with their previous five videos, both ways", async () => {
    const watched: string[] = [];
    for (let i = 0; i < 7; i++) watched.push(await publish(w));
    for (const id of watched) {
      await w.discovery.recordView('alice', id, undefined);
      w.clock.advance({ seconds: 1 });
    }
    expect(w.views.historyOf('alice').map((h) => h.videoId)).toEqual(watched);
    const last = watched[6]!;
    expect((await w.views.coViewed(last, 10)).map((c) => c.videoId).sort()).toEqual(watched.slice(1, 6).sort());
    expect(await w.views.coViewed(watched[0]!, 10)).toEqual(
      watched.slice(1, 6).map((videoId) => ({ videoId, count: 1 })),
    );
    // Anonymous views leave no history and no co-views.
    const anon = await publish(w);
    await w.discovery.recordView(undefined, anon, 'session-aaaaaaaaaaaa');
    expect(await w.views.coViewed(anon, 10)).toEqual([]);
  });
});

describe('trending', () => {
  it('ranks by decayed trend, and lists only ready public videos (and the caller their own)', async () => {
    const w = world();
    const now = w.clock.now().getTime();
    const fresh = await publish(w, { trend: 5 });
    const old = await publish(w, { trend: 16 });
    // `old`'s trend was set two days ago: 16 → 4 now, below `fresh`'s 5.
    await w.index.upsert([{ ...w.index.docs.get(old)!, trendAt: now - 2 * DAY }]);
    const mid = await publish(w, { trend: 4.5 });
    const secret = await publish(w, { ownerId: 'bob', visibility: 'private', trend: 100 });
    const unlisted = await publish(w, { ownerId: 'bob', visibility: 'unlisted', trend: 90 });

    expect(ids(await w.discovery.trending(undefined, 10))).toEqual([fresh, mid, old]);
    expect(ids(await w.discovery.trending('alice', 2))).toEqual([fresh, mid]);
    expect(ids(await w.discovery.trending('bob', 10))).toEqual([secret, unlisted, fresh, mid, old]);
  });

  it('re-checks the table, so a video made private a moment ago is gone before the index catches up', async () => {
    const w = world();
    const id = await publish(w, { ownerId: 'bob', trend: 10 });
    const other = await publish(w, { trend: 1 });
    await w.videos.edit(id, { visibility: 'private' }, { ownerId: 'bob' });
    expect(ids(await w.discovery.trending('alice', 10))).toEqual([other]);
    await w.videos.remove(other, 'creator');
    expect(ids(await w.discovery.trending('alice', 10))).toEqual([]);
  });
});

describe('related', () => {
  it('merges co-viewed and similar videos, never the video itself nor hidden ones', async () => {
    const w = world();
    const seed = await publish(w, { title: 'Sourdough bread basics', tags: ['baking'] });
    const both = await publish(w, { title: 'Sourdough starter', tags: ['baking'] });
    const textOnly = await publish(w, { title: 'Bread rolls', tags: ['baking'] });
    const coOnly = await publish(w, { title: 'Kayaking in fjords' });
    const unrelated = await publish(w, { title: 'Chess openings' });
    const secret = await publish(w, { ownerId: 'bob', visibility: 'private', title: 'Sourdough bread secrets', tags: ['baking'] });
    const unlisted = await publish(w, { ownerId: 'bob', visibility: 'unlisted', title: 'Sourdough bread', tags: ['baking'] });
    await w.views.addCoViews(seed, [both, coOnly, secret]);
    await w.views.addCoViews(seed, [both]);

    const related = ids(await w.discovery.related('alice', seed, 10));
    expect(related[0]).toBe(both); // co-viewed most and similar: 1 + text share
    expect(related).toEqual(expect.arrayContaining([textOnly, coOnly]));
    expect(related).not.toContain(seed);
    expect(related).not.toContain(unrelated);
    expect(related).not.toContain(secret);
    expect(related).not.toContain(unlisted);
    expect(ids(await w.discovery.related('alice', seed, 1))).toEqual([both]);
    // Its owner sees their own private video among the related ones.
    expect(ids(await w.discovery.related('bob', seed, 10))).toContain(secret);
  });

  it('answers 404 for a video the caller may not see', async () => {
    const w = world();
    const secret = await publish(w, { ownerId: 'bob', visibility: 'private' });
    await expect(w.discovery.related('alice', secret, 5)).rejects.toThrow(NotFoundError);
    await expect(w.discovery.related(undefined, secret, 5)).rejects.toThrow(NotFoundError);
    await expect(w.discovery.related('bob', secret, 5)).resolves.toEqual({ items: [] });
  });

  it('drops a candidate made private after it was indexed', async () => {
    const w = world();
    const seed = await publish(w, { title: 'Knitting socks' });
    const similar = await publish(w, { ownerId: 'bob', title: 'Knitting hats' });
    expect(ids(await w.discovery.related(undefined, seed, 5))).toEqual([similar]);
    await w.videos.edit(similar, { visibility: 'private' }, { ownerId: 'bob' });
    expect(ids(await w.discovery.related(undefined, seed, 5))).toEqual([]);
  });
});

describe('recommendations', () => {
  it('falls back to trending when the caller has no history', async () => {
    const w = world();
    const hot = await publish(w, { trend: 9 });
    const warm = await publish(w, { trend: 3 });
    await publish(w, { ownerId: 'bob', visibility: 'private', trend: 50 });
    expect(await w.discovery.recommendations('alice', 5)).toEqual(await w.discovery.trending('alice', 5));
    expect(ids(await w.discovery.recommendations('alice', 5))).toEqual([hot, warm]);
  });

  it('recommends what relates to the watch history, never what was watched, topped up from trending', async () => {
    const w = world();
    const watched = await publish(w, { title: 'Guitar chords for beginners', tags: ['guitar'] });
    const similar = await publish(w, { title: 'Guitar strumming', tags: ['guitar'] });
    const hot = await publish(w, { title: 'Cooking pasta', trend: 20 });
    await w.index.upsert([{ ...w.index.docs.get(watched)!, trend: 30 }]);
    const secret = await publish(w, { ownerId: 'bob', visibility: 'private', title: 'Guitar solo', tags: ['guitar'], trend: 40 });
    await w.discovery.recordView('alice', watched, undefined);

    const recommended = ids(await w.discovery.recommendations('alice', 5));
    expect(recommended).toEqual([similar, hot]);
    expect(recommended).not.toContain(watched);
    expect(recommended).not.toContain(secret);
    expect(ids(await w.discovery.recommendations('alice', 1))).toEqual([similar]);
  });
});

describe('channel', () => {
  it("shows others a user's ready public videos newest first, a page at a time; the owner all of theirs", async () => {
    const w = world();
    const made: Record<string, string> = {};
    const kinds: [string, Visibility, VideoStatus][] = [
      ['p1', 'public', 'ready'],
      ['x1', 'private', 'ready'],
      ['p2', 'public', 'ready'],
      ['u1', 'unlisted', 'ready'],
      ['n1', 'public', 'processing'],
      ['p3', 'public', 'ready'],
    ];
    for (const [name, visibility, status] of kinds) made[name] = await publish(w, { ownerId: 'bob', visibility, status });
    await publish(w, { ownerId: 'carol' });

    const first = await w.discovery.channel('alice', 'bob', { limit: 2 });
    expect(ids(first)).toEqual([made['p3'], made['p2']]);
    expect(first.nextCursor).toBeDefined();
    const second = await w.discovery.channel('alice', 'bob', { limit: 2, cursor: first.nextCursor });
    expect(ids(second)).toEqual([made['p1']]);
    expect(second.nextCursor).toBeUndefined();
    // The cursor names only a card that was shown.
    expect(Buffer.from(first.nextCursor!, 'base64url').toString()).toContain(made['p2']);

    const own = await w.discovery.channel('bob', 'bob', { limit: 10 });
    expect(ids(own)).toEqual(['p3', 'n1', 'u1', 'p2', 'x1', 'p1'].map((n) => made[n]));
    await expect(w.discovery.channel('alice', 'carol', { limit: 2, cursor: first.nextCursor })).rejects.toThrow(ValidationError);
    await expect(w.discovery.channel('alice', 'bob', { limit: 2, cursor: 'bm90IGpzb24' })).rejects.toThrow(ValidationError);
  });

  it('shows view counts on the cards', async () => {
    const w = world();
    const id = await publish(w, { ownerId: 'bob' });
    await w.discovery.recordView('alice', id, undefined);
    expect((await w.discovery.channel(undefined, 'bob', { limit: 5 })).items).toEqual([
      expect.objectContaining({ id, views: 1, ownerId: 'bob', visibility: 'public' }),
    ]);
  });
});

describe('listableTo', () => {
  it('lists ready public videos to anyone, and anything to its owner', () => {
    expect(listableTo({ ownerId: 'bob', status: 'ready', visibility: 'public' }, undefined)).toBe(true);
    expect(listableTo({ ownerId: 'bob', status: 'ready', visibility: 'unlisted' }, 'alice')).toBe(false);
    expect(listableTo({ ownerId: 'bob', status: 'processing', visibility: 'public' }, 'alice')).toBe(false);
    expect(listableTo({ ownerId: 'bob', status: 'processing', visibility: 'private' }, 'bob')).toBe(true);
  });
});

/** The store's methods bound to it, so a test can replace one. */
function bind(store: InMemoryViewStore): ViewStore {
  return {
    claimView: store.claimView.bind(store),
    counters: store.counters.bind(store),
    addView: store.addView.bind(store),
    addHistory: store.addHistory.bind(store),
    history: store.history.bind(store),
    addCoViews: store.addCoViews.bind(store),
    coViewed: store.coViewed.bind(store),
    snapshots: store.snapshots.bind(store),
    forgetVideo: store.forgetVideo.bind(store),
  };
}
