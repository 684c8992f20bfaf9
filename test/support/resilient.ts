import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, ApiResponse } from './api.ts';

/** One API answer seen while faults were injected. */
export interface Answer {
  readonly what: string;
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

/**
 * What a client may see while a dependency throttles or is down: a success, or `503`/`429` with
 * `Retry-After` and a JSON error `{error: {code, message}}` whose text leaks nothing (no stack
 * trace, no SDK error). Anything else (a 500, a 502, a bare error) is returned as a problem.
 */
export function problemWith(answer: Answer): string | undefined {
  const { status, retryAfter, body } = answer;
  if (status >= 200 && status < 300) return undefined;
  const text = JSON.stringify(body);
  if (status !== 503 && status !== 429) return `${answer.what}: unexpected ${status} ${text.slice(0, 300)}`;
  if (!retryAfter || !(Number(retryAfter) > 0)) return `${answer.what}: ${status} without a Retry-After`;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') return `${answer.what}: ${status} body is not a JSON error: ${text.slice(0, 300)}`;
  if (/\n\s+at |Exception|ECONN|\.ts:\d|node_modules/.test(text)) return `${answer.what}: ${status} leaks internals: ${text.slice(0, 300)}`;
  return undefined;
}

/**
 * A client that retries what the API asks it to retry (`503`/`429` with `Retry-After`), as the
 * web app does. It waits at most `maxWaitMs` per retry (tests do not sit out a 5 s hint), and
 * records every answer it saw in `answers` so a test can check each one.
 */
export class RetryingClient {
  readonly answers: Answer[] = [];

  constructor(
    readonly api: ApiClient,
    private readonly options: { maxWaitMs?: number; deadlineMs?: number } = {},
  ) {}

  /** Sends until the answer is neither 503 nor 429; returns that answer. */
  async request<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const deadline = Date.now() + (this.options.deadlineMs ?? 120_000);
    for (;;) {
      const response = await this.api.request<T>(method, path, body);
      const retryAfter = response.headers.get('retry-after');
      this.answers.push({ what: `${method} ${path}`, status: response.status, retryAfter, body: response.body });
      if ((response.status !== 503 && response.status !== 429) || Date.now() > deadline) return response;
      await sleep(Math.min(Number(retryAfter ?? 1) * 1000, this.options.maxWaitMs ?? 1000));
    }
  }

  /** Every answer that was neither a success nor a proper "retry later". */
  problems(): string[] {
    return this.answers.map(problemWith).filter((p): p is string => p !== undefined);
  }
}

/** PUTs a presigned part, retrying throttling (503 SlowDown) and cut connections, as S3 clients do. */
async function putPart(url: string, body: Buffer<ArrayBuffer>, deadline: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { method: 'PUT', body });
      if (response.status === 200) return response.headers.get('etag')!;
      await response.arrayBuffer();
      if (response.status < 500 || Date.now() > deadline) throw new Error(`part PUT answered ${response.status}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('part PUT')) throw error;
      if (Date.now() > deadline) throw error;
    }
    await sleep(Math.min(100 * 2 ** attempt, 1000));
  }
}

/**
 * The upload flow (start, PUT every part, complete) through a retrying client: every step is
 * retried as the API and S3 ask, so it gets through throttling and short outages. Returns the id.
 */
export async function uploadResiliently(
  client: RetryingClient,
  path: string,
  meta: { title?: string; visibility?: string } = {},
  options: { deadlineMs?: number } = {},
): Promise<string> {
  const deadline = Date.now() + (options.deadlineMs ?? 120_000);
  const file = await readFile(path);
  const start = await client.request('POST', '/api/v1/videos/upload', {
    title: meta.title ?? 'Fault test clip',
    visibility: meta.visibility ?? 'public',
    fileName: 'clip.mp4',
    fileSize: file.length,
    contentType: 'video/mp4',
  });
  if (start.status !== 201) throw new Error(`start failed: ${start.status} ${JSON.stringify(start.body)}`);
  const parts = await Promise.all(
    start.body.parts.map(async (part: { partNumber: number; size: number; url: string }) => {
      const from = (part.partNumber - 1) * start.body.partSize;
      return { partNumber: part.partNumber, etag: await putPart(part.url, file.subarray(from, from + part.size), deadline) };
    }),
  );
  const complete = await client.request('POST', `/api/v1/videos/${start.body.id}/upload/complete`, { parts });
  if (complete.status !== 200) throw new Error(`complete failed: ${complete.status} ${JSON.stringify(complete.body)}`);
  return start.body.id;
}

/** Polls `/status` through the retrying client until `ready` or `failed`. */
export async function outcomeOf(client: RetryingClient, id: string, timeoutMs = 180_000): Promise<{ status: string; failure?: unknown }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { status, body } = await client.request('GET', `/api/v1/videos/${id}/status`);
    if (status === 200 && (body.status === 'ready' || body.status === 'failed')) return body;
    await sleep(300);
  }
  throw new Error(`video ${id} not finished within ${timeoutMs} ms`);
}
