import { execFile } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '#contracts/workflow';
import { transcodeAudio, type AudioOutput } from '#adapters/ffmpeg/audio';
import { mediaBinaries } from '#adapters/ffmpeg/binaries';
import { jpegSize, makeThumbnails, type ThumbnailsOutput } from '#adapters/ffmpeg/thumbnails';
import { probeMedia } from '#adapters/ffmpeg/probe';
import { TranscodeCrashedError, TranscodeFailedError, TranscodeTimeoutError } from '#adapters/ffmpeg/run';
import { transcodeChunk, type ChunkOutput } from '#adapters/ffmpeg/transcode';
import { fpsOf, frameRateText, InvalidMediaError, planJob, type InvalidMediaCode, type SourceProbe } from '#domain/media';
import { INIT_SEGMENT, MEDIA_PLAYLIST, packageManifests, parseMediaPlaylist, type PackageOutput } from '#domain/packaging';

/**
 * The media engine on the real binaries (ffmpeg 4.1, ffprobe 5.2): sources are generated with
 * lavfi (moving test pattern + tone), transcoded in chunks, packaged, and the result is checked
 * the way a player would read it. No AWS, no platform: local files and loopback HTTP only.
 */

const exec = promisify(execFile);
const { ffmpeg, ffprobe } = mediaBinaries();
const MiB = 1024 * 1024;

let work: string;
const at = (...parts: string[]) => join(work, ...parts);

const generate = (args: string[]) => exec(ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { maxBuffer: 16 * MiB });
const probeJson = async (file: string, ...args: string[]): Promise<any> =>
  JSON.parse((await exec(ffprobe, ['-v', 'error', '-of', 'json', ...args, file], { maxBuffer: 256 * MiB })).stdout);

/** A lavfi clip: moving pattern at `size`/`rate` for `seconds`, with a 440 Hz tone unless silent. */
async function clip(name: string, size: string, seconds: number, options: { rate?: number; audio?: boolean; extra?: string[] } = {}) {
  const path = at(name);
  await generate([
    ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${options.rate ?? 30}`],
    ...(options.audio === false ? [] : ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000']),
    ...['-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-g', '60', '-pix_fmt', 'yuv420p'],
    ...(options.audio === false ? [] : ['-c:a', 'aac', '-b:a', '128k']),
    ...(options.extra ?? []),
    path,
  ]);
  return path;
}

/** What the package step does with the outputs: one init per rendition, then the manifests. */
async function packageVideo(root: string, probe: SourceProbe, plan: Plan, chunks: ChunkOutput[], audio: AudioOutput | undefined): Promise<PackageOutput> {
  const video = plan.rungs.map((rung) => {
    const parts = chunks.map((c) => c.renditions.find((r) => r.rung.name === rung.name)!);
    return { parts, rung, first: parts[0]! };
  });
  for (const { parts, rung, first } of video) {
    // Chunks stitch under one init segment only if every chunk wrote the same one.
    expect(new Set(parts.map((p) => p.init.sha256)).size, `init segments of ${rung.name}`).toBe(1);
    await copyFile(first.init.path, join(first.dir, INIT_SEGMENT));
  }
  const rate = chunks[0]!.frameRate;
  const output = packageManifests({
    durationSeconds: probe.durationSeconds,
    segmentSeconds: plan.segmentSeconds,
    video: video.map(({ parts, rung, first }) => ({
      name: rung.name,
      width: rung.width,
      height: rung.height,
      fps: fpsOf(rate),
      frameRate: frameRateText(rate),
      codecs: first.codecs,
      segments: parts.flatMap((p) => p.segments),
    })),
    audio: audio && { codecs: audio.codecs, channels: audio.channels, sampleRate: audio.sampleRate, segments: audio.segments },
  });
  for (const { rendition, text } of output.mediaPlaylists) await writeFile(join(root, 'media', rendition, MEDIA_PLAYLIST), text);
  await mkdir(join(root, 'hls'), { recursive: true });
  await mkdir(join(root, 'dash'), { recursive: true });
  await writeFile(join(root, 'hls', 'master.m3u8'), output.master);
  await writeFile(join(root, 'dash', 'manifest.mpd'), output.mpd);
  return output;
}

/** Runs the whole engine on `input` the way the workflow will: probe, plan, chunks, audio, package. */
async function pipeline(input: string, root: string, options: { targetChunkSeconds?: number; rungs?: string[] } = {}) {
  const probe = await probeMedia(input);
  const plan = planJob(probe, options);
  const outDir = join(root, 'media');
  const chunks: ChunkOutput[] = [];
  for (const chunk of plan.chunks) chunks.push(await transcodeChunk({ input, chunk, plan, fps: probe.fps, outDir }));
  const audio = await transcodeAudio({ input, outDir, segmentSeconds: plan.segmentSeconds, durationSeconds: probe.durationSeconds });
  const manifests = await packageVideo(root, probe, plan, chunks, audio);
  return { probe, plan, chunks, audio, manifests };
}

/** Init segment + every segment of a media playlist, concatenated: the stream a player sees. */
async function stitch(playlistPath: string): Promise<string> {
  const playlist = parseMediaPlaylist(await readFile(playlistPath, 'utf8'));
  const dir = dirname(playlistPath);
  const parts = await Promise.all([playlist.initUri!, ...playlist.segments.map((s) => s.uri)].map((uri) => readFile(join(dir, uri))));
  const out = `${dir}.stitched.mp4`;
  await writeFile(out, Buffer.concat(parts));
  return out;
}

interface Packet {
  pts: number;
  duration: number;
  key: boolean;
}
async function packets(file: string): Promise<Packet[]> {
  const json = await probeJson(file, '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,duration_time,flags');
  return (json.packets as any[])
    .map((p) => ({ pts: Number(p.pts_time), duration: Number(p.duration_time), key: String(p.flags).startsWith('K') }))
    .sort((a, b) => a.pts - b.pts);
}

/** A minimal well-formedness parser (elements, attributes, text, comments, the prolog). */
interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}
function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`malformed XML at ${i}: ${why}`);
  };
  const skip = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const name = () => {
    const m = /^[A-Za-z_:][\w:.-]*/.exec(text.slice(i));
    if (!m) return fail('name expected');
    i += m[0].length;
    return m[0];
  };
  const decode = (s: string) => {
    if (s.includes('<') || /&(?!(amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i.test(s)) fail(`bad character data ${JSON.stringify(s)}`);
    return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  };
  const element = (): XmlElement => {
    skip();
    if (text[i] !== '<') fail('< expected');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      skip();
      if (text.startsWith('/>', i)) return (i += 2), el;
      if (text[i] === '>') break;
      const attr = name();
      skip();
      if (text[i++] !== '=') fail('= expected');
      skip();
      const quote = text[i];
      if (quote !== '"' && quote !== "'") fail('quoted value expected');
      const end = text.indexOf(quote!, i + 1);
      if (end < 0) fail('unterminated attribute');
      if (attr in el.attrs) fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(text.slice(i + 1, end));
      i = end + 1;
    }
    i++;
    for (;;) {
      const lt = text.indexOf('<', i);
      if (lt < 0) fail(`<${el.name}> is never closed`);
      el.text += decode(text.slice(i, lt));
      i = lt;
      if (text.startsWith('<!--', i)) {
        i = text.indexOf('-->', i) + 3;
        if (i < 3) fail('unterminated comment');
      } else if (text.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        skip();
        if (text[i++] !== '>') fail('> expected');
        return el;
      } else el.children.push(element());
    }
  };
  skip();
  if (text.startsWith('<?xml', i)) i = text.indexOf('?>', i) + 2;
  const root = element();
  skip();
  if (i !== text.length) fail('content after the root element');
  return root;
}
const all = (el: XmlElement, name: string): XmlElement[] => [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];

/** Serves files from `work` with byte ranges, like S3 behind a presigned URL. */
function staticServer(): Promise<{ server: Server; url: (name: string) => string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const path = at(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1)));
    if (!existsSync(path)) return void res.writeHead(404).end();
    const size = statSync(path).size;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    res.writeHead(range ? 206 : 200, {
      'accept-ranges': 'bytes',
      'content-length': end - start + 1,
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    createReadStream(path, { start, end }).pipe(res);
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      done({ server, url: (name) => `http://127.0.0.1:${port}/${name}`, requests });
    }),
  );
}

/** A loopback server that must never be contacted; it counts every request it gets. */
function canaryServer(): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'video/mp2t' }).end('x');
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, port: (server.address() as AddressInfo).port, hits })));
}

const codeOf = async (promise: Promise<unknown>): Promise<InvalidMediaCode | string> => {
  try {
    await promise;
  } catch (error) {
    return error instanceof InvalidMediaError ? error.code : `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'resolved';
};

const sources = { hd: '', small: '', portrait: '', rotated: '', silent: '' };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vodstack-media-'));
  sources.hd = await clip('hd.mp4', '1920x1080', 30);
  [sources.small, sources.portrait, sources.silent] = await Promise.all([
    clip('small.mp4', '640x360', 8),
    clip('portrait.mp4', '1080x1920', 4),
    clip('silent.mkv', '320x240', 5, { rate: 25, audio: false }),
  ]);
  // A phone-style clip: landscape pixels and a display matrix that turns them upright.
  const landscape = await clip('landscape.mp4', '640x360', 4, { audio: false });
  sources.rotated = at('rotated.mp4');
  await generate(['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', sources.rotated]);
}, 240_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a 30 s 1080p30 clip with audio, in 3 chunks', () => {
  let run: Awaited<ReturnType<typeof pipeline>>;
  let thumbs: ThumbnailsOutput;
  const root = () => at('hd');

  beforeAll(async () => {
    run = await pipeline(sources.hd, root(), { targetChunkSeconds: 12 });
    thumbs = await makeThumbnails({ input: sources.hd, durationSeconds: run.probe.durationSeconds, outDir: join(root(), 'thumbs') });
  }, 300_000);

  it('probes what was generated', () => {
    expect(run.probe).toEqual({
      durationSeconds: 30,
      width: 1920,
      height: 1080,
      fps: 30,
      rotation: 0,
      hasAudio: true,
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      videoCodec: 'h264',
      streamCount: 2,
    });
  });

  it('plans every rung up to 1080p and three chunks on segment boundaries', () => {
    expect(run.plan.rungs.map((r) => r.name)).toEqual(['144p', '240p', '360p', '480p', '720p', '1080p']);
    expect(run.plan.chunks.map((c) => [c.start, c.duration])).toEqual([
      [0, 12],
      [12, 12],
      [24, 6],
    ]);
  });

  it('gives every rendition the source duration within 0.1 s', () => {
    for (const rung of run.plan.rungs) {
      const total = run.chunks.flatMap((c) => c.renditions.filter((r) => r.rung.name === rung.name)).flatMap((r) => r.segments).reduce((s, x) => s + x.duration, 0);
      expect(Math.abs(total - 30), rung.name).toBeLessThan(0.1);
    }
    expect(Math.abs(run.audio!.segments.reduce((s, x) => s + x.duration, 0) - 30)).toBeLessThan(0.1);
  });

  it('lists exactly the rungs up to 1080p in the master, with measured bandwidth and real codecs', async () => {
    const master = await readFile(join(root(), 'hls', 'master.m3u8'), 'utf8');
    const infs = master.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF:'));
    expect(infs.map((l) => /RESOLUTION=(\d+x\d+)/.exec(l)?.[1]).sort()).toEqual(['1280x720', '1920x1080', '256x144', '426x240', '640x360', '854x480']);
    for (const line of infs) {
      expect(line).toMatch(/CODECS="avc1\.64[0-9a-f]{4},mp4a\.40\.2"/); // 0x64: H.264 High
      expect(line).toMatch(/FRAME-RATE=30\.000/);
      expect(Number(/BANDWIDTH=(\d+)/.exec(line)?.[1])).toBeGreaterThan(Number(/AVERAGE-BANDWIDTH=(\d+)/.exec(line)?.[1]) * 0.99);
    }
    expect(master).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud"');
    // The first variant (where players start) has a first segment of at most about 1 MB.
    const first = master.split('\n')[master.split('\n').findIndex((l) => l.startsWith('#EXT-X-STREAM-INF')) + 1]!;
    const firstPlaylist = parseMediaPlaylist(await readFile(resolve(root(), 'hls', first), 'utf8'));
    expect(statSync(resolve(root(), 'hls', dirname(first), firstPlaylist.segments[0]!.uri)).size).toBeLessThanOrEqual(1_000_000);
  });

  it('has every file that every playlist references', async () => {
    const hls = join(root(), 'hls');
    const master = await readFile(join(hls, 'master.m3u8'), 'utf8');
    const uris = [...master.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!).concat(master.split('\n').filter((l) => l && !l.startsWith('#')));
    expect(uris).toHaveLength(7);
    for (const uri of uris) {
      const path = resolve(hls, uri);
      const playlist = parseMediaPlaylist(await readFile(path, 'utf8'));
      for (const file of [playlist.initUri!, ...playlist.segments.map((s) => s.uri)]) expect(existsSync(resolve(dirname(path), file)), `${uri} → ${file}`).toBe(true);
    }
  });

  it('stitches every rendition into one continuous stream: no gap or overlap at chunk seams', async () => {
    for (const rung of run.plan.rungs) {
      const stitched = await stitch(join(root(), 'media', rung.name, MEDIA_PLAYLIST));
      const list = await packets(stitched);
      expect(list, rung.name).toHaveLength(900);
      expect(list[0]!.pts).toBeCloseTo(0, 3);
      for (let k = 1; k < list.length; k++) {
        const step = list[k]!.pts - list[k - 1]!.pts;
        if (Math.abs(step - 1 / 30) > 1e-3) throw new Error(`${rung.name}: frame ${k} at ${list[k]!.pts} follows ${list[k - 1]!.pts}`);
      }
      // Keyframes exactly at segment starts (seams at 12 and 24 included), nowhere else.
      expect(list.filter((p) => p.key).map((p) => Math.round(p.pts * 1000) / 1000), rung.name).toEqual([0, 6, 12, 18, 24]);
    }
  });

  it('decodes every stitched rendition end to end without an error', async () => {
    for (const rung of run.plan.rungs) {
      const stitched = await stitch(join(root(), 'media', rung.name, MEDIA_PLAYLIST));
      const { stderr } = await exec(ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', stitched, '-f', 'null', '-']);
      expect(stderr, rung.name).toBe('');
    }
    const audio = await stitch(join(root(), 'media', 'audio', MEDIA_PLAYLIST));
    const json = await probeJson(audio, '-show_entries', 'stream=codec_name,profile,channels,sample_rate,duration');
    expect(json.streams[0]).toMatchObject({ codec_name: 'aac', profile: 'LC', channels: 2, sample_rate: '48000' });
    expect(Math.abs(Number(json.streams[0].duration) - 30)).toBeLessThan(0.1);
  });

  it('encodes H.264 High at each rung size with square pixels', async () => {
    for (const rung of run.plan.rungs) {
      const stitched = await stitch(join(root(), 'media', rung.name, MEDIA_PLAYLIST));
      const json = await probeJson(stitched, '-show_entries', 'stream=profile,width,height,sample_aspect_ratio');
      expect(json.streams[0], rung.name).toMatchObject({ profile: 'High', width: rung.width, height: rung.height });
      expect(['1:1', undefined]).toContain(json.streams[0].sample_aspect_ratio);
    }
  });

  it('writes a DASH MPD that is well-formed XML and references existing files', async () => {
    const dash = join(root(), 'dash');
    const mpd = parseXml(await readFile(join(dash, 'manifest.mpd'), 'utf8'));
    expect(mpd.name).toBe('MPD');
    expect(mpd.attrs).toMatchObject({ type: 'static', mediaPresentationDuration: 'PT30.000S' });
    const sets = all(mpd, 'AdaptationSet');
    expect(sets.map((s) => s.attrs['contentType'])).toEqual(['video', 'audio']);
    const reps = all(mpd, 'Representation');
    expect(reps).toHaveLength(7);
    for (const rep of reps) {
      const base = resolve(dash, all(rep, 'BaseURL')[0]!.text);
      const files = [all(rep, 'Initialization')[0]!.attrs['sourceURL']!, ...all(rep, 'SegmentURL').map((s) => s.attrs['media']!)];
      for (const file of files) expect(existsSync(join(base, file)), `${rep.attrs['id']} → ${file}`).toBe(true);
      const list = all(rep, 'SegmentList')[0]!;
      const ticks = all(list, 'S').reduce((sum, s) => sum + Number(s.attrs['d']) * (1 + Number(s.attrs['r'] ?? 0)), 0);
      expect(Math.abs(ticks / Number(list.attrs['timescale']) - 30), rep.attrs['id']).toBeLessThan(0.1);
      expect(all(list, 'SegmentURL')).toHaveLength(all(list, 'S').reduce((n, s) => n + 1 + Number(s.attrs['r'] ?? 0), 0));
    }
  });

  it('makes a poster, three candidates and a storyboard whose VTT covers the duration', async () => {
    for (const file of [thumbs.poster, ...thumbs.candidates]) expect(jpegSize(await readFile(file))).toEqual({ width: 1280, height: 720 });
    const sprite = jpegSize(await readFile(thumbs.storyboard.image));
    expect(sprite).toEqual({ width: 1600, height: 270 });
    const vtt = await readFile(thumbs.storyboard.vtt, 'utf8');
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    const seconds = (t: string) => t.split(':').reduce((s, part) => s * 60 + Number(part), 0);
    const cues = [...vtt.matchAll(/([\d:.]+) --> ([\d:.]+)\nstoryboard\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)/g)];
    expect(cues).toHaveLength(30);
    let covered = 0;
    for (const [, start, end, x, y, w, h] of cues) {
      expect(seconds(start!)).toBeCloseTo(covered, 3);
      covered = seconds(end!);
      expect(Number(x) + Number(w)).toBeLessThanOrEqual(sprite.width);
      expect(Number(y) + Number(h)).toBeLessThanOrEqual(sprite.height);
    }
    expect(covered).toBeCloseTo(30, 3);
  });
});

describe('sources of other shapes', () => {
  it('gives a 360p source 144p, 240p and 360p only', async () => {
    const plan = planJob(await probeMedia(sources.small));
    expect(plan.rungs.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual(['144p 256x144', '240p 426x240', '360p 640x360']);
  });

  it('keeps a portrait phone clip portrait in every rendition', async () => {
    const run = await pipeline(sources.portrait, at('portrait'), { rungs: ['1080p', '360p', '144p'] });
    expect(run.probe).toMatchObject({ width: 1080, height: 1920, rotation: 0 });
    for (const rung of run.plan.rungs) {
      const json = await probeJson(await stitch(join(at('portrait'), 'media', rung.name, MEDIA_PLAYLIST)), '-show_streams');
      expect(json.streams[0], rung.name).toMatchObject({ width: rung.width, height: rung.height });
      expect(json.streams[0].height, rung.name).toBeGreaterThan(json.streams[0].width);
    }
    expect(run.plan.rungs.at(-1)).toMatchObject({ width: 1080, height: 1920 });
  });

  it('turns a clip rotated by its display matrix upright, with no rotation left in the output', async () => {
    const run = await pipeline(sources.rotated, at('rotated'));
    expect(run.probe).toMatchObject({ width: 360, height: 640 });
    expect([90, 270]).toContain(run.probe.rotation);
    expect(run.plan.rungs.map((r) => `${r.width}x${r.height}`)).toEqual(['144x256', '240x426', '360x640']);
    const json = await probeJson(await stitch(join(at('rotated'), 'media', '360p', MEDIA_PLAYLIST)), '-show_streams');
    expect(json.streams[0]).toMatchObject({ width: 360, height: 640 });
    expect(json.streams[0].side_data_list ?? []).not.toContainEqual(expect.objectContaining({ side_data_type: 'Display Matrix' }));
  });

  it('handles a video-only source: no audio rendition, no audio group in the master', async () => {
    const run = await pipeline(sources.silent, at('silent'));
    expect(run.probe).toMatchObject({ hasAudio: false, fps: 25, formatName: 'matroska,webm' });
    expect(run.audio).toBeUndefined();
    expect(existsSync(join(at('silent'), 'media', 'audio'))).toBe(false);
    expect(run.manifests.master).not.toContain('EXT-X-MEDIA');
    expect(run.manifests.master).toMatch(/CODECS="avc1\.64[0-9a-f]{4}",FRAME-RATE=25\.000/);
    expect(run.manifests.mpd).not.toContain('contentType="audio"');
  });

  it('reads the source over HTTP (our presigned URL) with range requests', async () => {
    const { server, url, requests } = await staticServer();
    try {
      const input = url('small.mp4');
      const probe = await probeMedia(input);
      expect(probe).toMatchObject({ width: 640, height: 360, durationSeconds: 8 });
      const plan = planJob(probe, { rungs: ['144p'] });
      // The tail of the file: ffmpeg has to seek by range request to reach it.
      const out = await transcodeChunk({ input, chunk: { index: 1, start: 6, duration: 2 }, plan, fps: probe.fps, outDir: at('http') });
      expect(out.renditions[0]!.segments.reduce((s, x) => s + x.duration, 0)).toBeCloseTo(2, 2);
      expect(requests.every((r) => r === '/small.mp4')).toBe(true);
    } finally {
      server.close();
    }
  });
});

describe('hostile and broken uploads', () => {
  let canary: Awaited<ReturnType<typeof canaryServer>>;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    canary = await canaryServer();
    const target = `http://127.0.0.1:${canary.port}`;
    const write = async (name: string, content: string | Uint8Array) => {
      files[name] = at(name);
      await writeFile(files[name]!, content);
    };
    await write('random.mp4', new Uint8Array(Array.from({ length: 256 * 1024 }, (_, i) => (i * 2654435761) >>> 24)));
    // Cut mid-file: ffmpeg writes the index (moov) last, as a phone does when a recording is interrupted.
    await write('truncated.mp4', (await readFile(sources.small)).subarray(0, 200 * 1024));
    await write('page.mp4', '<!doctype html><html><head><title>Not a video</title></head><body><video src="x.mp4"></video></body></html>\n');
    await generate(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', at('image.mp4')]);
    files['image.mp4'] = at('image.mp4');
    await generate(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', at('photo.mov')]);
    files['photo.mov'] = at('photo.mov');
    await write('playlist.mp4', `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n${target}/segment.ts\n#EXT-X-ENDLIST\n`);
    await write('concat.mp4', `ffconcat version 1.0\nfile ${target}/x.mp4\nfile ${target}/y.mp4\n`);
    await write('control.m3u8', `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n${target}/control.ts\n#EXT-X-ENDLIST\n`);
    // A bomb: one 8192×8192 frame is 200 KB of H.264 and 100 MB once decoded.
    await generate(['-f', 'lavfi', '-i', 'color=c=blue:size=8192x8192:rate=1', '-frames:v', '1', '-c:v', 'libx264', '-preset', 'ultrafast', at('bomb.mp4')]);
    files['bomb.mp4'] = at('bomb.mp4');
    // Ten hours declared, two seconds held: Matroska keeps the duration in one float (ms).
    const short = await readFile(await clip('short.mkv', '320x240', 2));
    const element = short.indexOf(Buffer.from([0x44, 0x89, 0x88])); // Duration, 8-byte float
    expect(element).toBeGreaterThan(0);
    short.writeDoubleBE(10 * 3600 * 1000, element + 3);
    await write('ten-hours.mkv', short);
    const manyMaps = Array.from({ length: 17 }, () => ['-map', '1:a']).flat();
    await generate(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-f', 'lavfi', '-i', 'sine', '-t', '1', '-map', '0:v', ...manyMaps, '-c:v', 'libx264', '-c:a', 'aac', at('streams.mkv')]);
    files['streams.mkv'] = at('streams.mkv');
    await generate(['-f', 'lavfi', '-i', 'sine', '-t', '2', '-c:a', 'aac', at('song.m4a')]);
    files['song.m4a'] = at('song.m4a');
    await generate(['-i', sources.small, '-c', 'copy', '-movflags', '+faststart', at('faststart.mp4')]);
    await write('cut-faststart.mp4', (await readFile(at('faststart.mp4'))).subarray(0, Math.floor(statSync(at('faststart.mp4')).size * 0.4)));
  }, 120_000);

  afterAll(() => canary?.server.close());

  it('has a canary that does see requests when nothing stops them', async () => {
    // Plain ffprobe on a playlist at an http URL follows it: nested opens inherit http.
    const { server, url } = await staticServer();
    try {
      await exec(ffprobe, ['-v', 'quiet', url('control.m3u8')]).catch(() => undefined);
    } finally {
      server.close();
    }
    expect(canary.hits.length).toBeGreaterThan(0);
    canary.hits.length = 0;
  });

  it('declares ten hours in the doctored file (ffprobe itself believes it)', async () => {
    const json = await probeJson(files['ten-hours.mkv']!, '-show_entries', 'format=duration');
    expect(Number(json.format.duration)).toBeCloseTo(36_000, 0);
  });

  it.each<[string, InvalidMediaCode[]]>([
    ['random.mp4', ['NotAVideo', 'Corrupt']],
    ['truncated.mp4', ['Corrupt']],
    ['page.mp4', ['NotAVideo']],
    ['image.mp4', ['NotAVideo']],
    ['photo.mov', ['NotAVideo']],
    ['playlist.mp4', ['NotAVideo']],
    ['concat.mp4', ['NotAVideo']],
    ['bomb.mp4', ['ResolutionTooHigh']],
    ['ten-hours.mkv', ['TooLong']],
    ['streams.mkv', ['TooManyStreams']],
    ['song.m4a', ['NoVideoStream']],
  ])('rejects %s as %s', async (name, codes) => {
    expect(codes).toContain(await codeOf(probeMedia(files[name]!)));
    expect(canary.hits).toEqual([]);
  });

  it('never lets ffmpeg itself follow a playlist or concat list, even without the probe', async () => {
    const plan = planJob({ durationSeconds: 10, width: 320, height: 240, fps: 30, rotation: 0, hasAudio: true, formatName: 'mov', videoCodec: 'h264' }, { rungs: ['144p'] });
    for (const name of ['playlist.mp4', 'concat.mp4']) {
      expect(await codeOf(transcodeChunk({ input: files[name]!, chunk: plan.chunks[0]!, plan, fps: 30, outDir: at('nope') }))).toBe('NotAVideo');
      expect(await codeOf(transcodeAudio({ input: files[name]!, outDir: at('nope'), segmentSeconds: 6 }))).toBe('NotAVideo');
      expect(await codeOf(makeThumbnails({ input: files[name]!, durationSeconds: 10, outDir: at('nope') }))).toBe('NotAVideo');
    }
    expect(canary.hits).toEqual([]);
  });

  it('rejects a disguised playlist served over HTTP without a request to what it names', async () => {
    const { server, url, requests } = await staticServer();
    try {
      expect(await codeOf(probeMedia(url('playlist.mp4')))).toBe('NotAVideo');
      expect(await codeOf(probeMedia(url('concat.mp4')))).toBe('NotAVideo');
      expect(requests.length).toBeGreaterThan(0);
      expect(canary.hits).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('fails a file cut short after a valid index as Corrupt when the transcode runs out of data', async () => {
    const input = at('cut-faststart.mp4');
    const probe = await probeMedia(input); // the index still promises 8 s
    const plan = planJob(probe, { rungs: ['144p'] });
    expect(await codeOf(transcodeChunk({ input, chunk: plan.chunks[0]!, plan, fps: probe.fps, outDir: at('cut') }))).toBe('Corrupt');
  });
});

describe('when ffmpeg itself fails', () => {
  const fake = async (name: string, script: string) => {
    const path = at(name);
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
    return { ffmpeg: path, ffprobe: path };
  };

  it('reports a crash (death by signal) as a transient TranscodeCrashedError', async () => {
    const binaries = await fake('segfault.sh', 'kill -SEGV $$');
    await expect(transcodeAudio({ input: sources.small, outDir: at('crash'), segmentSeconds: 6, binaries })).rejects.toBeInstanceOf(TranscodeCrashedError);
    await expect(probeMedia(sources.small, { binaries })).rejects.toMatchObject({ name: 'TranscodeCrashedError', message: expect.stringContaining('SIGSEGV') });
  });

  it('kills a run past its deadline and reports TranscodeTimeoutError', async () => {
    const binaries = await fake('hang.sh', 'exec sleep 30');
    const started = Date.now();
    await expect(probeMedia(sources.small, { binaries, timeoutMs: 300 })).rejects.toBeInstanceOf(TranscodeTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not blame the upload for a failure it cannot trace to the input', async () => {
    const binaries = await fake('full.sh', 'echo "Error writing trailer: No space left on device" >&2; exit 1');
    const error = await transcodeAudio({ input: sources.small, outDir: at('full'), segmentSeconds: 6, binaries }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TranscodeFailedError);
    expect((error as Error).message).toContain('No space left on device');
  });
});
