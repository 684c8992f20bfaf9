import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { PosterUpload } from '#contracts/api';
import { ApiClient } from '../support/api.ts';
import { ffmpeg, makeClip } from '../support/media.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

const platform = inject('platform');
const dir = mkdtempSync(join(tmpdir(), 'vodstack-poster-'));
const run = promisify(execFile);

/** A one-frame still made by the real ffmpeg, so the bytes are a genuine image file. */
async function still(name: string, color: string): Promise<Buffer> {
  const path = join(dir, name);
  await run(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${color}:s=64x36`, '-frames:v', '1', path]);
  return readFileSync(path);
}

/** PUTs `bytes` to a presigned poster URL as a browser would (type and length as signed). */
const put = (upload: PosterUpload, bytes: Buffer, contentType: string) =>
  fetch(upload.url, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': contentType } });

describe('an uploaded poster image over HTTP', () => {
  let user: ApiClient;
  let other: ApiClient;
  let readyId: string;
  let pendingId: string;

  beforeAll(async () => {
    [user, other] = await Promise.all([ApiClient.signUp(platform, 'poster-owner'), ApiClient.signUp(platform, 'poster-other')]);
    const clip = join(dir, 'clip-144p.mp4');
    await makeClip(clip, { width: 256, height: 144, seconds: 3 });
    readyId = await uploadFile(user, clip, { title: 'Poster clip', visibility: 'public' });
    const outcome = await waitForOutcome(user, readyId, 180_000);
    expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
    const start = await user.request('POST', '/api/v1/videos/upload', {
      title: 'Not ready',
      visibility: 'private',
      fileName: 'clip.mp4',
      fileSize: 6 * 1024 * 1024,
      contentType: 'video/mp4',
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    pendingId = start.body.id;
  }, 240_000);

  it('uploads a PNG, makes it the poster, and the stream route hands out a URL serving those bytes', async () => {
    const png = await still('poster.png', 'red');
    const before = await user.request('GET', `/api/v1/videos/${readyId}`);

    const start = await user.request<PosterUpload>('POST', `/api/v1/videos/${readyId}/poster`, { contentType: 'image/png', size: png.length });
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    expect(start.body.key).toMatch(new RegExp(`^videos/${readyId}/thumbs/custom-[A-Za-z0-9_-]+\\.png$`));
    const stored = await put(start.body, png, 'image/png');
    expect(stored.status, await stored.text()).toBe(200);

    const patched = await user.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { uploaded: start.body.key }, version: before.body.version });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.version).toBe(before.body.version + 1);

    const stream = await other.request('GET', `/api/v1/videos/${readyId}/stream`);
    expect(stream.status, JSON.stringify(stream.body)).toBe(200);
    expect(stream.body.poster).toContain(start.body.key.split('/').slice(2).join('/'));
    const image = await fetch(stream.body.poster);
    expect(image.status).toBe(200);
    expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
  });

  it('uploads a JPEG the same way', async () => {
    const jpeg = await still('poster.jpg', 'blue');
    const start = await user.request<PosterUpload>('POST', `/api/v1/videos/${readyId}/poster`, { contentType: 'image/jpeg', size: jpeg.length });
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    expect((await put(start.body, jpeg, 'image/jpeg')).status).toBe(200);
    const patched = await user.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { uploaded: start.body.key } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const stream = await user.request('GET', `/api/v1/videos/${readyId}/stream`);
    const image = await fetch(stream.body.poster);
    expect(Buffer.from(await image.arrayBuffer()).equals(jpeg)).toBe(true);
  });

  it('refuses HTML bytes uploaded as a .png with 400 naming poster, and keeps the poster', async () => {
    const html = Buffer.from('<!doctype html><script>alert(1)</script>');
    const posterBefore = (await user.request('GET', `/api/v1/videos/${readyId}/stream`)).body.poster as string;
    const start = await user.request<PosterUpload>('POST', `/api/v1/videos/${readyId}/poster`, { contentType: 'image/png', size: html.length });
    expect(start.status).toBe(200);
    expect((await put(start.body, html, 'image/png')).status).toBe(200);

    const patched = await user.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { uploaded: start.body.key } });

    expect(patched.status).toBe(400);
    expect(JSON.stringify(patched.body.error)).toContain('poster');
    const posterAfter = (await user.request('GET', `/api/v1/videos/${readyId}/stream`)).body.poster as string;
    expect(posterAfter.split('?')[0]).toBe(posterBefore.split('?')[0]);
  });

  it('refuses a PUT whose length differs from the signed size', async () => {
    const png = await still('signed.png', 'green');
    const start = await user.request<PosterUpload>('POST', `/api/v1/videos/${readyId}/poster`, { contentType: 'image/png', size: png.length + 1 });
    expect(start.status).toBe(200);
    const stored = await put(start.body, png, 'image/png');
    expect(stored.status).toBeGreaterThanOrEqual(400);
  });

  it('answers 404 to another user, 409 on a video not ready, 400 for a key of another prefix or a bad request', async () => {
    const theirs = await other.request('POST', `/api/v1/videos/${readyId}/poster`, { contentType: 'image/png', size: 100 });
    const theirPatch = await other.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { uploaded: `videos/${readyId}/thumbs/custom-x.png` } });
    const notReady = await user.request('POST', `/api/v1/videos/${pendingId}/poster`, { contentType: 'image/png', size: 100 });
    const wrongPrefix = await user.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { uploaded: `videos/${readyId}/thumbs/poster.jpg` } });
    const tooBig = await user.request('POST', `/api/v1/videos/${readyId}/poster`, { contentType: 'image/png', size: 2 * 1024 * 1024 + 1 });
    const gif = await user.request('POST', `/api/v1/videos/${readyId}/poster`, { contentType: 'image/gif', size: 100 });

    expect(theirs.status).toBe(404);
    expect(theirPatch.status).toBe(404);
    expect(notReady.status).toBe(409);
    expect(wrongPrefix.status).toBe(400);
    expect(JSON.stringify(wrongPrefix.body.error)).toContain('poster');
    expect(tooBig.status).toBe(400);
    expect(gif.status).toBe(400);
  });
});
