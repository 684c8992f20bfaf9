import './node20.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_ACCOUNT, readDemo, seedDemo } from './demo.ts';
import { formatLogLine, isRouteMetricsLine } from './log-format.ts';
import { startPlatform } from './platform.ts';

/** `npm start`: the whole platform on loopback, data kept under `.local/`. */
const started = performance.now();
const dataDir = process.env['VODSTACK_DATA_DIR'] ?? '.local';
console.log('vodstack: starting the local platform…');
buildWebAppIfStale();
const platform = await startPlatform({
  dataDir,
  port: Number(process.env['PORT'] ?? 3000),
  // The functions' JSON log and metric lines, one readable line each.
  log: (line) => {
    if (!isRouteMetricsLine(line)) console.log(formatLogLine(line));
  },
  webConfig: () => {
    const demo = readDemo(dataDir);
    return demo?.status === 'ready' && demo.videoId ? { demoVideoId: demo.videoId } : {};
  },
});
console.log(`
vodstack is up in ${((performance.now() - started) / 1000).toFixed(1)} s

  Open        ${platform.webUrl}/
  Demo login  ${DEMO_ACCOUNT.email} / ${DEMO_ACCOUNT.password}

  API         ${platform.apiUrl}/api/v1
  S3          ${platform.s3Endpoint}   (buckets ${platform.rawBucket}, ${platform.mediaBucket})
  DynamoDB    ${platform.dynamoEndpoint}   (table ${platform.tableName})
  Cognito     ${platform.cognitoEndpoint}   (pool ${platform.userPoolId}, client ${platform.clientId})
  Mailbox     ${platform.mailbox}   (sign-up codes are also printed below)

  A token for curl:  npm run local:token -- you@example.com
  Stop with Ctrl-C; data stays in ${dataDir}/.
`);

if (process.env['VODSTACK_SEED_DEMO'] !== 'false' && readDemo(dataDir)?.status !== 'ready') {
  console.log('vodstack: seeding the demo video (first start only)…');
  seedDemo(platform, dataDir, (line) => console.log(line))
    .then((demo) => console.log(`vodstack: demo video ${demo.status}: ${platform.webUrl}/watch/${demo.videoId}`))
    .catch((error: unknown) => console.error(`vodstack: could not seed the demo: ${String(error)}`));
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('vodstack: stopping…');
    platform.stop().then(() => process.exit(0));
  });
}

/** Builds web/dist when it is missing or older than a source file, so `npm start` is enough. */
function buildWebAppIfStale(): void {
  const index = join('web', 'dist', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built && newestIn('web', ['dist', 'node_modules']) <= built) return;
  console.log('vodstack: building the web app (npm run build:web)…');
  // Always the production build, even when started from a test runner that sets NODE_ENV=test.
  execFileSync('npm', ['run', '--silent', 'build:web'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}

function newestIn(dir: string, skip: string[]): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.includes(entry.name)) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path, skip) : statSync(path).mtimeMs);
  }
  return newest;
}
