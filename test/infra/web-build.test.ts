import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureWebBuild } from '#lib/web-build';

const WEB_BUILD = fileURLToPath(new URL('../../lib/web-build.ts', import.meta.url));
/** Where `--import tsx` resolves from. */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

let project: string;
let dist: string;
const builds = () => (existsSync(path.join(project, 'builds.log')) ? readFileSync(path.join(project, 'builds.log'), 'utf8').trim().split('\n') : []);

/** A project whose `build:web` takes a while, logs each run, and writes `dist/index.html`. */
function fakeProject(scripts: Record<string, string> = { 'build:web': 'node build.mjs' }): void {
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fake', private: true, scripts }));
  writeFileSync(
    path.join(project, 'build.mjs'),
    `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
     appendFileSync('builds.log', process.pid + '\\n');
     await new Promise((r) => setTimeout(r, 1500));
     mkdirSync('dist', { recursive: true });
     writeFileSync('dist/index.html', '<!doctype html>');`,
  );
}

/** Runs ensureWebBuild in another process (as a parallel test file or `cdk synth` would). */
function buildInChild(): Promise<{ code: number | null; stderr: string }> {
  const runner = path.join(project, 'runner.ts');
  writeFileSync(
    runner,
    `import { ensureWebBuild } from ${JSON.stringify(WEB_BUILD)};
     ensureWebBuild({ projectRoot: ${JSON.stringify(project)}, distDir: ${JSON.stringify(dist)} });`,
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', runner], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

beforeEach(() => {
  project = mkdtempSync(path.join(tmpdir(), 'vodstack-web-build-'));
  dist = path.join(project, 'dist');
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

describe('ensureWebBuild', () => {
  it('builds the web app once when several processes synthesize at the same time', async () => {
    fakeProject();
    const results = await Promise.all([buildInChild(), buildInChild(), buildInChild()]);
    for (const { code, stderr } of results) expect(code, stderr).toBe(0);
    expect(builds()).toHaveLength(1);
    expect(existsSync(path.join(dist, 'index.html'))).toBe(true);
    expect(existsSync(path.join(project, 'node_modules', '.cache', 'vodstack', 'web-build.lock'))).toBe(false);
  });

  it('does not build again when the build is there', () => {
    fakeProject();
    mkdirSync(dist);
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html>');
    expect(ensureWebBuild({ projectRoot: project, distDir: dist })).toBe(dist);
    expect(builds()).toEqual([]);
  });

  it('takes over the lock of a process that died while building', () => {
    fakeProject();
    const lock = path.join(project, 'node_modules', '.cache', 'vodstack', 'web-build.lock');
    mkdirSync(lock, { recursive: true });
    writeFileSync(path.join(lock, 'pid'), '2147483646'); // no such process
    expect(ensureWebBuild({ projectRoot: project, distDir: dist, waitMs: 20_000 })).toBe(dist);
    expect(builds()).toHaveLength(1);
  });

  it('tells the user to run npm run build:web when there is no such script yet', () => {
    fakeProject({});
    expect(() => ensureWebBuild({ projectRoot: project, distDir: dist })).toThrow(/dist\/index\.html is missing.*Run `npm run build:web`/);
  });

  it('fails when the build runs but produces no index.html', () => {
    fakeProject({ 'build:web': 'node -e "0"' });
    expect(() => ensureWebBuild({ projectRoot: project, distDir: dist })).toThrow(/still missing/);
  });
});
