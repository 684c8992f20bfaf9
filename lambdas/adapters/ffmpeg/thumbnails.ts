import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MEDIA_LIMITS, type MediaLimits } from '#domain/media';
import { storyboardVtt, type StoryboardLayout } from '#domain/packaging';
import { mediaBinaries, type MediaBinaries } from './binaries.ts';
import { FFMPEG_PREAMBLE, inputOptions, inputSource, runTool, TranscodeFailedError } from './run.ts';

/** Options of `makeThumbnails`. */
export interface ThumbnailsInput {
  /** Local path or http(s) URL of the source (our own presigned object). */
  readonly input: string;
  readonly durationSeconds: number;
  /** Files go straight into `outDir`. */
  readonly outDir: string;
  /** Default: 60 s plus 0.5 s per second of video. */
  readonly timeoutMs?: number;
  readonly limits?: MediaLimits;
  readonly binaries?: MediaBinaries;
}

/** What `makeThumbnails` wrote (absolute paths) and the storyboard's geometry. */
export interface ThumbnailsOutput {
  readonly poster: string;
  readonly candidates: readonly string[];
  readonly storyboard: { readonly image: string; readonly vtt: string; readonly layout: StoryboardLayout };
}

/** Where candidate stills are taken, as fractions of the duration. */
const CANDIDATES = [0.25, 0.5, 0.75];
const TILE_WIDTH = 160;
const MAX_TILES = 100;
/**
 * Above this duration the storyboard decodes keyframes only: a full 1080p decode costs ~4 CPU-s
 * per minute, which competes with the chunk encoders on the same cores (measured by
 * bench:transcode). Tiles then show the keyframe nearest their time, enough for seek previews.
 */
const KEYFRAMES_ONLY_AFTER_SECONDS = 45;

/**
 * Scales a still to fit 1280×720 (720×1280 upright), never up, in display proportions (`sar`
 * turns anamorphic storage into what the viewer sees). Single quotes keep the commas of the
 * expressions away from the filter-graph parser.
 */
const STILL_SCALE = (() => {
  const dw = 'iw*sar';
  const fit = `min(1,min(1280/max(${dw},ih),720/min(${dw},ih)))`;
  return `scale=w='trunc(${dw}*${fit}/2)*2':h='trunc(ih*${fit}/2)*2',setsar=1`;
})();

/** Width and height from a baseline or progressive JPEG's start-of-frame marker. */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } {
  let at = 2;
  while (at + 9 < jpeg.length) {
    if (jpeg[at] !== 0xff) throw new Error('not a JPEG marker stream');
    const marker = jpeg[at + 1]!;
    const length = (jpeg[at + 2]! << 8) | jpeg[at + 3]!;
    if (marker >= 0xc0 && marker <= 0xc2) {
      return { height: (jpeg[at + 5]! << 8) | jpeg[at + 6]!, width: (jpeg[at + 7]! << 8) | jpeg[at + 8]! };
    }
    at += 2 + length;
  }
  throw new Error('JPEG has no start-of-frame marker');
}

/**
 * Stills and seek previews, in one ffmpeg process: `candidate-1..3.jpg` at 25/50/75% of the
 * duration, `poster.jpg` (the middle candidate, until the creator picks another), and
 * `storyboard.jpg`, a sprite of up to 10×10 tiles 160 px wide (one per second for short videos,
 * one per duration/100 beyond), indexed by `storyboard.vtt`.
 */
export async function makeThumbnails(options: ThumbnailsInput): Promise<ThumbnailsOutput> {
  const { durationSeconds, outDir } = options;
  await mkdir(outDir, { recursive: true });
  const source = inputSource(options.input);
  const opts = inputOptions(source, options.limits ?? DEFAULT_MEDIA_LIMITS);
  const interval = Math.max(1, Math.ceil(durationSeconds / MAX_TILES));
  const count = Math.max(1, Math.ceil(durationSeconds / interval - 1e-9));
  const columns = Math.min(10, count);
  const rows = Math.ceil(count / columns);
  const candidates = CANDIDATES.map((_, i) => join(outDir, `candidate-${i + 1}.jpg`));
  const image = join(outDir, 'storyboard.jpg');

  const args: string[] = [...FFMPEG_PREAMBLE];
  // One input per still: each seeks straight to its instant (keyframe before, then decode).
  for (const fraction of CANDIDATES) args.push(...opts, '-ss', (durationSeconds * fraction).toFixed(3), '-i', source.url);
  args.push(...opts, ...(durationSeconds > KEYFRAMES_ONLY_AFTER_SECONDS ? ['-skip_frame', 'nokey'] : []), '-i', source.url);
  const sb = CANDIDATES.length;
  const graph = [
    ...CANDIDATES.map((_, i) => `[${i}:V:0]${STILL_SCALE}[c${i}]`),
    // Frames are picked on the global clock (fps=1/N from zero), scaled to 160 px wide in
    // display proportions, then laid out; a short last row is flushed at end of input.
    `[${sb}:V:0]fps=fps=1/${interval}:start_time=0,scale=w=${TILE_WIDTH}:h='trunc(${TILE_WIDTH}*ih/(iw*sar)/2)*2',setsar=1,tile=${columns}x${rows}[sb]`,
  ].join(';');
  args.push('-filter_complex', graph);
  candidates.forEach((path, i) => args.push('-map', `[c${i}]`, '-frames:v', '1', '-q:v', '3', path));
  args.push('-map', '[sb]', '-frames:v', '1', '-q:v', '5', image);

  await runTool((options.binaries ?? mediaBinaries()).ffmpeg, args, { timeoutMs: options.timeoutMs ?? 60_000 + durationSeconds * 500 });

  const poster = join(outDir, 'poster.jpg');
  await copyFile(candidates[1]!, poster).catch((cause: unknown) => {
    throw new TranscodeFailedError('ffmpeg wrote no still for the poster', { cause });
  });
  const sheet = jpegSize(await readFile(image));
  const layout: StoryboardLayout = {
    imageUri: 'storyboard.jpg',
    durationSeconds,
    intervalSeconds: interval,
    count,
    columns,
    tileWidth: sheet.width / columns,
    tileHeight: sheet.height / rows,
  };
  const vtt = join(outDir, 'storyboard.vtt');
  await writeFile(vtt, storyboardVtt(layout));
  return { poster, candidates, storyboard: { image, vtt, layout } };
}
