import { createHash } from 'node:crypto';
import type { PartUrl, StoredPart, VideoStatus } from '#contracts/api';
import { ConflictError, NotFoundError, UploadGoneError } from '#domain/errors';
import type {
  Clock,
  EditExpectation,
  ExecutionState,
  IdGenerator,
  MediaStore,
  RateDecision,
  RateLimiter,
  TransitionChanges,
  UploadStore,
  VideoEdits,
  VideoPage,
  VideoPosition,
  VideoRepository,
  WorkflowStarter,
} from '#domain/ports';
import { VideoQueries } from '#domain/videos';
import { Library } from '#domain/library';
import { Uploads, type UploadLimits } from '#domain/uploads';
import type { Video } from '#domain/video';
import type { SearchDocument, SearchHit, SearchIndex, SearchRequest, VideoSnapshot, ViewCounters, ViewStore } from '#domain/ports';
import { byRank, isVisibleTo as isFindableBy, trendScore } from '#domain/search';

/**
 * In-memory stand-ins for the domain's ports, faithful to the contracts in `ports.ts` (and to
 * what the real adapters do where the contract is silent), so domain tests need no network.
 * Every value crosses the boundary as a copy, as it would through DynamoDB or S3: a caller that
 * mutates what it got back cannot change what is stored.
 */

/** A clock that stands still until a test moves it. */
export class FakeClock implements Clock {
  private ms: number;

  constructor(start: Date | string = '2025-01-01T00:00:00.000Z') {
    this.ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  advance(by: { seconds?: number; ms?: number }): void {
    this.ms += (by.seconds ?? 0) * 1000 + (by.ms ?? 0);
  }
}

/** Ids `vid00000001`, `vid00000002`, …: valid 11-character video ids, predictable in tests. */
export class SequentialIdGenerator implements IdGenerator {
  private next = 1;

  videoId(): string {
    return `vid${String(this.next++).padStart(8, '0')}`;
  }
}

/** `VideoRepository` on a map; `transition` checks and writes in one step, so it is atomic. */
export class InMemoryVideoRepository implements VideoRepository {
  private readonly items = new Map<string, Video>();

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  async create(video: Video): Promise<void> {
    if (this.items.has(video.id)) throw new ConflictError(`video ${video.id} already exists`);
    this.items.set(video.id, structuredClone(video));
  }

  async get(id: string): Promise<Video | undefined> {
    const video = this.items.get(id);
    return video && structuredClone(video);
  }

  async transition(
    id: string,
    from: readonly VideoStatus[],
    to: VideoStatus,
    changes: TransitionChanges = {},
    options: { generation?: number } = {},
  ): Promise<Video> {
    const current = this.items.get(id);
    if (!current) throw new NotFoundError(`no video ${id}`);
    if (!from.includes(current.status)) throw new ConflictError(`video ${id} is no longer ${from.join(' or ')}`);
    if (options.generation !== undefined && current.generation !== options.generation) {
      throw new ConflictError(`video ${id} is at generation ${current.generation}`);
    }
    // Only the allow-listed fields, as the real adapter's update expression does.
    const next: Video = {
      ...current,
      status: to,
      ...(changes.failure === undefined ? {} : { failure: changes.failure }),
      ...(changes.media === undefined ? {} : { media: changes.media }),
      ...(changes.generation === undefined ? {} : { generation: changes.generation }),
      ...(changes.correlationId === undefined ? {} : { correlationId: changes.correlationId }),
      version: current.version + 1,
      updatedAt: this.clock.now().toISOString(),
    };
    this.items.set(id, structuredClone(next));
    return structuredClone(next);
  }

  async recordChunkDone(id: string, generation: number, index: number, total: number): Promise<void> {
    const current = this.items.get(id);
    if (!current || current.status !== 'processing' || current.generation !== generation) {
      throw new ConflictError(`video ${id} generation ${generation} is no longer processing`);
    }
    const done = (this.chunks.get(id) ?? new Set<number>()).add(index);
    this.chunks.set(id, done);
    this.items.set(id, { ...current, progress: { done: done.size, total }, updatedAt: this.clock.now().toISOString() });
  }

  async findStale(statuses: readonly VideoStatus[], before: Date): Promise<Video[]> {
    return [...this.items.values()]
      .filter((v) => statuses.includes(v.status) && v.updatedAt < before.toISOString())
      .map((v) => structuredClone(v));
  }

  async edit(id: string, edits: VideoEdits, expect: EditExpectation): Promise<Video> {
    const current = this.items.get(id);
    if (!current || current.ownerId !== expect.ownerId) throw new NotFoundError(`no video ${id}`);
    if ((expect.version !== undefined && current.version !== expect.version) || expect.notIn?.includes(current.status)) {
      throw new ConflictError(`video ${id} changed: its version or status no longer allows this edit`);
    }
    // Only the editable fields, as the real adapter's update expression does.
    const next: Video = {
      ...current,
      ...(edits.title === undefined ? {} : { title: edits.title }),
      ...(edits.description === undefined ? {} : { description: edits.description }),
      ...(edits.tags === undefined ? {} : { tags: edits.tags }),
      ...(edits.visibility === undefined ? {} : { visibility: edits.visibility }),
      ...(edits.poster === undefined || !current.media ? {} : { media: { ...current.media, poster: edits.poster } }),
      version: current.version + 1,
      updatedAt: this.clock.now().toISOString(),
    };
    this.items.set(id, structuredClone(next));
    return structuredClone(next);
  }

  async remove(id: string, ownerId: string): Promise<void> {
    if (this.items.get(id)?.ownerId !== ownerId) throw new NotFoundError(`no video ${id}`);
    this.items.delete(id);
    this.chunks.delete(id);
  }

  /** Ordered as the owner index is: by `createdAt#id`, descending. */
  async listByOwner(ownerId: string, page: { limit: number; after?: VideoPosition }): Promise<VideoPage> {
    const sortKey = (v: VideoPosition) => `${v.createdAt}#${v.id}`;
    const after = page.after && sortKey(page.after);
    const mine = [...this.items.values()]
      .filter((v) => v.ownerId === ownerId && (after === undefined || sortKey(v) < after))
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1));
    const videos = mine.slice(0, page.limit).map((v) => structuredClone(v));
    const last = videos.at(-1);
    return mine.length > page.limit && last ? { videos, next: { createdAt: last.createdAt, id: last.id } } : { videos };
  }

  private readonly chunks = new Map<string, Set<number>>();

  /** Test seam: stores a video as-is (e.g. one already `ready`), replacing any with its id. */
  seed(video: Video): void {
    this.items.set(video.id, structuredClone(video));
  }
}

interface PendingUpload {
  readonly key: string;
  readonly parts: Map<number, { etag: string; bytes: Uint8Array }>;
}

/**
 * `UploadStore` modelled on S3 multipart uploads: `begin` opens an upload, parts arrive by PUT
 * (`put` with a URL from `signParts`, or `uploadPart` directly), `complete` concatenates the
 * listed parts into an object and forgets the upload. A completed, aborted or unknown upload is
 * gone: `listParts` and `complete` throw `UploadGoneError`, `abort` does nothing.
 */
export class InMemoryUploadStore implements UploadStore {
  static readonly urlBase = 'https://raw.storage.test/';

  private readonly uploads = new Map<string, PendingUpload>();
  private readonly objects = new Map<string, { bytes: Uint8Array; contentType: string }>();
  private readonly contentTypes = new Map<string, string>();
  private nextUpload = 1;

  async begin(key: string, contentType: string): Promise<string> {
    const uploadId = `upload-${this.nextUpload++}`;
    this.uploads.set(uploadId, { key, parts: new Map() });
    this.contentTypes.set(uploadId, contentType);
    return uploadId;
  }

  /** URLs that carry what a presigned URL would sign: key, upload, part number, exact size. */
  async signParts(
    key: string,
    uploadId: string,
    parts: readonly { partNumber: number; size: number }[],
    ttlSeconds: number,
  ): Promise<PartUrl[]> {
    return parts.map(({ partNumber, size }) => {
      const url = new URL(key, InMemoryUploadStore.urlBase);
      url.search = new URLSearchParams({
        uploadId,
        partNumber: String(partNumber),
        size: String(size),
        expiresIn: String(ttlSeconds),
      }).toString();
      return { partNumber, size, url: url.toString() };
    });
  }

  /**
   * Test seam: the browser's PUT of a part to a signed URL. Like S3 with a signed
   * `Content-Length`, refuses a body whose length differs from the signed size.
   * @returns the part's ETag (quoted, as S3 returns it)
   */
  async put(url: string, bytes: Uint8Array): Promise<string> {
    const parsed = new URL(url);
    const key = decodeURIComponent(parsed.pathname.slice(1));
    const query = parsed.searchParams;
    if (Number(query.get('size')) !== bytes.byteLength) {
      throw new Error(`SignatureDoesNotMatch: signed for ${query.get('size')} bytes, got ${bytes.byteLength}`);
    }
    return this.uploadPart(key, query.get('uploadId') ?? '', Number(query.get('partNumber')), bytes);
  }

  /** Test seam: stores a part without any size check (what an unsigned write could do). */
  async uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<string> {
    const upload = this.pending(key, uploadId);
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    upload.parts.set(partNumber, { etag, bytes: Uint8Array.from(bytes) });
    return etag;
  }

  async listParts(key: string, uploadId: string): Promise<StoredPart[]> {
    const upload = this.pending(key, uploadId);
    return [...upload.parts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partNumber, part]) => ({ partNumber, etag: part.etag, size: part.bytes.byteLength }));
  }

  async complete(key: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<void> {
    const upload = this.pending(key, uploadId);
    const chunks = [...parts]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map(({ partNumber, etag }) => {
        const stored = upload.parts.get(partNumber);
        // S3 answers InvalidPart, which the real adapter lets through as an unexpected error.
        if (!stored || unquote(stored.etag) !== unquote(etag)) {
          throw Object.assign(new Error(`InvalidPart: part ${partNumber}`), { name: 'InvalidPart' });
        }
        return stored.bytes;
      });
    this.objects.set(key, { bytes: Buffer.concat(chunks), contentType: this.contentTypes.get(uploadId) ?? '' });
    this.uploads.delete(uploadId);
  }

  async abort(key: string, uploadId: string): Promise<void> {
    if (this.uploads.get(uploadId)?.key === key) this.uploads.delete(uploadId);
  }

  async sizeOf(key: string): Promise<number | undefined> {
    return this.objects.get(key)?.bytes.byteLength;
  }

  async remove(key: string): Promise<void> {
    this.objects.delete(key);
  }

  /** Test seam: whether an upload is still open (not completed, aborted or unknown). */
  isOpen(uploadId: string): boolean {
    return this.uploads.has(uploadId);
  }

  /** Test seam: the stored object's bytes, or `undefined`. */
  object(key: string): Uint8Array | undefined {
    const object = this.objects.get(key);
    return object && Uint8Array.from(object.bytes);
  }

  private pending(key: string, uploadId: string): PendingUpload {
    const upload = this.uploads.get(uploadId);
    // S3 answers NoSuchUpload also for an upload id that belongs to another key.
    if (!upload || upload.key !== key) throw new UploadGoneError('the upload no longer exists');
    return upload;
  }
}

/** An exact rolling window: an event counts while it is less than `windowSeconds` old. */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly events = new Map<string, number[]>();

  async acquire(key: string, limit: number, windowSeconds: number, now: Date): Promise<RateDecision> {
    const nowMs = now.getTime();
    const windowMs = windowSeconds * 1000;
    const recent = (this.events.get(key) ?? []).filter((at) => nowMs - at < windowMs);
    if (recent.length < limit) {
      this.events.set(key, [...recent, nowMs]);
      return { allowed: true };
    }
    this.events.set(key, recent);
    const oldest = Math.min(...recent);
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - nowMs) / 1000)) };
  }
}

const MiB = 1024 * 1024;

/** Limits for tests: small parts so files stay small; the production defaults' rate. */
export const testLimits: UploadLimits = {
  maxBytes: 64 * MiB,
  partSizeBytes: 5 * MiB,
  urlTtlSeconds: 900,
  startsPerHour: 5,
};

export interface FakeUploads {
  readonly uploads: Uploads;
  readonly queries: VideoQueries;
  readonly workflow: InMemoryWorkflowStarter;
  readonly videos: InMemoryVideoRepository;
  readonly store: InMemoryUploadStore;
  readonly limiter: InMemoryRateLimiter;
  readonly clock: FakeClock;
  readonly ids: SequentialIdGenerator;
}

/** An `Uploads` wired to fresh fakes, with the fakes exposed so a test can arrange and inspect. */
export function fakeUploads(limits: Partial<UploadLimits> = {}): FakeUploads {
  const clock = new FakeClock();
  const videos = new InMemoryVideoRepository(clock);
  const store = new InMemoryUploadStore();
  const limiter = new InMemoryRateLimiter();
  const ids = new SequentialIdGenerator();
  const workflow = new InMemoryWorkflowStarter();
  const uploads = new Uploads({ videos, store, limiter, workflow, clock, ids, limits: { ...testLimits, ...limits } });
  return { uploads, workflow, queries: new VideoQueries(videos), videos, store, limiter, clock, ids };
}

const unquote = (etag: string) => etag.replace(/^"|"$/g, '');

/** Records starts by execution name; a name already started is a no-op, as in Step Functions. */
export class InMemoryWorkflowStarter implements WorkflowStarter {
  readonly executions: string[] = [];
  /** The correlation id each execution was started with. */
  readonly correlationIds = new Map<string, string | undefined>();
  /** Test seam: the state each execution is in (started ones default to RUNNING). */
  readonly states = new Map<string, ExecutionState>();
  async start(videoId: string, generation: number, correlationId?: string): Promise<{ started: boolean }> {
    const name = `${videoId}-g${generation}`;
    if (this.executions.includes(name)) return { started: false };
    this.executions.push(name);
    this.correlationIds.set(name, correlationId);
    this.states.set(name, 'RUNNING');
    return { started: true };
  }
  async describe(videoId: string, generation: number): Promise<ExecutionState> {
    return this.states.get(`${videoId}-g${generation}`) ?? 'NONE';
  }
  async stop(videoId: string, generation: number): Promise<void> {
    const name = `${videoId}-g${generation}`;
    if (this.states.get(name) === 'RUNNING') this.states.set(name, 'ABORTED');
  }
}

/** Media bucket keys in a set. */
export class InMemoryMediaStore implements MediaStore {
  readonly keys = new Set<string>();
  async removePrefix(prefix: string): Promise<number> {
    const doomed = [...this.keys].filter((k) => k.startsWith(prefix));
    for (const key of doomed) this.keys.delete(key);
    return doomed.length;
  }
}

export interface FakeLibrary extends FakeUploads {
  readonly library: Library;
  readonly media: InMemoryMediaStore;
}

/** A `Library` and an `Uploads` over the same fakes, so a test can upload and then manage. */
export function fakeLibrary(limits: Partial<UploadLimits> = {}): FakeLibrary {
  const uploads = fakeUploads(limits);
  const media = new InMemoryMediaStore();
  const library = new Library({ videos: uploads.videos, uploads: uploads.store, media, workflow: uploads.workflow });
  return { ...uploads, library, media };
}

/**
 * `ViewStore` over an `InMemoryVideoRepository`: counters beside the videos (gone with them, as
 * attributes of the video item are), marks, history and co-views in maps.
 */
export class InMemoryViewStore implements ViewStore {
  private readonly marks = new Set<string>();
  private readonly counts = new Map<string, ViewCounters>();
  private readonly histories = new Map<string, { videoId: string; at: string }[]>();
  private readonly coViews = new Map<string, Map<string, number>>();

  constructor(private readonly videos: InMemoryVideoRepository) {}

  async claimView(videoId: string, viewer: string, hour: number): Promise<boolean> {
    const key = `${videoId}#${viewer}#${hour}`;
    if (this.marks.has(key)) return false;
    this.marks.add(key);
    return true;
  }

  async counters(videoId: string): Promise<ViewCounters | undefined> {
    if (!(await this.videos.get(videoId))) return undefined;
    return { ...(this.counts.get(videoId) ?? { views: 0, trend: 0 }) };
  }

  async addView(videoId: string, next: { trend: number; trendAt: number }, expectTrendAt: number | undefined): Promise<ViewCounters | 'conflict' | undefined> {
    const current = await this.counters(videoId);
    if (!current) return undefined;
    if (current.trendAt !== expectTrendAt) return 'conflict';
    const updated = { views: current.views + 1, ...next };
    this.counts.set(videoId, updated);
    return { ...updated };
  }

  async addHistory(userId: string, videoId: string, at: Date): Promise<void> {
    this.histories.set(userId, [...(this.histories.get(userId) ?? []), { videoId, at: at.toISOString() }]);
  }

  /** Newest first, by time then video id (the sort key's order). */
  async history(userId: string, limit: number): Promise<{ videoId: string; at: string }[]> {
    const key = (h: { videoId: string; at: string }) => `${h.at}#${h.videoId}`;
    return [...(this.histories.get(userId) ?? [])].sort((a, b) => (key(a) < key(b) ? 1 : -1)).slice(0, limit);
  }

  async addCoViews(videoId: string, others: readonly string[]): Promise<void> {
    for (const other of others.filter((o) => o !== videoId)) {
      for (const [a, b] of [[videoId, other], [other, videoId]] as const) {
        const row = this.coViews.get(a) ?? new Map<string, number>();
        row.set(b, (row.get(b) ?? 0) + 1);
        this.coViews.set(a, row);
      }
    }
  }

  async coViewed(videoId: string, limit: number): Promise<{ videoId: string; count: number }[]> {
    return [...(this.coViews.get(videoId) ?? new Map<string, number>()).entries()]
      .map(([id, count]) => ({ videoId: id, count }))
      .sort((a, b) => b.count - a.count || (a.videoId < b.videoId ? -1 : 1))
      .slice(0, limit);
  }

  async snapshots(ids: readonly string[]): Promise<VideoSnapshot[]> {
    const found: VideoSnapshot[] = [];
    for (const id of new Set(ids)) {
      const video = await this.videos.get(id);
      if (!video) continue;
      const { views, trend, trendAt } = this.counts.get(id) ?? { views: 0, trend: 0 };
      found.push({
        id,
        ownerId: video.ownerId,
        title: video.title,
        description: video.description,
        tags: video.tags,
        visibility: video.visibility,
        status: video.status,
        createdAt: video.createdAt,
        ...(video.media ? { durationSeconds: video.media.durationSeconds } : {}),
        views,
        trend,
        ...(trendAt !== undefined ? { trendAt } : {}),
      });
    }
    return found;
  }

  async forgetVideo(videoId: string): Promise<void> {
    for (const other of this.coViews.get(videoId)?.keys() ?? []) this.coViews.get(other)?.delete(videoId);
    this.coViews.delete(videoId);
  }

  /** Test seam: a user's history, oldest first. */
  historyOf(userId: string): { videoId: string; at: string }[] {
    return [...(this.histories.get(userId) ?? [])];
  }
}

/**
 * A `SearchIndex` on a map with the contract's rules (visibility, tags, `asOf`, `excludeIds`,
 * keyset order) and a simple deterministic relevance: per query word, the best of title 3, tags 2,
 * description 1 where a word of that field equals it (or starts with it: 0.8×). No typo tolerance;
 * the real engines' contract suite covers that.
 */
export class InMemorySearchIndex implements SearchIndex {
  readonly docs = new Map<string, SearchDocument>();

  async upsert(docs: readonly SearchDocument[]): Promise<void> {
    for (const doc of docs) this.docs.set(doc.id, structuredClone(doc));
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.docs.delete(id);
  }

  async search(request: SearchRequest): Promise<SearchHit[]> {
    const terms = words(request.text ?? '');
    const tags = request.tags ?? [];
    const exclude = new Set(request.excludeIds ?? []);
    const hits: SearchHit[] = [];
    for (const doc of this.docs.values()) {
      if (!isFindableBy(doc, request.viewerId) || exclude.has(doc.id)) continue;
      if (request.asOf !== undefined && Date.parse(doc.createdAt) > request.asOf) continue;
      if (!tags.every((tag) => doc.tags.some((t) => t.toLowerCase() === tag))) continue;
      const fields = [
        [3, words(doc.title)],
        [2, words(doc.tags.join(' '))],
        [1, words(doc.description)],
      ] as const;
      let score = 0;
      for (const term of terms) {
        let best = 0;
        for (const [weight, fieldWords] of fields) {
          if (fieldWords.includes(term)) best = Math.max(best, weight);
          else if (fieldWords.some((w) => w.startsWith(term))) best = Math.max(best, weight * 0.8);
        }
        score += best;
      }
      if (terms.length > 0 && score === 0) continue;
      const hit = { doc: structuredClone(doc), score: Number(score.toFixed(6)) };
      const after = request.after;
      if (after && !(hit.score < after.score || (hit.score === after.score && doc.id > after.id))) continue;
      hits.push(hit);
    }
    return hits.sort(byRank).slice(0, request.limit);
  }

  async trending(request: { readonly limit: number; readonly viewerId?: string; readonly now: number; readonly excludeIds?: readonly string[] }): Promise<SearchHit[]> {
    const exclude = new Set(request.excludeIds ?? []);
    return [...this.docs.values()]
      .filter((doc) => doc.status === 'ready' && isFindableBy(doc, request.viewerId) && !exclude.has(doc.id))
      .map((doc) => ({ doc: structuredClone(doc), score: trendScore(doc, request.now) }))
      .sort(byRank)
      .slice(0, request.limit);
  }
}

const words = (text: string): string[] => text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
