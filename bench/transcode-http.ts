/**
 * How the whole-file media tasks read their source over HTTP, the way they read S3 on Lambda:
 * the product's own `transcodeAudio` and `makeThumbnails` run against a loopback server that
 * serves the file with Range support and counts every request and byte it sends. The model of a
 * 1-hour source scales these (a discarded video stream is skipped by seeking, so the audio task
 * may read less than the file but open many ranged requests; thumbnails demux every video packet).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { transcodeAudio } from '../lambdas/adapters/ffmpeg/audio.ts';
import { makeThumbnails } from '../lambdas/adapters/ffmpeg/thumbnails.ts';
import { readStat } from './transcode-proc.ts';

export interface ReadProfile {
  readonly requests: number;
  readonly bytes: number;
  readonly wallSeconds: number;
  /** CPU of the ffmpeg (this process's reaped-children delta). */
  readonly cpuSeconds: number;
}

/** Serves `file` at `/<name>` with single-range support; counts requests and bytes sent. */
async function countingServer(file: string) {
  const { size } = await stat(file);
  const counts = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    counts.requests++;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    if (range) {
      start = range[1] ? Number(range[1]) : size - Number(range[2]);
      end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, 'accept-ranges': 'bytes', 'content-type': 'video/mp4' });
    } else {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes', 'content-type': 'video/mp4' });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file, { start, end });
    stream.on('data', (chunk) => (counts.bytes += chunk.length));
    stream.pipe(res);
    res.on('close', () => stream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${path.basename(file)}`;
  return { url, counts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function profile(file: string, work: (url: string) => Promise<unknown>): Promise<ReadProfile> {
  const server = await countingServer(file);
  const before = readStat('self');
  const started = performance.now();
  try {
    await work(server.url);
  } finally {
    server.close().catch(() => undefined);
  }
  const after = readStat('self');
  return {
    requests: server.counts.requests,
    bytes: server.counts.bytes,
    wallSeconds: (performance.now() - started) / 1000,
    cpuSeconds: (after?.reaped ?? 0) - (before?.reaped ?? 0),
  };
}

/** Runs the audio and thumbnails tasks' ffmpeg code over HTTP; returns how each read the source. */
export async function profileWholeFileReads(file: string, durationSeconds: number, segmentSeconds: number): Promise<{ audio: ReadProfile; thumbnails: ReadProfile }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vodstack-bench-reads-'));
  try {
    const audio = await profile(file, (url) => transcodeAudio({ input: url, outDir: path.join(dir, 'a'), segmentSeconds, durationSeconds }));
    const thumbnails = await profile(file, (url) => makeThumbnails({ input: url, durationSeconds, outDir: path.join(dir, 't') }));
    return { audio, thumbnails };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
