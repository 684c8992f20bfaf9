import { useId, type CSSProperties } from 'react';
import type { VideoCard } from '#contracts/api';
import { Link } from '../router.tsx';
import { formatClock, formatDate } from './format.ts';

/**
 * Cards carry no poster URL (posters of private and unlisted videos need signed URLs, and one
 * `/stream` call per card would multiply a results page's requests by its size). So a card shows
 * a placeholder drawn from the card itself — the title over a colour derived from the id, and the
 * duration — which costs no request at all; the watch page shows the real poster.
 */
function hueOf(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 360;
}

export const viewsText = (views: number): string => (views === 1 ? '1 view' : `${views.toLocaleString('en')} views`);

/** One video in a grid: an article named by its title, with a link to watch it and one to its channel. */
export function VideoTile({ video, showChannel = true }: { video: VideoCard; showChannel?: boolean }) {
  const id = useId();
  const style = { '--thumb-hue': hueOf(video.id) } as CSSProperties;
  return (
    <article className="tile" aria-labelledby={`${id}-title`}>
      <Link to={`/watch/${encodeURIComponent(video.id)}`} className="tile-thumb" style={style} tabIndex={-1} aria-hidden="true">
        <span className="tile-thumb-title">{video.title}</span>
        {video.durationSeconds !== undefined && <span className="tile-duration">{formatClock(video.durationSeconds)}</span>}
      </Link>
      <h3 id={`${id}-title`} className="tile-title">
        <Link to={`/watch/${encodeURIComponent(video.id)}`}>{video.title}</Link>
      </h3>
      <p className="tile-meta">
        {showChannel && (
          <>
            <Link to={`/channel/${encodeURIComponent(video.ownerId)}`}>{video.ownerName ?? 'Channel'}</Link>
            {' · '}
          </>
        )}
        {viewsText(video.views)} · {formatDate(video.createdAt)}
        {video.durationSeconds !== undefined && <span className="visually-hidden"> · {formatClock(video.durationSeconds)} long</span>}
      </p>
    </article>
  );
}

/** A list of video tiles, named for assistive technology (e.g. `Trending`, `Search results`). */
export function VideoGrid({ label, videos, showChannel, compact }: { label: string; videos: readonly VideoCard[]; showChannel?: boolean; compact?: boolean }) {
  return (
    <ul className={compact ? 'tile-grid compact' : 'tile-grid'} aria-label={label}>
      {videos.map((video) => (
        <li key={video.id}>
          <VideoTile video={video} showChannel={showChannel} />
        </li>
      ))}
    </ul>
  );
}
