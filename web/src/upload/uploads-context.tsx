import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { useApi } from '../api/api-context.tsx';
import type { ApiClient } from '../api/client.ts';
import { useAuth } from '../auth/auth-context.tsx';
import { UploadStore, type UploadItem } from './upload-store.ts';

const UploadsContext = createContext<UploadStore | undefined>(undefined);

/** One store per signed-in account; signing out pauses its uploads (they stay resumable). */
let current: { store: UploadStore; api: ApiClient; userId: string } | undefined;
function storeFor(api: ApiClient, userId: string | undefined): UploadStore | undefined {
  if (current && (current.userId !== userId || current.api !== api)) {
    current.store.dispose();
    current = undefined;
  }
  if (userId && !current) current = { store: new UploadStore(api, userId), api, userId };
  return current?.store;
}

export function UploadsProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const userId = useAuth().user?.id;
  const store = useMemo(() => storeFor(api, userId), [api, userId]);
  useEffect(() => void store?.restore(), [store]);
  return <UploadsContext.Provider value={store}>{children}</UploadsContext.Provider>;
}

const NONE: readonly UploadItem[] = [];
const noSubscription = () => () => undefined;

/** The signed-in account's uploads (undefined store when signed out). */
export function useUploads(): { store: UploadStore | undefined; items: readonly UploadItem[] } {
  const store = useContext(UploadsContext);
  const items = useSyncExternalStore(store?.subscribe ?? noSubscription, store?.getSnapshot ?? (() => NONE));
  return { store, items };
}
