import MiniSearch, { type Options } from 'minisearch';
import { ConflictError } from '#domain/errors';
import type { SearchDocument, SearchHit, SearchIndex, SearchRequest, SnapshotStore } from '#domain/ports';
import { byRank, FieldWeights, isVisibleTo, MatchKindWeights, rankAfter, roundScore, trendScore, type SearchField } from '#domain/search';

/** What MiniSearch indexes per video; everything else stays in our own document map. */
interface IndexedFields {
  readonly id: string;
  readonly title: string;
  readonly tags: string;
  readonly description: string;
}

const FIELDS: readonly SearchField[] = ['title', 'tags', 'description'];
/** Edit distance allowed per query term, as a fraction of its length (0.2: 1 typo in 5 letters). */
const FUZZY = 0.2;
/** Query terms beyond this many are ignored (bounds the work of one query). */
const MAX_QUERY_TERMS = 16;
const SNAPSHOT_VERSION = 1;
/**
 * Ranked candidate lists kept (one per distinct query, least recently used evicted), until the
 * index changes. A cold query over 10,000 videos costs ~5–35 ms of CPU (more for common words),
 * a cached one microseconds; searches are heavily skewed to popular queries, so a few hundred
 * entries take most of the load off the event loop (`npm run bench:api` prints both paths).
 */
const RANKED_CACHE_SIZE = 512;

const engineOptions: Options<IndexedFields> = {
  fields: [...FIELDS],
  storeFields: [],
  // Removal goes through `remove` with the indexed fields we keep, so nothing is left to vacuum.
  autoVacuum: false,
};
const tokenize = MiniSearch.getDefault('tokenize') as (text: string) => string[];
const processTerm = MiniSearch.getDefault('processTerm') as (term: string) => string | null | undefined | false;

interface Snapshot {
  readonly v: typeof SNAPSHOT_VERSION;
  readonly docs: SearchDocument[];
  readonly engine: Parameters<typeof MiniSearch.loadJS>[0];
}

/**
 * The embedded search backend: an in-process MiniSearch index over title, tags and description,
 * serializable to one JSON snapshot. MiniSearch only finds candidates and tells which query term
 * matched which field how; the score is computed here from field weights and match kinds
 * (`scoreOf` in `#domain/search`), never from corpus statistics, so a document's score for a
 * query does not change as other documents come and go and keyset paging stays exact.
 */
export class EmbeddedSearchIndex implements SearchIndex {
  private readonly docs: Map<string, SearchDocument>;
  private readonly engine: MiniSearch<IndexedFields>;
  /** Ranked candidates per query (see {@link rankedFor}); cleared by every change. */
  private readonly ranked = new Map<string, SearchHit[]>();

  constructor(init?: { docs: Map<string, SearchDocument>; engine: MiniSearch<IndexedFields> }) {
    this.docs = init?.docs ?? new Map();
    this.engine = init?.engine ?? new MiniSearch(engineOptions);
  }

  /** Restores an index from {@link toSnapshot}'s JSON. */
  static fromSnapshot(json: string): EmbeddedSearchIndex {
    const snapshot = JSON.parse(json) as Partial<Snapshot>;
    if (snapshot.v !== SNAPSHOT_VERSION || !Array.isArray(snapshot.docs) || !snapshot.engine) {
      throw new Error(`not a search snapshot of version ${SNAPSHOT_VERSION}`);
    }
    return new EmbeddedSearchIndex({
      docs: new Map(snapshot.docs.map((d) => [d.id, d])),
      engine: MiniSearch.loadJS(snapshot.engine, engineOptions),
    });
  }

  toSnapshot(): string {
    const snapshot: Snapshot = { v: SNAPSHOT_VERSION, docs: [...this.docs.values()], engine: this.engine.toJSON() };
    return JSON.stringify(snapshot);
  }

  /** Number of documents held. */
  get size(): number {
    return this.docs.size;
  }

  upsert(docs: readonly SearchDocument[]): Promise<void> {
    for (const doc of docs) this.put(doc);
    return Promise.resolve();
  }

  remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.drop(id);
    return Promise.resolve();
  }

  search(request: SearchRequest): Promise<SearchHit[]> {
    return Promise.resolve(this.searchNow(request));
  }

  trending(request: { readonly limit: number; readonly viewerId?: string; readonly now: number; readonly excludeIds?: readonly string[] }): Promise<SearchHit[]> {
    const exclude = new Set(request.excludeIds ?? []);
    const hits: SearchHit[] = [];
    for (const doc of this.docs.values()) {
      if (doc.status !== 'ready' || !isVisibleTo(doc, request.viewerId) || exclude.has(doc.id)) continue;
      hits.push({ doc, score: trendScore(doc, request.now) });
    }
    return Promise.resolve(hits.sort(byRank).slice(0, request.limit));
  }

  private searchNow(request: SearchRequest): SearchHit[] {
    const tags = (request.tags ?? []).map((t) => t.toLowerCase());
    const exclude = new Set(request.excludeIds ?? []);
    const accept = (doc: SearchDocument): boolean =>
      isVisibleTo(doc, request.viewerId) &&
      (request.asOf === undefined || Date.parse(doc.createdAt) <= request.asOf) &&
      !exclude.has(doc.id) &&
      tags.every((tag) => doc.tags.some((t) => t.toLowerCase() === tag));

    const ranked = this.rankedFor(queryTerms(request.text ?? ''));
    let from = 0;
    const after = request.after;
    if (after) {
      // Ranked order is the keyset order: the first hit after the cursor, by binary search.
      let hi = ranked.length;
      while (from < hi) {
        const mid = (from + hi) >>> 1;
        if (rankAfter(ranked[mid]!, after)) hi = mid;
        else from = mid + 1;
      }
    }
    const page: SearchHit[] = [];
    for (let i = from; i < ranked.length && page.length < request.limit; i++) {
      if (accept(ranked[i]!.doc)) page.push(ranked[i]!);
    }
    return page;
  }

  /**
   * Every document matching the query's terms (whoever may see it), scored and in rank order:
   * with no terms (a tags-only search), every document at score 0, by id. Kept per set of terms
   * until the index changes, so a popular query costs a walk down a sorted list; the filters
   * (viewer, tags, time, exclusions, cursor) apply on that walk.
   */
  private rankedFor(terms: readonly string[]): SearchHit[] {
    const key = [...terms].sort().join(' ');
    const cached = this.ranked.get(key);
    if (cached) {
      // Most recently used last, so the oldest is evicted first.
      this.ranked.delete(key);
      this.ranked.set(key, cached);
      return cached;
    }
    const hits: SearchHit[] = [];
    if (terms.length === 0) {
      for (const doc of this.docs.values()) hits.push({ doc, score: 0 });
    } else {
      for (const [id, score] of this.scoresOf(terms)) {
        const doc = this.docs.get(id);
        if (doc) hits.push({ doc, score: roundScore(score) });
      }
    }
    hits.sort(byRank);
    this.ranked.set(key, hits);
    if (this.ranked.size > RANKED_CACHE_SIZE) this.ranked.delete(this.ranked.keys().next().value!);
    return hits;
  }

  /**
   * Each candidate's score: per query term, the best (field weight × match kind) among the
   * document terms it matched, summed over the query terms (`scoreOf` in `#domain/search`, computed
   * here without building the match lists). One MiniSearch query per term, so each matched
   * document term is known to come from that one query term.
   */
  private scoresOf(terms: readonly string[]): Map<string, number> {
    const scores = new Map<string, number>();
    for (const term of terms) {
      const results = this.engine.search(term, { fields: [...FIELDS], prefix: term.length >= 2, fuzzy: FUZZY, combineWith: 'OR' });
      for (const result of results) {
        let best = 0;
        for (const docTerm in result.match) {
          const kind = MatchKindWeights[docTerm === term ? 'exact' : docTerm.startsWith(term) ? 'prefix' : 'fuzzy'];
          for (const field of result.match[docTerm]!) best = Math.max(best, FieldWeights[field as SearchField] * kind);
        }
        const id = String(result.id);
        scores.set(id, (scores.get(id) ?? 0) + best);
      }
    }
    return scores;
  }

  private put(doc: SearchDocument): void {
    this.drop(doc.id);
    this.ranked.clear();
    this.docs.set(doc.id, doc);
    this.engine.add(indexed(doc));
  }

  private drop(id: string): void {
    const old = this.docs.get(id);
    if (!old) return;
    this.ranked.clear();
    this.engine.remove(indexed(old));
    this.docs.delete(id);
  }
}

function indexed(doc: SearchDocument): IndexedFields {
  return { id: doc.id, title: doc.title, tags: doc.tags.join(' '), description: doc.description };
}

/** The query's terms as MiniSearch indexes them (tokenized, lower-cased), deduplicated. */
function queryTerms(text: string): string[] {
  const terms = new Set<string>();
  for (const token of tokenize(text)) {
    const term = processTerm(token);
    if (typeof term === 'string' && term.length > 0) terms.add(term);
  }
  return [...terms].slice(0, MAX_QUERY_TERMS);
}

/** How often at most {@link SnapshotSearchIndex} asks the store whether the snapshot changed. */
const FRESHNESS_CHECK_MS = 1000;
const SAVE_ATTEMPTS = 8;

/**
 * The embedded index as functions use it: queries are served from the latest snapshot in the
 * {@link SnapshotStore}, whose ETag is re-checked at most once a second (a changed ETag reloads
 * it, in the background once there is an index to answer from), so a change another function
 * saved is searchable within about a second plus the reload time of being saved.
 * Writes are load → apply → save with `If-Match`, retried on a conflict, so concurrent writers
 * never lose each other's changes.
 */
export class SnapshotSearchIndex implements SearchIndex {
  private current: { index: EmbeddedSearchIndex; etag: string | undefined } | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<EmbeddedSearchIndex> | undefined;

  constructor(
    private readonly store: SnapshotStore,
    private readonly now: () => number = Date.now,
  ) {}

  async search(request: SearchRequest): Promise<SearchHit[]> {
    return (await this.fresh()).search(request);
  }

  async trending(request: { readonly limit: number; readonly viewerId?: string; readonly now: number; readonly excludeIds?: readonly string[] }): Promise<SearchHit[]> {
    return (await this.fresh()).trending(request);
  }

  upsert(docs: readonly SearchDocument[]): Promise<void> {
    return this.change((index) => index.upsert(docs));
  }

  remove(ids: readonly string[]): Promise<void> {
    return this.change((index) => index.remove(ids));
  }

  /**
   * The index to answer from. The first call waits for the snapshot; after that, a due check
   * runs in the background (one at a time) and queries keep being answered from the index in
   * hand, so reloading a large snapshot never stalls a request.
   */
  private fresh(): Promise<EmbeddedSearchIndex> {
    if (this.current && this.now() - this.checkedAt < FRESHNESS_CHECK_MS) return Promise.resolve(this.current.index);
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    if (!this.current) return this.refreshing;
    // A failed background check keeps the index in hand; the next query past the interval retries.
    this.refreshing.catch((error: unknown) => {
      console.warn(JSON.stringify({ level: 'WARN', message: 'search snapshot check failed; serving the previous one', error: String(error) }));
    });
    return Promise.resolve(this.current.index);
  }

  private async refresh(): Promise<EmbeddedSearchIndex> {
    try {
      const etag = await this.store.etag();
      if (!this.current || etag !== this.current.etag) await this.reload();
    } finally {
      // Checked (or failed) now: the next check is one interval away either way.
      this.checkedAt = this.now();
    }
    return this.current!.index;
  }

  private async reload(): Promise<void> {
    const loaded = await this.store.load();
    this.current = loaded
      ? { index: EmbeddedSearchIndex.fromSnapshot(loaded.body), etag: loaded.etag }
      : { index: new EmbeddedSearchIndex(), etag: undefined };
  }

  private async change(apply: (index: EmbeddedSearchIndex) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.reload();
      const { index, etag } = this.current!;
      await apply(index);
      try {
        const saved = await this.store.save(index.toSnapshot(), etag);
        this.current = { index, etag: saved };
        this.checkedAt = this.now();
        return;
      } catch (error) {
        // The in-memory copy now holds changes that were not saved: drop it either way.
        this.current = undefined;
        if (!(error instanceof ConflictError) || attempt >= SAVE_ATTEMPTS) throw error;
      }
    }
  }
}
