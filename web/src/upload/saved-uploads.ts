/**
 * Unfinished uploads kept in IndexedDB, with the file itself, so that after a reload (or a closed
 * tab) the upload resumes from the parts storage already holds: `GET /videos/{id}/upload`.
 */

export interface SavedUpload {
  readonly videoId: string;
  /** The account that started it: only that account is offered to resume it. */
  readonly userId: string;
  readonly file: File;
  readonly title: string;
  readonly savedAt: number;
}

const DB_NAME = 'vodstack';
const STORE = 'uploads';

let opening: Promise<IDBDatabase> | undefined;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'videoId' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB cannot be opened'));
  }).catch((error: unknown) => {
    opening = undefined;
    throw error;
  });
  return opening;
}

async function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise<T>((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const request = action(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error ?? request.error ?? new Error('IndexedDB request failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export const saveUpload = (upload: SavedUpload): Promise<unknown> => run('readwrite', (store) => store.put(upload));

export const forgetUpload = (videoId: string): Promise<unknown> => run('readwrite', (store) => store.delete(videoId));

export async function savedUploads(userId: string): Promise<SavedUpload[]> {
  const all = await run('readonly', (store) => store.getAll() as IDBRequest<SavedUpload[]>);
  return all.filter((u) => u.userId === userId).sort((a, b) => a.savedAt - b.savedAt);
}
