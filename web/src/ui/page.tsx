import { useEffect, useRef, type ReactNode } from 'react';
import { hasNavigated } from '../router.tsx';

/**
 * A page: sets the document title and, after an in-app navigation, moves focus to the heading so
 * that screen-reader and keyboard users start at the new content.
 */
export function Page({ title, heading, children, wide }: { title: string; heading?: ReactNode; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · vodstack`;
    if (hasNavigated()) ref.current?.focus();
  }, [title]);
  return (
    <div className={wide ? 'page page-wide' : 'page'}>
      <h1 ref={ref} tabIndex={-1}>
        {heading ?? title}
      </h1>
      {children}
    </div>
  );
}

/** An error for the person to read; announced as it appears. */
export function ErrorMessage({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p className="error" role="alert">
      {children}
    </p>
  );
}
