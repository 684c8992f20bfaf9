/**
 * Transcode benchmark: the pipeline's wall time from `uploaded` to `ready` against the best single
 * plain ffmpeg command that makes the same 4-rung ladder (1080/720/360/144, same preset and
 * encoder settings, plus audio) on the same machine, in one run; then a model of a 1-hour 1080p
 * source on Lambda.
 *
 *   npm run bench:transcode
 *   npm run bench:transcode -- --chunks 12,24,60 --noisy auto|on|off --noisy-chunks best|24
 *     --seconds 60 --plain-threads auto|N --budget-minutes 12 --data-dir DIR
 *
 * Order: plain, pipeline(12), plain, pipeline(24), plain, pipeline(60), plain — every pipeline
 * run sits between two plain runs and its ratio is taken against their mean, so load from other
 * work on a shared machine hits both sides alike. Each chunk length gets a fresh platform in a
 * child process (the pipeline's handlers read their configuration once per process) and a fresh
 * user (5 upload starts per user per hour).
 *
 * Sources are cached under the data dir (`vodstack-bench-transcode/`), so a second run skips
 * generating them.
 *
 * Measured besides the wall times: CPU of the plain ffmpeg (/usr/bin/time rusage) and of the
 * platform process tree (its reaped ffmpegs, its own Node, DynamoDB Local's JVM; see
 * transcode-proc.ts), each media process's lifetime and peak RSS (/proc polled every 100 ms),
 * every workflow task's start and end (transcode-platform.ts), what one status poll costs the
 * platform (so the benchmark's own polling can be told apart), and how the whole-file tasks read
 * the source over HTTP (transcode-http.ts). The model (transcode-model.ts) scales these.
 */
import '../local/node20.ts';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify, parseArgs } from 'node:util';
import { probeMedia } from '../lambdas/adapters/ffmpeg/probe.ts';
import { DEFAULT_PRESET } from '../lambdas/adapters/ffmpeg/transcode.ts';
import { planJob } from '../lambdas/domain/media.ts';
import type { Plan } from '../lambdas/contracts/workflow.ts';
import { ApiClient } from '../test/support/api.ts';
import { ffmpeg, ffprobe, makeClip } from '../test/support/media.ts';
import { profileWholeFileReads, type ReadProfile } from './transcode-http.ts';
import { modelReport, type ModelInputs } from './transcode-model.ts';
import { runPlainLadder, type PlainRun } from './transcode-plain.ts';
import { startBenchPlatform, type BenchPlatform, type TaskTiming } from './transcode-platform.ts';
import { MediaProcessWatcher, othersCpu, treeCpu, treeCpuDelta, type ToolKind, type WatchedProcess } from './transcode-proc.ts';

const RUNGS = ['1080p', '720p', '360p', '144p'];
const GOAL = 1.15;
/** A run during which other work used at most this many cores counts as quiet. */
const QUIET = 0.15;

/** How often the benchmark asks for the status: often enough to see `ready` promptly, rarely
 * enough that the polls themselves (~11 ms of platform CPU each) do not weigh on the figures. */
const POLL_MS = 250;

const { values: args } = parseArgs({
  options: {
    chunks: { type: 'string', default: '12,24,60' },
    noisy: { type: 'string', default: 'auto' },
    'noisy-chunks': { type: 'string', default: 'best' },
    seconds: { type: 'string', default: '60' },
    'plain-threads': { type: 'string', default: 'auto' },
    'budget-minutes': { type: 'string', default: '12' },
    'data-dir': { type: 'string', default: os.tmpdir() },
  },
});
const CHUNKS = args.chunks.split(',').map(Number);
const SECONDS = Number(args.seconds);
const PLAIN_THREADS = args['plain-threads'] === 'auto' ? 'auto' : Number(args['plain-threads']);
const BUDGET_S = Number(args['budget-minutes']) * 60;
if (!CHUNKS.every((c) => c > 0 && c % 6 === 0)) throw new Error('--chunks: positive multiples of the 6 s segment');
if (!['auto', 'on', 'off'].includes(args.noisy)) throw new Error('--noisy is auto, on or off');

// ---------------------------------------------------------------------------------------------
// Helpers

const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));
const mib = (kib: number) => `${fmt(kib / 1024, 0)} MiB`;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : NaN);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const elapsed = (since: number) => (performance.now() - since) / 1000;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Flushes dirty pages before a timed run so the previous run's write-back does not slow it. */
function settleDisk(): void {
  try {
    execFileSync('sync');
  } catch {
    // no sync: runs disturb each other a little more
  }
}

const run = promisify(execFile);

interface Source {
  readonly label: string;
  readonly path: string;
  readonly bytes: number;
  readonly duration: number;
  readonly fps: number;
  readonly gopSeconds: number | undefined;
  readonly plan: Plan;
  readonly hasAudio: boolean;
  /** How the audio and thumbnails code reads the source over HTTP (see transcode-http.ts). */
  readonly reads: { audio: ReadProfile; thumbnails: ReadProfile };
}

/** The noisy source: testsrc2 with strong temporal noise, capped at 20 Mbit/s like a camera file. */
async function makeNoisyClip(file: string, seconds: number): Promise<void> {
  await run(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-vf', 'noise=alls=20:allf=t',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-maxrate', '20M', '-bufsize', '40M', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest',
    file,
  ]);
}

/** Keyframe interval of the source (seeks land on keyframes: a chunk decodes up to one GOP it does not keep). */
async function gopOf(file: string): Promise<number | undefined> {
  try {
    const { stdout } = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const keys = stdout
      .trim()
      .split('\n')
      .map((line) => line.split(','))
      .filter(([, flags]) => flags?.startsWith('K'))
      .map(([time]) => Number(time))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return keys.length > 1 ? (keys.at(-1)! - keys[0]!) / (keys.length - 1) : undefined;
  } catch {
    return undefined;
  }
}

async function prepareSource(dir: string, label: string, name: string, make: (file: string) => Promise<void>): Promise<Source> {
  const file = path.join(dir, name);
  const t = performance.now();
  let made = false;
  if (!existsSync(file)) {
    await make(`${file}.part.mp4`);
    await rename(`${file}.part.mp4`, file);
    made = true;
  }
  const probe = await probeMedia(file);
  const plan = planJob(probe, { rungs: RUNGS, targetChunkSeconds: 6 * Math.ceil(probe.durationSeconds / 6) });
  const { size } = await stat(file);
  const gopSeconds = await gopOf(file);
  const reads = await profileWholeFileReads(file, probe.durationSeconds, plan.segmentSeconds);
  console.log(
    `source ${label}: ${file} — ${probe.width}×${probe.height} ${fmt(probe.fps, 2)} fps, ${fmt(probe.durationSeconds, 2)} s, ` +
      `${fmt((size * 8) / probe.durationSeconds / 1e6, 1)} Mbit/s, keyframe every ${fmt(gopSeconds, 2)} s, audio ${probe.hasAudio ? 'yes' : 'no'} ` +
      `(${made ? `generated in ${fmt(elapsed(t))} s` : 'cached'})`,
  );
  const readLine = (name: string, r: ReadProfile) =>
    `${name} ${r.requests} requests, ${fmt(r.bytes / 1e6, 1)} MB (${fmt(r.bytes / size, 2)}× the file), ${fmt(r.wallSeconds, 1)} s, ${fmt(r.cpuSeconds, 1)} CPU-s`;
  console.log(`  over HTTP (product code, loopback server counting): ${readLine('audio task', reads.audio)}; ${readLine('thumbnails task', reads.thumbnails)}`);
  return { label, path: file, bytes: size, duration: probe.durationSeconds, fps: probe.fps, gopSeconds, plan, hasAudio: probe.hasAudio, reads };
}

// ---------------------------------------------------------------------------------------------
// The two sides

interface PlainResult extends PlainRun {
  readonly others: number | undefined;
}

async function plainRun(source: Source, outDir: string): Promise<PlainResult> {
  settleDisk();
  const others = othersCpu();
  const result = await runPlainLadder(ffmpeg, {
    source: source.path,
    plan: source.plan,
    fps: source.fps,
    durationSeconds: source.duration,
    outDir,
    threads: PLAIN_THREADS,
    audio: source.hasAudio,
  });
  const o = others();
  await rm(outDir, { recursive: true, force: true });
  return { ...result, others: o };
}

interface PipelineResult {
  readonly chunkSeconds: number;
  readonly status: string;
  readonly failure?: unknown;
  /** complete-upload response → `ready` seen by the status poll. */
  readonly wallSeconds: number;
  readonly completeRequestSeconds: number;
  /** `Date.now()` at the complete-upload response. */
  readonly t0: number;
  readonly readyAt: number;
  readonly processingSeenAt: number | undefined;
  readonly polls: number;
  readonly cpu: { root: number; reaped: number; live: number };
  readonly processes: readonly WatchedProcess[];
  readonly tasks: readonly TaskTiming[];
  readonly others: number | undefined;
  /** Platform CPU (Node + JVM) one status poll costs, measured once the video was ready. */
  readonly pollCpuSeconds: number | undefined;
}

const treeTotal = (pid: number) => {
  const t = treeCpu(pid);
  return t ? t.root + t.reaped + sum([...t.live.values()]) : NaN;
};

/**
 * What one `GET /status` costs the platform (JWT check, handler, DynamoDB Local): 2 s idle, then
 * 30 polls at the benchmark's 100 ms pace, idle rate subtracted.
 */
async function pollCost(platform: BenchPlatform, client: ApiClient, id: string): Promise<number | undefined> {
  const a = treeTotal(platform.pid);
  const t0 = performance.now();
  await sleep(2000);
  const b = treeTotal(platform.pid);
  const t1 = performance.now();
  for (let i = 0; i < 30; i++) {
    const next = performance.now() + 100;
    await client.request('GET', `/api/v1/videos/${id}/status`);
    await sleep(Math.max(0, next - performance.now()));
  }
  const c = treeTotal(platform.pid);
  const idleRate = (b - a) / ((t1 - t0) / 1000);
  const perPoll = (c - b - idleRate * ((performance.now() - t1) / 1000)) / 30;
  return Number.isFinite(perPoll) ? Math.max(0, perPoll) : undefined;
}

/** Upload through the API (start, PUT parts, complete), timed from the complete response. */
async function pipelineRun(platform: BenchPlatform, source: Source, chunkSeconds: number): Promise<PipelineResult> {
  const client = await ApiClient.signUp(platform, `bench-c${chunkSeconds}`);
  const file = await readFile(source.path);
  const start = await client.request('POST', '/api/v1/videos/upload', {
    title: `bench ${source.label} c${chunkSeconds}`,
    visibility: 'private',
    fileName: path.basename(source.path),
    fileSize: file.length,
    contentType: 'video/mp4',
  });
  if (start.status !== 201) throw new Error(`upload start failed: ${start.status} ${JSON.stringify(start.body)}`);
  const id: string = start.body.id;
  const parts = [];
  for (const part of start.body.parts as { partNumber: number; size: number; url: string }[]) {
    const from = (part.partNumber - 1) * start.body.partSize;
    const response = await fetch(part.url, { method: 'PUT', body: file.subarray(from, from + part.size) });
    if (response.status !== 200) throw new Error(`part ${part.partNumber}: ${response.status}`);
    parts.push({ partNumber: part.partNumber, etag: response.headers.get('etag') });
  }
  settleDisk();
  await sleep(500); // let the stand-in finish writing the parts before the clock starts

  const watcher = new MediaProcessWatcher(platform.pid, 100);
  const cpuBefore = treeCpu(platform.pid);
  const others = othersCpu(() => [platform.pid]);
  const requested = Date.now();
  const complete = await client.request('POST', `/api/v1/videos/${id}/upload/complete`, { parts });
  const t0 = Date.now();
  if (complete.status !== 200) throw new Error(`complete failed: ${complete.status} ${JSON.stringify(complete.body)}`);

  let status = 'uploaded';
  let failure: unknown;
  let processingSeenAt: number | undefined;
  let polls = 0;
  const deadline = t0 + 900_000;
  for (;;) {
    const next = Date.now() + POLL_MS;
    const { body } = await client.request('GET', `/api/v1/videos/${id}/status`);
    polls++;
    status = body.status;
    if (status === 'processing') processingSeenAt ??= Date.now();
    if (status === 'ready' || status === 'failed') {
      failure = body.failure;
      break;
    }
    if (Date.now() > deadline) throw new Error(`video ${id} not finished in 15 minutes`);
    await sleep(Math.max(0, next - Date.now()));
  }
  const readyAt = Date.now();
  const o = others();
  const cpuAfter = treeCpu(platform.pid);
  const processes = watcher.stop();
  const tasks = (await platform.tasks()).filter((t) => t.videoId === id || (t.module.startsWith('events/') && t.start >= requested));
  const pollCpuSeconds = await pollCost(platform, client, id);
  return {
    chunkSeconds,
    status,
    failure,
    wallSeconds: (readyAt - t0) / 1000,
    completeRequestSeconds: (t0 - requested) / 1000,
    t0,
    readyAt,
    processingSeenAt,
    polls,
    cpu: cpuBefore && cpuAfter ? treeCpuDelta(cpuBefore, cpuAfter) : { root: NaN, reaped: NaN, live: NaN },
    processes,
    tasks,
    others: o,
    pollCpuSeconds,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading the runs

const byKind = (p: readonly WatchedProcess[], kind: ToolKind) => p.filter((x) => x.kind === kind);
const cpuOf = (p: readonly WatchedProcess[]) => sum(p.map((x) => x.cpuSeconds));
const tasksOf = (r: PipelineResult, module: string) => r.tasks.filter((t) => t.module === `pipeline/${module}`);
const span = (ts: readonly { start: number; end: number }[]) => (ts.length ? { start: Math.min(...ts.map((t) => t.start)), end: Math.max(...ts.map((t) => t.end)) } : undefined);

/** Stage table of one pipeline run: when each task started and ended, from the complete response. */
function stageRows(r: PipelineResult): string[][] {
  const at = (ms: number) => fmt((ms - r.t0) / 1000, 2);
  const rows: string[][] = [];
  const add = (name: string, ts: readonly TaskTiming[], note = '') => {
    const s = span(ts);
    if (s) rows.push([name, at(s.start), at(s.end), fmt((s.end - s.start) / 1000, 2), note]);
  };
  add('claim', tasksOf(r, 'claim'));
  const probes = byKind(r.processes, 'probe');
  add('probe', tasksOf(r, 'probe'), probes.length ? `ffprobe ${fmt(sum(probes.map((p) => (p.lastSeen - p.firstSeen) / 1000)), 1)} s` : 'ffprobe under one 100 ms sample');
  add('plan', tasksOf(r, 'plan'));
  const chunkProcs = byKind(r.processes, 'chunk');
  for (const t of tasksOf(r, 'transcode-chunk').sort((a, b) => a.start - b.start)) {
    // The chunk's ffmpeg is the one that ran inside this task's window.
    const p = chunkProcs.find((x) => x.firstSeen >= t.start - 150 && x.lastSeen <= t.end + 150);
    const ff = p ? (p.lastSeen - p.firstSeen) / 1000 : NaN;
    const task = (t.end - t.start) / 1000;
    rows.push([
      `  chunk ${t.chunk?.index ?? '?'} (${fmt(t.chunk?.start, 0)}–${fmt((t.chunk?.start ?? 0) + (t.chunk?.duration ?? 0), 0)} s)`,
      at(t.start),
      at(t.end),
      fmt(task, 2),
      p ? `ffmpeg ${fmt(ff, 1)} s (${fmt(p.cpuSeconds, 1)} CPU-s, ${mib(p.peakRssKiB)}), then upload+progress ${fmt(task - ff, 1)} s${t.ok ? '' : ` FAILED ${t.error ?? ''}`}` : '',
    ]);
  }
  add('Map (all chunks)', tasksOf(r, 'transcode-chunk'));
  const audio = byKind(r.processes, 'audio');
  add('audio', tasksOf(r, 'transcode-audio'), audio.length ? `ffmpeg ${fmt(sum(audio.map((p) => (p.lastSeen - p.firstSeen) / 1000)), 1)} s, ${fmt(cpuOf(audio), 1)} CPU-s` : '');
  add('package', tasksOf(r, 'package'));
  const thumbs = byKind(r.processes, 'thumbnails');
  add('thumbnails', tasksOf(r, 'thumbnails'), thumbs.length ? `ffmpeg ${fmt(sum(thumbs.map((p) => (p.lastSeen - p.firstSeen) / 1000)), 1)} s, ${fmt(cpuOf(thumbs), 1)} CPU-s` : '');
  add('publish', tasksOf(r, 'publish'));
  rows.push(['ready seen by the status poll', '', at(r.readyAt), '', `${r.polls} polls`]);
  return rows;
}

/** The Parallel's branches that ran beside each other, and what ran after Package (MediaConvert-style order). */
function layout(r: PipelineResult) {
  const pkg = span(tasksOf(r, 'package'));
  const branches = (
    [
      ['Map (chunks)', span(tasksOf(r, 'transcode-chunk'))],
      ['audio', span(tasksOf(r, 'transcode-audio'))],
      ['thumbnails', span(tasksOf(r, 'thumbnails'))],
    ] as const
  ).flatMap(([name, sp]) => (sp ? [{ name, ...sp }] : []));
  const beside = branches.filter((b) => !pkg || b.start < pkg.start);
  const after = branches.filter((b) => pkg && b.start >= pkg.start);
  return { pkg, beside, after };
}

const plainCpu = (p: PlainResult) => p.userSeconds + p.systemSeconds;
const allCpu = (r: PipelineResult) => r.cpu.root + r.cpu.reaped + r.cpu.live;

/** Where the pipeline's wall time went, and where its CPU beyond the plain run's went. */
function gapAnalysis(r: PipelineResult, plains: readonly PlainResult[]): string[] {
  const pre = span([...tasksOf(r, 'claim'), ...tasksOf(r, 'probe'), ...tasksOf(r, 'plan')]);
  const pub = span(tasksOf(r, 'publish'));
  const { pkg, beside, after } = layout(r);
  if (!pre || !pkg || !pub || !beside.length) return ['  (tasks missing: cannot break the time down)'];
  const s = (ms: number) => fmt(ms / 1000, 2).padStart(6);
  const last = beside.reduce((x, y) => (y.end > x.end ? y : x));
  const lines = [
    `  complete response → Claim starts            ${s(pre.start - r.t0)} s`,
    `  Claim + Probe + Plan                        ${s(pre.end - pre.start)} s`,
    `  Parallel (${beside.map((b) => b.name).join(' ‖ ')}) ${s(last.end - pre.end)} s, ended by ${last.name}: ` +
      beside.map((b) => `${b.name} ${fmt((b.start - pre.end) / 1000, 2)}→${fmt((b.end - pre.end) / 1000, 2)} s`).join(', '),
    `  Parallel end → Package starts               ${s(pkg.start - last.end)} s`,
    `  Package                                     ${s(pkg.end - pkg.start)} s`,
    ...after.map((b) => `  ${`${b.name} (after Package)`.padEnd(44)}${s(b.end - b.start)} s`),
    `  Publish                                     ${s(pub.end - pub.start)} s`,
    `  Publish → ready seen by the status poll     ${s(r.readyAt - pub.end)} s`,
    `  total                                       ${s(r.readyAt - r.t0)} s`,
  ];
  // CPU: the pipeline does more work than the plain command; on 2 cores all of it competes.
  const plain = mean(plains.map(plainCpu));
  const plainWall = mean(plains.map((p) => p.wallSeconds));
  const procs = (k: ToolKind) => cpuOf(byKind(r.processes, k));
  const audio = procs('audio');
  const chunkExtra = procs('chunk') - (plain - audio); // the plain's video share ≈ its CPU minus the audio encode
  const polls = r.pollCpuSeconds === undefined ? NaN : r.pollCpuSeconds * r.polls;
  const total = allCpu(r);
  lines.push(
    `  CPU: pipeline ${fmt(total, 1)} CPU-s vs plain ${fmt(plain, 1)} → ×${fmt(total / plain, 3)}; cores kept busy: pipeline ${fmt(total / r.wallSeconds, 2)}, plain ${fmt(plain / plainWall, 2)} (of ${os.cpus().length})`,
    `    extra ${fmt(total - plain, 1)} CPU-s = chunks beyond the plain's video work ${fmt(chunkExtra, 1)} (${byKind(r.processes, 'chunk').length} process(es): seek to the keyframe before each chunk and decode up to it, start-up, reading over HTTP)` +
      ` + thumbnails ${fmt(procs('thumbnails'), 1)} + probe ${fmt(procs('probe'), 1)} + platform Node ${fmt(r.cpu.root, 1)} + JVM ${fmt(r.cpu.live, 1)}` +
      ` (of Node+JVM, the benchmark's own ${r.polls} status polls ≈ ${fmt(polls, 1)} at ${fmt((r.pollCpuSeconds ?? NaN) * 1000, 0)} ms each)`,
  );
  return lines;
}

/** Least-squares `cpu = a + b × seconds` over the chunk processes (a: what one chunk costs beyond its frames). */
function fitChunkCpu(points: readonly { seconds: number; cpu: number }[]): { a: number; b: number } {
  const n = points.length;
  const mx = mean(points.map((p) => p.seconds));
  const my = mean(points.map((p) => p.cpu));
  const sxx = sum(points.map((p) => (p.seconds - mx) ** 2));
  if (n < 2 || sxx === 0) return { a: 0, b: my / mx };
  const b = sum(points.map((p) => (p.seconds - mx) * (p.cpu - my))) / sxx;
  // Noise can tilt the line below zero: then no fixed part is visible, use the plain average.
  if (my - b * mx < 0) return { a: 0, b: sum(points.map((p) => p.cpu)) / sum(points.map((p) => p.seconds)) };
  return { a: my - b * mx, b };
}

function chunkPoints(runs: readonly PipelineResult[]) {
  return runs.flatMap((r) =>
    tasksOf(r, 'transcode-chunk').flatMap((t) => {
      const p = byKind(r.processes, 'chunk').find((x) => x.firstSeen >= t.start - 150 && x.lastSeen <= t.end + 150);
      return p && t.chunk ? [{ seconds: t.chunk.duration, cpu: p.cpuSeconds }] : [];
    }),
  );
}

// ---------------------------------------------------------------------------------------------

interface SourceReport {
  readonly source: Source;
  readonly plains: PlainResult[];
  readonly pipelines: { result: PipelineResult; plainBefore: PlainResult; plainAfter: PlainResult | undefined }[];
}

async function benchSource(source: Source, chunkLengths: readonly number[], workDir: string, began: number): Promise<SourceReport> {
  const report: SourceReport = { source, plains: [], pipelines: [] };
  const plain = async () => {
    const r = await plainRun(source, path.join(workDir, 'plain'));
    report.plains.push(r);
    console.log(`  [${fmt(elapsed(began), 0)} s] plain ffmpeg: ${fmt(r.wallSeconds, 2)} s wall, ${fmt(r.userSeconds + r.systemSeconds, 1)} CPU-s, others used ${fmt(r.others, 2)} cores; load ${load()}`);
    return r;
  };
  let before = await plain();
  for (const c of chunkLengths) {
    const t = performance.now();
    const platform = await startBenchPlatform({
      dataDir: path.join(workDir, `platform-c${c}`),
      inMemoryTables: true,
      port: 0,
      context: { ladderRungs: RUNGS.join(','), chunkSeconds: c },
      sweepEveryMs: 0,
    });
    let result: PipelineResult;
    try {
      console.log(`  [${fmt(elapsed(began), 0)} s] platform for chunkSeconds ${c} up in ${fmt(elapsed(t))} s (pid ${platform.pid})`);
      await sleep(2000); // let the JVM and the freshly started stand-ins settle
      result = await pipelineRun(platform, source, c);
    } finally {
      await platform.stop();
      await rm(path.join(workDir, `platform-c${c}`), { recursive: true, force: true });
    }
    console.log(
      `  [${fmt(elapsed(began), 0)} s] pipeline chunkSeconds ${c}: ${result.status} in ${fmt(result.wallSeconds, 2)} s, ` +
        `ffmpeg CPU ${fmt(result.cpu.reaped, 1)} s, others used ${fmt(result.others, 2)} cores; load ${load()}`,
    );
    if (result.status !== 'ready') console.log(`    failure: ${JSON.stringify(result.failure)}`);
    const after = await plain();
    report.pipelines.push({ result, plainBefore: before, plainAfter: after });
    before = after;
  }
  return report;
}

function printReport(rep: SourceReport): void {
  const { source } = rep;
  const D = source.duration;
  console.log(`\n=== ${source.label}: ${fmt(D, 0)} s 1080p30 + audio, ladder ${source.plan.rungs.map((r) => r.name).join('/')}, preset ${DEFAULT_PRESET} ===`);
  const rows: string[][] = [];
  rep.plains.forEach((p, i) => {
    rows.push([
      `plain ffmpeg #${i + 1}`,
      fmt(p.wallSeconds, 2),
      fmt(D / p.wallSeconds, 2),
      '',
      '',
      fmt(p.userSeconds + p.systemSeconds, 1),
      fmt((p.userSeconds + p.systemSeconds) / D, 3),
      '',
      mib(p.peakRssKiB),
      fmt(p.others, 2),
    ]);
  });
  const quiet = (o: number | undefined) => o !== undefined && o <= QUIET;
  const quietPlains = rep.plains.filter((p) => quiet(p.others));
  const headline: string[] = [];
  for (const { result: r, plainBefore, plainAfter } of rep.pipelines) {
    const adjacent = [plainBefore, ...(plainAfter ? [plainAfter] : [])];
    const plainWall = mean(adjacent.map((p) => p.wallSeconds));
    const chunkProcs = byKind(r.processes, 'chunk');
    const ratio = r.wallSeconds / plainWall;
    const disturbed = ![r.others, ...adjacent.map((p) => p.others)].every(quiet);
    rows.push([
      `pipeline, chunkSeconds ${r.chunkSeconds} (${tasksOf(r, 'transcode-chunk').length} chunks)`,
      fmt(r.wallSeconds, 2),
      fmt(D / r.wallSeconds, 2),
      `${fmt(ratio, 3)} ${ratio <= GOAL ? 'ok' : 'OVER'}${disturbed ? ' *' : ''}`,
      fmt(allCpu(r) / mean(adjacent.map(plainCpu)), 3),
      fmt(r.cpu.reaped, 1),
      fmt(r.cpu.reaped / D, 3),
      `${fmt(allCpu(r), 1)} (${fmt(allCpu(r) / D, 3)})`,
      chunkProcs.length ? mib(Math.max(...chunkProcs.map((p) => p.peakRssKiB))) : '-',
      fmt(r.others, 2),
    ]);
    if (quiet(r.others) && quietPlains.length) {
      const q = mean(quietPlains.map((p) => p.wallSeconds));
      headline.push(`chunkSeconds ${r.chunkSeconds}: ${fmt(r.wallSeconds, 2)} s ÷ ${fmt(q, 2)} s = ${fmt(r.wallSeconds / q, 3)} ${r.wallSeconds / q <= GOAL ? '(met)' : '(NOT met)'}`);
    }
  }
  console.log(
    table(
      ['run', 'wall s', 'x-realtime', `ratio (≤ ${GOAL})`, 'CPU ratio', 'ffmpeg CPU-s', 'CPU-s/video-s', 'all CPU-s (/video-s)', 'peak RSS/ffmpeg', 'others (cores)'],
      rows,
    ),
  );
  console.log(
    'ratio: pipeline wall ÷ mean of the plain runs just before and after it; * = other work on the machine took > ' + QUIET + ' cores during it or a plain beside it.\n' +
      'CPU ratio: all the pipeline\'s CPU ÷ those plain runs\' CPU (load-independent). ffmpeg CPU: plain = /usr/bin/time rusage; pipeline = cutime+cstime delta\n' +
      'of the platform process (every ffmpeg/ffprobe it reaped: chunks, audio, probe, thumbnails). all CPU adds the platform Node process (handlers,\n' +
      'S3 stand-in, gateway, workflow runner, the status polls) and DynamoDB Local’s JVM. peak RSS: plain = max RSS; pipeline = VmHWM of each\n' +
      'chunk ffmpeg polled every 100 ms (largest shown). others: cores other processes on the machine kept busy during the run (/proc/stat minus ours).',
  );
  console.log(
    quietPlains.length && headline.length
      ? `quiet runs only (others ≤ ${QUIET} cores), against the mean of the ${quietPlains.length} quiet plain run(s): ${headline.join('; ')}`
      : 'no pipeline run and plain run both ran quiet: the ratios above carry the neighbours\' load',
  );
  const plainBytes = rep.plains[0]?.bytes;
  if (plainBytes) console.log(`outputs (plain): ${Object.entries(plainBytes).map(([k, v]) => `${k} ${fmt((v * 8) / D / 1e6, 2)} Mbit/s`).join(', ')}`);
  for (const { result: r, plainBefore, plainAfter } of rep.pipelines) {
    console.log(`\n-- pipeline chunkSeconds ${r.chunkSeconds}: stages (seconds from the complete-upload response) --`);
    console.log(table(['stage', 'start', 'end', 'took', 'detail'], stageRows(r)));
    const perKind = (['chunk', 'audio', 'probe', 'thumbnails', 'other'] as const)
      .map((k) => [k, cpuOf(byKind(r.processes, k))] as const)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${fmt(v, 1)}`)
      .join(', ');
    console.log(
      `CPU-s: ffmpeg/ffprobe ${fmt(r.cpu.reaped, 1)} (polled per process: ${perKind}), platform Node ${fmt(r.cpu.root, 1)}, JVM ${fmt(r.cpu.live, 1)}; ` +
        `complete-upload request took ${fmt(r.completeRequestSeconds, 2)} s`,
    );
    console.log('where the time went:');
    for (const line of gapAnalysis(r, [plainBefore, ...(plainAfter ? [plainAfter] : [])])) console.log(line);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  const cpus = os.cpus();
  console.log('vodstack transcode benchmark');
  console.log(`machine: ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? '?'}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`);
  console.log(`load average at start: ${load()}`);
  console.log(`ffmpeg: ${ffmpeg}`);
  const dir = path.join(args['data-dir'], 'vodstack-bench-transcode');
  const work = path.join(dir, `run-${process.pid}`);
  await mkdir(work, { recursive: true });
  const reports: SourceReport[] = [];
  try {
    const clean = await prepareSource(dir, 'testsrc2 (clean)', `testsrc2-${SECONDS}s.mp4`, (file) => makeClip(file, { width: 1920, height: 1080, seconds: SECONDS, fps: 30, audio: true }));
    console.log('note: testsrc2 is much easier to encode than camera footage (flat colours, simple motion); the noisy source adds film-grain-like temporal noise.');
    console.log(`\nclean source: plain, then for chunkSeconds ${CHUNKS.join(', ')}: pipeline, plain`);
    reports.push(await benchSource(clean, CHUNKS, work, began));

    const cleanRep = reports[0]!;
    // The fastest quiet run's chunk length; without one, the one that needed the least CPU.
    const quietRuns = cleanRep.pipelines.filter((p) => (p.result.others ?? 1) <= QUIET && p.result.status === 'ready');
    const best = quietRuns.length
      ? quietRuns.reduce((x, y) => (y.result.wallSeconds < x.result.wallSeconds ? y : x))
      : cleanRep.pipelines.reduce((x, y) => (allCpu(y.result) < allCpu(x.result) ? y : x), cleanRep.pipelines[0]!);
    const noisyChunks = args['noisy-chunks'] === 'best' ? [best?.result.chunkSeconds ?? 60] : args['noisy-chunks'].split(',').map(Number);
    // Projected: generation (~45 s, unless cached) + platform start + 2 plain + 1 pipeline, noise costing ~1.5× the clean runs.
    const cleanPlain = mean(cleanRep.plains.map((p) => p.wallSeconds));
    const cleanPipe = mean(cleanRep.pipelines.map((p) => p.result.wallSeconds));
    const noisyFile = path.join(dir, `testsrc2-noise20-${SECONDS}s.mp4`);
    const projected = (existsSync(noisyFile) ? 0 : 50) + noisyChunks.length * (25 + 1.5 * (cleanPipe + cleanPlain)) + 1.5 * cleanPlain;
    const runNoisy = args.noisy === 'on' || (args.noisy === 'auto' && elapsed(began) + projected <= BUDGET_S);
    if (runNoisy) {
      const noisy = await prepareSource(dir, 'testsrc2 + noise (alls=20, temporal)', `testsrc2-noise20-${SECONDS}s.mp4`, (file) => makeNoisyClip(file, SECONDS));
      console.log(`\nnoisy source: plain, then for chunkSeconds ${noisyChunks.join(', ')}: pipeline, plain`);
      reports.push(await benchSource(noisy, noisyChunks, work, began));
    } else {
      console.log(`\nnoisy source skipped: ${args.noisy === 'off' ? '--noisy off' : `would end past the ${fmt(BUDGET_S / 60, 0)}-minute budget (${fmt(elapsed(began), 0)} s spent, ~${fmt(projected, 0)} s more); --noisy on forces it`}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  for (const rep of reports) printReport(rep);

  // ------------------------------------------------------------------------------------------
  // The model
  console.log('\n=== Model: a 1-hour 1080p source on Lambda (6-vCPU chunk workers, N chunks of C s) ===');
  const inputs: ModelInputs[] = [];
  const cleanPoints = chunkPoints(reports[0]?.pipelines.map((p) => p.result) ?? []);
  const cleanFit = fitChunkCpu(cleanPoints);
  console.log(
    `chunk CPU fit (clean, ${cleanPoints.length} chunks of ${[...new Set(cleanPoints.map((p) => p.seconds))].join('/')} s): ` +
      `${fmt(cleanFit.a, 2)} CPU-s per chunk + ${fmt(cleanFit.b, 3)} CPU-s per video second`,
  );
  for (const rep of reports) {
    const runs = rep.pipelines.map((p) => p.result).filter((r) => r.status === 'ready');
    if (!runs.length) continue;
    const D = rep.source.duration;
    const points = chunkPoints(runs);
    // A single chunk length cannot split fixed from per-second cost: keep the clean fixed part.
    const fit = rep === reports[0] ? cleanFit : { a: cleanFit.a, b: (sum(points.map((p) => p.cpu)) - cleanFit.a * points.length) / sum(points.map((p) => p.seconds)) };
    const medianTask = (module: string) => {
      const xs = runs.flatMap((r) => tasksOf(r, module).map((t) => (t.end - t.start) / 1000)).sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)] ?? 0;
    };
    const audioCpu = mean(runs.map((r) => cpuOf(byKind(r.processes, 'audio'))));
    const plainBytes = rep.plains[0]?.bytes ?? {};
    const videoBytes = sum(rep.source.plan.rungs.map((r) => plainBytes[r.name] ?? 0));
    inputs.push({
      label: rep.source.label,
      chunkFixedCpu: fit.a,
      chunkCpuPerVideoSecond: fit.b,
      audioCpuPerVideoSecond: audioCpu / D,
      audioReadFraction: rep.source.reads.audio.bytes / rep.source.bytes,
      audioRequestsPerVideoSecond: Math.max(0, rep.source.reads.audio.requests - 3) / D,
      thumbnailsExcessBytes: Math.max(0, rep.source.reads.thumbnails.bytes - rep.source.bytes),
      thumbnailsRequests: rep.source.reads.thumbnails.requests,
      thumbnailsBesideMap: runs.every((r) => layout(r).beside.some((b) => b.name === 'thumbnails')),
      sourceBytesPerSecond: rep.source.bytes / D,
      videoOutputBytesPerSecond: videoBytes / D,
      rungs: rep.source.plan.rungs.length,
      segmentSeconds: rep.source.plan.segmentSeconds,
      claimSeconds: medianTask('claim'),
      probeSeconds: medianTask('probe'),
      planSeconds: medianTask('plan'),
      packageSeconds: medianTask('package'),
      publishSeconds: medianTask('publish'),
    });
  }
  for (const line of modelReport(inputs, table)) console.log(line);

  console.log(`\nload average at end: ${load()}; total benchmark time ${fmt(elapsed(began) / 60, 1)} min`);
  const failed = reports.flatMap((r) => r.pipelines).filter((p) => p.result.status !== 'ready');
  if (failed.length) {
    console.log(`FAILED: ${failed.length} pipeline run(s) did not end ready`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
