import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { playbackPath, type PlaybackKey } from '#contracts/playback';
import { signature } from '#adapters/hmac-playback-signer';
import type { PlatformInfo } from '../../local/platform.ts';

/** The local platform's playback signing key, read from its Secrets Manager stand-in's file. */
export function localPlaybackKey(platform: PlatformInfo): PlaybackKey {
  const saved = JSON.parse(readFileSync(join(platform.dataDir, 'secrets', 'secrets.json'), 'utf8')) as Record<string, { value: string }>;
  for (const { value } of Object.values(saved)) {
    const parsed = JSON.parse(value) as Partial<PlaybackKey>;
    if (typeof parsed.kid === 'string' && typeof parsed.key === 'string') return { kid: parsed.kid, key: parsed.key };
  }
  throw new Error('the local platform has no playback key secret');
}

/** A CDN URL for `relative` under a video, signed with the real key until `expires` (may be past). */
export function signedUrl(platform: PlatformInfo, videoId: string, expires: number, relative = 'hls/master.m3u8'): string {
  const { kid, key } = localPlaybackKey(platform);
  return `${platform.webUrl}${playbackPath(videoId, `${expires}.${kid}.${signature(key, videoId, expires)}`, relative)}`;
}
