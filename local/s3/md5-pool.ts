/**
 * MD5 of request bodies off the event loop: a small pool of worker threads, one hashing job per
 * in-flight body. On the loop, MD5 (~1 GB/s) capped parallel part uploads at the speed of one
 * stream; in workers, bodies hash side by side while the loop only moves bytes.
 *
 * Chunks are copied into a fresh buffer that is transferred (the original still goes to the file).
 * At most {@link MAX_PENDING_BYTES} per job wait in a worker's queue: `update` resolves once the
 * backlog is under that, so a slow hash slows the socket instead of filling memory.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const MAX_PENDING_BYTES = 16 * 1024 * 1024;

// Plain JS evaluated in the worker: no TypeScript loader is needed there (tsx, vitest, node).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'update') {
    let hash = jobs.get(m.id);
    if (!hash) jobs.set(m.id, (hash = createHash('md5')));
    hash.update(new Uint8Array(m.buffer));
    parentPort.postMessage({ type: 'ack', id: m.id, bytes: m.buffer.byteLength });
  } else if (m.type === 'digest') {
    const hash = jobs.get(m.id) ?? createHash('md5');
    jobs.delete(m.id);
    const digest = hash.digest();
    parentPort.postMessage({ type: 'digest', id: m.id, digest: digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.length) });
  } else if (m.type === 'drop') {
    jobs.delete(m.id);
  }
});
`;

type WorkerMessage =
  | { type: 'ack'; id: number; bytes: number }
  | { type: 'digest'; id: number; digest: ArrayBuffer };

interface Job {
  pending: number;
  wake: (() => void) | undefined;
  resolve: ((digest: Buffer) => void) | undefined;
  reject: ((err: Error) => void) | undefined;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  /** Terminated on purpose: no replacement. */
  stopping: boolean;
}

/** A running MD5 of one body, computed in a worker thread. */
export interface Md5Job {
  /** Hashes `chunk` (copied; the caller may reuse it); resolves when the worker's backlog allows more. */
  update(chunk: Uint8Array): Promise<void>;
  /** The digest of everything passed to `update`; the job ends. */
  digest(): Promise<Buffer>;
  /** Ends the job without a digest (the body was refused). */
  drop(): void;
}

let workers: PoolWorker[] | undefined;
let nextId = 0;
let users = 0;

/**
 * Each running stand-in holds the pool; the last to release it stops the threads (a test runner
 * waits for every thread of a finished test file, unref'd or not). Jobs spawn it again if needed.
 */
export function holdMd5Pool(): () => Promise<void> {
  users++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    users--;
    if (users > 0 || !workers) return;
    const stopping = workers;
    workers = undefined;
    await Promise.all(
      stopping.map((w) => {
        w.stopping = true;
        return w.worker.terminate();
      }),
    );
  };
}

function spawn(): PoolWorker {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  // The pool never keeps a process alive; a job in flight has its request keeping it alive.
  worker.unref();
  const entry: PoolWorker = { worker, jobs: new Map(), stopping: false };
  worker.on('message', (m: WorkerMessage) => {
    const job = entry.jobs.get(m.id);
    if (!job) return;
    if (m.type === 'ack') {
      job.pending -= m.bytes;
      if (job.pending <= MAX_PENDING_BYTES && job.wake) {
        const wake = job.wake;
        job.wake = undefined;
        wake();
      }
    } else {
      entry.jobs.delete(m.id);
      job.resolve?.(Buffer.from(m.digest));
    }
  });
  const fail = (err: Error) => {
    if (entry.jobs.size === 0 && entry.stopping) return;
    // Replace the worker; the jobs it held fail (their requests answer 500).
    const index = workers?.indexOf(entry) ?? -1;
    if (index >= 0 && !entry.stopping) workers![index] = spawn();
    for (const job of entry.jobs.values()) {
      job.reject?.(err);
      job.wake?.();
    }
    entry.jobs.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`md5 worker exited with code ${code}`)));
  return entry;
}

function pool(): PoolWorker[] {
  workers ??= Array.from({ length: Math.max(1, Math.min(4, availableParallelism())) }, spawn);
  return workers;
}

/** Starts hashing a body on the least busy worker. */
export function md5Job(): Md5Job {
  const entry = pool().reduce((best, w) => (w.jobs.size < best.jobs.size ? w : best));
  const id = nextId++;
  const job: Job = { pending: 0, wake: undefined, resolve: undefined, reject: undefined };
  let failure: Error | undefined;
  job.reject = (err) => {
    failure = err;
  };
  entry.jobs.set(id, job);
  return {
    async update(chunk) {
      if (failure) throw failure;
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      job.pending += copy.length;
      entry.worker.postMessage({ type: 'update', id, buffer: copy.buffer }, [copy.buffer]);
      if (job.pending > MAX_PENDING_BYTES) {
        await new Promise<void>((resolve) => {
          job.wake = resolve;
        });
        if (failure) throw failure;
      }
    },
    digest() {
      if (failure) return Promise.reject(failure);
      return new Promise<Buffer>((resolve, reject) => {
        job.resolve = resolve;
        job.reject = reject;
        entry.worker.postMessage({ type: 'digest', id });
      });
    },
    drop() {
      if (entry.jobs.delete(id)) entry.worker.postMessage({ type: 'drop', id });
    },
  };
}
