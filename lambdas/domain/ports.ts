import type { PartUrl, StoredPart, VideoStatus, Visibility } from '#contracts/api';
import type { Video } from './video.ts';

/** Video metadata, strongly consistent by id. */
export interface VideoRepository {
  /** Stores a new video; fails if the id exists. */
  create(video: Video): Promise<void>;
  /** Strongly consistent read; `undefined` when there is no such video. */
  get(id: string): Promise<Video | undefined>;
  /**
   * Moves a video from one of `from` to `to` atomically, applying `changes` in the same write.
   * Throws `ConflictError` when the video is not in one of `from` (someone else moved it first).
   */
  transition(
    id: string,
    from: readonly VideoStatus[],
    to: VideoStatus,
    changes?: TransitionChanges,
    options?: { generation?: number },
  ): Promise<Video>;
  /**
   * Records that chunk `index` of `total` is transcoded, for the given generation while
   * `processing`. Idempotent per chunk (a retried chunk is not counted twice), so progress never
   * goes backwards or past the total.
   */
  recordChunkDone(id: string, generation: number, index: number, total: number): Promise<void>;
  /** Videos in one of `statuses` not updated since `before` (for the sweeper). */
  findStale(statuses: readonly VideoStatus[], before: Date): Promise<Video[]>;
  /**
   * Applies `edits` to a video and bumps its version, in one conditional write: only if it is
   * `expect.ownerId`'s, at `expect.version` (when given) and in none of `expect.notIn`.
   * Throws `NotFoundError` when there is no such video or it is someone else's, and
   * `ConflictError` when the version or status condition fails.
   */
  edit(id: string, edits: VideoEdits, expect: EditExpectation): Promise<Video>;
  /**
   * Deletes the video if it is `ownerId`'s. Throws `NotFoundError` when there is no such video
   * or it is someone else's. Once deleted, every conditional write to it (`transition`,
   * `recordChunkDone`, `edit`) fails instead of recreating it.
   */
  remove(id: string, ownerId: string): Promise<void>;
  /**
   * One page of an owner's videos, newest first (creation time, then id, descending), starting
   * after `after`. `next` is the position to pass back for the following page; absent on the last.
   */
  listByOwner(ownerId: string, page: { limit: number; after?: VideoPosition }): Promise<VideoPage>;
}

/** The fields a creator may edit; nothing else reaches an edit. */
export type VideoEdits = Partial<Pick<Video, 'title' | 'description' | 'tags' | 'visibility'>> & {
  /**
   * Key of the published poster (`media.poster`): one of `media.candidates` or a checked
   * creator-uploaded image, on a ready video only.
   */
  readonly poster?: string;
};

export interface EditExpectation {
  readonly ownerId: string;
  /** The version the edit was based on; omitted, the edit applies whatever the version. */
  readonly version?: number;
  /** Statuses in which the video may not be edited. */
  readonly notIn?: readonly VideoStatus[];
}

/** Where a video sits in its owner's list: the (immutable) sort key of the owner index. */
export interface VideoPosition {
  readonly createdAt: string;
  readonly id: string;
}

export interface VideoPage {
  readonly videos: Video[];
  readonly next?: VideoPosition;
}

/** Fields a status transition may set besides the status. */
export type TransitionChanges = Partial<Pick<Video, 'failure' | 'generation' | 'media' | 'correlationId'>>;

/** Multipart uploads of source files into the raw bucket. */
export interface UploadStore {
  /** Starts a multipart upload; returns its upload id. */
  begin(key: string, contentType: string): Promise<string>;
  /** Presigned PUT URLs, each signed for its part's exact byte length. */
  signParts(
    key: string,
    uploadId: string,
    parts: readonly { partNumber: number; size: number }[],
    ttlSeconds: number,
  ): Promise<PartUrl[]>;
  /** Parts storage already holds. Throws `UploadGoneError` once completed/aborted/expired. */
  listParts(key: string, uploadId: string): Promise<StoredPart[]>;
  /** Assembles the parts. Throws `UploadGoneError` when the upload no longer exists. */
  complete(key: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<void>;
  /** Drops the upload and its stored parts; a no-op if it is already gone. */
  abort(key: string, uploadId: string): Promise<void>;
  /** Size of a stored object, or `undefined` if it does not exist. */
  sizeOf(key: string): Promise<number | undefined>;
  remove(key: string): Promise<void>;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Counts events per key in a rolling window, atomically across concurrent callers. */
export interface RateLimiter {
  acquire(key: string, limit: number, windowSeconds: number, now: Date): Promise<RateDecision>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  videoId(): string;
}

/** Starts the transcode workflow for one generation of a video's source. */
export interface WorkflowStarter {
  /**
   * Starts the execution named after the video and generation. Starting a name that already
   * exists is a no-op (`started: false`), so the API call and the storage event can both try.
   * The run carries `correlationId` (else the caller's own) on every task's log lines.
   */
  start(videoId: string, generation: number, correlationId?: string): Promise<{ started: boolean }>;
  /** State of that execution; `NONE` if it was never started. */
  describe(videoId: string, generation: number): Promise<ExecutionState>;
  /** Stops it if it is running. */
  stop(videoId: string, generation: number, reason: string): Promise<void>;
}

export type ExecutionState = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'NONE';

/** The media bucket, as the pipeline and video deletion use it. */
export interface MediaStore {
  /** Removes every object under a prefix; returns how many. */
  removePrefix(prefix: string): Promise<number>;
}

/** Poster images creators upload into the media bucket (under `MediaLayout.customPosterPrefix`). */
export interface PosterStore {
  /** A presigned PUT of exactly `size` bytes of `contentType` to `key`, valid `ttlSeconds`. */
  signPut(key: string, contentType: string, size: number, ttlSeconds: number): Promise<string>;
  /** The stored object's size and its first `bytes` bytes; `undefined` when there is none. */
  peek(key: string, bytes: number): Promise<{ size: number; head: Uint8Array } | undefined>;
}

/** Signs playback tokens (`{expires}.{kid}.{signature}`) the edge function accepts. */
export interface PlaybackSigner {
  /** A token granting one video's files until `expires` (Unix seconds). */
  token(videoId: string, expires: number): Promise<string>;
}

/**
 * What the search index holds per video: every video (private ones too, so owners find their
 * own); who may see a hit is decided in the query (see {@link SearchRequest.viewerId}).
 */
export interface SearchDocument {
  readonly id: string;
  readonly ownerId: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly visibility: Visibility;
  readonly status: VideoStatus;
  readonly createdAt: string;
  readonly durationSeconds?: number;
  /** Views counted so far. */
  readonly views: number;
  /** Time-decayed view score as of `trendAt` (ms); trending ranks by its value decayed to now. */
  readonly trend: number;
  readonly trendAt: number;
  /** When this version of the document was indexed (ms); cursors hide later ones. */
  readonly indexedAt: number;
}

export interface SearchRequest {
  /** Words to match in title, tags and description (typos tolerated); absent: tags only. */
  readonly text?: string;
  /** Only videos carrying every one of these (lower-case) tags. */
  readonly tags?: readonly string[];
  /**
   * Who is searching. Hits are `ready` videos that are `public`, plus — for this viewer — their
   * own videos in any visibility. Unlisted videos are never found by others.
   */
  readonly viewerId?: string;
  readonly limit: number;
  /** Keyset: only hits ranked after this one (score descending, then id ascending). */
  readonly after?: { readonly score: number; readonly id: string };
  /**
   * Only videos created at or before this time (ms), so later pages of a search never show videos
   * that arrived after its first page. By creation, not by `indexedAt`: a video re-indexed while
   * someone pages (a view, an edit) must not vanish from their later pages.
   */
  readonly asOf?: number;
  /** Never return these ids (e.g. the video itself, for related). */
  readonly excludeIds?: readonly string[];
}

export interface SearchHit {
  readonly doc: SearchDocument;
  /**
   * Relevance, deterministic per document and query (field weights and match kind, never corpus
   * statistics), so keyset paging returns each hit exactly once while the index changes.
   */
  readonly score: number;
}

/** The search index: an embedded engine (snapshot in S3) or OpenSearch, behind one port. */
export interface SearchIndex {
  /** Adds or replaces documents by id (idempotent). */
  upsert(docs: readonly SearchDocument[]): Promise<void>;
  /** Removes documents by id (missing ids are fine). */
  remove(ids: readonly string[]): Promise<void>;
  /** Ranked hits: score descending, then id ascending. */
  search(request: SearchRequest): Promise<SearchHit[]>;
  /** Public ready videos (and the viewer's own) by trend decayed to `now` (ms), highest first. */
  trending(request: { readonly limit: number; readonly viewerId?: string; readonly now: number; readonly excludeIds?: readonly string[] }): Promise<SearchHit[]>;
}

/**
 * Where the embedded search index keeps its snapshot (one JSON object, e.g. in S3), versioned by
 * an ETag so writers never overwrite each other's changes.
 */
export interface SnapshotStore {
  /** The current snapshot and its ETag; `undefined` when none was saved yet. */
  load(): Promise<{ body: string; etag: string } | undefined>;
  /**
   * Replaces the snapshot only if its ETag is still `ifMatch` (`undefined`: only if there is no
   * snapshot yet); returns the new ETag. Throws `ConflictError` when someone saved in between.
   */
  save(body: string, ifMatch: string | undefined): Promise<string>;
  /** The current ETag without the body (a cheap freshness check); `undefined` when none. */
  etag(): Promise<string | undefined>;
}

/** Signs search cursors so a client can neither forge one nor reuse it with another query. */
export interface CursorSigner {
  /** A MAC of `message` (URL-safe text). */
  sign(message: string): Promise<string>;
  /** Whether `signature` is `message`'s MAC (compared in constant time). */
  verify(message: string, signature: string): Promise<boolean>;
}

/** A video's view counters as stored on its item. */
export interface ViewCounters {
  readonly views: number;
  /** Time-decayed view score as of `trendAt` (ms); 0 and absent before the first view. */
  readonly trend: number;
  readonly trendAt?: number;
}

/** A video's card fields and counters, read fresh from the table (discovery re-checks with it). */
export interface VideoSnapshot extends ViewCounters {
  readonly id: string;
  readonly ownerId: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly visibility: Visibility;
  readonly status: VideoStatus;
  readonly createdAt: string;
  readonly durationSeconds?: number;
}

/** Views, watch history and co-views, on the table beside the videos. */
export interface ViewStore {
  /**
   * Marks that `viewer` viewed `videoId` in the hour starting `hour` (ms); true only for the first
   * call of that (video, viewer, hour), atomically across concurrent callers. The mark expires
   * (TTL) at `expiresAt` (ms).
   */
  claimView(videoId: string, viewer: string, hour: number, expiresAt: number): Promise<boolean>;
  /** The counters of a video; `undefined` when there is no such video. */
  counters(videoId: string): Promise<ViewCounters | undefined>;
  /**
   * Adds one view and sets the trend, only if `trendAt` is still `expectTrendAt` (`undefined`:
   * never set). Returns the new counters, `'conflict'` when another view won the race, or
   * `undefined` when the video no longer exists.
   */
  addView(videoId: string, next: { trend: number; trendAt: number }, expectTrendAt: number | undefined): Promise<ViewCounters | 'conflict' | undefined>;
  /** Appends to a user's watch history. */
  addHistory(userId: string, videoId: string, at: Date): Promise<void>;
  /** A user's most recent history entries, newest first. */
  history(userId: string, limit: number): Promise<{ videoId: string; at: string }[]>;
  /** Adds one co-view to each pair (`videoId`, other) in both directions. */
  addCoViews(videoId: string, others: readonly string[]): Promise<void>;
  /** Videos co-viewed with `videoId`, most co-views first (at most `limit`). */
  coViewed(videoId: string, limit: number): Promise<{ videoId: string; count: number }[]>;
  /** Fresh snapshots of the videos that still exist (consistent reads), in no particular order. */
  snapshots(ids: readonly string[]): Promise<VideoSnapshot[]>;
  /** Deletes a deleted video's co-view counters, in both directions. Idempotent. */
  forgetVideo(videoId: string): Promise<void>;
}
