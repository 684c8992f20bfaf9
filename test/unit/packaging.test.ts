import { describe, expect, it } from 'vitest';
import {
  dashManifest,
  hlsMasterPlaylist,
  hlsMediaPlaylist,
  isoDuration,
  measureBitrates,
  orderVariants,
  parseMediaPlaylist,
  storyboardVtt,
  vttTime,
  type AudioRendition,
  type MediaSegment,
  type VideoRendition,
} from '#domain/packaging';

const segments: MediaSegment[] = [
  { uri: 'c0000-s000.m4s', duration: 6, bytes: 750_000 },
  { uri: 'c0000-s001.m4s', duration: 6, bytes: 600_000 },
  { uri: 'c0001-s000.m4s', duration: 6, bytes: 450_000 },
  { uri: 'c0001-s001.m4s', duration: 2.5, bytes: 100_000 },
];

const rendition = (name: string, width: number, height: number, peak: number, firstSegmentBytes: number): VideoRendition => ({
  name,
  width,
  height,
  fps: 30,
  frameRate: '30',
  codecs: 'avc1.64001f',
  bitrates: { peak, average: Math.round(peak * 0.8) },
  firstSegmentBytes,
});

const ladder = [
  rendition('1080p', 1920, 1080, 5_000_000, 3_500_000),
  rendition('144p', 256, 144, 200_000, 140_000),
  rendition('720p', 1280, 720, 2_500_000, 1_600_000),
  rendition('360p', 640, 360, 800_000, 560_000),
];

const audio: AudioRendition = { codecs: 'mp4a.40.2', bitrates: { peak: 130_000, average: 128_000 }, channels: 2, sampleRate: 48_000 };

describe('HLS media playlist', () => {
  const text = hlsMediaPlaylist(segments);

  it('is a version 7 VOD fMP4 playlist with the init segment mapped', () => {
    expect(text.split('\n').slice(0, 7)).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:6',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MAP:URI="init.mp4"',
    ]);
    expect(text.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it('lists every segment in order with its duration', () => {
    expect(parseMediaPlaylist(text)).toEqual({ initUri: 'init.mp4', segments: segments.map(({ uri, duration }) => ({ uri, duration })) });
  });

  it('rounds the target duration up from the longest segment, ignoring float noise', () => {
    expect(hlsMediaPlaylist([{ uri: 'a', duration: 6.006 }])).toContain('#EXT-X-TARGETDURATION:7');
    expect(hlsMediaPlaylist([{ uri: 'a', duration: 5.999_999_999_7 }])).toContain('#EXT-X-TARGETDURATION:6');
  });

  it('reads ffmpeg 4.1 playlists', () => {
    const ffmpeg = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="c0001-init.mp4"\n#EXTINF:6.000000,\nc0001-s000.m4s\n#EXTINF:5.972633,\nc0001-s001.m4s\n#EXT-X-ENDLIST\n';
    expect(parseMediaPlaylist(ffmpeg)).toEqual({
      initUri: 'c0001-init.mp4',
      segments: [
        { uri: 'c0001-s000.m4s', duration: 6 },
        { uri: 'c0001-s001.m4s', duration: 5.972633 },
      ],
    });
    expect(() => parseMediaPlaylist('<html>')).toThrow(/EXTM3U/);
  });
});

describe('bitrates', () => {
  it('measures the peak segment and the overall average', () => {
    expect(measureBitrates(segments)).toEqual({ peak: 1_000_000, average: Math.ceil((1_900_000 * 8) / 20.5) });
  });
});

describe('HLS master playlist', () => {
  const text = hlsMasterPlaylist({
    variants: ladder.map((v) => ({ ...v, uri: `../media/${v.name}/playlist.m3u8` })),
    audio: { ...audio, uri: '../media/audio/playlist.m3u8' },
  });
  const streamInfs = text.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF'));

  it('declares audio as its own rendition group', () => {
    expect(text).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="../media/audio/playlist.m3u8"');
    for (const line of streamInfs) expect(line).toContain('AUDIO="aud"');
  });

  it('describes every variant: bandwidth with audio, resolution, codecs, frame rate', () => {
    expect(streamInfs).toHaveLength(4);
    expect(text).toContain(
      '#EXT-X-STREAM-INF:BANDWIDTH=5130000,AVERAGE-BANDWIDTH=4128000,RESOLUTION=1920x1080,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=30.000,AUDIO="aud",CLOSED-CAPTIONS=NONE\n../media/1080p/playlist.m3u8',
    );
  });

  it('lists first the sharpest variant whose first segment fits 1 MB, the rest ascending', () => {
    expect(streamInfs.map((l) => /RESOLUTION=(\S+?),/.exec(l)?.[1])).toEqual(['640x360', '256x144', '1280x720', '1920x1080']);
  });

  it('leaves audio out of a video-only master', () => {
    const silent = hlsMasterPlaylist({ variants: [{ ...ladder[1]!, uri: 'a.m3u8' }] });
    expect(silent).not.toContain('EXT-X-MEDIA');
    expect(silent).toContain('CODECS="avc1.64001f"');
    expect(silent).not.toContain('AUDIO=');
  });

  it('starts on the smallest variant when none fits the budget', () => {
    expect(orderVariants(ladder, 100_000).map((v) => v.name)).toEqual(['144p', '360p', '720p', '1080p']);
  });
});

describe('DASH manifest', () => {
  const mpd = dashManifest({
    durationSeconds: 20.5,
    segmentSeconds: 6,
    video: ladder.map((v) => ({ ...v, baseUrl: `../media/${v.name}/`, initUri: 'init.mp4', segments })),
    audio: { ...audio, baseUrl: '../media/audio/', initUri: 'init.mp4', segments: [{ uri: 'a&b.m4s', duration: 20.5, bytes: 1 }] },
  });

  it('is a static on-demand MPD over the same fMP4 files', () => {
    expect(mpd).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"/);
    expect(mpd).toContain('type="static"');
    expect(mpd).toContain('mediaPresentationDuration="PT20.500S"');
    expect(mpd).toContain('<Initialization sourceURL="init.mp4"/>');
    expect(mpd).toContain('<SegmentURL media="c0001-s001.m4s"/>');
  });

  it('has one video adaptation set with a representation per rung, largest first, and one audio set', () => {
    expect(mpd.match(/<AdaptationSet /g)).toHaveLength(2);
    const reps = [...mpd.matchAll(/<Representation id="([^"]+)"/g)].map((m) => m[1]);
    expect(reps).toEqual(['1080p', '720p', '360p', '144p', 'audio']);
    expect(mpd).toContain('<Representation id="720p" bandwidth="2500000" codecs="avc1.64001f" width="1280" height="720" frameRate="30" sar="1:1">');
    expect(mpd).toContain('audioSamplingRate="48000"');
  });

  it('times segments on a 90 kHz timeline with runs of equal durations', () => {
    expect(mpd).toContain('<S t="0" d="540000" r="2"/>');
    expect(mpd).toContain('<S d="225000"/>');
  });

  it('escapes XML in attributes', () => {
    expect(mpd).toContain('media="a&amp;b.m4s"');
  });

  it('writes ISO 8601 durations', () => {
    expect(isoDuration(3725.5)).toBe('PT1H2M5.500S');
    expect(isoDuration(59)).toBe('PT59.000S');
  });
});

describe('storyboard VTT', () => {
  const vtt = storyboardVtt({ imageUri: 'storyboard.jpg', durationSeconds: 25.5, intervalSeconds: 1, count: 26, columns: 10, tileWidth: 160, tileHeight: 90 });
  const cues = vtt.trimEnd().split('\n\n').slice(1);

  it('indexes each tile of the sprite by its position', () => {
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    expect(cues[0]).toBe('00:00:00.000 --> 00:00:01.000\nstoryboard.jpg#xywh=0,0,160,90');
    expect(cues[11]).toBe('00:00:11.000 --> 00:00:12.000\nstoryboard.jpg#xywh=160,90,160,90');
  });

  it('covers the whole duration without gaps', () => {
    expect(cues).toHaveLength(26);
    expect(cues.at(-1)).toBe('00:00:25.000 --> 00:00:25.500\nstoryboard.jpg#xywh=800,180,160,90');
  });

  it('formats hour-long timestamps', () => {
    expect(vttTime(3723.25)).toBe('01:02:03.250');
  });
});
