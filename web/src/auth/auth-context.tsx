import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { cognitoEndpointOf, type AppConfig } from '../config.ts';
import { CognitoClient, CognitoError } from './cognito.ts';
import { isSessionKey, readSession, sessionOf, writeSession, type StoredSession, type User } from './tokens.ts';

export interface Auth {
  readonly user: User | undefined;
  readonly cognito: CognitoClient;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  /**
   * A current ID token (refreshed when it expires within a minute), or undefined when signed out.
   * A refresh token Cognito no longer honours signs the person out.
   */
  idToken(): Promise<string | undefined>;
}

const AuthContext = createContext<Auth | undefined>(undefined);

/** Refresh the ID token this long before it expires. */
const REFRESH_MARGIN_MS = 60_000;

export function AuthProvider({ config, children }: { config: AppConfig; children: ReactNode }) {
  const cognito = useMemo(() => new CognitoClient(cognitoEndpointOf(config), config.userPoolClientId), [config]);
  const [session, setSession] = useState<StoredSession | undefined>(readSession);
  const sessionRef = useRef(session);
  const refreshing = useRef<Promise<StoredSession | undefined> | undefined>(undefined);

  const update = useCallback((next: StoredSession | undefined) => {
    sessionRef.current = next;
    writeSession(next);
    setSession(next);
  }, []);

  // Another tab signed in, out, or refreshed.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (!isSessionKey(event.key)) return;
      const next = readSession();
      sessionRef.current = next;
      setSession(next);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const signIn = useCallback(
    async (email: string, password: string) => update(sessionOf(await cognito.signIn(email.trim(), password))),
    [cognito, update],
  );

  const signOut = useCallback(async () => {
    const current = sessionRef.current;
    update(undefined);
    if (current) await cognito.revoke(current.refreshToken).catch(() => undefined);
  }, [cognito, update]);

  const idToken = useCallback(async () => {
    const current = sessionRef.current;
    if (!current) return undefined;
    if (current.expiresAt - Date.now() > REFRESH_MARGIN_MS) return current.idToken;
    refreshing.current ??= cognito
      .refresh(current.refreshToken)
      .then((tokens) => {
        const next = sessionOf(tokens);
        update(next);
        return next;
      })
      .catch((error: unknown) => {
        if (error instanceof CognitoError && error.type === 'NetworkError') throw error;
        update(undefined);
        return undefined;
      })
      .finally(() => {
        refreshing.current = undefined;
      });
    return (await refreshing.current)?.idToken;
  }, [cognito, update]);

  const value = useMemo<Auth>(
    () => ({ user: session?.user, cognito, signIn, signOut, idToken }),
    [session, cognito, signIn, signOut, idToken],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside <AuthProvider>');
  return auth;
}
