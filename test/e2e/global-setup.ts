import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../local/net.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    app: { webUrl: string; dataDir: string; artifacts: string };
  }
}

/** Screenshots and the platform's log land here (CI keeps the folder as the run's artefacts). */
export const ARTIFACTS = resolve('test-results/e2e');

/**
 * Runs `npm start` exactly as a newcomer would (fresh data folder, demo seeding on), on six free
 * consecutive ports, and waits for its "is up" banner. The browser tests drive that platform.
 */
export default async function setup(project: TestProject) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'vodstack-e2e-'));
  const port = await consecutiveFreePorts(6);
  const log = createWriteStream(join(ARTIFACTS, 'platform.log'));
  const child = spawn('npm', ['start'], {
    // As a user runs it: without the test runner's NODE_ENV=test.
    env: { ...withoutTestEnv(process.env), PORT: String(port), VODSTACK_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  await waitForBanner(child, 180_000);
  project.provide('app', { webUrl: `http://127.0.0.1:${port}`, dataDir, artifacts: ARTIFACTS });
  return async () => {
    await stopGroup(child);
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

function withoutTestEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_ENV: _nodeEnv, VITEST: _vitest, ...rest } = env;
  return rest;
}

async function consecutiveFreePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + count > 65535) continue;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function waitForBanner(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`npm start was not up within ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/vodstack is up in/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.pid) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
