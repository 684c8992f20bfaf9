import { createHmac, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { UnavailableError } from '#domain/errors';
import type { CursorSigner } from '#domain/ports';

/** Re-read the key this often, so a rotated key reaches warm functions. */
const KEY_CACHE_MS = 5 * 60_000;

/**
 * Signs search cursors with HMAC-SHA256 under the key in a Secrets Manager secret `{"key"}`
 * (generated at deploy, never in a template). The MAC is base64url, truncated to 128 bits.
 */
export class HmacCursorSigner implements CursorSigner {
  private cached: { key: string; at: number } | undefined;

  constructor(
    private readonly secrets: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async sign(message: string): Promise<string> {
    return mac(await this.key(), message);
  }

  async verify(message: string, signature: string): Promise<boolean> {
    const expected = Buffer.from(mac(await this.key(), message));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async key(): Promise<string> {
    if (this.cached && Date.now() - this.cached.at < KEY_CACHE_MS) return this.cached.key;
    const out = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId })).catch((error: unknown) => {
      throw new UnavailableError('the search cursor key is unavailable; try again shortly', { cause: error });
    });
    const key = parseKey(out.SecretString);
    this.cached = { key, at: Date.now() };
    return key;
  }
}

/** HMAC-SHA256 of `message`, base64url, first 22 characters (128 bits). */
export function mac(key: string, message: string): string {
  return createHmac('sha256', key).update(message).digest('base64url').slice(0, 22);
}

function parseKey(secret: string | undefined): string {
  const value = JSON.parse(secret ?? '{}') as { key?: unknown };
  if (typeof value.key !== 'string' || value.key.length < 32) {
    throw new Error('the search cursor secret must be JSON {"key": "<at least 32 characters>"}');
  }
  return value.key;
}
