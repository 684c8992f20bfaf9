import { createRequire } from 'node:module';
import { Agent, request } from 'node:http';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { z, type ZodType } from 'zod';
import {
  CompleteUploadRequest,
  FeedQuery,
  ListVideosQuery,
  RecordViewRequest,
  SearchQuery,
  StartPosterUploadRequest,
  StartUploadRequest,
  UpdateProfileRequest,
  UpdateVideoRequest,
  VideoId,
} from '#contracts/api';
import type { Route } from '#contracts/routes';

// A seeded PRNG, so a failing run reproduces with `FUZZ_SEED=<seed>`.

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** A random string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
    const chars = [...alphabet];
    return Array.from({ length }, () => this.pick(chars)).join('');
  }
}

/** The run's seed: `FUZZ_SEED` when set (to replay a failure), else a fresh one. */
export function fuzzSeed(): number {
  const fromEnv = process.env['FUZZ_SEED'];
  return fromEnv ? Number(fromEnv) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}

// What each route takes. The schemas are the ones the handlers parse with (`#contracts/api`);
// path parameters are the handlers' `z.object({...})`. A route missing here fails the suite.

/** What a route is given to work on: the fuzzing user's own things, so a valid request would succeed. */
export interface Fixtures {
  readonly userId: string;
  /** A ready video of the user's. */
  readonly readyId: string;
  /** A video of the user's still waiting for its upload (one 1-byte part). */
  readonly pendingId: string;
  /** A `nextCursor` of the user's own video list. */
  readonly myCursor: string;
  /** A `nextCursor` of the user's channel as the user sees it. */
  readonly channelCursor: string;
  /** A `nextCursor` of a search for {@link searchWord} by the user. */
  readonly searchCursor: string;
  readonly searchWord: string;
}

/** A request as parts: path parameters, query, body. */
export interface RequestParts {
  readonly params?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: unknown;
}

/** A request the schemas accept but the domain must refuse, with the status it answers. */
export interface RefusedCase extends RequestParts {
  readonly name: string;
  readonly status: number;
  readonly anonymous?: boolean;
}

export interface RouteInputs {
  readonly params?: Readonly<Record<string, ZodType>>;
  readonly query?: ZodType;
  readonly body?: ZodType;
  /** A request the route accepts for the fuzzing user; every generated request is a broken copy of it. */
  readonly valid: (f: Fixtures) => RequestParts;
  readonly refused?: (f: Fixtures, rng: Rng) => RefusedCase[];
}

/** `list-channel.ts`'s path parameter. */
const ChannelUserId = z.string().min(1).max(128);
const videoParam = { id: VideoId } as const;
const randomId = (rng: Rng) => rng.string(11, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
const unknownVideo = (f: Fixtures, rng: Rng, status = 404): RefusedCase => ({ name: 'a video that does not exist', params: { id: randomId(rng) }, status });

/**
 * Cursors that were never issued, or were issued for something else, or (`signed`) altered. An
 * unsigned cursor (a user's list, a channel) is documented as carrying no secret: an altered one
 * that still decodes to a position in the same list is fine, so only signed ones get byte flips.
 */
function forgedCursors(real: string, rng: Rng, other: Record<string, unknown>, signed: boolean): string[] {
  const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const decoded = signed ? {} : (JSON.parse(Buffer.from(real, 'base64url').toString()) as Record<string, unknown>);
  return [
    ...(signed ? [flip(real, rng.int(real.length)), flip(real, real.length - 1), `${real}x`, real.slice(0, -2)] : []),
    ...Object.keys(decoded).flatMap((key) => [b64({ ...decoded, [key]: undefined }), b64({ ...decoded, [key]: 42 }), b64({ ...decoded, [key]: 'x' })]),
    b64({ ...decoded, extra: 1 }),
    b64(other),
    b64({}),
    b64([]),
    b64('x'),
    b64(null),
    rng.string(40),
    'eyJ9',
    '..',
    '.',
    'a.b',
    'a.b.c',
    `${b64(other)}.${rng.string(43)}`,
    Buffer.from('\u0000\u0001garbage').toString('base64'),
    '%00',
    'null',
    'undefined',
    '😀',
    'x'.repeat(2048),
  ];
}

export const routeInputs: Readonly<Record<string, RouteInputs>> = {
  StartUpload: {
    body: StartUploadRequest,
    valid: () => ({ body: { title: 'Fuzz', visibility: 'private', fileName: 'a.mp4', fileSize: 1000, contentType: 'video/mp4' } }),
    refused: () => [
      { name: 'over the size limit', body: { title: 'Fuzz', visibility: 'private', fileName: 'a.mp4', fileSize: 20 * 2 ** 30 + 1, contentType: 'video/mp4' }, status: 413 },
      { name: 'at the largest safe integer', body: { title: 'Fuzz', visibility: 'private', fileName: 'a.mp4', fileSize: Number.MAX_SAFE_INTEGER, contentType: 'video/mp4' }, status: 413 },
    ],
  },
  GetUpload: {
    params: videoParam,
    valid: (f) => ({ params: { id: f.pendingId } }),
    refused: (f, rng) => [unknownVideo(f, rng), { name: 'a ready video', params: { id: f.readyId }, status: 409 }],
  },
  CompleteUpload: {
    params: videoParam,
    body: CompleteUploadRequest,
    valid: (f) => ({ params: { id: f.pendingId }, body: { parts: [{ partNumber: 1, etag: '"0"' }] } }),
    refused: (f, rng) => [
      { ...unknownVideo(f, rng), body: { parts: [{ partNumber: 1, etag: '"0"' }] } },
      { name: 'a part that was never uploaded', params: { id: f.pendingId }, body: { parts: [{ partNumber: 1, etag: `"${rng.string(32, '0123456789abcdef')}"` }] }, status: 400 },
      { name: 'a part the upload does not have', params: { id: f.pendingId }, body: { parts: [{ partNumber: 1, etag: '"0"' }, { partNumber: 2, etag: '"0"' }] }, status: 400 },
      { name: 'the wrong part number', params: { id: f.pendingId }, body: { parts: [{ partNumber: 9999, etag: '"0"' }] }, status: 400 },
    ],
  },
  AbortUpload: {
    params: videoParam,
    valid: (f) => ({ params: { id: f.pendingId } }),
    refused: (f, rng) => [unknownVideo(f, rng), { name: 'a ready video', params: { id: f.readyId }, status: 409 }],
  },
  GetVideoStatus: { params: videoParam, valid: (f) => ({ params: { id: f.readyId } }), refused: (f, rng) => [unknownVideo(f, rng)] },
  GetVideo: { params: videoParam, valid: (f) => ({ params: { id: f.readyId } }), refused: (f, rng) => [unknownVideo(f, rng)] },
  GetStream: {
    params: videoParam,
    valid: (f) => ({ params: { id: f.readyId } }),
    refused: (f, rng) => [unknownVideo(f, rng), { name: 'a video not ready', params: { id: f.pendingId }, status: 409 }],
  },
  UpdateVideo: {
    params: videoParam,
    body: UpdateVideoRequest,
    valid: (f) => ({ params: { id: f.readyId }, body: { title: 'Fuzzed title' } }),
    refused: (f, rng) => [
      { ...unknownVideo(f, rng), body: { title: 'x' } },
      { name: 'a stale version', params: { id: f.readyId }, body: { title: 'x', version: 1_000_000 + rng.int(1000) }, status: 409 },
      { name: 'a poster key of another video', params: { id: f.readyId }, body: { poster: { uploaded: `videos/${randomId(rng)}/thumbs/custom-abc.jpg` } }, status: 400 },
      { name: 'a poster key that climbs out', params: { id: f.readyId }, body: { poster: { uploaded: `videos/${f.readyId}/thumbs/custom-../../../x.jpg` } }, status: 400 },
      { name: 'a poster key never uploaded', params: { id: f.readyId }, body: { poster: { uploaded: `videos/${f.readyId}/thumbs/custom-${rng.string(16)}.png` } }, status: 400 },
      { name: 'a poster for a video not ready', params: { id: f.pendingId }, body: { poster: { candidate: 0 } }, status: 409 },
    ],
  },
  StartPosterUpload: {
    params: videoParam,
    body: StartPosterUploadRequest,
    valid: (f) => ({ params: { id: f.readyId }, body: { contentType: 'image/png', size: 1000 } }),
    refused: (f, rng) => [
      { ...unknownVideo(f, rng), body: { contentType: 'image/png', size: 1000 } },
      { name: 'a video not ready', params: { id: f.pendingId }, body: { contentType: 'image/jpeg', size: 1 }, status: 409 },
    ],
  },
  DeleteVideo: { params: videoParam, valid: (f) => ({ params: { id: f.readyId } }), refused: (f, rng) => [unknownVideo(f, rng)] },
  ListMyVideos: {
    query: ListVideosQuery,
    valid: () => ({ query: { limit: '10' } }),
    refused: (f, rng) =>
      forgedCursors(f.myCursor, rng, { o: 'someone-else', c: new Date().toISOString(), i: randomId(rng) }, false).map((cursor) => ({
        name: 'a forged cursor',
        query: { cursor },
        status: 400,
      })),
  },
  GetMe: { valid: () => ({}) },
  UpdateMe: { body: UpdateProfileRequest, valid: () => ({ body: { displayName: 'Fuzz' } }) },
  ExportMe: { valid: () => ({}) },
  DeleteMe: { valid: () => ({}) },
  RecordView: {
    params: videoParam,
    body: RecordViewRequest,
    valid: (f) => ({ params: { id: f.readyId }, body: {} }),
    refused: (f, rng) => [
      { ...unknownVideo(f, rng), body: {} },
      { name: 'a video not ready', params: { id: f.pendingId }, body: {}, status: 404 },
      { name: 'anonymous without a session', params: { id: f.readyId }, body: {}, status: 400, anonymous: true },
    ],
  },
  GetTrending: { query: FeedQuery, valid: () => ({ query: { limit: '5' } }) },
  GetRelated: { params: videoParam, query: FeedQuery, valid: (f) => ({ params: { id: f.readyId }, query: { limit: '5' } }), refused: (f, rng) => [unknownVideo(f, rng)] },
  GetRecommendations: { query: FeedQuery, valid: () => ({ query: { limit: '5' } }) },
  ListChannel: {
    params: { userId: ChannelUserId },
    query: ListVideosQuery,
    valid: (f) => ({ params: { userId: f.userId }, query: { limit: '10' } }),
    refused: (f, rng) => [
      ...forgedCursors(f.channelCursor, rng, { u: 'someone-else', c: new Date().toISOString(), i: randomId(rng) }, false).map((cursor) => ({
        name: 'a forged cursor',
        params: { userId: f.userId },
        query: { cursor },
        status: 400,
      })),
      { name: "another channel's cursor", params: { userId: `${f.userId}x` }, query: { cursor: f.channelCursor }, status: 400 },
    ],
  },
  SearchVideos: {
    query: SearchQuery,
    valid: (f) => ({ query: { q: f.searchWord, page_size: '5' } }),
    refused: (f, rng) => [
      ...forgedCursors(f.searchCursor, rng, { search_timestamp_ms: Date.now(), last_video_id: 'x', last_score: 1, query_hash: '0'.repeat(32) }, true).map(
        (cursor) => ({ name: 'a forged cursor', query: { q: f.searchWord, cursor }, status: 400 }),
      ),
      { name: "another query's cursor", query: { q: `${f.searchWord} other`, cursor: f.searchCursor }, status: 400 },
      { name: "a cursor with other tags", query: { q: f.searchWord, tags: 'x', cursor: f.searchCursor }, status: 400 },
    ],
  },
  GetHealth: { valid: () => ({}) },
};

/** The inputs of `route`; a route nobody described fails loudly, so a new route cannot go unfuzzed. */
export function inputsOf(route: Route): RouteInputs {
  const inputs = routeInputs[route.id];
  if (!inputs) throw new Error(`route ${route.id} has no entry in test/support/fuzz.ts routeInputs: describe its schemas there`);
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const described = Object.keys(inputs.params ?? {});
  if (names.join() !== described.join()) throw new Error(`route ${route.id} has path parameters ${names.join()} but routeInputs describes ${described.join()}`);
  return inputs;
}

// Generating broken requests from the schemas.

/** One generated request, with the statuses a correct API may answer. */
export interface FuzzCase {
  readonly name: string;
  readonly method: string;
  /** Raw request target (already encoded; sent byte for byte, never normalised by the client). */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
  /** Acceptable statuses; `undefined` = anything below 500 (a route that validates nothing). */
  readonly expect?: readonly number[];
  /**
   * A read-only request the schemas accept, sent as generated (odd text in a search, say): it
   * may be answered with anything below 500. Not counted among the refused requests.
   */
  readonly acceptable?: true;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
};

const jsonSchemaOf = (schema: ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

/** Text that breaks things elsewhere: controls, bidi overrides, lone surrogates, markup, injections. */
const NASTY_TEXT = [
  '',
  ' ',
  '\t\n\r',
  '\u0000',
  'a\u0000b',
  '\u0001\u0007\u001b[31m\u007f',
  '\u202Egnp.exe',
  '\u200F\u061C\u2066x\u2069',
  'a\u200Bb\uFEFF',
  '\uD800',
  '\uDFFF\uD800',
  '😀👩‍👩‍👧‍👦🏳️‍🌈',
  'Ω≈ç√∫˜µ≤≥÷',
  'Ꙃ̸̡̢̛͓͖̺̣̭̦̎̈́̀̇̿͘͢͠ͅ',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE videos;--",
  '{"$ne": null}',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '../../../../etc/passwd',
  '%00%2F%2e%2e',
  '%s%s%s%n',
  'VIDEO#x',
  'pk',
  '__proto__',
  'null',
  'true',
  '-1',
  'NaN',
];

const WRONG_TYPES: unknown[] = [0, -1, 1.5, true, false, null, [], {}, [null], { a: 1 }, 'x', ''];

/** Values that break a field of schema `s` (most of them), with a label. */
function badValues(s: JsonSchema, rng: Rng): { label: string; value: unknown; raw?: string }[] {
  const out: { label: string; value: unknown; raw?: string }[] = [];
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  for (const value of WRONG_TYPES) out.push({ label: `type ${JSON.stringify(value)}`, value });
  if (s.anyOf) for (const alt of s.anyOf) out.push(...badValues(alt, rng).map((b) => ({ ...b, label: `anyOf ${b.label}` })));
  if (types.includes('string') || s.enum) {
    const max = s.maxLength ?? 256;
    out.push({ label: 'max+1 ascii', value: 'x'.repeat(max + 1) });
    out.push({ label: 'max+1 emoji code units', value: '😀'.repeat(Math.ceil((max + 1) / 2)) });
    out.push({ label: 'max emoji characters', value: '😀'.repeat(max) });
    out.push({ label: 'huge', value: 'y'.repeat(Math.max(max * 10, 100_000)) });
    if (s.minLength && s.minLength > 1) out.push({ label: 'min-1', value: 'x'.repeat(s.minLength - 1) });
    for (const text of NASTY_TEXT) out.push({ label: `text ${JSON.stringify(text).slice(0, 30)}`, value: text });
    out.push({ label: 'random unicode', value: randomUnicode(rng, 1 + rng.int(Math.min(max + 5, 300))) });
  }
  if (s.enum) {
    for (const v of s.enum) {
      if (typeof v !== 'string') continue;
      out.push({ label: 'enum upper', value: v.toUpperCase() }, { label: 'enum padded', value: ` ${v}` }, { label: 'enum homoglyph', value: v.replace(/[aeop]/, (c) => ({ a: 'а', e: 'е', o: 'о', p: 'р' })[c]!) });
    }
  }
  if (types.includes('integer') || types.includes('number')) {
    const max = s.maximum ?? Number.MAX_SAFE_INTEGER;
    const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum : -Number.MAX_SAFE_INTEGER);
    out.push(
      { label: 'max+1', value: max + 1 },
      { label: 'min-1', value: min - 1 },
      { label: 'min (exclusive)', value: s.exclusiveMinimum ?? min - 1 },
      { label: 'zero', value: 0 },
      { label: 'negative', value: -1 - rng.int(1000) },
      { label: 'float', value: 1.5 },
      { label: 'tiny float', value: 1e-7 },
      { label: 'huge', value: 1e308 },
      { label: 'huge negative', value: -1e308 },
      { label: 'unsafe integer', value: 2 ** 53 + 2 },
      { label: 'numeric string', value: '1' },
      { label: 'NaN literal', value: undefined, raw: 'NaN' },
      { label: 'Infinity literal', value: undefined, raw: 'Infinity' },
      { label: 'overflowing literal', value: undefined, raw: '1e400' },
      { label: 'hex literal', value: undefined, raw: '0x10' },
      { label: 'leading zero', value: undefined, raw: '007' },
      { label: 'negative zero', value: undefined, raw: '-0' },
    );
  }
  if (types.includes('array')) {
    const item = s.items ? sampleOf(s.items) : 'x';
    out.push({ label: 'maxItems+1', value: Array.from({ length: (s.maxItems ?? 1000) + 1 }, () => item) });
    if (s.minItems) out.push({ label: 'empty array', value: [] });
    out.push({ label: 'nested arrays', value: [[item]] });
  }
  if (types.includes('object')) out.push({ label: 'array for object', value: [sampleOf(s)] });
  return out;
}

function randomUnicode(rng: Rng, length: number): string {
  const ranges: [number, number][] = [
    [0x0000, 0x001f],
    [0x0020, 0x007e],
    [0x00a0, 0x024f],
    [0x0590, 0x06ff],
    [0x200b, 0x206f],
    [0x3040, 0x30ff],
    [0x4e00, 0x4eff],
    [0xd800, 0xdfff],
    [0xfff0, 0xffff],
    [0x1f300, 0x1f6ff],
  ];
  let text = '';
  while (text.length < length) {
    const [from, to] = rng.pick(ranges);
    text += String.fromCodePoint(from + rng.int(to - from + 1));
  }
  return text;
}

/** A value that fits schema `s` well enough to build a nested container around. */
function sampleOf(s: JsonSchema): unknown {
  if (s.anyOf) return sampleOf(s.anyOf[0]!);
  if (s.enum) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === 'object') return Object.fromEntries((s.required ?? []).map((k) => [k, sampleOf(s.properties?.[k] ?? {})]));
  if (type === 'array') return s.items ? [sampleOf(s.items)] : [];
  if (type === 'integer' || type === 'number') return s.minimum ?? (s.exclusiveMinimum ?? 0) + 1;
  return 'x'.repeat(Math.max(1, s.minLength ?? 1));
}

/** Every (path, schema) inside an object schema, nested objects, arrays' items and unions included. */
function fieldsOf(s: JsonSchema, prefix: (string | number)[] = []): { path: (string | number)[]; schema: JsonSchema; parent: JsonSchema }[] {
  const out: { path: (string | number)[]; schema: JsonSchema; parent: JsonSchema }[] = [];
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    const path = [...prefix, key];
    out.push({ path, schema: child, parent: s });
    if (child.properties) out.push(...fieldsOf(child, path));
    if (child.items) {
      out.push({ path: [...path, 0], schema: child.items, parent: child });
      if (child.items.properties) out.push(...fieldsOf(child.items, [...path, 0]));
    }
    for (const alt of child.anyOf ?? []) if (alt.properties) out.push(...fieldsOf(alt, path));
  }
  return out;
}

function setAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  });
  return copy;
}

function deleteAt(root: unknown, path: readonly (string | number)[]): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> | undefined = copy;
  for (const key of path.slice(0, -1)) node = node?.[key] as Record<string | number, unknown> | undefined;
  if (node && typeof node === 'object') delete node[path.at(-1)!];
  return copy;
}

/** The body exactly as sent: JSON, with `raw` spliced in for the field when the literal is not JSON. */
function bodyText(body: unknown, raw?: string): string {
  const text = JSON.stringify(body);
  return raw === undefined ? text : text.replace('"__RAW__"', raw);
}

interface Candidate {
  readonly name: string;
  readonly params?: Record<string, string>;
  /** Path segments sent as they are (already encoded, possibly malformed). */
  readonly rawParams?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** The query string sent as is (`?` excluded). */
  readonly rawQuery?: string;
  readonly body?: unknown;
  /** The body text sent as is. */
  readonly rawBody?: string | Buffer;
  readonly headers?: Record<string, string>;
  /** What the API must answer; computed from the schemas when absent; `any` = anything below 500. */
  readonly expect?: readonly number[] | 'any';
}

/** Body mutations of a JSON schema, around a valid body. */
function bodyCandidates(schema: JsonSchema, valid: unknown, rng: Rng): Candidate[] {
  const out: Candidate[] = [];
  const raw = (name: string, text: string | Buffer): Candidate => ({ name, rawBody: text });
  for (const text of ['', ' ', '{', '{"a":', "{'title':'x'}", '{"title":"x"}garbage', '\uFEFF{}', 'NaN', '[]', 'null', '42', '"str"', 'true']) {
    out.push(raw(`body ${JSON.stringify(text)}`, text));
  }
  out.push(raw('deeply nested arrays', '['.repeat(100_000) + ']'.repeat(100_000)));
  out.push(raw('deeply nested objects', '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000)));
  const firstKey = Object.keys(valid as object)[0];
  if (firstKey) out.push(raw('a field repeated, the last one bad', bodyText(valid).replace(/\}$/, `,${JSON.stringify(firstKey)}:{"$gt":""}}`)));
  out.push(raw('a JSON body in UTF-16', Buffer.from(bodyText(valid), 'utf16le')));
  out.push(raw('invalid UTF-8', Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')])));
  // Just over the handler's 1 MiB limit, as a well-formed body (so only its size is wrong).
  const pad = (n: number) => bodyText(setAt(valid, ['__pad'], 'p'.repeat(n)));
  out.push(raw('over 1 MiB', pad(1024 * 1024)));
  out.push(raw('over 1 MiB of whitespace', `${' '.repeat(1024 * 1024)}${bodyText(valid)}`));
  for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'text/json', 'application/ json']) {
    out.push({ name: `content-type ${type}`, body: valid, headers: { 'content-type': type }, expect: [400] });
  }
  for (const key of ['extra', '__proto__', 'constructor', 'prototype', '', ' ', '😀', 'ownerId', 'status', 'id', 'pk', 'version ']) {
    out.push({ name: `extra field ${JSON.stringify(key)}`, rawBody: bodyText(valid).replace(/^\{/, `{${JSON.stringify(key)}:1${Object.keys(valid as object).length ? ',' : ''}`) });
  }
  for (const { path, schema: field, parent } of fieldsOf(schema)) {
    const at = path.join('.');
    if (parent.required?.includes(String(path.at(-1)))) out.push({ name: `${at}: missing`, body: deleteAt(valid, path) });
    for (const bad of badValues(field, rng)) {
      const body = setAt(valid, path, bad.raw === undefined ? bad.value : '__RAW__');
      out.push(bad.raw === undefined ? { name: `${at}: ${bad.label}`, body } : { name: `${at}: ${bad.label}`, rawBody: bodyText(body, bad.raw) });
    }
  }
  for (const bad of WRONG_TYPES) out.push({ name: `root ${JSON.stringify(bad)}`, body: bad });
  return out;
}

const QUERY_NUMBERS = ['0', '-1', '1e9', 'abc', '', ' ', 'NaN', 'Infinity', '-Infinity', '1.5', '-0', '9'.repeat(400), '1e-9', '0b1', '+-1', '1,2', '１', '٣', '5 5', 'null'];

/** Query mutations of a (strict) query schema, around a valid query. */
function queryCandidates(schema: JsonSchema, valid: Record<string, string>, rng: Rng): Candidate[] {
  const out: Candidate[] = [];
  for (const [key, field] of Object.entries(schema.properties ?? {})) {
    const type = Array.isArray(field.type) ? field.type[0] : field.type;
    const values =
      type === 'integer' || type === 'number'
        ? [...QUERY_NUMBERS, String((field.maximum ?? 1e9) + 1), String((field.minimum ?? 1) - 1), String(2 ** 64)]
        : ['x'.repeat((field.maxLength ?? 2048) + 1), '😀'.repeat(Math.ceil(((field.maxLength ?? 2048) + 1) / 2)), ...NASTY_TEXT.slice(0, 12), randomUnicode(rng, 50)];
    for (const value of values) out.push({ name: `query ${key}=${JSON.stringify(value).slice(0, 30)}`, query: { ...valid, [key]: value } });
  }
  for (const key of ['foo', '__proto__', 'constructor', 'toString', 'LIMIT', 'limit ', 'page size', 'cursor[]', '😀', 'q\u0000']) {
    out.push({ name: `query unknown ${JSON.stringify(key)}`, query: { ...valid, [key]: '1' } });
  }
  const base = new URLSearchParams(valid).toString();
  for (const raw of ['%', '%%', '=', '=&=&', '&&&', 'limit=%E0%A4%A', 'limit=%', '%FF=1', 'a=1&'.repeat(500) + 'b=2', `${base}&limit=1&limit=abc`, `${base}&page_size=abc`]) {
    out.push({ name: `raw query ${JSON.stringify(raw).slice(0, 30)}`, rawQuery: raw });
  }
  return out;
}

/** Path parameter values that are not ids, with those that change the route marked. */
function paramCandidates(name: string, valid: Record<string, string>, rng: Rng): Candidate[] {
  const out: Candidate[] = [];
  const encoded = [
    'x',
    'AAAAAAAAAA',
    'AAAAAAAAAAAA',
    'x'.repeat(200),
    'x'.repeat(4000),
    '../../etc/passwd',
    '..\\..\\x',
    'AAAAAAAAAA/',
    'AAAAA AAAAA',
    'AAAAA+AAAAA',
    'AAAAA.AAAAA',
    '%2F%2F%2F%2F%2F',
    '\u0000'.repeat(11),
    'AAAAAAAAAA\u0000',
    '😀'.repeat(6),
    '\u202EAAAAAAAAAA',
    "AAAA'AAAAAA",
    'AAAA"AAAAAA',
    'AAAA<AAAAAA',
    '{id}',
    'VIDEO#AAAAA',
    'ÅÅÅÅÅÅÅÅÅÅÅ',
    randomUnicode(rng, 11),
    randomUnicode(rng, 129),
  ];
  for (const value of encoded) out.push({ name: `${name}=${JSON.stringify(value).slice(0, 30)}`, params: { ...valid, [name]: value } });
  // Sent as they are: the router sees them before any decoding.
  // Dot segments and empty ones are resolved or unmatched by the router: another route, or none.
  for (const value of ['..', '.', '%2e%2e', '%2E']) out.push({ name: `raw ${name}=${value}`, rawParams: { ...valid, [name]: value }, expect: [400, 404, 405] });
  out.push({ name: `raw ${name} empty`, rawParams: { ...valid, [name]: '' }, expect: [404, 405] });
  // The rest reach the handler; malformed escapes included (the schemas' verdict decides).
  const raw = ['%2F', '..%2F..%2F..%2Fetc', '%00', '%', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF%FE', '%u002e', '%252e%252e', `${valid[name]}%00`, `${valid[name]};x=1`, `${valid[name]}%`];
  for (const value of raw) out.push({ name: `raw ${name}=${value.slice(0, 30)}`, rawParams: { ...valid, [name]: value } });
  return out;
}

/** Authorization headers that must not be taken for a user (every one is refused with 401). */
export interface BadTokens {
  readonly expired: string;
  readonly notYetValid: string;
  readonly wrongAudience: string;
  readonly wrongIssuer: string;
  readonly accessToken: string;
  readonly unsigned: string;
  readonly hmacWithPublicKey: string;
  readonly tamperedSub: string;
  readonly strippedSignature: string;
  readonly otherKey: string;
}

/**
 * Tokens signed with the local user pool's own key (cognito-local's published dev key), so each
 * one fails for exactly one reason: expiry, audience, issuer, `token_use`; plus unsigned,
 * algorithm-confused, tampered and foreign-key ones. `resigned` is the ID token signed again the
 * same way with nothing changed: it must be accepted, which shows the others fail for their reason.
 */
export async function badTokens(idToken: string, accessToken: string): Promise<{ bad: BadTokens; resigned: string }> {
  const require = createRequire(import.meta.url);
  const { jwk } = require('cognito-local/lib/keys/cognitoLocal.private.json') as { jwk: JWK & { kid: string } };
  const key = await importJWK(jwk, 'RS256');
  const [header, payload, signature] = idToken.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  const sign = (changes: Record<string, unknown>) =>
    new SignJWT({ ...claims, ...changes }).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }).sign(key);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const other = await generateKeyPair('RS256');
  const bad: BadTokens = {
    expired: await sign({ iat: now - 7200, exp: now - 3600 }),
    notYetValid: await sign({ iat: now + 3600, nbf: now + 3600, exp: now + 7200 }),
    wrongAudience: await sign({ aud: 'some-other-client' }),
    wrongIssuer: await sign({ iss: 'http://127.0.0.1:1/us-east-1_evil' }),
    accessToken,
    unsigned: `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
    hmacWithPublicKey: await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
      .sign(new TextEncoder().encode(JSON.stringify({ kty: jwk.kty, n: jwk.n, e: jwk.e }))),
    tamperedSub: `${header}.${b64({ ...claims, sub: '00000000-0000-0000-0000-000000000000' })}.${signature}`,
    strippedSignature: `${header}.${payload}.`,
    otherKey: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(other.privateKey),
  };
  return { bad, resigned: await sign({}) };
}

function authCandidates(tokens: BadTokens, idToken: string, rng: Rng): Candidate[] {
  const values: [string, string][] = [
    ...Object.entries(tokens).map(([name, token]): [string, string] => [name, `Bearer ${token}`]),
    ['bearer with nothing', 'Bearer'],
    ['bearer and a space', 'Bearer  '],
    ['basic', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['garbage', `Bearer ${rng.string(300)}`],
    ['garbage with dots', `Bearer ${rng.string(30)}.${rng.string(60)}.${rng.string(40)}`],
    ['latin-1 bytes', 'Bearer \u00ff\u00fe\u00e9\u00e8'],
    ['two tokens', `Bearer ${idToken} Bearer ${idToken}`],
    ['a token with a trailing word', `Bearer ${idToken} x`],
    ['a truncated token', `Bearer ${idToken.slice(0, -10)}`],
    ['a JWT of nothing', 'Bearer e30.e30.e30'],
    ['header only', `Bearer ${idToken.split('.')[0]}`],
    ['null', 'Bearer null'],
    ['undefined', 'Bearer undefined'],
    ['very long', `Bearer ${'A'.repeat(8000)}`],
  ];
  return values.map(([name, value]) => ({ name: `auth ${name}`, headers: { authorization: value }, expect: [401] }));
}

/**
 * Exact path, query and body schemas' verdict on a request, read the way the gateway and the
 * handler read it (last value of a repeated query key; body JSON-parsed as text).
 */
function schemaVerdict(inputs: RouteInputs, c: { params: Record<string, string>; queryString: string; bodyText: string | undefined }): 'valid' | 'invalid' {
  for (const [name, schema] of Object.entries(inputs.params ?? {})) {
    let value: string;
    try {
      value = decodeURIComponent(c.params[name] ?? '');
    } catch {
      return 'invalid';
    }
    if (!schema.safeParse(value).success) return 'invalid';
  }
  if (inputs.query) {
    const query: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(c.queryString)) query[k] = v;
    if (!inputs.query.safeParse(query).success) return 'invalid';
  }
  if (inputs.body) {
    if (c.bodyText === undefined || c.bodyText === '') return 'invalid';
    let parsed: unknown;
    try {
      parsed = JSON.parse(c.bodyText);
    } catch {
      return 'invalid';
    }
    if (!inputs.body.safeParse(parsed).success) return 'invalid';
  }
  return 'valid';
}

/** `encodeURIComponent`, with lone surrogates (which it cannot encode) sent as their UTF-8 bytes. */
function encodeSegment(value: string): string {
  return [...value]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) {
        return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      }
      return encodeURIComponent(ch);
    })
    .join('');
}

const fill = (path: string, params: Record<string, string>) => path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? '');

/** The fuzzing context: fixtures, a valid token of their owner, and the bad tokens. */
export interface FuzzContext {
  readonly fixtures: Fixtures;
  readonly idToken: string;
  readonly tokens: BadTokens;
}

/**
 * At least `count` requests `route` must refuse (plus, for reads, the odd-but-valid ones met on
 * the way, marked `acceptable`), derived from its schemas: broken bodies, queries,
 * path parameters and tokens, requests the domain refuses, oversized bodies. Each comes with the
 * statuses a correct API may answer. A mutation that happens to leave the request valid (say,
 * emoji in a title within its limit) gets an unknown field on top, so every request sent is one
 * the API must refuse — which is what makes "no state changed" a real check. A route that
 * validates nothing and needs no token (`public`) gets junk it must shrug off (any status < 500).
 */
export function generateCases(route: Route, ctx: FuzzContext, rng: Rng, count: number): FuzzCase[] {
  const inputs = inputsOf(route);
  const valid = inputs.valid(ctx.fixtures);
  const validParams = valid.params ?? {};

  const pool: Candidate[] = [];
  if (route.auth !== 'public') pool.push(...authCandidates(ctx.tokens, ctx.idToken, rng));
  for (const name of Object.keys(inputs.params ?? {})) pool.push(...paramCandidates(name, validParams, rng));
  if (inputs.query) pool.push(...queryCandidates(jsonSchemaOf(inputs.query), valid.query ?? {}, rng));
  if (inputs.body) pool.push(...bodyCandidates(jsonSchemaOf(inputs.body), valid.body, rng));
  for (const refused of inputs.refused?.(ctx.fixtures, rng) ?? []) {
    pool.push({ ...refused, ...(refused.anonymous ? { headers: { authorization: '' } } : {}), expect: [refused.status] });
  }
  // Paths next to the route's own that no route serves.
  for (const variant of [(p: string) => `${p}/`, (p: string) => p.replace('/api/v1/', '/api/v1//'), (p: string) => p.replace('/api/v1/', '/api/v2/')]) {
    pool.push({ name: 'a path next to the route', rawParams: { __path: variant(fill(route.path, validParams)) }, expect: [404, 405] });
  }
  // Beyond API Gateway's 10 MiB payload limit: refused before any handler runs (sent once, it is slow).
  const cases: FuzzCase[] = [build(route, inputs, ctx, { name: 'over 10 MiB', rawBody: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20), expect: [413] }, valid, rng)!];

  const acceptable: FuzzCase[] = [];
  for (const candidate of pool) {
    const built = build(route, inputs, ctx, candidate, valid, rng, acceptable);
    if (built) cases.push(built);
  }
  for (let tries = 0; cases.length < count; tries++) {
    if (tries > count * 20) throw new Error(`could not generate ${count} refused requests for ${route.id}`);
    const built = build(route, inputs, ctx, randomCandidate(route, pool, inputs, valid, rng), valid, rng, acceptable);
    if (built) cases.push(built);
  }
  return [...cases, ...acceptable];
}

/** A fresh random mutation: a body field, a query value, a path parameter, a token, or junk. */
function randomCandidate(route: Route, pool: Candidate[], inputs: RouteInputs, valid: RequestParts, rng: Rng): Candidate {
  const kinds: (() => Candidate)[] = [];
  const fields = inputs.body ? fieldsOf(jsonSchemaOf(inputs.body)) : [];
  if (fields.length) {
    kinds.push(() => {
      const { path } = rng.pick(fields);
      const value = rng.chance(0.5) ? randomUnicode(rng, 1 + rng.int(400)) : rng.pick([...WRONG_TYPES, rng.next() * 1e12, -rng.int(1e9), randomUnicode(rng, 3)]);
      return { name: `random ${path.join('.')}`, body: setAt(valid.body, path, value) };
    });
  }
  const queryKeys = Object.keys((inputs.query && jsonSchemaOf(inputs.query).properties) ?? {});
  if (queryKeys.length) {
    kinds.push(() => {
      const key = rng.pick(queryKeys);
      const value = rng.chance(0.5) ? randomUnicode(rng, 1 + rng.int(80)) : String(rng.next() * 10 ** rng.int(20) * (rng.chance(0.5) ? -1 : 1));
      return { name: `random query ${key}`, query: { ...(valid.query ?? {}), [key]: value } };
    });
  }
  const paramKeys = Object.keys(inputs.params ?? {});
  if (paramKeys.length) {
    kinds.push(() => {
      const key = rng.pick(paramKeys);
      return { name: `random ${key}`, params: { ...(valid.params ?? {}), [key]: randomUnicode(rng, 1 + rng.int(rng.chance(0.5) ? 12 : 300)) } };
    });
  }
  if (route.auth !== 'public') {
    kinds.push(() => ({ name: 'random token', headers: { authorization: `Bearer ${rng.string(20 + rng.int(40))}.${rng.string(100 + rng.int(300))}.${rng.string(20 + rng.int(300))}` }, expect: [401] }));
    kinds.push(() => rng.pick(pool));
  } else {
    // Nothing to validate and no token to check: junk it must not trip over.
    kinds.push(() => ({
      name: 'random junk',
      rawQuery: `${encodeSegment(randomUnicode(rng, 1 + rng.int(20)))}=${encodeSegment(randomUnicode(rng, rng.int(200)))}`,
      rawBody: randomUnicode(rng, rng.int(2000)),
      headers: { authorization: `Bearer ${rng.string(50)}`, 'content-type': rng.pick(['application/json', 'text/plain', 'application/xml']) },
      expect: 'any',
    }));
  }
  return rng.pick(kinds)();
}

/** Turns a candidate into the exact request, and decides what a correct API answers. */
function build(route: Route, inputs: RouteInputs, ctx: FuzzContext, c: Candidate, valid: RequestParts, rng: Rng, acceptable: FuzzCase[] = []): FuzzCase | undefined {
  const params = c.params ?? valid.params ?? {};
  const encodedParams = c.rawParams ?? Object.fromEntries(Object.entries(params).map(([k, v]) => [k, encodeSegment(v)]));
  const path = encodedParams['__path'] ?? fill(route.path, encodedParams);
  let queryString = c.rawQuery ?? new URLSearchParams(c.query ?? valid.query ?? {}).toString();
  let body: string | Buffer | undefined =
    c.rawBody ?? (c.body !== undefined ? bodyText(c.body) : valid.body !== undefined ? bodyText(valid.body) : undefined);
  const headers: Record<string, string> = { authorization: `Bearer ${ctx.idToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers };
  if (headers['authorization'] === '') delete headers['authorization'];

  let expect: readonly number[] | undefined = c.expect === 'any' ? undefined : c.expect;
  let name = c.name;
  if (c.expect === undefined) {
    const text = typeof body === 'string' ? body : body?.toString('utf8');
    if (schemaVerdict(inputs, { params: encodedParams, queryString, bodyText: text }) === 'valid') {
      // A read may be sent as it is too: odd but valid input must not break what reads it.
      if (route.method === 'GET') acceptable.push({ ...finish(route, path, queryString, { ...headers }, body, `${name} (valid as sent)`, undefined), acceptable: true });
      // Still acceptable: make it refusable with an unknown field where the schemas are strict.
      if (inputs.body && typeof c.body === 'object' && c.body !== null && !Array.isArray(c.body)) {
        body = bodyText({ ...(c.body as object), [`x${rng.string(4)}`]: 1 });
      } else if (inputs.query) {
        queryString = `${queryString}${queryString ? '&' : ''}x${rng.string(4)}=1`;
      } else {
        return undefined;
      }
      name = `${name} + an unknown field`;
    }
    expect = [400];
  }
  // Routes without a body schema never read one: send junk now and then, it must change nothing.
  if (!inputs.body && body === undefined && rng.chance(0.3)) {
    body = rng.pick(['{"title":"x"}', 'garbage', '[1,2', randomUnicode(rng, 64)]);
    headers['content-type'] = rng.pick(['application/json', 'text/plain']);
  }
  return finish(route, path, queryString, headers, body, name, expect);
}

function finish(route: Route, path: string, query: string, headers: Record<string, string>, body: string | Buffer | undefined, name: string, expect: readonly number[] | undefined): FuzzCase {
  return { name, method: route.method, path: query ? `${path}?${query}` : path, headers, ...(body !== undefined ? { body } : {}), ...(expect ? { expect } : {}) };
}

// Sending them, and judging the answers.

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** Sends requests byte for byte (no URL normalisation, bodies on GET allowed), `concurrency` at a time. */
export function rawClient(baseUrl: string, concurrency = 8) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const send = (c: Pick<FuzzCase, 'method' | 'path' | 'headers' | 'body'>): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      // Node frames a GET or DELETE body only with an explicit length; without one the body would be read as the next request.
      const headers = c.body === undefined ? c.headers : { ...c.headers, 'content-length': String(Buffer.byteLength(c.body)) };
      const req = request({ host: url.hostname, port: url.port, method: c.method, path: c.path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(c.body);
    });
  async function all<T>(items: readonly T[], fn: (item: T, i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < items.length) {
          const i = next++;
          await fn(items[i]!, i);
        }
      }),
    );
  }
  return { send, all, close: () => agent.destroy() };
}

/** Traces of internals a client must never see: stack frames, source paths, module names. */
const LEAKS = [/\n\s*at\s/, /\bat\s+[\w$.<>]+\s+\(/, /\bat\s+(?:file:\/\/)?\/[\w./-]+:\d+/, /[\w/-]+\.(?:ts|js|mjs|cjs):\d+/, /node_modules/, /\/work\//, /\/home\//, /file:\/\//, /"stack"\s*:/];

/**
 * What is wrong with a response, or `undefined`: a 5xx; a status outside `expect`; an error
 * without the JSON error shape and a message; anything that looks like a stack trace.
 */
export function problemWith(response: RawResponse, expect: readonly number[] | undefined): string | undefined {
  if (response.status >= 500) return `answered ${response.status}`;
  if (expect && !expect.includes(response.status)) return `answered ${response.status}, expected ${expect.join(' or ')}`;
  if (response.status < 400) return undefined;
  const leak = LEAKS.find((pattern) => pattern.test(response.text));
  if (leak) return `leaks internals (${leak})`;
  let body: any;
  try {
    body = JSON.parse(response.text);
  } catch {
    return 'the error body is not JSON';
  }
  const isApp = body?.error && typeof body.error.code === 'string' && typeof body.error.message === 'string' && body.error.message.length > 0;
  // API Gateway's own refusals (authorizer, routing, payload limit) have its `{message}` shape.
  const isGateway = [400, 401, 403, 404, 405, 413, 429].includes(response.status) && Object.keys(body ?? {}).join() === 'message' && typeof body.message === 'string' && body.message.length > 0;
  if (!isApp && !isGateway) return `the error body has no {error: {code, message}}: ${response.text.slice(0, 200)}`;
  if (isApp && body.error.details !== undefined && !(Array.isArray(body.error.details) && body.error.details.every((d: unknown) => typeof d === 'string'))) {
    return 'error.details is not a list of strings';
  }
  return undefined;
}

/** A request in a few lines, for a failure message. */
export function describeCase(c: FuzzCase): string {
  const body = c.body === undefined ? '' : ` body(${c.body.length}): ${JSON.stringify(c.body.toString().slice(0, 160))}`;
  const auth = c.headers['authorization'] ? ` auth: ${c.headers['authorization'].slice(0, 40)}…` : ' anonymous';
  return `[${c.name}] ${c.method} ${c.path.slice(0, 200)}${auth}${body}`;
}
