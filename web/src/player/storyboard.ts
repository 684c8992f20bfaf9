/**
 * Seek-bar previews: the storyboard WebVTT that the pipeline writes beside a sprite image, with
 * one cue per tile, e.g.
 *
 *   00:00:05.000 --> 00:00:10.000
 *   storyboard.jpg#xywh=160,0,160,90
 *
 * Image URLs are relative to the VTT's own URL (which carries the playback signature in its path,
 * so the resolved sprite URL does too).
 */
export interface StoryboardTile {
  readonly start: number;
  readonly end: number;
  /** The image URL as written in the VTT (resolve it against the VTT's URL). */
  readonly image: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** `hh:mm:ss.ttt` or `mm:ss.ttt` → seconds. */
function seconds(stamp: string): number | undefined {
  const match = /^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$/.exec(stamp.trim());
  if (!match) return undefined;
  const [, h = '0', m = '0', s = '0', ms = '0'] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms.padEnd(3, '0')) / 1000;
}

export function parseStoryboard(vtt: string): StoryboardTile[] {
  const tiles: StoryboardTile[] = [];
  const lines = vtt.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const timing = /^\s*(\S+)\s+-->\s+(\S+)/.exec(lines[i]!);
    if (!timing) continue;
    const start = seconds(timing[1]!);
    const end = seconds(timing[2]!);
    const payload = lines[i + 1]?.trim() ?? '';
    const tile = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload);
    if (start === undefined || end === undefined || !tile) continue;
    tiles.push({
      start,
      end,
      image: tile[1]!,
      x: Number(tile[2]),
      y: Number(tile[3]),
      width: Number(tile[4]),
      height: Number(tile[5]),
    });
  }
  return tiles.sort((a, b) => a.start - b.start);
}

/** The tile showing `time` (the last one past the end). */
export function tileAt(tiles: readonly StoryboardTile[], time: number): StoryboardTile | undefined {
  let low = 0;
  let high = tiles.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const tile = tiles[mid]!;
    if (time < tile.start) high = mid - 1;
    else if (time >= tile.end) low = mid + 1;
    else return tile;
  }
  return tiles[Math.min(Math.max(high, 0), tiles.length - 1)];
}
