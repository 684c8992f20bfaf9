import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { AppError, UnavailableError } from '#domain/errors';
import { DEFAULT_MEDIA_LIMITS, InvalidMediaError, maxPixelsFor, type MediaLimits } from '#domain/media';

/**
 * The one way this adapter runs ffmpeg and ffprobe: no shell, no stdin, a hard timeout, bounded
 * output, and exits mapped to the workflow's error names (bad input → permanent
 * `InvalidMediaError`; a crash, a timeout or an unexplained failure → transient, retried).
 */

/** ffmpeg/ffprobe died by a signal (segfault, OOM kill): worth a retry on a fresh worker. */
export class TranscodeCrashedError extends AppError {
  override readonly name = 'TranscodeCrashedError';
  readonly statusCode = 500;
}

/** ffmpeg/ffprobe ran past its deadline and was killed. Transient: a retry may get a faster worker. */
export class TranscodeTimeoutError extends AppError {
  override readonly name = 'TranscodeTimeoutError';
  readonly statusCode = 500;
}

/** ffmpeg/ffprobe failed for a reason not traced to the input (disk full, a bug); retried. */
export class TranscodeFailedError extends AppError {
  override readonly name = 'TranscodeFailedError';
  readonly statusCode = 500;
}

/**
 * Demuxers an upload may use: real video containers only. Left out on purpose: `hls`, `dash`,
 * `concat` (they open other URLs), `image2`/`*_pipe` (an image is not a video), `lavfi`, `tty`,
 * `data`, `subviewer` and the rest. The mov entry lists every alias of the one mov demuxer.
 */
export const CONTAINER_FORMATS = ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'matroska', 'webm', 'avi', 'mpegts', 'flv', 'mpeg', 'ogg', 'asf'].join(',');

/** How to open one input: the URL ffmpeg gets and the only protocols it (and anything it nests) may use. */
export interface InputSource {
  readonly url: string;
  readonly protocols: string;
  readonly remote: boolean;
}

/**
 * A local path becomes `file:<absolute path>` with only `file` allowed: without the prefix a path
 * such as `concat:a|b` or `subfile,,...` would select a protocol. An http(s) URL (our own
 * presigned object) may use what HTTPS needs (`tcp`, `tls`) and nothing else; the whitelist is
 * inherited by every nested open, so a playlist inside could not reach `file` or `crypto`.
 */
export function inputSource(input: string): InputSource {
  if (/^https?:\/\//i.test(input)) return { url: input, protocols: 'http,https,tcp,tls', remote: true };
  if (/^[a-z][a-z0-9+.-]*:/i.test(input) && !input.startsWith('file:')) throw new Error(`unsupported input scheme: ${input.split(':')[0]}`);
  return { url: `file:${resolve(input.replace(/^file:/, ''))}`, protocols: 'file', remote: false };
}

/**
 * Options placed before every `-i`: the protocol and container allowlists, the stream cap, the
 * decoder's pixel cap (a decompression bomb fails before it allocates frames), and for remote
 * inputs a stall timeout and reconnects (an S3 read can reset mid-chunk).
 */
export function inputOptions(source: InputSource, limits: MediaLimits = DEFAULT_MEDIA_LIMITS): string[] {
  return [
    '-protocol_whitelist',
    source.protocols,
    '-format_whitelist',
    CONTAINER_FORMATS,
    '-max_streams',
    String(limits.maxStreams),
    '-max_pixels',
    String(maxPixelsFor(limits)),
    ...(source.remote ? ['-rw_timeout', '30000000', '-reconnect', '1', '-reconnect_delay_max', '4'] : []),
  ];
}

/** Threads per process: every core the worker has (Lambda: up to 6), no more. */
export const defaultThreads = (): number => availableParallelism();

/** What a successful run left behind. */
export interface RunResult {
  readonly stdout: string;
  /** The last lines of stderr (the logs run at `-v error`, so this is mostly problems). */
  readonly stderr: string;
}

/** Options of `runTool`. */
export interface RunOptions {
  /** Hard deadline; the process is killed (SIGKILL) when it passes. */
  readonly timeoutMs: number;
  /** Maps a non-zero exit to an error from its stderr; default `classifyFailure`. */
  readonly classify?: (stderr: string, exitCode: number) => Error;
  /** Stop early (the caller's own deadline); the process is killed like on timeout. */
  readonly signal?: AbortSignal;
}

const STDERR_TAIL = 16 * 1024;
const STDOUT_MAX = 8 * 1024 * 1024;

/** The last few lines, for error messages (a creator never sees these; operators do). */
export const tail = (text: string, lines = 6): string => text.trim().split('\n').slice(-lines).join(' | ');

/**
 * Failure patterns ffmpeg and ffprobe print for bad input, most specific first. Anything that
 * matches none is not blamed on the upload.
 */
const INPUT_FAILURES: readonly [RegExp, InvalidMediaError['code']][] = [
  [/exceeds specified max pixel count|Picture size \d+x\d+ is invalid/, 'ResolutionTooHigh'],
  [/Number of streams exceeds max_streams/, 'TooManyStreams'],
  [/not on whitelist|Protocol .* not found/, 'NotAVideo'],
  [/Stream map .* matches no streams|does not contain any stream|Output file #\d+ does not contain/, 'NoVideoStream'],
  [/partial file|moov atom not found|Invalid data found when processing input|Invalid NAL|error while decoding|corrupt|truncat|End of file/i, 'Corrupt'],
];

/**
 * What ffmpeg prints when storage refused or dropped a read of the source (S3 throttling with
 * `503 SlowDown`, a 5xx, a reset connection). The tool then often also reports the input as
 * truncated or invalid, so this is checked first: the file is fine, storage is not.
 */
const STORAGE_FAILURES = /Server returned (5XX|429)|HTTP error (5\d\d|429)|Connection refused|Connection reset by peer|Connection timed out|Broken pipe/i;

/**
 * Default classification of a non-zero exit: storage failures (retried as an unavailable
 * dependency), then input problems by pattern, else transient.
 */
export function classifyFailure(stderr: string, exitCode: number): Error {
  if (STORAGE_FAILURES.test(stderr)) {
    return new UnavailableError('storage did not serve the source; retry shortly', { cause: new Error(tail(stderr)) });
  }
  for (const [pattern, code] of INPUT_FAILURES) {
    if (pattern.test(stderr)) return new InvalidMediaError(code, undefined, { cause: new Error(tail(stderr)) });
  }
  return new TranscodeFailedError(`ffmpeg exited with ${exitCode}: ${tail(stderr)}`);
}

/**
 * Runs `binary` with `args` (never through a shell, with no environment). Resolves on exit 0; rejects with
 * `TranscodeTimeoutError` past the deadline, `TranscodeCrashedError` on death by signal, and
 * `classify(stderr)` on a non-zero exit.
 */
export function runTool(binary: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    // An empty environment: the function's credentials (AWS_ACCESS_KEY_ID, …) and any proxy
    // settings stay with Node; ffmpeg needs none of them (static binary, loopback source URL).
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: {} });
    let stdout = '';
    let stdoutBytes = 0;
    let stderr = '';
    let killedFor: 'timeout' | 'abort' | undefined;
    const kill = (why: 'timeout' | 'abort') => {
      killedFor ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), options.timeoutMs);
    const onAbort = () => kill('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdoutBytes += text.length;
      if (stdoutBytes <= STDOUT_MAX) stdout += text;
      else kill('abort');
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_TAIL);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new TranscodeFailedError(`cannot run ${binary}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const name = binary.split('/').at(-1) ?? binary;
      if (killedFor === 'timeout') reject(new TranscodeTimeoutError(`${name} ran longer than ${Math.round(options.timeoutMs / 1000)} s and was stopped`));
      else if (killedFor === 'abort') reject(new TranscodeFailedError(`${name} was stopped (${stdoutBytes > STDOUT_MAX ? 'output too large' : 'aborted'})`));
      else if (signal) reject(new TranscodeCrashedError(`${name} crashed (${signal}): ${tail(stderr)}`));
      else if (code !== 0) reject((options.classify ?? classifyFailure)(stderr, code ?? -1));
      else resolvePromise({ stdout, stderr });
    });
  });
}

/** Options every ffmpeg run starts with: quiet but for errors, no stdin, no banner, overwrite. */
export const FFMPEG_PREAMBLE: readonly string[] = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y'];
