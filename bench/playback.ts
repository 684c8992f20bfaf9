/**
 * Playback benchmark: in headless Chromium against the local platform, how long a viewer waits
 * from the play click to the first rendered frame, for a public video and a private one (short-
 * lived signed URLs), with the master playlist's time to first byte and the first segment's size.
 *
 *   npm run bench:playback
 *   npm run bench:playback -- --runs 20 --modes click,attach,early --seconds 60 --data-dir DIR
 *     --play-name Play   the play control's accessible name (web/src/player/player.tsx)
 *
 * Setup (untimed): web/dist is built if missing; the platform runs in a child process (so the
 * browser and the platform share no event loop); one user signs up; one generated clip (1280×720
 * testsrc2 + tone, cached under the data dir) is uploaded twice, public and private, and
 * transcoded. Each run is a fresh browser context (empty HTTP cache) signed in as the owner
 * through localStorage, as the app keeps its session, so the two videos differ only in their URLs.
 *
 * Modes (rounds interleave them and the two videos, so a slow spell of the machine hits all alike):
 *   click   the app as it is: the page opens, the player attaches hls.js at mount, the benchmark
 *           waits until the element can play (readyState ≥ 3) and clicks Play with Playwright.
 *   attach  the click lands in the DOM change where hls.js attaches the element (manifest request
 *           just sent): what a player that attached and loaded only at the click would cost.
 *   early   the click lands as soon as the play control exists (hls.js not even downloaded): the
 *           fastest a viewer can click, so page open → first frame here is the end-to-end figure.
 * Timings come from the page (performance.now() in a capture-phase click listener; the first
 * requestVideoFrameCallback after it, or the first timeupdate past 0 without one) and its
 * Resource Timing (master playlist TTFB = responseStart − requestStart; the first video segment
 * fetched, init and audio excluded). Figures are printed, goals reported, nothing asserted.
 */
import '../local/node20.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { signUpAndSignIn } from '../local/users.ts';
import { ApiClient } from '../test/support/api.ts';
import { makeClip } from '../test/support/media.ts';
import { uploadFile, waitForOutcome } from '../test/support/upload.ts';
import { chromiumPath, launchChromium } from '../test/e2e/browser.ts';
import type { ClickMode } from './playback-probe.ts';
import { runOnce, storedSession, TIMELINE, type RunResult, type TimelinePoint } from './playback-run.ts';
import { startPlatformProcess, type PlatformProcess } from './platform-process.ts';

/** Done-when of issue 4: play → first frame median ≤ 500 ms locally; a signed URL adds ≤ 10%. */
const GOAL_MS = 500;
const GOAL_SIGNED = 0.1;
/** Seed target: under 2 s end to end. */
const GOAL_END_TO_END_MS = 2000;

const MODES: readonly ClickMode[] = ['click', 'attach', 'early'];
const MODE_LABEL: Record<ClickMode, string> = {
  click: 'player attached before the click (the app)',
  attach: 'click as hls.js attaches (≈ attach at click)',
  early: 'click as soon as Play shows (hls.js not loaded)',
};

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    modes: { type: 'string', default: MODES.join(',') },
    seconds: { type: 'string', default: '60' },
    'play-name': { type: 'string', default: 'Play' },
    'timeout-seconds': { type: 'string', default: '20' },
    'data-dir': { type: 'string', default: os.tmpdir() },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const TIMEOUT_MS = Number(args['timeout-seconds']) * 1000;
const modes = args.modes.split(',').map((m) => m.trim()) as ClickMode[];
if (!modes.length || !modes.every((m) => MODES.includes(m))) throw new Error(`--modes: a list of ${MODES.join(', ')}`);
if (![RUNS, SECONDS, TIMEOUT_MS].every((n) => Number.isFinite(n) && n > 0)) throw new Error('--runs, --seconds, --timeout-seconds: positive numbers');

// ---------------------------------------------------------------------------------------------
// Helpers

const root = fileURLToPath(new URL('..', import.meta.url));
const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));
const elapsed = (since: number) => `${fmt((performance.now() - since) / 1000, 1)} s`;
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: readonly number[]) => {
  const s = sorted(xs);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
/** Nearest-rank 95th percentile (of 20 runs: the 19th fastest). */
const p95 = (xs: readonly number[]) => (xs.length ? sorted(xs)[Math.ceil(0.95 * xs.length) - 1]! : NaN);
const defined = <T>(xs: readonly (T | undefined)[]) => xs.filter((x): x is T => x !== undefined);
const mostCommon = (xs: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([x, n]) => (n === xs.length ? x : `${x} ×${n}`)).join(', ');
};

/** A text table: first column left, the others right. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** web/dist must exist (the local CDN serves it); a stale one is measured as built, with a note. */
function ensureWebBuilt(): void {
  const index = path.join(root, 'web', 'dist', 'index.html');
  if (!existsSync(index)) {
    console.log('web/dist is missing: npm run build:web');
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: root, stdio: 'inherit' });
    return;
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
      const p = path.join(dir, entry.name);
      return Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  if (newest(path.join(root, 'web', 'src')) > statSync(index).mtimeMs) {
    console.log('note: web/src changed after web/dist was built; this measures the built app (npm run build:web to rebuild)');
  }
}

/** The source clip, cached under the data dir so a second run skips making it. */
async function clipFile(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'vodstack-bench-playback');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `testsrc2-1280x720-${SECONDS}s.mp4`);
  if (!existsSync(file)) {
    await makeClip(`${file}.part.mp4`, { width: 1280, height: 720, seconds: SECONDS });
    await rename(`${file}.part.mp4`, file);
  }
  return file;
}

interface Video {
  readonly label: 'public' | 'private';
  readonly id: string;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  console.log(
    `playback benchmark: ${RUNS} runs per video and mode (${modes.join(', ')}), ${os.cpus().length} CPUs, ` +
      `load average ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}`,
  );
  ensureWebBuilt();
  const hlsVersion = (JSON.parse(readFileSync(path.join(root, 'node_modules', 'hls.js', 'package.json'), 'utf8')) as { version: string }).version;

  let t = performance.now();
  const clip = await clipFile(args['data-dir']);
  console.log(`clip: ${clip} (${elapsed(t)})`);

  const platformDir = await mkdtemp(path.join(args['data-dir'], 'vodstack-bench-playback-'));
  let platform: PlatformProcess | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    t = performance.now();
    platform = await startPlatformProcess({ dataDir: platformDir, port: 0, inMemoryTables: true, sweepEveryMs: 0 });
    console.log(`platform (child process): ${platform.webUrl} (${elapsed(t)})`);

    t = performance.now();
    const email = `bench-playback-${Date.now()}@example.com`;
    const tokens = await signUpAndSignIn(platform, email, 'Correct-Horse-9-Battery');
    const api = new ApiClient(platform.apiUrl, tokens.idToken, email);
    const ids = await Promise.all(
      (['public', 'private'] as const).map((visibility) => uploadFile(api, clip, { title: `playback bench (${visibility})`, visibility })),
    );
    const outcomes = await Promise.all(ids.map((id) => waitForOutcome(api, id, 600_000)));
    const failed = outcomes.filter((o) => o.status !== 'ready');
    if (failed.length) throw new Error(`transcode did not finish: ${JSON.stringify(failed)}`);
    const videos: Video[] = [
      { label: 'public', id: ids[0]! },
      { label: 'private', id: ids[1]! },
    ];
    const stream = await api.request('GET', `/api/v1/videos/${ids[1]}/stream`);
    // The packager lists first the variant players should start on (lambdas/domain/packaging.ts).
    const master = await (await fetch(String(stream.body?.hls))).text();
    const variants = master.split('\n').filter((line) => line && !line.startsWith('#')).map((uri) => /media\/([^/]+)\//.exec(uri)?.[1] ?? uri);
    console.log(
      `videos: public ${ids[0]}, private ${ids[1]}, uploaded and transcoded in ${elapsed(t)}; ` +
        `master playlist variants in order: ${variants.join(', ')}`,
    );

    browser = await launchChromium();
    const session = storedSession(tokens);
    const run = (video: Video, mode: ClickMode) =>
      runOnce(browser!, { webUrl: platform!.webUrl, videoId: video.id, session, mode, playName: args['play-name'], timeoutMs: TIMEOUT_MS });
    console.log(`Chromium ${browser.version()} (headless, ${chromiumPath()}), hls.js ${hlsVersion}`);

    // Warm-up (untimed): the platform's route handlers load, the CDN's S3 client connects.
    for (const video of videos) for (const mode of modes) await run(video, mode);

    const results = new Map<string, RunResult[]>();
    const failures: string[] = [];
    const key = (video: Video, mode: ClickMode) => `${video.label}/${mode}`;
    t = performance.now();
    for (let round = 1; round <= RUNS; round++) {
      const order = round % 2 ? videos : [...videos].reverse();
      const line: string[] = [];
      for (const mode of modes) {
        const shown = new Map<Video, string>();
        for (const video of order) {
          try {
            const result = await run(video, mode);
            results.set(key(video, mode), [...(results.get(key(video, mode)) ?? []), result]);
            shown.set(video, fmt(result.playToFrame));
          } catch (error) {
            failures.push(`round ${round}: ${error instanceof Error ? error.message : String(error)}`);
            shown.set(video, 'FAILED');
          }
        }
        line.push(`${mode} ${videos.map((v) => shown.get(v)).join('/')}`);
      }
      console.log(`  round ${String(round).padStart(2)}/${RUNS}, play → first frame ms, public/private: ${line.join(', ')}`);
    }
    console.log(`(${RUNS} rounds in ${elapsed(t)})`);

    // -- figures -------------------------------------------------------------------------------
    const of = (video: Video, mode: ClickMode) => results.get(key(video, mode)) ?? [];
    const [pub, priv] = videos as [Video, Video];
    type Pick = (r: RunResult) => number | undefined;
    const cells = (video: Video, mode: ClickMode, pick: Pick, digits: number) => {
      const xs = defined(of(video, mode).map(pick));
      return [fmt(median(xs), digits), fmt(p95(xs), digits)];
    };
    const ratio = (mode: ClickMode, pick: Pick) => {
      const a = median(defined(of(pub, mode).map(pick)));
      const b = median(defined(of(priv, mode).map(pick)));
      return a > 0 ? fmt(b / a, 2) : '-';
    };
    const othersCpu = (mode: ClickMode) => fmt(median(defined([...of(pub, mode), ...of(priv, mode)].map((r) => r.othersCpu))), 2);
    const row = (metric: string, mode: ClickMode, pick: Pick, digits = 0, withRatio = true) => [
      metric,
      ...cells(pub, mode, pick, digits),
      ...cells(priv, mode, pick, digits),
      withRatio ? ratio(mode, pick) : '',
      othersCpu(mode),
    ];
    const rows: string[][] = [];
    for (const mode of modes) rows.push(row(`play → first frame, ms: ${MODE_LABEL[mode]}`, mode, (r) => r.playToFrame));
    const earliest = modes.includes('early') ? 'early' : modes.includes('attach') ? 'attach' : undefined;
    if (earliest) rows.push(row(`page open → first frame, ms (${earliest} click: end to end)`, earliest, (r) => r.openToFrame));
    // The playlist and segment figures from the app's own mode (else the first one measured).
    const base: ClickMode = modes.includes('click') ? 'click' : modes[0]!;
    if (base === 'click') rows.push(row('page open → ready to click (readyState ≥ 3), ms', 'click', (r) => r.openToReady));
    rows.push(row(`master playlist TTFB, ms (${base} runs)`, base, (r) => r.master?.ttfb, 1));
    rows.push(row('first video segment, transfer kB', base, (r) => (r.firstSegment ? r.firstSegment.transferSize / 1000 : undefined), 1, false));
    rows.push(row('first video segment, decoded kB', base, (r) => (r.firstSegment ? r.firstSegment.decodedSize / 1000 : undefined), 1, false));
    rows.push([
      'first video segment, rendition',
      mostCommon(defined(of(pub, base).map((r) => r.firstSegment?.rendition))),
      '',
      mostCommon(defined(of(priv, base).map((r) => r.firstSegment?.rendition))),
      '',
      '',
      '',
    ]);

    console.log('');
    console.log(
      `Figures: ${RUNS} runs per video and mode, each in a fresh browser context (no HTTP cache), owner signed in; ` +
        `p95 = nearest rank; kB = 1000 B; private/public = ratio of the medians; others CPU = CPUs other processes used (median per run, both videos)`,
    );
    console.log(table(['metric', 'public median', 'p95', 'private median', 'p95', 'private/public', 'others CPU'], rows));

    const all = [...results.values()].flat();
    const signals = mostCommon(all.map((r) => (r.frameSignal === 'rvfc' ? 'requestVideoFrameCallback' : 'first timeupdate > 0')));
    const frameTimes = modes.map((mode) => {
      const times = defined([...of(pub, mode), ...of(priv, mode)].map((r) => r.frameMediaTime)).map((m) => `${fmt(m, 3)} s`);
      return `${mode} ${mostCommon(times) || '-'}`;
    });
    console.log(`first-frame signal: ${signals}; media time of that frame: ${frameTimes.join('; ')}`);
    if (median(defined([...of(pub, 'click'), ...of(priv, 'click')].map((r) => r.frameMediaTime))) > 0) {
      console.log(
        '  (in click runs the element had presented frame 0 under the poster before the click, so the first callback after it is for ' +
          'frame 1: the viewer sees the picture about one frame, 33 ms at 30 fps, before the figure)',
      );
    }
    const clickRuns = [...of(pub, 'click'), ...of(priv, 'click')];
    if (clickRuns.length) {
      const points = (Object.keys(TIMELINE) as TimelinePoint[]).map(
        (point) => `${point} ${fmt(median(defined(clickRuns.map((r) => r.timeline[point]))))}`,
      );
      points.push(`ready to click ${fmt(median(defined(clickRuns.map((r) => r.openToReady))))}`);
      console.log(`watch page timeline (click runs, both videos, median ms after navigation): ${points.join(', ')}`);
      const before = clickRuns.filter((r) => r.master && r.master.requestedVsClick < 0).length;
      console.log(
        `the app requests the master playlist before the click in ${before}/${clickRuns.length} click runs ` +
          `(median ${fmt(-median(defined(clickRuns.map((r) => r.master?.requestedVsClick))))} ms before it)` +
          (before === clickRuns.length ? ': it attaches hls.js at mount, not at the click; ' : before === 0 ? ': it loads the stream at the click; ' : '; ') +
          `at the click: readyState ${mostCommon(clickRuns.map((r) => String(r.atClick.readyState)))}, ` +
          `${fmt(median(clickRuns.map((r) => r.atClick.bufferedSeconds)), 1)} s buffered (median)`,
      );
    }

    console.log('');
    const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
    if (modes.includes('click')) {
      const [a, b] = [pub, priv].map((v) => median(of(v, 'click').map((r) => r.playToFrame))) as [number, number];
      console.log(
        `goal: play → first frame median ≤ ${GOAL_MS} ms locally (the app, player attached): ` +
          `public ${fmt(a)} ms ${verdict(a <= GOAL_MS)}, private ${fmt(b)} ms ${verdict(b <= GOAL_MS)}`,
      );
      const spread = Math.max(...[pub, priv].map((v) => {
        const xs = of(v, 'click').map((r) => r.playToFrame);
        return p95(xs) - median(xs);
      }));
      console.log(
        `goal: a signed URL adds ≤ ${GOAL_SIGNED * 100}% to it: private/public ${fmt(b / a, 2)} (${b >= a ? '+' : ''}${fmt(b - a, 1)} ms) ${verdict(b / a <= 1 + GOAL_SIGNED)} ` +
          `(for scale: p95 − median of one video is up to ${fmt(spread)} ms; public URLs are signed too, with a daily expiry, so the edge does the same work for both)`,
      );
    }
    if (earliest) {
      const e = [pub, priv].map((v) => median(of(v, earliest).map((r) => r.openToFrame)));
      console.log(
        `seed target: under ${GOAL_END_TO_END_MS / 1000} s end to end (page open → first frame, ${earliest} click): ` +
          `public ${fmt(e[0])} ms, private ${fmt(e[1])} ms ${verdict(Math.max(...e) < GOAL_END_TO_END_MS)}`,
      );
    }
    const busiest = Math.max(0, ...defined(all.map((r) => r.othersCpu)));
    if (busiest > 0.25) {
      console.log(`note: other processes kept up to ${fmt(busiest, 2)} of ${os.cpus().length} CPUs busy during runs: the figures include that contention`);
    }
    if (failures.length) {
      console.log(`runs that failed (${failures.length}), left out of the figures:`);
      for (const f of failures) console.log(`  - ${f}`);
    }
  } finally {
    await browser?.close();
    await platform?.stop();
    await rm(platformDir, { recursive: true, force: true });
  }
  console.log(`load average at end (this benchmark included): ${os.loadavg().map((l) => fmt(l, 2)).join(' ')}`);
  console.log(`total time ${elapsed(began)}`);
}

main().then(
  // DynamoDB Local's JVM and keep-alive sockets may linger: the figures are out, leave.
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
