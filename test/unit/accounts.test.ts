import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AccountExport, ErrorBody, Profile } from '#contracts/api';
import { MediaLayout } from '#contracts/workflow';
import {
  Accounts,
  type ProfileChanges,
  type ProfileStore,
  type StoredProfile,
  type UserDirectory,
  type ViewRecord,
} from '#domain/accounts';
import { NotFoundError, UnavailableError } from '#domain/errors';
import type { Video } from '#domain/video';
import { handler as deleteMe } from '#handlers/api/delete-me';
import { handler as exportMe } from '#handlers/api/export-me';
import { handler as getMe } from '#handlers/api/get-me';
import { handler as updateMe } from '#handlers/api/update-me';
import { fakeLibrary, type FakeLibrary } from '../fakes/in-memory.ts';

/** The user partition in memory: one profile and a watch history per user. */
class InMemoryProfileStore implements ProfileStore {
  readonly profiles = new Map<string, StoredProfile>();
  readonly history = new Map<string, ViewRecord[]>();

  async get(userId: string) {
    return this.profiles.get(userId);
  }
  async create(profile: StoredProfile) {
    if (!this.profiles.has(profile.userId)) this.profiles.set(profile.userId, profile);
    return this.profiles.get(profile.userId)!;
  }
  async update(userId: string, changes: ProfileChanges, now: string) {
    const { avatarUrl: _old, ...current } = this.profiles.get(userId) ?? { userId, createdAt: now, updatedAt: now };
    const avatarUrl = changes.avatarUrl === undefined ? this.profiles.get(userId)?.avatarUrl : changes.avatarUrl;
    const next: StoredProfile = {
      ...current,
      ...(changes.displayName !== undefined ? { displayName: changes.displayName } : {}),
      ...(avatarUrl ? { avatarUrl } : {}),
      updatedAt: now,
    };
    this.profiles.set(userId, next);
    return next;
  }
  async views(userId: string) {
    return [...(this.history.get(userId) ?? [])];
  }
  async purge(userId: string) {
    const count = (this.profiles.has(userId) ? 1 : 0) + (this.history.get(userId)?.length ?? 0);
    this.profiles.delete(userId);
    this.history.delete(userId);
    return count;
  }
}

class InMemoryUserDirectory implements UserDirectory {
  readonly users = new Set<string>();
  async deleteUser(userId: string) {
    this.users.delete(userId);
  }
}

const ALICE = 'user-alice';
const BOB = 'user-bob';

let f: FakeLibrary;
let profiles: InMemoryProfileStore;
let users: InMemoryUserDirectory;
let accounts: Accounts;
vi.mock('#composition/accounts', () => ({ accountDeps: () => ({ accounts }) }));

beforeEach(() => {
  f = fakeLibrary();
  profiles = new InMemoryProfileStore();
  users = new InMemoryUserDirectory();
  users.users.add(ALICE).add(BOB);
  accounts = new Accounts({ profiles, videos: f.videos, library: f.library, users, clock: f.clock });
});

let seeded = 0;
function seed(ownerId: string, overrides: Partial<Video> = {}): Video {
  seeded++;
  const id = overrides.id ?? `vid${String(seeded).padStart(8, '0')}`;
  const at = new Date(Date.UTC(2025, 0, 1, 0, 0, seeded)).toISOString();
  const video: Video = {
    id,
    ownerId,
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
  f.media.keys.add(MediaLayout.hlsMaster(id));
  return video;
}

describe('Library.remove and the running workflow', () => {
  it('stops the current run of an uploaded or processing video, by its generation', async () => {
    const uploaded = seed(ALICE, { status: 'uploaded', generation: 2 });
    const processing = seed(ALICE, { status: 'processing', generation: 3 });
    await f.workflow.start(uploaded.id, 2);
    await f.workflow.start(processing.id, 3);

    await f.library.remove(ALICE, uploaded.id);
    await f.library.remove(ALICE, processing.id);

    expect(await f.workflow.describe(uploaded.id, 2)).toBe('ABORTED');
    expect(await f.workflow.describe(processing.id, 3)).toBe('ABORTED');
    expect(f.media.keys.size).toBe(0);
  });

  it('stops nothing for a video whose run is over, nor for another user', async () => {
    const ready = seed(ALICE, { status: 'ready' });
    const processing = seed(ALICE, { status: 'processing' });
    await f.workflow.start(processing.id, 1);
    const stop = vi.spyOn(f.workflow, 'stop');

    await expect(f.library.remove(BOB, processing.id)).rejects.toBeInstanceOf(NotFoundError);
    await f.library.remove(ALICE, ready.id);

    expect(stop).not.toHaveBeenCalled();
    expect(await f.workflow.describe(processing.id, 1)).toBe('RUNNING');
  });

  it('keeps the item when stopping fails, so a retry stops the run and deletes', async () => {
    const processing = seed(ALICE, { status: 'processing' });
    await f.workflow.start(processing.id, 1);
    vi.spyOn(f.workflow, 'stop').mockRejectedValueOnce(new UnavailableError('the workflow service is temporarily unavailable'));

    await expect(f.library.remove(ALICE, processing.id)).rejects.toBeInstanceOf(UnavailableError);
    expect(await f.videos.get(processing.id)).toBeDefined();

    await f.library.remove(ALICE, processing.id);
    expect(await f.videos.get(processing.id)).toBeUndefined();
    expect(await f.workflow.describe(processing.id, 1)).toBe('ABORTED');
  });
});

describe('choosing the poster among the published candidates', () => {
  const media = (id: string) => ({
    durationSeconds: 3,
    width: 256,
    height: 144,
    renditions: [],
    hlsMaster: MediaLayout.hlsMaster(id),
    dashManifest: `videos/${id}/dash.mpd`,
    poster: MediaLayout.poster(id),
    candidates: [0, 1, 2].map((n) => MediaLayout.candidate(id, n)),
    storyboard: `videos/${id}/sprite.jpg`,
    storyboardVtt: `videos/${id}/storyboard.vtt`,
  });

  it('publishes the chosen candidate as the poster and bumps the version', async () => {
    const video = seed(ALICE);
    f.videos.seed({ ...video, media: media(video.id) });

    const view = await f.library.update(ALICE, video.id, { poster: { candidate: 2 }, version: 1 });

    expect(view.version).toBe(2);
    expect((await f.videos.get(video.id))!.media!.poster).toBe(MediaLayout.candidate(video.id, 2));
  });

  it('refuses a video that is not ready with 409, and a candidate the run did not make with 400', async () => {
    const processing = seed(ALICE, { status: 'processing' });
    const ready = seed(ALICE);
    f.videos.seed({ ...ready, media: { ...media(ready.id), candidates: [MediaLayout.candidate(ready.id, 0)] } });

    await expect(f.library.update(ALICE, processing.id, { poster: { candidate: 0 } })).rejects.toMatchObject({ statusCode: 409 });
    await expect(f.library.update(ALICE, ready.id, { poster: { candidate: 1 } })).rejects.toMatchObject({
      statusCode: 400,
      details: ['poster.candidate: this video has only 1 candidate thumbnails'],
    });
    await expect(f.library.update(BOB, ready.id, { poster: { candidate: 0 } })).rejects.toBeInstanceOf(NotFoundError);
    expect((await f.videos.get(ready.id))!.media!.poster).toBe(MediaLayout.poster(ready.id));
  });
});

describe('Accounts.profile and updateProfile', () => {
  const alice = { userId: ALICE, email: 'alice@example.com' };

  it('creates the profile on first read, with the email from the token, and keeps its creation time', async () => {
    const t0 = f.clock.now().toISOString();
    const first = await accounts.profile(alice);
    f.clock.advance({ seconds: 60 });
    const again = await accounts.profile({ userId: ALICE, email: 'new@example.com' });

    expect(first).toEqual({ userId: ALICE, email: 'alice@example.com', createdAt: t0, updatedAt: t0 });
    expect(again).toEqual({ ...first, email: 'new@example.com' });
    expect(profiles.profiles.get(ALICE)).not.toHaveProperty('email');
  });

  it('stores markup-looking text exactly as given', async () => {
    const name = '<script>alert("x")</script> & Ünïcødé 🎬';

    const updated = await accounts.updateProfile(alice, { displayName: name, avatarUrl: 'https://cdn.example.com/a.png?x=<b>' });

    expect(updated).toMatchObject({ displayName: name, avatarUrl: 'https://cdn.example.com/a.png?x=<b>' });
    expect(await accounts.profile(alice)).toMatchObject({ displayName: name });
  });

  it('removes the avatar with null and leaves the display name alone', async () => {
    await accounts.updateProfile(alice, { displayName: 'Alice', avatarUrl: 'https://cdn.example.com/a.png' });
    f.clock.advance({ seconds: 5 });

    const updated = await accounts.updateProfile(alice, { avatarUrl: null });

    expect(updated).toMatchObject({ displayName: 'Alice' });
    expect(updated).not.toHaveProperty('avatarUrl');
    expect(updated.updatedAt > updated.createdAt).toBe(true);
  });
});

describe('Accounts.export', () => {
  it('holds the profile, every own video in every status over several pages, and the watch history', async () => {
    const mine = Array.from({ length: 130 }, (_, i) => seed(ALICE, { status: i % 2 ? 'ready' : 'pending_upload' }).id);
    const theirs = seed(BOB).id;
    profiles.history.set(ALICE, [{ videoId: theirs, at: '2025-01-02T00:00:00.000Z' }]);
    await accounts.updateProfile({ userId: ALICE, email: undefined }, { displayName: 'Alice' });

    const exported: AccountExport = await accounts.export({ userId: ALICE, email: 'alice@example.com' });

    expect(exported.profile).toMatchObject({ userId: ALICE, email: 'alice@example.com', displayName: 'Alice' });
    expect(exported.videos.map((v) => v.id).sort()).toEqual([...mine].sort());
    expect(exported.videos.map((v) => v.id)).not.toContain(theirs);
    expect(new Set(exported.videos.map((v) => v.status))).toEqual(new Set(['ready', 'pending_upload']));
    expect(exported.videos[0]).not.toHaveProperty('uploadId');
    expect(exported.views).toEqual([{ videoId: theirs, at: '2025-01-02T00:00:00.000Z' }]);
    expect(exported.exportedAt).toBe(f.clock.now().toISOString());
  });
});

describe('Accounts.deleteAccount', () => {
  it("purges every video, object, history row and the user, and nothing of anyone else's", async () => {
    const mine = [seed(ALICE, { status: 'pending_upload' }), seed(ALICE, { status: 'processing' }), seed(ALICE)];
    await f.workflow.start(mine[1]!.id, 1);
    const theirs = seed(BOB);
    await accounts.profile({ userId: ALICE, email: undefined });
    await accounts.profile({ userId: BOB, email: undefined });
    profiles.history.set(ALICE, [{ videoId: theirs.id, at: '2025-01-02T00:00:00.000Z' }]);

    await accounts.deleteAccount(ALICE);

    for (const video of mine) expect(await f.videos.get(video.id)).toBeUndefined();
    expect([...f.media.keys]).toEqual([MediaLayout.hlsMaster(theirs.id)]);
    expect(await f.workflow.describe(mine[1]!.id, 1)).toBe('ABORTED');
    expect(profiles.profiles.has(ALICE)).toBe(false);
    expect(profiles.history.has(ALICE)).toBe(false);
    expect(users.users.has(ALICE)).toBe(false);
    expect(await f.videos.get(theirs.id)).toBeDefined();
    expect(profiles.profiles.has(BOB)).toBe(true);
    expect(users.users.has(BOB)).toBe(true);
  });

  it('finishes the job on a retry after a failure part-way, deleting the user last', async () => {
    const [first, second] = [seed(ALICE), seed(ALICE)];
    await accounts.profile({ userId: ALICE, email: undefined });
    const remove = f.library.remove.bind(f.library);
    vi.spyOn(f.library, 'remove')
      .mockImplementationOnce(remove)
      .mockRejectedValueOnce(new UnavailableError('storage is temporarily unavailable'));

    await expect(accounts.deleteAccount(ALICE)).rejects.toBeInstanceOf(UnavailableError);
    expect(users.users.has(ALICE)).toBe(true);
    expect(profiles.profiles.has(ALICE)).toBe(true);

    await accounts.deleteAccount(ALICE);
    expect(await f.videos.get(first!.id)).toBeUndefined();
    expect(await f.videos.get(second!.id)).toBeUndefined();
    expect(profiles.profiles.has(ALICE)).toBe(false);
    expect(users.users.has(ALICE)).toBe(false);
    // Once everything is gone, deleting again is harmless.
    await accounts.deleteAccount(ALICE);
  });

  it('deletes every video of a large account, over several pages of the owner index', async () => {
    const mine = Array.from({ length: 205 }, () => seed(ALICE).id);

    await accounts.deleteAccount(ALICE);

    for (const id of mine) expect(await f.videos.get(id)).toBeUndefined();
    expect(f.media.keys.size).toBe(0);
    expect(users.users.has(ALICE)).toBe(false);
  });

  it('skips a video that disappeared between the listing and its deletion', async () => {
    const video = seed(ALICE);
    const remove = f.library.remove.bind(f.library);
    vi.spyOn(f.library, 'remove').mockImplementationOnce(async (caller, id) => {
      await remove(caller, id);
      throw new NotFoundError(`no video ${id}`);
    });

    await accounts.deleteAccount(ALICE);

    expect(await f.videos.get(video.id)).toBeUndefined();
    expect(users.users.has(ALICE)).toBe(false);
  });
});

describe('the account handlers', () => {
  const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as Context;
  function event(method: string, body?: unknown): APIGatewayProxyEvent {
    return {
      body: body === undefined ? null : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      multiValueHeaders: {},
      httpMethod: method,
      isBase64Encoded: false,
      path: '/api/v1/me',
      pathParameters: null,
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      stageVariables: null,
      resource: '/api/v1/me',
      requestContext: { authorizer: { claims: { sub: ALICE, email: 'alice@example.com' } } } as unknown as APIGatewayProxyEvent['requestContext'],
    };
  }
  const json = <T>(response: APIGatewayProxyResult) => JSON.parse(response.body) as T;

  it('reads and patches the profile, refusing a non-https avatar and unknown fields with 400', async () => {
    const read = await getMe(event('GET'), context);
    const patched = await updateMe(event('PATCH', { displayName: '  <b>Alice</b>  ' }), context);
    const http = await updateMe(event('PATCH', { avatarUrl: 'http://example.com/a.png' }), context);
    const unknown = await updateMe(event('PATCH', { displayName: 'A', email: 'x@example.com' }), context);
    const empty = await updateMe(event('PATCH', {}), context);

    expect(read.statusCode).toBe(200);
    expect(json<Profile>(read)).toMatchObject({ userId: ALICE, email: 'alice@example.com' });
    expect(patched.statusCode).toBe(200);
    expect(json<Profile>(patched).displayName).toBe('<b>Alice</b>');
    expect(http.statusCode).toBe(400);
    expect(json<ErrorBody>(http).error.details).toEqual(['avatarUrl: avatarUrl must be https']);
    expect(unknown.statusCode).toBe(400);
    expect(json<ErrorBody>(unknown).error.details).toEqual(['body: remove unknown field "email"']);
    expect(empty.statusCode).toBe(400);
  });

  it('exports as JSON and deletes the account with 204 and no body', async () => {
    seed(ALICE);

    const exported = await exportMe(event('GET'), context);
    const deleted = await deleteMe(event('DELETE'), context);

    expect(exported.statusCode).toBe(200);
    expect(json<AccountExport>(exported).videos).toHaveLength(1);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(users.users.has(ALICE)).toBe(false);
  });
});
