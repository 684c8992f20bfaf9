import { mkdtempSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page, Request } from 'playwright-core';
import { routes } from '#contracts/routes';
import type { PlatformInfo } from '../../local/platform.ts';
import { ApiClient } from '../support/api.ts';
import { makeClip } from '../support/media.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';
import { launchChromium, watchConsole, type Browser } from './browser.ts';

/**
 * The discovery and account pages against `npm start`: search (typo, tag filter, infinite
 * scroll), trending on the home page after a real view, the account export download, and account
 * deletion. Steps whose API routes are not in the route table yet are skipped, not failed.
 */
const app = inject('app');
const shot = (page: Page, name: string) => page.screenshot({ path: join(app.artifacts, `${name}.png`), fullPage: true });
const has = (method: string, path: string) => routes.some((r) => r.method === method && r.path === path);

const canSearch = has('GET', '/api/v1/search/videos');
const canTrend = has('GET', '/api/v1/feed/trending') && has('POST', '/api/v1/videos/{id}/views');
const canAccount = has('GET', '/api/v1/me') && has('GET', '/api/v1/me/export') && has('DELETE', '/api/v1/me');
/** The password `ApiClient.signUp` gives its users. */
const PASSWORD = 'Correct-Horse-9-Battery';

async function poll<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Three public videos of one creator: "Marmalade …", two of them tagged `food`, all tagged with this run's tag. */
const run = Date.now().toString(36);
const runTag = `e2e-${run}`;
const SEED = [
  { title: 'Marmalade kitten tutorial', tags: [runTag, 'cats'] },
  { title: 'Marmalade toast recipe', tags: [runTag, 'food'] },
  { title: 'Marmalade jar unboxing', tags: [runTag, 'food'] },
] as const;

async function logIn(page: Page, email: string) {
  await page.goto(`${app.webUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

const titlesIn = async (page: Page, list: string) =>
  page
    .getByRole('list', { name: list, exact: true })
    .getByRole('article')
    .evaluateAll((articles) => articles.map((a) => a.querySelector('h3')?.textContent ?? ''));

describe.skipIf(!canSearch && !canTrend && !canAccount)('discovery and accounts in the web app against `npm start`', () => {
  let browser: Browser;
  let creator: ApiClient;
  const ids: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    const platform = JSON.parse(readFileSync(join(app.dataDir, 'platform.json'), 'utf8')) as PlatformInfo;
    creator = await ApiClient.signUp(platform, 'discovery');
    const dir = mkdtempSync(join(tmpdir(), 'vodstack-discovery-'));
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip, { width: 256, height: 144, seconds: 3 });
    for (const video of SEED) ids.push(await uploadFile(creator, clip, { title: video.title, visibility: 'public' }));
    for (const [i, id] of ids.entries()) {
      const outcome = await waitForOutcome(creator, id, 240_000);
      expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
      const tagged = await creator.request('PATCH', `/api/v1/videos/${id}`, { tags: SEED[i]!.tags });
      expect(tagged.status, JSON.stringify(tagged.body)).toBe(200);
    }
    if (canSearch) {
      // The index is fed from the table's stream: wait until all three (with their tags) are found.
      await poll(
        'the seeded videos to be searchable by tag',
        async () => {
          const found = await creator.request('GET', `/api/v1/search/videos?tags=${runTag}&page_size=10`);
          return found.status === 200 && (found.body as { items: unknown[] }).items.length === SEED.length ? true : undefined;
        },
        30_000,
      );
    }
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
  });

  it.skipIf(!canSearch)('search from the header finds a video by a mistyped title word, and a tag chip narrows the results', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(app.webUrl);
    const box = page.getByRole('search').getByRole('searchbox', { name: 'Search videos' });
    await box.fill('marmelade');
    await box.press('Enter');
    await page.waitForURL(/\/search\?q=marmelade$/);
    await page.getByRole('heading', { level: 1, name: 'Search results' }).waitFor();
    const results = page.getByRole('list', { name: 'Search results', exact: true });
    await results.getByRole('article', { name: 'Marmalade kitten tutorial' }).waitFor();
    expect(await titlesIn(page, 'Search results')).toEqual(expect.arrayContaining(SEED.map((v) => v.title)));
    await shot(page, 'discovery-01-search');

    const food = page.getByRole('group', { name: 'Filter by tag' }).getByRole('button', { name: 'food', exact: true });
    expect(await food.getAttribute('aria-pressed')).toBe('false');
    await food.click();
    await page.waitForURL(/\/search\?q=marmelade&tags=food$/);
    await poll('the filtered results', async () => {
      const titles: string[] = await titlesIn(page, 'Search results').catch(() => []);
      return titles.length > 0 && !titles.includes('Marmalade kitten tutorial') ? titles : undefined;
    }, 15_000);
    expect(await titlesIn(page, 'Search results')).toEqual(expect.arrayContaining(['Marmalade toast recipe', 'Marmalade jar unboxing']));
    expect(await food.getAttribute('aria-pressed')).toBe('true');
    await shot(page, 'discovery-02-search-tag');

    // Words that match nothing: the empty state, not an error.
    await box.fill('zzqxv nothing matches this');
    await box.press('Enter');
    await page.getByText(/^No videos match/).waitFor();
    expect(problems.filter((p) => p.startsWith('pageerror'))).toEqual([]);
    await context.close();
  });

  it.skipIf(!canSearch)('infinite scroll: the next page loads from the cursor as the end of the list comes into view', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 700 } });
    const page = await context.newPage();
    const searches: string[] = [];
    page.on('request', (request: Request) => {
      if (request.url().includes('/api/v1/search/videos')) searches.push(request.url());
    });
    await page.goto(`${app.webUrl}/search?tags=${runTag}&page_size=2`);
    const results = page.getByRole('list', { name: 'Search results', exact: true });
    await results.getByRole('article').first().waitFor();
    // Scroll to the end: the observer asks for page two (the button stays as the fallback).
    await page.mouse.wheel(0, 5000);
    await poll('the second page', async () => ((await results.getByRole('article').count()) === SEED.length ? true : undefined), 15_000);
    const titles = await titlesIn(page, 'Search results');
    expect([...titles].sort()).toEqual(SEED.map((v) => v.title).sort());
    expect(searches.some((url) => new URL(url).searchParams.has('cursor'))).toBe(true);
    await page.getByText('That is everything we found.').waitFor();
    expect(await page.getByRole('button', { name: 'Load more results' }).count()).toBe(0);
    await shot(page, 'discovery-03-infinite-scroll');
    await context.close();
  });

  it.skipIf(!canTrend)('a view recorded when playback starts puts the video on the home page’s Trending row', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const viewed = page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/v1\/videos\/[^/]+\/views$/.test(r.url()));
    await page.goto(`${app.webUrl}/watch/${ids[1]}`);
    await page.getByRole('heading', { level: 1, name: 'Marmalade toast recipe' }).waitFor();
    // Nothing is recorded on page load: only once frames play.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    const response = await viewed;
    expect(response.status()).toBe(200);
    const body = (await response.json()) as { counted: boolean; views: number };
    expect(body.counted).toBe(true);
    const session = await page.evaluate(() => localStorage.getItem('vodstack.viewerSession'));
    expect(session).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    expect(JSON.parse(response.request().postData() ?? '{}')).toEqual({ sessionId: session });

    // The Related column offers the creator's other marmalade videos (shared words and tags).
    const related = page.getByRole('list', { name: 'Related videos', exact: true });
    await related.getByRole('article').first().waitFor();
    const relatedTitles = await titlesIn(page, 'Related videos');
    expect(relatedTitles).not.toContain('Marmalade toast recipe');
    expect(relatedTitles.some((t) => t.startsWith('Marmalade'))).toBe(true);
    await shot(page, 'discovery-04-watch-related');

    // The owner's channel: their public videos.
    await page.getByRole('link', { name: 'More from this channel' }).click();
    await page.waitForURL(/\/channel\//);
    await page.getByRole('list', { name: 'Channel videos', exact: true }).getByRole('article').nth(SEED.length - 1).waitFor();
    expect([...(await titlesIn(page, 'Channel videos'))].sort()).toEqual(SEED.map((v) => v.title).sort());
    await shot(page, 'discovery-05-channel');

    await poll('the video to trend', async () => {
      await page.goto(app.webUrl);
      const trending = page.getByRole('list', { name: 'Trending', exact: true });
      await trending.or(page.getByText(/Nothing is trending yet|Trending is not available|Trending could not be loaded/)).first().waitFor();
      return (await trending.getByRole('article', { name: 'Marmalade toast recipe' }).count()) > 0 ? true : undefined;
    }, 30_000);
    await shot(page, 'discovery-06-trending');
    await context.close();
  });

  it.skipIf(!canAccount)('the account page downloads the export with the user’s videos, then deletes the account and signs out for good', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await logIn(page, creator.email);
    // Signed in, the home page adds a Recommended row (trending, for someone with no history yet).
    const recommended = page.getByRole('region', { name: 'Recommended for you' });
    await recommended.getByRole('list', { name: 'Recommended for you' }).or(recommended.getByText('Watch a few videos')).first().waitFor();
    expect(await recommended.getByText(/could not be loaded|not available/).count()).toBe(0);

    // My videos: choose another poster among the pipeline's candidate frames.
    await page.getByRole('link', { name: 'My videos', exact: true }).click();
    const article = page.getByRole('list', { name: 'Your videos' }).getByRole('article', { name: 'Marmalade kitten tutorial' });
    await article.getByRole('button', { name: 'Edit' }).click();
    const form = article.getByRole('form', { name: 'Edit Marmalade kitten tutorial' });
    const frame = form.getByRole('group', { name: 'Poster' }).getByRole('radio', { name: 'Frame 1' });
    await frame.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.poster-choice img')].every((img) => img.complete && img.naturalWidth > 0));
    expect(await form.getByRole('radio').count()).toBe(4);
    await frame.check();
    await shot(page, 'discovery-07-poster-choice');
    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/api/v1/videos/${ids[0]}`));
    await form.getByRole('button', { name: 'Save' }).click();
    const patch = await patched;
    expect(patch.status()).toBe(200);
    expect((JSON.parse(patch.request().postData() ?? '{}') as { poster?: unknown }).poster).toEqual({ candidate: 0 });
    await article.getByRole('button', { name: 'Edit' }).waitFor();

    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Account settings' }).waitFor();

    await page.getByLabel('Display name').fill('Marmalade Maker');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Profile saved.').waitFor();

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download my data' }).click();
    const file = await (await download).path();
    const exported = JSON.parse(await readFile(file!, 'utf8')) as { profile: { displayName?: string }; videos: { id: string; title: string }[] };
    expect(exported.videos.map((v) => v.id)).toEqual(expect.arrayContaining(ids));
    expect(exported.profile.displayName).toBe('Marmalade Maker');
    await shot(page, 'discovery-08-account');

    await page.getByRole('button', { name: 'Delete my account' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete your account?' });
    const confirm = dialog.getByRole('button', { name: 'Delete my account forever' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type your email to confirm').fill(creator.email);
    await shot(page, 'discovery-09-delete-dialog');
    await confirm.click();
    await page.getByRole('heading', { level: 1, name: 'Account deleted' }).waitFor();
    await page.getByRole('link', { name: 'Log in' }).waitFor();
    expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(0);

    // The account is gone: logging in again is refused.
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('Email').fill(creator.email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(0);
    await shot(page, 'discovery-10-deleted');

    // ...and its videos are no longer found.
    if (canSearch) {
      await poll('the deleted account’s videos to leave the index', async () => {
        const found = await fetch(`${app.webUrl}/api/v1/search/videos?tags=${runTag}`).then((r) => r.json() as Promise<{ items: unknown[] }>);
        return found.items.length === 0 ? true : undefined;
      }, 30_000);
    }
    expect((await fetch(`${app.webUrl}/api/v1/videos/${ids[0]}`)).status).toBe(404);
    await context.close();
  });
});
