/**
 * `npm run bench:api`: the read API under a fixed offered load, against the local platform with
 * 10,000 seeded videos (issue 5's benchmark). Prints figures; asserts nothing.
 *
 * 1. Starts the platform in a child process (its own event loop, as a server would be), signs up
 *    one creator and writes N ready public videos straight into the table (titles, tags and
 *    descriptions from a fixed vocabulary), then waits until search finds the last of them — the
 *    indexer takes them from the table's stream, as on AWS.
 * 2. `GET /api/v1/videos/{id}` (random seeded ids) and `GET /api/v1/search/videos?q=` (random
 *    vocabulary words, some misspelt: ~160 distinct queries, as popular queries repeat) at a fixed
 *    offered rate each, evenly paced (`fixed-rate.ts`; latencies from each scheduled send time):
 *    p50/p99 and errors; then search again with every query new (three random words out of
 *    80³), the path no cache helps.
 * 3. Change → searchable: PATCH a video's title to a fresh word and poll search until it is found
 *    (every 50 ms), repeated; p50/p99.
 * 4. Index memory: the embedded engine's heap for the N documents, measured in this process.
 *
 *   npm run bench:api [-- --videos 10000 --rate 200 --seconds 60 --changes 20]
 */
import '../local/node20.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { videoKey, videoOwnerIndexKey } from '#adapters/keys';
import { signUpAndSignIn } from '../local/users.ts';
import { measureOthersCpu } from './cpu-meter.ts';
import { fixedRate } from './fixed-rate.ts';
import { startPlatformProcess } from './platform-process.ts';

const { values: args } = parseArgs({
  options: {
    videos: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    changes: { type: 'string', default: '20' },
  },
});
const N = Number(args.videos);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const CHANGES = Number(args.changes);

const WORDS = (
  'river mountain sunset ocean forest desert canyon glacier meadow volcano city harbor bridge tower ' +
  'market garden kitchen recipe pasta bread coffee guitar piano violin drums concert festival dance ' +
  'soccer tennis cycling marathon climbing surfing skiing sailing fishing camping hiking travel train ' +
  'airport museum castle temple island village robot rocket planet galaxy telescope science physics ' +
  'chemistry biology history language poetry novel painting sculpture camera drone timelapse tutorial'
).split(' ');
const TAGS = ['travel', 'music', 'sports', 'food', 'science', 'art', 'nature', 'tech', 'howto', 'vlog'];

let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const misspell = (word: string) => (word.length > 4 ? word.slice(0, 2) + word[3] + word[2] + word.slice(4) : word);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;

const started = performance.now();
const others = measureOthersCpu();
const dataDir = mkdtempSync(join(tmpdir(), 'vodstack-bench-api-'));
console.log(`api benchmark: ${N} videos, ${RATE} req/s for ${SECONDS} s per route, ${CHANGES} change→searchable samples`);
const platform = await startPlatformProcess({ dataDir, inMemoryTables: true, port: 0, sweepEveryMs: 0 });
try {
  const tokens = await signUpAndSignIn(platform, 'bench-api@example.com', 'Correct-Horse-9-Battery!');
  const ownerId = JSON.parse(Buffer.from(tokens.idToken.split('.')[1]!, 'base64url').toString()).sub as string;
  const auth = { authorization: `Bearer ${tokens.idToken}` };

  // 1. Seed: ready public videos written straight into the table (the stream feeds the index).
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: platform.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );
  const ids: string[] = [];
  const seedStart = performance.now();
  const now = Date.now();
  const items = Array.from({ length: N }, (_, i) => {
    const id = `b${i.toString(36).padStart(10, '0')}`.slice(-11);
    ids.push(id);
    const createdAt = new Date(now - (N - i) * 1000).toISOString();
    return {
      ...videoKey(id),
      ...videoOwnerIndexKey(ownerId, createdAt, id),
      entity: 'video',
      id,
      ownerId,
      title: `${words(3)} ${i}`,
      description: words(20),
      tags: [pick(TAGS), pick(TAGS)].filter((t, k, all) => all.indexOf(t) === k),
      visibility: 'public',
      status: 'ready',
      fileName: 'clip.mp4',
      fileSize: 1_000_000,
      contentType: 'video/mp4',
      rawKey: `uploads/${id}/source`,
      uploadId: 'seeded',
      partSize: 8 * 1024 * 1024,
      generation: 1,
      version: 1,
      media: {
        durationSeconds: 60,
        width: 1280,
        height: 720,
        renditions: [{ name: '720p', width: 1280, height: 720, bandwidth: 3_000_000 }],
        hlsMaster: `videos/${id}/hls/master.m3u8`,
        dashManifest: `videos/${id}/dash/manifest.mpd`,
        poster: `videos/${id}/thumbs/poster.jpg`,
        candidates: [],
        storyboard: `videos/${id}/thumbs/storyboard.jpg`,
        storyboardVtt: `videos/${id}/thumbs/storyboard.vtt`,
      },
      createdAt,
      updatedAt: createdAt,
    };
  });
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        let pending = batch.map((Item) => ({ PutRequest: { Item } }));
        while (pending.length) {
          const out = await documents.send(new BatchWriteCommand({ RequestItems: { [platform.tableName]: pending } }));
          pending = (out.UnprocessedItems?.[platform.tableName] ?? []) as typeof pending;
        }
      }
    }),
  );
  const seeded = (performance.now() - seedStart) / 1000;
  // Writers run 8 at a time, so the stream's order is not the seeding order: wait until the
  // platform has delivered every stream record (idle), then check a sample is searchable.
  const indexStart = performance.now();
  await platform.idle();
  for (const item of [items[0]!, items[Math.floor(N / 2)]!, items.at(-1)!]) {
    await until(async () => (await searchIds(String(item.title.split(' ').at(-1)))).includes(item.id), 600_000);
  }
  console.log(
    `seeded ${N} videos in ${seeded.toFixed(1)} s; all searchable ${((performance.now() - indexStart) / 1000).toFixed(1)} s later (stream → indexer)`,
  );

  // 2. Fixed offered load per route.
  const get = await load('GET /api/v1/videos/{id}', () => `/api/v1/videos/${pick(ids)}`);
  const search = await load('GET /api/v1/search/videos?q=', () => {
    const word = pick(WORDS);
    return `/api/v1/search/videos?q=${encodeURIComponent(random() < 0.2 ? misspell(word) : word)}&page_size=20`;
  });

  // The same at a fixed rate, but every query new (two random words): the uncached path.
  const cold = await load('  … every query distinct (uncached)', () => `/api/v1/search/videos?q=${encodeURIComponent(`${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}`)}&page_size=20`, Math.min(SECONDS, 30));

  // 3. Change → searchable.
  const lags: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const id = pick(ids);
    const word = `zq${Date.now().toString(36)}${i}`;
    const res = await fetch(`${platform.apiUrl}/api/v1/videos/${id}`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `renamed ${word}` }),
    });
    if (!res.ok) throw new Error(`PATCH ${id}: ${res.status} ${await res.text()}`);
    const changedAt = performance.now();
    await until(async () => (await searchIds(word)).includes(id), 60_000, 50);
    lags.push(performance.now() - changedAt);
  }
  lags.sort((a, b) => a - b);

  // 4. Index memory, in this process, for the same documents.
  const memory = await indexMemory(items);

  console.log('\nmetric                                   p50        p99     errors   non-2xx   requests');
  for (const r of [get, search, cold]) {
    console.log(`${r.name.padEnd(38)} ${ms(r.p50).padStart(9)} ${ms(r.p99).padStart(10)} ${String(r.errors).padStart(8)} ${String(r.non2xx).padStart(9)} ${String(r.requests).padStart(10)}`);
  }
  console.log(`change → searchable (${CHANGES} edits)       ${ms(percentile(lags, 50)).padStart(9)} ${ms(percentile(lags, 99)).padStart(10)}`);
  console.log(`index memory: ${memory}`);
  const cpu = others();
  console.log(`\ngoal: GET /videos/{id} p99 ≤ 50 ms, 0 errors: ${get.p99 <= 50 && get.errors + get.non2xx === 0 ? 'MET' : 'NOT MET'} (${ms(get.p99)}, ${get.errors + get.non2xx} errors)`);
  console.log(`goal: search p99 ≤ 100 ms, 0 errors: ${search.p99 <= 100 && search.errors + search.non2xx === 0 ? 'MET' : 'NOT MET'} (${ms(search.p99)}, ${search.errors + search.non2xx} errors)`);
  console.log(`goal: a change searchable within 5 s (p99): ${percentile(lags, 99) <= 5000 ? 'MET' : 'NOT MET'} (${ms(percentile(lags, 99))})`);
  if (cpu !== undefined) console.log(`note: other processes used ${cpu.toFixed(2)} of the CPUs on average during the run`);
  console.log(`total time ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

async function searchIds(q: string): Promise<string[]> {
  const res = await fetch(`${platform.apiUrl}/api/v1/search/videos?q=${encodeURIComponent(q)}&page_size=50`);
  if (!res.ok) return [];
  const body = (await res.json()) as { items: { id: string }[] };
  return body.items.map((v) => v.id);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * GETs at `RATE` per second for `seconds`, evenly paced ({@link fixedRate}) over keep-alive
 * connections; each latency runs from the request's scheduled time to the end of its answer.
 */
async function load(name: string, path: () => string, seconds = SECONDS) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const { skipped } = await fixedRate(RATE, performance.now() + seconds * 1000, (scheduledAt) =>
    new Promise<void>((resolve) => {
      const req = httpGet(`${platform.apiUrl}${path()}`, { agent, timeout: 30_000 }, (res) => {
        res.resume();
        res.once('end', () => {
          latencies.push(performance.now() - scheduledAt);
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) non2xx++;
          resolve();
        });
        res.once('error', () => {
          errors++;
          resolve();
        });
      });
      req.once('timeout', () => req.destroy(new Error('timed out')));
      req.once('error', () => {
        errors++;
        resolve();
      });
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    name,
    p50: Math.round(percentile(latencies, 50) * 10) / 10,
    p99: Math.round(percentile(latencies, 99) * 10) / 10,
    errors: errors + skipped,
    non2xx,
    requests: latencies.length + errors + skipped,
  };
}

async function indexMemory(items: { id: string; ownerId: string; title: string; description: string; tags: string[]; createdAt: string }[]): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return 'not measured (run with node --expose-gc; `npm run bench:api` does)';
  const { EmbeddedSearchIndex } = (await import('#adapters/embedded-search-index')) as {
    EmbeddedSearchIndex: new () => { upsert(docs: unknown[]): Promise<void>; toSnapshot(): string };
  };
  gc();
  const before = process.memoryUsage().heapUsed;
  const index = new EmbeddedSearchIndex();
  await index.upsert(
    items.map((v) => ({ ...v, visibility: 'public', status: 'ready', durationSeconds: 60, views: 0, trend: 0, trendAt: 0, indexedAt: Date.now() })),
  );
  gc();
  const heap = process.memoryUsage().heapUsed - before;
  const snapshot = Buffer.byteLength(index.toSnapshot());
  return `${(heap / 1024 / 1024).toFixed(1)} MiB of heap for ${items.length} documents (${((heap / items.length) * 10_000 / 1024 / 1024).toFixed(1)} MiB per 10,000); snapshot ${(snapshot / 1024 / 1024).toFixed(1)} MiB`;
}
