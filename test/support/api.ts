import { randomUUID } from 'node:crypto';
import type { PlatformInfo } from '../../local/platform.ts';
import { signUpAndSignIn } from '../../local/users.ts';

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** A signed-in user of the local platform, calling the API over HTTP as any client would. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly idToken: string,
    readonly email: string,
  ) {}

  static async signUp(platform: PlatformInfo, label = 'user'): Promise<ApiClient> {
    const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
    const tokens = await signUpAndSignIn(platform, email, 'Correct-Horse-9-Battery');
    return new ApiClient(platform.apiUrl, tokens.idToken, email);
  }

  async request<T = any>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...init,
      headers: {
        authorization: `Bearer ${this.idToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.headers as Record<string, string> | undefined),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text so the assertion shows it
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }
}
