/**
 * One timed run of the playback benchmark: a fresh browser context (empty HTTP cache), the owner's
 * session in localStorage as the web app keeps it, `/watch/{id}` opened, one play click, and what
 * the page measured (see playback-probe.ts), read into the figures the report prints.
 */
import type { Browser } from 'playwright-core';
import { measureOthersCpu } from './cpu-meter.ts';
import { probeScript, type ClickMode, type ClickRecord, type ResourceRecord } from './playback-probe.ts';

/** Where the web app keeps the session (web/src/auth/tokens.ts) and what it holds. */
const SESSION_KEY = 'vodstack.session';

export interface Session {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

/** The stored session the app would write after signing in (`sessionOf` in web/src/auth/tokens.ts). */
export function storedSession(tokens: Session): string {
  const claims = JSON.parse(Buffer.from(tokens.idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return JSON.stringify({
    ...tokens,
    user: { id: String(claims['sub'] ?? ''), email: String(claims['email'] ?? '') },
    expiresAt: Number(claims['exp'] ?? 0) * 1000,
  });
}

export interface RunOptions {
  readonly webUrl: string;
  readonly videoId: string;
  /** `storedSession(...)`, or undefined to watch signed out. */
  readonly session: string | undefined;
  readonly mode: ClickMode;
  readonly playName: string;
  readonly timeoutMs: number;
}

/** What one run measured; times in ms. */
export interface RunResult {
  /** Play click → first frame presented after it (`requestVideoFrameCallback`, else first `timeupdate`). */
  readonly playToFrame: number;
  readonly frameSignal: 'rvfc' | 'timeupdate';
  /** Media time of that frame, s (0: the very first frame). */
  readonly frameMediaTime: number | undefined;
  /** Navigation start → the click, and → the first frame. */
  readonly openToClick: number;
  readonly openToFrame: number;
  /** The element at the click: readyState, attached by hls.js, seconds buffered. */
  readonly atClick: { readonly readyState: number; readonly attached: boolean; readonly bufferedSeconds: number };
  /** Navigation start → the video was ready to play (readyState ≥ 3), `click` mode only. */
  readonly openToReady: number | undefined;
  /** The master playlist: TTFB (responseStart − requestStart) and when it was requested, relative to the click. */
  readonly master: { readonly ttfb: number; readonly requestedVsClick: number } | undefined;
  /** The first media segment of video fetched (init segments and audio excluded). */
  readonly firstSegment: { readonly rendition: string; readonly transferSize: number; readonly decodedSize: number; readonly requestedVsClick: number } | undefined;
  /** What the page fetched when, ms after navigation start (see `TIMELINE`). */
  readonly timeline: Readonly<Record<TimelinePoint, number | undefined>>;
  /** Other processes' CPUs meanwhile (cpu-meter). */
  readonly othersCpu: number | undefined;
}

const MASTER = /\/hls\/master\.m3u8$/;
const SEGMENT = /\/media\/([^/]+)\/[^/]+\.m4s$/;

/** The watch page's critical path, in the order the app walks it. */
export const TIMELINE = {
  'app JS': { path: /^\/assets\/index-[^/]+\.js$/, at: 'responseEnd' },
  'config.json': { path: /^\/config\.json$/, at: 'startTime' },
  'GET video': { path: /^\/api\/v1\/videos\/[^/]+$/, at: 'startTime' },
  'GET stream': { path: /^\/api\/v1\/videos\/[^/]+\/stream$/, at: 'startTime' },
  'stream answered': { path: /^\/api\/v1\/videos\/[^/]+\/stream$/, at: 'responseEnd' },
  'hls.js chunk requested': { path: /^\/assets\/hls-[^/]+\.js$/, at: 'startTime' },
  'hls.js chunk loaded': { path: /^\/assets\/hls-[^/]+\.js$/, at: 'responseEnd' },
  'master requested': { path: MASTER, at: 'startTime' },
  'first video segment loaded': { path: /\/media\/(?!audio\/)[^/]+\/[^/]+\.m4s$/, at: 'responseEnd' },
} as const satisfies Record<string, { path: RegExp; at: 'startTime' | 'responseEnd' }>;
export type TimelinePoint = keyof typeof TIMELINE;

export async function runOnce(browser: Browser, options: RunOptions): Promise<RunResult> {
  const others = measureOthersCpu();
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    storageState: {
      cookies: [],
      origins: options.session ? [{ origin: options.webUrl, localStorage: [{ name: SESSION_KEY, value: options.session }] }] : [],
    },
  });
  try {
    await context.addInitScript({ content: probeScript({ mode: options.mode, playName: options.playName }) });
    const page = await context.newPage();
    await page.goto(`${options.webUrl}/watch/${options.videoId}`);
    const within = <T>(what: Promise<T>): Promise<T> =>
      Promise.race([what, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${options.timeoutMs} ms`)), options.timeoutMs).unref())]);
    let openToReady: number | undefined;
    let click: ClickRecord;
    try {
      if (options.mode === 'click') {
        // Ready to be clicked: the app's player is there and the element can play (HAVE_FUTURE_DATA).
        openToReady = await within(page.evaluate('window.__playbackBench.ready') as Promise<number>);
        await page.getByRole('button', { name: options.playName, exact: true }).click({ timeout: options.timeoutMs });
      }
      click = await within(page.evaluate('window.__playbackBench.played') as Promise<ClickRecord>);
    } catch (error) {
      const text = (await page.locator('main').innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 300);
      throw new Error(`${options.mode} run on /watch/${options.videoId}: no frame after a play click (page says: "${text}")`, { cause: error });
    }
    const resources = (await page.evaluate('window.__playbackBench.resources()')) as ResourceRecord[];
    const frameAt = click.frame?.callbackAt ?? click.timeupdateAt!;
    const master = resources.find((r) => MASTER.test(new URL(r.name).pathname));
    const segment = resources
      .map((r) => ({ r, rendition: SEGMENT.exec(new URL(r.name).pathname)?.[1] }))
      .filter((s) => s.rendition !== undefined && s.rendition !== 'audio')
      .sort((a, b) => a.r.startTime - b.r.startTime)[0];
    return {
      playToFrame: frameAt - click.clickAt,
      frameSignal: click.frame ? 'rvfc' : 'timeupdate',
      frameMediaTime: click.frame?.mediaTime,
      openToClick: click.clickAt,
      openToFrame: frameAt,
      atClick: { readyState: click.readyState, attached: click.attached, bufferedSeconds: click.bufferedSeconds },
      openToReady,
      master: master && { ttfb: master.responseStart - master.requestStart, requestedVsClick: master.requestStart - click.clickAt },
      firstSegment: segment && {
        rendition: segment.rendition!,
        transferSize: segment.r.transferSize,
        decodedSize: segment.r.decodedBodySize,
        requestedVsClick: segment.r.requestStart - click.clickAt,
      },
      timeline: Object.fromEntries(
        Object.entries(TIMELINE).map(([point, { path, at }]) => {
          const first = resources.filter((r) => path.test(new URL(r.name).pathname)).sort((a, b) => a.startTime - b.startTime)[0];
          return [point, first?.[at]];
        }),
      ) as Record<TimelinePoint, number | undefined>,
      othersCpu: others(),
    };
  } finally {
    await context.close();
  }
}
