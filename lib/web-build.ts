import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Options of {@link ensureWebBuild}. */
export interface WebBuildOptions {
  /** The project whose `package.json` has the build script. */
  readonly projectRoot: string;
  /** The build's output folder; the build is there when it holds `index.html`. */
  readonly distDir: string;
  /**
   * The npm script that builds it.
   * @default 'build:web'
   */
  readonly script?: string;
  /**
   * How long to wait for another process that is building it, ms.
   * @default 600000
   */
  readonly waitMs?: number;
}

/**
 * Makes sure the web app's production build exists, running `npm run build:web` once when it does
 * not (a fresh clone), and returns its folder. Synthesis is synchronous, and several processes may
 * synthesize at once (parallel test files, `cdk synth` beside local mode): the first takes a lock
 * (an atomic `mkdir`) and builds, the others wait for it. A lock whose owner died is taken over.
 */
export function ensureWebBuild(options: WebBuildOptions): string {
  const { projectRoot, distDir } = options;
  const script = options.script ?? 'build:web';
  const built = () => existsSync(path.join(distDir, 'index.html'));
  if (built()) return distDir;

  const scripts = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  if (!scripts[script]) {
    throw new Error(
      `The web app is not built (${path.relative(projectRoot, path.join(distDir, 'index.html'))} is missing) and package.json has no "${script}" script to build it. ` +
        `Run \`npm run ${script}\` (the web app's production build) and synthesize again.`,
    );
  }

  const lock = path.join(projectRoot, 'node_modules', '.cache', 'vodstack', 'web-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + (options.waitMs ?? 600_000);
  for (;;) {
    if (tryLock(lock)) {
      try {
        if (!built()) {
          // The build's own output goes to stderr: `cdk synth` prints templates on stdout.
          execFileSync('npm', ['run', '--silent', script], {
            cwd: projectRoot,
            stdio: ['ignore', process.stderr, process.stderr],
            shell: process.platform === 'win32',
          });
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      if (!built()) throw new Error(`\`npm run ${script}\` finished but ${path.join(distDir, 'index.html')} is still missing`);
      return distDir;
    }
    if (built()) return distDir;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for another process to build the web app (lock ${lock})`);
    sleep(200);
  }
}

/** Takes the lock, or takes over one whose owner is gone; false while a live process holds it. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (ownerAlive(lock)) return false;
    rmSync(lock, { recursive: true, force: true });
    return tryLock(lock);
  }
  writeFileSync(path.join(lock, 'pid'), String(process.pid));
  return true;
}

function ownerAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    // Just created and the pid not written yet, unless its owner died in between.
    try {
      return Date.now() - statSync(lock).mtimeMs < 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
