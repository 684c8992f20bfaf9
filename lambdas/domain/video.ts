import type { VideoStatus, Visibility } from '#contracts/api';
import { RawLayout } from '#contracts/workflow';

/** A video as the domain sees it; the repository maps it to and from table items. */
export interface Video {
  readonly id: string;
  readonly ownerId: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  status: VideoStatus;
  readonly fileName: string;
  readonly fileSize: number;
  readonly contentType: string;
  /** Key of the uploaded source in the raw bucket (derived from the id, never the file name). */
  readonly rawKey: string;
  /** S3 multipart upload id while `pending_upload`. */
  readonly uploadId: string;
  readonly partSize: number;
  /** Bumped each time the source is replaced; part of the workflow's execution name. */
  generation: number;
  /** Optimistic-concurrency version, bumped on every write. */
  version: number;
  progress?: { done: number; total: number };
  failure?: { code: string; message: string };
  /** What the pipeline published, once `ready`. */
  media?: PublishedMedia;
  /**
   * The correlation id of the request that completed the upload. Its workflow run carries it
   * whoever starts the run (the API, the storage event or the sweeper), so one id follows the
   * video from the upload call through every task.
   */
  correlationId?: string;
  readonly createdAt: string;
  updatedAt: string;
}

export const rawKeyFor = (videoId: string): string => RawLayout.source(videoId);

/**
 * Who may see a video by its id: its owner always; anyone else once it is ready, unless it is
 * private. (Unlisted means "anyone with the link", just never listed in search or feeds.)
 */
export function isVisibleTo(video: Video, userId: string | undefined): boolean {
  return video.ownerId === userId || (video.visibility !== 'private' && video.status === 'ready');
}

/** The outputs of a finished transcode, as keys in the media bucket. */
export interface PublishedMedia {
  durationSeconds: number;
  width: number;
  height: number;
  renditions: { name: string; width: number; height: number; bandwidth: number }[];
  hlsMaster: string;
  dashManifest: string;
  poster: string;
  candidates: string[];
  storyboard: string;
  storyboardVtt: string;
}
