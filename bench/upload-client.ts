/**
 * A resumable upload client for the vodstack API: start (or resume) an upload, PUT the parts to
 * their presigned URLs with a worker pool, retry a failed part with backoff, and complete.
 *
 * This module is runtime-agnostic (it needs only `fetch`, `AbortController` and timers): the
 * bytes go through a {@link SendPart} function, so a browser app can send with XHR and
 * `Blob.slice` (for upload progress) while Node sends a file range with `node:http`
 * (`bench/upload-client-node.ts`).
 *
 * ```ts
 * const api = new HttpUploadApi({ baseUrl: platform.apiUrl, token: idToken });
 * const result = await uploadFile({
 *   api,
 *   fileSize: size,
 *   metadata: { title: 'Clip', visibility: 'private', fileName: 'clip.mp4', contentType: 'video/mp4' },
 *   sendPart: filePartSender('/path/clip.mp4'),
 *   concurrency: 4,
 *   onProgress: (p) => console.log(`${p.confirmedBytes}/${p.totalBytes}`),
 * });
 * // Later, knowing only the id (after a crash, a closed tab):
 * await resumeUpload({ api, id: result.id, fileSize: size, sendPart: filePartSender('/path/clip.mp4') });
 * ```
 */
import {
  UploadSession,
  VideoStatusView,
  type StartUploadRequest,
  type StoredPart,
  type UploadSession as UploadSessionShape,
  type VideoStatusView as VideoStatusViewShape,
} from '#contracts/api';

// ---------------------------------------------------------------------------------------------
// Sending one part's bytes (pluggable)

/** One PUT of a part's exact bytes to a presigned URL. */
export interface PartRequest {
  readonly url: string;
  readonly partNumber: number;
  /** Where the part starts in the file. */
  readonly offset: number;
  /** How many bytes to send: exactly this many (the URL is signed for this Content-Length). */
  readonly size: number;
  readonly signal: AbortSignal;
  /** Call with the length of every chunk handed to the network (progress, bytes-sent accounting). */
  readonly onBytesSent: (bytes: number) => void;
}

/** What storage answered. A transport rejects only when no answer came (connection lost). */
export interface PartResponse {
  readonly status: number;
  /** The `ETag` response header (a browser reads it only if CORS exposes it). */
  readonly etag: string | undefined;
  /** The response body (S3's XML error document on failure); may be truncated. */
  readonly body: string;
}

export type SendPart = (request: PartRequest) => Promise<PartResponse>;

// ---------------------------------------------------------------------------------------------
// The API

export type UploadMetadata = Omit<StartUploadRequest, 'fileSize'>;

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/** The three upload routes the client needs (an interface, so tests and apps can wrap it). */
export interface UploadApi {
  start(request: StartUploadRequest): Promise<UploadSessionShape>;
  resume(id: string): Promise<UploadSessionShape>;
  complete(id: string, parts: readonly CompletedPart[]): Promise<VideoStatusViewShape>;
}

/** An API answer other than success: `retryable` says whether trying again may help. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.status >= 500 || this.status === 408;
  }
}

export interface HttpUploadApiOptions {
  /** Origin of the API, e.g. `http://127.0.0.1:3000` (routes are under `/api/v1`). */
  readonly baseUrl: string;
  /** A Cognito ID token, or a function returning a current one (refresh it there). */
  readonly token: string | (() => string | Promise<string>);
  readonly fetch?: typeof fetch;
}

/** {@link UploadApi} over HTTP, validating every answer against the shared contracts. */
export class HttpUploadApi implements UploadApi {
  private readonly fetch: typeof fetch;
  constructor(private readonly options: HttpUploadApiOptions) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async start(request: StartUploadRequest): Promise<UploadSessionShape> {
    return UploadSession.parse(await this.call('POST', '/api/v1/videos/upload', request));
  }

  async resume(id: string): Promise<UploadSessionShape> {
    return UploadSession.parse(await this.call('GET', `/api/v1/videos/${encodeURIComponent(id)}/upload`));
  }

  async complete(id: string, parts: readonly CompletedPart[]): Promise<VideoStatusViewShape> {
    const body = { parts: parts.map(({ partNumber, etag }) => ({ partNumber, etag })) };
    return VideoStatusView.parse(await this.call('POST', `/api/v1/videos/${encodeURIComponent(id)}/upload/complete`, body));
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const token = typeof this.options.token === 'string' ? this.options.token : await this.options.token();
    const response = await this.fetch(`${this.options.baseUrl.replace(/\/$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const retryAfter = Number(response.headers.get('retry-after') ?? NaN);
      throw new ApiError(
        response.status,
        typeof error?.code === 'string' ? error.code : `HTTP${response.status}`,
        `${method} ${path}: ${response.status} ${typeof error?.message === 'string' ? error.message : text.slice(0, 200)}`,
        Number.isFinite(retryAfter) ? retryAfter : undefined,
      );
    }
    return parsed;
  }
}

// ---------------------------------------------------------------------------------------------
// The upload

export interface BackoffOptions {
  /** Delay before the first retry. @default 250 */
  readonly initialMs?: number;
  /** @default 2 */
  readonly factor?: number;
  /** @default 8000 */
  readonly maxMs?: number;
}

/** Progress, reported on every chunk sent and every part stored. */
export interface UploadProgress {
  readonly totalBytes: number;
  /** Bytes of parts storage has confirmed (ETag received, or listed as stored on resume). */
  readonly confirmedBytes: number;
  /** Bytes handed to the network, retries included (can exceed `totalBytes`). */
  readonly sentBytes: number;
  readonly partsDone: number;
  readonly partCount: number;
}

/** One attempt at a part that did not store it. */
export interface FailedAttempt {
  readonly partNumber: number;
  /** 1 for the first try of the part. */
  readonly attempt: number;
  /** Bytes of this attempt handed to the network before it failed. */
  readonly sentBytes: number;
  readonly reason: string;
  /** Delay before the next try. */
  readonly retryInMs: number;
}

export interface UploadTimings {
  /** The start (or resume) call. */
  readonly sessionMs: number;
  /** From the session until every part is stored. */
  readonly partsMs: number;
  readonly completeMs: number;
}

export interface UploadResult {
  readonly id: string;
  readonly status: VideoStatusViewShape;
  readonly fileSize: number;
  readonly partSize: number;
  readonly partCount: number;
  /** Parts storage already held when this call began (resume). */
  readonly alreadyStoredParts: number;
  /** Bytes handed to the network by this call, retries included. */
  readonly sentBytes: number;
  readonly failedAttempts: readonly FailedAttempt[];
  /** `GET .../upload` calls made for fresh URLs or to learn what storage holds. */
  readonly sessionRefreshes: number;
  readonly timings: UploadTimings;
}

interface CommonOptions {
  readonly api: UploadApi;
  /** Size of the local file, checked against the session. */
  readonly fileSize: number;
  readonly sendPart: SendPart;
  /** Parts in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Retries per part (and per API call) after the first attempt. @default 5 */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  readonly onProgress?: (progress: UploadProgress) => void;
  readonly onRetry?: (failure: FailedAttempt) => void;
  /** Rewrites each part URL before sending (e.g. through a proxy or a CDN). */
  readonly rewriteUrl?: (url: string) => string;
  /** Fetch fresh URLs this long before `expiresAt`. @default 60000 */
  readonly urlExpiryMarginMs?: number;
  readonly signal?: AbortSignal;
  /** Randomness for backoff jitter (injectable for deterministic runs). @default Math.random */
  readonly random?: () => number;
}

export interface NewUploadOptions extends CommonOptions {
  readonly metadata: UploadMetadata;
}

export interface ResumeUploadOptions extends CommonOptions {
  /** The video id from the start response. */
  readonly id: string;
}

/** Starts an upload, sends every part, completes it. */
export async function uploadFile(options: NewUploadOptions): Promise<UploadResult> {
  const began = now();
  const session = await withRetries(options, () => options.api.start({ ...options.metadata, fileSize: options.fileSize }), false);
  return new PartUploader(options, session, now() - began).run();
}

/** Continues an upload knowing only its id: asks what is stored, sends the rest, completes it. */
export async function resumeUpload(options: ResumeUploadOptions): Promise<UploadResult> {
  const began = now();
  const session = await withRetries(options, () => options.api.resume(options.id), true);
  return new PartUploader(options, session, now() - began).run();
}

/** A part failure: `retryable` false ends the upload. */
class PartFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** Fresh URLs are needed (expired signature) or storage may hold the part already. */
    readonly refresh: boolean,
  ) {
    super(message);
  }
}

/** S3 error codes worth a retry (the others mean the request itself is wrong). */
const RETRYABLE_S3_CODES = new Set([
  'RequestTimeout',
  'IncompleteBody',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeTooSkewed',
]);

class PartUploader {
  private readonly controller = new AbortController();
  private readonly etags = new Map<number, string>();
  private readonly urls = new Map<number, string>();
  private readonly plan: readonly { partNumber: number; size: number }[];
  private readonly failures: FailedAttempt[] = [];
  private expiresAt: number;
  private refreshing: Promise<void> | undefined;
  private refreshes = 0;
  private sent = 0;
  private confirmed = 0;
  private readonly alreadyStored: number;

  constructor(
    private readonly options: CommonOptions,
    private readonly session: UploadSessionShape,
    private readonly sessionMs: number,
  ) {
    if (session.fileSize !== options.fileSize) {
      throw new Error(`the upload ${session.id} is for ${session.fileSize} bytes, but the file has ${options.fileSize}`);
    }
    this.plan = Array.from({ length: session.partCount }, (_, i) => ({
      partNumber: i + 1,
      size: i === session.partCount - 1 ? session.fileSize - session.partSize * i : session.partSize,
    }));
    this.expiresAt = Date.parse(session.expiresAt);
    this.accept(session);
    this.alreadyStored = this.etags.size;
    options.signal?.addEventListener('abort', () => this.controller.abort(options.signal?.reason), { once: true });
  }

  async run(): Promise<UploadResult> {
    const partsBegan = now();
    const pending = this.plan.filter((p) => !this.etags.has(p.partNumber));
    const concurrency = Math.max(1, Math.min(this.options.concurrency ?? 4, pending.length || 1));
    let next = 0;
    const worker = async () => {
      while (next < pending.length && !this.controller.signal.aborted) {
        const part = pending[next++]!;
        await this.uploadPart(part);
      }
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, worker));
    } catch (error) {
      this.controller.abort(error);
      throw error;
    }
    this.controller.signal.throwIfAborted();
    const partsMs = now() - partsBegan;

    const completeBegan = now();
    const parts = this.plan.map(({ partNumber }) => ({ partNumber, etag: this.etags.get(partNumber)! }));
    const status = await withRetries(this.options, () => this.options.api.complete(this.session.id, parts), true);
    return {
      id: this.session.id,
      status,
      fileSize: this.session.fileSize,
      partSize: this.session.partSize,
      partCount: this.session.partCount,
      alreadyStoredParts: this.alreadyStored,
      sentBytes: this.sent,
      failedAttempts: this.failures,
      sessionRefreshes: this.refreshes,
      timings: { sessionMs: this.sessionMs, partsMs, completeMs: now() - completeBegan },
    };
  }

  /** Takes what a session says: fresh URLs, and parts storage holds (with the planned size). */
  private accept(session: UploadSessionShape): void {
    for (const part of session.parts) this.urls.set(part.partNumber, part.url);
    for (const stored of session.uploadedParts ?? []) this.acceptStored(stored);
    this.expiresAt = Date.parse(session.expiresAt);
  }

  private acceptStored(stored: StoredPart): void {
    const planned = this.plan[stored.partNumber - 1];
    // A part of another size is not this file's: it will be sent again (and overwritten).
    if (!planned || planned.size !== stored.size || this.etags.has(stored.partNumber)) return;
    this.markDone(stored.partNumber, stored.etag);
  }

  private markDone(partNumber: number, etag: string): void {
    if (this.etags.has(partNumber)) return;
    this.etags.set(partNumber, etag);
    this.confirmed += this.plan[partNumber - 1]!.size;
    this.report();
  }

  private report(): void {
    this.options.onProgress?.({
      totalBytes: this.session.fileSize,
      confirmedBytes: this.confirmed,
      sentBytes: this.sent,
      partsDone: this.etags.size,
      partCount: this.session.partCount,
    });
  }

  /** One `GET .../upload` at a time, shared by every worker that needs it. */
  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        this.refreshes++;
        this.accept(await withRetries(this.options, () => this.options.api.resume(this.session.id), true));
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async uploadPart(part: { partNumber: number; size: number }): Promise<void> {
    const retries = this.options.retries ?? 5;
    const margin = this.options.urlExpiryMarginMs ?? 60_000;
    for (let attempt = 1; ; attempt++) {
      if (this.etags.has(part.partNumber)) return; // a refresh found it stored
      if (Date.now() > this.expiresAt - margin) await this.refresh();
      if (this.etags.has(part.partNumber)) return;
      const url = this.urls.get(part.partNumber);
      if (url === undefined) throw new Error(`no URL for part ${part.partNumber} of upload ${this.session.id}`);
      let attemptSent = 0;
      try {
        const response = await this.options.sendPart({
          url: this.options.rewriteUrl ? this.options.rewriteUrl(url) : url,
          partNumber: part.partNumber,
          offset: (part.partNumber - 1) * this.session.partSize,
          size: part.size,
          signal: this.controller.signal,
          onBytesSent: (bytes) => {
            attemptSent += bytes;
            this.sent += bytes;
            this.report();
          },
        });
        this.markDone(part.partNumber, this.etagOf(part.partNumber, response));
        return;
      } catch (error) {
        if (this.controller.signal.aborted) throw this.controller.signal.reason ?? error;
        const failure =
          error instanceof PartFailure
            ? error
            : // No answer: the connection broke. If every byte went out, storage may hold the part.
              new PartFailure(`connection lost: ${describe(error)}`, true, attemptSent >= part.size);
        if (!failure.retryable || attempt > retries) {
          throw new Error(`part ${part.partNumber} failed after ${attempt} attempt(s): ${failure.message}`, { cause: error });
        }
        const retryInMs = backoffDelay(this.options, attempt);
        const record = { partNumber: part.partNumber, attempt, sentBytes: attemptSent, reason: failure.message, retryInMs };
        this.failures.push(record);
        this.options.onRetry?.(record);
        await sleep(retryInMs, this.controller.signal);
        if (failure.refresh) await this.refresh();
      }
    }
  }

  /** The ETag of a stored part, or the failure the response describes. */
  private etagOf(partNumber: number, response: PartResponse): string {
    if (response.status >= 200 && response.status < 300) {
      if (!response.etag) {
        throw new PartFailure(
          `part ${partNumber} stored but the response has no ETag header (CORS must expose ETag)`,
          false,
          false,
        );
      }
      return response.etag;
    }
    const code = /<Code>([^<]*)<\/Code>/.exec(response.body)?.[1] ?? '';
    const message = /<Message>([^<]*)<\/Message>/.exec(response.body)?.[1] ?? response.body.slice(0, 200);
    const what = `storage answered ${response.status} ${code}: ${message}`;
    if (response.status === 403 && /expired/i.test(message)) throw new PartFailure(what, true, true);
    if (response.status >= 500 || response.status === 408 || response.status === 429 || RETRYABLE_S3_CODES.has(code)) {
      throw new PartFailure(what, true, false);
    }
    throw new PartFailure(what, false, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const now = () => performance.now();

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${error.message})` : error.message;
  }
  return String(error);
}

/** Exponential backoff with jitter: a random delay in [½, 1] × min(max, initial × factor^(n−1)). */
export function backoffDelay(options: { backoff?: BackoffOptions; random?: () => number }, attempt: number): number {
  const { initialMs = 250, factor = 2, maxMs = 8000 } = options.backoff ?? {};
  const ceiling = Math.min(maxMs, initialMs * factor ** (attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * (options.random ?? Math.random)()));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An API call retried on network errors and 5xx. `idempotent` false (start) retries only when
 * the request surely did not reach the API (it would otherwise start a second upload).
 */
async function withRetries<T>(options: CommonOptions, call: () => Promise<T>, idempotent: boolean): Promise<T> {
  const retries = options.retries ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retryable =
        error instanceof ApiError
          ? error.retryable && (idempotent || error.status === 503)
          : idempotent && error instanceof TypeError; // fetch: network failure
      if (!retryable || attempt > retries || options.signal?.aborted) throw error;
      await sleep(backoffDelay(options, attempt), options.signal);
    }
  }
}
