import type { ApiClient } from './client.ts';

const SESSION_KEY = 'vodstack.viewerSession';

/** A random id for this browser, kept in localStorage, so anonymous views count once per hour too. */
export function viewerSessionId(): string {
  try {
    const stored = localStorage.getItem(SESSION_KEY);
    if (stored && /^[A-Za-z0-9_-]{16,64}$/.test(stored)) return stored;
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    const fresh = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    localStorage.setItem(SESSION_KEY, fresh);
    return fresh;
  } catch {
    // Storage refused (private mode): a session for this page only.
    return crypto.randomUUID().replace(/-/g, '');
  }
}

/**
 * Records one view per page visit, once playback really starts (the first frames play, not on
 * page load). The server deduplicates per user or session per hour; a failure is not the
 * viewer's problem, so it is dropped.
 */
export function viewRecorder(api: ApiClient, videoId: string, signedIn: boolean): () => void {
  let sent = false;
  return () => {
    if (sent) return;
    sent = true;
    api.recordView(videoId, signedIn ? undefined : viewerSessionId()).catch(() => undefined);
  };
}
