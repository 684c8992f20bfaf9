import MiniSearch from 'minisearch';
import SearchableMap from 'minisearch/SearchableMap';
import { ConflictError } from '#domain/errors';
import type { SearchDocument, SearchHit, SearchIndex, SearchRequest, SnapshotStore } from '#domain/ports';
import {
  byRank,
  FieldWeights,
  isVisibleTo,
  MatchKindWeights,
  rankAfter,
  roundScore,
  trendScore,
  type MatchKind,
  type SearchField,
} from '#domain/search';

const FIELDS: readonly SearchField[] = ['title', 'tags', 'description'];
/** Edit distance allowed per query term, as a fraction of its length (0.2: 1 typo in 5 letters). */
const FUZZY = 0.2;
/** Never more typos than this per term, however long. */
const MAX_EDIT_DISTANCE = 6;
/** Query terms beyond this many are ignored (bounds the work of one query). */
const MAX_QUERY_TERMS = 16;
/** Version 2 holds the documents only; version 1 also held a MiniSearch index, now rebuilt on load. */
const SNAPSHOT_VERSION = 2;
const READABLE_SNAPSHOT_VERSIONS: readonly number[] = [1, 2];
/**
 * Candidate lists kept (one per distinct query, least recently used evicted), until the index
 * changes. A query's first page is picked from its candidates without sorting them; asked again
 * (a popular query, a next page), the list is sorted once and later pages are a walk down it.
 * Searches are heavily skewed to popular queries, so a few hundred entries take most of the load
 * off the event loop (`npm run bench:api` prints both paths).
 */
const RANKED_CACHE_SIZE = 512;

/** A query's scored candidates, unsorted until the query is asked a second time. */
interface Candidates {
  readonly hits: SearchHit[];
  /** Asked once already: the next ask sorts `hits`. */
  asked: boolean;
  sorted: boolean;
}

/**
 * The best `limit` hits offered, in rank order, without sorting everything offered: a sorted
 * buffer of at most `limit`, which a hit enters only if it ranks before the buffer's last.
 */
class TopRanked {
  readonly hits: SearchHit[] = [];
  constructor(private readonly limit: number) {}

  /** Whether `hit` would enter (cheap; check it before costlier filters). */
  wouldTake(hit: SearchHit): boolean {
    return this.limit > 0 && (this.hits.length < this.limit || byRank(hit, this.hits[this.hits.length - 1]!) < 0);
  }

  offer(hit: SearchHit): void {
    if (!this.wouldTake(hit)) return;
    let lo = 0;
    let hi = this.hits.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byRank(this.hits[mid]!, hit) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.hits.splice(lo, 0, hit);
    if (this.hits.length > this.limit) this.hits.pop();
  }
}

// MiniSearch's own tokenizer and term normalization (split on Unicode space and punctuation,
// lower-case), so the index reads text exactly as the library would.
const tokenize = MiniSearch.getDefault('tokenize') as (text: string) => string[];
const processTerm = MiniSearch.getDefault('processTerm') as (term: string) => string | null | undefined | false;

/** For one indexed term: each document that contains it → the highest weight among the fields it is in. */
type Postings = Map<string, number>;

interface Snapshot {
  readonly v: number;
  readonly docs: SearchDocument[];
}

/**
 * The embedded search backend: an in-process inverted index over title, tags and description,
 * serializable to one JSON snapshot of the documents. Terms live in MiniSearch's radix tree
 * (`SearchableMap`), which finds the prefix and typo (edit-distance) expansions of a query term;
 * the score is computed here from field weights and match kinds (`scoreOf` in `#domain/search`),
 * never from corpus statistics, so a document's score for a query does not change as other
 * documents come and go and keyset paging stays exact. (Asking MiniSearch's full `search` for
 * the same candidates cost ~3× as much: it scores every match with BM25, then we threw that away.)
 */
export class EmbeddedSearchIndex implements SearchIndex {
  private readonly docs = new Map<string, SearchDocument>();
  private readonly terms = new SearchableMap<Postings>();
  /** Scored candidates per query (see {@link candidatesFor}); cleared by every change. */
  private readonly ranked = new Map<string, Candidates>();

  /** Restores an index from {@link toSnapshot}'s JSON (the terms are rebuilt from the documents). */
  static fromSnapshot(json: string): EmbeddedSearchIndex {
    const index = new EmbeddedSearchIndex();
    for (const doc of docsOf(json)) index.put(doc);
    return index;
  }

  /**
   * {@link fromSnapshot} in slices of `slice` documents, yielding to the event loop between them.
   * Rebuilding the terms of 10,000 documents takes ~100–350 ms of CPU; done in one go it stalls
   * every request the process is serving meanwhile (a p99 spike each time the snapshot changes).
   */
  static async fromSnapshotInSlices(json: string, slice = 250): Promise<EmbeddedSearchIndex> {
    const docs = docsOf(json);
    const index = new EmbeddedSearchIndex();
    for (let i = 0; i < docs.length; i += slice) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      for (const doc of docs.slice(i, i + slice)) index.put(doc);
    }
    return index;
  }

  toSnapshot(): string {
    const snapshot: Snapshot = { v: SNAPSHOT_VERSION, docs: [...this.docs.values()] };
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
    const top = new TopRanked(request.limit);
    for (const doc of this.docs.values()) {
      if (doc.status !== 'ready' || !isVisibleTo(doc, request.viewerId) || exclude.has(doc.id)) continue;
      top.offer({ doc, score: trendScore(doc, request.now) });
    }
    return Promise.resolve(top.hits);
  }

  private searchNow(request: SearchRequest): SearchHit[] {
    const tags = (request.tags ?? []).map((t) => t.toLowerCase());
    const exclude = new Set(request.excludeIds ?? []);
    const accept = (doc: SearchDocument): boolean =>
      isVisibleTo(doc, request.viewerId) &&
      (request.asOf === undefined || Date.parse(doc.createdAt) <= request.asOf) &&
      !exclude.has(doc.id) &&
      tags.every((tag) => doc.tags.some((t) => t.toLowerCase() === tag));

    const candidates = this.candidatesFor(queryTerms(request.text ?? ''));
    const after = request.after;
    if (!candidates.sorted && !candidates.asked) {
      // First ask: pick the page without sorting every candidate (most queries are never repeated).
      candidates.asked = true;
      const top = new TopRanked(request.limit);
      for (const hit of candidates.hits) {
        if ((!after || rankAfter(hit, after)) && top.wouldTake(hit) && accept(hit.doc)) top.offer(hit);
      }
      return top.hits;
    }
    if (!candidates.sorted) {
      candidates.hits.sort(byRank);
      candidates.sorted = true;
    }
    const ranked = candidates.hits;
    let from = 0;
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
   * Every document matching the query's terms (whoever may see it), scored: with no terms (a
   * tags-only search), every document at score 0. Kept per set of terms until the index changes,
   * so a popular query costs a walk down a sorted list; the filters (viewer, tags, time,
   * exclusions, cursor) apply on that walk.
   */
  private candidatesFor(terms: readonly string[]): Candidates {
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
      // Few distinct sums occur (weights × kinds), and rounding through a string is slow: memoize.
      const rounded = new Map<number, number>();
      for (const [id, raw] of this.scoresOf(terms)) {
        const doc = this.docs.get(id);
        if (!doc) continue;
        let score = rounded.get(raw);
        if (score === undefined) rounded.set(raw, (score = roundScore(raw)));
        hits.push({ doc, score });
      }
    }
    const candidates: Candidates = { hits, asked: false, sorted: false };
    this.ranked.set(key, candidates);
    if (this.ranked.size > RANKED_CACHE_SIZE) this.ranked.delete(this.ranked.keys().next().value!);
    return candidates;
  }

  /**
   * Each candidate's score: per query term, the best (field weight × match kind) among the
   * document terms it matched — itself, the terms it is a prefix of (2+ letters), and those
   * within its edit distance — summed over the query terms (`scoreOf` in `#domain/search`,
   * computed here without building the match lists).
   */
  private scoresOf(terms: readonly string[]): Map<string, number> {
    let scores: Map<string, number> | undefined;
    for (const term of terms) {
      const best = new Map<string, number>();
      const consider = (docTerm: string, postings: Postings): void => {
        const kind = MatchKindWeights[kindOf(docTerm, term)];
        for (const [id, fieldWeight] of postings) {
          const score = fieldWeight * kind;
          if (score > (best.get(id) ?? 0)) best.set(id, score);
        }
      };
      if (term.length >= 2) {
        for (const [docTerm, postings] of this.terms.atPrefix(term)) consider(docTerm, postings);
      } else {
        const postings = this.terms.get(term);
        if (postings) consider(term, postings);
      }
      const maxDistance = Math.min(MAX_EDIT_DISTANCE, Math.round(term.length * FUZZY));
      if (maxDistance > 0) {
        for (const [docTerm, [postings]] of this.terms.fuzzyGet(term, maxDistance)) {
          // The prefix walk above already weighed these at least as high.
          if (!docTerm.startsWith(term)) consider(docTerm, postings);
        }
      }
      if (!scores) {
        scores = best;
        continue;
      }
      for (const [id, score] of best) scores.set(id, (scores.get(id) ?? 0) + score);
    }
    return scores ?? new Map();
  }

  private put(doc: SearchDocument): void {
    this.drop(doc.id);
    this.ranked.clear();
    this.docs.set(doc.id, doc);
    for (const [term, weight] of termWeights(doc)) {
      let postings = this.terms.get(term);
      if (!postings) this.terms.set(term, (postings = new Map()));
      postings.set(doc.id, weight);
    }
  }

  private drop(id: string): void {
    const old = this.docs.get(id);
    if (!old) return;
    this.ranked.clear();
    for (const term of termWeights(old).keys()) {
      const postings = this.terms.get(term);
      postings?.delete(id);
      if (postings?.size === 0) this.terms.delete(term);
    }
    this.docs.delete(id);
  }
}

function kindOf(docTerm: string, term: string): MatchKind {
  return docTerm === term ? 'exact' : docTerm.startsWith(term) ? 'prefix' : 'fuzzy';
}

/** A document's terms, each with the highest weight among the fields it appears in. */
function termWeights(doc: SearchDocument): Map<string, number> {
  const weights = new Map<string, number>();
  for (const field of FIELDS) {
    const text = field === 'tags' ? doc.tags.join(' ') : doc[field];
    for (const token of tokenize(text)) {
      const term = processTerm(token);
      if (typeof term !== 'string' || term.length === 0) continue;
      weights.set(term, Math.max(weights.get(term) ?? 0, FieldWeights[field]));
    }
  }
  return weights;
}

/** The query's terms as the index holds them (tokenized, lower-cased), deduplicated. */
function queryTerms(text: string): string[] {
  const terms = new Set<string>();
  for (const token of tokenize(text)) {
    const term = processTerm(token);
    if (typeof term === 'string' && term.length > 0) terms.add(term);
  }
  return [...terms].slice(0, MAX_QUERY_TERMS);
}

/** The documents of a snapshot of a version this code reads. */
function docsOf(json: string): SearchDocument[] {
  const snapshot = JSON.parse(json) as Partial<Snapshot>;
  if (!READABLE_SNAPSHOT_VERSIONS.includes(snapshot.v ?? 0) || !Array.isArray(snapshot.docs)) {
    throw new Error(`not a search snapshot of version ${READABLE_SNAPSHOT_VERSIONS.join(' or ')}`);
  }
  return snapshot.docs;
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
      ? { index: await EmbeddedSearchIndex.fromSnapshotInSlices(loaded.body), etag: loaded.etag }
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
