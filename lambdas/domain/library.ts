import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  PosterUploadLimits,
  StartPosterUploadRequest,
  UpdateVideoRequest,
  VideoId,
  type PosterUpload,
  type VideoList,
  type VideoSummary,
  type VideoView,
} from '#contracts/api';
import { MediaLayout } from '#contracts/workflow';
import { ConflictError, ValidationError } from './errors.ts';
import type { MediaStore, PosterStore, UploadStore, VideoEdits, VideoPosition, VideoRepository, WorkflowStarter } from './ports.ts';
import type { Video } from './video.ts';
import { notFound, statusOf, toView } from './videos.ts';

export interface LibraryDeps {
  readonly videos: VideoRepository;
  /** The raw bucket: the source and any multipart upload still open. */
  readonly uploads: Pick<UploadStore, 'abort' | 'remove'>;
  /** The media bucket: what the pipeline published. */
  readonly media: Pick<MediaStore, 'removePrefix'>;
  /** Deleting an uploaded or processing video stops its transcode run. */
  readonly workflow: Pick<WorkflowStarter, 'stop'>;
  /** Creator-uploaded poster images; only the functions that take them are given it. */
  readonly posters?: PosterStore;
}

/** The first bytes of the image formats a poster may be. */
const IMAGE_MAGIC = {
  jpg: [0xff, 0xd8, 0xff],
  png: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
} as const;

/** Statuses in which a video's workflow may be running. */
const RUNNING = ['uploaded', 'processing'] as const;

/** An aborted upload is over: its video can be deleted, not edited. */
const NOT_EDITABLE = ['aborted'] as const;
/** A poster is chosen among published thumbnails, so only on a ready video. */
const NOT_READY = ['pending_upload', 'uploaded', 'processing', 'failed', 'aborted'] as const;

export const MAX_PAGE_SIZE = 100;

/**
 * A creator's own videos: edit, delete, list. Every method takes the caller's id and answers
 * `NotFoundError` for a video that is not theirs, exactly as for one that does not exist.
 */
export class Library {
  constructor(private readonly deps: LibraryDeps) {}

  /**
   * Edits title, description, tags or visibility, in any status but `aborted` (a creator can
   * edit while the video is still processing), and chooses the poster among the published
   * candidates once the video is `ready`. With `version`, the edit applies only if the
   * video is still at that version; otherwise `ConflictError`, so two editors cannot silently
   * overwrite each other.
   */
  async update(callerId: string, id: string, request: UpdateVideoRequest): Promise<VideoView> {
    const { version, poster, ...fields } = validate(request);
    const video = await this.owned(callerId, id);
    checkEditable(video, version, poster !== undefined);
    const edits: VideoEdits =
      poster === undefined
        ? fields
        : { ...fields, poster: 'candidate' in poster ? candidateKey(video, poster.candidate) : await this.uploadedPoster(video, poster.uploaded) };
    const notIn = poster === undefined ? NOT_EDITABLE : NOT_READY;
    try {
      return toView(await this.deps.videos.edit(id, edits, { ownerId: callerId, version, notIn }));
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // It changed between the read and the write: answer as if the read had seen the change.
      checkEditable(await this.owned(callerId, id), version, poster !== undefined);
      throw new ConflictError(`video ${id} changed while it was being edited; reload it and try again`, { cause: error });
    }
  }

  /**
   * A presigned PUT for an image the owner uploads as the poster of a `ready` video, signed for
   * its exact type and size; `PATCH` with `poster: {uploaded: key}` then makes it the poster.
   */
  async startPosterUpload(callerId: string, id: string, request: StartPosterUploadRequest): Promise<PosterUpload> {
    const parsed = StartPosterUploadRequest.safeParse(request);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
      throw new ValidationError(details.join('; '), { details });
    }
    const { contentType, size } = parsed.data;
    const video = await this.owned(callerId, id);
    checkEditable(video, undefined, true);
    const key = `${MediaLayout.customPosterPrefix(id)}${randomBytes(12).toString('base64url')}.${contentType === 'image/png' ? 'png' : 'jpg'}`;
    const ttl = PosterUploadLimits.urlTtlSeconds;
    const url = await this.posters().signPut(key, contentType, size, ttl);
    return { url, key, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
  }

  /**
   * Deletes the video and everything stored for it: its running transcode (stopped first, so no
   * further step starts), an open multipart upload, the raw source, the published media, and the
   * item. Storage goes before the item, so a failure part-way leaves the item for the owner to
   * retry; the media are swept again once the item is gone, for anything a task already in flight
   * wrote meanwhile. Stopping does not cancel a task invocation that is already running (Step
   * Functions lets it finish): such a task can no longer bring the video back (its write is
   * conditional on the item and fails), but outputs it writes after the last sweep stay behind —
   * a known gap: the media-writing tasks should drop their outputs when they find the item gone.
   *
   * Not idempotent in its answer: deleting a deleted video answers `NotFoundError`, like any
   * video that does not exist (nothing is left to remove, so repeating it is harmless).
   */
  async remove(callerId: string, id: string): Promise<void> {
    const { videos, uploads, media } = this.deps;
    const video = await this.owned(callerId, id);
    if ((RUNNING as readonly string[]).includes(video.status)) {
      await this.deps.workflow.stop(id, video.generation, 'the video was deleted by its owner');
    }
    // A no-op once the upload completed or was aborted; covers a complete racing this delete.
    await uploads.abort(video.rawKey, video.uploadId);
    await uploads.remove(video.rawKey);
    await media.removePrefix(MediaLayout.prefix(id));
    await videos.remove(id, callerId);
    await media.removePrefix(MediaLayout.prefix(id));
  }

  /**
   * The caller's videos, newest first, `limit` at a time. `cursor` is the opaque `nextCursor` of
   * the previous page; one that this API did not issue for this caller is a `ValidationError`.
   */
  async listMine(callerId: string, query: { limit: number; cursor?: string | undefined }): Promise<VideoList> {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_PAGE_SIZE) {
      throw invalid(`limit: must be a whole number 1..${MAX_PAGE_SIZE}`);
    }
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, callerId);
    const page = await this.deps.videos.listByOwner(callerId, { limit: query.limit, ...(after ? { after } : {}) });
    return {
      items: page.videos.map(summaryOf),
      ...(page.next ? { nextCursor: encodeCursor(callerId, page.next) } : {}),
    };
  }

  /** `key` when it is an image uploaded for this video, of the allowed size and format. */
  private async uploadedPoster(video: Video, key: string): Promise<string> {
    const pattern = new RegExp(`^${escapeRegExp(MediaLayout.customPosterPrefix(video.id))}[A-Za-z0-9_-]{1,64}\\.(jpg|png)$`);
    const extension = pattern.exec(key)?.[1] as keyof typeof IMAGE_MAGIC | undefined;
    if (!extension) throw invalid(`poster.uploaded: is not a poster key of this video; start a poster upload and send its key`);
    const stored = await this.posters().peek(key, 8);
    if (!stored) throw invalid('poster.uploaded: no image was uploaded at that key; upload it to the URL first');
    if (stored.size > PosterUploadLimits.maxBytes) throw invalid('poster.uploaded: the image is larger than 2 MiB');
    const magic = IMAGE_MAGIC[extension];
    if (stored.head.length < magic.length || magic.some((byte, i) => stored.head[i] !== byte)) {
      throw invalid(`poster.uploaded: the file is not a ${extension === 'png' ? 'PNG' : 'JPEG'} image`);
    }
    return key;
  }

  private posters(): PosterStore {
    if (!this.deps.posters) throw new Error('this function was not given the poster store (MEDIA_BUCKET)');
    return this.deps.posters;
  }

  private async owned(callerId: string, id: string): Promise<Video> {
    const video = await this.deps.videos.get(id);
    if (!video || video.ownerId !== callerId) throw notFound(id);
    return video;
  }
}

/** The request's rules hold here too, whoever calls: at least one field, each within its limits. */
function validate(request: UpdateVideoRequest): UpdateVideoRequest {
  const result = UpdateVideoRequest.safeParse(request);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`);
  throw new ValidationError(details.join('; '), { details });
}

function checkEditable(video: Video, version: number | undefined, choosesPoster = false): void {
  if (video.status === 'aborted') {
    throw new ConflictError('this upload was aborted, so the video cannot be edited; delete it or start a new upload');
  }
  if (choosesPoster && video.status !== 'ready') {
    throw new ConflictError(`video ${video.id} is ${video.status}: a poster can be chosen once it is ready`);
  }
  if (version !== undefined && video.version !== version) {
    throw new ConflictError(
      `video ${video.id} is at version ${video.version}, not ${version}: it changed since you loaded it; reload it and apply your edit again`,
    );
  }
}

/** The key of published thumbnail `candidate`; a `ValidationError` when the run made fewer. */
function candidateKey(video: Video, candidate: number): string {
  const key = video.media?.candidates[candidate];
  if (key === undefined) {
    throw invalid(`poster.candidate: this video has only ${video.media?.candidates.length ?? 0} candidate thumbnails`);
  }
  return key;
}

export function summaryOf(video: Video): VideoSummary {
  const { progress, failure } = statusOf(video);
  return {
    ...toView(video),
    progress,
    ...(failure ? { failure } : {}),
    ...(video.media ? { durationSeconds: video.media.durationSeconds } : {}),
  };
}

/**
 * A cursor is base64url JSON of the owner and the last item's position. It carries no secret:
 * the list is always read from the caller's own partition, so at worst a hand-made cursor of
 * one's own skips to a position in one's own list. A cursor of another user's list is refused
 * (it would be meaningless here), as is anything that does not decode to this shape.
 */
const Cursor = z.strictObject({ o: z.string().min(1), c: z.iso.datetime(), i: VideoId });

function encodeCursor(ownerId: string, position: VideoPosition): string {
  return Buffer.from(JSON.stringify({ o: ownerId, c: position.createdAt, i: position.id })).toString('base64url');
}

function decodeCursor(cursor: string, callerId: string): VideoPosition {
  let decoded: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const parsed = Cursor.safeParse(decoded);
  if (!parsed.success || parsed.data.o !== callerId) throw invalidCursor();
  return { createdAt: parsed.data.c, id: parsed.data.i };
}

const invalidCursor = () =>
  invalid('cursor: is not a nextCursor this API returned for your videos; omit it to start from the first page');

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function invalid(detail: string): ValidationError {
  return new ValidationError(detail, { details: [detail] });
}
