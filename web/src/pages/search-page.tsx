import { useCallback, useEffect, useRef, useState } from 'react';
import type { VideoCard } from '#contracts/api';
import { useApi } from '../api/api-context.tsx';
import { describeError } from '../api/client.ts';
import { useAuth } from '../auth/auth-context.tsx';
import { useRouter } from '../router.tsx';
import { ErrorMessage, Page } from '../ui/page.tsx';
import { chipTags, resultsText, searchUrl, tagsOf } from '../ui/discovery.ts';
import { VideoGrid } from '../ui/video-cards.tsx';

/** Results per request; `?page_size=` (1..50) overrides it. */
const PAGE_SIZE = 12;

type Phase = 'loading' | 'loaded' | 'more' | 'error';

/**
 * `/search?q=&tags=`: results of the search API, with tag filter chips and infinite scroll (an
 * IntersectionObserver on the end of the list asks for the next page; the "Load more results"
 * button does the same for keyboards, screen readers and browsers without the observer).
 */
export function SearchPage() {
  const api = useApi();
  const { user } = useAuth();
  const { search, navigate } = useRouter();
  const q = (search.get('q') ?? '').trim();
  const tags = tagsOf(search);
  const sizeParam = search.get('page_size');
  const pageSize = Math.min(50, Math.max(1, Number(sizeParam) || PAGE_SIZE));
  const key = JSON.stringify([q, tags, pageSize, user?.id]);

  const [items, setItems] = useState<readonly VideoCard[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [phase, setPhase] = useState<Phase>('loading');
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  /** The search the state above belongs to: answers for an older one are dropped. */
  const current = useRef(key);
  useEffect(() => {
    current.current = key;
  }, [key]);
  const sentinel = useRef<HTMLDivElement>(null);

  const fetchPage = useCallback(
    async (after?: string) => {
      const asked = key;
      if (!after) setItems([]);
      setPhase(after ? 'more' : 'loading');
      setError(undefined);
      try {
        const page = await api.search({ q, tags, pageSize, cursor: after });
        if (current.current !== asked) return;
        setItems((shown) => (after ? [...shown, ...page.items.filter((v) => !shown.some((s) => s.id === v.id))] : page.items));
        setCursor(page.nextCursor);
        setPhase('loaded');
      } catch (caught) {
        if (current.current !== asked) return;
        setError(caught);
        setPhase(after ? 'loaded' : 'error');
      }
    },
    // `key` stands for q, tags and pageSize.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, key],
  );

  const idle = !q && tags.length === 0;
  useEffect(() => {
    if (idle) return;
    const timer = setTimeout(() => void fetchPage(), 0);
    return () => clearTimeout(timer);
  }, [fetchPage, attempt, idle]);

  // Infinite scroll: a fresh observer after every page, so a short page that leaves the end of the
  // list in view asks for the next one at once.
  const more = !idle && phase === 'loaded' && cursor !== undefined && error === undefined;
  useEffect(() => {
    const target = sentinel.current;
    if (!more || !target || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          observer.disconnect();
          void fetchPage(cursor);
        }
      },
      { rootMargin: '0px 0px 400px 0px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [more, cursor, fetchPage]);

  const toggleTag = (tag: string) => {
    const next = tags.includes(tag) ? tags.filter((t) => t !== tag) : [...tags, tag];
    navigate(searchUrl(q, next, sizeParam), { replace: true });
  };

  const chips = chipTags(items, tags);
  const described = q ? `“${q}”` : '';

  return (
    <Page title={q ? `${q} – Search` : 'Search'} heading="Search results" wide>
      {(q || tags.length > 0) && (
        <p className="lead">
          {q && <>Videos matching {described}</>}
          {q && tags.length > 0 && ', '}
          {tags.length > 0 && <>tagged {tags.join(', ')}</>}
        </p>
      )}
      {chips.length > 0 && (
        <div role="group" aria-label="Filter by tag" className="chips">
          {chips.map((tag) => (
            <button key={tag} type="button" className="chip" aria-pressed={tags.includes(tag)} onClick={() => toggleTag(tag)}>
              {tag}
            </button>
          ))}
        </div>
      )}
      {idle ? (
        <p>Type what you are looking for in the search box above.</p>
      ) : (
        <>
          <p role="status" className={phase === 'loading' ? undefined : 'visually-hidden'}>
            {phase === 'loading' ? 'Searching…' : phase === 'error' ? '' : resultsText(items.length, cursor !== undefined)}
          </p>
          {phase === 'error' && (
            <>
              <ErrorMessage>{describeError(error)}</ErrorMessage>
              <button type="button" onClick={() => setAttempt((n) => n + 1)}>
                Try again
              </button>
            </>
          )}
          {phase === 'loaded' && items.length === 0 && (
            <div className="empty">
              <p>No videos match {described || 'these tags'}{q && tags.length > 0 ? ' with these tags' : ''}.</p>
              <p className="muted">Check the spelling, use fewer words, or remove a tag filter.</p>
            </div>
          )}
          {items.length > 0 && <VideoGrid label="Search results" videos={items} />}
          <div ref={sentinel} className="sentinel" />
          {phase === 'loaded' && error !== undefined && <ErrorMessage>{describeError(error)}</ErrorMessage>}
          {cursor !== undefined && (phase === 'loaded' || phase === 'more') && (
            <button type="button" disabled={phase === 'more'} onClick={() => void fetchPage(cursor)}>
              {phase === 'more' ? 'Loading…' : 'Load more results'}
            </button>
          )}
          {phase === 'loaded' && items.length > 0 && cursor === undefined && <p className="muted">That is everything we found.</p>}
        </>
      )}
    </Page>
  );
}
