import { describe, expect, it } from 'vitest';
import { PUBLIC_WINDOW_SECONDS } from '#contracts/playback';
import type { Visibility, VideoStatus } from '#contracts/api';
import { ConflictError, NotFoundError } from '#domain/errors';
import { Playback } from '#domain/playback';
import type { Video } from '#domain/video';

const OWNER = 'owner-sub';
const ID = 'AbCdEfGhIj_';

function video(visibility: Visibility, status: VideoStatus = 'ready'): Video {
  return {
    id: ID,
    ownerId: OWNER,
    title: 't',
    description: '',
    tags: [],
    visibility,
    status,
    fileName: 'a.mp4',
    fileSize: 1,
    contentType: 'video/mp4',
    rawKey: `uploads/${ID}/source`,
    uploadId: 'u',
    partSize: 1,
    generation: 1,
    version: 3,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...(status === 'ready'
      ? {
          media: {
            durationSeconds: 90.5,
            width: 1920,
            height: 1080,
            renditions: [{ name: '360p', width: 640, height: 360, bandwidth: 900_000 }],
            hlsMaster: `videos/${ID}/hls/master.m3u8`,
            dashManifest: `videos/${ID}/dash/manifest.mpd`,
            poster: `videos/${ID}/thumbs/poster.jpg`,
            candidates: [],
            storyboard: `videos/${ID}/thumbs/storyboard.jpg`,
            storyboardVtt: `videos/${ID}/thumbs/storyboard.vtt`,
          },
        }
      : {}),
  };
}

function playbackOf(v: Video | undefined, at: Date) {
  const signed: { id: string; expires: number }[] = [];
  const playback = new Playback({
    videos: { get: async () => v },
    signer: {
      token: async (id, expires) => {
        signed.push({ id, expires });
        return `${expires}.1.sig${id}`;
      },
    },
    clock: { now: () => at },
    cdnUrl: 'https://cdn.example',
    limits: { ttlSeconds: 7200 },
  });
  return { playback, signed };
}

const T = new Date('2026-11-25T17:30:00Z');
const nowS = T.getTime() / 1000;

describe('Playback.stream', () => {
  it('gives CDN URLs with the token in the path for every published file, never the media', async () => {
    const { playback } = playbackOf(video('private'), T);
    const s = await playback.stream(OWNER, ID);
    const token = `${nowS + 7200 + 91}.1.sig${ID}`;
    expect(s.hls).toBe(`https://cdn.example/v/${ID}/${token}/hls/master.m3u8`);
    expect(s.dash).toBe(`https://cdn.example/v/${ID}/${token}/dash/manifest.mpd`);
    expect(s.poster).toBe(`https://cdn.example/v/${ID}/${token}/thumbs/poster.jpg`);
    expect(s.storyboard).toBe(`https://cdn.example/v/${ID}/${token}/thumbs/storyboard.vtt`);
    expect(s.expiresAt).toBe(new Date((nowS + 7200 + 91) * 1000).toISOString());
    expect(s.durationSeconds).toBe(90.5);
  });

  it('public videos: one URL for every viewer all day, valid one to two days', async () => {
    const v = video('public');
    const morning = await playbackOf(v, new Date('2026-11-25T00:00:05Z')).playback.stream(undefined, ID);
    const evening = await playbackOf(v, new Date('2026-11-25T23:59:50Z')).playback.stream('someone-else', ID);
    const owner = await playbackOf(v, new Date('2026-11-25T12:00:00Z')).playback.stream(OWNER, ID);
    expect(evening.hls).toBe(morning.hls);
    expect(owner.hls).toBe(morning.hls);
    const expires = Date.parse(morning.expiresAt) / 1000;
    expect(expires % PUBLIC_WINDOW_SECONDS).toBe(0);
    expect(expires - Date.parse('2026-11-25T23:59:50Z') / 1000).toBeGreaterThanOrEqual(PUBLIC_WINDOW_SECONDS);
    expect(expires - Date.parse('2026-11-25T00:00:05Z') / 1000).toBeLessThanOrEqual(2 * PUBLIC_WINDOW_SECONDS);
    const nextDay = await playbackOf(v, new Date('2026-11-26T00:00:01Z')).playback.stream(undefined, ID);
    expect(nextDay.hls).not.toBe(morning.hls);
  });

  it('unlisted: anyone with the id, with a short-lived URL of their own', async () => {
    const { playback, signed } = playbackOf(video('unlisted'), T);
    await playback.stream(undefined, ID);
    expect(signed).toEqual([{ id: ID, expires: nowS + 7200 + 91 }]);
  });

  it('private: the owner only; everyone else gets the same 404 as a missing id', async () => {
    const { playback, signed } = playbackOf(video('private'), T);
    await expect(playback.stream(undefined, ID)).rejects.toBeInstanceOf(NotFoundError);
    await expect(playback.stream('someone-else', ID)).rejects.toBeInstanceOf(NotFoundError);
    await expect(playbackOf(undefined, T).playback.stream(OWNER, ID)).rejects.toBeInstanceOf(NotFoundError);
    expect(signed).toEqual([]);
  });

  it('not ready: 404 to others, 409 with what to do to the owner', async () => {
    const { playback } = playbackOf(video('public', 'processing'), T);
    await expect(playback.stream(undefined, ID)).rejects.toBeInstanceOf(NotFoundError);
    await expect(playback.stream(OWNER, ID)).rejects.toThrow(ConflictError);
    await expect(playback.stream(OWNER, ID)).rejects.toThrow(/processing.*status/);
  });
});
