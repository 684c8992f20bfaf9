import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SearchQuery, VideoCard, VideoCardPage } from '#contracts/api';
import { ValidationError } from './errors.ts';
import type { Clock, CursorSigner, SearchDocument, SearchHit, SearchIndex } from './ports.ts';

/**
 * Relevance, the same in every backend (the embedded engine computes it, the OpenSearch query
 * reproduces it with constant-score clauses): a document's score for a query is the sum, over the
 * query's terms, of the best (field weight × match kind) that term matched in it. It depends on
 * the document and the query only — no term frequencies or corpus statistics — so a hit's
 * position never moves while other documents are indexed, and a keyset cursor of
 * (score, id) returns each hit exactly once.
 */
export const FieldWeights = { title: 3, tags: 2, description: 1 } as const;
export type SearchField = keyof typeof FieldWeights;
export const MatchKindWeights = { exact: 1, prefix: 0.8, fuzzy: 0.6 } as const;
export type MatchKind = keyof typeof MatchKindWeights;

/** Trending halves a view's weight every 24 hours. */
export const TREND_HALF_LIFE_MS = 24 * 3600_000;

/** Scores are rounded to this many decimals, so every backend and a cursor agree exactly. */
const SCORE_DECIMALS = 6;

export function roundScore(score: number): number {
  return Number(score.toFixed(SCORE_DECIMALS));
}

/** The score of one document: `matches[i]` holds what query term `i` matched (field and kind). */
export function scoreOf(matches: readonly (readonly { field: SearchField; kind: MatchKind }[])[]): number {
  let score = 0;
  for (const termMatches of matches) {
    let best = 0;
    for (const { field, kind } of termMatches) best = Math.max(best, FieldWeights[field] * MatchKindWeights[kind]);
    score += best;
  }
  return roundScore(score);
}

/** A document's trend decayed from `trendAt` to `now` (both ms). */
export function trendScore(doc: Pick<SearchDocument, 'trend' | 'trendAt'>, now: number): number {
  return doc.trend * 2 ** (-Math.max(0, now - doc.trendAt) / TREND_HALF_LIFE_MS);
}

/**
 * Who may find a document: anyone, once it is ready and public; its owner, always (any status
 * and visibility). Unlisted and private videos are never found by anyone else.
 */
export function isVisibleTo(doc: Pick<SearchDocument, 'ownerId' | 'status' | 'visibility'>, viewerId: string | undefined): boolean {
  return (doc.status === 'ready' && doc.visibility === 'public') || (viewerId !== undefined && doc.ownerId === viewerId);
}

/** Hit order: score descending, then id ascending. */
export function byRank(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || (a.doc.id < b.doc.id ? -1 : a.doc.id > b.doc.id ? 1 : 0);
}

/** Whether `hit` ranks strictly after the keyset position `after`. */
export function rankAfter(hit: SearchHit, after: { readonly score: number; readonly id: string }): boolean {
  return hit.score < after.score || (hit.score === after.score && hit.doc.id > after.id);
}

/** A search hit as the API shows it. */
export function toCard(doc: SearchDocument): VideoCard {
  return {
    id: doc.id,
    ownerId: doc.ownerId,
    title: doc.title,
    description: doc.description,
    tags: [...doc.tags],
    visibility: doc.visibility,
    ...(doc.durationSeconds !== undefined ? { durationSeconds: doc.durationSeconds } : {}),
    views: doc.views,
    createdAt: doc.createdAt,
  };
}

/** What a search cursor carries (the seed's fields, plus the last hit's score for the keyset). */
const CursorPayload = z.strictObject({
  search_timestamp_ms: z.number().int().nonnegative(),
  last_video_id: z.string().min(1).max(64),
  last_score: z.number().finite(),
  query_hash: z.string().regex(/^[0-9a-f]{32}$/),
});
type CursorPayload = z.infer<typeof CursorPayload>;

export interface SearchDeps {
  readonly index: SearchIndex;
  readonly signer: CursorSigner;
  readonly clock: Clock;
}

/**
 * `GET /api/v1/search/videos`: ranked pages of cards with an opaque cursor. The cursor is
 * `base64url(JSON payload).base64url(HMAC)`; its payload pins the corpus (`search_timestamp_ms`:
 * later pages see only documents indexed by then, so new videos never shift them), the keyset
 * position (`last_score`, `last_video_id`) and the query (`query_hash` of the normalized `q` and
 * `tags`). A forged or tampered cursor, or one sent with another query, is a 400 naming `cursor`.
 */
export class Search {
  constructor(private readonly deps: SearchDeps) {}

  async search(viewerId: string | undefined, query: SearchQuery): Promise<VideoCardPage> {
    const text = query.q?.trim() || undefined;
    const tags = [...new Set(query.tags ?? [])].sort();
    const queryHash = hashQuery(text, tags);
    const position = query.cursor ? await this.open(query.cursor, queryHash) : undefined;
    const asOf = position?.search_timestamp_ms ?? this.deps.clock.now().getTime();

    const hits = await this.deps.index.search({
      ...(text ? { text } : {}),
      ...(tags.length ? { tags } : {}),
      ...(viewerId ? { viewerId } : {}),
      limit: query.page_size + 1,
      asOf,
      ...(position ? { after: { score: position.last_score, id: position.last_video_id } } : {}),
    });
    const page = hits.slice(0, query.page_size);
    const last = page.at(-1);
    const more = hits.length > query.page_size && last !== undefined;
    return {
      items: page.map((hit) => toCard(hit.doc)),
      ...(more
        ? {
            nextCursor: await this.seal({
              search_timestamp_ms: asOf,
              last_video_id: last.doc.id,
              last_score: last.score,
              query_hash: queryHash,
            }),
          }
        : {}),
    };
  }

  private async seal(payload: CursorPayload): Promise<string> {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${await this.deps.signer.sign(body)}`;
  }

  private async open(cursor: string, queryHash: string): Promise<CursorPayload> {
    const [body, signature, ...rest] = cursor.split('.');
    if (!body || !signature || rest.length > 0 || !(await this.deps.signer.verify(body, signature))) {
      throw invalidCursor('it was not issued by this API or was altered; start again without a cursor');
    }
    let payload: CursorPayload;
    try {
      payload = CursorPayload.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    } catch {
      throw invalidCursor('it is malformed; start again without a cursor');
    }
    if (payload.query_hash !== queryHash) {
      throw invalidCursor('it belongs to another search; send it with the same q and tags, or start again without a cursor');
    }
    return payload;
  }
}

function invalidCursor(why: string): ValidationError {
  const message = `cursor: ${why}`;
  return new ValidationError(message, { details: [message] });
}

/** The query a cursor is bound to: case- and space-insensitive `q`, and the set of tags. */
function hashQuery(text: string | undefined, tags: readonly string[]): string {
  const q = (text ?? '').toLowerCase().split(/\s+/).filter(Boolean).join(' ');
  return createHash('sha256').update(JSON.stringify({ q, tags })).digest('hex').slice(0, 32);
}
