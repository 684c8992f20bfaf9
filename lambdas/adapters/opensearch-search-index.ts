import type { Client } from '@opensearch-project/opensearch';
import { UnavailableError } from '#domain/errors';
import type { SearchDocument, SearchHit, SearchIndex, SearchRequest } from '#domain/ports';
import { FieldWeights, MatchKindWeights, TREND_HALF_LIFE_MS, roundScore, type SearchField } from '#domain/search';

/** Query terms beyond this many are ignored, as in the embedded engine. */
const MAX_QUERY_TERMS = 16;

/** The text sub-field each searchable field is matched on (tags are keywords, with a text twin). */
const TEXT_FIELDS: Record<SearchField, string> = { title: 'title', tags: 'tags.text', description: 'description' };

/**
 * The index's settings and mapping: title and description analyzed as English, tags a keyword
 * (lower-cased, for exact filters) with an English text twin for matching, the visibility rule's
 * fields as keywords, times as epoch milliseconds. `dynamic: strict` rejects a stray field.
 */
export const INDEX_DEFINITION = {
  settings: {
    // Near-real-time: a change is searchable within about a second of its bulk request.
    index: { refresh_interval: '1s' },
    analysis: { normalizer: { lowercase: { type: 'custom', filter: ['lowercase'] } } },
  },
  mappings: {
    dynamic: 'strict',
    properties: {
      id: { type: 'keyword' },
      ownerId: { type: 'keyword' },
      title: { type: 'text', analyzer: 'english' },
      description: { type: 'text', analyzer: 'english' },
      tags: { type: 'keyword', normalizer: 'lowercase', fields: { text: { type: 'text', analyzer: 'english' } } },
      visibility: { type: 'keyword' },
      status: { type: 'keyword' },
      createdAt: { type: 'date' },
      durationSeconds: { type: 'float' },
      views: { type: 'long' },
      trend: { type: 'double' },
      trendAt: { type: 'long' },
      indexedAt: { type: 'long' },
    },
  },
} as const;

/** Painless: the document's trend decayed to `params.now` with a half-life of `params.halfLife`. */
export const TREND_SCRIPT =
  "doc['trend'].value * Math.pow(2, -Math.max(0, params.now - doc['trendAt'].value) / params.halfLife)";

type Json = Record<string, unknown>;

/**
 * The OpenSearch backend (a managed domain or a serverless collection, signed with SigV4 by the
 * client the composition root builds). Relevance is the same as the embedded engine's, built
 * from constant-score clauses rather than BM25: per query term a `dis_max` (the best clause
 * wins) of exact, prefix and fuzzy matches on each field, boosted by field weight × match kind,
 * summed over the terms by a `bool.should`. Visibility, tag, time and exclusion rules are
 * filters; paging is `search_after` on [score, id].
 */
export class OpenSearchSearchIndex implements SearchIndex {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    private readonly index: string,
  ) {}

  /** Creates the index with {@link INDEX_DEFINITION} unless it exists. */
  ensureIndex(): Promise<void> {
    this.ready ??= (async () => {
      const exists = await this.call('HEAD', `/${this.index}`, undefined, [404]);
      if (exists.statusCode === 404) await this.call('PUT', `/${this.index}`, INDEX_DEFINITION, [400]);
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async upsert(docs: readonly SearchDocument[]): Promise<void> {
    if (docs.length === 0) return;
    await this.ensureIndex();
    await this.bulk(docs.flatMap((doc) => [{ index: { _index: this.index, _id: doc.id } }, { ...doc, tags: [...doc.tags] }]));
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.ensureIndex();
    await this.bulk(ids.map((id) => ({ delete: { _index: this.index, _id: id } })));
  }

  async search(request: SearchRequest): Promise<SearchHit[]> {
    return this.hits(searchBody(request));
  }

  async trending(request: { readonly limit: number; readonly viewerId?: string; readonly now: number; readonly excludeIds?: readonly string[] }): Promise<SearchHit[]> {
    return this.hits(trendingBody(request));
  }

  private async hits(body: Json): Promise<SearchHit[]> {
    // GET with a body, as OpenSearch documents `_search`: a read grant (es:ESHttpGet) covers it.
    const response = await this.call('GET', `/${this.index}/_search`, body, [404]);
    // No index yet: nothing was ever indexed.
    if (response.statusCode === 404) return [];
    const hits = (response.body as { hits?: { hits?: { _score: number | null; _source: SearchDocument }[] } }).hits?.hits ?? [];
    return hits.map((hit) => ({ doc: hit._source, score: roundScore(hit._score ?? 0) }));
  }

  private async bulk(lines: readonly Json[]): Promise<void> {
    const response = await this.call('POST', '/_bulk', undefined, [], lines);
    const body = response.body as { errors?: boolean; items?: Record<string, { status: number; error?: unknown }>[] };
    if (!body.errors) return;
    // A delete of a missing document is fine (idempotent removal); anything else is a failure.
    const failed = (body.items ?? [])
      .map((item) => Object.entries(item)[0]!)
      .filter(([op, result]) => result.status >= 300 && !(op === 'delete' && result.status === 404));
    if (failed.length > 0) {
      throw new UnavailableError(`the search index rejected ${failed.length} of ${lines.length} bulk lines`, {
        cause: new Error(JSON.stringify(failed.slice(0, 3))),
      });
    }
  }

  private async call(method: string, path: string, body: Json | undefined, ignore: number[], bulkBody?: readonly Json[]) {
    try {
      return await this.client.transport.request(
        { method, path, ...(body ? { body } : {}), ...(bulkBody ? { bulkBody: [...bulkBody] } : {}) },
        { ignore },
      );
    } catch (error) {
      throw new UnavailableError('the search index is unavailable; try again shortly', { cause: error });
    }
  }
}

/** The visibility rule as a filter: ready and public, or the viewer's own. */
function visibleTo(viewerId: string | undefined): Json {
  const publicReady = { bool: { filter: [{ term: { status: 'ready' } }, { term: { visibility: 'public' } }] } };
  return viewerId
    ? { bool: { should: [publicReady, { term: { ownerId: viewerId } }], minimum_should_match: 1 } }
    : publicReady;
}

/** The query's terms, split as the embedded engine splits them (Unicode letters and digits). */
export function queryTerms(text: string): string[] {
  const terms = new Set(text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean));
  return [...terms].slice(0, MAX_QUERY_TERMS);
}

/** One term's relevance: the best of exact, prefix and fuzzy matches on each field. */
function termQuery(term: string): Json {
  const clauses: Json[] = [];
  for (const field of Object.keys(FieldWeights) as SearchField[]) {
    const path = TEXT_FIELDS[field];
    const weight = FieldWeights[field];
    const clause = (filter: Json, kind: keyof typeof MatchKindWeights) => ({
      constant_score: { filter, boost: roundScore(weight * MatchKindWeights[kind]) },
    });
    clauses.push(clause({ match: { [path]: { query: term } } }, 'exact'));
    if (term.length >= 2) clauses.push(clause({ match_phrase_prefix: { [path]: { query: term } } }, 'prefix'));
    clauses.push(clause({ match: { [path]: { query: term, fuzziness: 'AUTO', prefix_length: 0 } } }, 'fuzzy'));
  }
  return { dis_max: { queries: clauses, tie_breaker: 0 } };
}

/** The `_search` body of a {@link SearchRequest}. */
export function searchBody(request: SearchRequest): Json {
  const terms = queryTerms(request.text ?? '');
  const filter: Json[] = [visibleTo(request.viewerId)];
  if (request.asOf !== undefined) filter.push({ range: { createdAt: { lte: request.asOf, format: 'epoch_millis' } } });
  for (const tag of request.tags ?? []) filter.push({ term: { tags: tag.toLowerCase() } });
  const bool: Json = { filter };
  if (terms.length > 0) {
    bool['should'] = terms.map(termQuery);
    bool['minimum_should_match'] = 1;
  }
  if (request.excludeIds?.length) bool['must_not'] = [{ ids: { values: [...request.excludeIds] } }];
  return {
    size: request.limit,
    track_total_hits: false,
    query: { bool },
    sort: [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }],
    ...(request.after ? { search_after: [request.after.score, request.after.id] } : {}),
  };
}

/** The `_search` body of trending: public ready videos (and the viewer's own ready ones) by decayed trend. */
export function trendingBody(request: { readonly limit: number; readonly viewerId?: string; readonly now: number; readonly excludeIds?: readonly string[] }): Json {
  const bool: Json = { filter: [{ term: { status: 'ready' } }, visibleTo(request.viewerId)] };
  if (request.excludeIds?.length) bool['must_not'] = [{ ids: { values: [...request.excludeIds] } }];
  return {
    size: request.limit,
    track_total_hits: false,
    query: {
      function_score: {
        query: { bool },
        script_score: { script: { source: TREND_SCRIPT, params: { now: request.now, halfLife: TREND_HALF_LIFE_MS } } },
        boost_mode: 'replace',
      },
    },
    sort: [{ _score: { order: 'desc' } }, { id: { order: 'asc' } }],
  };
}
