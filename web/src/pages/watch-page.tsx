import { useCallback, useEffect, useMemo, useState } from 'react';
import type { StreamView, VideoView } from '#contracts/api';
import { useApi } from '../api/api-context.tsx';
import { ApiError, describeError } from '../api/client.ts';
import { viewRecorder } from '../api/views.ts';
import { useAuth } from '../auth/auth-context.tsx';
import { Player } from '../player/player.tsx';
import { Link } from '../router.tsx';
import { FeedRow } from '../ui/feed-row.tsx';
import { formatDate } from '../ui/format.ts';
import { ErrorMessage, Page } from '../ui/page.tsx';
import { visibilityLabel } from '../ui/visibility-field.tsx';

type Loaded =
  | { state: 'loading' }
  | { state: 'ready'; video: VideoView; stream: StreamView }
  | { state: 'not-ready'; video: VideoView }
  | { state: 'error'; error: unknown };

const NOT_READY: Record<string, string> = {
  pending_upload: 'This video has not finished uploading yet.',
  uploaded: 'This video is waiting to be processed. Check again in a moment.',
  processing: 'This video is still being processed. Check again in a moment.',
  failed: 'This video could not be processed.',
  aborted: 'This upload was cancelled.',
};

export function WatchPage({ videoId }: { videoId: string }) {
  const api = useApi();
  const { user } = useAuth();
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  // One view per visit of this page, sent when frames first play.
  const signedIn = user !== undefined;
  const recordView = useMemo(() => viewRecorder(api, videoId, signedIn), [api, videoId, signedIn]);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        // Metadata and stream URLs together (the stream fails for a video not ready yet; the
        // metadata says why), while the player's hls.js chunk downloads beside them.
        void import('hls.js');
        const streamed = api.stream(videoId).then(
          (stream) => ({ stream }),
          (error: unknown) => ({ error }),
        );
        const video = await api.video(videoId);
        if (video.status !== 'ready') {
          if (!cancelled) setLoaded({ state: 'not-ready', video });
          return;
        }
        const result = await streamed;
        if ('error' in result) throw result.error;
        if (!cancelled) setLoaded({ state: 'ready', video, stream: result.stream });
      } catch (error) {
        if (!cancelled) setLoaded({ state: 'error', error });
      }
    })();
    return () => {
      cancelled = true;
    };
    // `user`: signing in or out changes what this viewer may watch.
  }, [api, videoId, attempt, user?.id]);

  const onExpired = useCallback(async () => {
    const stream = await api.stream(videoId);
    setLoaded((current) => (current.state === 'ready' ? { ...current, stream } : current));
  }, [api, videoId]);

  switch (loaded.state) {
    case 'loading':
      return (
        <Page title="Loading video" heading="Loading…">
          <p role="status">Loading the video…</p>
        </Page>
      );
    case 'error': {
      const missing = loaded.error instanceof ApiError && loaded.error.status === 404;
      return (
        <Page title={missing ? 'Video not found' : 'Video unavailable'}>
          <ErrorMessage>{describeError(loaded.error)}</ErrorMessage>
          {missing && !user && (
            <p>
              If it is your video, <Link to={`/login?next=${encodeURIComponent(`/watch/${videoId}`)}`}>log in</Link> to watch it.
            </p>
          )}
          {!missing && (
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          )}
        </Page>
      );
    }
    case 'not-ready':
      return (
        <Page title={loaded.video.title}>
          <p role="status">{NOT_READY[loaded.video.status] ?? 'This video cannot be played yet.'}</p>
          <p className="row">
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>
              Check again
            </button>
            <Link to="/videos">Go to my videos</Link>
          </p>
        </Page>
      );
    case 'ready': {
      const { video, stream } = loaded;
      return (
        <Page title={video.title} wide>
          <div className="watch-layout">
            <div className="watch-main">
              <Player stream={stream} title={video.title} onExpired={onExpired} onPlaying={recordView} />
              <div className="video-details">
                <p className="meta">
                  {formatDate(video.createdAt)}
                  {user?.id === video.ownerId && <span className={`badge badge-${video.visibility}`}>{visibilityLabel(video.visibility)}</span>}
                  <Link to={`/channel/${encodeURIComponent(video.ownerId)}`}>More from this channel</Link>
                </p>
                {video.description && <p className="description">{video.description}</p>}
                {video.tags.length > 0 && (
                  <ul className="tags" aria-label="Tags">
                    {video.tags.map((tag) => (
                      <li key={tag}>
                        <Link to={`/search?tags=${encodeURIComponent(tag)}`}>{tag}</Link>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            </div>
            <aside className="watch-related">
              <FeedRow
                title="Related videos"
                load={() => api.related(video.id)}
                loadKey={`${video.id}:${user?.id ?? ''}`}
                empty="No related videos yet."
                exclude={video.id}
                compact
              />
            </aside>
          </div>
        </Page>
      );
    }
  }
}
