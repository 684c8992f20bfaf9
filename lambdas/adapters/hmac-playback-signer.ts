import { createHmac } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PlaybackPaths, signedMessage, type PlaybackKey } from '#contracts/playback';
import { UnavailableError } from '#domain/errors';
import type { PlaybackSigner } from '#domain/ports';

/** Re-read the key this often, so a rotated key reaches warm functions. */
const KEY_CACHE_MS = 5 * 60_000;

/**
 * Signs playback tokens with the key in Secrets Manager — the same key the CloudFront
 * KeyValueStore holds for `lambdas/edge/playback-access.js`.
 */
export class HmacPlaybackSigner implements PlaybackSigner {
  private cached: { key: PlaybackKey; at: number } | undefined;

  constructor(
    private readonly secrets: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async token(videoId: string, expires: number): Promise<string> {
    const { kid, key } = await this.key();
    return `${expires}.${kid}.${signature(key, videoId, expires)}`;
  }

  private async key(): Promise<PlaybackKey> {
    if (this.cached && Date.now() - this.cached.at < KEY_CACHE_MS) return this.cached.key;
    const out = await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId })).catch((error: unknown) => {
      throw new UnavailableError('the playback signing key is unavailable; try again shortly', { cause: error });
    });
    const key = parseKey(out.SecretString);
    this.cached = { key, at: Date.now() };
    return key;
  }
}

export function signature(key: string, videoId: string, expires: number): string {
  return createHmac('sha256', key).update(signedMessage(videoId, expires)).digest('hex').slice(0, PlaybackPaths.signatureHexDigits);
}

function parseKey(secret: string | undefined): PlaybackKey {
  const value = JSON.parse(secret ?? '{}') as Partial<PlaybackKey>;
  if (typeof value.kid !== 'string' || !/^[a-z0-9]{1,16}$/.test(value.kid) || typeof value.key !== 'string' || value.key.length < 32) {
    throw new Error('the playback key secret must be JSON {"kid": "[a-z0-9]{1,16}", "key": "<at least 32 characters>"}');
  }
  return { kid: value.kid, key: value.key };
}
