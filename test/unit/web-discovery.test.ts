import { afterEach, describe, expect, it, vi } from 'vitest';
import type { VideoCard } from '#contracts/api';
import { ApiClient, ApiError, describeError, isUnavailable } from '../../web/src/api/client.ts';
import { viewerSessionId, viewRecorder } from '../../web/src/api/views.ts';
import { candidateUrl, chipTags, resultsText, searchUrl, tagsOf } from '../../web/src/ui/discovery.ts';

/** The discovery pages' pure parts and the API client's new calls, with `fetch` faked. */

const card = (id: string, tags: string[]): VideoCard => ({
  id: id.padEnd(11, 'x'),
  ownerId: 'u1',
  title: id,
  description: '',
  tags,
  visibility: 'public',
  views: 0,
  createdAt: '2026-11-25T00:00:00.000Z',
});

describe('search URLs and tag chips', () => {
  it('reads ?tags= as distinct lower-case tags and writes q, tags and page_size back', () => {
    expect(tagsOf(new URLSearchParams('tags=Food,%20cats,,food'))).toEqual(['food', 'cats']);
    expect(tagsOf(new URLSearchParams('q=x'))).toEqual([]);
    expect(searchUrl('cat videos', ['food', 'pets'])).toBe('/search?q=cat+videos&tags=food%2Cpets');
    expect(searchUrl('', ['food'], '2')).toBe('/search?tags=food&page_size=2');
    expect(new URLSearchParams(searchUrl('a&b=<c>', []).slice('/search?'.length)).get('q')).toBe('a&b=<c>');
  });

  it('offers the active tags first, then the most common tags among the results', () => {
    const items = [card('a', ['food', 'Cats']), card('b', ['food']), card('c', ['travel', 'food']), card('d', ['cats'])];
    expect(chipTags(items, [])).toEqual(['food', 'cats', 'travel']);
    expect(chipTags(items, ['travel'])).toEqual(['travel', 'food', 'cats']);
    expect(chipTags([], ['x'])).toEqual(['x']);
    const many = Array.from({ length: 30 }, (_, i) => card(`v${i}`, [`t${String(i).padStart(2, '0')}`]));
    expect(chipTags(many, [])).toHaveLength(10);
  });

  it('says how many results are shown', () => {
    expect(resultsText(0, false)).toBe('No results.');
    expect(resultsText(1, false)).toBe('1 result.');
    expect(resultsText(12, true)).toBe('12 results so far.');
  });
});

describe('poster candidates', () => {
  it('are the signed poster URL with the file name replaced (candidate n ↔ candidate-(n+1).jpg)', () => {
    const poster = 'http://127.0.0.1:3000/v/abcdefghijk/1700000000.k1.00ff/thumbs/poster.jpg';
    expect(candidateUrl(poster, 0)).toBe('http://127.0.0.1:3000/v/abcdefghijk/1700000000.k1.00ff/thumbs/candidate-1.jpg');
    expect(candidateUrl(poster, 2)).toBe('http://127.0.0.1:3000/v/abcdefghijk/1700000000.k1.00ff/thumbs/candidate-3.jpg');
    expect(candidateUrl('https://cdn.example/videos/abcdefghijk/thumbs/poster.jpg?Expires=1&Signature=x', 1)).toBe(
      'https://cdn.example/videos/abcdefghijk/thumbs/candidate-2.jpg?Expires=1&Signature=x',
    );
  });
});

describe('the API client for discovery and accounts', () => {
  const calls: { url: string; method: string; body?: string; auth?: string }[] = [];
  const answer = { status: 200, body: {} as unknown };
  const fakeFetch = vi.fn(async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    calls.push({ url, method: init.method!, body: init.body as string | undefined, auth: headers['authorization'] });
    return new Response(answer.status === 204 ? null : JSON.stringify(answer.body), { status: answer.status, statusText: 'x' });
  });
  vi.stubGlobal('fetch', fakeFetch);
  afterEach(() => {
    calls.length = 0;
    answer.status = 200;
    answer.body = {};
  });
  const signedIn = new ApiClient({ idToken: async () => 'token-1' });
  const anonymous = new ApiClient({ idToken: async () => undefined });
  const page = { items: [card('a', ['food'])], nextCursor: 'c2' };

  it('searches with q, tags, page_size and cursor, and parses the card page', async () => {
    answer.body = page;
    const result = await anonymous.search({ q: 'marmalade', tags: ['food', 'cats'], pageSize: 2, cursor: 'abc=' });
    expect(result).toEqual(page);
    const url = new URL(calls[0]!.url, 'http://x');
    expect(url.pathname).toBe('/api/v1/search/videos');
    expect(Object.fromEntries(url.searchParams)).toEqual({ q: 'marmalade', tags: 'food,cats', page_size: '2', cursor: 'abc=' });
    expect(calls[0]!.auth).toBeUndefined();
  });

  it('calls the feeds, channel, views and account routes with the right method, path and token', async () => {
    answer.body = { items: [] };
    await signedIn.trending(5);
    await signedIn.recommendations();
    await anonymous.related('abcdefghijk', 4);
    await anonymous.channel('user/1', 'cur');
    answer.body = { counted: true, views: 3 };
    expect(await anonymous.recordView('abcdefghijk', 'session-0123456789ab')).toEqual({ counted: true, views: 3 });
    await signedIn.recordView('abcdefghijk');
    answer.body = { userId: 'u1', createdAt: 'x', updatedAt: 'x', displayName: 'Ann' };
    await signedIn.profile();
    await signedIn.updateProfile({ displayName: 'Ann', avatarUrl: null });
    answer.status = 204;
    await signedIn.deleteAccount();
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /api/v1/feed/trending?limit=5',
      'GET /api/v1/me/recommendations?limit=12',
      'GET /api/v1/videos/abcdefghijk/related?limit=4',
      'GET /api/v1/users/user%2F1/videos?limit=24&cursor=cur',
      'POST /api/v1/videos/abcdefghijk/views',
      'POST /api/v1/videos/abcdefghijk/views',
      'GET /api/v1/me',
      'PATCH /api/v1/me',
      'DELETE /api/v1/me',
    ]);
    expect(calls[4]!.body).toBe(JSON.stringify({ sessionId: 'session-0123456789ab' }));
    expect(calls[5]!.body).toBe('{}');
    expect(calls[7]!.body).toBe(JSON.stringify({ displayName: 'Ann', avatarUrl: null }));
    expect(calls.filter((c) => c.auth === 'Bearer token-1')).toHaveLength(6);
    await expect(anonymous.recommendations()).rejects.toMatchObject({ status: 401, code: 'NotSignedIn' });
  });

  it('hands the export over exactly as sent (nothing dropped), and refuses one that is not an export', async () => {
    const exported = {
      exportedAt: '2026-11-25T00:00:00.000Z',
      profile: { userId: 'u1', createdAt: 'x', updatedAt: 'x', extra: 'kept' },
      videos: [],
      views: [{ videoId: 'abcdefghijk', at: 'x' }],
      somethingNew: [1],
    };
    answer.body = exported;
    expect(await signedIn.exportAccount()).toEqual(exported);
    answer.body = { videos: 'no' };
    await expect(signedIn.exportAccount()).rejects.toMatchObject({ code: 'UnexpectedResponse' });
  });

  it('tells a route this server does not have yet (404 without the API error body) from a missing video', async () => {
    answer.status = 404;
    answer.body = { message: 'Missing Authentication Token' };
    const missingRoute = await anonymous.trending().catch((e: unknown) => e);
    expect(isUnavailable(missingRoute)).toBe(true);
    expect(describeError(missingRoute)).toBe('This part of vodstack is not available on this server yet.');
    answer.body = { error: { code: 'NotFound', message: 'video abcdefghijk not found' } };
    const missingVideo = await anonymous.related('abcdefghijk').catch((e: unknown) => e);
    expect(missingVideo).toBeInstanceOf(ApiError);
    expect(isUnavailable(missingVideo)).toBe(false);
  });
});

describe('view events', () => {
  it('are sent once per page visit however often playback starts, anonymously with the session id', async () => {
    const recordView = vi.fn(async () => ({ counted: true, views: 1 }));
    const api = { recordView } as unknown as ApiClient;
    const store = new Map<string, string>();
    vi.stubGlobal('localStorage', { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v) });
    const playing = viewRecorder(api, 'abcdefghijk', false);
    playing();
    playing();
    playing();
    expect(recordView).toHaveBeenCalledTimes(1);
    const session = store.get('vodstack.viewerSession');
    expect(session).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    expect(recordView).toHaveBeenCalledWith('abcdefghijk', session);
    expect(viewerSessionId()).toBe(session);
    viewRecorder(api, 'abcdefghijk', true)();
    expect(recordView).toHaveBeenLastCalledWith('abcdefghijk', undefined);
    // A failed view is dropped, never thrown at the player.
    recordView.mockRejectedValueOnce(new Error('offline'));
    expect(() => viewRecorder(api, 'abcdefghijk', false)()).not.toThrow();
    vi.unstubAllGlobals();
  });
});
