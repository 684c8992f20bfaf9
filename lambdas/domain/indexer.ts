import type { Clock, SearchDocument, SearchIndex } from './ports.ts';

/**
 * What the index needs of a video item (the rest of the item is the pipeline's business): the
 * document's fields, where view counting adds `views`/`trend`/`trendAt` (a video nobody watched
 * has none) and the indexer stamps `indexedAt`.
 */
export type IndexableVideo = Omit<SearchDocument, 'views' | 'trend' | 'trendAt' | 'indexedAt'> &
  Partial<Pick<SearchDocument, 'views' | 'trend' | 'trendAt'>>;

/**
 * One change of the table, in stream order. `position` identifies it in its stream (the
 * sequence number): a failed change is reported by it, and the stream resumes from there.
 */
export type VideoChange =
  | {
      readonly position: string;
      readonly kind: 'upsert';
      readonly video: IndexableVideo;
      /** The video before this write, when the stream carries it (unchanged fields skip a write). */
      readonly previous?: IndexableVideo;
    }
  | { readonly position: string; readonly kind: 'remove'; readonly id: string }
  /** A video item the stream carried that could not be read (it is reported, never skipped silently). */
  | { readonly position: string; readonly kind: 'invalid'; readonly reason: string };

export interface IndexingOutcome {
  readonly upserted: number;
  readonly removed: number;
  /** Writes that changed nothing the index holds (e.g. transcode progress). */
  readonly unchanged: number;
  /** Where the stream must resume (this change and all after it are retried); absent when all applied. */
  readonly failedAt?: string;
  /** Why `failedAt` failed. */
  readonly failure?: string;
}

/** The fields of a video the index holds; a write that changes none of them needs no reindex. */
const INDEXED: readonly (keyof IndexableVideo)[] = [
  'ownerId',
  'title',
  'description',
  'tags',
  'visibility',
  'status',
  'createdAt',
  'durationSeconds',
  'views',
  'trend',
  'trendAt',
];

/**
 * Keeps the search index in step with the table. Changes arrive in stream order (per video;
 * the stream orders each item's writes) and are applied as one batch: the last change of each
 * video wins, so the index does one upsert and one removal per batch whatever its size. The
 * index operations are idempotent, so a retried batch converges to the same state.
 */
export class Indexer {
  constructor(private readonly deps: { readonly index: SearchIndex; readonly clock: Clock }) {}

  /** The document of a video, as indexed now. */
  document(video: IndexableVideo): SearchDocument {
    return searchDocument(video, this.deps.clock.now());
  }

  /**
   * Applies changes up to the first unreadable one; if the index write fails, nothing counts as
   * applied and the whole batch is to be retried from its first change.
   */
  async apply(changes: readonly VideoChange[]): Promise<IndexingOutcome> {
    const invalidAt = changes.findIndex((c) => c.kind === 'invalid');
    const usable = invalidAt < 0 ? changes : changes.slice(0, invalidAt);
    const last = new Map<string, VideoChange>();
    let unchanged = 0;
    for (const change of usable) {
      if (change.kind === 'upsert' && change.previous && sameIndexedFields(change.previous, change.video)) {
        unchanged++;
        continue;
      }
      const id = change.kind === 'upsert' ? change.video.id : change.kind === 'remove' ? change.id : undefined;
      if (id === undefined) continue;
      // Re-inserted so the map's order is the order of each video's last change.
      last.delete(id);
      last.set(id, change);
    }
    const upserts: SearchDocument[] = [];
    const removals: string[] = [];
    for (const [id, change] of last) {
      if (change.kind === 'upsert') upserts.push(this.document(change.video));
      else removals.push(id);
    }
    try {
      if (upserts.length) await this.deps.index.upsert(upserts);
      if (removals.length) await this.deps.index.remove(removals);
    } catch (error) {
      if (changes.length === 0) throw error;
      return {
        upserted: 0,
        removed: 0,
        unchanged: 0,
        failedAt: changes[0]!.position,
        failure: error instanceof Error ? error.message : String(error),
      };
    }
    const invalid = invalidAt < 0 ? undefined : changes[invalidAt];
    return {
      upserted: upserts.length,
      removed: removals.length,
      unchanged,
      ...(invalid?.kind === 'invalid' ? { failedAt: invalid.position, failure: invalid.reason } : {}),
    };
  }
}

/** The document of a video, indexed at `now`; counts a video has not got yet are 0. */
export function searchDocument(video: IndexableVideo, now: Date): SearchDocument {
  return {
    id: video.id,
    ownerId: video.ownerId,
    title: video.title,
    description: video.description,
    tags: [...video.tags],
    visibility: video.visibility,
    status: video.status,
    createdAt: video.createdAt,
    ...(video.durationSeconds === undefined ? {} : { durationSeconds: video.durationSeconds }),
    views: video.views ?? 0,
    trend: video.trend ?? 0,
    trendAt: video.trendAt ?? 0,
    indexedAt: now.getTime(),
  };
}

function sameIndexedFields(a: IndexableVideo, b: IndexableVideo): boolean {
  return INDEXED.every((field) => JSON.stringify(a[field]) === JSON.stringify(b[field]));
}
