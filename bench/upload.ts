/**
 * Upload benchmark: the API's resumable multipart flow against one plain PUT of the same file to
 * the same local S3 stand-in, then a run through a proxy that cuts ~10% of the part uploads.
 *
 *   npm run bench:upload
 *   npm run bench:upload -- --size-mib 512 --rounds 3 --concurrency 1,4,8 --cut-rate 0.1 --seed 7
 *     --platform in-process|process   where the platform runs (default: in this process)
 *     --data-dir DIR                   where the file and the stand-ins' data go (default: os.tmpdir())
 *     --part-size-mib N                the platform's preferred part size (default: its own, 8 MiB)
 *
 * Every stored object is read back through the SDK and its SHA-256 compared with the file's.
 * Exits non-zero when a check fails (a hash, the cut run, the re-sent bytes bound); the 20% goal
 * is reported, not enforced (it measures the stand-in as much as the flow).
 */
import '../local/node20.ts';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { partSizeFor } from '../lambdas/domain/uploads.ts';
import { startPlatform, type PlatformInfo } from '../local/platform.ts';
import { signUpAndSignIn } from '../local/users.ts';
import { seededCut, startCuttingProxy, type CutRecord } from './cutting-proxy.ts';
import { measureOthersCpu } from './cpu-meter.ts';
import { startPlatformProcess } from './platform-process.ts';
import { quietHandlerLogs } from './quiet-logs.ts';
import { filePartSender, putFileRange } from './upload-client-node.ts';
import { HttpUploadApi, resumeUpload, uploadFile, type UploadResult } from './upload-client.ts';

const MiB = 1024 * 1024;
const MB = 1e6;
const GOAL_OVERHEAD = 0.2;

const { values: args } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '512' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,4,8' },
    'cut-concurrency': { type: 'string', default: '4' },
    'cut-rate': { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '7' },
    'part-size-mib': { type: 'string' },
    platform: { type: 'string', default: 'in-process' },
    'data-dir': { type: 'string', default: os.tmpdir() },
  },
});
const FILE_BYTES = Math.round(Number(args['size-mib']) * MiB);
const ROUNDS = Number(args.rounds);
const CONCURRENCIES = args.concurrency.split(',').map(Number);
const CUT_CONCURRENCY = Number(args['cut-concurrency']);
const CUT_RATE = Number(args['cut-rate']);
const SEED = Number(args.seed);
const PART_SIZE = args['part-size-mib'] === undefined ? undefined : Number(args['part-size-mib']) * MiB;
if (args.platform !== 'in-process' && args.platform !== 'process') throw new Error('--platform is in-process or process');
if (![FILE_BYTES, ROUNDS, CUT_CONCURRENCY, CUT_RATE, SEED, ...CONCURRENCIES].every((n) => Number.isFinite(n) && n >= 0)) {
  throw new Error('numeric options must be non-negative numbers');
}

// ---------------------------------------------------------------------------------------------
// Helpers

const handlerLogs = quietHandlerLogs();

const failures: string[] = [];
function check(ok: boolean, what: string): boolean {
  if (!ok) failures.push(what);
  return ok;
}

const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000);
const fmt = (n: number, digits = 1) => n.toFixed(digits);
const mib = (bytes: number) => `${fmt(bytes / MiB, 2)} MiB`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const signed = (fraction: number) => `${fraction >= 0 ? '+' : ''}${fmt(fraction * 100, 0)}%`;

/** A text table; `align` per column ('l' or 'r', default: first left, others right). */
function table(header: readonly string[], rows: readonly (readonly string[])[], align?: string): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const left = (i: number) => (align ? align[i] === 'l' : i === 0);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Writes `bytes` of random data to `file` in 8 MiB chunks (never more in memory); returns its SHA-256. */
async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(8 * MiB, left));
    hash.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return hash.digest('hex');
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Flushes dirty pages before a timed run, so the previous run's write-back (each run writes
 * 0.5-1 GiB) does not throttle this one. Untimed.
 */
function settleDisk(): void {
  try {
    execFileSync('sync');
  } catch {
    // no `sync` (not POSIX): runs may then disturb each other a little more
  }
}

/** The upload is stored (a pipeline may already have moved the video on). */
const completed = (result: UploadResult) => ['uploaded', 'processing', 'ready'].includes(result.status.status);

interface Run {
  readonly label: string;
  readonly ms: number;
  readonly sha256Ok: boolean;
  readonly result?: UploadResult;
  /** CPUs other processes kept busy during the timed part, on average (Linux only). */
  readonly othersCpu?: number | undefined;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  const cpus = os.cpus();
  console.log('vodstack upload benchmark');
  console.log(
    `machine: ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? '?'}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, ` +
      `${os.type()} ${os.release()} ${os.arch()}, node ${process.version}`,
  );
  const loadAtStart = os.loadavg()[0]!;
  console.log(`load average at start: ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}${busy(loadAtStart)}`);

  const dir = await mkdtemp(path.join(args['data-dir'], 'vodstack-bench-'));
  const file = path.join(dir, 'random.bin');
  let platform: (PlatformInfo & { stop(): Promise<void> }) | undefined;
  try {
    let t = performance.now();
    const fileSha = await writeRandomFile(file, FILE_BYTES);
    console.log(`file: ${FILE_BYTES / MiB} MiB of random bytes, ${file} (written in ${fmt((performance.now() - t) / 1000, 2)} s)`);

    t = performance.now();
    const platformOptions = {
      dataDir: path.join(dir, 'platform'),
      inMemoryTables: true,
      port: 0,
      context: { uploadStartsPerHour: 1000, ...(PART_SIZE ? { uploadPartSizeBytes: PART_SIZE } : {}) },
    };
    platform =
      args.platform === 'process'
        ? await startPlatformProcess(platformOptions)
        : await startPlatform({ ...platformOptions, log: () => undefined });
    console.log(
      `platform: ${args.platform === 'process' ? 'in a child process' : 'in this process (client, stand-ins and API share one event loop)'}, ` +
        `up in ${fmt((performance.now() - t) / 1000, 1)} s; S3 stand-in ${platform.s3Endpoint}`,
    );
    const { idToken } = await signUpAndSignIn(platform, `bench-${Date.now()}@example.com`, 'Correct-Horse-9-Battery');
    const api = new HttpUploadApi({ baseUrl: platform.apiUrl, token: idToken });
    const s3 = new S3Client({
      endpoint: platform.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const bucket = platform.rawBucket;
    // Newer platforms run work after an upload (events, workflows): let it finish before a timed
    // run. Duck-typed, so the benchmark also runs against platforms without it.
    let idleMs = 0;
    const idle = async () => {
      const maybe = platform as { idle?: () => Promise<void> };
      const start = performance.now();
      if (typeof maybe.idle === 'function') await maybe.idle();
      idleMs += performance.now() - start;
    };
    /** Objects verified and waiting to be deleted (after the platform's background work). */
    const toDelete: string[] = [];
    /** Before a timed run: background work done, previous objects deleted (disk), dirty pages flushed. */
    const settle = async () => {
      await idle();
      for (const key of toDelete.splice(0)) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      settleDisk();
    };

    /** Reads the object back through the SDK into a SHA-256 and compares; deleted before the next run. */
    const verify = async (key: string, label: string, bytes = FILE_BYTES, expected = fileSha): Promise<boolean> => {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of object.Body as Readable) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      const digest = hash.digest('hex');
      toDelete.push(key);
      return check(size === bytes && digest === expected, `${label}: stored ${size} bytes, sha256 ${digest} (expected ${bytes} bytes, ${expected})`);
    };

    const metadata = (label: string) =>
      ({ title: `bench ${label}`, visibility: 'private', fileName: 'random.bin', contentType: 'video/mp4' }) as const;

    const plainPut = async (label: string, bytes = FILE_BYTES, sha = fileSha): Promise<Run> => {
      const key = `bench/plain-${Date.now()}-${randomBytes(3).toString('hex')}`;
      const others = measureOthersCpu();
      const start = performance.now();
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key, ContentLength: bytes }), {
        expiresIn: 3600,
        signableHeaders: new Set(['content-length']),
      });
      const response = await putFileRange({ url, file, offset: 0, size: bytes });
      const ms = performance.now() - start;
      const othersCpu = others();
      check(response.status === 200, `${label}: ${response.status} ${response.body.slice(0, 300)}`);
      return { label: 'plain PUT', ms, sha256Ok: await verify(key, label, bytes, sha), othersCpu };
    };

    const apiFlow = async (concurrency: number, label: string, bytes = FILE_BYTES, sha = fileSha): Promise<Run> => {
      const others = measureOthersCpu();
      const start = performance.now();
      const result = await uploadFile({
        api,
        fileSize: bytes,
        metadata: metadata(label),
        sendPart: filePartSender(file),
        concurrency,
      });
      const ms = performance.now() - start;
      const othersCpu = others();
      check(completed(result), `${label}: status ${result.status.status}`);
      check(result.sentBytes === bytes, `${label}: sent ${result.sentBytes} bytes for ${bytes}`);
      const sha256Ok = await verify(`uploads/${result.id}/source`, label, bytes, sha);
      return { label: `API flow x${concurrency}`, ms, sha256Ok, result, othersCpu };
    };

    // Warm-up (untimed): loads the route handlers, opens connections, fills the JIT.
    const warmBytes = Math.min(FILE_BYTES, 16 * MiB);
    const warmSha = createHash('sha256');
    for await (const chunk of createReadStream(file, { start: 0, end: warmBytes - 1 })) warmSha.update(chunk as Buffer);
    const warmDigest = warmSha.digest('hex');
    await plainPut('warm-up plain PUT', warmBytes, warmDigest);
    const warm = await apiFlow(4, 'warm-up API flow', warmBytes, warmDigest);

    // Resume check (untimed): start, store part 1 only, then resume knowing only the video id.
    const session = await api.start({ ...metadata('resume check'), fileSize: warmBytes });
    const first = session.parts[0]!;
    const firstPut = await filePartSender(file)({
      url: first.url,
      partNumber: first.partNumber,
      offset: 0,
      size: first.size,
      signal: new AbortController().signal,
      onBytesSent: () => undefined,
    });
    const resumed = await resumeUpload({ api, id: session.id, fileSize: warmBytes, sendPart: filePartSender(file) });
    const resumeOk =
      check(firstPut.status === 200, `resume check: part 1 answered ${firstPut.status}`) &&
      check(
        resumed.alreadyStoredParts === 1 && resumed.sentBytes === warmBytes - first.size && completed(resumed),
        `resume check: ${resumed.alreadyStoredParts} parts already stored, ${resumed.sentBytes} bytes sent, status ${resumed.status.status}`,
      ) &&
      (await verify(`uploads/${session.id}/source`, 'resume check', warmBytes, warmDigest));
    console.log(
      `resume check (${warmBytes / MiB} MiB, ${session.partCount} parts): part 1 stored, then resumeUpload by id sent ` +
        `${mib(resumed.sentBytes)} for the other ${session.partCount - resumed.alreadyStoredParts} part(s): ${resumeOk ? 'ok' : 'FAILED'}`,
    );
    const partSize = partSizeFor(FILE_BYTES, warm.result!.partSize);
    const partCount = Math.ceil(FILE_BYTES / partSize);
    console.log(`part size: ${partSize / MiB} MiB (the platform's ${PART_SIZE ? 'configured' : 'default'}), ${partCount} parts`);

    // Rounds interleave the configurations, so a slow spell of the machine hits all of them alike.
    const runs = new Map<string, Run[]>();
    const record = (run: Run) => {
      runs.set(run.label, [...(runs.get(run.label) ?? []), run]);
      const r = run.result;
      console.log(
        `  ${run.label.padEnd(12)} ${fmt(run.ms / 1000, 2).padStart(6)} s ${fmt(mbps(FILE_BYTES, run.ms)).padStart(6)} MB/s` +
          (r ? `  (start ${fmt(r.timings.sessionMs, 0)} ms, parts ${fmt(r.timings.partsMs, 0)} ms, complete ${fmt(r.timings.completeMs, 0)} ms)` : '') +
          `  sha256 ${run.sha256Ok ? 'ok' : 'MISMATCH'}` +
          (run.othersCpu === undefined ? '' : `  other processes: ${fmt(run.othersCpu, 2)} CPU`),
      );
    };
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}`);
      await settle();
      record(await plainPut(`plain PUT round ${round}`));
      for (const c of CONCURRENCIES) {
        await settle();
        record(await apiFlow(c, `API flow x${c} round ${round}`));
      }
    }

    // -- the cut-connection run ----------------------------------------------------------------
    const plan = seededCut(SEED, CUT_RATE, partCount);
    console.log(
      `cut-connection run: x${CUT_CONCURRENCY} through a proxy that cuts the first PUT of parts ` +
        `${plan.parts.join(', ') || '(none)'} (seed ${SEED}, rate ${CUT_RATE}) after half the body`,
    );
    const proxy = await startCuttingProxy({ upstream: platform.s3Endpoint, shouldCut: plan.shouldCut });
    let cutRun: { result: UploadResult; ms: number; sha256Ok: boolean; othersCpu: number | undefined } | undefined;
    try {
      await settle();
      const others = measureOthersCpu();
      const start = performance.now();
      const result = await uploadFile({
        api,
        fileSize: FILE_BYTES,
        metadata: metadata('cut'),
        sendPart: filePartSender(file),
        concurrency: CUT_CONCURRENCY,
        rewriteUrl: (url) => proxy.rewrite(url),
        retries: 5,
        backoff: { initialMs: 200, maxMs: 5000 },
        onRetry: (f) =>
          console.log(
            `  part ${String(f.partNumber).padStart(3)} attempt ${f.attempt} failed, ${mib(f.sentBytes)} handed to the socket: ` +
              `${f.reason}; retry in ${f.retryInMs} ms`,
          ),
      });
      const ms = performance.now() - start;
      const othersCpu = others();
      check(completed(result), `cut run: status ${result.status.status}`);
      cutRun = { result, ms, othersCpu, sha256Ok: await verify(`uploads/${result.id}/source`, 'cut run') };
    } catch (error) {
      check(false, `cut run did not complete: ${error instanceof Error ? error.message : String(error)}`);
    }
    const stats = proxy.stats();
    await proxy.close();

    // -- figures -------------------------------------------------------------------------------
    const plainMs = median((runs.get('plain PUT') ?? []).map((r) => r.ms));
    console.log('');
    console.log(
      `Figures: ${FILE_BYTES / MiB} MiB file, part size ${partSize / MiB} MiB (${partCount} parts), platform ${args.platform}; ` +
        `median of ${ROUNDS} runs, spread = slowest..fastest; MB = 10^6 bytes; phases are medians of the client's timings`,
    );
    const rows = [...runs].map(([label, list]) => {
      const med = median(list.map((r) => r.ms));
      const speeds = list.map((r) => mbps(FILE_BYTES, r.ms));
      const flows = list.map((r) => r.result).filter((r): r is UploadResult => r !== undefined);
      const phase = (pick: (r: UploadResult) => number) => (flows.length ? fmt(median(flows.map(pick)), 0) : '-');
      const isPlain = label === 'plain PUT';
      return [
        label,
        fmt(med / 1000, 2),
        fmt(mbps(FILE_BYTES, med)),
        `${fmt(Math.min(...speeds))}..${fmt(Math.max(...speeds))}`,
        isPlain ? '1.00' : fmt(plainMs / med, 2),
        isPlain ? '-' : signed(med / plainMs - 1),
        phase((r) => r.timings.sessionMs),
        phase((r) => r.timings.partsMs),
        phase((r) => r.timings.completeMs),
        list.every((r) => r.sha256Ok) ? `ok x${list.length}` : 'MISMATCH',
        othersOf(list),
      ];
    });
    console.log(
      table(
        ['configuration', 'time s', 'MB/s', 'MB/s spread', 'speed / PUT', 'time vs PUT', 'start ms', 'parts ms', 'complete ms', 'sha256', 'others CPU'],
        rows,
      ),
    );
    const allRuns = [...runs.values()].flat();
    const worst = Math.max(...allRuns.map((r) => r.othersCpu ?? 0));
    if (worst > 0.25) {
      console.log(
        `note: other processes kept up to ${fmt(worst, 2)} of ${os.cpus().length} CPUs busy during timed runs ('others CPU': median per ` +
          `configuration): the figures include that contention.`,
      );
    }
    const goalRuns = runs.get('API flow x4');
    if (goalRuns && plainMs > 0) {
      const overhead = median(goalRuns.map((r) => r.ms)) / plainMs - 1;
      console.log(
        `goal: the API flow at 4 parallel parts takes at most ${GOAL_OVERHEAD * 100}% longer than one plain PUT: ` +
          `${overhead <= GOAL_OVERHEAD ? 'MET' : 'NOT MET'} (${signed(overhead)})`,
      );
    }

    console.log('');
    console.log('Cut-connection run');
    if (cutRun) {
      const { result } = cutRun;
      const resent = result.sentBytes - FILE_BYTES;
      const cutSizes = stats.cuts.reduce((sum, c) => sum + c.size, 0);
      const cutParts = [...new Set(stats.cuts.map((c) => c.partNumber))].sort((a, b) => a - b);
      const bound = check(resent <= cutSizes, `cut run: ${resent} bytes sent again > ${cutSizes} bytes in the cut requests`);
      check(
        stats.cuts.length === result.failedAttempts.length,
        `cut run: the proxy cut ${stats.cuts.length} requests, the client saw ${result.failedAttempts.length} failed attempts`,
      );
      check(stats.cuts.length === plan.parts.length, `cut run: ${stats.cuts.length} requests cut, ${plan.parts.length} planned`);
      console.log(
        table(
          ['figure', 'value'],
          [
            ['part PUT requests (at the proxy)', `${stats.partRequests} for ${result.partCount} parts`],
            ['requests cut', `${stats.cuts.length} (${fmt((stats.cuts.length / Math.max(1, stats.partRequests)) * 100)}% of part PUTs)`],
            ['cut parts', cutParts.join(', ') || 'none'],
            ...stats.cuts.map((c) => ['', describeCut(c)]),
            ['sum of the cut parts sizes', `${cutSizes} B (${mib(cutSizes)})`],
            ['bytes the client sent', `${result.sentBytes} B (file: ${FILE_BYTES} B)`],
            ['bytes sent again', `${resent} B (${mib(resent)}, ${fmt((resent / FILE_BYTES) * 100, 2)}% of the file)`],
            ['bound: sent again <= sum of cut sizes', bound ? `HELD (${mib(resent)} <= ${mib(cutSizes)})` : 'BROKEN'],
            ['body bytes that reached the proxy', `${stats.bodyBytesReceived} B (${mib(stats.bodyBytesReceived - FILE_BYTES)} over the file)`],
            ['retries, GET .../upload calls', `${result.failedAttempts.length}, ${result.sessionRefreshes}`],
            [
              'time, speed (backoff included)',
              `${fmt(cutRun.ms / 1000, 2)} s, ${fmt(mbps(FILE_BYTES, cutRun.ms))} MB/s` +
                (cutRun.othersCpu === undefined ? '' : ` (other processes: ${fmt(cutRun.othersCpu, 2)} CPU)`),
            ],
            ['sha256', cutRun.sha256Ok ? 'ok' : 'MISMATCH'],
          ],
          'll',
        ),
      );
    } else {
      console.log(`did not complete; proxy cut ${stats.cuts.length} requests: ${stats.cuts.map(describeCut).join('; ')}`);
    }
    // The reference itself: the file read back from disk must still hash the same.
    check((await sha256OfFile(file)) === fileSha, 'the file on disk changed during the run');
    await settle();
    const hidden = handlerLogs.summary();
    if (hidden) console.log(`(${hidden})`);
    if (idleMs > 1000) console.log(`(waited ${fmt(idleMs / 1000)} s, untimed, for the platform's background work after uploads)`);
  } finally {
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
  }

  console.log('');
  console.log(`load average at end (this benchmark included): ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}`);
  console.log(`total time ${fmt((performance.now() - began) / 1000, 1)} s`);
  if (failures.length) {
    console.log(`FAILED checks (${failures.length}):`);
    for (const f of failures) console.log(`  - ${f}`);
    process.exitCode = 1;
  } else {
    console.log('all checks passed');
  }
}

/** Median CPUs other processes used during a configuration's timed runs. */
function othersOf(list: readonly Run[]): string {
  const values = list.map((r) => r.othersCpu).filter((v): v is number => v !== undefined);
  return values.length ? fmt(median(values), 2) : '-';
}

/** A warning when other work competes for the CPUs (the figures then measure the contention). */
function busy(load: number): string {
  return load > os.cpus().length * 0.5 ? ' - the machine is busy with other work: expect slower, noisier figures' : '';
}

function describeCut(c: CutRecord): string {
  return `part ${c.partNumber} attempt ${c.attempt}: cut after ${mib(c.forwardedBytes)} of ${mib(c.size)} forwarded`;
}

main().then(
  // DynamoDB Local's JVM and keep-alive sockets may linger: the figures are out, leave.
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
