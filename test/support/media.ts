import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ffmpegBinaries } from '../../local/binaries.ts';

const run = promisify(execFile);
export const { FFMPEG_PATH: ffmpeg, FFPROBE_PATH: ffprobe } = ffmpegBinaries() as { FFMPEG_PATH: string; FFPROBE_PATH: string };

/** A synthetic source: a moving test pattern, with a tone unless `audio` is false. */
export async function makeClip(
  path: string,
  options: { width: number; height: number; seconds: number; fps?: number; audio?: boolean },
): Promise<void> {
  const { width, height, seconds, fps = 30, audio = true } = options;
  await run(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    ...(audio ? ['-c:a', 'aac', '-shortest'] : []),
    path,
  ]);
}

/** ffprobe's JSON for a file or URL. */
export async function probeJson(input: string, args: string[] = ['-show_format', '-show_streams']): Promise<any> {
  const { stdout } = await run(ffprobe, ['-v', 'error', '-of', 'json', ...args, input], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}
