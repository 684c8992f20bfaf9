import { describe, expect, it } from 'vitest';
import { PASSWORD_RULES, passwordMeetsRules } from '../../web/src/auth/password-rules.ts';
import { claimsOf } from '../../web/src/auth/tokens.ts';
import { parseStoryboard, tileAt } from '../../web/src/player/storyboard.ts';
import { formatBytes, formatClock, formatTimeLeft, sentence, spokenClock } from '../../web/src/ui/format.ts';

describe('storyboard WebVTT', () => {
  const vtt = [
    'WEBVTT',
    '',
    '00:00:00.000 --> 00:00:05.000',
    'storyboard.jpg#xywh=0,0,160,90',
    '',
    'tile-2',
    '00:05.000 --> 00:10.500',
    'storyboard.jpg#xywh=160,0,160,90',
    '',
    '00:00:10.500 --> 00:00:15.000',
    'storyboard.jpg#xywh=320,0,160,90',
    '',
  ].join('\r\n');

  it('reads one tile per cue, with or without hours and cue identifiers', () => {
    const tiles = parseStoryboard(vtt);
    expect(tiles).toHaveLength(3);
    expect(tiles[1]).toEqual({ start: 5, end: 10.5, image: 'storyboard.jpg', x: 160, y: 0, width: 160, height: 90 });
  });

  it('finds the tile for a time, and the last one past the end', () => {
    const tiles = parseStoryboard(vtt);
    expect(tileAt(tiles, 0)?.x).toBe(0);
    expect(tileAt(tiles, 10.49)?.x).toBe(160);
    expect(tileAt(tiles, 10.5)?.x).toBe(320);
    expect(tileAt(tiles, 99)?.x).toBe(320);
    expect(tileAt([], 1)).toBeUndefined();
  });

  it('resolves sprite URLs against the VTT URL, keeping the signed path', () => {
    const vttUrl = 'https://cdn.test/v/AAAAAAAAAAA/1764000000.k1.abcdef/thumbs/storyboard.vtt';
    const [tile] = parseStoryboard(vtt);
    expect(new URL(tile!.image, vttUrl).href).toBe('https://cdn.test/v/AAAAAAAAAAA/1764000000.k1.abcdef/thumbs/storyboard.jpg');
  });

  it('skips cues that are not sprite tiles', () => {
    expect(parseStoryboard('WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n')).toEqual([]);
  });
});

describe('password rules', () => {
  it('match the user pool policy: 12+ characters with upper, lower, digit and symbol', () => {
    expect(passwordMeetsRules('Abcdefghij1!')).toBe(true);
    expect(passwordMeetsRules('Abcdefghi1!')).toBe(false);
    expect(passwordMeetsRules('abcdefghij1!')).toBe(false);
    expect(passwordMeetsRules('ABCDEFGHIJ1!')).toBe(false);
    expect(passwordMeetsRules('Abcdefghijk!')).toBe(false);
    expect(passwordMeetsRules('Abcdefghijk1')).toBe(false);
    expect(PASSWORD_RULES.find((r) => r.id === 'symbol')!.test('a b')).toBe(true);
  });
});

describe('formatting', () => {
  it('formats sizes, times and messages for people', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(21_000_000)).toBe('21.0 MB');
    expect(formatTimeLeft(75)).toBe('1 min 15 s');
    expect(formatTimeLeft(3725)).toBe('1 h 2 min');
    expect(formatClock(65.9)).toBe('1:05');
    expect(formatClock(3725)).toBe('1:02:05');
    expect(spokenClock(61)).toBe('1 minute 1 second');
    expect(sentence('title must not be empty')).toBe('Title must not be empty.');
  });

  it('reads who is signed in from an ID token', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'u-1', email: 'ünïcode@example.com', exp: 1 })).toString('base64url');
    expect(claimsOf(`h.${payload}.s`)).toMatchObject({ sub: 'u-1', email: 'ünïcode@example.com' });
  });
});
