import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UploadSession, VideoStatusView } from '#contracts/api';
import { ApiError } from '../../web/src/api/client.ts';
import { MultipartUpload, type UploadSnapshot } from '../../web/src/upload/multipart.ts';
import { metadataOf, parseTags, titleFromFileName } from '../../web/src/upload/metadata.ts';
import { RateMeter } from '../../web/src/upload/rate.ts';

/**
 * The browser's multipart uploader, with XMLHttpRequest, `window` and `navigator` faked: what it
 * sends, what it keeps across pause and resume, and how it waits out a lost connection.
 */

const PART = 5;

/** An XHR whose answer each test decides (`FakeXhr.answer`), a microtask after `send`. */
class FakeXhr {
  static sent: FakeXhr[] = [];
  static answer: (xhr: FakeXhr) => 'hold' | { status: number; etag?: string; body?: string } | 'network-error' = (xhr) => ({ status: 200, etag: `"etag-${xhr.partNumber}"` });
  url = '';
  body: Blob | undefined;
  status = 0;
  responseText = '';
  aborted = false;
  private etag: string | undefined;
  upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  ontimeout: (() => void) | null = null;

  get partNumber(): number {
    return Number(new URL(this.url).searchParams.get('partNumber'));
  }

  open(_method: string, url: string) {
    this.url = url;
  }

  send(body: Blob) {
    this.body = body;
    FakeXhr.sent.push(this);
    queueMicrotask(() => {
      if (this.aborted) return;
      const answer = FakeXhr.answer(this);
      if (answer === 'hold') return;
      if (answer === 'network-error') return this.onerror?.();
      this.upload.onprogress?.({ loaded: body.size });
      this.status = answer.status;
      this.etag = answer.etag;
      this.responseText = answer.body ?? '';
      this.onload?.();
    });
  }

  abort() {
    this.aborted = true;
    this.onabort?.();
  }

  getResponseHeader(name: string) {
    return name.toLowerCase() === 'etag' ? (this.etag ?? null) : null;
  }
}

const network = { onLine: true };

function session(fileSize: number, stored: number[] = [], expiresInMs = 3_600_000, urlTag = 'a'): UploadSession {
  const partCount = Math.ceil(fileSize / PART);
  const sizeOf = (n: number) => (n === partCount ? fileSize - PART * (n - 1) : PART);
  return {
    id: 'AAAAAAAAAAA',
    status: 'pending_upload',
    uploadId: 'u1',
    fileSize,
    partSize: PART,
    partCount,
    uploadedParts: stored.map((n) => ({ partNumber: n, etag: `"stored-${n}"`, size: sizeOf(n) })),
    parts: Array.from({ length: partCount }, (_, i) => i + 1)
      .filter((n) => !stored.includes(n))
      .map((n) => ({ partNumber: n, size: sizeOf(n), url: `https://storage.test/raw?partNumber=${n}&tag=${urlTag}` })),
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  };
}

function fakeApi(fileSize: number) {
  const done: VideoStatusView = { id: 'AAAAAAAAAAA', status: 'uploaded', progress: 0 };
  return {
    startUpload: vi.fn(async () => session(fileSize)),
    getUpload: vi.fn(async () => session(fileSize, [], 3_600_000, 'fresh')),
    completeUpload: vi.fn(async (_id: string, _parts: readonly { partNumber: number; etag: string }[]) => done),
    abortUpload: vi.fn(async () => ({})),
  };
}

const file = (size: number) => new Blob([new Uint8Array(size).fill(1)]);
const metadata = { title: 'Clip', visibility: 'private' as const, fileName: 'clip.mp4', contentType: 'video/mp4' };
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeEach(() => {
  FakeXhr.sent = [];
  FakeXhr.answer = (xhr) => ({ status: 200, etag: `"etag-${xhr.partNumber}"` });
  network.onLine = true;
  vi.stubGlobal('XMLHttpRequest', FakeXhr);
  vi.stubGlobal('window', new EventTarget());
  vi.stubGlobal('navigator', network);
});

afterEach(() => vi.unstubAllGlobals());

describe('MultipartUpload', () => {
  it('sends each part with its exact bytes, at most four at once, and completes with the ETags in order', async () => {
    const api = fakeApi(23);
    let inFlight = 0;
    let most = 0;
    FakeXhr.answer = () => {
      most = Math.max(most, ++inFlight);
      return 'hold';
    };
    const snapshots: UploadSnapshot[] = [];
    const upload = new MultipartUpload({ api, file: file(23), metadata, onChange: (s) => snapshots.push(s) });
    const finished = upload.start();
    await settle();
    expect(most).toBe(4);
    // Answer them one by one; the fifth goes out as a slot frees.
    for (let i = 0; i < 5; i++) {
      await vi.waitFor(() => expect(FakeXhr.sent.length).toBeGreaterThan(i));
      const xhr = FakeXhr.sent[i]!;
      inFlight--;
      xhr.status = 200;
      (xhr as unknown as { etag: string }).etag = `"etag-${xhr.partNumber}"`;
      xhr.onload?.();
    }
    await finished;
    expect(FakeXhr.sent.map((x) => [x.partNumber, x.body?.size])).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 3]]);
    expect(api.completeUpload).toHaveBeenCalledWith('AAAAAAAAAAA', [1, 2, 3, 4, 5].map((n) => ({ partNumber: n, etag: `"etag-${n}"` })));
    expect(snapshots.at(-1)).toMatchObject({ phase: 'done', uploadedBytes: 23, partsDone: 5 });
  });

  it('keeps stored parts across pause and resume, and sends only the missing ones', async () => {
    const api = fakeApi(20);
    FakeXhr.answer = (xhr) => (xhr.partNumber <= 2 ? { status: 200, etag: `"etag-${xhr.partNumber}"` } : 'hold');
    const phases: string[] = [];
    const upload = new MultipartUpload({ api, file: file(20), metadata, onChange: (s) => phases.push(s.phase) });
    const finished = upload.start();
    await vi.waitFor(() => expect(upload.snapshot().partsDone).toBe(2));
    upload.pause();
    expect(upload.snapshot().phase).toBe('paused');
    expect(FakeXhr.sent.filter((x) => x.aborted).map((x) => x.partNumber).sort()).toEqual([3, 4]);

    FakeXhr.answer = (xhr) => ({ status: 200, etag: `"etag-${xhr.partNumber}"` });
    const before = FakeXhr.sent.length;
    upload.resume();
    await finished;
    expect(FakeXhr.sent.slice(before).map((x) => x.partNumber).sort()).toEqual([3, 4]);
    expect(api.getUpload).not.toHaveBeenCalled();
    expect(upload.snapshot().phase).toBe('done');
  });

  it('waits while the browser is offline, however long, and goes on when it is back online', async () => {
    const api = fakeApi(10);
    FakeXhr.answer = () => 'hold';
    const upload = new MultipartUpload({ api, file: file(10), metadata, onChange: () => undefined });
    const finished = upload.start();
    await vi.waitFor(() => expect(FakeXhr.sent).toHaveLength(2));

    network.onLine = false;
    window.dispatchEvent(new Event('offline'));
    await settle();
    expect(FakeXhr.sent.every((x) => x.aborted)).toBe(true);
    expect(upload.snapshot()).toMatchObject({ phase: 'reconnecting', offline: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(FakeXhr.sent).toHaveLength(2); // nothing sent while offline

    FakeXhr.answer = (xhr) => ({ status: 200, etag: `"etag-${xhr.partNumber}"` });
    network.onLine = true;
    window.dispatchEvent(new Event('online'));
    await finished;
    expect(upload.snapshot().phase).toBe('done');
    expect(FakeXhr.sent).toHaveLength(4);
  });

  it('resumes by id from the parts storage already holds', async () => {
    const api = fakeApi(15);
    api.getUpload.mockResolvedValue(session(15, [1, 3]));
    const upload = new MultipartUpload({ api, file: file(15), videoId: 'AAAAAAAAAAA', onChange: () => undefined });
    await upload.start();
    expect(api.startUpload).not.toHaveBeenCalled();
    expect(FakeXhr.sent.map((x) => x.partNumber)).toEqual([2]);
    expect(api.completeUpload.mock.calls[0]![1]).toEqual([
      { partNumber: 1, etag: '"stored-1"' },
      { partNumber: 2, etag: '"etag-2"' },
      { partNumber: 3, etag: '"stored-3"' },
    ]);
  });

  it('refuses to resume with a file of another size', async () => {
    const api = fakeApi(15);
    const upload = new MultipartUpload({ api, file: file(14), videoId: 'AAAAAAAAAAA', onChange: () => undefined });
    await upload.start();
    expect(upload.snapshot()).toMatchObject({ phase: 'failed', error: expect.stringContaining('Choose the same file') });
    expect(FakeXhr.sent).toHaveLength(0);
  });

  it('asks for fresh URLs when storage says the signature expired, and retries with them', async () => {
    const api = fakeApi(5);
    FakeXhr.answer = (xhr) =>
      xhr.url.includes('tag=a')
        ? { status: 403, body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' }
        : { status: 200, etag: '"fresh"' };
    const upload = new MultipartUpload({ api, file: file(5), metadata, onChange: () => undefined });
    await upload.start();
    expect(api.getUpload).toHaveBeenCalledTimes(1);
    expect(FakeXhr.sent.map((x) => new URL(x.url).searchParams.get('tag'))).toEqual(['a', 'fresh']);
    expect(upload.snapshot().phase).toBe('done');
  });

  it('fails with a clear reason when the ETag is hidden by CORS or storage refuses the part', async () => {
    FakeXhr.answer = () => ({ status: 200 });
    const hidden = new MultipartUpload({ api: fakeApi(5), file: file(5), metadata, onChange: () => undefined });
    await hidden.start();
    expect(hidden.snapshot()).toMatchObject({ phase: 'failed', error: expect.stringContaining('must expose ETag') });

    FakeXhr.answer = () => ({ status: 400, body: '<Error><Code>BadDigest</Code><Message>The Content-MD5 you specified did not match</Message></Error>' });
    const refused = new MultipartUpload({ api: fakeApi(5), file: file(5), metadata, onChange: () => undefined });
    await refused.start();
    expect(refused.snapshot().error).toBe('Storage refused part 1 (400 BadDigest: The Content-MD5 you specified did not match).');
  });

  it('fails at once, saying when to try again, when the hourly upload limit is reached', async () => {
    const api = fakeApi(5);
    api.startUpload.mockRejectedValue(new ApiError(429, 'RateLimitedError', 'you can start 5 uploads per hour', [], 1800));
    const upload = new MultipartUpload({ api, file: file(5), metadata, onChange: () => undefined });
    await upload.start();
    expect(api.startUpload).toHaveBeenCalledTimes(1);
    expect(upload.snapshot()).toMatchObject({ phase: 'failed', error: 'You can start 5 uploads per hour. Try again in about 30 minutes.' });
  });

  it('cancels: stops sending and lets storage drop the parts', async () => {
    const api = fakeApi(10);
    FakeXhr.answer = () => 'hold';
    const upload = new MultipartUpload({ api, file: file(10), metadata, onChange: () => undefined });
    void upload.start();
    await vi.waitFor(() => expect(FakeXhr.sent).toHaveLength(2));
    await upload.cancel();
    expect(upload.snapshot().phase).toBe('cancelled');
    expect(api.abortUpload).toHaveBeenCalledWith('AAAAAAAAAAA');
    expect(api.completeUpload).not.toHaveBeenCalled();
  });
});

describe('upload metadata', () => {
  const video = (name: string, type = '') => new File([new Uint8Array(3)], name, { type });

  it('titles a file by its name without the extension, and splits tags on commas', () => {
    expect(titleFromFileName('holiday.final.mp4')).toBe('holiday.final');
    expect(parseTags(' travel, cooking,,travel ,  ')).toEqual(['travel', 'cooking']);
  });

  it('builds the start request, taking the media type from the extension when the browser gives none', () => {
    const result = metadataOf(video('clip.mkv'), { title: 'Clip', description: '', tags: 'a, b', visibility: 'unlisted' });
    expect(result).toEqual({ metadata: { title: 'Clip', tags: ['a', 'b'], visibility: 'unlisted', fileName: 'clip.mkv', contentType: 'video/x-matroska' } });
  });

  it('explains what is wrong in sentences', () => {
    expect(metadataOf(video('notes.txt', 'text/plain'), { title: 'x', description: '', tags: '', visibility: 'public' })).toEqual({
      problems: ['notes.txt does not look like a video file.'],
    });
    expect(metadataOf(video('a.mp4', 'video/mp4'), { title: '  ', description: '', tags: '', visibility: 'public' })).toEqual({
      problems: ['Title must not be empty.'],
    });
  });
});

describe('RateMeter', () => {
  it('measures speed over the last seconds and the time left at that speed', () => {
    const meter = new RateMeter(5000);
    meter.sample(0, 0);
    meter.sample(1_000_000, 1000);
    meter.sample(2_000_000, 2000);
    expect(meter.rate(4_000_000, 2000)).toEqual({ bytesPerSecond: 1_000_000, secondsLeft: 4 });
    // Old samples leave the window: a slowdown shows.
    meter.sample(2_500_000, 8000);
    meter.sample(2_600_000, 9000);
    expect(meter.rate(1_000_000, 9000).bytesPerSecond).toBeLessThan(200_000);
  });
});
