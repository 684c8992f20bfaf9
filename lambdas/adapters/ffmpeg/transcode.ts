import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Chunk, Plan, Rung } from '#contracts/workflow';
import {
  chunkFrames,
  DEFAULT_MEDIA_LIMITS,
  fpsOf,
  InvalidMediaError,
  outputFrameRate,
  segmentKeyframes,
  type FrameRate,
  type MediaLimits,
} from '#domain/media';
import { mediaBinaries, type MediaBinaries } from './binaries.ts';
import { collectRendition, hlsOutputArgs, type WrittenRendition } from './hls-output.ts';
import { defaultThreads, FFMPEG_PREAMBLE, inputOptions, inputSource, runTool } from './run.ts';

/**
 * x264 preset. Measured here (1080p30, 30 s, 3 Mbit/s ABR, x264 SSIM): `veryfast` 18.45 dB at
 * 13 CPU-s, `faster` 18.38 dB at 20 CPU-s, `medium` 18.46 dB at 24 CPU-s, `superfast` 17.77 dB
 * at 9 CPU-s. Slower presets buy nothing measurable at ladder bitrates for 1.5–1.8× the CPU (a
 * Lambda bill is CPU-seconds); `superfast` drops tools (8×8 transform, trellis) and it shows.
 * The content was a synthetic test pattern: re-measure on real footage before changing it.
 */
export const DEFAULT_PRESET = 'veryfast';

/** Constant quality, capped by each rung's VBV `maxBitrate` (capped CRF). */
export const CRF = 23;

/** Options of `transcodeChunk`. */
export interface TranscodeChunkInput {
  /** Local path or http(s) URL of the source (our own presigned object). */
  readonly input: string;
  readonly chunk: Chunk;
  readonly plan: Plan;
  /** The source's frame rate as probed; the output rate derives from it (`outputFrameRate`). */
  readonly fps: number;
  /** Each rung writes into `<outDir>/<rung name>/`. */
  readonly outDir: string;
  readonly preset?: string;
  /** Threads per encoder and for decoding; default: the worker's cores. */
  readonly threads?: number;
  /** Default: 60 s plus 15 s per second of chunk. */
  readonly timeoutMs?: number;
  readonly limits?: MediaLimits;
  readonly binaries?: MediaBinaries;
}

/** One rung of one chunk, written and measured. */
export interface ChunkRendition extends WrittenRendition {
  readonly rung: Rung;
  /** RFC 6381 codec of the encoded video, e.g. `avc1.64001f` (High, level 3.1). */
  readonly codecs: string;
}

/** Everything one chunk produced. */
export interface ChunkOutput {
  readonly chunk: Chunk;
  /** The exact constant frame rate of every rendition. */
  readonly frameRate: FrameRate;
  readonly renditions: readonly ChunkRendition[];
}

/** File-name prefix of everything chunk `index` writes: `c0003`. */
export const chunkPrefix = (index: number): string => `c${String(index).padStart(4, '0')}`;

/**
 * One filter graph for all rungs: the frame rate is fixed once (on the global frame grid, since
 * the seek lands on a grid frame), then the picture is split and scaled per rung with square
 * pixels and 4:2:0 8-bit (what H.264 High and every player decode). ffmpeg has already rotated
 * the picture upright (autorotate), so portrait stays portrait.
 */
export function filterGraph(rungs: readonly Rung[], rate: FrameRate): string {
  const head = `[0:V:0]fps=fps=${rate.num}/${rate.den}:start_time=0`;
  const scale = (r: Rung) => `scale=w=${r.width}:h=${r.height}:flags=bicubic,setsar=1,format=yuv420p`;
  if (rungs.length === 1) return `${head},${scale(rungs[0]!)}[v0]`;
  const labels = rungs.map((_, i) => `[s${i}]`).join('');
  return [`${head},split=${rungs.length}${labels}`, ...rungs.map((r, i) => `[s${i}]${scale(r)}[v${i}]`)].join(';');
}

/**
 * Transcodes one time chunk of the source to every rung of the plan, in ONE ffmpeg process
 * (decode once, scale N times, encode N times), each rung as a single-rendition fMP4 HLS output
 * in `<outDir>/<rung>/` with files named for the chunk (`c0003-init.mp4`, `c0003-s000.m4s`).
 *
 * Chunks stitch: the input seek lands on the chunk's first frame of the global frame grid,
 * exactly that chunk's frames are encoded, keyframes (closed GOPs, IDR) are forced at the
 * segment starts and nowhere else, and the segments are then moved to the chunk's place on the
 * timeline. The init segments of a rung are byte-identical across chunks (compare `sha256`),
 * so the package step serves one of them as `init.mp4`. No audio: it is encoded once, apart.
 *
 * @throws InvalidMediaError when the source turns out damaged (including when it ends well
 *   before its declared duration); TranscodeCrashedError/TranscodeTimeoutError/
 *   TranscodeFailedError (transient) otherwise.
 */
export async function transcodeChunk(options: TranscodeChunkInput): Promise<ChunkOutput> {
  const { chunk, plan, outDir } = options;
  const rate = outputFrameRate(options.fps);
  const frames = chunkFrames(chunk, rate);
  const threads = String(options.threads ?? defaultThreads());
  const prefix = chunkPrefix(chunk.index);
  const segmentFrames = Math.max(1, Math.round(plan.segmentSeconds * fpsOf(rate)));
  // As exact frame times (k × den / num), which ffmpeg rounds back to frame k.
  const keyframes = segmentKeyframes(frames.count, rate, plan.segmentSeconds)
    .map((k) => ((k * rate.den) / rate.num).toFixed(6))
    .join(',');
  const source = inputSource(options.input);
  const dirs = plan.rungs.map((r) => join(outDir, r.name));
  await Promise.all(dirs.map((dir) => clearChunk(dir, prefix)));

  const args = [
    ...FFMPEG_PREAMBLE,
    '-threads',
    threads,
    ...inputOptions(source, options.limits ?? DEFAULT_MEDIA_LIMITS),
    // Before -i: a fast seek to the keyframe before, then decoded frames up to the exact point
    // are dropped (accurate_seek), and the chunk's clock starts at zero there.
    '-ss',
    frames.startSeconds.toFixed(6),
    '-i',
    source.url,
    '-filter_complex_threads',
    threads,
    '-filter_complex',
    filterGraph(plan.rungs, rate),
  ];
  plan.rungs.forEach((rung, i) => {
    args.push(
      '-map',
      `[v${i}]`,
      '-c:v',
      'libx264',
      '-preset',
      options.preset ?? DEFAULT_PRESET,
      '-profile:v',
      'high',
      '-crf',
      String(CRF),
      '-maxrate',
      String(rung.maxBitrate),
      '-bufsize',
      String(2 * rung.maxBitrate),
      // Keyframes only where forced: the GOP cap is above the longest segment (a merged tail
      // runs to 7 s) and scene cuts are off.
      '-g',
      String(2 * segmentFrames),
      '-keyint_min',
      String(segmentFrames),
      '-sc_threshold',
      '0',
      '-force_key_frames',
      keyframes,
      // libx264 turns a forced keyframe into an IDR only while GOPs are closed (its default);
      // forcing IDR keeps every segment independently decodable whatever x264 options say.
      '-forced-idr',
      '1',
      '-frames:v',
      String(frames.count),
      '-threads',
      threads,
      ...hlsOutputArgs(dirs[i]!, prefix, plan.segmentSeconds, `${prefix}-s%03d.m4s`, `${prefix}-init.mp4`),
    );
  });

  await runTool((options.binaries ?? mediaBinaries()).ffmpeg, args, {
    timeoutMs: options.timeoutMs ?? 60_000 + chunk.duration * 15_000,
  });

  const renditions: ChunkRendition[] = [];
  for (const [i, rung] of plan.rungs.entries()) {
    const written = await collectRendition(dirs[i]!, prefix, frames.startSeconds);
    const produced = written.segments.reduce((sum, s) => sum + s.duration, 0);
    const expected = frames.count / fpsOf(rate);
    // ffmpeg exits 0 at a premature end of file: a file cut short (or one declaring more than
    // it holds) shows here as missing time.
    if (produced < expected - 1) {
      throw new InvalidMediaError(
        'Corrupt',
        `The video ends at ${(chunk.start + produced).toFixed(1)} s although it declares ${(chunk.start + expected).toFixed(1)} s; the file is damaged or incomplete`,
      );
    }
    renditions.push({ ...written, rung, codecs: written.info.codecs });
  }
  return { chunk, frameRate: rate, renditions };
}

/** Removes what an earlier attempt of this chunk left, so a retry cannot mix two attempts. */
async function clearChunk(dir: string, prefix: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stale = (await readdir(dir)).filter((name) => name.startsWith(`${prefix}-`) || name === `${prefix}.m3u8`);
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
}
