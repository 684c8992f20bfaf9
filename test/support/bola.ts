import type { ApiResponse } from './api.ts';

/** Someone calling the API: a signed-in user (their ID token) or nobody (no Authorization header). */
export interface Party {
  readonly name: string;
  /** The user's id (`sub`), for a signed-in party. */
  readonly userId?: string;
  request<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
}

/** A party calling `baseUrl` with `idToken`, or anonymously without one. */
export function party(name: string, baseUrl: string, idToken?: string): Party {
  const userId = idToken ? (JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub : undefined;
  return {
    name,
    ...(userId ? { userId } : {}),
    async request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(idToken ? { authorization: `Bearer ${idToken}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text so the assertion shows it
      }
      return { status: response.status, headers: response.headers, body: parsed as T };
    },
  };
}

/** Polls `read` until `check` holds (search and feeds follow the table asynchronously). */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not as expected after ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
