import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { VideoCardPage, VideoStatus, Visibility } from '#contracts/api';
import { ApiClient } from '../support/api.ts';
import { localCredentials } from '../support/clients.ts';

/**
 * Discovery over HTTP against the local platform. Videos are seeded as ready items straight into
 * the table (transcoding is covered elsewhere and would only slow this down); they reach the
 * search index the way every video does, through the table's stream and the indexer.
 */
const platform = inject('platform');
const table = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: platform.dynamoEndpoint, region: 'us-east-1', credentials: localCredentials }),
);

const subOf = (client: ApiClient) =>
  (JSON.parse(Buffer.from(client.idToken.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;

/** Anonymous calls: no Authorization header. */
async function anonymous<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${platform.apiUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

let seeded = 0;
async function seedVideo(ownerId: string, fields: { title: string; tags?: string[]; visibility?: Visibility; status?: VideoStatus }): Promise<string> {
  const id = randomBytes(8).toString('base64url').slice(0, 11);
  const createdAt = new Date(Date.now() + seeded++ * 1000).toISOString();
  await table.send(
    new PutCommand({
      TableName: platform.tableName,
      Item: {
        pk: `VIDEO#${id}`,
        sk: 'VIDEO',
        gsi1pk: `OWNER#${ownerId}`,
        gsi1sk: `VIDEO#${createdAt}#${id}`,
        entity: 'video',
        id,
        ownerId,
        title: fields.title,
        description: '',
        tags: fields.tags ?? [],
        visibility: fields.visibility ?? 'public',
        status: fields.status ?? 'ready',
        fileName: 'clip.mp4',
        fileSize: 1000,
        contentType: 'video/mp4',
        rawKey: `uploads/${id}/source`,
        uploadId: 'seeded',
        partSize: 5 * 1024 * 1024,
        generation: 1,
        version: 1,
        createdAt,
        updatedAt: createdAt,
      },
    }),
  );
  return id;
}

const ids = (page: VideoCardPage) => page.items.map((card) => card.id);
const session = () => randomBytes(12).toString('base64url');

/** Polls `read` until `check` holds (the index is fed asynchronously), or fails with the last value. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`still not as expected after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

describe('views, trending, related, recommendations and channels over HTTP', () => {
  let creator: ApiClient;
  let alice: ApiClient;
  let newcomer: ApiClient;
  let creatorId: string;
  const v: Record<'bread' | 'starter' | 'kayak' | 'secret' | 'unlisted' | 'processing', string> = {} as never;

  beforeAll(async () => {
    [creator, alice, newcomer] = await Promise.all([
      ApiClient.signUp(platform, 'discovery-creator'),
      ApiClient.signUp(platform, 'discovery-alice'),
      ApiClient.signUp(platform, 'discovery-newcomer'),
    ]);
    creatorId = subOf(creator);
    v.bread = await seedVideo(creatorId, { title: 'Sourdough bread basics', tags: ['baking'] });
    v.starter = await seedVideo(creatorId, { title: 'Sourdough starter guide', tags: ['baking'] });
    v.kayak = await seedVideo(creatorId, { title: 'Kayak trip along the fjords', tags: ['outdoors'] });
    v.secret = await seedVideo(creatorId, { title: 'Sourdough bread secrets', tags: ['baking'], visibility: 'private' });
    v.unlisted = await seedVideo(creatorId, { title: 'Sourdough bread unlisted', tags: ['baking'], visibility: 'unlisted' });
    v.processing = await seedVideo(creatorId, { title: 'Sourdough bread in progress', tags: ['baking'], status: 'processing' });
    // Indexed once the owner's trending (which lists their own ready videos too) holds all five.
    await eventually(
      async () => (await creator.request<VideoCardPage>('GET', '/api/v1/feed/trending?limit=50')).body,
      (page) => [v.bread, v.starter, v.kayak, v.secret, v.unlisted].every((id) => ids(page).includes(id)),
    );
  }, 60_000);

  it('counts a view once per session or user per hour, and only of videos the viewer may watch', async () => {
    const first = session();
    expect(await anonymous('POST', `/api/v1/videos/${v.bread}/views`, { sessionId: first })).toEqual({ status: 200, body: { counted: true, views: 1 } });
    expect(await anonymous('POST', `/api/v1/videos/${v.bread}/views`, { sessionId: first })).toEqual({ status: 200, body: { counted: false, views: 1 } });
    expect(await anonymous('POST', `/api/v1/videos/${v.bread}/views`, { sessionId: session() })).toEqual({ status: 200, body: { counted: true, views: 2 } });

    const signedIn = await alice.request('POST', `/api/v1/videos/${v.bread}/views`, {});
    expect(signedIn).toMatchObject({ status: 200, body: { counted: true, views: 3 } });
    // The user, not the session, is the viewer once signed in.
    expect((await alice.request('POST', `/api/v1/videos/${v.bread}/views`, { sessionId: session() })).body).toEqual({ counted: false, views: 3 });

    const noSession = await anonymous('POST', `/api/v1/videos/${v.bread}/views`, {});
    expect(noSession.status).toBe(400);
    expect(noSession.body.error.details).toEqual([expect.stringMatching(/^sessionId: /)]);
    for (const id of [v.secret, v.processing]) {
      expect((await alice.request('POST', `/api/v1/videos/${id}/views`, {})).status, id).toBe(404);
    }
  });

  it('ranks trending by views, and never shows anyone else a private, unlisted or unfinished video', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await anonymous('POST', `/api/v1/videos/${v.kayak}/views`, { sessionId: session() })).body.counted).toBe(true);
    }
    // kayak 5 views, bread 3 (previous test), starter none: below both, among the other unwatched
    // public videos the platform holds (other suites' too), which tie at 0 and go by id.
    const trending = await eventually(
      async () => (await anonymous<VideoCardPage>('GET', '/api/v1/feed/trending?limit=50')).body,
      (page) => ids(page).slice(0, 2).join() === [v.kayak, v.bread].join() && ids(page).slice(2).includes(v.starter),
    );
    expect(trending.items[0]).toMatchObject({ id: v.kayak, views: 5, title: 'Kayak trip along the fjords', visibility: 'public' });
    for (const viewer of [alice, newcomer]) {
      const seen = ids((await viewer.request<VideoCardPage>('GET', '/api/v1/feed/trending?limit=50')).body);
      for (const hidden of [v.secret, v.unlisted, v.processing]) expect(seen).not.toContain(hidden);
    }
    expect(ids((await anonymous<VideoCardPage>('GET', '/api/v1/feed/trending?limit=50')).body)).not.toContain(v.secret);
    expect((await anonymous('GET', '/api/v1/feed/trending?limit=0')).status).toBe(400);
  });

  it('relates videos by shared words and by being watched together, never itself or a hidden one', async () => {
    // Alice watched bread (previous tests) and now kayak: the two are watched together.
    expect((await alice.request('POST', `/api/v1/videos/${v.kayak}/views`, {})).body.counted).toBe(true);
    const related = ids((await alice.request<VideoCardPage>('GET', `/api/v1/videos/${v.bread}/related`)).body);
    expect(related).toEqual(expect.arrayContaining([v.starter, v.kayak]));
    for (const excluded of [v.bread, v.secret, v.unlisted, v.processing]) expect(related).not.toContain(excluded);
    expect(ids((await anonymous<VideoCardPage>('GET', `/api/v1/videos/${v.kayak}/related`)).body)).toContain(v.bread);

    expect((await alice.request('GET', `/api/v1/videos/${v.secret}/related`)).status).toBe(404);
    expect((await anonymous('GET', `/api/v1/videos/${v.secret}/related`)).status).toBe(404);
    const own = await creator.request<VideoCardPage>('GET', `/api/v1/videos/${v.secret}/related`);
    expect(own.status).toBe(200);
    expect(ids(own.body)).not.toContain(v.secret);
  });

  it('recommends from the watch history, and falls back to trending without one', async () => {
    const fresh = await newcomer.request<VideoCardPage>('GET', '/api/v1/me/recommendations?limit=10');
    expect(fresh.status).toBe(200);
    const trending = await newcomer.request<VideoCardPage>('GET', '/api/v1/feed/trending?limit=10');
    expect(ids(fresh.body)).toEqual(ids(trending.body));
    expect(ids(fresh.body).length).toBeGreaterThan(0);

    // Alice watched bread and kayak: starter relates to bread; watched videos are never offered again.
    const forAlice = ids((await alice.request<VideoCardPage>('GET', '/api/v1/me/recommendations?limit=10')).body);
    expect(forAlice[0]).toBe(v.starter);
    for (const excluded of [v.bread, v.kayak, v.secret, v.unlisted, v.processing]) expect(forAlice).not.toContain(excluded);
    expect((await anonymous('GET', '/api/v1/me/recommendations')).status).toBe(401);
  });

  it("lists a channel's ready public videos newest first, a page at a time; its owner sees all", async () => {
    const first = await alice.request<VideoCardPage>('GET', `/api/v1/users/${creatorId}/videos?limit=2`);
    expect(first.status).toBe(200);
    expect(ids(first.body)).toEqual([v.kayak, v.starter]);
    const second = await anonymous<VideoCardPage>('GET', `/api/v1/users/${creatorId}/videos?limit=2&cursor=${first.body.nextCursor}`);
    expect(ids(second.body)).toEqual([v.bread]);
    expect(second.body.nextCursor).toBeUndefined();
    expect(second.body.items[0]).toMatchObject({ id: v.bread, views: 3 });

    const own = await creator.request<VideoCardPage>('GET', `/api/v1/users/${creatorId}/videos?limit=10`);
    expect(ids(own.body)).toEqual([v.processing, v.unlisted, v.secret, v.kayak, v.starter, v.bread]);
    const wrong = await alice.request('GET', `/api/v1/users/${subOf(alice)}/videos?cursor=${first.body.nextCursor}`);
    expect(wrong.status).toBe(400);
  });

  it('hides a video made private at once, before the index has caught up', async () => {
    const flash = await seedVideo(creatorId, { title: 'Sourdough flash bake', tags: ['baking'] });
    for (let i = 0; i < 9; i++) await anonymous('POST', `/api/v1/videos/${flash}/views`, { sessionId: session() });
    await eventually(
      async () => ids((await anonymous<VideoCardPage>('GET', '/api/v1/feed/trending?limit=50')).body),
      (seen) => seen[0] === flash,
    );
    const version = (await creator.request('GET', `/api/v1/videos/${flash}`)).body.version as number;
    expect((await creator.request('PATCH', `/api/v1/videos/${flash}`, { visibility: 'private', version })).status).toBe(200);
    // No waiting: every list re-checks the table.
    expect(ids((await anonymous<VideoCardPage>('GET', '/api/v1/feed/trending?limit=50')).body)).not.toContain(flash);
    expect(ids((await alice.request<VideoCardPage>('GET', `/api/v1/videos/${v.bread}/related`)).body)).not.toContain(flash);
    expect(ids((await newcomer.request<VideoCardPage>('GET', '/api/v1/me/recommendations?limit=50')).body)).not.toContain(flash);
    expect(ids((await alice.request<VideoCardPage>('GET', `/api/v1/users/${creatorId}/videos?limit=50`)).body)).not.toContain(flash);
    expect(ids((await creator.request<VideoCardPage>('GET', '/api/v1/feed/trending?limit=50')).body)).toContain(flash);
  });
});
