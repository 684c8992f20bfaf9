/**
 * The shape of playback URLs, shared by the API that signs them (`lambdas/adapters/`), the edge
 * function that checks them (`lambdas/edge/playback-access.js`, which cannot import and so
 * repeats these values — `test/unit/edge.test.ts` keeps the two in step), the CDK delivery
 * construct and the local CDN.
 *
 *   /v/{videoId}/{expires}.{kid}.{signature}/{path under videos/{videoId}/}
 *
 * `expires` is Unix seconds; `kid` names the signing key; `signature` is the first 32 hex digits
 * of HMAC-SHA256(key, "{videoId}/{expires}"). The edge rewrites a valid request to
 * `/videos/{videoId}/{path}` in the media bucket, so signed and public requests share one cache
 * entry per object, and relative URLs inside manifests keep the token.
 */
export const PlaybackPaths = {
  /** Viewer-facing prefix of every media URL. */
  prefix: '/v/',
  /** Where the media bucket keeps a video's published files. */
  originPrefix: '/videos/',
  /** Key of a signing key in the CloudFront KeyValueStore: `playback-key-{kid}`. */
  kvsKeyPrefix: 'playback-key-',
  signatureHexDigits: 32,
} as const;

/** Public videos get tokens that change once a day, so every viewer that day shares one URL. */
export const PUBLIC_WINDOW_SECONDS = 86_400;

/** The signing key as Secrets Manager keeps it (and the local stand-in provides it). */
export interface PlaybackKey {
  readonly kid: string;
  readonly key: string;
}

/** The message an HMAC signs for one video until `expires`. */
export const signedMessage = (videoId: string, expires: number): string => `${videoId}/${expires}`;

/** `/v/{id}/{token}/{relative}` for a key under `videos/{id}/` (e.g. `hls/master.m3u8`). */
export function playbackPath(videoId: string, token: string, relative: string): string {
  return `${PlaybackPaths.prefix}${videoId}/${token}/${relative}`;
}
