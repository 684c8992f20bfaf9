import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Env } from '#contracts/env';

const require = createRequire(import.meta.url);

/**
 * The ffmpeg and ffprobe local mode runs: the very binaries the Lambda layer ships (from the same
 * npm packages), found in node_modules rather than at the layer's `/opt/bin`.
 */
export function ffmpegBinaries(): Record<string, string> {
  const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));
  return {
    [Env.ffmpegPath]: process.env[Env.ffmpegPath] ?? join(packageDir('@ffmpeg-installer/linux-x64'), 'ffmpeg'),
    [Env.ffprobePath]: process.env[Env.ffprobePath] ?? join(packageDir('@ffprobe-installer/linux-x64'), 'ffprobe'),
  };
}
