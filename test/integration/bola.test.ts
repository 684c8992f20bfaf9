import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { routes, type Route, type RouteId } from '#contracts/routes';
import { MediaLayout } from '#contracts/workflow';
import { ApiClient } from '../support/api.ts';
import { eventually, party, type Party } from '../support/bola.ts';
import { makeClip } from '../support/media.ts';
import { describeDiff, diffState, settledState, stateOf, stateReader, type StateSnapshot } from '../support/state.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

/**
 * The ownership (BOLA) matrix: the owner, another user and an anonymous caller × every route ×
 * the owner's public, unlisted and private videos (ready, transcoded for real) and one still
 * uploading. The rule under test (README, "API reference"): users touch only their own videos,
 * and a video someone may not see answers `404` exactly as a missing one; private videos, and
 * videos not yet ready, are never served or listed to anyone but their owner; unlisted ones are
 * served by id to anyone but never listed.
 *
 * Order: every refused call first, then the platform's whole state is compared with before
 * (nothing stored, removed or started); then the allowed calls; then what lists, search and feeds
 * show; destructive calls by their rightful caller run last.
 */
const platform = inject('platform');
const readState = stateReader(platform);

type Who = 'owner' | 'other' | 'anonymous';
const WHO: readonly Who[] = ['owner', 'other', 'anonymous'];
type Column = 'public' | 'unlisted' | 'private' | 'pending';
/** Three ready videos, one per visibility, and a public one whose upload is not complete. */
const COLUMNS: readonly Column[] = ['public', 'unlisted', 'private', 'pending'];
type Row = readonly [publicVideo: number, unlistedVideo: number, privateVideo: number, pendingVideo: number];

/** Expected status of each route with a video id, per caller, per video (columns as in {@link COLUMNS}). */
const videoMatrix: Partial<Record<RouteId, Record<Who, Row>>> = {
  GetUpload: { owner: [409, 409, 409, 200], other: [404, 404, 404, 404], anonymous: [401, 401, 401, 401] },
  CompleteUpload: { owner: [200, 200, 200, 400], other: [404, 404, 404, 404], anonymous: [401, 401, 401, 401] },
  AbortUpload: { owner: [409, 409, 409, 200], other: [404, 404, 404, 404], anonymous: [401, 401, 401, 401] },
  GetVideoStatus: { owner: [200, 200, 200, 200], other: [404, 404, 404, 404], anonymous: [401, 401, 401, 401] },
  GetVideo: { owner: [200, 200, 200, 200], other: [200, 200, 404, 404], anonymous: [200, 200, 404, 404] },
  GetStream: { owner: [200, 200, 200, 409], other: [200, 200, 404, 404], anonymous: [200, 200, 404, 404] },
  UpdateVideo: { owner: [200, 200, 200, 200], other: [404, 404, 404, 404], anonymous: [401, 401, 401, 401] },
  StartPosterUpload: { owner: [200, 200, 200, 409], other: [404, 404, 404, 404], anonymous: [401, 401, 401, 401] },
  DeleteVideo: { owner: [204, 204, 204, 204], other: [404, 404, 404, 404], anonymous: [401, 401, 401, 401] },
  RecordView: { owner: [200, 200, 200, 404], other: [200, 200, 404, 404], anonymous: [200, 200, 404, 404] },
  GetRelated: { owner: [200, 200, 200, 200], other: [200, 200, 404, 404], anonymous: [200, 200, 404, 404] },
};

/** Expected status of each route without a video id, per caller (`{userId}` is the owner's). */
const callerMatrix: Partial<Record<RouteId, Record<Who, number>>> = {
  StartUpload: { owner: 201, other: 201, anonymous: 401 },
  ListMyVideos: { owner: 200, other: 200, anonymous: 401 },
  GetMe: { owner: 200, other: 200, anonymous: 401 },
  UpdateMe: { owner: 200, other: 200, anonymous: 401 },
  ExportMe: { owner: 200, other: 200, anonymous: 401 },
  DeleteMe: { owner: 204, other: 204, anonymous: 401 },
  GetTrending: { owner: 200, other: 200, anonymous: 200 },
  GetRecommendations: { owner: 200, other: 200, anonymous: 401 },
  ListChannel: { owner: 200, other: 200, anonymous: 200 },
  SearchVideos: { owner: 200, other: 200, anonymous: 200 },
  GetHealth: { owner: 200, other: 200, anonymous: 200 },
};

/** Routes whose success destroys something: the rightful caller's success runs last, on its own. */
const DESTRUCTIVE: ReadonlySet<string> = new Set<RouteId>(['DeleteVideo', 'AbortUpload', 'DeleteMe']);

/** Where list routes keep their video ids. */
const listedIds: Partial<Record<RouteId, (body: any) => string[]>> = {
  ListMyVideos: (b) => b.items.map((v: { id: string }) => v.id),
  ExportMe: (b) => b.videos.map((v: { id: string }) => v.id),
  GetTrending: (b) => b.items.map((v: { id: string }) => v.id),
  GetRecommendations: (b) => b.items.map((v: { id: string }) => v.id),
  ListChannel: (b) => b.items.map((v: { id: string }) => v.id),
  SearchVideos: (b) => b.items.map((v: { id: string }) => v.id),
  GetRelated: (b) => b.items.map((v: { id: string }) => v.id),
};

const word = `bola${randomBytes(5).toString('hex')}`;
const parties = {} as Record<Who, Party>;
const video = {} as Record<Column, string>;
/** Each video's metadata (version included) once the pipeline was done with it. */
const initial = {} as Record<Column, any>;

/** The request a caller makes on a route (and video): a plausible one, so only ownership decides. */
function requestFor(route: Route, who: Who, column?: Column): { path: string; body?: unknown } {
  const path = route.path.replace('{id}', column ? video[column] : '').replace('{userId}', parties.owner.userId!);
  const with_ = (query: string, body?: unknown) => ({ path: `${path}${query}`, ...(body === undefined ? {} : { body }) });
  switch (route.id as RouteId) {
    case 'StartUpload':
      return with_('', { title: `${word} started by ${who}`, visibility: 'private', fileName: 'a.mp4', fileSize: 1, contentType: 'video/mp4' });
    case 'CompleteUpload':
      return with_('', { parts: [{ partNumber: 1, etag: '"0123"' }] });
    case 'UpdateVideo':
      return with_('', who === 'owner' ? { description: 'edited by the owner' } : { title: 'Hijacked', visibility: 'public', description: 'mine now' });
    case 'StartPosterUpload':
      return with_('', { contentType: 'image/png', size: 100 });
    case 'RecordView':
      return with_('', who === 'anonymous' ? { sessionId: randomBytes(12).toString('base64url') } : {});
    case 'UpdateMe':
      return with_('', { displayName: `BOLA ${who}` });
    case 'SearchVideos':
      return with_(`?q=${word}&page_size=50`);
    case 'ListMyVideos':
    case 'ListChannel':
      return with_('?limit=100');
    case 'GetTrending':
    case 'GetRecommendations':
    case 'GetRelated':
      return with_('?limit=50');
    default:
      return with_('');
  }
}

interface Cell {
  readonly route: Route;
  readonly who: Who;
  readonly column?: Column;
  readonly expected: number;
}

/** Every (route, caller, video) cell; a route missing from both matrices fails here, loudly. */
function cells(): Cell[] {
  return routes.flatMap((route) => {
    const byVideo = videoMatrix[route.id];
    const byCaller = callerMatrix[route.id];
    if (route.path.includes('{id}')) {
      if (!byVideo) throw new Error(`route ${route.id} has a video id but no row in bola.test.ts videoMatrix`);
      return WHO.flatMap((who) => COLUMNS.map((column, i) => ({ route, who, column, expected: byVideo[who][i]! })));
    }
    if (!byCaller) throw new Error(`route ${route.id} has no row in bola.test.ts callerMatrix`);
    return WHO.map((who) => ({ route, who, expected: byCaller[who] }));
  });
}

const label = (c: Cell) => `${c.route.id} by ${c.who}${c.column ? ` on the ${c.column} video` : ''}`;
const isDeferred = (c: Cell) => DESTRUCTIVE.has(c.route.id) && c.expected < 300;

async function call(c: Cell) {
  const { path, body } = requestFor(c.route, c.who, c.column);
  return parties[c.who].request(c.route.method, path, body);
}

function expectStatus(c: Cell, response: { status: number; body: unknown }) {
  expect(response.status, `${label(c)}: ${JSON.stringify(response.body)}`).toBe(c.expected);
}

describe('ownership (BOLA): owner, other user and anonymous × every route × every visibility', () => {
  let before: StateSnapshot;

  beforeAll(async () => {
    const [owner, other] = await Promise.all([ApiClient.signUp(platform, 'bola-owner'), ApiClient.signUp(platform, 'bola-other')]);
    parties.owner = party('owner', platform.apiUrl, owner.idToken);
    parties.other = party('other', platform.apiUrl, other.idToken);
    parties.anonymous = party('anonymous', platform.apiUrl);

    const dir = mkdtempSync(join(tmpdir(), 'vodstack-bola-'));
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip, { width: 160, height: 90, seconds: 1 });
    const [pub, unl, priv] = await Promise.all(
      (['public', 'unlisted', 'private'] as const).map((visibility) => uploadFile(owner, clip, { title: `${word} ${visibility} clip`, visibility })),
    );
    Object.assign(video, { public: pub, unlisted: unl, private: priv });
    const pending = await owner.request('POST', '/api/v1/videos/upload', {
      title: `${word} pending clip`,
      visibility: 'public',
      fileName: 'clip.mp4',
      fileSize: 1,
      contentType: 'video/mp4',
    });
    expect(pending.status, JSON.stringify(pending.body)).toBe(201);
    video.pending = pending.body.id;
    for (const id of [pub!, unl!, priv!]) expect((await waitForOutcome(owner, id, 60_000)).status).toBe('ready');
    // Both users' profiles exist before the refused calls (the first GET /me creates one).
    for (const who of ['owner', 'other'] as const) expect((await parties[who].request('GET', '/api/v1/me')).status).toBe(200);
    // Indexed: the owner finds all four (their own, in any status and visibility).
    await eventually(
      () => parties.owner.request('GET', `/api/v1/search/videos?q=${word}&page_size=50`),
      (r) => Object.values(video).every((id) => listedIds.SearchVideos!(r.body).includes(id)),
      "the owner's search",
    );
    before = await settledState(readState);
    for (const column of COLUMNS) initial[column] = (await parties.owner.request('GET', `/api/v1/videos/${video[column]}`)).body;
  }, 120_000);

  it('has an expected status for every route in the route table', () => {
    const all = cells();
    expect(new Set(all.map((c) => c.route.id))).toEqual(new Set(routes.map((r) => r.id)));
    for (const id of Object.keys(videoMatrix)) expect(routes.some((r) => r.id === id), `${id} is in videoMatrix but not a route`).toBe(true);
    for (const id of Object.keys(callerMatrix)) expect(routes.some((r) => r.id === id), `${id} is in callerMatrix but not a route`).toBe(true);
  });

  it('refuses every call it must refuse, as for a missing video, and nothing changes', async () => {
    const refused = cells().filter((c) => c.expected >= 400);
    for (const c of refused) {
      const response = await call(c);
      expectStatus(c, response);
      if (c.expected === 404 && c.who !== 'owner') {
        // Indistinguishable from a video that does not exist (same code and message, but for the id).
        const missing = 'AAAAAAAAAAA';
        const { path, body } = requestFor(c.route, c.who, c.column);
        const reference = await parties[c.who].request(c.route.method, path.replace(video[c.column!], missing), body);
        expect(JSON.stringify(response.body).replaceAll(video[c.column!], missing), label(c)).toBe(JSON.stringify(reference.body));
      }
    }
    expect(refused.length).toBeGreaterThan(60);

    const after = await readState();
    expect(describeDiff(diffState(before, after)), 'the refused calls changed the stored state').toBe('no change');
    for (const column of COLUMNS) {
      const objects = [...stateOf(after, [video[column]]).keys()].filter((k) => k.startsWith('s3 '));
      // Ready videos keep their source and media; the pending one has no object yet.
      if (column !== 'pending') expect(objects.length, `${column} video's objects`).toBeGreaterThan(5);
      const { body } = await parties.owner.request('GET', `/api/v1/videos/${video[column]}`);
      expect(body, column).toEqual(initial[column]);
      expect(body, column).toMatchObject({ title: `${word} ${column} clip`, visibility: column === 'pending' ? 'public' : column });
    }
  });

  it('answers every allowed call (destructive ones aside) with its expected status', async () => {
    const allowed = cells().filter((c) => c.expected < 400 && !isDeferred(c));
    // Views first, in column order: the owner's views link the videos as "watched together", so
    // related videos and recommendations would offer the private one if nothing filtered it.
    const views = allowed.filter((c) => c.route.id === 'RecordView');
    for (const c of [...views, ...allowed.filter((x) => x.route.id !== 'RecordView')]) expectStatus(c, await call(c));
    expect(allowed.length).toBeGreaterThan(40);

    // The owner's edits applied; the others' attempts did not.
    for (const column of COLUMNS) {
      const { body } = await parties.owner.request('GET', `/api/v1/videos/${video[column]}`);
      expect(body, column).toMatchObject({ version: initial[column].version + 1, title: `${word} ${column} clip`, visibility: initial[column].visibility, description: 'edited by the owner' });
    }
  });

  it('never lists, finds or recommends to others what they may not see, while the owner sees all of it', async () => {
    const hiddenFromOthers = [video.unlisted, video.private, video.pending];
    const owned = Object.values(video);
    const ids = async (who: Who, routeId: RouteId, column?: Column) => {
      const route = routes.find((r) => r.id === routeId)!;
      const { path } = requestFor(route, who, column);
      const response = await parties[who].request(route.method, path);
      expect(response.status, `${routeId} by ${who}: ${JSON.stringify(response.body)}`).toBe(200);
      return listedIds[routeId]!(response.body);
    };
    const sees = (who: Who, routeId: RouteId, wanted: string[], column?: Column) =>
      eventually(() => ids(who, routeId, column), (list) => wanted.every((id) => list.includes(id)), `${routeId} by ${who}`);

    // The owner's own lists hold everything of theirs (these also show the index is up to date).
    await sees('owner', 'ListMyVideos', owned);
    await sees('owner', 'ExportMe', owned);
    await sees('owner', 'ListChannel', owned);
    await sees('owner', 'SearchVideos', owned);
    await sees('owner', 'GetTrending', [video.public, video.unlisted, video.private]);
    await sees('owner', 'GetRelated', [video.unlisted, video.private], 'public');

    for (const who of ['other', 'anonymous'] as const) {
      for (const routeId of ['ListChannel', 'SearchVideos', 'GetTrending'] as const) {
        const list = await sees(who, routeId, [video.public]);
        expect(list.filter((id) => hiddenFromOthers.includes(id)), `${routeId} by ${who}`).toEqual([]);
      }
      for (const column of ['public', 'unlisted'] as const) {
        const related = await ids(who, 'GetRelated', column);
        expect(related.filter((id) => hiddenFromOthers.includes(id) || id === video[column]), `GetRelated of ${column} by ${who}`).toEqual([]);
      }
    }
    // The other user's own lists and recommendations (they watched the public and unlisted ones).
    for (const routeId of ['ListMyVideos', 'ExportMe', 'GetRecommendations'] as const) {
      const list = await ids('other', routeId);
      expect(list.filter((id) => owned.includes(id)), routeId).toEqual([]);
    }
    const exported = await parties.other.request('GET', '/api/v1/me/export');
    expect(exported.body.views.map((v: { videoId: string }) => v.videoId).sort()).toEqual([video.public, video.unlisted].sort());
  });

  it("lets the other user delete their own account without touching the owner's", async () => {
    // Everything naming the owner or their videos, but for the other user's own rows (their
    // history and view marks name the videos they watched, and go with their account).
    const ownerState = (s: StateSnapshot) =>
      new Map([...stateOf(s, [parties.owner.userId!, ...Object.values(video)])].filter(([k, v]) => !`${k} ${v}`.includes(parties.other.userId!)));
    const whole = await settledState(readState);
    const beforeDelete = ownerState(whole);
    for (const c of cells().filter((x) => x.route.id === 'DeleteMe' && x.who === 'other')) expectStatus(c, await call(c));

    const wholeAfter = await settledState(readState);
    // The snapshot does see the other user's rows go (so "no change" below is a real check).
    expect(diffState(whole, wholeAfter).removed.filter((k) => k.includes(parties.other.userId!)).length).toBeGreaterThan(0);
    const after = ownerState(wholeAfter);
    // Views and co-views the other user added to the owner's videos stay, as the README says.
    expect(describeDiff(diffState(beforeDelete, after)), "the owner's state").toBe('no change');
    expect((await parties.owner.request('GET', '/api/v1/me')).status).toBe(200);
    expect((await parties.other.request('GET', `/api/v1/videos/${video.private}`)).status).toBe(404);
  });

  it('lets the owner abort their upload and delete their videos and account, last', async () => {
    for (const c of cells().filter((x) => isDeferred(x) && x.who === 'owner' && x.route.id !== 'DeleteMe')) {
      // Aborting comes before deleting, so the pending video is aborted, then deleted.
      if (c.route.id === 'AbortUpload') expectStatus(c, await call(c));
    }
    expect((await parties.owner.request('GET', `/api/v1/videos/${video.pending}/status`)).body.status).toBe('aborted');
    for (const c of cells().filter((x) => isDeferred(x) && x.who === 'owner' && x.route.id === 'DeleteVideo')) expectStatus(c, await call(c));

    const state = await settledState(readState);
    for (const column of COLUMNS) {
      expect((await parties.owner.request('GET', `/api/v1/videos/${video[column]}`)).status, column).toBe(404);
      expect([...stateOf(state, [MediaLayout.prefix(video[column]), `uploads/${video[column]}/`]).keys()], column).toEqual([]);
    }
    for (const c of cells().filter((x) => x.route.id === 'DeleteMe' && x.who === 'owner')) expectStatus(c, await call(c));
    expect((await parties.owner.request('GET', '/api/v1/me/videos')).body.items ?? []).toEqual([]);
  });
});
