import { describe, expect, it } from 'vitest';
import type { Probe } from '#contracts/workflow';
import { AppError } from '#domain/errors';
import {
  chunkFrames,
  DEFAULT_MEDIA_LIMITS,
  formatDuration,
  InvalidMediaError,
  maxPixelsFor,
  outputFrameRate,
  planChunks,
  planJob,
  planLadder,
  segmentKeyframes,
  validateProbe,
  type SourceProbe,
} from '#domain/media';

const probe = (overrides: Partial<SourceProbe> = {}): SourceProbe => ({
  durationSeconds: 30,
  width: 1920,
  height: 1080,
  fps: 30,
  rotation: 0,
  hasAudio: true,
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  videoCodec: 'h264',
  streamCount: 2,
  ...overrides,
});

const names = (p: Pick<Probe, 'width' | 'height' | 'fps'>) => planLadder(p).map((r) => r.name);
const sizes = (p: Pick<Probe, 'width' | 'height' | 'fps'>) => planLadder(p).map((r) => `${r.width}x${r.height}`);

const rejection = (p: SourceProbe) => {
  try {
    validateProbe(p);
  } catch (error) {
    return error;
  }
  throw new Error('expected validateProbe to throw');
};

describe('planLadder', () => {
  it('gives a 360p source 144p, 240p and 360p only', () => {
    expect(names({ width: 640, height: 360, fps: 30 })).toEqual(['144p', '240p', '360p']);
  });

  it('gives a 1080p source every rung up to 1080p with 16:9 even sizes', () => {
    expect(sizes({ width: 1920, height: 1080, fps: 30 })).toEqual(['256x144', '426x240', '640x360', '854x480', '1280x720', '1920x1080']);
  });

  it('keeps a portrait source portrait, rungs named by their short side', () => {
    const ladder = planLadder({ width: 1080, height: 1920, fps: 30 });
    expect(ladder.map((r) => r.name)).toEqual(['144p', '240p', '360p', '480p', '720p', '1080p']);
    expect(ladder.at(-1)).toMatchObject({ width: 1080, height: 1920 });
    expect(ladder[0]).toMatchObject({ width: 144, height: 256 });
    for (const r of ladder) expect(r.height).toBeGreaterThan(r.width);
  });

  it('gives a 4K source all eight rungs, in either orientation', () => {
    expect(names({ width: 3840, height: 2160, fps: 30 })).toHaveLength(8);
    expect(planLadder({ width: 2160, height: 3840, fps: 30 }).at(-1)).toMatchObject({ name: '2160p', width: 2160, height: 3840 });
  });

  it('never upscales: every rung fits inside the source', () => {
    for (const [w, h] of [
      [1280, 718],
      [1920, 800],
      [1440, 1080],
      [1000, 1000],
      [720, 480],
      [3840, 1600],
    ] as const) {
      for (const r of planLadder({ width: w, height: h, fps: 25 })) {
        expect(r.width, `${w}x${h} ${r.name}`).toBeLessThanOrEqual(w);
        expect(r.height, `${w}x${h} ${r.name}`).toBeLessThanOrEqual(h);
        expect(r.width % 2 + (r.height % 2)).toBe(0);
      }
    }
  });

  it('labels a wide scope film by its box: 1920x800 is the 1080p rung, not upscaled', () => {
    expect(planLadder({ width: 1920, height: 800, fps: 24 }).at(-1)).toMatchObject({ name: '1080p', width: 1920, height: 800 });
  });

  it('keeps a 1280x718 source at 720p rather than dropping to 480p', () => {
    expect(planLadder({ width: 1280, height: 718, fps: 30 }).at(-1)).toMatchObject({ name: '720p', width: 1280, height: 718 });
  });

  it('gives a source smaller than 144p one rendition at its own size', () => {
    expect(planLadder({ width: 160, height: 120, fps: 15 })).toEqual([expect.objectContaining({ name: '144p', width: 160, height: 120 })]);
  });

  it('raises bitrates by half above 30 fps and keeps the cap above the average', () => {
    const at30 = planLadder({ width: 1920, height: 1080, fps: 30 }).at(-1)!;
    const at60 = planLadder({ width: 1920, height: 1080, fps: 60 }).at(-1)!;
    expect(at30).toMatchObject({ videoBitrate: 5_000_000, maxBitrate: 7_500_000 });
    expect(at60.videoBitrate).toBe(7_500_000);
    for (const r of planLadder({ width: 3840, height: 2160, fps: 30 })) expect(r.maxBitrate).toBeGreaterThan(r.videoBitrate);
  });
});

describe('planChunks', () => {
  it('cuts 30 s into 12 + 12 + 6 on segment boundaries', () => {
    expect(planChunks(30, 6, 12)).toEqual([
      { index: 0, start: 0, duration: 12 },
      { index: 1, start: 12, duration: 12 },
      { index: 2, start: 24, duration: 6 },
    ]);
  });

  it('merges a remainder shorter than one segment into the chunk before it', () => {
    expect(planChunks(25, 6, 12)).toEqual([
      { index: 0, start: 0, duration: 12 },
      { index: 1, start: 12, duration: 13 },
    ]);
  });

  it('keeps a remainder of at least one segment as its own chunk', () => {
    expect(planChunks(31, 6, 12).map((c) => c.duration)).toEqual([12, 12, 7]);
    expect(planChunks(36.5, 6, 12).map((c) => c.duration)).toEqual([12, 12, 12.5]);
  });

  it('rounds the target down to whole segments, never below one', () => {
    expect(planChunks(20, 6, 10).map((c) => c.start)).toEqual([0, 6, 12]);
    expect(planChunks(20, 6, 1).map((c) => c.start)).toEqual([0, 6, 12]);
  });

  it('makes one chunk of a short video', () => {
    expect(planChunks(4.2)).toEqual([{ index: 0, start: 0, duration: 4.2 }]);
  });

  it('covers the duration exactly, starts on segment multiples', () => {
    const chunks = planChunks(3 * 3600 + 17.3, 6, 60);
    expect(chunks.reduce((sum, c) => sum + c.duration, 0)).toBeCloseTo(3 * 3600 + 17.3, 6);
    for (const [i, c] of chunks.entries()) {
      expect(c.index).toBe(i);
      expect(c.start % 6).toBe(0);
      if (i > 0) expect(c.start).toBeCloseTo(chunks[i - 1]!.start + chunks[i - 1]!.duration, 9);
    }
  });

  it('grows chunks rather than exceed the chunk cap', () => {
    const chunks = planChunks(4 * 3600, 6, 6, 400);
    expect(chunks.length).toBeLessThanOrEqual(400);
    expect(chunks[1]!.start % 6).toBe(0);
  });

  it('rejects a zero duration', () => {
    expect(() => planChunks(0)).toThrow(RangeError);
  });
});

describe('frame-exact chunks', () => {
  it('keeps the source rate when it is a broadcast rate, snapping a phone jitter to it', () => {
    expect(outputFrameRate(30)).toEqual({ num: 30, den: 1 });
    expect(outputFrameRate(29.97)).toEqual({ num: 30000, den: 1001 });
    expect(outputFrameRate(30.02)).toEqual({ num: 30, den: 1 });
    expect(outputFrameRate(23.976)).toEqual({ num: 24000, den: 1001 });
  });

  it('halves rates above 60 fps and keeps unusual ones to a thousandth', () => {
    expect(outputFrameRate(120)).toEqual({ num: 60, den: 1 });
    expect(outputFrameRate(119.88)).toEqual({ num: 60000, den: 1001 });
    expect(outputFrameRate(100)).toEqual({ num: 50, den: 1 });
    expect(outputFrameRate(15)).toEqual({ num: 15, den: 1 });
    expect(outputFrameRate(12.5)).toEqual({ num: 25, den: 2 });
  });

  it('gives adjacent chunks adjoining frame ranges at 29.97 fps', () => {
    const rate = outputFrameRate(29.97);
    const chunks = planChunks(61, 6, 12);
    let next = 0;
    for (const c of chunks) {
      const f = chunkFrames(c, rate);
      expect(f.first).toBe(next);
      next = f.first + f.count;
    }
    expect(next).toBe(Math.ceil(61 * (30000 / 1001)));
  });

  it('forces keyframes every segment of the chunk clock, merging a short tail', () => {
    expect(segmentKeyframes(360, { num: 30, den: 1 }, 6)).toEqual([0, 180]);
    expect(segmentKeyframes(390, { num: 30, den: 1 }, 6)).toEqual([0, 180, 360]);
    expect(segmentKeyframes(375, { num: 30, den: 1 }, 6)).toEqual([0, 180]);
    // 29.97 fps: the 6 s mark falls between frames 179 and 180; frame 180 is at or after it.
    expect(segmentKeyframes(360, { num: 30000, den: 1001 }, 6)).toEqual([0, 180]);
  });
});

describe('validateProbe', () => {
  it('accepts a 1080p30 clip and 4K portrait at 120 fps', () => {
    expect(() => validateProbe(probe())).not.toThrow();
    expect(() => validateProbe(probe({ width: 2160, height: 3840, fps: 119.88 }))).not.toThrow();
  });

  it.each([
    ['TooLong', probe({ durationSeconds: 36_000 })],
    ['ResolutionTooHigh', probe({ width: 8192, height: 8192 })],
    ['ResolutionTooHigh', probe({ width: 4096, height: 2160 })],
    ['ResolutionTooHigh', probe({ width: 2400, height: 2400 })],
    ['FrameRateTooHigh', probe({ fps: 240 })],
    ['TooManyStreams', probe({ streamCount: 17 })],
    ['Corrupt', probe({ durationSeconds: Number.NaN })],
    ['Corrupt', probe({ width: 0 })],
    ['Corrupt', probe({ fps: Number.NaN })],
  ] as const)('rejects with %s', (code, p) => {
    const error = rejection(p);
    expect(error).toBeInstanceOf(InvalidMediaError);
    expect(error).toMatchObject({ name: 'InvalidMediaError', code, statusCode: 422 });
  });

  it('tells the creator the measured value and the limit', () => {
    expect(rejection(probe({ durationSeconds: 36_000 }))).toMatchObject({ message: expect.stringMatching(/10:00:00.*4:00:00/) });
    expect(rejection(probe({ width: 8192, height: 8192 }))).toMatchObject({ message: expect.stringMatching(/8192×8192.*3840×2160/) });
  });

  it('is an AppError a Step Functions Catch can match by name', () => {
    const error = new InvalidMediaError('NotAVideo');
    expect(error).toBeInstanceOf(AppError);
    expect(error.name).toBe('InvalidMediaError');
    expect(error.message).toMatch(/not a video/);
  });

  it('caps decoders just above the largest allowed frame, stride-aligned portrait included', () => {
    expect(maxPixelsFor(DEFAULT_MEDIA_LIMITS)).toBeGreaterThanOrEqual(2176 * 3840);
    expect(maxPixelsFor(DEFAULT_MEDIA_LIMITS)).toBeLessThan(4096 * 2304);
  });

  it('formats durations for people', () => {
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});

describe('planJob', () => {
  it('plans ladder, chunks and audio from the probe', () => {
    const plan = planJob(probe({ width: 640, height: 360, hasAudio: false }), { targetChunkSeconds: 12 });
    expect(plan.segmentSeconds).toBe(6);
    expect(plan.rungs.map((r) => r.name)).toEqual(['144p', '240p', '360p']);
    expect(plan.chunks).toHaveLength(3);
    expect(plan.audio).toBe(false);
  });

  it('keeps only the requested rungs that fit', () => {
    const plan = planJob(probe(), { rungs: ['1080p', '720p', '360p', '144p', '2160p'] });
    expect(plan.rungs.map((r) => r.name)).toEqual(['144p', '360p', '720p', '1080p']);
  });
});
