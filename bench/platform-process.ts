/**
 * Runs the local platform in a process of its own for the benchmark (`--platform process`), so
 * the S3 stand-in does not share an event loop with the upload client, as on a real network.
 *
 * Spawned with an IPC channel: argv[2] is the JSON of the platform options; it sends
 * `{ ready: PlatformInfo }` (or `{ error }`) and stops when the parent disconnects or sends 'stop'.
 * It runs with `--expose-gc`, so `memory()` measures the heap after a full collection: live data,
 * not garbage that happens to be waiting for the collector.
 */
import '../local/node20.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPlatform, type Platform, type PlatformInfo, type PlatformOptions } from '../local/platform.ts';
import { quietHandlerLogs } from './quiet-logs.ts';

export interface PlatformProcess extends PlatformInfo {
  /** Resolves once the platform has no background work in flight (if it tracks any). */
  idle(): Promise<void>;
  /** The platform process's own memory (RSS, heap), read there after a forced full GC. */
  memory(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

/** Starts the platform in a child process; resolves when it is ready. */
export function startPlatformProcess(options: Omit<PlatformOptions, 'log'>): Promise<PlatformProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`platform process exited (${code}) before it was ready`)));
    const idleWaiters: (() => void)[] = [];
    const memoryWaiters: ((usage: NodeJS.MemoryUsage) => void)[] = [];
    child.on('message', (message: { ready?: PlatformInfo; error?: string; idle?: true; memory?: NodeJS.MemoryUsage }) => {
      if (message.error !== undefined) reject(new Error(`platform process: ${message.error}`));
      if (message.idle) idleWaiters.shift()?.();
      if (message.memory !== undefined) memoryWaiters.shift()?.(message.memory);
      if (message.ready === undefined) return;
      resolve({
        ...message.ready,
        idle() {
          return new Promise<void>((done) => {
            idleWaiters.push(done);
            child.send('idle');
          });
        },
        memory() {
          return new Promise<NodeJS.MemoryUsage>((done) => {
            memoryWaiters.push(done);
            child.send('memory');
          });
        },
        async stop() {
          if (child.connected) child.send('stop');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}

async function child(options: PlatformOptions): Promise<void> {
  quietHandlerLogs();
  let platform: Platform;
  try {
    // The platform's log (requests, workflow, function output) only when asked for, written past
    // the local runtime's capture of stdout (which hands function output to this very log).
    const write = process.stdout.write.bind(process.stdout);
    platform = await startPlatform({ ...options, log: process.env['BENCH_VERBOSE'] ? (line) => void write(`${line}\n`) : () => undefined });
  } catch (error) {
    process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  }
  const stop = () => platform.stop();
  // The data fields only (a newer Platform may carry more methods).
  const info = Object.fromEntries(Object.entries(platform).filter(([, value]) => typeof value !== 'function'));
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void stop().finally(() => process.exit(0));
  };
  process.on('message', (message) => {
    if (message === 'stop') shutdown();
    if (message === 'idle') {
      const maybe = platform as { idle?: () => Promise<void> };
      void (typeof maybe.idle === 'function' ? maybe.idle() : Promise.resolve())
        .catch(() => undefined)
        .then(() => process.send?.({ idle: true }));
    }
    if (message === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ memory: process.memoryUsage() });
    }
  });
  process.on('disconnect', shutdown);
  process.send?.({ ready: info });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  void child(JSON.parse(process.argv[2] ?? '{}') as PlatformOptions);
}
