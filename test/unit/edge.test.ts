import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PlaybackPaths, playbackPath } from '#contracts/playback';
import { signature } from '#adapters/hmac-playback-signer';
import { isEdgeResponse, loadEdgeFunction, type EdgeRequest, type EdgeResponse } from '../../local/cdn/edge.ts';

const FILE = 'lambdas/edge/playback-access.js';
const KEY = 'k'.repeat(20) + 'secret-key-material-0123456789';
const keys = new Map([[`${PlaybackPaths.kvsKeyPrefix}7`, KEY]]);
const edge = loadEdgeFunction(FILE, () => keys);
const ID = 'AbCdEfGhIj_';
const now = () => Math.floor(Date.now() / 1000);

function tokenFor(id: string, expires: number, kid = '7', key = KEY) {
  return `${expires}.${kid}.${signature(key, id, expires)}`;
}

async function request(uri: string, method = 'GET', headers: Record<string, string> = {}): Promise<EdgeRequest | EdgeResponse> {
  return edge({
    version: '1.0',
    viewer: { ip: '127.0.0.1' },
    request: {
      method,
      uri,
      querystring: { x: { value: '1' } },
      headers: Object.fromEntries(Object.entries({ host: { value: 'cdn' }, ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, { value: v }])) })),
      cookies: { session: { value: 'abc' } },
    },
  });
}

function statusOf(result: EdgeRequest | EdgeResponse): number {
  return isEdgeResponse(result) ? result.statusCode : 200;
}

describe('playback-access edge function (the file CloudFront runs)', () => {
  it('admits a signed URL and rewrites it to the video’s prefix in the media bucket, dropping viewer state', async () => {
    const result = await request(playbackPath(ID, tokenFor(ID, now() + 600), 'media/720p/seg-00001.m4s'), 'GET', { authorization: 'Bearer x' });
    expect(isEdgeResponse(result)).toBe(false);
    const rewritten = result as EdgeRequest;
    expect(rewritten.uri).toBe(`/videos/${ID}/media/720p/seg-00001.m4s`);
    expect(rewritten.querystring).toEqual({});
    expect(rewritten.cookies).toEqual({});
    expect(rewritten.headers['authorization']).toBeUndefined();
  });

  it('admits every file under the video (manifests, segments, thumbnails) with one token', async () => {
    const token = tokenFor(ID, now() + 600);
    for (const path of ['hls/master.m3u8', 'hls/360p.m3u8', 'dash/manifest.mpd', 'thumbs/storyboard.vtt', 'thumbs/poster.jpg']) {
      expect(statusOf(await request(playbackPath(ID, token, path))), path).toBe(200);
    }
  });

  it('refuses a URL with any one character of the signature changed', async () => {
    const expires = now() + 600;
    const good = tokenFor(ID, expires);
    const sig = good.split('.')[2]!;
    for (let i = 0; i < sig.length; i++) {
      const flipped = sig.slice(0, i) + (sig[i] === '0' ? '1' : '0') + sig.slice(i + 1);
      expect(statusOf(await request(playbackPath(ID, `${expires}.7.${flipped}`, 'hls/master.m3u8')))).toBe(403);
    }
  });

  it('refuses an expired URL, a later expiry than signed, another video’s token, an unknown key and another key', async () => {
    const expired = now() - 1;
    expect(statusOf(await request(playbackPath(ID, tokenFor(ID, expired), 'hls/master.m3u8')))).toBe(403);
    const expires = now() + 600;
    const sig = signature(KEY, ID, expires);
    expect(statusOf(await request(playbackPath(ID, `${expires + 1}.7.${sig}`, 'hls/master.m3u8')))).toBe(403);
    const other = 'ZZZZZZZZZZZ';
    expect(statusOf(await request(playbackPath(other, tokenFor(ID, expires), 'hls/master.m3u8')))).toBe(403);
    expect(statusOf(await request(playbackPath(ID, tokenFor(ID, expires, '8'), 'hls/master.m3u8')))).toBe(403);
    expect(statusOf(await request(playbackPath(ID, tokenFor(ID, expires, '7', 'another-key-of-enough-length-000'), 'hls/master.m3u8')))).toBe(403);
  });

  it('refuses direct origin paths, traversal and odd paths even with a valid token', async () => {
    const token = tokenFor(ID, now() + 600);
    for (const uri of [
      `/videos/${ID}/hls/master.m3u8`,
      `/v/${ID}/hls/master.m3u8`,
      playbackPath(ID, token, '../OtherVideo1/hls/master.m3u8'),
      playbackPath(ID, token, 'hls/../../x'),
      playbackPath(ID, token, 'hls//master.m3u8'),
      playbackPath(ID, token, '.hidden'),
      playbackPath(ID, token, 'a/b/c/d/e.m4s'),
      playbackPath(ID, token, 'hls/master.m3u8%00'),
    ]) {
      expect(statusOf(await request(uri)), uri).toBe(403);
    }
  });

  it('denies with a reason and no caching; answers preflight; refuses writes', async () => {
    const denied = (await request(playbackPath(ID, tokenFor(ID, now() - 5), 'hls/master.m3u8'))) as EdgeResponse;
    expect(denied.headers?.['cache-control']?.value).toBe('no-store');
    expect(JSON.stringify(denied.body)).toMatch(/expired/);
    const preflight = (await request(playbackPath(ID, 'x', 'y'), 'OPTIONS', { origin: 'https://app.example' })) as EdgeResponse;
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers?.['access-control-allow-origin']?.value).toBe('https://app.example');
    expect(statusOf(await request(playbackPath(ID, tokenFor(ID, now() + 600), 'hls/master.m3u8'), 'PUT'))).toBe(405);
  });

  it('repeats the contract’s constants exactly (it cannot import them)', () => {
    const source = readFileSync(FILE, 'utf8');
    expect(source).toContain(`const KVS_KEY_PREFIX = '${PlaybackPaths.kvsKeyPrefix}';`);
    expect(source).toContain(`const SIGNATURE_HEX_DIGITS = ${PlaybackPaths.signatureHexDigits};`);
    expect(source).toContain(`const ORIGIN_PREFIX = '${PlaybackPaths.originPrefix}';`);
    expect(source).toContain(`^\\/v\\/`);
  });
});
