import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { MediaLayout } from '#contracts/workflow';
import { ApiClient } from '../support/api.ts';
import { localS3, localSfn } from '../support/clients.ts';
import { makeClip, probeJson } from '../support/media.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

const platform = inject('platform');
const s3 = localS3(platform);
const sfn = localSfn(platform);
const dir = mkdtempSync(join(tmpdir(), 'vodstack-pipeline-'));

const text = async (key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: platform.mediaBucket, Key: key }))).Body!.transformToString();
const bytes = async (key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: platform.mediaBucket, Key: key }))).Body!.transformToByteArray();
const exists = async (key: string) =>
  s3.send(new HeadObjectCommand({ Bucket: platform.mediaBucket, Key: key })).then(
    () => true,
    () => false,
  );
const keysUnder = async (prefix: string) =>
  (await s3.send(new ListObjectsV2Command({ Bucket: platform.mediaBucket, Prefix: prefix }))).Contents?.map((o) => o.Key!) ?? [];

/** `#EXT-X-STREAM-INF` resolutions of a master playlist, as `[width, height]`. */
const resolutions = (master: string) =>
  [...master.matchAll(/RESOLUTION=(\d+)x(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);

/** A media playlist's segments with durations, URIs resolved against the playlist's key. */
function segmentsOf(playlist: string, playlistKey: string) {
  const base = playlistKey.slice(0, playlistKey.lastIndexOf('/') + 1);
  const lines = playlist.split('\n');
  const out: { key: string; duration: number }[] = [];
  lines.forEach((line, i) => {
    const m = /^#EXTINF:([\d.]+),/.exec(line);
    if (m) out.push({ key: base + lines[i + 1]!.trim(), duration: Number(m[1]) });
  });
  return out;
}

/** `../media/720p/playlist.m3u8` relative to `videos/<id>/hls/master.m3u8` → its key. */
const resolveKey = (fromKey: string, uri: string) => new URL(uri, `s3://b/${fromKey}`).pathname.slice(1);

describe('an upload becomes an adaptive HLS + DASH video', () => {
  let creator: ApiClient;
  let id: string;
  let outcome: Awaited<ReturnType<typeof waitForOutcome>>;

  beforeAll(async () => {
    creator = await ApiClient.signUp(platform, 'pipeline');
    const source = join(dir, 'source-1080p.mp4');
    await makeClip(source, { width: 1920, height: 1080, seconds: 30 });
    id = await uploadFile(creator, source, { visibility: 'public' });
    outcome = await waitForOutcome(creator, id, 300_000);
  }, 360_000);

  it('ends ready, and progress only ever moves forward', () => {
    expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
    expect(outcome.progress).toBe(1);
    const seen = outcome.progressSeen;
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
  });

  it('lists exactly the rungs up to the source height in the master playlist, with an audio group', async () => {
    const master = await text(MediaLayout.hlsMaster(id));
    const heights = resolutions(master).map(([, h]) => h).sort((a, b) => a - b);
    expect(heights).toEqual([144, 240, 360, 480, 720, 1080]);
    expect(master).toMatch(/#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="[^"]+"/);
    expect(master).toMatch(/CODECS="avc1\.64[0-9a-f]{4},mp4a\.40\.2"/);
    expect(master).toMatch(/AVERAGE-BANDWIDTH=\d+/);
    expect(master).toMatch(/FRAME-RATE=30(\.000)?/);
  });

  it('gives every rendition the source duration within 0.1 s, and every listed segment exists', async () => {
    const masterKey = MediaLayout.hlsMaster(id);
    const master = await text(masterKey);
    const uris = master.split('\n').filter((l) => l.endsWith('.m3u8') && !l.startsWith('#'));
    const audioUri = /#EXT-X-MEDIA:TYPE=AUDIO[^\n]*URI="([^"]+)"/.exec(master)?.[1];
    for (const uri of [...uris, ...(audioUri ? [audioUri] : [])]) {
      const key = resolveKey(masterKey, uri);
      const segments = segmentsOf(await text(key), key);
      const total = segments.reduce((sum, s) => sum + s.duration, 0);
      expect(Math.abs(total - 30), `${uri} lasts ${total}`).toBeLessThanOrEqual(0.1);
      for (const segment of segments) expect(await exists(segment.key), segment.key).toBe(true);
    }
  });

  it('stitches chunks without a gap or an overlap at the seams', async () => {
    const key = `${MediaLayout.rendition(id, '144p')}playlist.m3u8`;
    const segments = segmentsOf(await text(key), key);
    const file = join(dir, `stitched-${id}.mp4`);
    const parts = [await bytes(`${MediaLayout.rendition(id, '144p')}init.mp4`)];
    for (const segment of segments) parts.push(await bytes(segment.key));
    writeFileSync(file, Buffer.concat(parts));
    const { packets } = await probeJson(file, ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,duration_time', '-show_packets']);
    const times = (packets as { pts_time: string }[]).map((p) => Number(p.pts_time)).sort((a, b) => a - b);
    expect(times.length).toBe(900); // 30 s at 30 fps: every frame, once
    for (let i = 1; i < times.length; i++) {
      const step = times[i]! - times[i - 1]!;
      expect(step, `frame ${i} at ${times[i]}`).toBeGreaterThan(0.5 / 30);
      expect(step, `frame ${i} at ${times[i]}`).toBeLessThan(1.5 / 30);
    }
  });

  it('writes a DASH MPD that is well-formed and points at files that exist', async () => {
    const key = MediaLayout.dashManifest(id);
    const mpd = await text(key);
    expect(mpd).toMatch(/^<\?xml[^>]*\?>\s*<MPD[\s>]/);
    expect(isWellFormed(mpd)).toBe(true);
    const base = key.slice(0, key.lastIndexOf('/') + 1);
    const refs = [...mpd.matchAll(/<BaseURL>([^<]+)<\/BaseURL>|(?:media|sourceURL|initialization)="([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    // Every BaseURL + file reference resolves to an object (SegmentList form).
    let current = base;
    for (const m of refs) {
      if (m[1]) current = resolveKey(base + 'x', m[1]).replace(/x$/, '');
      else expect(await exists(resolveKey(current + 'x', m[2]!)), m[2]).toBe(true);
    }
  });

  it('makes a poster, three candidates and a storyboard with its WebVTT index', async () => {
    for (const key of [MediaLayout.poster(id), MediaLayout.storyboard(id), MediaLayout.candidate(id, 1), MediaLayout.candidate(id, 3)]) {
      expect(await exists(key), key).toBe(true);
    }
    const vtt = await text(MediaLayout.storyboardVtt(id));
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toMatch(/storyboard\.jpg#xywh=\d+,\d+,\d+,\d+/);
  });

  it('ran the workflow once, although the API and the storage event both started it', async () => {
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: platform.workflowArn }));
    expect(executions!.filter((e) => e.name!.startsWith(`${id}-`)).map((e) => [e.name, e.status])).toEqual([[`${id}-g1`, 'SUCCEEDED']]);
  });
});

describe('sources that are not plain landscape 1080p', () => {
  let creator: ApiClient;
  beforeAll(async () => {
    creator = await ApiClient.signUp(platform, 'shapes');
  });

  it('never upscales: a 360p source yields 144p, 240p and 360p only', async () => {
    const source = join(dir, 'source-360p.mp4');
    await makeClip(source, { width: 640, height: 360, seconds: 4 });
    const id = await uploadFile(creator, source);
    expect((await waitForOutcome(creator, id)).status).toBe('ready');
    const heights = resolutions(await text(MediaLayout.hlsMaster(id))).map(([, h]) => h).sort((a, b) => a - b);
    expect(heights).toEqual([144, 240, 360]);
  }, 120_000);

  it('keeps a portrait phone video portrait, and handles a video without audio', async () => {
    const source = join(dir, 'source-portrait.mp4');
    await makeClip(source, { width: 720, height: 1280, seconds: 4, audio: false });
    const id = await uploadFile(creator, source);
    expect((await waitForOutcome(creator, id)).status).toBe('ready');
    const master = await text(MediaLayout.hlsMaster(id));
    const sizes = resolutions(master);
    expect(sizes.length).toBeGreaterThan(0);
    for (const [w, h] of sizes) expect(h).toBeGreaterThan(w);
    expect(master).not.toMatch(/TYPE=AUDIO/);
  }, 120_000);
});

describe('hostile and broken uploads', () => {
  let creator: ApiClient;
  beforeAll(async () => {
    creator = await ApiClient.signUp(platform, 'hostile');
  });

  it('fails random bytes with a media code and leaves nothing under videos/<id>/', async () => {
    const source = join(dir, 'random.mp4');
    writeFileSync(source, randomBytes(256 * 1024));
    const id = await uploadFile(creator, source);
    const outcome = await waitForOutcome(creator, id, 60_000);
    expect(outcome.status).toBe('failed');
    expect(['NotAVideo', 'Corrupt']).toContain(outcome.failure.code);
    expect(outcome.failure.message.length).toBeGreaterThan(10);
    expect(await keysUnder(MediaLayout.prefix(id))).toEqual([]);
  }, 90_000);

  it('fails an HTML page named .mp4 as not a video', async () => {
    const source = join(dir, 'page.mp4');
    writeFileSync(source, '<!doctype html><html><body><video src="http://127.0.0.1:9/x.mp4"></video></body></html>');
    const id = await uploadFile(creator, source);
    const outcome = await waitForOutcome(creator, id, 60_000);
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'NotAVideo' } });
    expect(await keysUnder(MediaLayout.prefix(id))).toEqual([]);
  }, 90_000);
});

/** A strict-enough XML well-formedness check: balanced, properly nested tags. */
function isWellFormed(xml: string): boolean {
  const stack: string[] = [];
  const body = xml.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}
