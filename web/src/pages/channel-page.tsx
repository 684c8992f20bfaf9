import { useCallback, useEffect, useState } from 'react';
import type { VideoCard } from '#contracts/api';
import { useApi } from '../api/api-context.tsx';
import { describeError } from '../api/client.ts';
import { useAuth } from '../auth/auth-context.tsx';
import { Link } from '../router.tsx';
import { ErrorMessage, Page } from '../ui/page.tsx';
import { VideoGrid } from '../ui/video-cards.tsx';

/** `/channel/{userId}`: a user's public videos, newest first, a page at a time. */
export function ChannelPage({ userId }: { userId: string }) {
  const api = useApi();
  const { user } = useAuth();
  const [items, setItems] = useState<readonly VideoCard[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [phase, setPhase] = useState<'loading' | 'loaded' | 'more' | 'error'>('loading');
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);

  const fetchPage = useCallback(
    async (after?: string) => {
      setPhase(after ? 'more' : 'loading');
      setError(undefined);
      try {
        const page = await api.channel(userId, after);
        setItems((shown) => (after ? [...shown, ...page.items.filter((v) => !shown.some((s) => s.id === v.id))] : page.items));
        setCursor(page.nextCursor);
        setPhase('loaded');
      } catch (caught) {
        setError(caught);
        setPhase(after ? 'loaded' : 'error');
      }
    },
    [api, userId],
  );

  useEffect(() => {
    const timer = setTimeout(() => void fetchPage(), 0);
    return () => clearTimeout(timer);
  }, [fetchPage, attempt]);

  const name = items.find((v) => v.ownerName)?.ownerName;
  const mine = user?.id === userId;
  return (
    <Page title={name ?? 'Channel'} wide>
      {mine && (
        <p className="notice">
          This is your channel as others see it: your public videos only. <Link to="/videos">Manage your videos</Link>
        </p>
      )}
      {phase === 'loading' && <p role="status">Loading videos…</p>}
      {phase === 'error' && (
        <>
          <ErrorMessage>{describeError(error)}</ErrorMessage>
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </>
      )}
      {phase === 'loaded' && items.length === 0 && <p>This channel has no public videos yet.</p>}
      {items.length > 0 && <VideoGrid label="Channel videos" videos={items} showChannel={false} />}
      {phase === 'loaded' && error !== undefined && <ErrorMessage>{describeError(error)}</ErrorMessage>}
      {cursor !== undefined && (phase === 'loaded' || phase === 'more') && (
        <button type="button" disabled={phase === 'more'} onClick={() => void fetchPage(cursor)}>
          {phase === 'more' ? 'Loading…' : 'Load more videos'}
        </button>
      )}
    </Page>
  );
}
