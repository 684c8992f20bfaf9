import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiClient } from '../support/api.ts';

const platform = inject('platform');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const valid = {
  title: 'A clip',
  visibility: 'public',
  fileName: 'clip.mp4',
  fileSize: 6 * MiB,
  contentType: 'video/mp4',
};

type Case = { name: string; method: string; path: (id: string) => string; body?: unknown; expect: number; message: RegExp };

const start = (body: unknown, expectStatus: number, message: RegExp, name: string): Case => ({
  name,
  method: 'POST',
  path: () => '/api/v1/videos/upload',
  body,
  expect: expectStatus,
  message,
});

const cases: Case[] = [
  start('{"title": "x",', 400, /not valid JSON/, 'truncated JSON'),
  start('not json at all', 400, /not valid JSON/, 'plain text body'),
  start('', 400, /needs a JSON body/, 'empty body'),
  start('[]', 400, /body/, 'a JSON array'),
  start('null', 400, /body/, 'JSON null'),
  start({ ...valid, title: undefined }, 400, /title: is required/, 'missing title'),
  start({ ...valid, title: '' }, 400, /title must not be empty/, 'empty title'),
  start({ ...valid, title: '   ' }, 400, /title must not be empty/, 'blank title'),
  start({ ...valid, title: 'x'.repeat(201) }, 400, /at most 200/, 'title over 200 characters'),
  start({ ...valid, title: 42 }, 400, /title: must be string/, 'numeric title'),
  start({ ...valid, description: 'd'.repeat(5001) }, 400, /at most 5,000/, 'description over 5,000'),
  start({ ...valid, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 400, /at most 20 tags/, '21 tags'),
  start({ ...valid, tags: ['x'.repeat(51)] }, 400, /at most 50 characters/, 'a 51-character tag'),
  start({ ...valid, tags: 'sunset' }, 400, /tags: must be array/, 'tags as a string'),
  start({ ...valid, visibility: 'friends' }, 400, /visibility/, 'unknown visibility'),
  start({ ...valid, visibility: undefined }, 400, /visibility: is required/, 'missing visibility'),
  start({ ...valid, contentType: 'image/png' }, 400, /video\/\* media type/, 'non-video content type'),
  start({ ...valid, contentType: 'video/' }, 400, /video\/\* media type/, 'incomplete content type'),
  start({ ...valid, fileSize: 0 }, 400, /fileSize must be positive/, 'zero size'),
  start({ ...valid, fileSize: -5 }, 400, /fileSize must be positive/, 'negative size'),
  start({ ...valid, fileSize: 1.5 }, 400, /whole number/, 'fractional size'),
  start({ ...valid, fileSize: '100' }, 400, /fileSize: must be number/, 'size as a string'),
  start({ ...valid, fileSize: 20 * GiB + 1 }, 413, /exceeds the upload limit of 20 GiB/, 'over 20 GiB'),
  start({ ...valid, fileName: '' }, 400, /fileName must not be empty/, 'empty file name'),
  start({ ...valid, fileName: 'f'.repeat(256) }, 400, /at most 255/, 'file name over 255'),
  start({ ...valid, ownerId: 'someone-else' }, 400, /remove unknown field "ownerId"/, 'extra field ownerId'),
  start({ ...valid, status: 'ready' }, 400, /remove unknown field "status"/, 'extra field status'),
  {
    name: 'a bad video id',
    method: 'GET',
    path: () => '/api/v1/videos/..%2F..%2Fetc/status',
    expect: 400,
    message: /video id must be 11 characters/,
  },
  { name: 'a too-short id', method: 'GET', path: () => '/api/v1/videos/abc', expect: 400, message: /video id/ },
  { name: 'an id with a quote', method: 'GET', path: () => "/api/v1/videos/abc'def-ghi/upload", expect: 400, message: /video id/ },
  { name: 'complete without body', method: 'POST', path: (id) => `/api/v1/videos/${id}/upload/complete`, expect: 400, message: /JSON body/ },
  { name: 'complete with empty parts', method: 'POST', path: (id) => `/api/v1/videos/${id}/upload/complete`, body: { parts: [] }, expect: 400, message: /list every uploaded part/ },
  { name: 'complete with part 0', method: 'POST', path: (id) => `/api/v1/videos/${id}/upload/complete`, body: { parts: [{ partNumber: 0, etag: '"x"' }] }, expect: 400, message: /parts\.0\.partNumber/ },
  { name: 'complete with a missing part', method: 'POST', path: (id) => `/api/v1/videos/${id}/upload/complete`, body: { parts: [{ partNumber: 1, etag: '"x"' }] }, expect: 400, message: /missing 2/ },
  { name: 'complete with a wrong etag', method: 'POST', path: (id) => `/api/v1/videos/${id}/upload/complete`, body: { parts: [{ partNumber: 1, etag: '"x"' }, { partNumber: 2, etag: '"y"' }] }, expect: 400, message: /not uploaded yet/ },
  { name: 'complete with duplicated parts', method: 'POST', path: (id) => `/api/v1/videos/${id}/upload/complete`, body: { parts: [{ partNumber: 1, etag: '"x"' }, { partNumber: 1, etag: '"x"' }] }, expect: 400, message: /more than once/ },
  { name: 'complete with etag as number', method: 'POST', path: (id) => `/api/v1/videos/${id}/upload/complete`, body: { parts: [{ partNumber: 1, etag: 5 }] }, expect: 400, message: /etag: must be string/ },
  { name: 'unknown route', method: 'GET', path: () => '/api/v1/nothing-here', expect: 404, message: /./ },
  { name: 'wrong method', method: 'PUT', path: (id) => `/api/v1/videos/${id}`, expect: 405, message: /not allowed/ },
  { name: 'xml content type', method: 'POST', path: () => '/api/v1/videos/upload', body: JSON.stringify(valid), expect: 400, message: /application\/json/ },
];

describe('malformed requests', () => {
  let user: ApiClient;
  let id: string;
  let before: unknown;
  beforeAll(async () => {
    user = await ApiClient.signUp(platform, 'fuzz');
    const created = await user.request('POST', '/api/v1/videos/upload', { ...valid, fileSize: 7 * MiB });
    expect(created.status).toBe(201);
    id = created.body.id;
    before = (await user.request('GET', `/api/v1/videos/${id}/upload`)).body;
  });

  it('covers at least 25 cases', () => expect(cases.length).toBeGreaterThanOrEqual(25));

  it.each(cases)('answers $expect with a message for $name', async (c) => {
    const headers = c.name === 'xml content type' ? { 'content-type': 'application/xml' } : undefined;
    const response =
      c.body === undefined
        ? await user.request(c.method, c.path(id), undefined, headers ? { headers } : {})
        : await user.request(c.method, c.path(id), c.body, headers ? { headers } : {});
    expect(response.status, JSON.stringify(response.body)).toBe(c.expect);
    const message: string = response.body?.error?.message ?? response.body?.message;
    expect(message).toMatch(c.message);
    expect(JSON.stringify(response.body)).not.toMatch(/at .*\.ts:\d+|Error: /);
  });

  it('leaves everything as it was: the video, its parts, and the rate limit', async () => {
    const after = await user.request('GET', `/api/v1/videos/${id}/upload`);
    expect(after.body.status).toBe('pending_upload');
    expect(after.body.uploadedParts).toEqual((before as { uploadedParts: unknown }).uploadedParts);
    const video = await user.request('GET', `/api/v1/videos/${id}`);
    expect(video.body.version).toBe(1);
    // One start was used in beforeAll; the rejected ones took no slot, so four remain.
    const file = randomBytes(1);
    const more = await Promise.all(
      Array.from({ length: 5 }, () => user.request('POST', '/api/v1/videos/upload', { ...valid, fileSize: file.length })),
    );
    expect(more.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 429]);
  });
});
