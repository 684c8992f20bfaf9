import type { AuthTokens } from './cognito.ts';

/** What the app knows about the signed-in person, from the ID token's claims. */
export interface User {
  readonly id: string;
  readonly email: string;
}

export interface StoredSession extends AuthTokens {
  readonly user: User;
  /** When the ID token expires (ms since the epoch). */
  readonly expiresAt: number;
}

const STORAGE_KEY = 'vodstack.session';

/** The claims of a JWT (no verification: the API verifies; the app only reads who and until when). */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

export function sessionOf(tokens: AuthTokens): StoredSession {
  const claims = claimsOf(tokens.idToken);
  return {
    ...tokens,
    user: { id: String(claims['sub'] ?? ''), email: String(claims['email'] ?? claims['cognito:username'] ?? '') },
    expiresAt: Number(claims['exp'] ?? 0) * 1000,
  };
}

export function readSession(): StoredSession | undefined {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return undefined;
    const session = JSON.parse(raw) as StoredSession;
    return session.idToken && session.refreshToken && session.user?.id ? session : undefined;
  } catch {
    return undefined;
  }
}

export function writeSession(session: StoredSession | undefined): void {
  if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else localStorage.removeItem(STORAGE_KEY);
}

/** True when a `storage` event is about the session (another tab signed in or out). */
export const isSessionKey = (key: string | null): boolean => key === STORAGE_KEY || key === null;
