/**
 * `npm run bench:load`: a mixed load on the local platform (issue 6's benchmark). Prints figures
 * and MET / NOT MET goal lines; asserts nothing.
 *
 * 1. Generates a few distinct short clips with ffmpeg (360p, 5–10 s), starts the platform in a
 *    child process (its own event loop, as a server would be; DynamoDB in memory), signs up one
 *    user per uploader and one catalog owner, and writes a catalog of ready public videos straight
 *    into the table (the indexer takes them from the stream), so reads and searches hit a
 *    realistically sized index from the first second.
 * 2. For `--minutes`, at once:
 *    - `--uploaders` creators, each in a loop: start an upload (public), PUT its part(s) to the
 *      presigned URLs, complete, poll `GET .../status` every second until `ready` or `failed`
 *      (or `--give-up-minutes` pass: a stuck video must not stop that uploader's load);
 *    - `GET /api/v1/videos/{id}` at `--read-rate` req/s (catalog ids and uploads that became
 *      ready) and `GET /api/v1/search/videos?q=` at `--search-rate` req/s, anonymous.
 *    The two fixed-rate streams are scheduled here and each latency is measured from the request's
 *    *intended* send time, so a stall delays the clock, not the sample (no coordinated omission).
 *    The upload rate limit (5 starts per user per hour) would otherwise be what this measures: the
 *    platform is started with the CDK context `uploadStartsPerHour` raised (the check still runs).
 * 3. Drain: no new uploads; the pipelines in flight finish (up to `--drain-minutes`; sooner once
 *    the platform has nothing in flight, when a video not yet ready or failed is stuck, and how
 *    its execution ended is printed). Then every uploader's videos are listed (`GET /me/videos`)
 *    and compared with what was started and completed: nothing lost, nothing duplicated, every
 *    completed upload `ready`.
 * 4. Memory of the platform's Node process (read there after a forced GC): at start, after
 *    `--warmup-minutes`, and at the end of the load window (and after the drain, for reference).
 *    Not counted: DynamoDB Local's JVM and the ffmpeg processes, which are processes of their own.
 *
 *   npm run bench:load [-- --minutes 10 --uploaders 20 --read-rate 200 --search-rate 50
 *                          --catalog 1000 --warmup-minutes 1 --drain-minutes 10 --give-up-minutes 5 --keep-data]
 *   BENCH_VERBOSE=1 prints the platform's log (requests, workflow, function output).
 */
import '../local/node20.ts';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { videoKey, videoOwnerIndexKey } from '#adapters/keys';
import { makeClip } from '../test/support/media.ts';
import { signUpAndSignIn } from '../local/users.ts';
import { measureOthersCpu } from './cpu-meter.ts';
import { fixedRate } from './fixed-rate.ts';
import { startPlatformProcess } from './platform-process.ts';
import { putFileRange } from './upload-client-node.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    uploaders: { type: 'string', default: '20' },
    'read-rate': { type: 'string', default: '200' },
    'search-rate': { type: 'string', default: '50' },
    catalog: { type: 'string', default: '1000' },
    'warmup-minutes': { type: 'string', default: '1' },
    'drain-minutes': { type: 'string', default: '10' },
    'give-up-minutes': { type: 'string', default: '5' },
    'keep-data': { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const UPLOADERS = Number(args.uploaders);
const READ_RATE = Number(args['read-rate']);
const SEARCH_RATE = Number(args['search-rate']);
const CATALOG = Number(args.catalog);
const WARMUP_MINUTES = Math.min(Number(args['warmup-minutes']), MINUTES / 2);
const DRAIN_MINUTES = Number(args['drain-minutes']);
/** An uploader stops waiting for a video after this long and uploads the next (a stuck one must not stop the load). */
const GIVE_UP_MINUTES = Number(args['give-up-minutes']);
if (![MINUTES, UPLOADERS, READ_RATE, SEARCH_RATE, CATALOG, WARMUP_MINUTES, DRAIN_MINUTES, GIVE_UP_MINUTES].every((n) => Number.isFinite(n) && n >= 0)) {
  throw new Error('numeric options must be non-negative numbers');
}
/** High enough that no uploader meets it within the run; the atomic counter is still updated. */
const STARTS_PER_HOUR = 1_000_000;
const REQUEST_TIMEOUT_MS = 30_000;
const POLL_EVERY_MS = 1000;
/**
 * Idle connections are closed after 4 s, before the server's keep-alive timeout (Node's 5 s)
 * would: reusing one the server is closing at that moment gives a reset nobody caused.
 */
function keepAlive(maxSockets: number) {
  return { keepAlive: true, maxSockets, timeout: 4000 };
}

/**
 * Connections per client, as a fleet of keep-alive clients (or a CDN) would hold: enough for
 * each fixed rate at a few hundred ms per answer; beyond that requests queue here, which the
 * latency still counts (it runs from the intended send time).
 */
const agents = {
  reads: new Agent(keepAlive(64)),
  searches: new Agent(keepAlive(32)),
  api: new Agent(keepAlive(64)),
};
const CLIPS = [
  { seconds: 5, fps: 30 },
  { seconds: 6, fps: 25 },
  { seconds: 8, fps: 30 },
  { seconds: 10, fps: 24 },
];

const WORDS = (
  'river mountain sunset ocean forest desert canyon glacier meadow volcano city harbor bridge tower ' +
  'market garden kitchen recipe pasta bread coffee guitar piano violin drums concert festival dance ' +
  'soccer tennis cycling marathon climbing surfing skiing sailing fishing camping hiking travel train ' +
  'airport museum castle temple island village robot rocket planet galaxy telescope science physics'
).split(' ');
const TAGS = ['travel', 'music', 'sports', 'food', 'science', 'art', 'nature', 'tech', 'howto', 'vlog'];

let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: readonly number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
const ms = (n: number) => (Number.isNaN(n) ? '—' : `${n.toFixed(1)} ms`);
const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Latencies and outcomes of one route. */
class RouteStats {
  readonly latencies: number[] = [];
  readonly statuses = new Map<number, number>();
  readonly errors = new Map<string, number>();
  skipped = 0;
  constructor(readonly name: string) {}

  record(latencyMs: number, status: number): void {
    this.latencies.push(latencyMs);
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  fail(error: unknown): void {
    const code = (error as { code?: unknown } | undefined)?.code;
    const name =
      error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')
        ? `no answer in ${REQUEST_TIMEOUT_MS / 1000} s`
        : typeof code === 'string'
          ? code
          : error instanceof Error
            ? error.message
            : String(error);
    this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
  }

  count(predicate: (status: number) => boolean): number {
    return [...this.statuses].filter(([status]) => predicate(status)).reduce((sum, [, n]) => sum + n, 0);
  }

  get errorCount(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0) + this.skipped;
  }
}

const routes = {
  start: new RouteStats('POST /videos/upload'),
  part: new RouteStats('PUT part (presigned S3)'),
  complete: new RouteStats('POST /videos/{id}/upload/complete'),
  status: new RouteStats('GET /videos/{id}/status (poll)'),
  read: new RouteStats('GET /videos/{id}'),
  search: new RouteStats('GET /search/videos?q='),
  list: new RouteStats('GET /me/videos (final listing)'),
};

/** Where the drain stands: uploads between start and complete; the platform idle after the window. */
const drain = { uploading: 0, idle: false };

const started = performance.now();
const others = measureOthersCpu();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
const dataDir = mkdtempSync(join(tmpdir(), 'vodstack-bench-load-'));
console.log(
  `load benchmark: ${MINUTES} min; ${UPLOADERS} uploaders; GET /videos/{id} at ${READ_RATE} req/s; search at ${SEARCH_RATE} req/s; ` +
    `catalog of ${CATALOG} ready videos`,
);
console.log(
  `note: upload rate limit raised to ${STARTS_PER_HOUR} starts per user per hour for this run (CDK context uploadStartsPerHour; ` +
    `default 5), and one user per uploader, so the limit is not what is measured`,
);

const clips = await Promise.all(
  CLIPS.map(async (clip, i) => {
    const file = join(dataDir, `clip-${i}.mp4`);
    await makeClip(file, { width: 640, height: 360, seconds: clip.seconds, fps: clip.fps });
    return { file, seconds: clip.seconds, size: statSync(file).size };
  }),
);
console.log(`clips: ${clips.map((c) => `${c.seconds} s / ${(c.size / 1024).toFixed(0)} KiB`).join(', ')} (640×360, H.264 + AAC)`);

const platform = await startPlatformProcess({
  dataDir: join(dataDir, 'platform'),
  inMemoryTables: true,
  port: 0,
  context: { uploadStartsPerHour: STARTS_PER_HOUR },
});
try {
  const password = 'Correct-Horse-9-Battery!';
  const users: { token: string; email: string }[] = [];
  for (let i = 0; i < UPLOADERS; i++) {
    const email = `bench-load-${i}@example.com`;
    users.push({ email, token: (await signUpAndSignIn(platform, email, password)).idToken });
  }
  const catalogOwner = await signUpAndSignIn(platform, 'bench-load-catalog@example.com', password);
  const catalogIds = await seedCatalog(JSON.parse(Buffer.from(catalogOwner.idToken.split('.')[1]!, 'base64url').toString()).sub as string);
  await platform.idle();
  const readyIds: string[] = [];
  const uploads: Upload[] = [];
  const start = await platform.memory();
  let warm: NodeJS.MemoryUsage | undefined;
  console.log(`platform ready and catalog indexed ${((performance.now() - started) / 1000).toFixed(1)} s after start; load begins`);

  // 2. The load window.
  loopDelay.enable();
  const loadStart = performance.now();
  const loadEnd = loadStart + MINUTES * 60_000;
  const drainEnd = loadEnd + DRAIN_MINUTES * 60_000;
  const warmTimer = setTimeout(() => {
    void platform.memory().then((usage) => (warm = usage));
  }, WARMUP_MINUTES * 60_000);
  const progress = setInterval(() => {
    const minute = ((performance.now() - loadStart) / 60_000).toFixed(1);
    console.log(`  ${minute} min: ${uploads.filter((u) => u.completedAt).length} uploads completed, ${uploads.filter((u) => u.outcome === 'ready').length} ready`);
  }, 60_000);

  const uploaders = users.map((user, i) => uploader(user, i, uploads, readyIds, loadEnd, drainEnd));
  const reads = fixedRateGets(routes.read, READ_RATE, loadEnd, agents.reads, () => {
    const fromUploads = readyIds.length > 0 && random() < 0.5;
    return `/api/v1/videos/${fromUploads ? pick(readyIds) : pick(catalogIds)}`;
  });
  const searches = fixedRateGets(routes.search, SEARCH_RATE, loadEnd, agents.searches, () => {
    const q = random() < 0.7 ? pick(WORDS) : `${pick(WORDS)} ${pick(WORDS)}`;
    return `/api/v1/search/videos?q=${encodeURIComponent(q)}&page_size=20`;
  });
  await Promise.all([reads, searches]);
  const end = await platform.memory();
  clearTimeout(warmTimer);
  console.log(`load window over (its last requests answered ${((performance.now() - loadEnd) / 1000).toFixed(1)} s after it); draining the pipelines in flight`);
  // Once no upload is between start and complete and the platform has nothing in flight (no
  // event, execution or stream record), a video not yet ready or failed never will be: stop.
  void (async () => {
    while (drain.uploading > 0) await sleep(200);
    await platform.idle();
    await sleep(3 * POLL_EVERY_MS);
    drain.idle = true;
  })();
  await Promise.all(uploaders);
  clearInterval(progress);
  loopDelay.disable();
  const drainedAfter = (performance.now() - loadEnd) / 1000;
  await platform.idle();
  const drained = await platform.memory();
  const memory = { start, warm: warm ?? end, end, drained };

  // 3. Accounting: every started upload listed exactly once, every completed one ready.
  const listed = new Map<string, { status: string; failure?: { code: string }; durationSeconds?: number }[]>();
  for (const user of users) {
    for (const item of await listMyVideos(user.token)) listed.set(item.id, [...(listed.get(item.id) ?? []), item]);
  }
  const startedIds = new Set(uploads.map((u) => u.id));
  const completed = uploads.filter((u) => u.completedAt !== undefined);
  const duplicated = [...listed].filter(([, items]) => items.length > 1).map(([id]) => id);
  const lost = [...startedIds].filter((id) => !listed.has(id));
  const unknown = [...listed.keys()].filter((id) => !startedIds.has(id));
  const finalStatus = (id: string) => listed.get(id)?.[0]?.status ?? 'missing';
  const completedBy = countBy(completed.map((u) => finalStatus(u.id)));
  const failureCodes = countBy(completed.filter((u) => finalStatus(u.id) === 'failed').map((u) => listed.get(u.id)![0]!.failure?.code ?? '?'));
  const notCompletedBy = countBy(uploads.filter((u) => u.completedAt === undefined).map((u) => finalStatus(u.id)));
  const readyCount = completedBy.get('ready') ?? 0;

  // Throughput: the platform's own durations of the videos that became ready.
  const minutesOf = (list: Upload[]) => list.reduce((sum, u) => sum + (listed.get(u.id)?.[0]?.durationSeconds ?? 0), 0) / 60;
  const readyInWindow = uploads.filter((u) => u.readyAt !== undefined && u.readyAt <= loadEnd);
  const readyAll = uploads.filter((u) => u.readyAt !== undefined);
  const processing = readyAll.map((u) => u.readyAt! - u.completedAt!).sort((a, b) => a - b);
  const cycle = readyAll.map((u) => u.readyAt! - u.startedAt).sort((a, b) => a - b);

  // 4. The report.
  console.log('\nroute                                        p50        p99   requests   2xx   non-2xx by status     errors');
  for (const r of Object.values(routes)) {
    const sorted = [...r.latencies].sort((a, b) => a - b);
    const non2xx = [...r.statuses].filter(([s]) => s < 200 || s >= 300).map(([s, n]) => `${s}×${n}`).join(' ') || '0';
    const errors = [...r.errors].map(([e, n]) => `${e}×${n}`).concat(r.skipped ? [`skipped (client backlog)×${r.skipped}`] : []).join(' ') || '0';
    console.log(
      `${r.name.padEnd(40)} ${ms(percentile(sorted, 50)).padStart(9)} ${ms(percentile(sorted, 99)).padStart(10)} ${String(sorted.length).padStart(10)} ${String(r.count((s) => s >= 200 && s < 300)).padStart(5)}   ${non2xx.padEnd(20)} ${errors}`,
    );
  }
  const windowSeconds = MINUTES * 60;
  console.log(`achieved rates: GET /videos/{id} ${(routes.read.latencies.length / windowSeconds).toFixed(1)} req/s, search ${(routes.search.latencies.length / windowSeconds).toFixed(1)} req/s (offered ${READ_RATE} and ${SEARCH_RATE})`);
  console.log('\npipeline');
  console.log(`  uploads started ${uploads.length}, completed ${completed.length}; completed → final status: ${describe(completedBy)}${failureCodes.size ? ` (failure codes: ${describe(failureCodes)})` : ''}`);
  const stuck = completed.filter((u) => !['ready', 'failed'].includes(finalStatus(u.id)));
  if (stuck.length) {
    console.log(
      `  ${stuck.length} completed uploads never reached ready or failed: ${drain.idle ? 'the platform went idle (no execution running) with them unfinished, i.e. stuck' : `still processing when the drain ended (${DRAIN_MINUTES} min)`}; their executions:`,
    );
    for (const line of await executionsOf(stuck.map((u) => u.id))) console.log(`    ${line}`);
  }
  if (uploads.length > completed.length) console.log(`  started but not completed by the client (a PUT or complete failed): ${describe(notCompletedBy)}`);
  console.log(`  complete → ready (seen by the 1 s poll): p50 ${ms(percentile(processing, 50))}, p99 ${ms(percentile(processing, 99))}; start → ready p50 ${ms(percentile(cycle, 50))}`);
  console.log(`  throughput in the load window: ${readyInWindow.length} videos, ${minutesOf(readyInWindow).toFixed(2)} video minutes in ${MINUTES} wall minutes = ${(minutesOf(readyInWindow) / MINUTES).toFixed(2)} video min / wall min`);
  console.log(`  with the drain (${drainedAfter.toFixed(0)} s): ${readyAll.length} videos, ${minutesOf(readyAll).toFixed(2)} video minutes = ${(minutesOf(readyAll) / (MINUTES + drainedAfter / 60)).toFixed(2)} video min / wall min`);
  console.log(`  listing: ${listed.size} videos listed for ${startedIds.size} started; lost ${lost.length}, duplicated ${duplicated.length}, not started by this run ${unknown.length}`);
  for (const [label, ids] of [['lost', lost], ['duplicated', duplicated], ['unknown', unknown]] as const) {
    if (ids.length) console.log(`    ${label}: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}`);
  }

  console.log('\nmemory of the platform process (Node; after a forced GC; DynamoDB Local and ffmpeg not included)');
  for (const [label, usage] of [
    ['start', memory.start],
    [`after warm-up (${WARMUP_MINUTES} min)`, memory.warm],
    ['end of load', memory.end],
    ['after the drain', memory.drained],
  ] as const) {
    console.log(`  ${label.padEnd(26)} RSS ${mib(usage.rss).padStart(10)}   heap used ${mib(usage.heapUsed).padStart(10)}   external ${mib(usage.external).padStart(9)}`);
  }
  const rssRatio = memory.end.rss / memory.warm.rss;
  const heapRatio = memory.end.heapUsed / memory.warm.heapUsed;
  const lag = loopDelay.percentile(99) / 1e6;

  const fiveXx = Object.values(routes).reduce((sum, r) => sum + r.count((s) => s >= 500), 0);
  const errors = Object.values(routes).reduce((sum, r) => sum + r.errorCount, 0);
  // A leak shows as growth; memory given back after warm-up is no failure.
  const within = (ratio: number) => ratio <= 1.2;
  console.log(`\ngoal: zero lost or duplicated videos: ${lost.length + duplicated.length === 0 ? 'MET' : 'NOT MET'} (lost ${lost.length}, duplicated ${duplicated.length})`);
  console.log(`goal: every completed upload ready: ${readyCount === completed.length && completed.length > 0 ? 'MET' : 'NOT MET'} (${readyCount} ready of ${completed.length} completed)`);
  console.log(`goal: zero 5xx: ${fiveXx === 0 ? 'MET' : 'NOT MET'} (${fiveXx} 5xx)`);
  console.log(`goal: every request answered (no timeout, reset or refused connection): ${errors === 0 ? 'MET' : 'NOT MET'} (${errors} without an answer)`);
  console.log(
    `goal: memory at the end within 20% of after warm-up (end ≤ 1.2 × warm-up): ${within(rssRatio) && within(heapRatio) ? 'MET' : 'NOT MET'} ` +
      `(RSS ×${rssRatio.toFixed(2)}, heap ×${heapRatio.toFixed(2)})`,
  );
  console.log(`note: this process's event-loop delay p99 was ${lag.toFixed(1)} ms (it adds to the fixed-rate latencies, which count from the intended send time)`);
  const cpu = others();
  if (cpu !== undefined) console.log(`note: other processes used ${cpu.toFixed(2)} of the CPUs on average during the run`);
  console.log(`total time ${((performance.now() - started) / 60_000).toFixed(1)} min`);
} finally {
  await platform.stop();
  if (args['keep-data']) console.log(`data kept in ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}

interface Upload {
  readonly id: string;
  readonly startedAt: number;
  completedAt?: number;
  readyAt?: number;
  outcome?: 'ready' | 'failed' | 'unfinished';
}

/**
 * One creator: upload, wait for the pipeline, repeat until the load window ends; the last
 * pipeline is waited for until `drainEnd`.
 */
async function uploader(user: { token: string }, index: number, uploads: Upload[], readyIds: string[], loadEnd: number, drainEnd: number): Promise<void> {
  const auth = { authorization: `Bearer ${user.token}` };
  let n = 0;
  while (performance.now() < loadEnd) {
    const clip = clips[(index + n) % clips.length]!;
    n++;
    drain.uploading++;
    const start = await call(routes.start, '/api/v1/videos/upload', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: `${words(2)} load ${index}-${n}`,
        tags: [pick(TAGS)],
        visibility: 'public',
        fileName: 'clip.mp4',
        fileSize: clip.size,
        contentType: 'video/mp4',
      }),
    });
    if (start?.status !== 201) {
      drain.uploading--;
      await sleep(1000);
      continue;
    }
    const session = start.json as { id: string; parts: { partNumber: number; size: number; url: string }[] };
    const upload: Upload = { id: session.id, startedAt: performance.now() };
    uploads.push(upload);

    let offset = 0;
    const etags: { partNumber: number; etag: string }[] = [];
    for (const part of session.parts) {
      const etag = await putPart(part.url, clip.file, offset, part.size);
      offset += part.size;
      if (etag === undefined) break;
      etags.push({ partNumber: part.partNumber, etag });
    }
    if (etags.length !== session.parts.length) {
      drain.uploading--;
      continue;
    }
    const done = await call(routes.complete, `/api/v1/videos/${session.id}/upload/complete`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ parts: etags }),
    });
    drain.uploading--;
    if (done?.status !== 200) continue;
    upload.completedAt = performance.now();

    while (upload.outcome === undefined) {
      await sleep(POLL_EVERY_MS);
      const status = await call(routes.status, `/api/v1/videos/${session.id}/status`, { headers: auth });
      const state = (status?.json as { status?: string } | undefined)?.status;
      if (state === 'ready') {
        upload.readyAt = performance.now();
        upload.outcome = 'ready';
        readyIds.push(upload.id);
      } else if (state === 'failed') {
        upload.outcome = 'failed';
      } else if (drain.idle || performance.now() > drainEnd || performance.now() - upload.completedAt > GIVE_UP_MINUTES * 60_000) {
        upload.outcome = 'unfinished';
      }
    }
  }
}

/** PUTs one part, retrying twice; the part's ETag, or undefined when it never got stored. */
async function putPart(url: string, file: string, offset: number, size: number): Promise<string | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const sentAt = performance.now();
    try {
      const res = await putFileRange({ url, file, offset, size, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      routes.part.record(performance.now() - sentAt, res.status);
      if (res.status === 200 && res.etag) return res.etag;
    } catch (error) {
      routes.part.fail(error);
    }
    await sleep(500 * (attempt + 1));
  }
  return undefined;
}

/**
 * One API request, timed from `intendedAt` (default: now) until its body is read. Undefined when
 * no answer came (refused, reset, timed out): counted as an error of the route.
 */
async function call(
  route: RouteStats,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {},
  intendedAt = performance.now(),
): Promise<{ status: number; json: unknown } | undefined> {
  try {
    const { status, text } = await send(new URL(path, platform.apiUrl), init);
    route.record(performance.now() - intendedAt, status);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status, json };
  } catch (error) {
    route.fail(error);
    return undefined;
  }
}

/** One HTTP request through a keep-alive agent (a request waits there for a free connection). */
function send(url: URL, init: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : Buffer.from(init.body);
    const req = httpRequest(url, {
      method: init.method ?? 'GET',
      headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      agent: init.agent ?? agents.api,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(body);
  });
}

/** {@link fixedRate} of GETs on `route`, each latency counted from its scheduled time. */
async function fixedRateGets(route: RouteStats, rate: number, endAt: number, agent: Agent, path: () => string): Promise<void> {
  const { skipped } = await fixedRate(rate, endAt, (at) => call(route, path(), { agent }, at));
  route.skipped += skipped;
}

/** Every video of the caller, following `nextCursor`. */
async function listMyVideos(token: string): Promise<({ id: string; status: string; failure?: { code: string }; durationSeconds?: number })[]> {
  const items: { id: string; status: string; failure?: { code: string }; durationSeconds?: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await call(routes.list, `/api/v1/me/videos?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (page?.status !== 200) throw new Error(`GET /me/videos answered ${page?.status ?? 'nothing'}: the accounting cannot be done`);
    const body = page.json as { items: typeof items; nextCursor?: string };
    items.push(...body.items);
    cursor = body.nextCursor;
  } while (cursor);
  return items;
}

/** Writes `CATALOG` ready public videos straight into the table; their ids. */
async function seedCatalog(ownerId: string): Promise<string[]> {
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: platform.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );
  const now = Date.now();
  const items = Array.from({ length: CATALOG }, (_, i) => {
    const id = `c${i.toString(36).padStart(10, '0')}`.slice(-11);
    const createdAt = new Date(now - (CATALOG - i) * 1000).toISOString();
    return {
      ...videoKey(id),
      ...videoOwnerIndexKey(ownerId, createdAt, id),
      entity: 'video',
      id,
      ownerId,
      title: `${words(3)} ${i}`,
      description: words(20),
      tags: [pick(TAGS)],
      visibility: 'public',
      status: 'ready',
      fileName: 'clip.mp4',
      fileSize: 1_000_000,
      contentType: 'video/mp4',
      rawKey: `uploads/${id}/source`,
      uploadId: 'seeded',
      partSize: 8 * MiB,
      generation: 1,
      version: 1,
      media: {
        durationSeconds: 60,
        width: 640,
        height: 360,
        renditions: [{ name: '360p', width: 640, height: 360, bandwidth: 800_000 }],
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
  for (let i = 0; i < items.length; i += 25) {
    let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length) {
      const out = await documents.send(new BatchWriteCommand({ RequestItems: { [platform.tableName]: pending } }));
      pending = (out.UnprocessedItems?.[platform.tableName] ?? []) as typeof pending;
    }
  }
  documents.destroy();
  return items.map((item) => item.id);
}

/** How the executions of these videos ended, grouped (status and error), from the local Step Functions. */
async function executionsOf(videoIds: readonly string[]): Promise<string[]> {
  const sfn = new SFNClient({ endpoint: platform.sfnEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const wanted = new Set(videoIds);
    const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: platform.workflowArn }));
    const outcomes: string[] = [];
    for (const execution of executions.filter((e) => wanted.has(e.name!.replace(/-g\d+$/, '')))) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn! }));
      outcomes.push(`${described.status}${described.error ? ` ${described.error}: ${(described.cause ?? '').slice(0, 160)}` : ''}`);
    }
    const none = videoIds.length - new Set(executions.map((e) => e.name!.replace(/-g\d+$/, '')).filter((id) => wanted.has(id))).size;
    return [...countBy(outcomes)].map(([outcome, n]) => `${n} × ${outcome}`).concat(none ? [`${none} × no execution`] : []);
  } finally {
    sfn.destroy();
  }
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function describe(counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([key, n]) => `${key} ${n}`).join(', ') || 'none';
}
