import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { MediaLayout } from '#contracts/workflow';
import { ApiClient } from '../support/api.ts';
import { localS3, localSfn } from '../support/clients.ts';
import { makeClip } from '../support/media.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

const platform = inject('platform');
const s3 = localS3(platform);
const sfn = localSfn(platform);
const dir = mkdtempSync(join(tmpdir(), 'vodstack-library-'));

const mediaKeys = async (id: string) =>
  (await s3.send(new ListObjectsV2Command({ Bucket: platform.mediaBucket, Prefix: MediaLayout.prefix(id) }))).Contents?.map(
    (o) => o.Key!,
  ) ?? [];
const rawExists = (id: string) =>
  s3.send(new HeadObjectCommand({ Bucket: platform.rawBucket, Key: `uploads/${id}/source` })).then(
    () => true,
    () => false,
  );

const executionsOf = async (id: string) =>
  ((await sfn.send(new ListExecutionsCommand({ stateMachineArn: platform.workflowArn }))).executions ?? []).filter((e) =>
    e.name!.startsWith(`${id}-`),
  );

/** Starts an upload and stops there: a `pending_upload` video, enough for lists and edits. */
async function startVideo(client: ApiClient, title: string) {
  const start = await client.request('POST', '/api/v1/videos/upload', {
    title,
    visibility: 'private',
    fileName: 'clip.mp4',
    fileSize: 6 * 1024 * 1024,
    contentType: 'video/mp4',
  });
  expect(start.status, JSON.stringify(start.body)).toBe(201);
  return start.body as { id: string; parts: { partNumber: number; url: string; size: number }[] };
}

describe("a creator's videos over HTTP: list, edit, delete", () => {
  let creator: ApiClient;
  let other: ApiClient;
  let readyId: string;

  beforeAll(async () => {
    [creator, other] = await Promise.all([ApiClient.signUp(platform, 'library'), ApiClient.signUp(platform, 'library-other')]);
    const clip = join(dir, 'clip-144p.mp4');
    await makeClip(clip, { width: 256, height: 144, seconds: 3 });
    readyId = await uploadFile(creator, clip, { title: 'Ready clip', visibility: 'private' });
    const outcome = await waitForOutcome(creator, readyId, 180_000);
    expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
  }, 240_000);

  it('lists only my videos, newest first, 2 a page over 3 pages, as summaries', async () => {
    const lister = await ApiClient.signUp(platform, 'lister');
    const mine: string[] = [];
    for (let i = 1; i <= 5; i++) mine.push((await startVideo(lister, `Mine ${i}`)).id);
    const theirs = (await startVideo(other, 'Not yours')).id;

    const pages: { items: any[]; nextCursor?: string }[] = [];
    let cursor: string | undefined;
    do {
      const query = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await lister.request('GET', `/api/v1/me/videos?${query}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      pages.push(page.body);
      cursor = page.body.nextCursor;
    } while (cursor && pages.length < 5);

    expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
    expect(pages[2]!.nextCursor).toBeUndefined();
    const ids = pages.flatMap((p) => p.items.map((v) => v.id));
    expect(ids).toEqual([...mine].reverse());
    expect(ids).not.toContain(theirs);
    expect(pages[0]!.items[0]).toMatchObject({ title: 'Mine 5', status: 'pending_upload', progress: 0, version: 1 });
    expect(pages[0]!.items[0]).not.toHaveProperty('uploadId');

    // The creator's list holds the ready video with its duration, and none of the lister's.
    const creators = await creator.request('GET', '/api/v1/me/videos');
    expect(creators.status).toBe(200);
    const ready = creators.body.items.find((v: { id: string }) => v.id === readyId);
    expect(ready).toMatchObject({ status: 'ready', progress: 1, title: 'Ready clip' });
    expect(ready.durationSeconds).toBeGreaterThan(2.5);
    expect(creators.body.items.map((v: { id: string }) => v.id)).not.toContain(mine[0]);

    // A cursor is good only for the list it came from.
    const firstCursor = pages[0]!.nextCursor!;
    const stolen = await other.request('GET', `/api/v1/me/videos?cursor=${encodeURIComponent(firstCursor)}`);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.details).toEqual([expect.stringMatching(/^cursor: /)]);
    const decoded = JSON.parse(Buffer.from(firstCursor, 'base64url').toString()) as Record<string, string>;
    const forged = Buffer.from(JSON.stringify({ ...decoded, i: 'AAAAAAAAAAA', o: 'someone-else' })).toString('base64url');
    const tampered = await lister.request('GET', `/api/v1/me/videos?cursor=${forged}`);
    expect(tampered.status).toBe(400);
  });

  it('patches title, description, tags and visibility, and bumps the version', async () => {
    const before = await creator.request('GET', `/api/v1/videos/${readyId}`);
    const patch = await creator.request('PATCH', `/api/v1/videos/${readyId}`, {
      title: 'Renamed clip',
      description: 'Now with a description.',
      tags: ['test', 'clip'],
      visibility: 'unlisted',
      version: before.body.version,
    });

    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    expect(patch.body).toMatchObject({
      id: readyId,
      title: 'Renamed clip',
      description: 'Now with a description.',
      tags: ['test', 'clip'],
      visibility: 'unlisted',
      status: 'ready',
      version: before.body.version + 1,
    });
    const after = await creator.request('GET', `/api/v1/videos/${readyId}`);
    expect(after.body).toEqual(patch.body);
  });

  it("answers another user's edit with the same 404 as a missing video, and changes nothing", async () => {
    const before = await creator.request('GET', `/api/v1/videos/${readyId}`);

    const attempt = await other.request('PATCH', `/api/v1/videos/${readyId}`, { title: 'Hijacked' });
    const missing = await other.request('PATCH', '/api/v1/videos/AAAAAAAAAAA', { title: 'Hijacked' });

    expect(attempt.status).toBe(404);
    expect(attempt.body.error.code).toBe(missing.body.error.code);
    expect((await creator.request('GET', `/api/v1/videos/${readyId}`)).body).toEqual(before.body);
  });

  it('answers 409 to an edit based on a stale version', async () => {
    const { body: current } = await creator.request('GET', `/api/v1/videos/${readyId}`);

    const stale = await creator.request('PATCH', `/api/v1/videos/${readyId}`, { title: 'Late edit', version: current.version - 1 });

    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'ConflictError', message: expect.stringMatching(/reload/) });
    expect((await creator.request('GET', `/api/v1/videos/${readyId}`)).body.title).toBe(current.title);
  });

  it('answers 400 with details to malformed bodies, ids and queries', async () => {
    const empty = await creator.request('PATCH', `/api/v1/videos/${readyId}`, {});
    const bad = await creator.request('PATCH', `/api/v1/videos/${readyId}`, { title: 5, visibility: 'everyone', owner: 'x' });
    const notJson = await creator.request('PATCH', `/api/v1/videos/${readyId}`, '{title:');
    const badId = await creator.request('PATCH', '/api/v1/videos/short', { title: 'x' });
    const badQuery = await creator.request('GET', '/api/v1/me/videos?limit=abc&order=asc');
    const tooMany = await creator.request('GET', '/api/v1/me/videos?limit=101');
    const garbageCursor = await creator.request('GET', '/api/v1/me/videos?cursor=%7Bnot-a-cursor%7D');

    for (const response of [empty, bad, notJson, badId, badQuery, tooMany, garbageCursor]) {
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.error.code).toBe('ValidationError');
    }
    expect(empty.body.error.details).toEqual(['body: send at least one of title, description, tags, visibility, poster']);
    expect(bad.body.error.details).toEqual(
      expect.arrayContaining([
        'title: must be string',
        expect.stringMatching(/^visibility: /),
        'body: remove unknown field "owner"',
      ]),
    );
    expect(notJson.body.error.message).toMatch(/not valid JSON/);
    expect(badId.body.error.details).toEqual([expect.stringMatching(/^id: /)]);
    expect(badQuery.body.error.details).toEqual(
      expect.arrayContaining([expect.stringMatching(/^limit: /), 'query: remove unknown field "order"']),
    );
    expect(tooMany.body.error.details).toEqual(['limit: limit must be 1..100']);
    expect(garbageCursor.body.error.details).toEqual([expect.stringMatching(/^cursor: /)]);
  });

  it('deletes a pending upload: its multipart upload is aborted', async () => {
    const pending = await startVideo(creator, 'Never finished');

    const deleted = await creator.request('DELETE', `/api/v1/videos/${pending.id}`);

    expect(deleted.status).toBe(204);
    const part = pending.parts[0]!;
    const late = await fetch(part.url, { method: 'PUT', body: new Uint8Array(part.size) });
    expect(late.status).toBe(404);
    expect((await creator.request('GET', `/api/v1/videos/${pending.id}`)).status).toBe(404);
  });

  it("refuses another user's delete, then deletes a ready video with its media and source", async () => {
    const published = await mediaKeys(readyId);
    expect(published).toContain(MediaLayout.hlsMaster(readyId));
    expect(await rawExists(readyId)).toBe(true);

    const theirs = await other.request('DELETE', `/api/v1/videos/${readyId}`);
    expect(theirs.status).toBe(404);
    expect(await mediaKeys(readyId)).toEqual(published);
    expect(await rawExists(readyId)).toBe(true);

    const deleted = await creator.request('DELETE', `/api/v1/videos/${readyId}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);

    expect(await mediaKeys(readyId)).toEqual([]);
    expect(await rawExists(readyId)).toBe(false);
    expect((await creator.request('GET', `/api/v1/videos/${readyId}`)).status).toBe(404);
    expect((await creator.request('GET', `/api/v1/videos/${readyId}/status`)).status).toBe(404);
    const list = await creator.request('GET', '/api/v1/me/videos');
    expect(list.body.items.map((v: { id: string }) => v.id)).not.toContain(readyId);
    // Deleting again: there is nothing left, so it answers like any missing video.
    expect((await creator.request('DELETE', `/api/v1/videos/${readyId}`)).status).toBe(404);
  });
});

describe('deleting a video while it is processing', () => {
  it('ends the run without bringing the video back, and leaves no media or source behind', async () => {
    const creator = await ApiClient.signUp(platform, 'deleter');
    const clip = join(dir, 'clip-360p.mp4');
    await makeClip(clip, { width: 640, height: 360, seconds: 24 });
    const id = await uploadFile(creator, clip, { title: 'Deleted mid-run' });

    let status = '';
    const deadline = Date.now() + 60_000;
    while (status !== 'processing' && Date.now() < deadline) {
      status = (await creator.request('GET', `/api/v1/videos/${id}/status`)).body.status;
      if (status === 'ready' || status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status, 'the video must still be processing when it is deleted').toBe('processing');

    const deleted = await creator.request('DELETE', `/api/v1/videos/${id}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);

    const ended = Date.now() + 150_000;
    let executions = await executionsOf(id);
    while (executions.some((e) => e.status === 'RUNNING') && Date.now() < ended) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      executions = await executionsOf(id);
    }
    // Deleting stops the run (it does not wait for it to fail on the missing item).
    expect(executions.map((e) => e.status)).toEqual(['ABORTED']);
    expect((await creator.request('GET', `/api/v1/videos/${id}`)).status).toBe(404);
    expect(await mediaKeys(id)).toEqual([]);
    expect(await rawExists(id)).toBe(false);
    const list = await creator.request('GET', '/api/v1/me/videos');
    expect(list.body.items).toEqual([]);
  }, 240_000);
});
