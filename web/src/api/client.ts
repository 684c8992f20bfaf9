import { z } from 'zod';
import {
  AccountExport,
  PosterUpload,
  Profile,
  RecordViewResponse,
  UploadSession,
  VideoCardPage,
  VideoList,
  VideoStatusView,
  VideoView,
  StreamView,
  type StartPosterUploadRequest,
  type StartUploadRequest,
  type UpdateProfileRequest,
  type UpdateVideoRequest,
} from '#contracts/api';
import { API_PREFIX } from '#contracts/routes';
import { sentence } from '../ui/format.ts';

/** An API answer other than success, or no answer at all (`status` 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly string[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** Trying the same request again may work (no answer, a 5xx, throttling). */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

/** How a request identifies its caller: `user` routes need a token; `optional` ones send it when there is one. */
type Auth = 'user' | 'optional';

export interface ApiClientOptions {
  /** A current ID token, or undefined when signed out. */
  readonly idToken: () => Promise<string | undefined>;
  /** Called when the API refused the token (expired or revoked). */
  readonly onUnauthorized?: () => void;
  /** Origin of the API; default: the page's own. */
  readonly baseUrl?: string;
}

/** The vodstack API, every answer checked against the shared contracts. */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  startUpload = (request: StartUploadRequest) => this.call('POST', '/videos/upload', UploadSession, 'user', request);
  getUpload = (id: string) => this.call('GET', `/videos/${enc(id)}/upload`, UploadSession, 'user');
  completeUpload = (id: string, parts: readonly { partNumber: number; etag: string }[]) =>
    this.call('POST', `/videos/${enc(id)}/upload/complete`, VideoStatusView, 'user', { parts });
  abortUpload = (id: string) => this.call('DELETE', `/videos/${enc(id)}/upload`, z.unknown(), 'user');
  status = (id: string) => this.call('GET', `/videos/${enc(id)}/status`, VideoStatusView, 'user');
  video = (id: string) => this.call('GET', `/videos/${enc(id)}`, VideoView, 'optional');
  stream = (id: string) => this.call('GET', `/videos/${enc(id)}/stream`, StreamView, 'optional');
  updateVideo = (id: string, patch: VideoPatch) => this.call('PATCH', `/videos/${enc(id)}`, VideoView, 'user', patch);
  deleteVideo = (id: string) => this.call('DELETE', `/videos/${enc(id)}`, z.unknown(), 'user');
  /** A presigned PUT for a poster image; then `updateVideo` with `poster: {uploaded: key}`. */
  startPosterUpload = (id: string, request: StartPosterUploadRequest) =>
    this.call('POST', `/videos/${enc(id)}/poster`, PosterUpload, 'user', request);
  myVideos = (cursor?: string, limit = 24) => {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    return this.call('GET', `/me/videos?${query}`, VideoList, 'user');
  };

  /** Search over title, tags and description; `cursor` is valid only with the same `q`, `tags` and `pageSize`. */
  search = ({ q, tags = [], pageSize, cursor }: SearchParams) => {
    const query = new URLSearchParams({
      ...(q ? { q } : {}),
      ...(tags.length ? { tags: tags.join(',') } : {}),
      ...(pageSize ? { page_size: String(pageSize) } : {}),
      ...(cursor ? { cursor } : {}),
    });
    return this.call('GET', `/search/videos?${query}`, VideoCardPage, 'optional');
  };
  trending = (limit = 12) => this.call('GET', `/feed/trending?limit=${limit}`, VideoCardPage, 'optional');
  recommendations = (limit = 12) => this.call('GET', `/me/recommendations?limit=${limit}`, VideoCardPage, 'user');
  related = (id: string, limit = 10) => this.call('GET', `/videos/${enc(id)}/related?limit=${limit}`, VideoCardPage, 'optional');
  channel = (userId: string, cursor?: string, limit = 24) => {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    return this.call('GET', `/users/${enc(userId)}/videos?${query}`, VideoCardPage, 'optional');
  };
  recordView = (id: string, sessionId?: string) =>
    this.call('POST', `/videos/${enc(id)}/views`, RecordViewResponse, 'optional', sessionId ? { sessionId } : {});
  profile = () => this.call('GET', '/me', Profile, 'user');
  updateProfile = (patch: UpdateProfileRequest) => this.call('PATCH', '/me', Profile, 'user', patch);
  /** The export exactly as sent (checked against the contract, nothing dropped), for the download. */
  exportAccount = () => this.call('GET', '/me/export', z.custom<AccountExport>((v) => AccountExport.safeParse(v).success), 'user');
  deleteAccount = () => this.call('DELETE', '/me', z.unknown(), 'user');

  private async call<S extends z.ZodType>(method: string, path: string, schema: S, auth: Auth, body?: unknown): Promise<z.infer<S>> {
    const token = await this.options.idToken();
    if (auth === 'user' && !token) throw new ApiError(401, 'NotSignedIn', 'Please log in first.');
    let response: Response;
    try {
      response = await fetch(`${this.options.baseUrl ?? ''}${API_PREFIX}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'NetworkError', 'vodstack cannot be reached. Check your connection and try again.');
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      if (response.status === 401 && token) this.options.onUnauthorized?.();
      throw errorOf(response, parsed);
    }
    const result = schema.safeParse(parsed);
    if (!result.success) throw new ApiError(response.status, 'UnexpectedResponse', 'The server sent an answer this page does not understand. Reload the page and try again.');
    return result.data;
  }
}

const enc = encodeURIComponent;

/** `PATCH /videos/{id}`: the editable fields, and the poster chosen among the candidates (0..2). */
export type VideoPatch = UpdateVideoRequest;

export interface SearchParams {
  readonly q?: string;
  readonly tags?: readonly string[];
  readonly pageSize?: number;
  readonly cursor?: string;
}

/**
 * A 404 without the API's error body: no route answers this path on this server (a feature not
 * deployed yet), rather than a missing video.
 */
export const isUnavailable = (error: unknown): boolean =>
  error instanceof ApiError && (error.status === 405 || (error.status === 404 && error.code === 'HTTP404'));

function errorOf(response: Response, parsed: unknown): ApiError {
  const body = parsed as { error?: { code?: unknown; message?: unknown; details?: unknown }; message?: unknown } | undefined;
  const retryAfter = Number(response.headers.get('retry-after') ?? NaN);
  const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP${response.status}`;
  // API Gateway's own answers (401 from the authorizer, 429 from throttling) are `{message}`.
  const message = typeof body?.error?.message === 'string' ? body.error.message : typeof body?.message === 'string' ? body.message : response.statusText;
  const details = Array.isArray(body?.error?.details) ? body.error.details.filter((d): d is string => typeof d === 'string') : [];
  return new ApiError(response.status, code, message, details, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

/** What to tell a person about a failed request, in plain words. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  switch (true) {
    case error.status === 0:
      return error.message;
    case isUnavailable(error):
      return 'This part of vodstack is not available on this server yet.';
    case error.status === 401:
      return error.code === 'NotSignedIn' ? error.message : 'Your session has expired. Please log in again.';
    case error.status === 403:
      return 'You are not allowed to do that.';
    case error.status === 404:
      return 'This video does not exist, or it is not shared with you.';
    case error.status === 413:
      return sentence(error.message || 'This file is too big to upload');
    case error.status === 429: {
      const wait = error.retryAfterSeconds;
      const when = wait === undefined ? 'in a while' : wait > 90 ? `in about ${Math.ceil(wait / 60)} minutes` : `in ${Math.max(1, Math.round(wait))} seconds`;
      return `${sentence(error.message || 'Too many requests')} Try again ${when}.`;
    }
    case error.status >= 500:
      return 'Something went wrong on our side. Please try again in a moment.';
    default:
      return [sentence(error.message), ...error.details.map(sentence)].filter(Boolean).join(' ');
  }
}
