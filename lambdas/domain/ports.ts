import type { PartUrl, StoredPart, VideoStatus } from '#contracts/api';
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
    changes?: Partial<Pick<Video, 'failure' | 'progress' | 'generation'>>,
  ): Promise<Video>;
}

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
