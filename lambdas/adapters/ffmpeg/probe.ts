import { open } from 'node:fs/promises';
import { DEFAULT_MEDIA_LIMITS, InvalidMediaError, validateProbe, type MediaLimits, type SourceProbe } from '#domain/media';
import { mediaBinaries, type MediaBinaries } from './binaries.ts';
import { inputOptions, inputSource, runTool, type InputSource } from './run.ts';

/** Options of `probeMedia`. */
export interface ProbeOptions {
  readonly limits?: MediaLimits;
  /** Default 60 s: ffprobe reads headers and a few seconds of packets, even over HTTP. */
  readonly timeoutMs?: number;
  readonly binaries?: MediaBinaries;
}

/** The subset of ffprobe's JSON this module reads. */
interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}
interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; nb_streams?: number };
}

/** `"30000/1001"` → 29.97; `"0/0"` or garbage → undefined. */
function ratio(text: string | undefined): number | undefined {
  const [n, d] = (text ?? '').split(/[/:]/).map(Number);
  return n !== undefined && d !== undefined && n > 0 && d > 0 ? n / d : undefined;
}

/**
 * Clockwise rotation the player must apply, normalised to 0/90/180/270. ffprobe ≥ 5 reports the
 * display matrix's counter-clockwise angle (`rotation: -90` for a phone's portrait clip, whose
 * legacy `rotate` tag says 90); older files may only carry the tag.
 */
function rotationOf(stream: FfprobeStream): number {
  const matrix = stream.side_data_list?.find((s) => s.side_data_type === 'Display Matrix')?.rotation;
  const clockwise = matrix !== undefined ? -matrix : Number(stream.tags?.['rotate'] ?? 0);
  const quarter = Math.round((Number.isFinite(clockwise) ? clockwise : 0) / 90);
  return (((quarter % 4) + 4) % 4) * 90;
}

/** The main picture: the first video stream that is not cover art or a thumbnail track. */
function mainVideo(streams: readonly FfprobeStream[]): FfprobeStream | undefined {
  return streams.find((s) => s.codec_type === 'video' && !s.disposition?.['attached_pic'] && !s.disposition?.['timed_thumbnails']);
}

/** Turns ffprobe's JSON into a `SourceProbe` (display size after pixel aspect and rotation). */
export function toSourceProbe(output: FfprobeOutput): SourceProbe {
  const streams = output.streams ?? [];
  const video = mainVideo(streams);
  if (!video) throw new InvalidMediaError('NoVideoStream');
  if (!video.codec_name) throw new InvalidMediaError('NotAVideo', 'This video uses a codec we cannot read');
  const rotation = rotationOf(video);
  const sar = ratio(video.sample_aspect_ratio) ?? 1;
  // Anamorphic sources (DV, some broadcast) store narrower pixels than they display.
  const storedWidth = video.width ?? 0;
  const storedHeight = video.height ?? 0;
  const displayWidth = 2 * Math.round((storedWidth * sar) / 2) || storedWidth;
  const turned = rotation === 90 || rotation === 270;
  const durationSeconds = Number(output.format?.duration ?? video.duration ?? Number.NaN);
  return {
    durationSeconds,
    width: turned ? storedHeight : displayWidth,
    height: turned ? displayWidth : storedHeight,
    // avg_frame_rate is what a variable-rate phone clip really runs at; r_frame_rate is the
    // timebase guess (often 90000 or 120 for those), used only when there is no average.
    fps: ratio(video.avg_frame_rate) ?? ratio(video.r_frame_rate) ?? Number.NaN,
    rotation,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    formatName: output.format?.format_name ?? 'unknown',
    videoCodec: video.codec_name,
    streamCount: output.format?.nb_streams ?? streams.length,
  };
}

/** First bytes of the input (for telling "damaged video" from "not a video at all"). */
async function readHead(source: InputSource, length: number): Promise<Uint8Array> {
  if (source.remote) {
    const response = await fetch(source.url, { headers: { range: `bytes=0-${length - 1}` }, redirect: 'error', signal: AbortSignal.timeout(10_000) });
    return new Uint8Array(await response.arrayBuffer()).subarray(0, length);
  }
  const file = await open(source.url.slice('file:'.length), 'r');
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await file.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

const ISO_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'uuid', 'styp']);

/**
 * True when `head` starts like one of the allowed containers. ffmpeg falls back to the file
 * extension when content detection fails, so an HTML page named `.mp4` reaches the mov demuxer and
 * fails exactly like a truncated MP4 ("moov atom not found"); the signature tells them apart.
 */
export function looksLikeContainer(head: Uint8Array): boolean {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  return (
    ISO_BOXES.has(ascii(4, 8)) ||
    starts(0x1a, 0x45, 0xdf, 0xa3) || // EBML: Matroska, WebM
    ascii(0, 4) === 'RIFF' || // AVI
    ascii(0, 3) === 'FLV' ||
    ascii(0, 4) === 'OggS' ||
    starts(0x00, 0x00, 0x01, 0xba) || // MPEG program stream
    starts(0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11) || // ASF, WMV
    (head[0] === 0x47 && head[188] === 0x47) // MPEG-TS: sync byte every 188 bytes
  );
}

/**
 * Probes an upload with ffprobe: a local path, or an http(s) URL of our own presigned object.
 * Only real video containers are opened, only the input's own protocol is allowed (so a playlist
 * or concat list cannot make ffprobe fetch anything), and decoders refuse frames above the pixel
 * limit. Returns the facts the plan needs, already validated against `limits`.
 *
 * @throws InvalidMediaError with the code a creator sees (NotAVideo, NoVideoStream, Corrupt,
 *   TooLong, ResolutionTooHigh, FrameRateTooHigh, TooManyStreams).
 */
export async function probeMedia(input: string, options: ProbeOptions = {}): Promise<SourceProbe> {
  const limits = options.limits ?? DEFAULT_MEDIA_LIMITS;
  const source = inputSource(input);
  const args = [
    '-hide_banner',
    '-v',
    'error',
    ...inputOptions(source, limits),
    '-show_error',
    '-show_format',
    '-show_streams',
    '-of',
    'json',
    '-i',
    source.url,
  ];
  let stdout: string;
  try {
    ({ stdout } = await runTool((options.binaries ?? mediaBinaries()).ffprobe, args, { timeoutMs: options.timeoutMs ?? 60_000 }));
  } catch (error) {
    if (error instanceof InvalidMediaError && error.code === 'Corrupt') {
      // If the head cannot be read either, "damaged" is the more honest of the two answers.
      const head = await readHead(source, 512).catch(() => undefined);
      if (head && !looksLikeContainer(head)) throw new InvalidMediaError('NotAVideo', undefined, { cause: error.cause });
    }
    throw error;
  }
  let output: FfprobeOutput;
  try {
    output = JSON.parse(stdout) as FfprobeOutput;
  } catch (cause) {
    throw new InvalidMediaError('Corrupt', undefined, { cause });
  }
  const probe = toSourceProbe(output);
  validateProbe(probe, limits);
  return probe;
}
