import { useEffect, useId, useState } from 'react';
import type { VideoCard, VideoCardPage } from '#contracts/api';
import { describeError, isUnavailable } from '../api/client.ts';
import { VideoGrid } from './video-cards.tsx';

export type Loadable<T> = { state: 'loading' } | { state: 'loaded'; value: T } | { state: 'error'; error: unknown };

/** Runs `load` whenever `key` changes; the last answer wins. */
export function useLoad<T>(load: () => Promise<T>, key: string): [Loadable<T>, () => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let cancelled = false;
    // A tick later, so that a mount undone at once (StrictMode's double mount) fetches nothing.
    const timer = setTimeout(() => {
      setResult({ state: 'loading' });
      load().then(
        (value) => !cancelled && setResult({ state: 'loaded', value }),
        (error: unknown) => !cancelled && setResult({ state: 'error', error }),
      );
    }, 0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // `load` is a fresh closure each render; `key` says when what it loads changed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, attempt]);
  return [result, () => setAttempt((n) => n + 1)];
}

/**
 * A titled row of video cards (home page feeds, related videos): a section named by its heading,
 * holding a list of the same name. While loading it says so; a failure is a sentence and a
 * "Try again" button, never a broken page.
 */
export function FeedRow({
  title,
  load,
  loadKey,
  empty,
  compact,
  exclude,
}: {
  title: string;
  load: () => Promise<VideoCardPage>;
  loadKey: string;
  empty: string;
  compact?: boolean;
  exclude?: string;
}) {
  const id = useId();
  const [result, retry] = useLoad(load, loadKey);
  const items: readonly VideoCard[] = result.state === 'loaded' ? result.value.items.filter((v) => v.id !== exclude) : [];
  return (
    <section className="feed-row" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>{title}</h2>
      {result.state === 'loading' && <p className="muted">Loading…</p>}
      {result.state === 'error' && (
        <div className="row">
          <p className="muted">
            {isUnavailable(result.error) ? `${title} is not available on this server yet.` : `${title} could not be loaded. ${describeError(result.error)}`}
          </p>
          {!isUnavailable(result.error) && (
            <button type="button" onClick={retry}>
              Try again
            </button>
          )}
        </div>
      )}
      {result.state === 'loaded' && items.length === 0 && <p className="muted">{empty}</p>}
      {items.length > 0 && <VideoGrid label={title} videos={items} compact={compact} />}
    </section>
  );
}
