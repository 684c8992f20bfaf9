import { z } from 'zod';
import { VideoId, type RecordViewResponse, type VideoCard, type VideoCardPage } from '#contracts/api';
import { UnavailableError, ValidationError } from './errors.ts';
import type { Clock, SearchIndex, VideoPosition, VideoRepository, VideoSnapshot, ViewCounters, ViewStore } from './ports.ts';
import { trendScore } from './search.ts';
import { isVisibleTo, type Video } from './video.ts';
import { notFound } from './videos.ts';

export interface DiscoveryDeps {
  readonly videos: VideoRepository;
  readonly views: ViewStore;
  readonly index: SearchIndex;
  readonly clock: Clock;
}

const HOUR_MS = 3600_000;
/** A view is counted once per viewer per video per clock hour; the mark outlives its hour a little. */
export const VIEW_MARK_TTL_MS = 2 * HOUR_MS;
/** A signed-in view adds a co-view with each of the viewer's previous videos, this many at most. */
export const CO_VIEW_WINDOW = 5;
/** Recommendations start from this many of the viewer's most recently watched videos. */
export const RECOMMENDATION_SEEDS = 20;
/** Candidates taken from each source (co-views, text search) per seed video. */
const CANDIDATES_PER_SOURCE = 40;
/** Feeds read this many more hits than they show, so the fresh re-check can drop some. */
const RECHECK_SLACK = 10;
/** Trend updates are optimistic; this many tries before giving up on a very hot video. */
const TREND_ATTEMPTS = 10;

/**
 * How related videos are ranked. Each source's scores are normalised to 0..1 within one seed (the
 * best co-viewed video gets 1, the best text match gets 1), then weighted and summed, so a video
 * that is both often watched together with the seed and shares its words ranks first. Ties go
 * to the smaller id, so a list is stable between calls.
 */
export const RelatedWeights = { coView: 1, text: 1 } as const;

/**
 * Discovery: view counting, trending, related videos, recommendations and channel pages. Every
 * list is re-checked against the table (consistent reads) before it is shown, so a video made
 * private or deleted a moment ago never appears to anyone but its owner, even while the
 * search index still holds its old document.
 */
export class Discovery {
  constructor(private readonly deps: DiscoveryDeps) {}

  /**
   * Counts a view of a ready video the viewer may see, once per viewer (signed-in user, else
   * `sessionId`) per video per clock hour. A counted view adds 1 to `views` and to the trend (a
   * score halving every 24 hours); a signed-in viewer's view also goes into their history and
   * adds co-views with their previous few videos.
   *
   * Counting is at most once: the hour's mark is taken first, so a failure after it (e.g. a video
   * so hot that the counters keep changing: `UnavailableError`) loses that one view rather than
   * risking counting it twice on a retry.
   */
  async recordView(callerId: string | undefined, id: string, sessionId: string | undefined): Promise<RecordViewResponse> {
    const viewer = callerId !== undefined ? `user:${callerId}` : sessionId !== undefined ? `session:${sessionId}` : undefined;
    if (viewer === undefined) {
      const detail = 'sessionId: is required when not signed in (a random id the client keeps)';
      throw new ValidationError(detail, { details: [detail] });
    }
    const video = await this.deps.videos.get(id);
    if (!video || video.status !== 'ready' || !isVisibleTo(video, callerId)) throw notFound(id);

    const now = this.deps.clock.now().getTime();
    const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
    if (!(await this.deps.views.claimView(id, viewer, hour, now + VIEW_MARK_TTL_MS))) {
      return { counted: false, views: (await this.deps.views.counters(id))?.views ?? 0 };
    }
    const counters = await this.addView(id, now);
    if (callerId !== undefined) {
      const previous = await this.deps.views.history(callerId, CO_VIEW_WINDOW * 2);
      await this.deps.views.addHistory(callerId, id, new Date(now));
      const others = [...new Set(previous.map((p) => p.videoId))].filter((other) => other !== id).slice(0, CO_VIEW_WINDOW);
      if (others.length > 0) await this.deps.views.addCoViews(id, others);
    }
    return { counted: true, views: counters.views };
  }

  /** Ready public videos (and the caller's own) by trend decayed to now, highest first. */
  async trending(callerId: string | undefined, limit: number, exclude: readonly string[] = []): Promise<VideoCardPage> {
    const hits = await this.deps.index.trending({
      limit: limit + exclude.length + RECHECK_SLACK,
      now: this.deps.clock.now().getTime(),
      ...(callerId !== undefined ? { viewerId: callerId } : {}),
      ...(exclude.length ? { excludeIds: exclude } : {}),
    });
    return { items: await this.listable(callerId, hits.map((h) => h.doc.id), limit, new Set(exclude)) };
  }

  /**
   * Videos related to one the caller may see (else `NotFoundError`): co-viewed ones and ones
   * sharing its title words and tags, ranked by {@link RelatedWeights}; never the video itself,
   * and only ready public videos or the caller's own.
   */
  async related(callerId: string | undefined, id: string, limit: number): Promise<VideoCardPage> {
    const video = await this.deps.videos.get(id);
    if (!video || !isVisibleTo(video, callerId)) throw notFound(id);
    const scores = await this.relatedScores(callerId, video, [id]);
    return { items: await this.listable(callerId, ranked(scores), limit, new Set([id])) };
  }

  /**
   * For the caller: videos related to what they watched recently (up to
   * {@link RECOMMENDATION_SEEDS} videos, the more recent weighing more), never one they already
   * watched; topped up from trending when that gives fewer than `limit`.
   */
  async recommendations(callerId: string, limit: number): Promise<VideoCardPage> {
    const history = await this.deps.views.history(callerId, RECOMMENDATION_SEEDS * 5);
    const watched = [...new Set(history.map((h) => h.videoId))];
    const seeds = (await this.deps.views.snapshots(watched.slice(0, RECOMMENDATION_SEEDS)))
      .filter((seed) => visible(seed, callerId))
      .sort((a, b) => watched.indexOf(a.id) - watched.indexOf(b.id));

    const total = new Map<string, number>();
    const perSeed = await Promise.all(seeds.map((seed) => this.relatedScores(callerId, seed, watched)));
    perSeed.forEach((scores, rank) => {
      const recency = 1 / (1 + rank);
      for (const [id, score] of scores) total.set(id, (total.get(id) ?? 0) + score * recency);
    });
    const exclude = new Set(watched);
    const items = await this.listable(callerId, ranked(total), limit, exclude);
    if (items.length >= limit) return { items };
    const shown = items.map((card) => card.id);
    const fill = await this.trending(callerId, limit - items.length, [...watched, ...shown]);
    return { items: [...items, ...fill.items] };
  }

  /**
   * A user's channel: their ready public videos newest first (the owner sees all of theirs),
   * `limit` at a time. `cursor` is the `nextCursor` of the previous page of the same channel.
   */
  async channel(callerId: string | undefined, userId: string, query: { limit: number; cursor?: string | undefined }): Promise<VideoCardPage> {
    let after = query.cursor === undefined ? undefined : decodeChannelCursor(query.cursor, userId);
    const shown: Video[] = [];
    // Read past hidden videos until the page (plus one, to know whether more follow) is full.
    do {
      const page = await this.deps.videos.listByOwner(userId, { limit: Math.max(query.limit + 1, 50), ...(after ? { after } : {}) });
      for (const video of page.videos) {
        if (video.ownerId === callerId || (video.status === 'ready' && video.visibility === 'public')) shown.push(video);
        if (shown.length > query.limit) break;
      }
      after = page.next;
    } while (after && shown.length <= query.limit);

    const page = shown.slice(0, query.limit);
    const counters = new Map((await this.deps.views.snapshots(page.map((v) => v.id))).map((s) => [s.id, s.views]));
    const last = page.at(-1);
    return {
      items: page.map((video) => cardOfVideo(video, counters.get(video.id) ?? 0)),
      ...(shown.length > query.limit && last ? { nextCursor: encodeChannelCursor(userId, last) } : {}),
    };
  }

  /** One view onto the counters: an optimistic write conditional on the trend's timestamp. */
  private async addView(id: string, now: number): Promise<ViewCounters> {
    for (let attempt = 1; attempt <= TREND_ATTEMPTS; attempt++) {
      const current = await this.deps.views.counters(id);
      if (!current) throw notFound(id);
      const result = await this.deps.views.addView(id, nextTrend(current, now), current.trendAt);
      if (result === undefined) throw notFound(id);
      if (result !== 'conflict') return result;
      // Concurrent views of the same video: back off a little, with jitter, and read again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
    throw new UnavailableError(`video ${id} is being viewed too often to count this view right now; retry shortly`, { retryAfterSeconds: 1 });
  }

  /** Candidate ids related to `seed` with their {@link RelatedWeights} scores. */
  private async relatedScores(
    callerId: string | undefined,
    seed: Pick<Video, 'id' | 'title' | 'tags'> | VideoSnapshot,
    exclude: readonly string[],
  ): Promise<Map<string, number>> {
    const text = [seed.title, ...seed.tags].join(' ').trim();
    const excludeIds = [...new Set([seed.id, ...exclude])];
    const [coViews, hits] = await Promise.all([
      this.deps.views.coViewed(seed.id, CANDIDATES_PER_SOURCE),
      text
        ? this.deps.index.search({ text, limit: CANDIDATES_PER_SOURCE, excludeIds, ...(callerId !== undefined ? { viewerId: callerId } : {}) })
        : Promise.resolve([]),
    ]);
    const scores = new Map<string, number>();
    const add = (id: string, score: number) => {
      if (!excludeIds.includes(id)) scores.set(id, (scores.get(id) ?? 0) + score);
    };
    const maxCount = Math.max(0, ...coViews.map((c) => c.count));
    if (maxCount > 0) for (const c of coViews) add(c.videoId, (RelatedWeights.coView * c.count) / maxCount);
    const maxScore = Math.max(0, ...hits.map((h) => h.score));
    if (maxScore > 0) for (const h of hits) add(h.doc.id, (RelatedWeights.text * h.score) / maxScore);
    return scores;
  }

  /**
   * The first `limit` of `ids` (in order) that, read fresh from the table, are ready and public
   * or the caller's own, as cards. This is the one gate every feed goes through.
   */
  private async listable(callerId: string | undefined, ids: readonly string[], limit: number, exclude: ReadonlySet<string>): Promise<VideoCard[]> {
    const wanted = [...new Set(ids)].filter((id) => !exclude.has(id)).slice(0, limit + RECHECK_SLACK);
    const fresh = new Map((await this.deps.views.snapshots(wanted)).map((s) => [s.id, s]));
    const cards: VideoCard[] = [];
    for (const id of wanted) {
      const snapshot = fresh.get(id);
      if (snapshot && listableTo(snapshot, callerId)) cards.push(cardOf(snapshot));
      if (cards.length === limit) break;
    }
    return cards;
  }
}

/** The trend after one more view at `now`: the old trend decayed to now, plus one. */
export function nextTrend(current: ViewCounters, now: number): { trend: number; trendAt: number } {
  const trendAt = Math.max(now, current.trendAt ?? now);
  const decayed = current.trendAt === undefined ? 0 : trendScore({ trend: current.trend, trendAt: current.trendAt }, trendAt);
  return { trend: decayed + 1, trendAt };
}

/** Listed in feeds, related and channels: ready and public, or the caller's own. */
export function listableTo(video: Pick<VideoSnapshot, 'ownerId' | 'status' | 'visibility'>, callerId: string | undefined): boolean {
  return video.ownerId === callerId || (video.status === 'ready' && video.visibility === 'public');
}

/** May be seen by id (the seed of a recommendation): the owner's, or ready and not private. */
function visible(video: Pick<VideoSnapshot, 'ownerId' | 'status' | 'visibility'>, callerId: string | undefined): boolean {
  return video.ownerId === callerId || (video.status === 'ready' && video.visibility !== 'private');
}

/** Ids by score descending, then id ascending. */
function ranked(scores: ReadonlyMap<string, number>): string[] {
  return [...scores.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).map(([id]) => id);
}

function cardOf(s: VideoSnapshot): VideoCard {
  return {
    id: s.id,
    ownerId: s.ownerId,
    title: s.title,
    description: s.description,
    tags: [...s.tags],
    visibility: s.visibility,
    ...(s.durationSeconds !== undefined ? { durationSeconds: s.durationSeconds } : {}),
    views: s.views,
    createdAt: s.createdAt,
  };
}

function cardOfVideo(video: Video, views: number): VideoCard {
  return {
    id: video.id,
    ownerId: video.ownerId,
    title: video.title,
    description: video.description,
    tags: [...video.tags],
    visibility: video.visibility,
    ...(video.media ? { durationSeconds: video.media.durationSeconds } : {}),
    views,
    createdAt: video.createdAt,
  };
}

/**
 * A channel cursor is base64url JSON of the channel's owner and the last shown card's position
 * (only ever a card the caller was shown, so it reveals nothing hidden). It carries no secret: a
 * hand-made one only skips within the same filtered list. One of another channel is refused.
 */
const ChannelCursor = z.strictObject({ u: z.string().min(1), c: z.iso.datetime(), i: VideoId });

function encodeChannelCursor(userId: string, position: VideoPosition): string {
  return Buffer.from(JSON.stringify({ u: userId, c: position.createdAt, i: position.id })).toString('base64url');
}

function decodeChannelCursor(cursor: string, userId: string): VideoPosition {
  let decoded: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = ChannelCursor.safeParse(decoded);
  if (!parsed.success || parsed.data.u !== userId) {
    const detail = "cursor: is not a nextCursor this API returned for this user's videos; omit it to start from the first page";
    throw new ValidationError(detail, { details: [detail] });
  }
  return { createdAt: parsed.data.c, id: parsed.data.i };
}
