import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminGetUserCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { AccountExport, Profile } from '#contracts/api';
import { MediaLayout } from '#contracts/workflow';
import { signIn } from '../../local/users.ts';
import { ApiClient } from '../support/api.ts';
import { localCredentials, localS3 } from '../support/clients.ts';
import { makeClip } from '../support/media.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

const platform = inject('platform');
const s3 = localS3(platform);
const table = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: platform.dynamoEndpoint, region: 'us-east-1', credentials: localCredentials }),
);
const cognito = new CognitoIdentityProviderClient({ endpoint: platform.cognitoEndpoint, region: 'us-east-1', credentials: localCredentials });
const userExists = (userId: string) =>
  cognito.send(new AdminGetUserCommand({ UserPoolId: platform.userPoolId, Username: userId })).then(
    () => true,
    (error: Error) => {
      if (error.name === 'UserNotFoundException') return false;
      throw error;
    },
  );
const dir = mkdtempSync(join(tmpdir(), 'vodstack-accounts-'));
const PASSWORD = 'Correct-Horse-9-Battery';

/** The user id (`sub`) in an ID token. */
const subOf = (client: ApiClient) =>
  (JSON.parse(Buffer.from(client.idToken.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;

const partition = async (pk: string) =>
  (await table.send(new QueryCommand({ TableName: platform.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }))).Items ?? [];
const ownerIndex = async (userId: string) =>
  (
    await table.send(
      new QueryCommand({ TableName: platform.tableName, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': `OWNER#${userId}` } }),
    )
  ).Items ?? [];
const mediaKeys = async (id: string) =>
  (await s3.send(new ListObjectsV2Command({ Bucket: platform.mediaBucket, Prefix: MediaLayout.prefix(id) }))).Contents ?? [];
const rawExists = (id: string) =>
  s3.send(new HeadObjectCommand({ Bucket: platform.rawBucket, Key: `uploads/${id}/source` })).then(
    () => true,
    () => false,
  );

async function startVideo(client: ApiClient, title: string): Promise<string> {
  const start = await client.request('POST', '/api/v1/videos/upload', {
    title,
    visibility: 'private',
    fileName: 'clip.mp4',
    fileSize: 6 * 1024 * 1024,
    contentType: 'video/mp4',
  });
  expect(start.status, JSON.stringify(start.body)).toBe(201);
  return (start.body as { id: string }).id;
}

/** The owner index lags the table by a moment: retries `read` until `done` holds (or gives up). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe('the profile over HTTP', () => {
  it('is created on first read with the email from the token, and round-trips markup-looking text verbatim', async () => {
    const user = await ApiClient.signUp(platform, 'profile');

    const first = await user.request<Profile>('GET', '/api/v1/me');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ userId: subOf(user), email: user.email });
    expect(first.body.displayName).toBeUndefined();

    const name = `<img src=x onerror="alert('x')"> & Ünï 🎬`;
    const avatar = 'https://cdn.example.com/avatars/a.png?size=64&x=<b>';
    const patched = await user.request<Profile>('PATCH', '/api/v1/me', { displayName: name, avatarUrl: avatar });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ displayName: name, avatarUrl: avatar, createdAt: first.body.createdAt });
    expect(patched.headers.get('content-type')).toMatch(/^application\/json/);

    const again = await user.request<Profile>('GET', '/api/v1/me');
    expect(again.body).toEqual(patched.body);

    const cleared = await user.request<Profile>('PATCH', '/api/v1/me', { avatarUrl: null });
    expect(cleared.body.displayName).toBe(name);
    expect(cleared.body).not.toHaveProperty('avatarUrl');

    const bad = await user.request('PATCH', '/api/v1/me', { avatarUrl: 'javascript:alert(1)' });
    expect(bad.status).toBe(400);
    const anonymous = await fetch(`${platform.apiUrl}/api/v1/me`);
    expect(anonymous.status).toBe(401);
  });
});

describe('the account export over HTTP', () => {
  it("holds the caller's own videos in every status and their history, and nobody else's", async () => {
    const [user, other] = await Promise.all([ApiClient.signUp(platform, 'exporter'), ApiClient.signUp(platform, 'export-other')]);
    const mine = [await startVideo(user, 'Mine 1'), await startVideo(user, 'Mine 2')];
    const theirs = await startVideo(other, 'Theirs');
    await table.send(
      new PutCommand({ TableName: platform.tableName, Item: { pk: `USER#${subOf(user)}`, sk: `VIEW#2025-01-02T03:04:05.000Z#${theirs}`, entity: 'view' } }),
    );

    const exported = await eventually(
      () => user.request<AccountExport>('GET', '/api/v1/me/export'),
      (r) => r.body.videos?.length === 2,
    );

    expect(exported.status, JSON.stringify(exported.body)).toBe(200);
    expect(exported.body.profile).toMatchObject({ userId: subOf(user), email: user.email });
    expect(exported.body.videos.map((v) => v.id).sort()).toEqual([...mine].sort());
    expect(exported.body.videos[0]).toMatchObject({ status: 'pending_upload', visibility: 'private' });
    expect(exported.body.views).toEqual([{ videoId: theirs, at: '2025-01-02T03:04:05.000Z' }]);
    const theirsExport = await eventually(
      () => other.request<AccountExport>('GET', '/api/v1/me/export'),
      (r) => r.body.videos?.length === 1,
    );
    expect(theirsExport.body.videos.map((v) => v.id)).toEqual([theirs]);
    expect(theirsExport.body.views).toEqual([]);
  });
});

describe('deleting the account over HTTP', () => {
  let user: ApiClient;
  let other: ApiClient;
  let readyId: string;

  beforeAll(async () => {
    [user, other] = await Promise.all([ApiClient.signUp(platform, 'leaver'), ApiClient.signUp(platform, 'stayer')]);
    const clip = join(dir, 'clip-144p.mp4');
    await makeClip(clip, { width: 256, height: 144, seconds: 3 });
    readyId = await uploadFile(user, clip, { title: 'Ready clip', visibility: 'public' });
    const outcome = await waitForOutcome(user, readyId, 180_000);
    expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
  }, 240_000);

  it('lets the owner choose a published candidate as the poster, which the stream route then hands out', async () => {
    const before = await user.request('GET', `/api/v1/videos/${readyId}`);
    const pendingId = await startVideo(user, 'No thumbnails yet');

    const chosen = await user.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { candidate: 1 }, version: before.body.version });
    const notReady = await user.request('PATCH', `/api/v1/videos/${pendingId}`, { poster: { candidate: 0 } });
    const outOfRange = await user.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { candidate: 3 } });
    const theirs = await other.request('PATCH', `/api/v1/videos/${readyId}`, { poster: { candidate: 0 } });

    expect(chosen.status, JSON.stringify(chosen.body)).toBe(200);
    expect(chosen.body.version).toBe(before.body.version + 1);
    expect(notReady.status).toBe(409);
    expect(outOfRange.status).toBe(400);
    expect(theirs.status).toBe(404);
    const stream = await other.request('GET', `/api/v1/videos/${readyId}/stream`);
    expect(stream.status, JSON.stringify(stream.body)).toBe(200);
    // The second of the candidates the run published (their file names are the pipeline's).
    const { Item } = await table.send(new GetCommand({ TableName: platform.tableName, Key: { pk: `VIDEO#${readyId}`, sk: 'VIDEO' } }));
    const candidates = Item!['media'].candidates as string[];
    expect(candidates).toHaveLength(3);
    expect(Item!['media'].poster).toBe(candidates[1]);
    expect(stream.body.poster).toContain(`/${candidates[1]!.split('/').slice(2).join('/')}`);
    const image = await fetch(stream.body.poster);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toMatch(/^image\/jpeg/);
  });

  it('leaves no item, object, history row or user behind, and nothing of anyone else is touched', async () => {
    const userId = subOf(user);
    const pendingId = await startVideo(user, 'Never finished');
    const othersId = await startVideo(other, 'Not theirs to delete');
    expect((await user.request('PATCH', '/api/v1/me', { displayName: 'Leaving soon' })).status).toBe(200);
    expect((await other.request('GET', '/api/v1/me')).status).toBe(200);
    await table.send(
      new PutCommand({ TableName: platform.tableName, Item: { pk: `USER#${userId}`, sk: `VIEW#2025-01-02T03:04:05.000Z#${readyId}`, entity: 'view' } }),
    );
    await table.send(
      new PutCommand({ TableName: platform.tableName, Item: { pk: `VIDEO#${readyId}`, sk: `COVIEW#${othersId}`, entity: 'co-view', count: 1 } }),
    );
    expect((await mediaKeys(readyId)).length).toBeGreaterThan(0);
    expect(await rawExists(readyId)).toBe(true);
    expect((await partition(`USER#${userId}`)).length).toBe(2);
    const indexed = await eventually(
      () => ownerIndex(userId),
      (items) => [readyId, pendingId].every((id) => items.some((item) => item['id'] === id)),
    );
    expect(indexed.length).toBeGreaterThanOrEqual(2);

    const deleted = await user.request('DELETE', '/api/v1/me');

    expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
    expect(await partition(`USER#${userId}`)).toEqual([]);
    for (const id of [readyId, pendingId]) {
      expect(await partition(`VIDEO#${id}`), id).toEqual([]);
      expect(await mediaKeys(id), id).toEqual([]);
      expect(await rawExists(id), id).toBe(false);
    }
    expect(await eventually(() => ownerIndex(userId), (items) => items.length === 0)).toEqual([]);
    expect(await userExists(userId)).toBe(false);
    await expect(signIn(platform, user.email, PASSWORD)).rejects.toThrow();
    expect((await other.request('GET', `/api/v1/videos/${readyId}`)).status).toBe(404);
    // A retry (the token stays valid until it expires) finds nothing left and answers the same.
    expect((await user.request('DELETE', '/api/v1/me')).status).toBe(204);
    expect(await partition(`USER#${userId}`)).toEqual([]);

    // The other user keeps everything.
    expect((await other.request('GET', `/api/v1/videos/${othersId}`)).status).toBe(200);
    expect((await partition(`USER#${subOf(other)}`)).length).toBe(1);
    expect(await userExists(subOf(other))).toBe(true);
    await expect(signIn(platform, other.email, PASSWORD)).resolves.toHaveProperty('idToken');
  });
});
