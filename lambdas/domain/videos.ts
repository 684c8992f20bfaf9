import type { VideoStatusView, VideoView } from '#contracts/api';
import { NotFoundError } from './errors.ts';
import type { VideoRepository } from './ports.ts';
import { isVisibleTo, type Video } from './video.ts';

/**
 * Read-side views of a video. A caller who may not see a video gets `NotFoundError`, exactly as
 * for one that does not exist, so an id reveals nothing.
 */
export class VideoQueries {
  constructor(private readonly videos: VideoRepository) {}

  /** `{status, progress}`, for the owner only. */
  async status(callerId: string, id: string): Promise<VideoStatusView> {
    const video = await this.videos.get(id);
    if (!video || video.ownerId !== callerId) throw notFound(id);
    return statusOf(video);
  }

  /** Metadata: the owner always; anyone else once it is ready, unless private. */
  async get(callerId: string | undefined, id: string): Promise<VideoView> {
    const video = await this.videos.get(id);
    if (!video || !isVisibleTo(video, callerId)) throw notFound(id);
    return toView(video);
  }
}

export const notFound = (id: string) => new NotFoundError(`no video ${id}`);

/** Progress is chunks done / total while processing, 1 once ready, 0 before. */
export function statusOf(video: Video): VideoStatusView {
  const progress =
    video.status === 'ready' ? 1 : video.progress && video.progress.total > 0 ? video.progress.done / video.progress.total : 0;
  return {
    id: video.id,
    status: video.status,
    progress,
    ...(video.failure ? { failure: video.failure } : {}),
  };
}

export function toView(video: Video): VideoView {
  return {
    id: video.id,
    ownerId: video.ownerId,
    title: video.title,
    description: video.description,
    tags: video.tags,
    visibility: video.visibility,
    status: video.status,
    fileName: video.fileName,
    fileSize: video.fileSize,
    contentType: video.contentType,
    createdAt: video.createdAt,
    updatedAt: video.updatedAt,
    version: video.version,
  };
}
