import type { StreamView } from '#contracts/api';
import { playbackPath, PUBLIC_WINDOW_SECONDS } from '#contracts/playback';
import { ConflictError } from './errors.ts';
import type { Clock, PlaybackSigner, VideoRepository } from './ports.ts';
import { isVisibleTo, type Video } from './video.ts';
import { notFound } from './videos.ts';

export interface PlaybackLimits {
  /** Lifetime of private and unlisted URLs on top of the video's duration, seconds. */
  readonly ttlSeconds: number;
}

/**
 * Where a viewer plays a video from. The answer is always a pointer to the CDN, never media.
 *
 * Every URL carries a token in its path (`/v/{id}/{token}/...`, see `#contracts/playback`), so a
 * manifest's relative URLs inherit it and any HLS/DASH client plays from the master URL alone.
 * - Public videos: the token changes once a day ({@link PUBLIC_WINDOW_SECONDS}) and is the same
 *   for every viewer, so URLs are shared by browsers and caches alike. It is valid for one to two
 *   days, which bounds how long a link keeps working after the owner makes the video private.
 * - Private (owner only) and unlisted (anyone with the link): a token for this request, valid for
 *   the video's duration plus `ttlSeconds`, so a viewer can pause and come back.
 * The CDN caches media by origin path, so signed and public requests share one cache entry.
 */
export class Playback {
  constructor(
    private readonly deps: {
      readonly videos: Pick<VideoRepository, 'get'>;
      readonly signer: PlaybackSigner;
      readonly clock: Clock;
      /** CDN base URL, no trailing slash. */
      readonly cdnUrl: string;
      readonly limits: PlaybackLimits;
    },
  ) {}

  async stream(callerId: string | undefined, id: string): Promise<StreamView> {
    const video = await this.deps.videos.get(id);
    if (!video || !isVisibleTo(video, callerId)) throw notFound(id);
    if (video.status !== 'ready' || !video.media) {
      throw new ConflictError(`video ${id} is ${video.status.replace('_', ' ')}, not ready to play yet; poll GET /api/v1/videos/${id}/status`);
    }
    const expires = this.expiresFor(video);
    const token = await this.deps.signer.token(id, expires);
    const media = video.media;
    const url = (key: string) => `${this.deps.cdnUrl}${playbackPath(id, token, relativeKey(id, key))}`;
    return {
      id,
      hls: url(media.hlsMaster),
      dash: url(media.dashManifest),
      poster: url(media.poster),
      storyboard: url(media.storyboardVtt),
      expiresAt: new Date(expires * 1000).toISOString(),
      durationSeconds: media.durationSeconds,
      renditions: media.renditions,
    };
  }

  /** Unix seconds at which a new token for `video` stops working. */
  private expiresFor(video: Video): number {
    const now = Math.floor(this.deps.clock.now().getTime() / 1000);
    if (video.visibility === 'public') {
      return (Math.floor(now / PUBLIC_WINDOW_SECONDS) + 2) * PUBLIC_WINDOW_SECONDS;
    }
    return now + this.deps.limits.ttlSeconds + Math.ceil(video.media?.durationSeconds ?? 0);
  }
}

/** `videos/{id}/hls/master.m3u8` → `hls/master.m3u8`; the edge maps it back. */
function relativeKey(id: string, key: string): string {
  const prefix = `videos/${id}/`;
  if (!key.startsWith(prefix)) throw new Error(`published key ${key} is outside ${prefix}`);
  return key.slice(prefix.length);
}
