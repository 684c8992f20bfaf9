import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ErrorBody, UpdateVideoRequest, VideoList } from '#contracts/api';
import { MediaLayout } from '#contracts/workflow';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '#domain/errors';
import { Pipeline } from '#domain/pipeline';
import type { PublishedMedia, Video } from '#domain/video';
import { handler as deleteVideo } from '#handlers/api/delete-video';
import { handler as listMyVideos } from '#handlers/api/list-my-videos';
import { handler as updateVideo } from '#handlers/api/update-video';
import { fakeLibrary, InMemoryWorkflowStarter, type FakeLibrary } from '../fakes/in-memory.ts';

/** The handlers' composition root, replaced by a `Library` on fakes (built fresh per test). */
let f: FakeLibrary;
vi.mock('#composition/videos', () => ({ videoDeps: () => ({ library: f.library }) }));

const OWNER = 'user-alice';
const OTHER = 'user-mallory';

let seeded = 0;

beforeEach(() => {
  f = fakeLibrary();
  seeded = 0;
});

/** Stores a video of `ownerId` created `minutes` after the epoch of the fake clock. */
function seed(overrides: Partial<Video> = {}, minutes = seeded): Video {
  seeded++;
  const id = overrides.id ?? `vid${String(seeded).padStart(8, '0')}`;
  const at = new Date(Date.UTC(2025, 0, 1, 0, minutes)).toISOString();
  const video: Video = {
    id,
    ownerId: OWNER,
    title: `Video ${id}`,
    description: '',
    tags: [],
    visibility: 'private',
    status: 'ready',
    fileName: 'clip.mp4',
    fileSize: 1000,
    contentType: 'video/mp4',
    rawKey: `uploads/${id}/source`,
    uploadId: `upload-of-${id}`,
    partSize: 5 * 1024 * 1024,
    generation: 1,
    version: 1,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
  f.videos.seed(video);
  return video;
}

const published = (id: string): PublishedMedia => ({
  durationSeconds: 12.5,
  width: 1280,
  height: 720,
  renditions: [{ name: '720p', width: 1280, height: 720, bandwidth: 2_500_000 }],
  hlsMaster: MediaLayout.hlsMaster(id),
  dashManifest: MediaLayout.dashManifest(id),
  poster: MediaLayout.poster(id),
  candidates: [MediaLayout.candidate(id, 1)],
  storyboard: MediaLayout.storyboard(id),
  storyboardVtt: MediaLayout.storyboardVtt(id),
});

/** What the pipeline leaves in the media bucket for a ready video. */
function publishMedia(id: string): string[] {
  const keys = [MediaLayout.hlsMaster(id), `${MediaLayout.rendition(id, '720p')}seg-0001.m4s`, MediaLayout.poster(id)];
  for (const key of keys) f.media.keys.add(key);
  return keys;
}

async function rejection(attempt: Promise<unknown>): Promise<Error> {
  return attempt.then(
    () => expect.unreachable('the call should have been rejected'),
    (error: unknown) => error as Error,
  );
}

describe('Library.update', () => {
  it('edits the given fields, bumps the version and returns the view', async () => {
    const video = seed({ title: 'Old', description: 'keep me', tags: ['a'], visibility: 'private' });
    f.clock.advance({ seconds: 90 });

    const view = await f.library.update(OWNER, video.id, { title: '  New title ', tags: ['x', 'y'], visibility: 'unlisted' });

    expect(view).toMatchObject({
      id: video.id,
      title: 'New title',
      description: 'keep me',
      tags: ['x', 'y'],
      visibility: 'unlisted',
      version: 2,
      updatedAt: f.clock.now().toISOString(),
    });
    expect(await f.videos.get(video.id)).toMatchObject({ title: 'New title', tags: ['x', 'y'], visibility: 'unlisted', version: 2 });
  });

  it("answers NotFoundError for another user's video, exactly as for a missing one, and changes nothing", async () => {
    const video = seed();

    const theirs = await rejection(f.library.update(OTHER, video.id, { title: 'Mine now' }));
    const missing = await rejection(f.library.update(OTHER, 'AAAAAAAAAAA', { title: 'Mine now' }));

    expect(theirs).toBeInstanceOf(NotFoundError);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(theirs.message.replace(video.id, 'ID')).toBe(missing.message.replace('AAAAAAAAAAA', 'ID'));
    expect(await f.videos.get(video.id)).toMatchObject({ title: video.title, version: 1 });
  });

  it('applies an edit based on the current version', async () => {
    const video = seed({ version: 4 });

    expect(await f.library.update(OWNER, video.id, { description: 'now', version: 4 })).toMatchObject({ description: 'now', version: 5 });
  });

  it('refuses an edit based on a stale version with a ConflictError that says what to do', async () => {
    const video = seed();
    await f.library.update(OWNER, video.id, { title: 'First editor' });

    const error = await rejection(f.library.update(OWNER, video.id, { title: 'Second editor', version: 1 }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/version 2, not 1/);
    expect(error.message).toMatch(/reload/);
    expect((await f.videos.get(video.id))?.title).toBe('First editor');
  });

  it('refuses a stale version even when the change lands between the read and the write', async () => {
    const video = seed();
    const edit = f.videos.edit.bind(f.videos);
    vi.spyOn(f.videos, 'edit').mockImplementationOnce(async (id, edits, expect) => {
      await edit(id, { title: 'Sneaked in' }, { ownerId: OWNER });
      return edit(id, edits, expect);
    });

    const error = await rejection(f.library.update(OWNER, video.id, { title: 'Mine', version: 1 }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/version 2, not 1/);
    expect((await f.videos.get(video.id))?.title).toBe('Sneaked in');
  });

  it('lets the creator edit while the video is still processing, without touching its status', async () => {
    const video = seed({ status: 'processing', progress: { done: 1, total: 3 } });

    const view = await f.library.update(OWNER, video.id, { title: 'Edited mid-transcode' });

    expect(view).toMatchObject({ title: 'Edited mid-transcode', status: 'processing' });
    expect(await f.videos.get(video.id)).toMatchObject({ status: 'processing', progress: { done: 1, total: 3 } });
  });

  it('refuses to edit an aborted upload', async () => {
    const video = seed({ status: 'aborted' });

    const error = await rejection(f.library.update(OWNER, video.id, { title: 'Too late' }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/aborted/);
  });

  it('answers NotFoundError for a deleted video', async () => {
    const video = seed();
    await f.library.remove(OWNER, video.id);

    await expect(f.library.update(OWNER, video.id, { title: 'Ghost' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await f.videos.get(video.id)).toBeUndefined();
  });

  it('refuses an edit that changes nothing, or breaks a field rule, naming each problem', async () => {
    const video = seed();

    const empty = await rejection(f.library.update(OWNER, video.id, { version: 1 }));
    const bad = await rejection(f.library.update(OWNER, video.id, { title: '   ', tags: ['x'.repeat(51)] }));

    expect(empty).toBeInstanceOf(ValidationError);
    expect((empty as ValidationError).details).toEqual(['body: send at least one of title, description, tags, visibility, poster']);
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).details).toEqual(['title: title must not be empty', 'tags.0: each tag must be at most 50 characters']);
    expect(await f.videos.get(video.id)).toMatchObject({ title: video.title, version: 1 });
  });

  it('never lets an edit reach a field outside the editable ones', async () => {
    const video = seed({ status: 'processing' });
    const sneaky = { title: 'ok', status: 'ready', ownerId: OTHER } as unknown as UpdateVideoRequest;

    await expect(f.library.update(OWNER, video.id, sneaky)).rejects.toBeInstanceOf(ValidationError);
    expect(await f.videos.get(video.id)).toMatchObject({ status: 'processing', ownerId: OWNER, title: video.title });
  });
});

describe('Library.remove', () => {
  it('deletes a ready video: its item, its published media and its raw source, and nothing of others', async () => {
    const { session, parts } = await uploadThrough();
    await f.uploads.complete(OWNER, session.id, parts);
    const other = seed({ id: 'vidOTHER001' });
    const keep = publishMedia(other.id);
    publishMedia(session.id);
    expect(f.store.object(`uploads/${session.id}/source`)).toBeDefined();

    await f.library.remove(OWNER, session.id);

    expect(await f.videos.get(session.id)).toBeUndefined();
    expect(f.store.object(`uploads/${session.id}/source`)).toBeUndefined();
    expect([...f.media.keys].sort()).toEqual([...keep].sort());
    expect(await f.videos.get(other.id)).toBeDefined();
  });

  it('aborts the multipart upload of a video still pending upload', async () => {
    const { session } = await uploadThrough();
    expect(f.store.isOpen(session.uploadId)).toBe(true);

    await f.library.remove(OWNER, session.id);

    expect(f.store.isOpen(session.uploadId)).toBe(false);
    expect(await f.videos.get(session.id)).toBeUndefined();
  });

  it("answers NotFoundError for another user's video and removes nothing", async () => {
    const { session, parts } = await uploadThrough();
    await f.uploads.complete(OWNER, session.id, parts);
    const media = publishMedia(session.id);

    await expect(f.library.remove(OTHER, session.id)).rejects.toBeInstanceOf(NotFoundError);

    expect(await f.videos.get(session.id)).toBeDefined();
    expect(f.store.object(`uploads/${session.id}/source`)).toBeDefined();
    expect([...f.media.keys]).toEqual(media);
  });

  it('answers NotFoundError when deleting a video again', async () => {
    const video = seed();
    await f.library.remove(OWNER, video.id);

    await expect(f.library.remove(OWNER, video.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps the item when storage fails part-way, so the owner can retry and finish', async () => {
    const video = seed();
    publishMedia(video.id);
    vi.spyOn(f.media, 'removePrefix').mockRejectedValueOnce(new UnavailableError('storage is temporarily unavailable'));

    await expect(f.library.remove(OWNER, video.id)).rejects.toBeInstanceOf(UnavailableError);
    expect(await f.videos.get(video.id)).toBeDefined();

    await f.library.remove(OWNER, video.id);
    expect(await f.videos.get(video.id)).toBeUndefined();
    expect(f.media.keys.size).toBe(0);
  });

  it('sweeps the media again after the item is gone, for what a run wrote during the delete', async () => {
    const video = seed({ status: 'processing' });
    const remove = f.videos.remove.bind(f.videos);
    vi.spyOn(f.videos, 'remove').mockImplementationOnce(async (id, ownerId) => {
      publishMedia(id); // a chunk lands between the first sweep and the item's deletion
      return remove(id, ownerId);
    });

    await f.library.remove(OWNER, video.id);

    expect(f.media.keys.size).toBe(0);
  });
});

describe('a workflow still running for a deleted video', () => {
  let pipeline: Pipeline;
  beforeEach(() => {
    pipeline = new Pipeline({
      videos: f.videos,
      workflow: new InMemoryWorkflowStarter(),
      media: f.media,
      clock: f.clock,
      stuckAfterMinutes: 30,
      maxRestarts: 3,
    });
  });

  it('cannot claim, count progress on, or publish it, and never brings the item back', async () => {
    const claimed = seed({ id: 'vidCLAIMED1', status: 'uploaded' });
    const processing = seed({ id: 'vidPROCESS1', status: 'processing' });
    await f.library.remove(OWNER, claimed.id);
    await f.library.remove(OWNER, processing.id);

    await expect(pipeline.claim(claimed.id, 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(pipeline.chunkDone(processing.id, 1, 0, 3)).rejects.toBeInstanceOf(ConflictError);
    await expect(pipeline.publish(processing.id, 1, published(processing.id))).rejects.toBeInstanceOf(NotFoundError);

    expect(await f.videos.get(claimed.id)).toBeUndefined();
    expect(await f.videos.get(processing.id)).toBeUndefined();
  });

  it("ends in Fail, which removes what the run wrote after the delete and doesn't recreate the item", async () => {
    const video = seed({ status: 'processing' });
    await f.library.remove(OWNER, video.id);
    const late = publishMedia(video.id); // segments and thumbnails the run wrote after the delete
    const other = publishMedia('vidOTHER002');
    expect(late.length).toBeGreaterThan(0);

    await pipeline.fail(video.id, 1, { code: 'ProcessingError', message: 'the video is gone' });

    expect(await f.videos.get(video.id)).toBeUndefined();
    expect([...f.media.keys].sort()).toEqual([...other].sort());
  });
});

describe('Library.listMine', () => {
  it("lists only the caller's videos, newest first, as summaries with progress, failure and duration", async () => {
    const oldest = seed({ status: 'ready', media: published('vid00000000') }, 1);
    const middle = seed({ status: 'processing', progress: { done: 1, total: 4 } }, 2);
    seed({ ownerId: OTHER }, 3);
    const newest = seed({ status: 'failed', failure: { code: 'NotAVideo', message: 'not a video' } }, 4);

    const page = await f.library.listMine(OWNER, { limit: 10 });

    expect(page.items.map((v) => v.id)).toEqual([newest.id, middle.id, oldest.id]);
    expect(page.nextCursor).toBeUndefined();
    expect(page.items[0]).toMatchObject({ status: 'failed', progress: 0, failure: { code: 'NotAVideo' } });
    expect(page.items[1]).toMatchObject({ status: 'processing', progress: 0.25 });
    expect(page.items[1]).not.toHaveProperty('durationSeconds');
    expect(page.items[2]).toMatchObject({ status: 'ready', progress: 1, durationSeconds: 12.5, title: oldest.title, version: 1 });
    expect(page.items[2]).not.toHaveProperty('media');
    expect(page.items[2]).not.toHaveProperty('rawKey');
  });

  it('pages through every video exactly once, with no cursor after the last page', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => seed({}, 10 + i).id).reverse();
    // Two created in the same millisecond still get a stable order (by id).
    const twinA = seed({ id: 'vidTWIN000a' }, 20);
    const twinB = seed({ id: 'vidTWIN000b' }, 20);
    const expected = [twinB.id, twinA.id, ...ids];

    const pages: VideoList[] = [];
    let cursor: string | undefined;
    do {
      const page = await f.library.listMine(OWNER, { limit: 2, cursor });
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor);

    expect(pages.map((p) => p.items.length)).toEqual([2, 2, 2, 1]);
    expect(pages.flatMap((p) => p.items.map((v) => v.id))).toEqual(expected);
  });

  it('gives no cursor when the last page is exactly full', async () => {
    seed({}, 1);
    seed({}, 2);

    expect((await f.library.listMine(OWNER, { limit: 2 })).nextCursor).toBeUndefined();
  });

  it("refuses another user's cursor, and never shows their videos", async () => {
    seed({ ownerId: OTHER }, 1);
    seed({ ownerId: OTHER }, 2);
    seed({}, 3);
    const theirs = await f.library.listMine(OTHER, { limit: 1 });
    expect(theirs.nextCursor).toBeDefined();

    const error = await rejection(f.library.listMine(OWNER, { limit: 1, cursor: theirs.nextCursor }));

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toEqual([expect.stringMatching(/^cursor: /)]);
  });

  it('refuses a forged or tampered cursor', async () => {
    seed({}, 1);
    seed({}, 2);
    const { nextCursor } = await f.library.listMine(OWNER, { limit: 1 });
    const decoded = JSON.parse(Buffer.from(nextCursor!, 'base64url').toString()) as Record<string, string>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = [
      'not a cursor!',
      'AAAA',
      Buffer.from('{"o":').toString('base64url'),
      encode({ ...decoded, o: OTHER }),
      encode({ ...decoded, i: '../../etc' }),
      encode({ ...decoded, c: 'yesterday' }),
      encode({ ...decoded, extra: 1 }),
      encode([decoded]),
    ];

    for (const cursor of forged) {
      const error = await rejection(f.library.listMine(OWNER, { limit: 1, cursor }));
      expect(error, cursor).toBeInstanceOf(ValidationError);
    }
    // The genuine one still works.
    expect((await f.library.listMine(OWNER, { limit: 1, cursor: nextCursor })).items).toHaveLength(1);
  });

  it('refuses a page size outside 1..100', async () => {
    for (const limit of [0, 101, 1.5, Number.NaN]) {
      await expect(f.library.listMine(OWNER, { limit })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});

/** Starts an upload of 6 MiB + 1 and PUTs both parts; returns what complete needs. */
async function uploadThrough() {
  const fileSize = 6 * 1024 * 1024 + 1;
  const session = await f.uploads.start(OWNER, {
    title: 'Harbour',
    visibility: 'private',
    fileName: 'harbour.mp4',
    fileSize,
    contentType: 'video/mp4',
  });
  const parts: { partNumber: number; etag: string }[] = [];
  for (const part of session.parts) parts.push({ partNumber: part.partNumber, etag: await f.store.put(part.url, new Uint8Array(part.size)) });
  return { session, parts };
}

describe('the video management handlers', () => {
  const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as Context;

  function event(options: {
    method: string;
    pathParameters?: Record<string, string> | null;
    query?: Record<string, string> | null;
    body?: string | null;
  }): APIGatewayProxyEvent {
    return {
      body: options.body ?? null,
      headers: { 'content-type': 'application/json' },
      multiValueHeaders: {},
      httpMethod: options.method,
      isBase64Encoded: false,
      path: '/api/v1/test',
      pathParameters: options.pathParameters ?? null,
      queryStringParameters: options.query ?? null,
      multiValueQueryStringParameters: null,
      stageVariables: null,
      resource: '/api/v1/test',
      requestContext: { authorizer: { claims: { sub: OWNER } } } as unknown as APIGatewayProxyEvent['requestContext'],
    };
  }
  const json = (response: APIGatewayProxyResult) => JSON.parse(response.body) as never;
  const errorOf = (response: APIGatewayProxyResult) => (JSON.parse(response.body) as ErrorBody).error;

  it('lists with the query string parsed: limit from text, a default page size without one', async () => {
    for (let i = 0; i < 30; i++) seed({}, i);

    const two = await listMyVideos(event({ method: 'GET', query: { limit: '2' } }), context);
    const all = await listMyVideos(event({ method: 'GET', query: null }), context);

    expect(two.statusCode).toBe(200);
    expect((json(two) as VideoList).items).toHaveLength(2);
    expect((json(all) as VideoList).items).toHaveLength(24);
  });

  it('answers 400 naming each bad query field', async () => {
    const response = await listMyVideos(event({ method: 'GET', query: { limit: '0', sort: 'asc' } }), context);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toEqual(expect.arrayContaining(['limit: limit must be 1..100', 'query: remove unknown field "sort"']));
  });

  it('answers 400 for a cursor that is not one of ours', async () => {
    const response = await listMyVideos(event({ method: 'GET', query: { cursor: 'Zm9yZ2Vk' } }), context);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toEqual([expect.stringMatching(/^cursor: /)]);
  });

  it('patches and answers the updated view', async () => {
    const video = seed();
    const response = await updateVideo(
      event({ method: 'PATCH', pathParameters: { id: video.id }, body: JSON.stringify({ title: 'Renamed', version: 1 }) }),
      context,
    );

    expect(response.statusCode).toBe(200);
    expect(json(response)).toMatchObject({ id: video.id, title: 'Renamed', version: 2 });
  });

  it('answers 409 for a stale version and 400 for an empty or unknown-field patch', async () => {
    const video = seed({ version: 3 });
    const patch = (body: unknown) =>
      updateVideo(event({ method: 'PATCH', pathParameters: { id: video.id }, body: JSON.stringify(body) }), context);

    const stale = await patch({ title: 'x', version: 2 });
    const empty = await patch({});
    const unknown = await patch({ title: 'x', status: 'ready' });

    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale)).toMatchObject({ code: 'ConflictError', message: expect.stringMatching(/version 3, not 2/) });
    expect(empty.statusCode).toBe(400);
    expect(errorOf(empty).details).toEqual(['body: send at least one of title, description, tags, visibility, poster']);
    expect(unknown.statusCode).toBe(400);
    expect(errorOf(unknown).details).toEqual(['body: remove unknown field "status"']);
  });

  it('deletes with 204 and no body, then answers 404', async () => {
    const video = seed();
    const remove = () => deleteVideo(event({ method: 'DELETE', pathParameters: { id: video.id } }), context);

    const first = await remove();
    const second = await remove();

    expect(first.statusCode).toBe(204);
    expect(first.body).toBe('');
    expect(second.statusCode).toBe(404);
  });
});
