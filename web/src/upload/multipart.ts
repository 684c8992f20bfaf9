/**
 * A resumable multipart upload from the browser, straight to storage: start (or resume) the
 * session on the API, PUT each part to its presigned URL (up to four at once, each exactly the
 * length its URL is signed for), read each part's ETag, then complete.
 *
 * The protocol is the one `bench/upload-client.ts` speaks; this version adds what a person at a
 * browser needs: byte-level progress (XHR upload events), pause and resume without losing stored
 * parts, cancel, and patience with the network — a part that fails for want of a connection is
 * retried until the browser is online again, however long that takes.
 */
import type { StoredPart, UploadSession, VideoStatusView } from '#contracts/api';
import { ApiError, describeError, type ApiClient } from '../api/client.ts';
import type { UploadMetadata } from './metadata.ts';

export type UploadPhase =
  | 'starting'
  | 'uploading'
  /** A part failed for want of a connection and waits to try again. */
  | 'reconnecting'
  | 'paused'
  | 'completing'
  | 'done'
  | 'failed'
  | 'cancelled';

export interface UploadSnapshot {
  readonly phase: UploadPhase;
  readonly videoId: string | undefined;
  readonly totalBytes: number;
  /** Bytes storage confirmed, plus what the parts in flight have sent so far. */
  readonly uploadedBytes: number;
  /** Every byte handed to the network, retries included (for the speed). */
  readonly sentBytes: number;
  readonly partsDone: number;
  readonly partCount: number;
  /** The browser says it is offline (shown while reconnecting). */
  readonly offline: boolean;
  /** Why it failed, for a person. */
  readonly error: string | undefined;
  /** The completed upload's status (`uploaded`), once done. */
  readonly status: VideoStatusView | undefined;
}

type Api = Pick<ApiClient, 'startUpload' | 'getUpload' | 'completeUpload' | 'abortUpload'>;

export interface MultipartUploadOptions {
  readonly api: Api;
  readonly file: Blob;
  /** Start a new upload with this metadata… */
  readonly metadata?: UploadMetadata;
  /** …or continue the one with this id. */
  readonly videoId?: string;
  /** Parts in flight at once. @default 4 */
  readonly concurrency?: number;
  readonly onChange: (snapshot: UploadSnapshot) => void;
  /** The session exists: its id can be kept, to resume after a reload. */
  readonly onSession?: (videoId: string) => void;
}

/** Fatal: retrying will not help. */
class UploadFailure extends Error {}

/** Storage error codes worth retrying (the others mean the request itself is wrong). */
const RETRYABLE_S3_CODES = new Set(['RequestTimeout', 'IncompleteBody', 'SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeTooSkewed']);
/** Retries of a part that storage refused with a retryable error (network failures retry forever). */
const SERVER_RETRIES = 8;
/** Ask for fresh URLs this long before they expire. */
const URL_MARGIN_MS = 60_000;
/** An attempt that sends nothing for this long is abandoned and retried. */
const STALL_MS = 60_000;

export class MultipartUpload {
  private phase: UploadPhase = 'starting';
  private session: UploadSession | undefined;
  private plan: { partNumber: number; size: number }[] = [];
  private readonly etags = new Map<number, string>();
  private readonly urls = new Map<number, string>();
  private readonly inFlight = new Map<number, number>();
  private expiresAt = 0;
  private confirmed = 0;
  private sent = 0;
  private reconnecting = 0;
  private error: string | undefined;
  private status: VideoStatusView | undefined;
  /** Aborted by pause and cancel: ends the part attempts in flight. */
  private active = new AbortController();
  /** Aborted by cancel only: ends API retries too. */
  private readonly cancelling = new AbortController();
  private paused = false;
  private cancelled = false;
  private wake: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private finished: Promise<void> | undefined;

  constructor(private readonly options: MultipartUploadOptions) {}

  /** Runs the upload to its end (done, failed or cancelled); never rejects. */
  start(): Promise<void> {
    this.finished ??= this.run();
    return this.finished;
  }

  /** Stops sending (parts in flight are dropped; stored parts are kept). */
  pause(): void {
    if (this.isOver() || this.paused) return;
    this.paused = true;
    this.active.abort();
    this.emit();
  }

  resume(): void {
    if (!this.paused || this.isOver()) return;
    this.paused = false;
    this.active = new AbortController();
    this.wake?.();
    this.emit();
  }

  /** Stops for good and drops what storage holds of it. */
  async cancel(): Promise<void> {
    if (this.isOver()) return;
    this.cancelled = true;
    this.active.abort();
    this.cancelling.abort();
    this.wake?.();
    await this.finished;
    const id = this.session?.id ?? this.options.videoId;
    if (id) await this.options.api.abortUpload(id).catch(() => undefined);
  }

  snapshot(): UploadSnapshot {
    let inFlight = 0;
    for (const bytes of this.inFlight.values()) inFlight += bytes;
    const phase = this.paused && !this.isOver() ? 'paused' : this.reconnecting > 0 && !this.isOver() ? 'reconnecting' : this.phase;
    return {
      phase,
      videoId: this.session?.id ?? this.options.videoId,
      totalBytes: this.session?.fileSize ?? this.options.file.size,
      uploadedBytes: Math.min(this.confirmed + inFlight, this.options.file.size),
      sentBytes: this.sent,
      partsDone: this.etags.size,
      partCount: this.session?.partCount ?? 0,
      offline: !navigator.onLine,
      error: this.error,
      status: this.status,
    };
  }

  private isOver(): boolean {
    return this.phase === 'done' || this.phase === 'failed' || this.phase === 'cancelled' || this.cancelled;
  }

  private emit(): void {
    this.options.onChange(this.snapshot());
  }

  private async run(): Promise<void> {
    // The browser lost its network: drop the parts in flight (they would hang until a timeout)
    // and wait for it to come back.
    const onOffline = () => {
      if (!this.paused && !this.isOver()) this.active.abort();
    };
    window.addEventListener('offline', onOffline);
    try {
      this.emit();
      await this.openSession();
      while (this.etags.size < this.plan.length) {
        if (this.cancelled) return this.end('cancelled');
        if (this.paused) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        if (!navigator.onLine) {
          await this.waitForNetwork();
          continue;
        }
        if (this.active.signal.aborted) this.active = new AbortController();
        this.phase = 'uploading';
        this.emit();
        await this.sendParts(this.active.signal);
      }
      if (this.cancelled) return this.end('cancelled');
      this.phase = 'completing';
      this.emit();
      const parts = this.plan.map(({ partNumber }) => ({ partNumber, etag: this.etags.get(partNumber)! }));
      this.status = await this.patiently(() => this.options.api.completeUpload(this.session!.id, parts));
      this.end('done');
    } catch (error) {
      if (this.cancelled) return this.end('cancelled');
      this.error = messageOf(error);
      this.end('failed');
    } finally {
      window.removeEventListener('offline', onOffline);
    }
  }

  /** Until the browser is online again (or the upload is paused or cancelled). */
  private async waitForNetwork(): Promise<void> {
    this.reconnecting++;
    this.emit();
    try {
      await new Promise<void>((resolve) => {
        const done = () => {
          window.removeEventListener('online', done);
          resolve();
        };
        window.addEventListener('online', done);
        this.wake = done;
      });
    } finally {
      this.reconnecting--;
    }
  }

  private end(phase: UploadPhase): void {
    this.phase = phase;
    this.paused = false;
    this.inFlight.clear();
    this.emit();
  }

  private async openSession(): Promise<void> {
    const { api, metadata, videoId, file } = this.options;
    const session = videoId
      ? await this.patiently(() => api.getUpload(videoId))
      : // Starting is not idempotent: retried only when it surely did not reach the API.
        await this.patiently(() => api.startUpload({ ...metadata!, fileSize: file.size }), false);
    if (session.fileSize !== file.size) {
      throw new UploadFailure(`This upload is for a file of ${session.fileSize} bytes, but the chosen file has ${file.size}. Choose the same file.`);
    }
    this.session = session;
    this.plan = Array.from({ length: session.partCount }, (_, i) => ({
      partNumber: i + 1,
      size: i === session.partCount - 1 ? session.fileSize - session.partSize * i : session.partSize,
    }));
    this.accept(session);
    this.options.onSession?.(session.id);
  }

  /** Takes fresh URLs and the parts storage holds (with this file's planned size). */
  private accept(session: UploadSession): void {
    for (const part of session.parts) this.urls.set(part.partNumber, part.url);
    for (const stored of session.uploadedParts ?? []) this.acceptStored(stored);
    this.expiresAt = Date.parse(session.expiresAt);
  }

  private acceptStored(stored: StoredPart): void {
    const planned = this.plan[stored.partNumber - 1];
    if (planned && planned.size === stored.size) this.markDone(stored.partNumber, stored.etag);
  }

  private markDone(partNumber: number, etag: string): void {
    this.inFlight.delete(partNumber);
    if (this.etags.has(partNumber)) return;
    this.etags.set(partNumber, etag);
    this.confirmed += this.plan[partNumber - 1]!.size;
    this.emit();
  }

  /** One `GET .../upload` at a time: fresh URLs, and which parts storage already has. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.patiently(() => this.options.api.getUpload(this.session!.id))
      .then((session) => this.accept(session))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Sends the missing parts, `concurrency` at a time, until all are stored or `signal` aborts. */
  private async sendParts(signal: AbortSignal): Promise<void> {
    const pending = this.plan.filter((p) => !this.etags.has(p.partNumber));
    let next = 0;
    const worker = async () => {
      while (next < pending.length && !signal.aborted) await this.sendPart(pending[next++]!, signal);
    };
    const workers = Math.max(1, Math.min(this.options.concurrency ?? 4, pending.length));
    try {
      await Promise.all(Array.from({ length: workers }, worker));
    } catch (error) {
      this.active.abort();
      throw error;
    }
  }

  private async sendPart(part: { partNumber: number; size: number }, signal: AbortSignal): Promise<void> {
    const { partNumber, size } = part;
    let serverFailures = 0;
    for (let attempt = 1; !signal.aborted; attempt++) {
      if (this.etags.has(partNumber)) return;
      if (Date.now() > this.expiresAt - URL_MARGIN_MS || !this.urls.has(partNumber)) await this.refresh();
      if (this.etags.has(partNumber) || signal.aborted) return;
      const url = this.urls.get(partNumber);
      if (!url) throw new UploadFailure(`Storage gave no address for part ${partNumber}. Try again later.`);

      const offset = (partNumber - 1) * this.session!.partSize;
      let result: PutResult | undefined;
      let attemptSent = 0;
      try {
        result = await putBlob(url, this.options.file.slice(offset, offset + size), signal, (loaded) => {
          this.sent += loaded - attemptSent;
          attemptSent = loaded;
          this.inFlight.set(partNumber, loaded);
          this.emit();
        });
      } catch {
        // No answer: the connection broke, or the attempt was aborted (pause, cancel).
      }
      this.inFlight.delete(partNumber);
      if (signal.aborted) return;

      if (result && result.status >= 200 && result.status < 300) {
        if (!result.etag) throw new UploadFailure('Storage stored a part but hid its ETag (its CORS rules must expose ETag).');
        return this.markDone(partNumber, result.etag);
      }
      if (result) {
        const code = /<Code>([^<]*)<\/Code>/.exec(result.body)?.[1] ?? '';
        const message = /<Message>([^<]*)<\/Message>/.exec(result.body)?.[1] ?? '';
        if (result.status === 403 && /expired/i.test(message)) {
          await this.refresh();
          continue;
        }
        const retryable = result.status >= 500 || result.status === 408 || result.status === 429 || RETRYABLE_S3_CODES.has(code);
        if (!retryable || ++serverFailures > SERVER_RETRIES) {
          throw new UploadFailure(`Storage refused part ${partNumber} (${result.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}).`);
        }
        this.emit();
        await waitToRetry(backoffMs(serverFailures), signal);
        continue;
      }
      // A network failure: wait until the browser is online (or a backoff passes), then retry. After
      // a few, ask what storage holds (the part may have landed) and for fresh URLs (an expired
      // one can look like a network error when the refusal carries no CORS headers).
      this.reconnecting++;
      this.emit();
      try {
        await waitToRetry(backoffMs(attempt), signal);
        if (attempt % 3 === 0 && !signal.aborted) await this.refresh();
      } finally {
        this.reconnecting--;
      }
    }
  }

  /**
   * An API call retried until it answers: forever while the network is down, a few times on 5xx.
   * `idempotent` false retries only when the request surely did not reach the API.
   */
  private async patiently<T>(call: () => Promise<T>, idempotent = true): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.cancelled) throw new UploadFailure('cancelled');
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const noAnswer = error.status === 0;
        // A long Retry-After is the hourly upload limit: say so, rather than wait in silence.
        const throttled = error.status === 429 && (error.retryAfterSeconds ?? 0) <= 30;
        const retryable = noAnswer
          ? idempotent || !navigator.onLine
          : attempt <= 5 && (error.status === 429 ? throttled : error.retryable && (idempotent || error.status === 503));
        if (!retryable) throw error;
        if (noAnswer) this.reconnecting++;
        this.emit();
        try {
          await waitToRetry(error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : backoffMs(attempt), this.cancelling.signal);
        } finally {
          if (noAnswer) this.reconnecting--;
        }
      }
    }
  }
}

interface PutResult {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: string;
}

/** PUTs a blob with XHR (fetch has no upload progress); rejects when no answer comes. */
function putBlob(url: string, body: Blob, signal: AbortSignal, onProgress: (loaded: number) => void): Promise<PutResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let stall: ReturnType<typeof setTimeout> | undefined;
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => xhr.abort(), STALL_MS);
    };
    const done = () => {
      clearTimeout(stall);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => xhr.abort();
    xhr.open('PUT', url);
    xhr.upload.onprogress = (event) => {
      watch();
      onProgress(event.loaded);
    };
    xhr.onload = () => {
      done();
      if (xhr.status >= 200 && xhr.status < 300) onProgress(body.size);
      resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag') ?? undefined, body: xhr.responseText });
    };
    xhr.onerror = xhr.onabort = xhr.ontimeout = () => {
      done();
      reject(new TypeError('no answer from storage'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    watch();
    xhr.send(body);
  });
}

/** Exponential backoff with jitter, 0.5 s doubling to at most 15 s. */
function backoffMs(attempt: number): number {
  return Math.round(Math.min(15_000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
}

/** Waits `ms`, or less: until the browser comes back online, or the signal aborts. */
function waitToRetry(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const finish = () => {
      clearTimeout(timer);
      window.removeEventListener('online', finish);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    // Offline, wait for the `online` event however long it takes; online, the backoff.
    const timer = navigator.onLine ? setTimeout(finish, ms) : undefined;
    window.addEventListener('online', finish);
    signal.addEventListener('abort', finish);
  });
}

function messageOf(error: unknown): string {
  if (error instanceof UploadFailure) return error.message;
  if (error instanceof ApiError) return describeError(error);
  return error instanceof Error ? error.message : String(error);
}
