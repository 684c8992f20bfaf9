import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiClient } from '../support/api.ts';
import { localS3 } from '../support/clients.ts';

const platform = inject('platform');
const MiB = 1024 * 1024;

const s3 = localS3(platform);

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

function startBody(file: Uint8Array, overrides: Record<string, unknown> = {}) {
  return {
    title: 'Sunset over the bay',
    description: 'Filmed from the pier.',
    tags: ['sunset', 'bay'],
    visibility: 'private',
    fileName: 'sunset.mov',
    fileSize: file.length,
    contentType: 'video/quicktime',
    ...overrides,
  };
}

async function putPart(url: string, bytes: Uint8Array<ArrayBuffer>) {
  const response = await fetch(url, { method: 'PUT', body: bytes });
  return { status: response.status, etag: response.headers.get('etag') ?? '' };
}

describe('resumable upload over HTTP', () => {
  let creator: ApiClient;
  let other: ApiClient;
  beforeAll(async () => {
    [creator, other] = await Promise.all([ApiClient.signUp(platform, 'creator'), ApiClient.signUp(platform, 'other')]);
  });

  it('uploads a 20 MiB file in 4 parts, resumes after 2, and stores it byte for byte', async () => {
    const file = randomBytes(20 * MiB);
    const start = await creator.request('POST', '/api/v1/videos/upload', startBody(file));
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    expect(start.body).toMatchObject({ status: 'pending_upload', partSize: 5 * MiB, partCount: 4 });
    expect(start.body.parts).toHaveLength(4);
    const id: string = start.body.id;

    const etags = new Map<number, string>();
    for (const part of start.body.parts.slice(0, 2)) {
      const from = (part.partNumber - 1) * 5 * MiB;
      const put = await putPart(part.url, file.subarray(from, from + part.size));
      expect(put.status).toBe(200);
      etags.set(part.partNumber, put.etag);
    }

    // The connection "drops": the client comes back knowing only the video id.
    const resume = await creator.request('GET', `/api/v1/videos/${id}/upload`);
    expect(resume.status).toBe(200);
    expect(resume.body.uploadedParts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1, 2]);
    expect(resume.body.uploadedParts.map((p: { etag: string }) => p.etag)).toEqual([etags.get(1), etags.get(2)]);
    expect(resume.body.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([3, 4]);
    for (const part of resume.body.parts) {
      const from = (part.partNumber - 1) * 5 * MiB;
      const put = await putPart(part.url, file.subarray(from, from + part.size));
      expect(put.status).toBe(200);
      etags.set(part.partNumber, put.etag);
    }

    const parts = [...etags].map(([partNumber, etag]) => ({ partNumber, etag }));
    const complete = await creator.request('POST', `/api/v1/videos/${id}/upload/complete`, { parts });
    expect(complete.status, JSON.stringify(complete.body)).toBe(200);
    expect(complete.body).toMatchObject({ id, status: 'uploaded' });

    const again = await creator.request('POST', `/api/v1/videos/${id}/upload/complete`, { parts });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(complete.body);

    const stored = await s3.send(new GetObjectCommand({ Bucket: platform.rawBucket, Key: `uploads/${id}/source` }));
    const bytes = await stored.Body!.transformToByteArray();
    expect(bytes.length).toBe(file.length);
    expect(sha256(bytes)).toBe(sha256(file));

    // The workflow starts at once; random bytes are no video, so it may already be past `uploaded`.
    const status = await creator.request('GET', `/api/v1/videos/${id}/status`);
    expect(status.status).toBe(200);
    expect(['uploaded', 'processing', 'failed']).toContain(status.body.status);
    const video = await creator.request('GET', `/api/v1/videos/${id}`);
    expect(video.body).toMatchObject({ id, title: 'Sunset over the bay', fileName: 'sunset.mov' });
  });

  it("answers 404 on every route for another user's video, and changes nothing", async () => {
    const file = randomBytes(6 * MiB);
    const start = await creator.request('POST', '/api/v1/videos/upload', startBody(file));
    expect(start.status).toBe(201);
    const id: string = start.body.id;
    const first = start.body.parts[0];
    const put = await putPart(first.url, file.subarray(0, first.size));

    const attempts = [
      other.request('GET', `/api/v1/videos/${id}/upload`),
      other.request('POST', `/api/v1/videos/${id}/upload/complete`, { parts: [{ partNumber: 1, etag: put.etag }] }),
      other.request('DELETE', `/api/v1/videos/${id}/upload`),
      other.request('GET', `/api/v1/videos/${id}/status`),
      other.request('GET', `/api/v1/videos/${id}`),
    ];
    const missing = await other.request('GET', '/api/v1/videos/AAAAAAAAAAA');
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(404);
      // The same answer as for a video that does not exist: no hint that this one does.
      expect(response.body.error.code).toBe(missing.body.error.code);
      expect(JSON.stringify(response.body)).not.toContain(start.body.uploadId);
    }
    const after = await creator.request('GET', `/api/v1/videos/${id}/upload`);
    expect(after.body).toMatchObject({ status: 'pending_upload' });
    expect(after.body.uploadedParts).toHaveLength(1);
  });

  it('refuses a part larger than its URL was signed for, and keeps nothing of it', async () => {
    const file = randomBytes(12 * MiB);
    const start = await creator.request('POST', '/api/v1/videos/upload', startBody(file));
    expect(start.status).toBe(201);
    const part = start.body.parts[0];
    const oversize = await fetch(part.url, { method: 'PUT', body: randomBytes(part.size + 1) });
    expect(oversize.status).toBe(403);
    const resume = await creator.request('GET', `/api/v1/videos/${start.body.id}/upload`);
    expect(resume.body.uploadedParts).toEqual([]);
  });

  it('aborts an upload: parts are dropped and the video is marked aborted', async () => {
    const file = randomBytes(6 * MiB);
    const start = await creator.request('POST', '/api/v1/videos/upload', startBody(file));
    const id: string = start.body.id;
    await putPart(start.body.parts[0].url, file.subarray(0, start.body.parts[0].size));
    const abort = await creator.request('DELETE', `/api/v1/videos/${id}/upload`);
    expect(abort).toMatchObject({ status: 200, body: { status: 'aborted' } });
    const resume = await creator.request('GET', `/api/v1/videos/${id}/upload`);
    expect(resume.status).toBe(409);
    const late = await fetch(start.body.parts[1].url, { method: 'PUT', body: file.subarray(start.body.parts[0].size) });
    expect(late.status).toBe(404);
  });

  it('lets one user start exactly 5 uploads an hour, even when 20 race', async () => {
    const racer = await ApiClient.signUp(platform, 'racer');
    const file = randomBytes(1);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => racer.request('POST', '/api/v1/videos/upload', startBody(file))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    for (const limited of responses.filter((r) => r.status === 429)) {
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(3500);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect(limited.body.error.message).toMatch(/5 uploads per hour/);
    }
    // Another user is not affected by this one's limit.
    const bystander = await ApiClient.signUp(platform, 'bystander');
    expect((await bystander.request('POST', '/api/v1/videos/upload', startBody(file))).status).toBe(201);
  });

  it('rejects requests without a valid token', async () => {
    // Routes that need a user: no token or a forged one → 401 from the gateway, as the authorizer does.
    const anonymous = await fetch(`${platform.apiUrl}/api/v1/videos/AAAAAAAAAAA/status`);
    expect(anonymous.status).toBe(401);
    const forged = new ApiClient(platform.apiUrl, `${creator.idToken.slice(0, -4)}AAAA`, 'x');
    expect((await forged.request('GET', '/api/v1/videos/AAAAAAAAAAA/status')).status).toBe(401);
    // Optional-auth routes: anonymous is allowed (a missing video is 404), a forged token is still 401.
    expect((await fetch(`${platform.apiUrl}/api/v1/videos/AAAAAAAAAAA`)).status).toBe(404);
    expect((await forged.request('GET', '/api/v1/videos/AAAAAAAAAAA')).status).toBe(401);
  });
});
