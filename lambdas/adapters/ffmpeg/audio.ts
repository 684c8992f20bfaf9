import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MEDIA_LIMITS, type MediaLimits } from '#domain/media';
import { mediaBinaries, type MediaBinaries } from './binaries.ts';
import { collectRendition, hlsOutputArgs, type WrittenRendition } from './hls-output.ts';
import { classifyFailure, FFMPEG_PREAMBLE, inputOptions, inputSource, runTool } from './run.ts';

/** Options of `transcodeAudio`. */
export interface TranscodeAudioInput {
  /** Local path or http(s) URL of the source (our own presigned object). */
  readonly input: string;
  /** The rendition goes to `<outDir>/audio/`. */
  readonly outDir: string;
  readonly segmentSeconds: number;
  /**
   * The probed duration: encoding stops there, so a file that declares a short duration but
   * holds hours of audio costs no more than what it declares.
   */
  readonly durationSeconds?: number;
  /** Default: 60 s plus 2 s per second of audio (AAC runs at 30–60× realtime). */
  readonly timeoutMs?: number;
  readonly limits?: MediaLimits;
  readonly binaries?: MediaBinaries;
}

/** The audio rendition, written and measured. */
export interface AudioOutput extends WrittenRendition {
  /** `mp4a.40.2` (AAC-LC), read from the init segment. */
  readonly codecs: string;
  readonly channels: number;
  readonly sampleRate: number;
}

/** AAC-LC at 128 kbit/s stereo, 48 kHz: transparent enough for speech and music on any player. */
const AUDIO_ARGS = ['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000'];

/** The source had nothing for `-map 0:a:0` to pick. */
const NO_AUDIO = /matches no streams|does not contain any stream/;

/**
 * Encodes the source's first audio track once, for the whole duration, as an fMP4 HLS rendition
 * (`init.mp4`, `a0000.m4s`, …) in `<outDir>/audio/`. Returns undefined when there is no audio.
 */
export async function transcodeAudio(options: TranscodeAudioInput): Promise<AudioOutput | undefined> {
  const dir = join(options.outDir, 'audio');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const source = inputSource(options.input);
  const duration = options.durationSeconds;
  const args = [
    ...FFMPEG_PREAMBLE,
    ...inputOptions(source, options.limits ?? DEFAULT_MEDIA_LIMITS),
    '-i',
    source.url,
    '-vn',
    '-sn',
    '-dn',
    '-map',
    '0:a:0',
    ...AUDIO_ARGS,
    ...(duration !== undefined ? ['-t', duration.toFixed(6)] : []),
    ...hlsOutputArgs(dir, 'audio', options.segmentSeconds, 'a%04d.m4s', 'init.mp4'),
  ];
  let noAudio = false;
  try {
    await runTool((options.binaries ?? mediaBinaries()).ffmpeg, args, {
      timeoutMs: options.timeoutMs ?? 60_000 + (duration ?? 3600) * 2_000,
      classify: (stderr, code) => {
        noAudio = NO_AUDIO.test(stderr);
        return classifyFailure(stderr, code);
      },
    });
  } catch (error) {
    if (!noAudio) throw error;
  }
  if (noAudio || (await readdir(dir)).length === 0) {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  const written = await collectRendition(dir, 'audio', 0);
  return {
    ...written,
    codecs: written.info.codecs,
    channels: written.info.channels ?? 2,
    sampleRate: written.info.sampleRate ?? 48_000,
  };
}
