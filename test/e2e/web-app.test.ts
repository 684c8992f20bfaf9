import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page, Response } from 'playwright-core';
import { playbackPath, type PlaybackKey } from '#contracts/playback';
import { signature } from '#adapters/hmac-playback-signer';
import { ffmpeg } from '../support/media.ts';
import { launchChromium, watchConsole, type Browser } from './browser.ts';

const run = promisify(execFile);
const app = inject('app');
const shot = (page: Page, name: string) => page.screenshot({ path: join(app.artifacts, `${name}.png`), fullPage: true });
const email = `e2e-${Date.now().toString(36)}@example.com`;
const password = 'Correct-Horse-9-Battery!';
/** Chromium reports requests cut by the offline switch as console errors; those are the test's doing. */
const ours = (problem: string) => /ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|ERR_NETWORK_IO_SUSPENDED/.test(problem);

async function poll<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The sign-up code Cognito "emailed": the local platform's mailbox file. */
const confirmationCode = (to: string) =>
  poll(
    `a confirmation code for ${to}`,
    () => {
      const file = join(app.dataDir, 'cognito', 'mailbox.jsonl');
      if (!existsSync(file)) return undefined;
      const mails = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { to: string; code?: string });
      return mails.reverse().find((m) => m.to === to && m.code)?.code;
    },
    15_000,
  );

const videoTime = (page: Page) => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);

async function playsFor(page: Page, seconds: number) {
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction((s) => (document.querySelector('video')?.currentTime ?? 0) > s, seconds, { timeout: 30_000 });
}

describe('the web app against `npm start`', () => {
  let browser: Browser;
  let privateId: string;
  let stream: { hls: string };
  const segmentsFetched: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a newcomer lands on the home page, and the seeded demo plays', async () => {
    const demo = await poll(
      'the demo video to be seeded',
      () => {
        const file = join(app.dataDir, 'demo.json');
        const state = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { status?: string; videoId?: string }) : undefined;
        if (state?.status === 'failed') throw new Error('the demo video failed to process');
        return state?.status === 'ready' ? state : undefined;
      },
      240_000,
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(app.webUrl);
    await page.getByRole('heading', { level: 1, name: 'Welcome to vodstack' }).waitFor();
    await shot(page, '01-home');
    await page.getByRole('link', { name: 'Watch the demo' }).click();
    await page.waitForURL(`**/watch/${demo.videoId}`);
    await playsFor(page, 1);
    await shot(page, '02-watch-demo');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('sign up, upload with a dropped network, processing, ready, play and switch quality', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vodstack-e2e-'));
    const clip = join(dir, 'clip.mp4');
    // ~60 MB (8 parts of 8 MiB, twice the 4 the app sends at once): 20 s of 1280×720 at a high bitrate.
    await run(ffmpeg, [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '24M', '-maxrate', '24M', '-bufsize', '48M',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip,
    ]);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = watchConsole(page);

    await page.goto(`${app.webUrl}/signup`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await shot(page, '03-sign-up');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Confirmation code').fill(await confirmationCode(email));
    await shot(page, '04-confirm');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor();

    await page.getByRole('link', { name: 'Upload', exact: true }).click();
    await page.getByLabel('Choose video files').setInputFiles(clip);
    const item = page.getByRole('region', { name: 'clip.mp4' });
    await item.getByLabel('Title').fill('E2E private clip');
    await item.getByLabel('Visibility').selectOption({ label: 'Private' });
    // 6 MB/s up, so the upload takes long enough to watch it move and to cut it.
    const cdp = await context.newCDPSession(page);
    const throttle = () =>
      cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 6 * 1024 * 1024 });
    await throttle();
    await item.getByRole('button', { name: 'Start upload' }).click();

    const progress = item.getByRole('progressbar', { name: 'Upload progress of clip.mp4' });
    // A native <progress>: role progressbar, with value/max (read as the accessibility tree does).
    const sent = async () => progress.evaluate((el) => (el as HTMLProgressElement).value);
    const total = await poll('the progress bar', async () => ((await progress.count()) ? progress.evaluate((el) => (el as HTMLProgressElement).max) : undefined), 20_000);
    const first = await poll('upload progress', async () => ((await sent()) > 0 ? sent() : undefined), 20_000);
    const moved = await poll('the progress bar to move', async () => ((await sent()) > first ? sent() : undefined), 20_000);
    expect(moved).toBeGreaterThan(first);
    await shot(page, '05-uploading');
    // Cut the network once the first parts are stored and the rest are on their way.
    const partBytes = 8 * 1024 * 1024;
    await poll('the first parts to be stored', async () => ((await sent()) >= 4.5 * partBytes ? true : undefined), 60_000);

    await context.setOffline(true);
    await poll('the upload to notice the drop', async () => (/Reconnecting/.test((await item.getByRole('status').first().textContent()) ?? '') ? true : undefined), 15_000);
    const atDrop = await sent();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await shot(page, '06-reconnecting');
    await context.setOffline(false);
    await throttle();
    // The drop loses only the parts in flight: the stored ones still count, and are not sent again.
    expect(atDrop).toBeGreaterThanOrEqual(4 * partBytes);
    expect(atDrop).toBeLessThan(total);

    await poll('processing', async () => (/Processing|Waiting to process|Ready/.test((await item.getByRole('status').first().textContent()) ?? '') ? true : undefined), 60_000);
    await shot(page, '07-processing');
    await poll('Ready', async () => {
      const text = (await item.getByRole('status').first().textContent()) ?? '';
      if (/Failed/.test(text)) throw new Error(`processing failed: ${await item.textContent()}`);
      return /Ready/.test(text) ? true : undefined;
    }, 240_000);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await shot(page, '08-ready');

    page.on('request', (request) => {
      if (/\/v\/.*\.m4s$/.test(request.url())) segmentsFetched.push(request.url());
    });
    const streamResponse = page.waitForResponse((r: Response) => /\/api\/v1\/videos\/[^/]+\/stream$/.test(r.url()));
    await item.getByRole('link', { name: 'Watch' }).click();
    stream = (await (await streamResponse).json()) as { hls: string };
    privateId = /\/watch\/([^/?#]+)/.exec(page.url())![1]!;
    await playsFor(page, 1);

    // A manual quality switch takes effect: the frames on screen become 144 lines high.
    const quality = page.getByRole('combobox', { name: 'Quality' });
    await quality.selectOption({ label: '144p' });
    await page.waitForFunction(() => document.querySelector('video')?.videoHeight === 144, undefined, { timeout: 30_000 });
    const before = await videoTime(page);
    await page.waitForFunction((t) => (document.querySelector('video')?.currentTime ?? 0) > t + 0.5, before, { timeout: 15_000 });
    await shot(page, '09-watch');

    await page.getByRole('link', { name: 'My videos' }).click();
    await page.getByRole('list', { name: 'Your videos' }).getByRole('article', { name: 'E2E private clip' }).waitFor();
    await shot(page, '10-my-videos');

    await page.setViewportSize({ width: 375, height: 800 });
    await shot(page, '11-my-videos-375px');
    expect(problems.filter((p) => !ours(p))).toEqual([]);
    await context.close();
  });

  it('a logged-out viewer cannot reach a private video: no URL, no manifest, no segment; expired URLs are refused', async () => {
    expect(privateId).toBeTruthy();
    expect(segmentsFetched.length).toBeGreaterThan(0);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.webUrl}/watch/${privateId}`);
    await page.getByRole('heading', { level: 1, name: 'Video not found' }).waitFor();
    expect(await page.locator('video').count()).toBe(0);
    await shot(page, '12-private-logged-out');

    const get = (url: string) => context.request.get(url, { failOnStatusCode: false });
    expect((await get(`${app.webUrl}/api/v1/videos/${privateId}/stream`)).status()).toBe(404);
    expect((await get(`${app.webUrl}/api/v1/videos/${privateId}`)).status()).toBe(404);
    // Paths without the owner's signature: the origin layout, no token, a made-up token.
    for (const path of [
      `/videos/${privateId}/hls/master.m3u8`,
      `/v/${privateId}/hls/master.m3u8`,
      `/v/${privateId}/9999999999.1.00000000000000000000000000000000/hls/master.m3u8`,
    ]) {
      const res = await get(`${app.webUrl}${path}`);
      expect(res.status(), path).toBeGreaterThanOrEqual(400);
      expect(await res.text()).not.toContain('#EXTM3U');
    }
    const segment = new URL(segmentsFetched[0]!);
    const unsigned = segment.pathname.replace(/^\/v\/([^/]+)\/[^/]+\//, '/videos/$1/');
    expect((await get(`${app.webUrl}${unsigned}`)).status()).toBeGreaterThanOrEqual(400);
    const tampered = segment.href.replace(/(\/v\/[^/]+\/\d+\.[a-z0-9]+\.)([0-9a-f])/, (_m, head: string, c: string) => head + (c === '0' ? '1' : '0'));
    expect((await get(tampered)).status()).toBe(403);

    // A URL signed with the real key but already expired.
    const secrets = JSON.parse(readFileSync(join(app.dataDir, 'secrets', 'secrets.json'), 'utf8')) as Record<string, { value: string }>;
    const key = Object.values(secrets).map((s) => JSON.parse(s.value) as Partial<PlaybackKey>).find((k) => k.kid && k.key) as PlaybackKey;
    const expires = Math.floor(Date.now() / 1000) - 1;
    const expired = `${app.webUrl}${playbackPath(privateId, `${expires}.${key.kid}.${signature(key.key, privateId, expires)}`, 'hls/master.m3u8')}`;
    const refused = await get(expired);
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toMatch(/expired/);
    // ...while the owner's own URL still works, so the refusals above are about the URL, not the server.
    expect((await get(stream.hls)).status()).toBe(200);
    await context.close();
  });
});
