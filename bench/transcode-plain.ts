/**
 * The baseline of the transcode benchmark: the best single plain ffmpeg command that makes the
 * same ladder as the pipeline, in ONE process on a local file. Its encoder settings are those of
 * `lambdas/adapters/ffmpeg/transcode.ts` (preset, CRF 23 capped by each rung's VBV, GOP and
 * keyframes forced at segment starts with IDR, same filter graph) and its muxing that of
 * `hls-output.ts` (one single-rendition fMP4 HLS output per rung), plus the audio rendition
 * of `audio.ts` (AAC-LC 128k stereo 48 kHz), all from one decode of the source.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plan } from '../lambdas/contracts/workflow.ts';
import { chunkFrames, outputFrameRate, segmentKeyframes } from '../lambdas/domain/media.ts';
import { hlsOutputArgs } from '../lambdas/adapters/ffmpeg/hls-output.ts';
// The product's own settings, so the baseline cannot drift from what the pipeline encodes.
import { CRF, DEFAULT_PRESET, filterGraph } from '../lambdas/adapters/ffmpeg/transcode.ts';
import { readPeakRssKiB, readStat } from './transcode-proc.ts';

export interface PlainLadderInput {
  readonly source: string;
  /** The pipeline's plan for this source (rungs and segment length); chunks are ignored. */
  readonly plan: Plan;
  readonly fps: number;
  readonly durationSeconds: number;
  readonly outDir: string;
  /** `auto` leaves ffmpeg/x264 their own thread counts (the best plain choice); a number sets every stage like `transcode.ts` does. */
  readonly threads: 'auto' | number;
  readonly audio: boolean;
}

/** The whole ffmpeg command line (without the binary). */
export function plainLadderArgs(input: PlainLadderInput): string[] {
  const { plan, outDir } = input;
  const rate = outputFrameRate(input.fps);
  const frames = chunkFrames({ start: 0, duration: input.durationSeconds }, rate);
  const segmentFrames = Math.max(1, Math.round(plan.segmentSeconds * (rate.num / rate.den)));
  const keyframes = segmentKeyframes(frames.count, rate, plan.segmentSeconds)
    .map((k) => ((k * rate.den) / rate.num).toFixed(6))
    .join(',');
  const threads = input.threads === 'auto' ? [] : ['-threads', String(input.threads)];
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y',
    ...threads,
    '-i', `file:${input.source}`,
    ...(input.threads === 'auto' ? [] : ['-filter_complex_threads', String(input.threads)]),
    '-filter_complex', filterGraph(plan.rungs, rate),
  ];
  plan.rungs.forEach((rung, i) => {
    args.push(
      '-map', `[v${i}]`,
      '-c:v', 'libx264', '-preset', DEFAULT_PRESET, '-profile:v', 'high', '-crf', String(CRF),
      '-maxrate', String(rung.maxBitrate), '-bufsize', String(2 * rung.maxBitrate),
      '-g', String(2 * segmentFrames), '-keyint_min', String(segmentFrames), '-sc_threshold', '0',
      '-force_key_frames', keyframes, '-forced-idr', '1',
      '-frames:v', String(frames.count),
      ...threads,
      ...hlsOutputArgs(join(outDir, rung.name), 'p', plan.segmentSeconds, 's%03d.m4s', 'init.mp4'),
    );
  });
  if (input.audio) {
    args.push(
      '-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000',
      '-t', input.durationSeconds.toFixed(6),
      ...hlsOutputArgs(join(outDir, 'audio'), 'p', plan.segmentSeconds, 'a%04d.m4s', 'init.mp4'),
    );
  }
  return args;
}

export interface PlainRun {
  readonly wallSeconds: number;
  readonly userSeconds: number;
  readonly systemSeconds: number;
  readonly peakRssKiB: number;
  /** How CPU and memory were read. */
  readonly method: string;
  /** Bytes written per rung (and audio), from the playlists' segments plus init. */
  readonly bytes: Record<string, number>;
  readonly segments: number;
}

const TIME = '/usr/bin/time';

/**
 * Runs the command and measures it: wall time here; CPU and peak RSS from `/usr/bin/time`
 * (the kernel's rusage of the waited-for child) when present, else from this process's
 * `cutime`/`cstime` delta and VmHWM polled every 100 ms.
 */
export async function runPlainLadder(ffmpeg: string, input: PlainLadderInput): Promise<PlainRun> {
  await rm(input.outDir, { recursive: true, force: true });
  for (const dir of [...input.plan.rungs.map((r) => r.name), ...(input.audio ? ['audio'] : [])]) await mkdir(join(input.outDir, dir), { recursive: true });
  const args = plainLadderArgs(input);
  const useTime = existsSync(TIME);
  const timeFile = join(input.outDir, 'time.txt');
  const before = readStat('self');
  const started = performance.now();
  let peak = 0;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = useTime
      ? spawn(TIME, ['-f', '%U %S %M', '-o', timeFile, ffmpeg, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    const poll = useTime ? undefined : setInterval(() => (peak = Math.max(peak, readPeakRssKiB(child.pid!) ?? 0)), 100);
    child.on('error', reject);
    child.on('close', (exit) => {
      if (poll) clearInterval(poll);
      if (exit !== 0) reject(new Error(`plain ffmpeg exited with ${exit}: ${stderr.trim().split('\n').slice(-4).join(' | ')}`));
      else resolve(exit);
    });
  });
  const wallSeconds = (performance.now() - started) / 1000;
  void code;
  let userSeconds: number;
  let systemSeconds: number;
  let method: string;
  if (useTime) {
    const [u, s, m] = (await readFile(timeFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number);
    userSeconds = u!;
    systemSeconds = s!;
    peak = m!;
    method = '/usr/bin/time (rusage of the waited-for ffmpeg: user, system, max RSS)';
  } else {
    const after = readStat('self');
    userSeconds = (after?.reaped ?? 0) - (before?.reaped ?? 0);
    systemSeconds = 0;
    method = "this process's cutime+cstime delta; VmHWM polled every 100 ms";
  }
  const bytes: Record<string, number> = {};
  let segments = 0;
  for (const dir of [...input.plan.rungs.map((r) => r.name), ...(input.audio ? ['audio'] : [])]) {
    const files = (await readdir(join(input.outDir, dir))).filter((f) => f.endsWith('.m4s') || f.endsWith('.mp4'));
    segments += files.filter((f) => f.endsWith('.m4s')).length;
    bytes[dir] = (await Promise.all(files.map(async (f) => (await stat(join(input.outDir, dir, f))).size))).reduce((a, b) => a + b, 0);
  }
  return { wallSeconds, userSeconds, systemSeconds, peakRssKiB: peak, method, bytes, segments };
}
