import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { StreamView } from '#contracts/api';
import { ApiClient } from '../support/api.ts';
import { ffprobe, makeClip, probeJson } from '../support/media.ts';
import { signedUrl } from '../support/playback.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

const run = promisify(execFile);
const platform = inject('platform');
const dir = mkdtempSync(join(tmpdir(), 'vodstack-playback-'));
const anonymous = (path: string, init: RequestInit = {}) => fetch(`${platform.apiUrl}${path}`, init);

/** Changes one character of a URL's signature (the first hex digit after `{expires}.{kid}.`). */
const tamper = (url: string) =>
  url.replace(/(\/v\/[^/]+\/\d+\.[a-z0-9]+\.)([0-9a-f])/, (_all, head: string, c: string) => head + (c === 'a' ? 'b' : 'a'));

describe('playback through the local CDN', () => {
  let owner: ApiClient;
  let other: ApiClient;
  let privateId: string;
  let publicId: string;
  let stream: StreamView;

  beforeAll(async () => {
    [owner, other] = await Promise.all([ApiClient.signUp(platform, 'viewer-owner'), ApiClient.signUp(platform, 'viewer-other')]);
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip, { width: 640, height: 360, seconds: 8 });
    privateId = await uploadFile(owner, clip, { title: 'private one', visibility: 'private' });
    publicId = await uploadFile(owner, clip, { title: 'public one', visibility: 'public' });
    const outcomes = await Promise.all([waitForOutcome(owner, privateId), waitForOutcome(owner, publicId)]);
    expect(outcomes.map((o) => o.status)).toEqual(['ready', 'ready']);
    const res = await owner.request<StreamView>('GET', `/api/v1/videos/${privateId}/stream`);
    expect(res.status).toBe(200);
    stream = res.body;
  }, 300_000);

  it('the stream endpoint returns CDN URLs on the platform origin, never media', async () => {
    for (const url of [stream.hls, stream.dash, stream.poster, stream.storyboard]) {
      expect(url.startsWith(`${platform.webUrl}/v/${privateId}/`)).toBe(true);
    }
    expect(Date.parse(stream.expiresAt)).toBeGreaterThan(Date.now() + 3600_000);
    expect(stream.renditions.map((r) => r.name).sort()).toEqual(['144p', '240p', '360p']);
  });

  it('ffprobe reads a private video from its signed master URL alone, every segment included', async () => {
    const probe = await probeJson(stream.hls, ['-count_packets', '-show_streams', '-show_format']);
    const videos = probe.streams.filter((s: { codec_type: string }) => s.codec_type === 'video');
    expect(Number(probe.format.duration)).toBeCloseTo(8, 0);
    // 8 s at 30 fps, every rendition: all frames came through the signed path (manifests and every segment).
    expect(videos.map((v: { nb_read_packets: string }) => Number(v.nb_read_packets))).toEqual([240, 240, 240]);
  });

  it('the DASH manifest plays from its signed URL alone too (ffprobe\'s DASH demuxer)', async () => {
    const probe = await probeJson(stream.dash, ['-count_packets', '-show_streams']);
    const videos = probe.streams.filter((s: { codec_type: string }) => s.codec_type === 'video');
    // One stream per rendition, each read through the token path past its first 6 s segment (180
    // frames) into the last one. ffmpeg 4.1's DASH demuxer loses a trailing frame per additional
    // representation (it reads 240/239/238 here, while HLS over the very same segments reads 240
    // for each, above), so this counts segments reached, not frames.
    expect(videos.length).toBe(3);
    for (const v of videos) expect(Number(v.nb_read_packets)).toBeGreaterThan(235);
  });

  it('the same URL with one character changed, or expired, is refused with 403', async () => {
    const bad = tamper(stream.hls);
    expect(bad).not.toBe(stream.hls);
    expect((await fetch(bad)).status).toBe(403);
    await expect(run(ffprobe, ['-v', 'error', bad])).rejects.toThrow(/403/);
    const expired = signedUrl(platform, privateId, Math.floor(Date.now() / 1000) - 1);
    const res = await fetch(expired);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/expired/);
    await expect(run(ffprobe, ['-v', 'error', expired])).rejects.toThrow(/403/);
    // A token for one video grants nothing of another.
    const token = /\/v\/[^/]+\/([^/]+)\//.exec(stream.hls)![1];
    expect((await fetch(`${platform.webUrl}/v/${publicId}/${token}/hls/master.m3u8`)).status).toBe(403);
  });

  it('private videos: 404 to anyone but the owner; unsigned and origin paths serve nothing', async () => {
    expect((await anonymous(`/api/v1/videos/${privateId}/stream`)).status).toBe(404);
    expect((await anonymous(`/api/v1/videos/${privateId}`)).status).toBe(404);
    expect((await other.request('GET', `/api/v1/videos/${privateId}/stream`)).status).toBe(404);
    expect((await anonymous(`/api/v1/videos/${privateId}/stream`, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
    for (const path of [`/videos/${privateId}/hls/master.m3u8`, `/v/${privateId}/hls/master.m3u8`, `/v/${privateId}/0.1.00/hls/master.m3u8`]) {
      const res = await fetch(`${platform.webUrl}${path}`);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(await res.text()).not.toContain('#EXTM3U');
    }
  });

  it('public videos: anyone, and every viewer gets the same URLs', async () => {
    const a = (await (await anonymous(`/api/v1/videos/${publicId}/stream`)).json()) as StreamView;
    const b = (await other.request<StreamView>('GET', `/api/v1/videos/${publicId}/stream`)).body;
    expect(a.hls).toBe(b.hls);
    expect((await fetch(a.hls)).status).toBe(200);
  });

  it('serves like CloudFront: types, cache headers, ranges, conditional requests, gzip, CORS', async () => {
    const master = await fetch(stream.hls, { headers: { 'accept-encoding': 'gzip' } });
    expect(master.headers.get('content-type')).toMatch(/mpegurl/i);
    expect(master.headers.get('cache-control')).toMatch(/max-age=60\b/);
    expect(master.headers.get('access-control-allow-origin')).toBe('*');
    const text = await master.text();
    const firstVariant = text.split('\n').find((l) => l && !l.startsWith('#'))!;
    const mediaUrl = new URL(firstVariant, stream.hls).href;
    const playlist = await (await fetch(mediaUrl)).text();
    const firstSegment = new URL(playlist.split('\n').find((l) => l && !l.startsWith('#'))!, mediaUrl).href;
    expect(firstSegment).toContain(`/v/${privateId}/`);

    const segment = await fetch(firstSegment);
    expect(segment.status).toBe(200);
    expect(segment.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const size = (await segment.arrayBuffer()).byteLength;
    // The variant a player starts on has a first segment of at most ~1 MB.
    expect(size).toBeLessThanOrEqual(1_000_000);

    const ranged = await fetch(firstSegment, { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 0-99/${size}`);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);

    const etag = segment.headers.get('etag')!;
    expect((await fetch(firstSegment, { headers: { 'if-none-match': etag } })).status).toBe(304);

    const dash = await fetch(stream.dash, { headers: { 'accept-encoding': 'gzip' } });
    expect(dash.headers.get('content-type')).toMatch(/dash\+xml/);
    const vtt = await fetch(stream.storyboard);
    expect(vtt.headers.get('content-type')).toMatch(/text\/vtt/);
    expect(await vtt.text()).toMatch(/^WEBVTT/);
  });
});
