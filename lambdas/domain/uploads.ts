import type { StartUploadRequest, StoredPart, UploadSession, VideoStatusView } from '#contracts/api';
import { ConflictError, PayloadTooLargeError, RateLimitedError, UploadGoneError, ValidationError } from './errors.ts';
import type { Clock, IdGenerator, RateLimiter, UploadStore, VideoRepository, WorkflowStarter } from './ports.ts';
import { rawKeyFor, type Video } from './video.ts';
import { notFound, statusOf } from './videos.ts';

/** S3 allows at most 10,000 parts; we stay at 1,000 so a start response stays small. */
export const MAX_PARTS = 1000;
const MiB = 1024 * 1024;
const HOUR_SECONDS = 3600;

export interface UploadLimits {
  readonly maxBytes: number;
  /** Preferred part size; grown (in whole MiB) when a file would need more than `MAX_PARTS`. */
  readonly partSizeBytes: number;
  readonly urlTtlSeconds: number;
  readonly startsPerHour: number;
}

export interface UploadDeps {
  readonly videos: VideoRepository;
  readonly store: UploadStore;
  readonly limiter: RateLimiter;
  readonly workflow: Pick<WorkflowStarter, 'start'>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly limits: UploadLimits;
}

/** Part size for a file: the configured size, grown so the file fits in `MAX_PARTS` parts. */
export function partSizeFor(fileSize: number, preferred: number): number {
  const needed = Math.ceil(Math.ceil(fileSize / MAX_PARTS) / MiB) * MiB;
  return Math.max(preferred, needed);
}

/** The parts a file of `fileSize` splits into; every part but the last is `partSize` long. */
export function planParts(fileSize: number, partSize: number): { partNumber: number; size: number }[] {
  const count = Math.ceil(fileSize / partSize);
  return Array.from({ length: count }, (_, i) => ({
    partNumber: i + 1,
    size: i === count - 1 ? fileSize - partSize * (count - 1) : partSize,
  }));
}

const formatBytes = (n: number): string =>
  n >= 1024 * MiB && n % (1024 * MiB) === 0 ? `${n / (1024 * MiB)} GiB` : `${n} bytes`;

/**
 * Resumable direct-to-storage uploads: start, resume, complete, abort. Every method takes the caller's id and answers `NotFoundError` for a
 * video that is not theirs, exactly as for one that does not exist.
 */
export class Uploads {
  constructor(private readonly deps: UploadDeps) {}

  async start(ownerId: string, request: StartUploadRequest): Promise<UploadSession> {
    const { videos, store, limiter, clock, ids, limits } = this.deps;
    if (request.fileSize > limits.maxBytes) {
      throw new PayloadTooLargeError(
        `fileSize ${request.fileSize} exceeds the upload limit of ${formatBytes(limits.maxBytes)}`,
      );
    }
    const now = clock.now();
    const decision = await limiter.acquire(`upload-start#${ownerId}`, limits.startsPerHour, HOUR_SECONDS, now);
    if (!decision.allowed) {
      throw new RateLimitedError(
        `upload limit reached: at most ${limits.startsPerHour} uploads per hour; try again in ${decision.retryAfterSeconds} s`,
        decision.retryAfterSeconds,
      );
    }

    const id = ids.videoId();
    const rawKey = rawKeyFor(id);
    const partSize = partSizeFor(request.fileSize, limits.partSizeBytes);
    const uploadId = await store.begin(rawKey, request.contentType);
    const at = now.toISOString();
    const video: Video = {
      id,
      ownerId,
      title: request.title,
      description: request.description ?? '',
      tags: request.tags ?? [],
      visibility: request.visibility,
      status: 'pending_upload',
      fileName: request.fileName,
      fileSize: request.fileSize,
      contentType: request.contentType,
      rawKey,
      uploadId,
      partSize,
      generation: 1,
      version: 1,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await videos.create(video);
    } catch (error) {
      await store.abort(rawKey, uploadId).catch(() => undefined);
      throw error;
    }
    return this.session(video, []);
  }

  /** What is stored so far, and fresh URLs for every part still missing. */
  async resume(ownerId: string, id: string): Promise<UploadSession> {
    const video = await this.owned(ownerId, id);
    if (video.status !== 'pending_upload') throw this.notPending(video);
    const stored = await this.deps.store.listParts(video.rawKey, video.uploadId).catch((error: unknown) => {
      if (error instanceof UploadGoneError) {
        throw new ConflictError('this upload has expired or was aborted; start a new upload', { cause: error });
      }
      throw error;
    });
    return this.session(video, stored);
  }

  /**
   * Assembles the parts and checks the stored size. Idempotent: once the source is stored, every
   * further call answers the same as the first — the upload's receipt, `uploaded`, whatever the
   * workflow has made of the video since (`GET .../status` follows that). The run it starts
   * carries `correlationId`, the completing request's.
   */
  async complete(
    ownerId: string,
    id: string,
    parts: readonly { partNumber: number; etag: string }[],
    correlationId?: string,
  ): Promise<VideoStatusView> {
    const { videos, store } = this.deps;
    const video = await this.owned(ownerId, id);
    if (video.status !== 'pending_upload') {
      if (video.status === 'aborted') throw new ConflictError('this upload was aborted; start a new upload');
      if (video.failure?.code === 'SizeMismatch') throw new ValidationError(video.failure.message);
      // A retry after a crash between "uploaded" and the start must still start it (a no-op if it ran).
      if (video.status === 'uploaded') await this.deps.workflow.start(video.id, video.generation, video.correlationId);
      return receipt(video);
    }
    const expected = planParts(video.fileSize, video.partSize);
    this.checkPartList(parts, expected.length);

    try {
      const stored = await store.listParts(video.rawKey, video.uploadId);
      this.checkStoredParts(parts, stored, expected);
      await store.complete(video.rawKey, video.uploadId, parts);
    } catch (error) {
      // A concurrent or retried call may have completed it already: then the object is there.
      if (!(error instanceof UploadGoneError)) throw error;
      if ((await store.sizeOf(video.rawKey)) === undefined) {
        throw new ConflictError('this upload has expired or was aborted; start a new upload', { cause: error });
      }
    }

    const size = await store.sizeOf(video.rawKey);
    if (size !== video.fileSize) {
      await store.remove(video.rawKey);
      const failure = {
        code: 'SizeMismatch',
        message: `the uploaded file is ${size ?? 0} bytes but ${video.fileSize} were declared; start a new upload`,
      };
      await videos.transition(id, ['pending_upload'], 'failed', { failure }).catch(() => undefined);
      throw new ValidationError(failure.message);
    }

    try {
      // The storage event may start the run before this call does: the id goes with the item.
      const uploaded = await videos.transition(id, ['pending_upload'], 'uploaded', correlationId ? { correlationId } : {});
      await this.deps.workflow.start(uploaded.id, uploaded.generation, uploaded.correlationId);
      return receipt(uploaded);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const now = await this.owned(ownerId, id);
      if (now.status === 'aborted') {
        // An abort won the race after the parts were assembled: honour it, leave nothing behind.
        await store.remove(video.rawKey);
        throw new ConflictError('this upload was aborted; start a new upload', { cause: error });
      }
      return receipt(now);
    }
  }

  /** Drops the stored parts and marks the video aborted; repeating it is a no-op. */
  async abort(ownerId: string, id: string): Promise<VideoStatusView> {
    const video = await this.owned(ownerId, id);
    if (video.status === 'aborted') return statusOf(video);
    if (video.status !== 'pending_upload') {
      throw new ConflictError(`the upload is already complete (status ${video.status}); delete the video instead`);
    }
    await this.deps.store.abort(video.rawKey, video.uploadId);
    try {
      return statusOf(await this.deps.videos.transition(id, ['pending_upload'], 'aborted'));
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return this.abort(ownerId, id);
    }
  }

  private async owned(ownerId: string, id: string): Promise<Video> {
    const video = await this.deps.videos.get(id);
    if (!video || video.ownerId !== ownerId) throw notFound(id);
    return video;
  }

  private notPending(video: Video): ConflictError {
    return video.status === 'aborted'
      ? new ConflictError('this upload was aborted; start a new upload')
      : new ConflictError(`the upload is already complete (status ${video.status})`);
  }

  private async session(video: Video, stored: StoredPart[]): Promise<UploadSession> {
    const { store, clock, limits } = this.deps;
    const have = new Set(stored.map((p) => p.partNumber));
    const plan = planParts(video.fileSize, video.partSize);
    const missing = plan.filter((p) => !have.has(p.partNumber));
    const expiresAt = new Date(clock.now().getTime() + limits.urlTtlSeconds * 1000).toISOString();
    return {
      id: video.id,
      status: video.status,
      uploadId: video.uploadId,
      fileSize: video.fileSize,
      partSize: video.partSize,
      partCount: plan.length,
      uploadedParts: stored,
      parts: await store.signParts(video.rawKey, video.uploadId, missing, limits.urlTtlSeconds),
      expiresAt,
    };
  }

  private checkPartList(parts: readonly { partNumber: number }[], count: number): void {
    const numbers = parts.map((p) => p.partNumber);
    const problems: string[] = [];
    const repeated = [...new Set(numbers.filter((n, i) => numbers.indexOf(n) !== i))];
    if (repeated.length) problems.push(`partNumber ${summarise(repeated)} is listed more than once`);
    const outOfRange = numbers.filter((n) => n < 1 || n > count);
    if (outOfRange.length) problems.push(`this upload has parts 1..${count}; got partNumber ${outOfRange.join(', ')}`);
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !numbers.includes(n));
    if (missing.length) problems.push(`parts must list all ${count} parts; missing ${summarise(missing)}`);
    if (problems.length) throw new ValidationError(problems.join('; '), { details: problems });
  }

  private checkStoredParts(
    parts: readonly { partNumber: number; etag: string }[],
    stored: StoredPart[],
    expected: { partNumber: number; size: number }[],
  ): void {
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
    const problems: string[] = [];
    const notUploaded = expected.filter((p) => !byNumber.has(p.partNumber)).map((p) => p.partNumber);
    if (notUploaded.length) {
      problems.push(`part ${summarise(notUploaded)} not uploaded yet; GET /api/v1/videos/{id}/upload for fresh URLs`);
    }
    for (const part of parts) {
      const have = byNumber.get(part.partNumber);
      if (have && unquote(have.etag) !== unquote(part.etag)) {
        problems.push(`part ${part.partNumber}: etag does not match the stored part; send the ETag its PUT returned`);
      }
    }
    if (problems.length) throw new ValidationError(problems.join('; '), { details: problems });
  }

}

const unquote = (etag: string) => etag.replace(/^"|"$/g, '');

function summarise(numbers: number[]): string {
  return numbers.length > 10 ? `${numbers.slice(0, 10).join(', ')} and ${numbers.length - 10} more` : numbers.join(', ');
}

/** What completing an upload answers, the first time and every time after. */
function receipt(video: Video): VideoStatusView {
  return { id: video.id, status: 'uploaded', progress: 0 };
}
