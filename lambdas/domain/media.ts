import type { Chunk, Plan, Probe, Rung } from '#contracts/workflow';
import { AppError } from './errors.ts';

/**
 * Media rules in domain words: what a source may be (limits), which renditions it gets (ladder),
 * how its timeline is cut for parallel work (chunks), and at what frame rate it is encoded.
 * Pure: the ffmpeg adapter runs the plan, this module only decides it.
 */

/** What a source may be. Defaults are the limits the README promises; all are configurable. */
export interface MediaLimits {
  readonly maxDurationSeconds: number;
  /** Longest side of the displayed picture (width for landscape, height for portrait). */
  readonly maxLongSide: number;
  /** Shortest side of the displayed picture, so 2160×3840 portrait is as fine as 3840×2160. */
  readonly maxShortSide: number;
  readonly maxFps: number;
  /** Streams of any kind (video, audio, subtitles, data). */
  readonly maxStreams: number;
}

/**
 * 16 streams, not 8: a phone's "cinematic" MOV already carries video, audio and four to six
 * timed-metadata tracks; a file with dozens of streams is an attack on the demuxer, not a video.
 */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = {
  maxDurationSeconds: 4 * 3600,
  maxLongSide: 3840,
  maxShortSide: 2160,
  maxFps: 120,
  maxStreams: 16,
};

/**
 * Decoder pixel cap for `limits`: the largest allowed frame plus one 64-pixel alignment row and
 * column, because decoders check the stride-aligned width (a 2160×3840 portrait frame is checked
 * as 2176×3840). Anything bigger fails to decode before it can allocate its buffers.
 */
export const maxPixelsFor = (limits: MediaLimits): number => (limits.maxLongSide + 64) * (limits.maxShortSide + 64);

/** Why a source was rejected; stable identifiers a client can branch on. */
export type InvalidMediaCode =
  | 'NotAVideo'
  | 'NoVideoStream'
  | 'Corrupt'
  | 'TooLong'
  | 'ResolutionTooHigh'
  | 'FrameRateTooHigh'
  | 'TooManyStreams';

const DEFAULT_MESSAGES: Record<InvalidMediaCode, string> = {
  NotAVideo: 'This file is not a video we can read; upload an MP4, MOV, MKV, WebM, AVI, MPEG-TS or similar video file',
  NoVideoStream: 'This file has no video track (it may be audio only)',
  Corrupt: 'This video is damaged or incomplete (the upload may have been cut short); export it again and re-upload',
  TooLong: 'This video is longer than allowed',
  ResolutionTooHigh: 'This video has a higher resolution than allowed',
  FrameRateTooHigh: 'This video has a higher frame rate than allowed',
  TooManyStreams: 'This video has more tracks than allowed',
};

/**
 * The source cannot become a video: permanent, so the workflow fails at once (the name is listed
 * in the workflow contract's `PermanentErrors`) and the creator sees `message` with `code`.
 */
export class InvalidMediaError extends AppError {
  override readonly name = 'InvalidMediaError';
  readonly statusCode = 422;
  constructor(
    readonly code: InvalidMediaCode,
    message: string = DEFAULT_MESSAGES[code],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a probe finds beyond the workflow's `Probe`: facts only validation needs. */
export interface SourceProbe extends Probe {
  /** Every stream in the container (video, audio, subtitle, data, attachments). */
  readonly streamCount: number;
}

/** `3725` → `1:02:05`, for messages a creator reads. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return `${hh}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}`;
}

/**
 * Throws `InvalidMediaError` when `probe` breaks a limit; the checks run from the most to the
 * least fundamental, so a creator hears about the real problem first.
 */
export function validateProbe(probe: SourceProbe, limits: MediaLimits = DEFAULT_MEDIA_LIMITS): void {
  const { width, height, fps, durationSeconds } = probe;
  if (!(width > 0 && height > 0)) throw new InvalidMediaError('Corrupt', 'The video track has no picture size; the file is damaged');
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) {
    throw new InvalidMediaError('Corrupt', 'The video has no readable duration; the file is damaged or incomplete');
  }
  if (!(fps > 0) || !Number.isFinite(fps)) throw new InvalidMediaError('Corrupt', 'The video has no readable frame rate; the file is damaged');
  if (probe.streamCount > limits.maxStreams) {
    throw new InvalidMediaError('TooManyStreams', `This file has ${probe.streamCount} tracks; at most ${limits.maxStreams} are allowed`);
  }
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  if (long > limits.maxLongSide || short > limits.maxShortSide) {
    throw new InvalidMediaError(
      'ResolutionTooHigh',
      `This video is ${width}×${height}; at most ${limits.maxLongSide}×${limits.maxShortSide} (either orientation) is allowed`,
    );
  }
  // 1% slack: a "120 fps" phone clip measures 120.0x, and 119.88 is the NTSC flavour of it.
  if (fps > limits.maxFps * 1.01) {
    throw new InvalidMediaError('FrameRateTooHigh', `This video runs at ${fps.toFixed(2)} fps; at most ${limits.maxFps} fps is allowed`);
  }
  if (durationSeconds > limits.maxDurationSeconds) {
    throw new InvalidMediaError(
      'TooLong',
      `This video is ${formatDuration(durationSeconds)} long; at most ${formatDuration(limits.maxDurationSeconds)} is allowed`,
    );
  }
}

/** A rational frame rate, as encoders and manifests want it (30000/1001, not 29.97). */
export interface FrameRate {
  readonly num: number;
  readonly den: number;
}

const STANDARD_RATES: readonly FrameRate[] = [
  { num: 24000, den: 1001 },
  { num: 24, den: 1 },
  { num: 25, den: 1 },
  { num: 30000, den: 1001 },
  { num: 30, den: 1 },
  { num: 48, den: 1 },
  { num: 50, den: 1 },
  { num: 60000, den: 1001 },
  { num: 60, den: 1 },
];

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Frames per second of `rate` as a number. */
export const fpsOf = (rate: FrameRate): number => rate.num / rate.den;

/** `30/1` → `"30"`, `30000/1001` → `"30000/1001"` (the form DASH and ffmpeg accept). */
export const frameRateText = (rate: FrameRate): string => (rate.den === 1 ? String(rate.num) : `${rate.num}/${rate.den}`);

/**
 * The constant frame rate every rung is encoded at. Above `maxFps` (60) the rate is halved until
 * it fits (120 → 60, 100 → 50, 119.88 → 59.94): players and the 2160p bitrate budget are made for
 * 60. A rate within 0.5% of a broadcast rate snaps to it, because phones report variable-rate
 * clips as 29.98 or 30.02 and a constant, exact rate is what makes segment boundaries land on
 * frames. Anything else keeps its measured rate to a thousandth.
 */
export function outputFrameRate(sourceFps: number, maxFps = 60): FrameRate {
  if (!(sourceFps > 0) || !Number.isFinite(sourceFps)) throw new RangeError(`invalid frame rate ${sourceFps}`);
  let fps = sourceFps;
  while (fps > maxFps * 1.005) fps /= 2;
  const distance = (r: FrameRate) => Math.abs(fpsOf(r) - fps) / fpsOf(r);
  const nearest = STANDARD_RATES.reduce((a, b) => (distance(b) < distance(a) ? b : a));
  if (distance(nearest) < 0.005) return nearest;
  const num = Math.max(1, Math.round(fps * 1000));
  const divisor = gcd(num, 1000);
  return { num: num / divisor, den: 1000 / divisor };
}

/**
 * The frames of `chunk` on the global frame grid of `rate`: the first frame at or after its start
 * and the count up to the first frame at or after its end. Adjacent chunks therefore share no
 * frame and miss none, whatever the rate (at 29.97 fps a 12 s boundary falls between frames).
 */
export function chunkFrames(chunk: Pick<Chunk, 'start' | 'duration'>, rate: FrameRate): { first: number; count: number; startSeconds: number } {
  const perSecond = fpsOf(rate);
  // A micro-tolerance so 12 s at 30 fps is frame 360, not 361 after a floating-point wobble.
  const first = Math.max(0, Math.ceil(chunk.start * perSecond - 1e-6));
  const end = Math.ceil((chunk.start + chunk.duration) * perSecond - 1e-6);
  return { first, count: Math.max(1, end - first), startSeconds: (first * rate.den) / rate.num };
}

/**
 * Where keyframes go in one chunk, as frame numbers counted from the chunk's first frame: the
 * first frame at or after every `segmentSeconds` of the chunk's own clock, except that a final
 * piece shorter than `minTailSeconds` joins the segment before it (a one-frame last segment
 * would dominate the rendition's peak bitrate and makes some players stall).
 *
 * Counted from the chunk's start, not on a global grid: ffmpeg 4.1's HLS muxer only cuts a
 * segment at a keyframe at least `n × hls_time` after its first packet, and at 29.97 fps a
 * global boundary can fall one frame short of that, silently merging two segments.
 */
export function segmentKeyframes(frameCount: number, rate: FrameRate, segmentSeconds: number, minTailSeconds = 1): number[] {
  const perSecond = fpsOf(rate);
  const frames: number[] = [];
  for (let t = 0; ; t += segmentSeconds) {
    const frame = Math.max(0, Math.ceil(t * perSecond - 1e-6));
    if (frame >= frameCount) break;
    frames.push(frame);
  }
  const last = frames.at(-1);
  if (frames.length > 1 && last !== undefined && (frameCount - last) / perSecond < minTailSeconds - 1e-9) frames.pop();
  return frames;
}

/** A ladder step: its 16:9 bounding box and H.264 bitrates at up to 30 fps. */
interface RungSpec {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Expected average, bits/s (capped-CRF encodes land near or below it). */
  readonly videoBitrate: number;
  /** VBV cap, bits/s: what bounds the peak a player must sustain. */
  readonly maxBitrate: number;
}

/**
 * The ladder, smallest first. Bitrates follow the common H.264 VOD ladders (Apple's HLS authoring
 * spec, YouTube's upload recommendations) for x264 `veryfast` at CRF 23; the cap is 1.5× the
 * average so complex scenes keep their quality without unbounded peaks.
 */
export const LADDER: readonly RungSpec[] = [
  { name: '144p', width: 256, height: 144, videoBitrate: 200_000, maxBitrate: 300_000 },
  { name: '240p', width: 426, height: 240, videoBitrate: 400_000, maxBitrate: 600_000 },
  { name: '360p', width: 640, height: 360, videoBitrate: 800_000, maxBitrate: 1_200_000 },
  { name: '480p', width: 854, height: 480, videoBitrate: 1_400_000, maxBitrate: 2_100_000 },
  { name: '720p', width: 1280, height: 720, videoBitrate: 2_800_000, maxBitrate: 4_200_000 },
  { name: '1080p', width: 1920, height: 1080, videoBitrate: 5_000_000, maxBitrate: 7_500_000 },
  { name: '1440p', width: 2560, height: 1440, videoBitrate: 9_000_000, maxBitrate: 13_500_000 },
  { name: '2160p', width: 3840, height: 2160, videoBitrate: 16_000_000, maxBitrate: 24_000_000 },
];

const even = (x: number): number => Math.max(2, 2 * Math.round(x / 2));
const kbps = (bits: number): number => Math.round(bits / 1000) * 1000;

/**
 * The renditions of a source: each ladder step whose box (turned upright for portrait sources)
 * the source fills without upscaling, keeping the source's aspect ratio and orientation, with
 * even dimensions (4:2:0 chroma needs them). A 1920×800 scope film gets "1080p" at 1920×800; a
 * 360p source gets 144p, 240p and 360p; a 1080×1920 phone clip gets 1080×1920 down to 144×256.
 * A source smaller than 144p still gets one rendition at its own size. Bitrates shrink with the
 * picture area (not below half) and grow by half above 30 fps.
 */
export function planLadder(probe: Pick<Probe, 'width' | 'height' | 'fps'>): Rung[] {
  const portrait = probe.height > probe.width;
  const long = Math.max(probe.width, probe.height);
  const short = Math.min(probe.width, probe.height);
  const motion = fpsOf(outputFrameRate(probe.fps)) > 31 ? 1.5 : 1;
  const rungs: Rung[] = [];
  for (const spec of LADDER) {
    const scale = Math.min(spec.width / long, spec.height / short);
    // Fits without upscaling when the box is at most the source along its binding side.
    if (scale > 1 + 1e-9 && rungs.length > 0) break;
    const factor = Math.min(scale, 1);
    const longOut = even(long * factor);
    const shortOut = even(short * factor);
    const area = Math.min(1, (longOut * shortOut) / (spec.width * spec.height));
    const bitrateScale = Math.max(0.5, area) * motion;
    rungs.push({
      name: spec.name,
      width: portrait ? shortOut : longOut,
      height: portrait ? longOut : shortOut,
      videoBitrate: kbps(spec.videoBitrate * bitrateScale),
      maxBitrate: kbps(spec.maxBitrate * bitrateScale),
    });
    if (scale > 1 + 1e-9) break; // the source is below 144p: one rendition at its own size
  }
  return rungs;
}

/** Segment length the README promises; tunable per deployment. */
export const DEFAULT_SEGMENT_SECONDS = 6;
/** Ten segments per chunk: long enough that process start-up is noise, short enough to spread. */
export const DEFAULT_CHUNK_SECONDS = 60;
/**
 * At most this many chunks: the Map state's history (a few events per iteration, 25,000 per
 * Standard execution) and the state payload (256 KB) stay far from their limits.
 */
export const DEFAULT_MAX_CHUNKS = 400;

/**
 * Cuts `[0, durationSeconds)` into chunks that start on segment boundaries, each
 * `targetChunkSeconds` rounded down to whole segments (at least one), the last one taking the
 * remainder. A remainder shorter than one segment joins the chunk before it: a separate process
 * for a sliver would cost more start-up than it saves. When the target would exceed `maxChunks`,
 * chunks grow instead.
 */
export function planChunks(
  durationSeconds: number,
  segmentSeconds = DEFAULT_SEGMENT_SECONDS,
  targetChunkSeconds = DEFAULT_CHUNK_SECONDS,
  maxChunks = DEFAULT_MAX_CHUNKS,
): Chunk[] {
  if (!(durationSeconds > 0)) throw new RangeError(`duration must be positive, got ${durationSeconds}`);
  if (!(segmentSeconds > 0)) throw new RangeError(`segment length must be positive, got ${segmentSeconds}`);
  let perChunk = Math.max(1, Math.floor(targetChunkSeconds / segmentSeconds + 1e-9));
  const totalSegments = Math.ceil(durationSeconds / segmentSeconds - 1e-9);
  perChunk = Math.max(perChunk, Math.ceil(totalSegments / Math.max(1, maxChunks)));
  const length = perChunk * segmentSeconds;
  const chunks: Chunk[] = [];
  for (let index = 0, start = 0; start < durationSeconds - 1e-9; index++, start = index * length) {
    chunks.push({ index, start, duration: Math.min(length, durationSeconds - start) });
  }
  const last = chunks.at(-1);
  const previous = chunks.at(-2);
  if (last && previous && last.duration < segmentSeconds - 1e-9) {
    chunks.pop();
    previous.duration = durationSeconds - previous.start;
  }
  return chunks;
}

/** Knobs of `planJob`, all with the README defaults. */
export interface PlanOptions {
  readonly segmentSeconds?: number;
  readonly targetChunkSeconds?: number;
  readonly maxChunks?: number;
  /** Keep only these rung names (e.g. a benchmark's 1080/720/360/144); default: all that fit. */
  readonly rungs?: readonly string[];
}

/** The whole job for a validated source: ladder, chunks, and whether there is audio to encode. */
export function planJob(probe: Probe, options: PlanOptions = {}): Plan {
  const segmentSeconds = options.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
  const wanted = options.rungs;
  const ladder = planLadder(probe);
  const rungs = wanted ? ladder.filter((r) => wanted.includes(r.name)) : ladder;
  return {
    segmentSeconds,
    rungs: rungs.length > 0 ? rungs : ladder.slice(0, 1),
    chunks: planChunks(probe.durationSeconds, segmentSeconds, options.targetChunkSeconds ?? DEFAULT_CHUNK_SECONDS, options.maxChunks ?? DEFAULT_MAX_CHUNKS),
    audio: probe.hasAudio,
  };
}
