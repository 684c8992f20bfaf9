import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { measureBitrates, parseMediaPlaylist, type Bitrates, type MediaSegment } from '#domain/packaging';
import { readInit, shiftSegment, firstDecodeTime, type InitInfo } from './fmp4.ts';
import { TranscodeFailedError } from './run.ts';

/** A segment ffmpeg wrote: its name (the URI manifests use), where it is, how long and big. */
export interface WrittenSegment extends MediaSegment {
  readonly path: string;
  readonly bytes: number;
}

/** One single-rendition fMP4 HLS output of one ffmpeg run, read back and measured. */
export interface WrittenRendition {
  readonly dir: string;
  /** The init segment this run wrote, and its SHA-256 (equal across a rung's chunks). */
  readonly init: { readonly path: string; readonly sha256: string };
  readonly segments: readonly WrittenSegment[];
  readonly bitrates: Bitrates;
  readonly info: InitInfo;
}

/** fMP4 HLS muxer options shared by video and audio outputs. */
export function hlsOutputArgs(dir: string, prefix: string, segmentSeconds: number, segmentPattern: string, initName: string): string[] {
  return [
    // The muxer would otherwise shift the first frame's decode time to zero, delaying the
    // picture by the B-frame delay behind an empty edit; undisabled, the mov muxer writes one
    // ordinary edit (identical in every chunk) that starts presentation at zero.
    '-avoid_negative_ts',
    'disabled',
    '-f',
    'hls',
    '-hls_time',
    String(segmentSeconds),
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    'fmp4',
    '-hls_fmp4_init_filename',
    initName,
    '-hls_segment_filename',
    join(dir, segmentPattern),
    join(dir, `${prefix}.m3u8`),
  ];
}

/**
 * Reads back what one HLS output wrote: parses ffmpeg's playlist (then deletes it: manifests are
 * written by the package step), sizes every segment and moves them `shiftSeconds` along the
 * timeline (see `shiftSegment`).
 */
export async function collectRendition(dir: string, prefix: string, shiftSeconds: number): Promise<WrittenRendition> {
  const playlistPath = join(dir, `${prefix}.m3u8`);
  const playlist = parseMediaPlaylist(await readFile(playlistPath, 'utf8'));
  await rm(playlistPath, { force: true });
  if (!playlist.initUri || playlist.segments.length === 0) throw new TranscodeFailedError(`ffmpeg wrote no segments in ${dir}`);
  const initPath = join(dir, playlist.initUri);
  const initBytes = await readFile(initPath);
  const info = readInit(initBytes);
  const ticks = Math.round(shiftSeconds * info.timescale);
  const segments: WrittenSegment[] = [];
  for (const [i, s] of playlist.segments.entries()) {
    const path = join(dir, s.uri);
    if (ticks > 0) {
      const bytes = await readFile(path);
      // The muxer starts every run at decode time zero; if that ever changes, shifting would
      // double-count, so check the first segment before touching it.
      if (i === 0 && firstDecodeTime(bytes) !== 0) throw new TranscodeFailedError(`unexpected start time in ${path}: the fMP4 muxer changed`);
      shiftSegment(bytes, ticks, info.timescale);
      await writeFile(path, bytes);
    }
    segments.push({ uri: s.uri, path, duration: s.duration, bytes: (await stat(path)).size });
  }
  return {
    dir,
    init: { path: initPath, sha256: createHash('sha256').update(initBytes).digest('hex') },
    segments,
    bitrates: measureBitrates(segments),
    info,
  };
}
