import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { useAuth } from '../auth/auth-context.tsx';
import { ApiClient } from './client.ts';

const ApiContext = createContext<ApiClient | undefined>(undefined);

/** The API client, sending the signed-in person's ID token. */
export function ApiProvider({ children }: { children: ReactNode }) {
  const { idToken, signOut } = useAuth();
  const api = useMemo(() => new ApiClient({ idToken, onUnauthorized: () => void signOut() }), [idToken, signOut]);
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside <ApiProvider>');
  return api;
}
