/**
 * The local platform in a process of its own for the transcode benchmark: one per chunk length,
 * because the pipeline's handlers read their configuration (chunk length, endpoints) once per
 * process. A process of its own also makes its CPU time (Node, the ffmpegs it reaps, the JVM)
 * measurable apart from the benchmark's client.
 *
 * It times every workflow task: `LocalLambdas.prototype.invoke` is wrapped (benchmark
 * instrumentation only, no product code changes), so the report can say how long Claim, Probe,
 * each chunk, Audio, Package, Thumbnails and Publish took.
 *
 * Spawned with an IPC channel; argv[2] is the JSON of the platform options. It sends
 * `{ ready: PlatformInfo }` (or `{ error }`), answers `'tasks'` with `{ tasks: TaskTiming[] }`,
 * and stops on `'stop'` or when the parent disconnects.
 */
import '../local/node20.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LocalLambdas } from '../local/lambda.ts';
import { startPlatform, type Platform, type PlatformInfo, type PlatformOptions } from '../local/platform.ts';
import { quietHandlerLogs } from './quiet-logs.ts';

/** One invocation of a workflow (or event) function. */
export interface TaskTiming {
  /** Handler module, e.g. `pipeline/transcode-chunk`. */
  readonly module: string;
  /** `Date.now()` at invoke and at its answer. */
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
  readonly videoId?: string;
  readonly chunk?: { readonly index: number; readonly start: number; readonly duration: number };
  readonly error?: string;
}

export interface BenchPlatform extends PlatformInfo {
  /** The platform process (its ffmpegs are its children). */
  readonly pid: number;
  tasks(): Promise<TaskTiming[]>;
  stop(): Promise<void>;
}

type Message = { ready?: PlatformInfo; error?: string; tasks?: TaskTiming[] };

/** Starts the platform in a child process; resolves when it is ready. */
export function startBenchPlatform(options: Omit<PlatformOptions, 'log'>): Promise<BenchPlatform> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`platform process exited (${code}) before it was ready`)));
    const waiting: ((tasks: TaskTiming[]) => void)[] = [];
    child.on('message', (message: Message) => {
      if (message.error !== undefined) reject(new Error(`platform process: ${message.error}`));
      if (message.tasks) waiting.shift()?.(message.tasks);
      if (message.ready === undefined) return;
      resolve({
        ...message.ready,
        pid: child.pid!,
        tasks: () =>
          new Promise<TaskTiming[]>((done) => {
            waiting.push(done);
            child.send('tasks');
          }),
        async stop() {
          if (child.connected) child.send('stop');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}

/** Wraps every local Lambda invoke to record the workflow's and the event path's tasks. */
function instrument(tasks: TaskTiming[]): void {
  const original = LocalLambdas.prototype.invoke;
  LocalLambdas.prototype.invoke = async function (this: LocalLambdas, arnOrName: string, event: unknown): Promise<unknown> {
    const name = arnOrName.split(':').pop() ?? arnOrName;
    const module = this.functions.find((f) => f.arn === arnOrName || f.logicalId === arnOrName || f.logicalId === name)?.module ?? arnOrName;
    if (!module.startsWith('pipeline/') && !module.startsWith('events/')) return original.call(this, arnOrName, event);
    const input = (event ?? {}) as { videoId?: string; chunk?: TaskTiming['chunk'] };
    const start = Date.now();
    const record = (ok: boolean, error?: unknown) =>
      tasks.push({
        module,
        start,
        end: Date.now(),
        ok,
        ...(typeof input.videoId === 'string' ? { videoId: input.videoId } : {}),
        ...(input.chunk ? { chunk: input.chunk } : {}),
        ...(error === undefined ? {} : { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
      });
    try {
      const result = await original.call(this, arnOrName, event);
      record(true);
      return result;
    } catch (error) {
      record(false, error);
      throw error;
    }
  };
}

async function child(options: PlatformOptions): Promise<void> {
  quietHandlerLogs();
  const tasks: TaskTiming[] = [];
  instrument(tasks);
  let platform: Platform;
  try {
    platform = await startPlatform({ ...options, log: () => undefined });
  } catch (error) {
    process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  }
  const info = Object.fromEntries(Object.entries(platform).filter(([, value]) => typeof value !== 'function'));
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void platform.stop().finally(() => process.exit(0));
  };
  process.on('message', (message) => {
    if (message === 'stop') shutdown();
    if (message === 'tasks') process.send?.({ tasks });
  });
  process.on('disconnect', shutdown);
  process.send?.({ ready: info });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  void child(JSON.parse(process.argv[2] ?? '{}') as PlatformOptions);
}
