/**
 * Just enough ISO BMFF (MP4) to package what ffmpeg wrote: the codec string and timescale of an
 * init segment, and moving a media segment along the timeline. Boxes are walked by their sizes;
 * nothing is decoded.
 */

interface Box {
  readonly type: string;
  /** Offset of the box header. */
  readonly start: number;
  /** Offset of the payload (after size, type and any 64-bit size). */
  readonly body: number;
  readonly end: number;
}

function* boxes(buf: Uint8Array, from: number, to: number): Generator<Box> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(buf[at + 4]!, buf[at + 5]!, buf[at + 6]!, buf[at + 7]!);
    let body = at + 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      body = at + 16;
    } else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) throw new Error(`malformed MP4 box ${JSON.stringify(type)} at ${at}`);
    yield { type, start: at, body, end: at + size };
    at += size;
  }
}

/** The first box of `type` on `path` (e.g. `['moov','trak','mdia','mdhd']`), or undefined. */
function find(buf: Uint8Array, path: readonly string[], from = 0, to = buf.length): Box | undefined {
  const [head, ...rest] = path;
  for (const box of boxes(buf, from, to)) {
    if (box.type !== head) continue;
    if (rest.length === 0) return box;
    // Sample descriptions hold their entries after a fixed header: stsd has version/flags and a
    // count; a visual sample entry 78 bytes of fields; an audio sample entry (v0) 28.
    const skip = box.type === 'stsd' ? 8 : box.type === 'avc1' || box.type === 'avc3' ? 78 : box.type === 'mp4a' ? 28 : 0;
    const found = find(buf, rest, box.body + skip, box.end);
    if (found) return found;
  }
  return undefined;
}

const view = (buf: Uint8Array) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** What the package step needs from an init segment. */
export interface InitInfo {
  /** Media timescale (ticks per second) of the track, from `mdhd`. */
  readonly timescale: number;
  /** RFC 6381 codec string from the real stream: `avc1.64001f`, `mp4a.40.2`. */
  readonly codecs: string;
  /** Audio only: channel count and sample rate from the sample entry. */
  readonly channels?: number;
  readonly sampleRate?: number;
}

/** Reads the first track's timescale and codec string from an fMP4 init segment. */
export function readInit(init: Uint8Array): InitInfo {
  const trak = ['moov', 'trak', 'mdia'];
  const mdhd = find(init, [...trak, 'mdhd']);
  if (!mdhd) throw new Error('init segment has no mdhd box');
  const v = view(init);
  const timescale = v.getUint32(mdhd.body + (init[mdhd.body] === 1 ? 20 : 12));
  const stsd = [...trak, 'minf', 'stbl', 'stsd'];
  const avcC = find(init, [...stsd, 'avc1', 'avcC']) ?? find(init, [...stsd, 'avc3', 'avcC']);
  if (avcC) {
    // AVCDecoderConfigurationRecord: version, profile_idc, constraint flags, level_idc.
    const [profile, compat, level] = [init[avcC.body + 1]!, init[avcC.body + 2]!, init[avcC.body + 3]!];
    return { timescale, codecs: `avc1.${hex2(profile)}${hex2(compat)}${hex2(level)}` };
  }
  const mp4a = find(init, [...stsd, 'mp4a']);
  const esds = find(init, [...stsd, 'mp4a', 'esds']);
  if (mp4a && esds) {
    const entry = mp4a.body;
    return {
      timescale,
      codecs: mp4aCodec(init, esds.body + 4, esds.end),
      channels: v.getUint16(entry + 16),
      sampleRate: v.getUint32(entry + 24) >>> 16,
    };
  }
  throw new Error('init segment has neither an avc1 nor an mp4a sample entry');
}

/** `mp4a.<objectTypeIndication>.<audioObjectType>` from an ES descriptor (ISO 14496-1). */
function mp4aCodec(buf: Uint8Array, from: number, to: number): string {
  let at = from;
  const descriptor = (): { tag: number; end: number } => {
    const tag = buf[at++]!;
    let size = 0;
    for (let i = 0; i < 4; i++) {
      const b = buf[at++]!;
      size = (size << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return { tag, end: at + size };
  };
  let oti: number | undefined;
  while (at < to) {
    const d = descriptor();
    if (d.tag === 0x03) {
      // ES_ID, then flags announcing optional fields: depends-on id, URL, OCR stream id.
      const flags = buf[at + 2]!;
      at += 3;
      if (flags & 0x80) at += 2;
      if (flags & 0x40) at += 1 + buf[at]!;
      if (flags & 0x20) at += 2;
    } else if (d.tag === 0x04) {
      oti = buf[at]!;
      at += 13;
    } else if (d.tag === 0x05) {
      let aot = buf[at]! >> 3;
      if (aot === 31) aot = 32 + (((buf[at]! & 0x07) << 3) | (buf[at + 1]! >> 5));
      return `mp4a.${hex2(oti ?? 0x40)}.${aot}`;
    } else at = d.end;
  }
  throw new Error('esds box has no AudioSpecificConfig');
}

/**
 * Moves a media segment `ticks` (in the track timescale) along the timeline, in place: every
 * `tfdt` base media decode time, and the `sidx` earliest presentation time (rescaled to its own
 * timescale). The chunked transcode needs this because ffmpeg 4.1's fMP4 muxer starts each
 * process's decode timeline at zero: `-output_ts_offset` only becomes an empty edit in that
 * process's init segment, which a shared init cannot carry.
 */
export function shiftSegment(segment: Uint8Array, ticks: number, timescale: number): void {
  if (!Number.isSafeInteger(ticks) || ticks < 0) throw new RangeError(`cannot shift by ${ticks} ticks`);
  const v = view(segment);
  const add = (at: number, version: number, delta: bigint, what: string) => {
    if (version === 1) v.setBigUint64(at, v.getBigUint64(at) + delta);
    else {
      const value = BigInt(v.getUint32(at)) + delta;
      if (value > 0xffffffffn) throw new RangeError(`${what} overflows 32 bits; the muxer wrote a version 0 box`);
      v.setUint32(at, Number(value));
    }
  };
  for (const box of boxes(segment, 0, segment.length)) {
    if (box.type === 'sidx') {
      const version = segment[box.body]!;
      const sidxTimescale = v.getUint32(box.body + 8);
      add(box.body + 12, version, BigInt(Math.round((ticks * sidxTimescale) / timescale)), 'sidx');
    } else if (box.type === 'moof') {
      for (const traf of boxes(segment, box.body, box.end)) {
        if (traf.type !== 'traf') continue;
        for (const tfdt of boxes(segment, traf.body, traf.end)) {
          if (tfdt.type === 'tfdt') add(tfdt.body + 4, segment[tfdt.body]!, BigInt(ticks), 'tfdt');
        }
      }
    }
  }
}

/** The first `tfdt` base media decode time of a segment, in ticks (for checks and tests). */
export function firstDecodeTime(segment: Uint8Array): number | undefined {
  const v = view(segment);
  for (const box of boxes(segment, 0, segment.length)) {
    if (box.type !== 'moof') continue;
    const tfdt = find(segment, ['traf', 'tfdt'], box.body, box.end);
    if (tfdt) return segment[tfdt.body] === 1 ? Number(v.getBigUint64(tfdt.body + 4)) : v.getUint32(tfdt.body + 4);
  }
  return undefined;
}
