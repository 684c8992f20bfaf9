import type { VideoStatusView } from '#contracts/api';
import { ApiError, describeError, type ApiClient } from '../api/client.ts';
import { sentence } from '../ui/format.ts';
import { metadataOf, titleFromFileName, type MetadataDraft } from './metadata.ts';
import { MultipartUpload, type UploadSnapshot } from './multipart.ts';
import { RateMeter, type Rate } from './rate.ts';
import { forgetUpload, saveUpload, savedUploads } from './saved-uploads.ts';

/**
 * `draft`: chosen, metadata being edited; `interrupted`: found unfinished after a reload;
 * `uploading` (see `upload.phase`); `processing` (see `processing`); then `ready`, `failed` or
 * `cancelled`.
 */
export type Stage = 'draft' | 'interrupted' | 'uploading' | 'processing' | 'ready' | 'failed' | 'cancelled';

export interface UploadItem {
  readonly key: string;
  readonly file: File;
  readonly draft: MetadataDraft;
  readonly stage: Stage;
  /** What is wrong with the draft, after a start was refused. */
  readonly problems: readonly string[];
  readonly videoId: string | undefined;
  readonly upload: UploadSnapshot | undefined;
  readonly rate: Rate | undefined;
  readonly processing: VideoStatusView | undefined;
  /** Why it failed, in plain words. */
  readonly error: string | undefined;
  /** Something to know that is not an error (e.g. it cannot resume after a reload). */
  readonly note: string | undefined;
}

/** How often processing progress is polled. */
const POLL_MS = 2000;
/** Progress repaints at most this often (XHR progress events come every few ms). */
const PAINT_MS = 200;

/**
 * The uploads of one signed-in account, for the whole app (navigating away from the upload page
 * does not stop them). A React view subscribes with `useSyncExternalStore`.
 */
export class UploadStore {
  private items: readonly UploadItem[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly uploads = new Map<string, MultipartUpload>();
  private readonly meters = new Map<string, RateMeter>();
  private readonly polls = new Map<string, ReturnType<typeof setTimeout>>();
  private paint: ReturnType<typeof setTimeout> | undefined;
  private nextKey = 1;
  private disposed = false;
  private restoring: Promise<void> | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly userId: string,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): readonly UploadItem[] => this.items;

  addFiles(files: Iterable<File>): void {
    const added = [...files].map((file) =>
      blankItem(`u${this.nextKey++}`, file, { title: titleFromFileName(file.name), description: '', tags: '', visibility: 'private' }),
    );
    this.items = [...this.items, ...added];
    this.notify();
  }

  editDraft(key: string, patch: Partial<MetadataDraft>): void {
    this.update(key, (item) => ({ draft: { ...item.draft, ...patch }, problems: [] }));
  }

  /** Takes an item off the list (drafts and finished ones). */
  remove(key: string): void {
    this.stopPolling(key);
    this.items = this.items.filter((item) => item.key !== key);
    this.notify();
  }

  start(key: string): void {
    const item = this.find(key);
    if (!item || (item.stage !== 'draft' && item.stage !== 'failed') || item.videoId) return this.resumeUpload(key);
    const checked = metadataOf(item.file, item.draft);
    if ('problems' in checked) return this.update(key, () => ({ problems: checked.problems }));
    this.run(key, new MultipartUpload({
      api: this.api,
      file: item.file,
      metadata: checked.metadata,
      onChange: (snapshot) => this.onProgress(key, snapshot),
      onSession: (videoId) => this.keep(key, videoId, checked.metadata.title),
    }));
  }

  startAll(): void {
    for (const item of this.items) if (item.stage === 'draft') this.start(item.key);
  }

  pause = (key: string): void => this.uploads.get(key)?.pause();
  resume = (key: string): void => this.uploads.get(key)?.resume();

  async cancel(key: string): Promise<void> {
    const upload = this.uploads.get(key);
    const videoId = this.find(key)?.videoId;
    if (upload) await upload.cancel();
    else if (videoId) await this.api.abortUpload(videoId).catch(() => undefined);
    if (videoId) await forgetUpload(videoId).catch(() => undefined);
    this.update(key, () => ({ stage: 'cancelled', rate: undefined }));
  }

  /** Offers the unfinished uploads this account left in this browser (after a reload). */
  restore(): Promise<void> {
    this.restoring ??= this.restoreSaved();
    return this.restoring;
  }

  private async restoreSaved(): Promise<void> {
    const saved = await savedUploads(this.userId).catch(() => []);
    for (const record of saved) {
      if (this.disposed || this.items.some((i) => i.videoId === record.videoId)) continue;
      const key = `u${this.nextKey++}`;
      const draft: MetadataDraft = { title: record.title, description: '', tags: '', visibility: 'private' };
      this.items = [...this.items, { ...blankItem(key, record.file, draft), stage: 'interrupted', videoId: record.videoId }];
      this.notify();
      // Finished after all (completed before the tab closed, or cancelled elsewhere)?
      let status: VideoStatusView | undefined;
      try {
        status = await this.api.status(record.videoId);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) continue;
        await forgetUpload(record.videoId).catch(() => undefined);
        this.remove(key);
        continue;
      }
      if (status.status !== 'pending_upload') {
        await forgetUpload(record.videoId).catch(() => undefined);
        this.afterUpload(key, status);
      }
    }
  }

  /** Continues an interrupted (or failed) upload from the parts storage holds. */
  resumeUpload(key: string): void {
    const item = this.find(key);
    if (!item?.videoId || item.processing || (item.stage !== 'interrupted' && item.stage !== 'failed')) return;
    this.run(key, new MultipartUpload({
      api: this.api,
      file: item.file,
      videoId: item.videoId,
      onChange: (snapshot) => this.onProgress(key, snapshot),
    }));
  }

  /** Drops an interrupted upload: storage lets go of its parts, this browser of its file. */
  async discard(key: string): Promise<void> {
    await this.cancel(key);
    this.remove(key);
  }

  /** Leaves (sign-out): uploads pause and stay resumable; nothing polls any more. */
  dispose(): void {
    this.disposed = true;
    for (const upload of this.uploads.values()) upload.pause();
    for (const key of this.polls.keys()) this.stopPolling(key);
    clearTimeout(this.paint);
    this.listeners.clear();
  }

  private run(key: string, upload: MultipartUpload): void {
    this.uploads.set(key, upload);
    this.meters.set(key, new RateMeter());
    this.update(key, () => ({ stage: 'uploading', error: undefined, problems: [] }));
    void upload.start().then(() => {
      this.uploads.delete(key);
      this.meters.delete(key);
      const snapshot = upload.snapshot();
      if (snapshot.phase === 'done' && snapshot.videoId) {
        void forgetUpload(snapshot.videoId).catch(() => undefined);
        this.afterUpload(key, snapshot.status);
      } else if (snapshot.phase === 'failed') {
        this.update(key, () => ({ stage: 'failed', error: snapshot.error, rate: undefined }));
      }
    });
  }

  /** Keeps the file with its video id, so a reload can resume it. */
  private keep(key: string, videoId: string, title: string): void {
    const item = this.find(key);
    this.update(key, () => ({ videoId }));
    if (!item) return;
    saveUpload({ videoId, userId: this.userId, file: item.file, title, savedAt: Date.now() }).catch(() =>
      this.update(key, () => ({ note: 'This browser has no room to keep the file, so this upload cannot resume after the page is closed.' })),
    );
  }

  private onProgress(key: string, snapshot: UploadSnapshot): void {
    const before = this.find(key)?.upload;
    const meter = this.meters.get(key);
    meter?.sample(snapshot.sentBytes);
    const rate = meter?.rate(snapshot.totalBytes - snapshot.uploadedBytes);
    this.update(key, () => ({ upload: snapshot, videoId: snapshot.videoId, rate: snapshot.phase === 'uploading' || snapshot.phase === 'reconnecting' ? rate : undefined }), false);
    // A change of phase shows at once; bytes at most every PAINT_MS.
    if (before?.phase !== snapshot.phase) this.notify();
    else this.paint ??= setTimeout(() => this.notify(), PAINT_MS);
  }

  private afterUpload(key: string, status: VideoStatusView | undefined): void {
    this.update(key, () => ({ stage: 'processing', processing: status, rate: undefined }));
    if (status) this.onStatus(key, status);
    else this.poll(key, 0);
  }

  private poll(key: string, delay = POLL_MS): void {
    this.stopPolling(key);
    const videoId = this.find(key)?.videoId;
    if (!videoId || this.disposed) return;
    this.polls.set(
      key,
      setTimeout(async () => {
        this.polls.delete(key);
        try {
          this.onStatus(key, await this.api.status(videoId));
        } catch (error) {
          if (error instanceof ApiError && !error.retryable) return this.update(key, () => ({ stage: 'failed', error: describeError(error) }));
          this.poll(key);
        }
      }, delay),
    );
  }

  private onStatus(key: string, status: VideoStatusView): void {
    if (this.disposed) return;
    switch (status.status) {
      case 'ready':
        return this.update(key, () => ({ stage: 'ready', processing: status }));
      case 'failed':
        return this.update(key, () => ({
          stage: 'failed',
          processing: status,
          error: status.failure ? sentence(status.failure.message) : 'Processing failed.',
        }));
      case 'aborted':
        return this.update(key, () => ({ stage: 'cancelled', processing: status }));
      default:
        this.update(key, () => ({ stage: 'processing', processing: status }));
        this.poll(key);
    }
  }

  private stopPolling(key: string): void {
    clearTimeout(this.polls.get(key));
    this.polls.delete(key);
  }

  private find(key: string): UploadItem | undefined {
    return this.items.find((item) => item.key === key);
  }

  private update(key: string, change: (item: UploadItem) => Partial<UploadItem>, notify = true): void {
    if (this.disposed) return;
    this.items = this.items.map((item) => (item.key === key ? { ...item, ...change(item) } : item));
    if (notify) this.notify();
  }

  private notify(): void {
    clearTimeout(this.paint);
    this.paint = undefined;
    for (const listener of this.listeners) listener();
  }
}

function blankItem(key: string, file: File, draft: MetadataDraft): UploadItem {
  return {
    key,
    file,
    draft,
    stage: 'draft',
    problems: [],
    videoId: undefined,
    upload: undefined,
    rate: undefined,
    processing: undefined,
    error: undefined,
    note: undefined,
  };
}
