import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routes } from '#contracts/routes';
import { signIn, signUpAndSignIn } from '../../local/users.ts';
import { ApiClient } from '../support/api.ts';
import { eventually } from '../support/bola.ts';
import {
  badTokens,
  describeCase,
  fuzzSeed,
  generateCases,
  inputsOf,
  problemWith,
  rawClient,
  Rng,
  type FuzzContext,
} from '../support/fuzz.ts';
import { makeClip } from '../support/media.ts';
import { describeDiff, diffState, isUnchanged, settledState, stateReader, type StateSnapshot } from '../support/state.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

/**
 * Schema-driven fuzzing of every route in the route table: for each, at least
 * {@link CASES_PER_ROUTE} requests it must refuse, generated from its zod schemas (see
 * `test/support/fuzz.ts`), sent to the local platform {@link CONCURRENCY} at a time. Each answer
 * must be below 500, the expected status, and (when an error) the JSON error shape without a
 * trace of internals; and the platform's whole state — every table item, object, open multipart
 * upload and workflow execution — must be exactly as it was before each route's requests.
 *
 * The seed is printed; replay a failure with `FUZZ_SEED=<seed> npx vitest run --project
 * integration test/integration/fuzz.test.ts`.
 */
const platform = inject('platform');
const CASES_PER_ROUTE = 220;
const CONCURRENCY = 8;
const seed = fuzzSeed();
const readState = stateReader(platform);
const http = rawClient(platform.apiUrl, CONCURRENCY);

/** A per-route stream, so one route's cases do not depend on which routes ran before it. */
const rngFor = (routeId: string) => new Rng([...routeId].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, seed ^ 2166136261));

describe('schema-driven fuzzing of every route', () => {
  let ctx: FuzzContext;
  let state: StateSnapshot;
  /** The fuzzing user's ready video, as it was before the fuzzing. */
  let readyVideo: unknown;

  beforeAll(async () => {
    console.log(`fuzz: FUZZ_SEED=${seed} (set it to replay this run)`);
    const word = `fuzz${new Rng(seed).string(8, 'abcdefghijklmnopqrstuvwxyz')}`;
    const email = `fuzz-${word}@example.com`;
    const tokens = await signUpAndSignIn(platform, email, 'Correct-Horse-9-Battery');
    const user = new ApiClient(platform.apiUrl, tokens.idToken, email);
    const userId = (JSON.parse(Buffer.from(tokens.idToken.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;

    const dir = mkdtempSync(join(tmpdir(), 'vodstack-fuzz-'));
    await makeClip(join(dir, 'clip.mp4'), { width: 160, height: 90, seconds: 1 });
    const readyId = await uploadFile(user, join(dir, 'clip.mp4'), { title: `${word} ready`, visibility: 'public' });
    const pending = await user.request('POST', '/api/v1/videos/upload', {
      title: `${word} pending`,
      visibility: 'private',
      fileName: 'clip.mp4',
      fileSize: 1,
      contentType: 'video/mp4',
    });
    expect(pending.status, JSON.stringify(pending.body)).toBe(201);
    expect((await waitForOutcome(user, readyId, 60_000)).status).toBe('ready');
    // The profile exists before the fuzzing starts (the first GET /me creates it).
    expect((await user.request('GET', '/api/v1/me')).status).toBe(200);

    const cursor = async (path: string) => (await user.request('GET', path)).body?.nextCursor as string | undefined;
    const myCursor = await eventually(() => cursor('/api/v1/me/videos?limit=1'), Boolean, 'a second page of my videos');
    const channelCursor = await eventually(() => cursor(`/api/v1/users/${userId}/videos?limit=1`), Boolean, 'a second page of my channel');
    const searchCursor = await eventually(() => cursor(`/api/v1/search/videos?q=${word}&page_size=1`), Boolean, 'a second page of search');

    // The forged tokens fail for their one reason only: the same claims, signed the same way, pass.
    const forged = await badTokens(tokens.idToken, tokens.accessToken);
    expect((await new ApiClient(platform.apiUrl, forged.resigned, email).request('GET', '/api/v1/me')).status).toBe(200);
    ctx = {
      fixtures: { userId, readyId, pendingId: pending.body.id, myCursor: myCursor!, channelCursor: channelCursor!, searchCursor: searchCursor!, searchWord: word },
      idToken: tokens.idToken,
      tokens: forged.bad,
    };
    state = await settledState(readState);
    readyVideo = (await user.request('GET', `/api/v1/videos/${readyId}`)).body;
  }, 120_000);

  afterAll(() => http.close());

  it('has schemas and a valid request described for every route in the route table', () => {
    const missing = routes.filter((route) => {
      try {
        inputsOf(route);
        return false;
      } catch {
        return true;
      }
    });
    expect(missing.map((r) => r.id)).toEqual([]);
  });

  it.each(routes.map((route) => [route.id, route] as const))('%s refuses every broken request cleanly and changes nothing', async (_id, route) => {
    const cases = generateCases(route, ctx, rngFor(route.id), CASES_PER_ROUTE);
    expect(cases.filter((c) => !c.acceptable).length).toBeGreaterThanOrEqual(CASES_PER_ROUTE);

    const problems: string[] = [];
    await http.all(cases, async (c, i) => {
      const response = await http.send(c).catch((error: Error) => ({ status: 0, headers: {}, text: `request failed: ${error.message}` }));
      const problem = response.status === 0 ? response.text : problemWith(response, c.expect);
      if (problem) problems.push(`#${i} ${problem}: ${describeCase(c)}\n    answer: ${response.text.slice(0, 300)}`);
    });
    const after = await readState();
    const diff = diffState(state, after);
    state = after;

    expect(problems, `FUZZ_SEED=${seed} ${route.id}: ${problems.length} of ${cases.length} answers wrong:\n${problems.slice(0, 15).join('\n')}`).toEqual([]);
    expect(isUnchanged(diff), `FUZZ_SEED=${seed} ${route.id} changed the stored state:\n${describeDiff(diff)}`).toBe(true);
  });

  it('leaves the platform as it found it once everything settled, and the user can still sign in', async () => {
    const settled = await settledState(readState);
    expect(describeDiff(diffState(state, settled))).toBe('no change');
    const again = await signIn(platform, JSON.parse(Buffer.from(ctx.idToken.split('.')[1]!, 'base64url').toString()).email, 'Correct-Horse-9-Battery');
    expect(again.idToken).toBeTruthy();
    const user = new ApiClient(platform.apiUrl, again.idToken, '');
    expect((await user.request('GET', `/api/v1/videos/${ctx.fixtures.readyId}`)).body).toEqual(readyVideo);

    // The snapshot does see a write of the kind a lenient route would make (a real check above).
    expect((await user.request('PATCH', '/api/v1/me', { displayName: 'Fuzzed' })).status).toBe(200);
    expect(diffState(settled, await readState()).changed).toEqual([`table USER#${ctx.fixtures.userId}|PROFILE`]);
  });
});
