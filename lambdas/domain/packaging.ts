/**
 * Manifest writers: HLS media and master playlists and a DASH MPD, all over the same fMP4 (CMAF)
 * init segments and `.m4s` media segments. Pure text in, text out; the package step measures
 * the segments and the transcode step names them.
 *
 * We write manifests ourselves rather than let ffmpeg do it: a rendition is stitched from
 * chunks that separate processes encoded, and ffmpeg 4.1's HLS muxer crashes when it writes a
 * master playlist (`-var_stream_map`).
 */

/** One media segment of a rendition, in presentation order. */
export interface MediaSegment {
  /** Relative to the media playlist (HLS) or the representation's base URL (DASH). */
  readonly uri: string;
  readonly duration: number;
  /** Size in bytes; needed for bitrates. */
  readonly bytes?: number;
}

/** Measured bitrates of a rendition, bits/s. */
export interface Bitrates {
  /** The highest bitrate of any one segment: what HLS calls BANDWIDTH. */
  readonly peak: number;
  /** Total bits over total duration: HLS AVERAGE-BANDWIDTH. */
  readonly average: number;
}

/** Peak and average bitrate of `segments` (each needs `bytes`). */
export function measureBitrates(segments: readonly MediaSegment[]): Bitrates {
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of segments) {
    if (s.bytes === undefined) throw new Error(`segment ${s.uri} has no size`);
    bits += s.bytes * 8;
    seconds += s.duration;
    if (s.duration > 0) peak = Math.max(peak, (s.bytes * 8) / s.duration);
  }
  return { peak: Math.ceil(peak), average: seconds > 0 ? Math.ceil(bits / seconds) : 0 };
}

/** What a media playlist lists: its init segment (`EXT-X-MAP`) and its segments. */
export interface ParsedMediaPlaylist {
  readonly initUri: string | undefined;
  readonly segments: MediaSegment[];
}

/** Reads an HLS media playlist (ffmpeg's per-chunk output) into its init URI and segments. */
export function parseMediaPlaylist(text: string): ParsedMediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist (no #EXTM3U header)');
  let initUri: string | undefined;
  let pending: number | undefined;
  const segments: MediaSegment[] = [];
  for (const line of lines) {
    if (line.startsWith('#EXT-X-MAP:')) initUri = /URI="([^"]*)"/.exec(line)?.[1];
    else if (line.startsWith('#EXTINF:')) pending = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line !== '' && !line.startsWith('#')) {
      if (pending === undefined || !Number.isFinite(pending)) throw new Error(`segment ${line} has no #EXTINF duration`);
      segments.push({ uri: line, duration: pending });
      pending = undefined;
    }
  }
  return { initUri, segments };
}

/** Rounds to the microsecond ffmpeg writes, dropping float noise such as 5.999999999. */
const micro = (seconds: number): number => Math.round(seconds * 1e6) / 1e6;

/**
 * An HLS VOD media playlist over fMP4 segments (version 7, `EXT-X-MAP`). TARGETDURATION is the
 * longest segment rounded up, which the spec requires every rounded EXTINF to stay within.
 */
export function hlsMediaPlaylist(segments: readonly MediaSegment[], initUri = 'init.mp4'): string {
  if (segments.length === 0) throw new Error('a media playlist needs at least one segment');
  const target = Math.max(1, Math.ceil(Math.max(...segments.map((s) => micro(s.duration)))));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${initUri}"`,
  ];
  for (const s of segments) lines.push(`#EXTINF:${micro(s.duration).toFixed(6)},`, s.uri);
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** A video rendition as the master playlist and the MPD describe it. */
export interface VideoRendition {
  /** Rung name, e.g. `720p`; the DASH representation id. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Frames per second (exact rational as `frameRate` text for DASH, e.g. `30000/1001`). */
  readonly fps: number;
  readonly frameRate: string;
  /** RFC 6381 codec of the video track alone, from the encoded stream, e.g. `avc1.64001f`. */
  readonly codecs: string;
  readonly bitrates: Bitrates;
  /** Size of the first media segment: what a player downloads before the first picture. */
  readonly firstSegmentBytes: number;
}

/** The audio rendition, shared by every video variant. */
export interface AudioRendition {
  readonly codecs: string;
  readonly bitrates: Bitrates;
  readonly channels: number;
  readonly sampleRate: number;
}

/** Inputs of the master playlist: each rendition with the URI of its media playlist. */
export interface MasterPlaylistInput {
  readonly variants: readonly (VideoRendition & { readonly uri: string })[];
  readonly audio?: AudioRendition & { readonly uri: string };
  /** First-segment budget of the variant listed first (players start there); default 1 MB. */
  readonly startBudgetBytes?: number;
}

/**
 * Variants in master-playlist order. Players (Safari, hls.js) start on the first variant, before
 * they have measured anything, so it is the sharpest rung whose first segment fits
 * `budgetBytes` (about a second on a 10 Mbit/s link; measured, not guessed from nominal
 * bitrates), or the smallest rung if none fits. The rest follow in ascending bandwidth.
 */
export function orderVariants<T extends VideoRendition>(variants: readonly T[], budgetBytes = 1_000_000): T[] {
  const ascending = [...variants].sort((a, b) => a.bitrates.peak - b.bitrates.peak);
  const fitting = ascending.filter((v) => v.firstSegmentBytes <= budgetBytes);
  const start = fitting.at(-1) ?? ascending[0];
  return start ? [start, ...ascending.filter((v) => v !== start)] : [];
}

const quoted = (value: string): string => {
  if (/["\r\n]/.test(value)) throw new Error(`a playlist attribute cannot contain quotes or newlines: ${value}`);
  return `"${value}"`;
};

/**
 * The HLS master playlist: audio as its own `EXT-X-MEDIA` rendition in group `aud`, one
 * `EXT-X-STREAM-INF` per video rung with BANDWIDTH (peak video + peak audio, since the player
 * fetches both), AVERAGE-BANDWIDTH, RESOLUTION, CODECS and FRAME-RATE.
 */
export function hlsMasterPlaylist(input: MasterPlaylistInput): string {
  const { audio } = input;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (audio) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="${audio.channels}",URI=${quoted(audio.uri)}`,
    );
  }
  for (const v of orderVariants(input.variants, input.startBudgetBytes)) {
    const attributes = [
      `BANDWIDTH=${v.bitrates.peak + (audio?.bitrates.peak ?? 0)}`,
      `AVERAGE-BANDWIDTH=${v.bitrates.average + (audio?.bitrates.average ?? 0)}`,
      `RESOLUTION=${v.width}x${v.height}`,
      `CODECS=${quoted(audio ? `${v.codecs},${audio.codecs}` : v.codecs)}`,
      `FRAME-RATE=${v.fps.toFixed(3)}`,
      ...(audio ? ['AUDIO="aud"'] : []),
      // Without it Safari assumes in-band CEA-608 captions may exist and shows a CC menu.
      'CLOSED-CAPTIONS=NONE',
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, v.uri);
  }
  return `${lines.join('\n')}\n`;
}

/** One DASH representation's files: base URL (relative to the MPD), init and segments. */
export interface DashTrack {
  readonly baseUrl: string;
  readonly initUri: string;
  readonly segments: readonly MediaSegment[];
}

/** Inputs of the MPD. */
export interface DashManifestInput {
  readonly durationSeconds: number;
  readonly video: readonly (VideoRendition & DashTrack)[];
  readonly audio?: AudioRendition & DashTrack;
  /** Longest segment, seconds: the buffer a player needs before it can start. */
  readonly segmentSeconds: number;
}

const xmlAttr = (value: string | number): string =>
  String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `PT1H2M3.456S`-style ISO 8601 duration, as the MPD schema wants. */
export function isoDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `PT${h ? `${h}H` : ''}${h || m ? `${m}M` : ''}${s.toFixed(3)}S`;
}

/**
 * One timescale for every timeline: 90 kHz divides the frame durations of all broadcast rates
 * (and 1001-based ones) and the 1024-sample AAC frames at 48 kHz exactly.
 */
const TIMESCALE = 90_000;

/** `<S>` runs of a SegmentTimeline; times come from the running sum, so rounding never drifts. */
function timeline(segments: readonly MediaSegment[]): string[] {
  const runs: { t: number; d: number; r: number }[] = [];
  let elapsed = 0;
  for (const s of segments) {
    const t = Math.round(elapsed * TIMESCALE);
    elapsed += micro(s.duration);
    const d = Math.round(elapsed * TIMESCALE) - t;
    const last = runs.at(-1);
    if (last && last.d === d) last.r += 1;
    else runs.push({ t, d, r: 0 });
  }
  return runs.map((run, i) => `<S ${i === 0 ? `t="${run.t}" ` : ''}d="${run.d}"${run.r ? ` r="${run.r}"` : ''}/>`);
}

function segmentList(track: DashTrack, indent: string): string[] {
  return [
    `${indent}<BaseURL>${xmlAttr(track.baseUrl)}</BaseURL>`,
    `${indent}<SegmentList timescale="${TIMESCALE}">`,
    `${indent}  <Initialization sourceURL="${xmlAttr(track.initUri)}"/>`,
    `${indent}  <SegmentTimeline>`,
    ...timeline(track.segments).map((s) => `${indent}    ${s}`),
    `${indent}  </SegmentTimeline>`,
    ...track.segments.map((s) => `${indent}  <SegmentURL media="${xmlAttr(s.uri)}"/>`),
    `${indent}</SegmentList>`,
  ];
}

/**
 * A static DASH MPD over the HLS segments: one video AdaptationSet (a Representation per rung,
 * largest first) and one audio AdaptationSet. Segments are listed (SegmentList + SegmentTimeline)
 * because their names carry the chunk that made them, which no SegmentTemplate can express;
 * SegmentList is why the profile is `isoff-main` (the live profile requires templates).
 */
export function dashManifest(input: DashManifestInput): string {
  if (input.video.length === 0) throw new Error('an MPD needs at least one video representation');
  const video = [...input.video].sort((a, b) => b.bitrates.peak - a.bitrates.peak);
  const maxW = Math.max(...video.map((v) => v.width));
  const maxH = Math.max(...video.map((v) => v.height));
  const fastest = video.reduce((a, b) => (b.fps > a.fps ? b : a), video[0]!);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-main:2011" type="static"` +
      ` mediaPresentationDuration="${isoDuration(input.durationSeconds)}" minBufferTime="${isoDuration(input.segmentSeconds)}">`,
    `  <Period id="0" start="PT0S">`,
    `    <AdaptationSet id="1" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1"` +
      ` maxWidth="${maxW}" maxHeight="${maxH}" maxFrameRate="${xmlAttr(fastest.frameRate)}">`,
  ];
  for (const v of video) {
    out.push(
      `      <Representation id="${xmlAttr(v.name)}" bandwidth="${v.bitrates.peak}" codecs="${xmlAttr(v.codecs)}"` +
        ` width="${v.width}" height="${v.height}" frameRate="${xmlAttr(v.frameRate)}" sar="1:1">`,
      ...segmentList(v, '        '),
      '      </Representation>',
    );
  }
  out.push('    </AdaptationSet>');
  const { audio } = input;
  if (audio) {
    out.push(
      `    <AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1" lang="und">`,
      `      <Representation id="audio" bandwidth="${audio.bitrates.peak}" codecs="${xmlAttr(audio.codecs)}" audioSamplingRate="${audio.sampleRate}">`,
      `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${audio.channels}"/>`,
      ...segmentList(audio, '        '),
      '      </Representation>',
      '    </AdaptationSet>',
    );
  }
  out.push('  </Period>', '</MPD>');
  return `${out.join('\n')}\n`;
}

/** Geometry of a storyboard sprite: square grid of equal tiles, left to right, top to bottom. */
export interface StoryboardLayout {
  /** URI of the sprite as the VTT references it (relative to the VTT). */
  readonly imageUri: string;
  readonly durationSeconds: number;
  /** Seconds each tile stands for. */
  readonly intervalSeconds: number;
  readonly count: number;
  readonly columns: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
}

/** `83.5` → `00:01:23.500`, the WebVTT timestamp form. */
export function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const hh = String(Math.floor(ms / 3_600_000)).padStart(2, '0');
  const mm = String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0');
  const ss = String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0');
  return `${hh}:${mm}:${ss}.${String(ms % 1000).padStart(3, '0')}`;
}

/**
 * The WebVTT index of a storyboard sprite: one cue per tile, `image#xywh=x,y,w,h` (the media
 * fragment form players such as Video.js, Shaka and JW read for seek previews), the cues covering
 * `[0, duration]` without gaps.
 */
export function storyboardVtt(layout: StoryboardLayout): string {
  const lines = ['WEBVTT', ''];
  for (let i = 0; i < layout.count; i++) {
    const start = i * layout.intervalSeconds;
    if (start >= layout.durationSeconds) break;
    const end = i === layout.count - 1 ? layout.durationSeconds : Math.min(layout.durationSeconds, start + layout.intervalSeconds);
    const x = (i % layout.columns) * layout.tileWidth;
    const y = Math.floor(i / layout.columns) * layout.tileHeight;
    lines.push(`${vttTime(start)} --> ${vttTime(end)}`, `${layout.imageUri}#xywh=${x},${y},${layout.tileWidth},${layout.tileHeight}`, '');
  }
  return lines.join('\n');
}

/** A rendition's segments from every chunk, in order, with what the encoder reported. */
export interface PackagedVideo extends Omit<VideoRendition, 'bitrates' | 'firstSegmentBytes'> {
  readonly segments: readonly MediaSegment[];
}

/** The audio rendition's segments and format. */
export interface PackagedAudio extends Omit<AudioRendition, 'bitrates'> {
  readonly segments: readonly MediaSegment[];
}

/** Inputs of `packageManifests`. */
export interface PackageInput {
  readonly durationSeconds: number;
  readonly segmentSeconds: number;
  readonly video: readonly PackagedVideo[];
  readonly audio?: PackagedAudio;
  /**
   * Folder of a rendition (`720p`, `audio`) relative to the folders of the master playlist and
   * of the MPD. Default `../media/<name>/`, matching `MediaLayout` (`hls/`, `dash/` and
   * `media/<name>/` side by side under the video's prefix).
   */
  readonly renditionBase?: (name: string) => string;
}

/** Every manifest of a video, as text, with the file name each goes to. */
export interface PackageOutput {
  /** One media playlist per rendition, saved as `playlist.m3u8` in the rendition's folder. */
  readonly mediaPlaylists: readonly { readonly rendition: string; readonly text: string }[];
  readonly master: string;
  readonly mpd: string;
}

/** File name of each rendition's media playlist, in the rendition's folder. */
export const MEDIA_PLAYLIST = 'playlist.m3u8';
/** File name of each rendition's init segment, beside its media segments. */
export const INIT_SEGMENT = 'init.mp4';

/**
 * Writes every manifest for the stitched renditions: a media playlist per rendition, the HLS
 * master and the DASH MPD, bitrates measured from the segment sizes. Each rendition's folder must
 * hold `init.mp4` (any chunk's init segment: they are identical) beside its segments.
 */
export function packageManifests(input: PackageInput): PackageOutput {
  const base = input.renditionBase ?? ((name: string) => `../media/${name}/`);
  const video = input.video.map((v) => ({
    ...v,
    bitrates: measureBitrates(v.segments),
    firstSegmentBytes: v.segments[0]?.bytes ?? 0,
    uri: `${base(v.name)}${MEDIA_PLAYLIST}`,
    baseUrl: base(v.name),
    initUri: INIT_SEGMENT,
  }));
  const audio = input.audio && {
    ...input.audio,
    bitrates: measureBitrates(input.audio.segments),
    uri: `${base('audio')}${MEDIA_PLAYLIST}`,
    baseUrl: base('audio'),
    initUri: INIT_SEGMENT,
  };
  const mediaPlaylists = [
    ...input.video.map((v) => ({ rendition: v.name, text: hlsMediaPlaylist(v.segments, INIT_SEGMENT) })),
    ...(input.audio ? [{ rendition: 'audio', text: hlsMediaPlaylist(input.audio.segments, INIT_SEGMENT) }] : []),
  ];
  return {
    mediaPlaylists,
    master: hlsMasterPlaylist({ variants: video, audio }),
    mpd: dashManifest({ durationSeconds: input.durationSeconds, segmentSeconds: input.segmentSeconds, video, audio }),
  };
}
