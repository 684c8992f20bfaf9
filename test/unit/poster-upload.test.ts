import { beforeEach, describe, expect, it } from 'vitest';
import { MediaLayout } from '#contracts/workflow';
import { ConflictError, NotFoundError, ValidationError } from '#domain/errors';
import { Library } from '#domain/library';
import type { PosterStore } from '#domain/ports';
import type { PublishedMedia, Video } from '#domain/video';
import { fakeLibrary, type FakeLibrary } from '../fakes/in-memory.ts';

const OWNER = 'user-alice';
const OTHER = 'user-mallory';
const ID = 'vid00000001';
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]);
const HTML = new TextEncoder().encode('<!doctype html><p>hi</p>');

/** Objects by key; `signPut` records what it signed so a test can "upload" to that key. */
class InMemoryPosterStore implements PosterStore {
  readonly objects = new Map<string, { size: number; bytes: Uint8Array }>();
  readonly signed: { key: string; contentType: string; size: number; ttlSeconds: number }[] = [];

  async signPut(key: string, contentType: string, size: number, ttlSeconds: number): Promise<string> {
    this.signed.push({ key, contentType, size, ttlSeconds });
    return `https://media.example/${key}?signed`;
  }

  async peek(key: string, bytes: number): Promise<{ size: number; head: Uint8Array } | undefined> {
    const object = this.objects.get(key);
    return object && { size: object.size, head: object.bytes.subarray(0, bytes) };
  }

  put(key: string, bytes: Uint8Array, size = bytes.length): void {
    this.objects.set(key, { size, bytes });
  }
}

let f: FakeLibrary;
let posters: InMemoryPosterStore;
let library: Library;

beforeEach(() => {
  f = fakeLibrary();
  posters = new InMemoryPosterStore();
  library = new Library({ videos: f.videos, uploads: f.store, media: f.media, workflow: f.workflow, posters });
});

const published = (id: string): PublishedMedia => ({
  durationSeconds: 12.5,
  width: 1280,
  height: 720,
  renditions: [{ name: '720p', width: 1280, height: 720, bandwidth: 2_500_000 }],
  hlsMaster: MediaLayout.hlsMaster(id),
  dashManifest: MediaLayout.dashManifest(id),
  poster: MediaLayout.poster(id),
  candidates: [MediaLayout.candidate(id, 1), MediaLayout.candidate(id, 2), MediaLayout.candidate(id, 3)],
  storyboard: MediaLayout.storyboard(id),
  storyboardVtt: MediaLayout.storyboardVtt(id),
});

function seed(overrides: Partial<Video> = {}): Video {
  const id = overrides.id ?? ID;
  const at = new Date(Date.UTC(2025, 0, 1)).toISOString();
  const video: Video = {
    id,
    ownerId: OWNER,
    title: 'Clip',
    description: '',
    tags: [],
    visibility: 'public',
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
    media: published(id),
    ...overrides,
  };
  f.videos.seed(video);
  return video;
}

async function rejection(attempt: Promise<unknown>): Promise<Error> {
  return attempt.then(
    () => expect.unreachable('the call should have been rejected'),
    (error: unknown) => error as Error,
  );
}

/** Starts an upload and stores `bytes` at the signed key, as the browser's PUT would. */
async function uploaded(bytes: Uint8Array, contentType: 'image/png' | 'image/jpeg' = 'image/png', size = bytes.length): Promise<string> {
  const { key } = await library.startPosterUpload(OWNER, ID, { contentType, size: Math.min(size, 2 * 1024 * 1024) });
  posters.put(key, bytes, size);
  return key;
}

describe('Library.startPosterUpload', () => {
  it("signs a 15-minute PUT of the exact type and size under the video's thumbs/custom- prefix", async () => {
    seed();
    const png = await library.startPosterUpload(OWNER, ID, { contentType: 'image/png', size: 1234 });
    const jpeg = await library.startPosterUpload(OWNER, ID, { contentType: 'image/jpeg', size: 99 });

    expect(png.key).toMatch(new RegExp(`^videos/${ID}/thumbs/custom-[A-Za-z0-9_-]+\\.png$`));
    expect(jpeg.key).toMatch(new RegExp(`^videos/${ID}/thumbs/custom-[A-Za-z0-9_-]+\\.jpg$`));
    expect(png.key).not.toBe(jpeg.key);
    expect(posters.signed).toEqual([
      { key: png.key, contentType: 'image/png', size: 1234, ttlSeconds: 900 },
      { key: jpeg.key, contentType: 'image/jpeg', size: 99, ttlSeconds: 900 },
    ]);
    expect(png.url).toContain(png.key);
    const ttl = Date.parse(png.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
  });

  it("answers NotFoundError for another user's video and signs nothing", async () => {
    seed();
    expect(await rejection(library.startPosterUpload(OTHER, ID, { contentType: 'image/png', size: 10 }))).toBeInstanceOf(NotFoundError);
    expect(posters.signed).toEqual([]);
  });

  it('answers ConflictError for a video that is not ready yet', async () => {
    seed({ status: 'processing', media: undefined });
    const error = await rejection(library.startPosterUpload(OWNER, ID, { contentType: 'image/png', size: 10 }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('ready');
    expect(posters.signed).toEqual([]);
  });

  it('refuses a size over 2 MiB, an empty file and a type other than JPEG or PNG', async () => {
    seed();
    for (const request of [
      { contentType: 'image/png', size: 2 * 1024 * 1024 + 1 },
      { contentType: 'image/png', size: 0 },
      { contentType: 'image/gif', size: 10 },
    ]) {
      const error = await rejection(library.startPosterUpload(OWNER, ID, request as never));
      expect(error, JSON.stringify(request)).toBeInstanceOf(ValidationError);
    }
    expect(posters.signed).toEqual([]);
  });
});

describe('Library.update with an uploaded poster', () => {
  it('makes an uploaded PNG or JPEG the poster, version-checked, and bumps the version', async () => {
    seed();
    const png = await uploaded(PNG);
    const view = await library.update(OWNER, ID, { poster: { uploaded: png }, version: 1 });
    expect(view.version).toBe(2);
    expect((await f.videos.get(ID))!.media!.poster).toBe(png);

    const jpeg = await uploaded(JPEG, 'image/jpeg');
    await library.update(OWNER, ID, { poster: { uploaded: jpeg } });
    expect((await f.videos.get(ID))!.media!.poster).toBe(jpeg);

    const stale = await rejection(library.update(OWNER, ID, { poster: { uploaded: png }, version: 1 }));
    expect(stale).toBeInstanceOf(ConflictError);
    expect((await f.videos.get(ID))!.media!.poster).toBe(jpeg);
  });

  it("answers NotFoundError for another user's video, even with a valid key", async () => {
    seed();
    const key = await uploaded(PNG);
    expect(await rejection(library.update(OTHER, ID, { poster: { uploaded: key } }))).toBeInstanceOf(NotFoundError);
    expect((await f.videos.get(ID))!.media!.poster).toBe(MediaLayout.poster(ID));
  });

  it('answers ConflictError on a video that is not ready', async () => {
    seed({ status: 'failed', media: undefined });
    const key = `${MediaLayout.customPosterPrefix(ID)}abc.png`;
    posters.put(key, PNG);
    expect(await rejection(library.update(OWNER, ID, { poster: { uploaded: key } }))).toBeInstanceOf(ConflictError);
  });

  it("refuses a key outside this video's thumbs/custom- prefix, naming poster", async () => {
    seed();
    seed({ id: 'vid00000002' });
    const elsewhere = [
      `${MediaLayout.customPosterPrefix('vid00000002')}abc.png`,
      MediaLayout.candidate(ID, 1),
      MediaLayout.hlsMaster(ID),
      `${MediaLayout.customPosterPrefix(ID)}../../vid00000002/thumbs/poster.png`,
      `${MediaLayout.customPosterPrefix(ID)}abc.gif`,
    ];
    for (const key of elsewhere) {
      posters.put(key, PNG);
      const error = await rejection(library.update(OWNER, ID, { poster: { uploaded: key } }));
      expect(error, key).toBeInstanceOf(ValidationError);
      expect(error.message, key).toMatch(/^poster\.uploaded: /);
    }
    expect((await f.videos.get(ID))!.version).toBe(1);
  });

  it('refuses a key nothing was uploaded to, an image over 2 MiB, and bytes that are not the image type', async () => {
    seed();
    const { key: missing } = await library.startPosterUpload(OWNER, ID, { contentType: 'image/png', size: 10 });
    const tooBig = await uploaded(PNG, 'image/png', 2 * 1024 * 1024 + 1);
    const htmlAsPng = await uploaded(HTML);
    const pngAsJpeg = await uploaded(PNG, 'image/jpeg');
    const truncated = await uploaded(PNG.subarray(0, 4));

    for (const [key, words] of [
      [missing, 'no image was uploaded'],
      [tooBig, 'larger than 2 MiB'],
      [htmlAsPng, 'not a PNG image'],
      [pngAsJpeg, 'not a JPEG image'],
      [truncated, 'not a PNG image'],
    ] as const) {
      const error = await rejection(library.update(OWNER, ID, { poster: { uploaded: key } }));
      expect(error, key).toBeInstanceOf(ValidationError);
      expect(error.message, key).toContain('poster.uploaded');
      expect(error.message, key).toContain(words);
    }
    expect((await f.videos.get(ID))!.media!.poster).toBe(MediaLayout.poster(ID));
  });

  it('still chooses candidates, and refuses a poster that is both or neither', async () => {
    seed();
    await library.update(OWNER, ID, { poster: { candidate: 2 } });
    expect((await f.videos.get(ID))!.media!.poster).toBe(MediaLayout.candidate(ID, 3));
    for (const poster of [{ candidate: 0, uploaded: 'x' }, {}]) {
      expect(await rejection(library.update(OWNER, ID, { poster } as never))).toBeInstanceOf(ValidationError);
    }
  });
});
